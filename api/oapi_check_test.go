package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	vErrors "github.com/pb33f/libopenapi-validator/errors"
)

// NewCheckedServer serves h like httptest.NewServer and holds every
// exchange to h's own /openapi.json, read by an independent OpenAPI 3.1
// validator (libopenapi-validator): a response whose status, content type
// or body the document does not describe fails t, and so does a success
// answered to a request the document refuses. A request the document
// refuses may be answered 4xx: the suite sends bad input on purpose.
// Paths and methods the document does not list (/metrics, /docs,
// unrouted requests) are not API operations and are not checked.
func NewCheckedServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(CheckedHandler(t, h))
	t.Cleanup(srv.Close)
	return srv
}

// CheckedHandler is h with every exchange checked as NewCheckedServer
// does; tests that swap a server's handler swap in a checked one.
func CheckedHandler(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	v := documentValidator(t, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var reqBody []byte
		if r.Body != nil {
			// The server bounds bodies itself; the copy only needs what it reads.
			reqBody, _ = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
			r.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		rec := &teeWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		resp := &http.Response{StatusCode: rec.status, Header: w.Header().Clone(), Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Request: req}
		if problems := checkExchange(v, req, reqBody, resp); problems != "" {
			t.Errorf("%s %s (answered %d) disagrees with /openapi.json:\n%s", r.Method, r.URL.RequestURI(), rec.status, problems)
		}
	})
}

// checkExchange returns what the document says is wrong with one
// request/response pair, or "" when it describes both.
func checkExchange(v docValidator, req *http.Request, reqBody []byte, resp *http.Response) string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	_, reqErrs := v.ValidateHttpRequestSync(req)
	for _, e := range reqErrs {
		if e.IsPathMissingError() || e.IsOperationMissingError() {
			return ""
		}
	}
	if len(reqErrs) > 0 && resp.StatusCode < 400 {
		out = append(out, "the API accepted a request the document refuses:")
		out = append(out, describe(reqErrs)...)
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	if _, respErrs := v.ValidateHttpResponse(req, resp); len(respErrs) > 0 {
		out = append(out, "the response is not what the document describes:")
		out = append(out, describe(respErrs)...)
	}
	return strings.Join(out, "\n")
}

func describe(errs []*vErrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		line := "  " + e.Message + ": " + e.Reason
		for _, f := range e.SchemaValidationErrors {
			line += fmt.Sprintf("\n    at %s: %s", f.FieldPath, f.Reason)
		}
		out = append(out, line)
	}
	return out
}

// docValidator is one validator per document: parsing the document is
// the slow part, and most test servers publish the same one.
type docValidator struct {
	validator.Validator
	mu *sync.Mutex
}

var (
	validatorsMu sync.Mutex
	validators   = map[string]docValidator{}
)

func documentValidator(t testing.TB, h http.Handler) docValidator {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", rec.Code)
	}
	spec := rec.Body.String()
	validatorsMu.Lock()
	defer validatorsMu.Unlock()
	if v, ok := validators[spec]; ok {
		return v
	}
	doc, err := libopenapi.NewDocument([]byte(spec))
	if err != nil {
		t.Fatalf("the validator cannot read /openapi.json: %v", err)
	}
	// The API checks tokens itself, with answers the suite asserts.
	v, errs := validator.NewValidator(doc, config.WithoutSecurityValidation())
	if len(errs) > 0 {
		t.Fatalf("the validator cannot use /openapi.json: %v", errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		t.Fatalf("/openapi.json is not a valid OpenAPI 3.1 document:\n%s", strings.Join(describe(errs), "\n"))
	}
	dv := docValidator{Validator: v, mu: &sync.Mutex{}}
	validators[spec] = dv
	return dv
}

// teeWriter passes a response through and keeps a copy to check.
type teeWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	w.wrote = true
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
