package web

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// defaultPorts is what the scan form's ports field starts with: the
// API's own default.
const defaultPorts = "443, 8443"

// maxCarried bounds the decompressed scan results an import form carries
// back: well above the largest scan's, so a forged field cannot make the
// server inflate without end.
const maxCarried = 16 << 20

// maxCarriedForm bounds the carried endpoints an import form may hold:
// what fits in a form the dashboard reads (256 KiB) with the rest.
const maxCarriedForm = 240 << 10

type discoverData struct {
	Targets, Ports string
	Errors         fieldErrors
	Message        string
	Problems       []ottr.Problem
	// Result is the scan shown; Carried the same endpoints as the import
	// form sends them back (the dashboard keeps no state).
	Result  *ottr.DiscoverResult
	Carried string
	// TooMany says the endpoints are too many for an import form.
	TooMany bool
	// The import form's fields, and its outcomes once sent.
	CA, Platform string
	Update       bool
	CAs          []string
	Import       *ottr.DiscoveryImportResult
}

// Counts says how many outcomes of each action the import had.
func (d discoverData) Counts() []labelPair {
	if d.Import == nil {
		return nil
	}
	n := map[string]int{}
	var order []string
	for _, o := range d.Import.Outcomes {
		if n[o.Action] == 0 {
			order = append(order, o.Action)
		}
		n[o.Action]++
	}
	out := make([]labelPair, len(order))
	for i, a := range order {
		out[i] = labelPair{Key: a, Value: strconv.Itoa(n[a])}
	}
	return out
}

// adminOnly answers a non-ADMIN's request with the page the API's refusal
// gives on the other admin pages, before anything is asked of the API.
func (s *Server) adminOnly(w http.ResponseWriter, r *http.Request, u *user) bool {
	if u.Can(string(ottr.RoleAdmin)) {
		return true
	}
	s.fail(w, r, ottr.Errorf(ottr.EFORBIDDEN, "%s role required (you are %s)", ottr.RoleAdmin, u.Role))
	return false
}

func (s *Server) discoverPage(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.adminOnly(w, r, u) {
		return
	}
	s.render(w, r, http.StatusOK, "discover", discoverData{Ports: defaultPorts, Errors: fieldErrors{}})
}

// splitList reads a list typed one a line or separated by commas or
// spaces.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' || r == '\r' })
}

func (s *Server) discoverScan(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.adminOnly(w, r, u) {
		return
	}
	f := r.PostForm
	d := discoverData{Targets: f.Get("targets"), Ports: f.Get("ports"), Errors: fieldErrors{}}
	req := ottr.DiscoverRequest{Targets: splitList(d.Targets)}
	if len(req.Targets) == 0 {
		d.Errors.add("targets", "enter at least one host name, address or CIDR block")
	}
	for _, p := range splitList(d.Ports) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			d.Errors.add("ports", strconv.Quote(p)+" is not a port number (1-65535)")
			continue
		}
		req.Ports = append(req.Ports, n)
	}
	if len(d.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "discover", d)
		return
	}
	res, err := u.backend.Discover(r.Context(), req)
	if ottr.ErrorCode(err) == ottr.EINVALID {
		d.Message = ottr.ErrorMessage(err)
		d.Problems = beyond(d.Message, placeProblems(err, d.Errors, func(f string) bool { return f == "targets" || f == "ports" }))
		s.render(w, r, http.StatusBadRequest, "discover", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Result = res
	if d.Carried, err = carry(res.Endpoints); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(d.Carried) > maxCarriedForm {
		d.Carried, d.TooMany = "", true
	}
	d.CAs = s.certificateAuthorities(r, u)
	s.render(w, r, http.StatusOK, "discover", d)
}

// certificateAuthorities are the route table's CAs, offered for the
// import; none when there is no route table.
func (s *Server) certificateAuthorities(r *http.Request, u *user) []string {
	rt, err := u.backend.Routes(r.Context())
	if err != nil {
		return nil
	}
	return rt.CertificateAuthorities
}

func (s *Server) discoverImport(w http.ResponseWriter, r *http.Request, u *user) {
	if !s.adminOnly(w, r, u) {
		return
	}
	f := r.PostForm
	d := discoverData{Targets: f.Get("targets"), Ports: f.Get("ports"), Errors: fieldErrors{}, Carried: f.Get("endpoints"),
		CA: strings.TrimSpace(f.Get("certificate_authority")), Platform: strings.TrimSpace(f.Get("platform")), Update: f.Get("update") != ""}
	d.CAs = s.certificateAuthorities(r, u)
	eps, err := uncarry(d.Carried)
	if err != nil {
		d.Message = "The scan's results did not come back with the form; scan again."
		s.render(w, r, http.StatusBadRequest, "discover", d)
		return
	}
	d.Result = &ottr.DiscoverResult{Addresses: len(eps), Endpoints: eps}
	if d.CA == "" {
		d.Errors.add("certificate_authority", "enter the certificate authority the new assets get certificates from")
	}
	if len(eps) == 0 {
		d.Message = "The scan found no endpoint to import."
	}
	if len(d.Errors) > 0 || d.Message != "" {
		s.render(w, r, http.StatusBadRequest, "discover", d)
		return
	}
	o := ottr.DiscoveryImport{CertificateAuthority: d.CA, Platform: d.Platform, Update: d.Update, Apply: f.Get("apply") == "apply"}
	res, err := u.backend.ImportDiscovered(r.Context(), eps, o)
	if ottr.ErrorCode(err) == ottr.EINVALID {
		d.Message = ottr.ErrorMessage(err)
		d.Problems = beyond(d.Message, placeProblems(err, d.Errors, func(f string) bool { return f == "certificate_authority" || f == "platform" }))
		s.render(w, r, http.StatusBadRequest, "discover", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Import = res
	s.render(w, r, http.StatusOK, "discover", d)
}

// carry packs a scan's endpoints into the import form's hidden field:
// the dashboard keeps nothing between requests, and the API judges what
// comes back as it would any ADMIN's import. Delegations are left out,
// as the import ignores them.
func carry(eps []ottr.DiscoveredEndpoint) (string, error) {
	slim := make([]ottr.DiscoveredEndpoint, len(eps))
	for i, ep := range eps {
		ep.Delegations = nil
		slim[i] = ep
	}
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if err := json.NewEncoder(z).Encode(slim); err != nil {
		return "", err
	}
	if err := z.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b.Bytes()), nil
}

func uncarry(s string) ([]ottr.DiscoveredEndpoint, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	z, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	var eps []ottr.DiscoveredEndpoint
	if err := json.NewDecoder(io.LimitReader(z, maxCarried)).Decode(&eps); err != nil {
		return nil, err
	}
	return eps, nil
}
