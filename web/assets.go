package web

import (
	"fmt"
	"net/http"
	"net/url"
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
