package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// MessageOutput is Ottr's one-entry message object.
type MessageOutput struct {
	Body map[string]string
}

func (s *Server) assetUpdateRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(api, huma.Operation{OperationID: "update-asset", Method: http.MethodPut, Path: "/api/v1/assets",
		Summary: "Update an asset (PRIVILEGED, Ottr)", Tags: []string{"assets"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *AssetInput) (*AssetOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RolePrivileged)
			if err != nil {
				return nil, err
			}
			a, present, err := decodeAsset(in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			a.SystemName = ottr.NormalName(a.SystemName)
			if a.SystemName == "" {
				return nil, s.problem(ctx, ottr.Invalid("invalid asset", ottr.Problem{Field: "system_name", Message: "is required: it names the asset to update"}))
			}
			if err := ottr.CheckFQDN(a.SystemName, false); err != nil {
				return nil, s.problem(ctx, ottr.Invalid("invalid asset", ottr.Problem{Field: "system_name", Message: fmt.Sprintf("%q %v", a.SystemName, err)}))
			}
			if len(a.SubjectAlternativeName) == 0 {
				a.SubjectAlternativeName = []string{a.CommonName}
			}
			// Ottr's update sets these fields and the origin; the CA, the
			// expiry and validation are managed elsewhere.
			var before *ottr.Asset
			stored, err := s.Assets.UpdateAsset(ctx, a.SystemName, func(x *ottr.Asset) error {
				before = x.Clone()
				x.IPAddress, x.HostPlatform, x.CommonName = a.IPAddress, a.HostPlatform, a.CommonName
				x.OSVersion, x.DataCenter, x.DeviceModel = a.OSVersion, a.DataCenter, a.DeviceModel
				x.SubjectAlternativeName, x.Origin = a.SubjectAlternativeName, ottr.OriginAPI
				x.ResetBackoff()
				// Fields Ottr did not have change only when sent.
				if present["labels"] {
					x.Labels = a.Labels
				}
				if present["port"] {
					x.Port = a.Port
				}
				if present["credential"] {
					x.Credential = a.Credential
				}
				if present["dns_zone"] {
					x.DNSZone = a.DNSZone
				}
				if err := s.Limits.Validate(x, s.Routes); err != nil {
					return err
				}
				return s.guardUpdate(me, before, x)
			})
			if ottr.ErrorCode(err) == ottr.ENOTFOUND {
				err = ottr.Errorf(ottr.ENOTFOUND, "asset %q does not exist; add it with POST /api/v1/assets", a.SystemName)
			}
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "asset.update", "asset/"+stored.SystemName, before, stored)
			if err := s.afterMove(ctx, me, before, stored); err != nil {
				return nil, s.problem(ctx, err)
			}
			return &AssetOutput{Body: stored}, nil
		})

	for _, prefix := range []string{"/admin/v1/management", "/api/v1/management"} {
		for _, set := range []bool{true, false} {
			verb := "unset"
			if set {
				verb = "set"
			}
			id := "certificate-validation-" + verb
			if prefix == "/api/v1/management" {
				id += "-api"
			}
			huma.Register(api, huma.Operation{OperationID: id, Method: http.MethodPatch,
				Path:    prefix + "/certificate-validation/" + verb + "/{system_name}",
				Summary: "Turn verification of the device's certificate " + map[bool]string{true: "on", false: "off"}[set] + " (ADMIN, Ottr)",
				Tags:    []string{"assets"}, Security: sec, Errors: errs},
				func(ctx context.Context, in *SystemNameInput) (*MessageOutput, error) {
					me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
					if err != nil {
						return nil, err
					}
					if _, err := s.Assets.UpdateAsset(ctx, in.SystemName, func(x *ottr.Asset) error {
						x.CertificateValidation = ottr.BoolString(set)
						return nil
					}); err != nil {
						return nil, s.problem(ctx, err)
					}
					s.audit(ctx, me.Username, "asset.certificate_validation."+verb, "asset/"+in.SystemName, nil, map[string]bool{"certificate_validation": set})
					// Turning validation off says the device now presents a
					// certificate nobody can verify: an ADMIN vouches for its
					// next contact, which pins afresh.
					if !set && s.Trust != nil {
						if err := s.Trust.DeleteTrust(ctx, in.SystemName); err != nil {
							return nil, s.problem(ctx, err)
						}
					}
					sn := in.SystemName
					if set {
						return &MessageOutput{Body: map[string]string{"Certificate Validation Enabled": "Certificate validation enabled on " + sn +
							". Please ensure " + sn + " does not currently have a self-signed or invalid certificate."}}, nil
					}
					return &MessageOutput{Body: map[string]string{"Certificate Validation Unset": "Certificate validation disabled for the next execution on " + sn +
						". Please ensure this endpoint was only executed if the current certification on " + sn + " is either a self-signed or an invalid certificate."}}, nil
				})
		}
	}
}
