package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// assetFields are the exact-match filters of the asset search, as the
// API's search names them, with their labels.
var assetFields = []struct{ Key, Label string }{
	{"system_name", "System name"}, {"common_name", "Common name"}, {"ip_address", "IP address"},
	{"host_platform", "Platform"}, {"os_version", "OS version"}, {"device_model", "Device model"},
	{"data_center", "Data center"}, {"certificate_authority", "CA"}, {"origin", "Origin"}, {"credential", "Credential set"},
}

// sortLabels names the asset list's orders (ottr.AssetSorts).
var sortLabels = map[string]string{
	"system_name": "System name, A–Z", "-system_name": "System name, Z–A",
	"certificate_expiration": "Expiry, soonest first (never rotated first)", "-certificate_expiration": "Expiry, latest first",
	"host_platform": "Platform, A–Z", "-host_platform": "Platform, Z–A",
	"updated_at": "Last changed, oldest first", "-updated_at": "Last changed, newest first",
}

type sortOption struct{ Value, Label string }

func sortOptions() []sortOption {
	var out []sortOption
	for _, v := range ottr.AssetSorts {
		l := sortLabels[v]
		if l == "" {
			l = v
		}
		out = append(out, sortOption{v, l})
	}
	return out
}

// pageSizes are the page sizes offered; the API caps a page anyway.
var pageSizes = []int{25, 50, 100, 200}

// assetQuery is the asset list's search form, as sent.
type assetQuery struct {
	Values url.Values
	// Text is the free-text search: part of a name, SAN or address.
	Text   string
	Fields []searchField
	Days   string
	Labels string
	Sort   string
	Sorts  []sortOption
	Limit  int
	Sizes  []int
}

type searchField struct {
	Key, Label, Value string
}

// field is the problem shown next to a form field.
type fieldErrors map[string]string

func (f fieldErrors) add(field, msg string) {
	if f[field] == "" {
		f[field] = msg
	} else {
		f[field] += "; " + msg
	}
}

type assetListData struct {
	Query    assetQuery
	Assets   []*ottr.Asset
	Errors   fieldErrors
	Problems []ottr.Problem
	Pager    pager
	Now      time.Time
	// Filtered: some search is asked for; Exact: some exact-match filter.
	Filtered, Exact bool
}

// OpenFilters says whether the exact-match filters are shown unfolded:
// when one is used or has a problem.
func (d assetListData) OpenFilters() bool {
	if d.Exact {
		return true
	}
	for k := range d.Errors {
		switch k {
		case "q", "sort", "limit", "cursor":
		default:
			return true
		}
	}
	return false
}

// pager links a cursor-paged list's pages: the first page (when not on
// it) and the next, as relative URLs ("?…").
type pager struct {
	First, Next string
}

func newPager(q url.Values, next string) pager {
	var p pager
	if q.Get("cursor") != "" {
		f := cloneValues(q)
		f.Del("cursor")
		p.First = "?" + f.Encode()
	}
	if next != "" {
		n := cloneValues(q)
		n.Set("cursor", next)
		p.Next = "?" + n.Encode()
	}
	return p
}

func cloneValues(q url.Values) url.Values {
	c := url.Values{}
	for k, v := range q {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// parseLabels reads "k=v, k2=v2" (commas or new lines between pairs).
func parseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("%q is not key=value", part)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// problemField is the form field an API problem is about: its location
// without the "body." or "query." of huma's locations, up to the first
// index or member.
func problemField(loc string) string {
	loc = strings.TrimPrefix(strings.TrimPrefix(loc, "body."), "query.")
	if i := strings.IndexAny(loc, ".["); i > 0 {
		loc = loc[:i]
	}
	return loc
}

// placeProblems puts each problem of err next to its form field when the
// form has one and returns the rest.
func placeProblems(err error, errs fieldErrors, known func(string) bool) []ottr.Problem {
	var rest []ottr.Problem
	for _, p := range ottr.ErrorProblems(err) {
		if f := problemField(p.Field); known(f) {
			errs.add(f, p.Message)
			continue
		}
		rest = append(rest, p)
	}
	return rest
}

func (s *Server) assetList(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	d := assetListData{Errors: fieldErrors{}, Now: s.c.Now()}
	d.Query = assetQuery{Values: q, Text: q.Get("q"), Days: q.Get("days"), Labels: q.Get("labels"), Sort: q.Get("sort"),
		Sorts: sortOptions(), Limit: 50, Sizes: pageSizes}
	f := ottr.AssetFilter{Cursor: q.Get("cursor"), Query: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort")}
	if f.Query != "" {
		d.Filtered = true
	}
	for _, fl := range assetFields {
		v := strings.TrimSpace(q.Get(fl.Key))
		d.Query.Fields = append(d.Query.Fields, searchField{Key: fl.Key, Label: fl.Label, Value: v})
		if v != "" {
			d.Filtered, d.Exact = true, true
		}
	}
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	f.SystemName, f.CommonName, f.IPAddress = get("system_name"), get("common_name"), get("ip_address")
	f.HostPlatform, f.DataCenter, f.CertificateAuthority, f.Origin = get("host_platform"), get("data_center"), get("certificate_authority"), get("origin")
	f.OSVersion, f.DeviceModel, f.Credential = get("os_version"), get("device_model"), get("credential")
	if v := get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			d.Errors.add("days", "enter a whole number of days, 0 or more")
		} else {
			f.DaysUntilExpiration = &n
			d.Filtered, d.Exact = true, true
		}
	}
	if v := get("labels"); v != "" {
		m, err := parseLabels(v)
		if err != nil {
			d.Errors.add("labels", err.Error())
		} else {
			f.Labels = m
			d.Filtered, d.Exact = true, true
		}
	}
	if v := get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 200 {
			d.Query.Limit = n
		} else {
			d.Errors.add("limit", "choose one of the page sizes")
		}
	}
	f.Limit = d.Query.Limit
	if len(d.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "assets", d)
		return
	}
	list, next, err := u.backend.FindAssets(r.Context(), f)
	if ottr.ErrorCode(err) == ottr.EINVALID {
		known := func(f string) bool {
			switch f {
			case "days_until_expiration":
				return false
			case "labels", "cursor", "q", "sort":
				return true
			}
			for _, fl := range assetFields {
				if fl.Key == f {
					return true
				}
			}
			return false
		}
		d.Problems = placeProblems(err, d.Errors, known)
		if msg := d.Errors["cursor"]; msg != "" {
			d.Problems = append(d.Problems, ottr.Problem{Field: "cursor", Message: msg})
		}
		if len(d.Problems) == 0 && len(d.Errors) == 0 {
			d.Problems = []ottr.Problem{{Message: ottr.ErrorMessage(err)}}
		}
		s.render(w, r, http.StatusBadRequest, "assets", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Assets = list
	d.Pager = newPager(q, next)
	s.render(w, r, http.StatusOK, "assets", d)
}

// certInfo is the certificate an asset serves, as its last successful
// rotation issued it (or as the inventory records it, without a chain).
type certInfo struct {
	Subject    string
	SANs       []string
	Issuer     string
	Serial     string
	NotBefore  time.Time
	NotAfter   time.Time
	KeyType    string
	RotationID string
}

func certOf(a *ottr.Asset, r *ottr.Rotation) *certInfo {
	if r != nil {
		if blk, _ := pem.Decode([]byte(r.Chain)); blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				return &certInfo{Subject: c.Subject.String(), SANs: certNames(c), Issuer: c.Issuer.String(),
					Serial: fmt.Sprintf("%X", c.SerialNumber), NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyType: keyType(c), RotationID: r.ID}
			}
		}
	}
	if a.CertificateExpiration == nil && a.CertificateSerial == "" {
		return nil
	}
	ci := &certInfo{Subject: "CN=" + a.CommonName, SANs: a.SubjectAlternativeName, Issuer: a.CertificateIssuer, Serial: a.CertificateSerial}
	if t, ok := timeOf(a.CertificateExpiration); ok {
		ci.NotAfter = t
	}
	if t, ok := timeOf(a.CertificateNotBefore); ok {
		ci.NotBefore = t
	}
	return ci
}

func certNames(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func keyType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

type assetData struct {
	Asset *ottr.Asset
	Cert  *certInfo
	// Delegation is each name's DNS-01 delegation; DelegationNote says
	// why it is not known (no delegate zones, DNS too slow).
	Delegation     []DelegationResult
	DelegationNote string
	Rotations      []*ottr.Rotation
	MoreRuns       bool
	Labels         []labelPair
	Now            time.Time
	Problems       []ottr.Problem
	Message        string
}

func (d assetData) title() string { return d.Asset.SystemName }

type labelPair struct{ Key, Value string }

func pairs(m map[string]string) []labelPair {
	var out []labelPair
	for _, k := range sortedKeys(m) {
		out = append(out, labelPair{k, m[k]})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// historyLen is how many of an asset's rotations its page lists.
const historyLen = 10

func (s *Server) loadAsset(r *http.Request, u *user, name string) (assetData, error) {
	ctx := r.Context()
	a, err := u.backend.GetAsset(ctx, name)
	if err != nil {
		return assetData{}, err
	}
	d := assetData{Asset: a, Labels: pairs(a.Labels), Now: s.c.Now()}
	runs, next, err := u.backend.FindRotations(ctx, ottr.RotationFilter{SystemName: a.SystemName, Limit: historyLen})
	if err != nil {
		return assetData{}, err
	}
	d.Rotations, d.MoreRuns = runs, next != ""
	var last *ottr.Rotation
	for _, run := range runs {
		if run.State == ottr.StateSucceeded {
			if last, err = u.backend.GetRotation(ctx, run.ID); err != nil {
				return assetData{}, err
			}
			break
		}
	}
	if last == nil && len(runs) == historyLen {
		// The last success may be older than the history shown.
		ok, _, err := u.backend.FindRotations(ctx, ottr.RotationFilter{SystemName: a.SystemName, State: ottr.StateSucceeded, Limit: 1})
		if err != nil {
			return assetData{}, err
		}
		if len(ok) > 0 {
			if last, err = u.backend.GetRotation(ctx, ok[0].ID); err != nil {
				return assetData{}, err
			}
		}
	}
	d.Cert = certOf(a, last)
	d.Delegation, d.DelegationNote = s.delegation(r, u, a.SystemName)
	return d, nil
}

// delegationWait bounds the DNS lookups of an asset's page: a slow
// resolver leaves a note, not a slow page.
const delegationWait = 5 * time.Second

// delegation checks the asset's names' DNS-01 delegation through the API.
// It never fails the page: what could not be learnt is said instead.
func (s *Server) delegation(r *http.Request, u *user, name string) ([]DelegationResult, string) {
	ctx, cancel := context.WithTimeout(r.Context(), delegationWait)
	defer cancel()
	res, err := u.backend.Delegation(ctx, name)
	switch {
	case err == nil:
		return res, ""
	case ctx.Err() != nil && r.Context().Err() == nil:
		return nil, "not checked: DNS did not answer within " + delegationWait.String() + "; reload to try again"
	case ottr.ErrorCode(err) == ottr.EUNAVAILABLE || ottr.ErrorCode(err) == ottr.EFORBIDDEN || ottr.ErrorCode(err) == ottr.EINVALID:
		return nil, "not checked: " + ottr.ErrorMessage(err)
	}
	if ottr.ErrorCode(err) != ottr.EINTERNAL && ottr.ErrorCode(err) != "" {
		return nil, "not checked: " + ottr.ErrorMessage(err)
	}
	s.c.Logger.WarnContext(r.Context(), "delegation check failed", "asset", name, "err", err)
	return nil, "not checked: the check failed; see the server's log"
}

func (s *Server) assetPage(w http.ResponseWriter, r *http.Request, u *user) {
	d, err := s.loadAsset(r, u, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "asset", d)
}

// assetRotate starts (or joins) a rotation and shows it. A refusal (no
// route, DNS-01 delegation missing) is shown on the asset's page with
// every problem the API named.
func (s *Server) assetRotate(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	id, joined, err := u.backend.Rotate(r.Context(), name)
	if ottr.ErrorCode(err) == ottr.EINVALID || ottr.ErrorCode(err) == ottr.EUNAVAILABLE {
		d, lerr := s.loadAsset(r, u, name)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		d.Message = ottr.ErrorMessage(err)
		d.Problems = beyond(d.Message, ottr.ErrorProblems(err))
		s.render(w, r, http.StatusBadRequest, "asset", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := "/rotations/" + url.PathEscape(id)
	if joined {
		to += "?done=joined"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) assetValidation(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	on := r.PostForm.Get("validate") == "on"
	if err := u.backend.SetCertificateValidation(r.Context(), name, on); err != nil {
		s.fail(w, r, err)
		return
	}
	done := "validation-off"
	if on {
		done = "validation-on"
	}
	http.Redirect(w, r, "/assets/"+url.PathEscape(name)+"?done="+done, http.StatusSeeOther)
}

func (s *Server) assetDelete(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	if err := u.backend.DeleteAsset(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assets?done=deleted", http.StatusSeeOther)
}
