package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// Where a device's credential goes is the ADMIN's to decide: a PRIVILEGED
// user manages the inventory, but may not name a credential set, nor move a
// device that is sent one to another address (or platform), nor have a
// device they add be sent one before an ADMIN has seen what answers.

// usesCredential reports whether Ottr logs in to a's device with a stored
// credential; without the hook every device is assumed to.
func (s *Server) usesCredential(a *ottr.Asset) bool {
	if s.UsesCredential == nil {
		return true
	}
	return s.UsesCredential(a)
}

// steeringFields are the asset fields that decide where a credential is
// sent: the address, the port, the credential set and the platform (whose
// settings pick the driver and its credential).
func steeringFields(before, after *ottr.Asset) []string {
	var out []string
	if before.IPAddress != after.IPAddress {
		out = append(out, "ip_address")
	}
	if before.Port != after.Port {
		out = append(out, "port")
	}
	if before.Credential != after.Credential {
		out = append(out, "credential")
	}
	if before.HostPlatform != after.HostPlatform {
		out = append(out, "host_platform")
	}
	return out
}

// checkCredentialRef refuses a credential reference the API may not set:
// env: and file: name server files and variables, configuration only.
func checkCredentialRef(ref string) error {
	if strings.HasPrefix(ref, "env:") || strings.HasPrefix(ref, "file:") {
		return ottr.Invalid("invalid asset", ottr.Problem{Field: "credential",
			Message: "env: and file: references are configuration-only; name a stored credential set"})
	}
	return nil
}

// guardNew decides whether me may add a: naming a credential set needs
// ADMIN.
func guardNew(me *ottr.User, a *ottr.Asset) error {
	if err := checkCredentialRef(a.Credential); err != nil {
		return err
	}
	if a.Credential != "" && !me.Role.Includes(ottr.RoleAdmin) {
		return ottr.Forbidden("ADMIN role required", ottr.Problem{Field: "credential", Message: "naming the credential set a device is sent needs ADMIN"})
	}
	return nil
}

// guardUpdate decides whether me may change before into after: moving a
// device that is (or would be) sent a credential needs ADMIN.
func (s *Server) guardUpdate(me *ottr.User, before, after *ottr.Asset) error {
	if after.Credential != before.Credential {
		if err := checkCredentialRef(after.Credential); err != nil {
			return err
		}
	}
	changed := steeringFields(before, after)
	if len(changed) == 0 || me.Role.Includes(ottr.RoleAdmin) {
		return nil
	}
	if !s.usesCredential(before) && !s.usesCredential(after) && before.Credential == after.Credential {
		return nil
	}
	probs := make([]ottr.Problem, 0, len(changed))
	for _, f := range changed {
		probs = append(probs, ottr.Problem{Field: f, Message: "changing where a device's stored credential is sent needs ADMIN"})
	}
	return ottr.Forbidden("ADMIN role required", probs...)
}

// afterAdd holds a device added by a non-ADMIN, when it is sent a
// credential, until an ADMIN accepts the key it presents.
func (s *Server) afterAdd(ctx context.Context, me *ottr.User, a *ottr.Asset) error {
	if s.Trust == nil || me.Role.Includes(ottr.RoleAdmin) || !s.usesCredential(a) {
		return nil
	}
	return s.Trust.PutTrust(ctx, &ottr.DeviceTrust{SystemName: a.SystemName, NeedsApproval: true, Updated: time.Now()})
}

// afterMove forgets what was trusted at a device's old address once an
// ADMIN has moved it: the new address is a first contact again.
func (s *Server) afterMove(ctx context.Context, me *ottr.User, before, after *ottr.Asset) error {
	changed := steeringFields(before, after)
	if s.Trust == nil || len(changed) == 0 {
		return nil
	}
	if err := s.Trust.DeleteTrust(ctx, after.SystemName); err != nil {
		return err
	}
	s.audit(ctx, me.Username, "asset.trust.reset", "asset/"+after.SystemName, nil, map[string]string{"changed": strings.Join(changed, ",")})
	return nil
}

// TrustOutput is a device's trust record.
type TrustOutput struct {
	Body *ottr.DeviceTrust
}

func (s *Server) trustRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(api, huma.Operation{OperationID: "get-trust", Method: http.MethodGet,
		Path:    "/admin/v1/management/trust/{system_name}",
		Summary: "Show what Ottr trusts of a device: the pinned key, a refused key waiting, a hold for approval (ADMIN)",
		Tags:    []string{"assets"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *SystemNameInput) (*TrustOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin); err != nil {
				return nil, err
			}
			if s.Trust == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no trust store"))
			}
			t, err := s.Trust.GetTrust(ctx, in.SystemName)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &TrustOutput{Body: t}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "accept-trust", Method: http.MethodPatch,
		Path:    "/admin/v1/management/trust/accept/{system_name}",
		Summary: "Accept the key a device last presented: pin it and lift a hold for approval (ADMIN)",
		Tags:    []string{"assets"}, Security: sec, Errors: append(errs, http.StatusConflict)},
		func(ctx context.Context, in *SystemNameInput) (*TrustOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			if s.Trust == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no trust store"))
			}
			before, _ := s.Trust.GetTrust(ctx, in.SystemName)
			t, err := ottr.AcceptTrust(ctx, s.Trust, in.SystemName, time.Now())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "asset.trust.accept", "asset/"+in.SystemName, before, t)
			return &TrustOutput{Body: t}, nil
		})
}
