// Package api is Ottr's HTTP API: Ottr's own paths, methods, roles and JSON
// shapes, served with huma so the OpenAPI 3.1 description is generated from
// the Go types and cannot drift. Errors are RFC 9457 problem+json with the
// right 4xx status, never a 500 for bad input.
package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/ottr-dev/ottr"
	"github.com/prometheus/client_golang/prometheus"
)

// Server serves the API.
type Server struct {
	Users  ottr.UserStore
	Assets ottr.AssetStore
	// Routes checks new assets' platform, version and CA as Ottr's API
	// did; nil skips that check.
	Routes *ottr.RouteTable
	// Limits bounds what one asset may carry (zero: the defaults).
	Limits ottr.AssetLimits
	// DNS checks DNS-01 delegation before a rotation is queued; nil skips.
	DNS ottr.ChallengeDNS
	// Rotations queues rotations; nil answers 503 to rotate requests.
	Rotations Enqueuer
	// RotationStore lists and shows rotations.
	RotationStore ottr.RotationStore
	// Trust keeps what Ottr trusts of each device; nil turns off holds for
	// approval and the trust routes.
	Trust ottr.TrustStore
	// UsesCredential reports whether a device is sent a stored credential
	// (its platform or asset settings name one); nil: every device is.
	UsesCredential func(*ottr.Asset) bool
	// Secrets holds the stored credential sets that GET
	// /admin/v1/credentials describes (never their values); nil answers
	// that route 503.
	Secrets ottr.SecretStore
	// CredentialUsers returns, for each credential set the configuration
	// names, who names it: platforms by name, device settings of one asset
	// as "asset:<system_name>". Only the composition root knows the
	// configuration, hence a function; nil: the configuration names none,
	// and used_by lists only the assets whose own credential field names
	// the set.
	CredentialUsers func(ctx context.Context) (map[string][]string, error)
	// Audit records every change made through the API; nil records none.
	Audit ottr.AuditLog
	// CAs names the configured certificate authorities.
	CAs []string
	// Ready reports whether the server can serve (the database answers).
	Ready func(ctx context.Context) error
	// RotationsState is what /readyz says of rotations: "running",
	// "paused" (the router queues nothing) or "off" (RotationsMissing
	// says what the configuration lacks). Empty: not reported.
	RotationsState   string
	RotationsMissing []string
	// Status summarises the fleet with the server's route table and
	// renewal policy (GET /api/v1/status), listing at most listMax failing
	// and unrouted assets; nil answers 503.
	Status func(ctx context.Context, listMax int) (*ottr.FleetStatus, error)
	// Discover scans for TLS endpoints (POST /api/v1/discover), bounded
	// by itself (discover.Service); nil answers 503.
	Discover ottr.Discoverer
	// Policy is the renewal policy the router decides due with
	// (GET /api/v1/policy); the zero policy is the defaults.
	Policy ottr.RenewalPolicy
	Tokens *Tokens
	Logger *slog.Logger
	// Version is reported in the OpenAPI description.
	Version string
	// Collectors are served on /metrics beside the API's own metrics
	// (rotation outcomes, certificate expiry).
	Collectors []prometheus.Collector

	// PasswordHashes bounds the password hashes (logins, password
	// changes, new users) computed at once. Each holds argonMemory (64 MiB) while it
	// runs and keeps argonThreads cores busy, so memory sets the bound:
	// 0 means 2, 128 MiB. Raise it only with the memory to match.
	PasswordHashes int
	// PasswordQueueTimeout is how long a login waits for a hash before it
	// is answered 503 with Retry-After; 0 means 2 s.
	PasswordQueueTimeout time.Duration

	loginOnce sync.Once
	limits    *loginLimits
	hashSlots chan struct{}
}

// invalidIs400 makes huma's request validation answer 400 like every
// other invalid input, instead of 422, and bounds every error body.
var invalidIs400 sync.Once

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	invalidIs400.Do(func() {
		base := huma.NewError
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			if status == http.StatusUnprocessableEntity {
				status, msg = http.StatusBadRequest, "invalid request: "+msg
			}
			// A body cut off by the size limit is the client's doing.
			for _, e := range errs {
				var mbe *http.MaxBytesError
				if errors.As(e, &mbe) || (e != nil && strings.Contains(e.Error(), "request body too large")) {
					status, msg, errs = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxBody), nil
					break
				}
			}
			return base(status, short(msg), boundDetails(errs)...)
		}
	})
	mux := http.NewServeMux()
	cfg := huma.DefaultConfig("Ottr", s.Version)
	// Ottr's clients expect bodies exactly as Ottr sent them: no "$schema"
	// fields or schema Link headers.
	cfg.CreateHooks = nil
	cfg.OpenAPIPath = "/openapi"
	cfg.DocsPath = "" // our own page, embedded, instead of huma's CDN-loaded one
	cfg.Info.Description = "Agentless X.509 certificate rotation. Compatible with Airbnb Ottr's API."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	api := humago.New(exactRoot{mux}, cfg)
	// Before the operations: huma binds middlewares when one is registered.
	api.UseMiddleware(bodyLimits(api, s.checkToken))
	s.routes(api)
	describeErrors(api.OpenAPI())
	describeAssets(api.OpenAPI())
	m := newMetrics(s.Version, s.Collectors...)
	mux.Handle("GET /metrics", m.handler())
	mux.Handle("GET /docs", docsHandler())
	mux.Handle("GET /docs/", docsHandler())
	// Ottr (flask-restx) served its API description at /swagger.json;
	// scripts and gateways that fetch it get ours (OpenAPI 3.1).
	mux.HandleFunc("GET /swagger.json", func(w http.ResponseWriter, r *http.Request) {
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = "/openapi.json", ""
		mux.ServeHTTP(w, r2)
	})
	mux.Handle("/", unrouted(mux))
	// Every body is bounded, raw bodies included.
	return withSecurityHeaders(withClientIP(withAccessLog(s.logger(), m.observe(http.MaxBytesHandler(mux, maxBody)))))
}

// describeErrors makes the published bodies and error statuses the ones
// served: never 422 (invalid input is 400), 413 wherever a body is read,
// 429 and 503 for the throttled and bounded login.
func describeErrors(doc *huma.OpenAPI) {
	for path, item := range doc.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			delete(op.Responses, "422")
			// Raw bodies are decoded by hand (Ottr's value forms, route
			// tables); publish what they are, not octet-streams.
			if rb := op.RequestBody; rb != nil && rb.Content["application/octet-stream"] != nil {
				schema := &huma.Schema{Type: "object", Description: "an Ottr route table (route.json)"}
				if strings.Contains(op.OperationID, "asset") {
					schema = &huma.Schema{Ref: "#/components/schemas/Asset"}
				}
				rb.Content = map[string]*huma.MediaType{"application/json": {Schema: schema}}
			}
			bad := op.Responses["400"]
			if bad == nil {
				continue
			}
			like := func(code int, desc string) {
				r := *bad
				r.Description = desc
				op.Responses[strconv.Itoa(code)] = &r
			}
			if op.RequestBody != nil {
				like(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body over %d bytes", maxBody))
			}
			if path == "/user/v1/authenticate" {
				like(http.StatusTooManyRequests, "Too many failed logins for this user or address; see Retry-After")
				like(http.StatusServiceUnavailable, "Too many passwords being checked at once; see Retry-After")
			}
		}
	}
}

// maxBody bounds request bodies: 1 MiB holds any asset or route table.
const maxBody = 1 << 20

// short cuts text taken from a request (an echoed value) to a readable size.
func short(s string) string {
	if len(s) <= 300 {
		return s
	}
	return s[:300] + "…"
}

// maxProblems is how many problems one answer lists: enough to fix a
// request, too few for a body to make the answer grow with its size.
const maxProblems = 5

// boundDetails keeps the first maxProblems details, says how many more
// there were, cuts each text short and drops echoed values but short
// scalars, so no answer repeats a request body.
func boundDetails(errs []error) []error {
	out := make([]error, 0, min(len(errs), maxProblems+1))
	for i, e := range errs {
		if i == maxProblems {
			out = append(out, &huma.ErrorDetail{Message: fmt.Sprintf("and %d more problem(s)", len(errs)-maxProblems)})
			break
		}
		d := &huma.ErrorDetail{}
		if ed, ok := e.(huma.ErrorDetailer); ok && ed.ErrorDetail() != nil {
			*d = *ed.ErrorDetail()
		} else if e != nil {
			d.Message = e.Error()
		}
		d.Message, d.Location, d.Value = short(d.Message), short(d.Location), shortValue(d.Value)
		out = append(out, d)
	}
	return out
}

// shortValue keeps an echoed value only when it is a short scalar.
func shortValue(v any) any {
	switch v := v.(type) {
	case string:
		if len(v) > 64 {
			return v[:64] + "…"
		}
		return v
	case bool, float64, float32, int, int64, uint64, json.Number:
		return v
	}
	return nil
}

// status maps an error to its HTTP status: the one place that does.
func status(err error) int {
	switch ottr.ErrorCode(err) {
	case ottr.EINVALID:
		return http.StatusBadRequest
	case ottr.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case ottr.EFORBIDDEN:
		return http.StatusForbidden
	case ottr.ENOTFOUND:
		return http.StatusNotFound
	case ottr.ECONFLICT:
		return http.StatusConflict
	case ottr.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// problem turns an error into a problem+json response, listing field
// problems as huma error details. Internal errors are logged, not shown.
func (s *Server) problem(ctx context.Context, err error) error {
	code := status(err)
	if code == http.StatusInternalServerError {
		s.logger().ErrorContext(ctx, "request failed", "err", err)
		return huma.Error500InternalServerError("internal error")
	}
	var details []error
	for _, p := range ottr.ErrorProblems(err) {
		details = append(details, &huma.ErrorDetail{Location: short(p.Field), Message: short(p.Message)})
	}
	return huma.NewError(code, short(ottr.ErrorMessage(err)), details...)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func asNoRoute(err error, target **ottr.NoRouteError) bool { return errors.As(err, target) }

// exactRoot registers huma's "GET /" as "GET /{$}": in a ServeMux "/"
// matches every path, and the health check must not answer 200 for paths
// that do not exist.
type exactRoot struct{ *http.ServeMux }

func (m exactRoot) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	if pattern == "GET /" {
		pattern = "GET /{$}"
	}
	m.ServeMux.HandleFunc(pattern, h)
}

// unrouted answers what no route takes, in problem+json like every other
// error: 405 with Allow when the path exists for other methods, else 404.
func unrouted(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			r2 := r.Clone(r.Context())
			r2.Method = m
			if _, pat := mux.Handler(r2); pat != "" && pat != "/" {
				allow = append(allow, m)
			}
		}
		p := huma.ErrorModel{Status: http.StatusNotFound, Title: http.StatusText(http.StatusNotFound),
			Detail: short(fmt.Sprintf("no such path: %s", r.URL.Path))}
		if len(allow) > 0 {
			if slices.Contains(allow, http.MethodGet) {
				allow = append(allow, http.MethodHead)
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			p.Status, p.Title = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed)
			p.Detail = short(fmt.Sprintf("%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(p.Status)
		if r.Method != http.MethodHead {
			_ = json.NewEncoder(w).Encode(p)
		}
	})
}

//go:embed docs
var docsFS embed.FS

// docsHandler serves the interactive API docs from the binary: no CDN.
func docsHandler() http.Handler {
	sub, _ := fs.Sub(docsFS, "docs")
	files := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", docsCSP)
		if r.URL.Path == "/docs" || r.URL.Path == "/docs/" {
			http.ServeFileFS(w, r, sub, "index.html")
			return
		}
		http.StripPrefix("/docs/", files).ServeHTTP(w, r)
	})
}
