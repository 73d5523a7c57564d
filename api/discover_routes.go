package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// DiscoverInput asks for a scan for TLS endpoints.
type DiscoverInput struct {
	Authed
	Body struct {
		Targets []string `json:"targets" minItems:"1" maxItems:"4096" doc:"host names, IP addresses, host:port pairs and CIDR blocks (10.0.0.0/24, fd00::/120); at most 4096 addresses in all"`
		Ports   []int    `json:"ports,omitempty" maxItems:"32" doc:"ports tried on targets that name none (default 443 and 8443)"`
		// Concurrency and Timeout are bounded here and again by the
		// scan, which names the field of a value out of its bounds.
		Concurrency int `json:"concurrency,omitempty" minimum:"0" maximum:"256" doc:"addresses probed at once (default 64)"`
		Timeout     int `json:"timeout,omitempty" minimum:"0" maximum:"10" doc:"seconds each connection, handshake and request may take (default 3)"`
	}
}

// DiscoverOutput is what the scan found.
type DiscoverOutput struct {
	Body *ottr.DiscoverResult
}

// maxAuditedTargets bounds the targets an audit event repeats.
const maxAuditedTargets = 20

// DiscoverImportInput asks for discovered endpoints to become assets.
type DiscoverImportInput struct {
	Authed
	Body struct {
		Endpoints            []ottr.DiscoveredEndpoint `json:"endpoints" minItems:"1" maxItems:"1000" doc:"endpoints as POST /api/v1/discover answers them"`
		CertificateAuthority string                    `json:"certificate_authority" minLength:"1" maxLength:"253" doc:"the new assets' certificate_authority"`
		Platform             string                    `json:"platform,omitempty" maxLength:"255" doc:"host_platform of endpoints whose platform was not guessed; without it they are skipped"`
		Update               bool                      `json:"update,omitempty" doc:"refresh the certificate fields of assets that exist (and an empty host_platform); otherwise they are left as they are"`
		Apply                bool                      `json:"apply,omitempty" doc:"make the changes; otherwise say what they would be"`
	}
}

// DiscoverImportOutput is what became, or would become, of each endpoint.
type DiscoverImportOutput struct {
	Body *ottr.DiscoveryImportResult
}

func (s *Server) discoverRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "discover", Method: http.MethodPost, Path: "/api/v1/discover",
		Summary: "Scan for TLS endpoints: the certificate each serves, what it appears to be and why, and its names' delegation (ADMIN)",
		Description: "The server connects to each address, completes a TLS handshake without verifying it, and sends a few GETs " +
			"without credentials whose answers tell the products apart; it follows no redirect. At most 4096 addresses " +
			"(host:port pairs) and 45 seconds: a scan cut short answers what it found, with timed_out. Nothing is added to the " +
			"inventory: POST /api/v1/assets adds what should be.",
		Tags: []string{"discovery"}, Security: []map[string][]string{{"bearer": {}}},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *DiscoverInput) (*DiscoverOutput, error) {
			u, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			if s.Discover == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "this server runs no discovery"))
			}
			b := in.Body
			res, err := s.Discover(ctx, ottr.DiscoverRequest{Targets: b.Targets, Ports: b.Ports, Concurrency: b.Concurrency,
				Timeout: time.Duration(b.Timeout) * time.Second})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, u.Username, "discovery.scan", "discovery", nil, map[string]any{
				"targets": b.Targets[:min(len(b.Targets), maxAuditedTargets)], "target_count": len(b.Targets), "ports": b.Ports,
				"addresses": res.Addresses, "endpoints": len(res.Endpoints), "timed_out": res.TimedOut,
			})
			return &DiscoverOutput{Body: res}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "discover-import", Method: http.MethodPost, Path: "/api/v1/discover/import",
		Summary: "Make assets of discovered endpoints, or say what would be made (ADMIN)",
		Description: "Each endpoint becomes an asset named by its certificate (origin \"discovery\", its certificate's expiry, serial and issuer " +
			"recorded, certificate_validation \"True\" only when the chain was trusted), checked as POST /api/v1/assets checks. Assets " +
			"that exist are left as they are unless update is set, which refreshes only their certificate fields (and an empty host_platform). " +
			"Without apply nothing changes. Each outcome is add, update, unchanged, exists, skip or refused, with the reason.",
		Tags: []string{"discovery"}, Security: []map[string][]string{{"bearer": {}}},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *DiscoverImportInput) (*DiscoverImportOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			b := in.Body
			o := ottr.DiscoveryImport{CertificateAuthority: b.CertificateAuthority, Platform: b.Platform, Update: b.Update, Apply: b.Apply}
			check := func(a *ottr.Asset) error { return s.Limits.Validate(a, s.Routes) }
			changed := func(action string, before, after *ottr.Asset) {
				s.audit(ctx, me.Username, action, "asset/"+after.SystemName, before, after)
				if before != nil {
					if err := s.afterMove(ctx, me, before, after); err != nil {
						s.logger().ErrorContext(ctx, "device trust not reset", "asset", after.SystemName, "err", err)
					}
				}
			}
			res, err := ottr.ImportDiscovered(ctx, s.Assets, b.Endpoints, o, check, changed)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &DiscoverImportOutput{Body: res}, nil
		})
}
