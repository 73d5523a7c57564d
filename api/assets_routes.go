package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// AssetInput carries an asset in Ottr's JSON form. The body is decoded by
// ottr.Asset itself, which reads Ottr's value forms ("None", "True").
type AssetInput struct {
	Authed
	RawBody []byte
}

// AssetOutput is the stored asset.
type AssetOutput struct {
	Body *ottr.Asset
}

// SystemNameInput names an asset in the path.
type SystemNameInput struct {
	Authed
	SystemName string `path:"system_name" maxLength:"253" pattern:"^[A-Za-z0-9][A-Za-z0-9.-]*$" patternDescription:"a host name: letters, digits, '.' and '-'"`
}

// Resolve looks names up as they are stored: lower case, no trailing dot.
func (i *SystemNameInput) Resolve(huma.Context) []error {
	i.SystemName = ottr.NormalName(i.SystemName)
	return nil
}

// SearchInput is Ottr's search query (AND-ed) plus our additions.
type SearchInput struct {
	Authed
	IPAddress            string `query:"ip_address"`
	SystemName           string `query:"system_name"`
	DataCenter           string `query:"data_center"`
	HostPlatform         string `query:"host_platform"`
	Origin               string `query:"origin"`
	DaysUntilExpiration  string `query:"days_until_expiration" doc:"assets whose certificate expires within this many days (expired included)"`
	CommonName           string `query:"common_name"`
	CertificateAuthority string `query:"certificate_authority"`
	OSVersion            string `query:"os_version"`
	DeviceModel          string `query:"device_model"`
	Credential           string `query:"credential" doc:"assets whose own credential field names this set"`
	Labels               string `query:"labels" doc:"key=value[,key=value…]: assets carrying every label"`
	Query                string `query:"q" maxLength:"253" doc:"free text: assets whose system_name, common_name, ip_address or a SAN contains it, in any case; letters, digits, '.', '-', '_', ':' and '*'"`
	Sort                 string `query:"sort" enum:"system_name,-system_name,certificate_expiration,-certificate_expiration,host_platform,-host_platform,updated_at,-updated_at" doc:"page order (default system_name): by the field, then system_name; '-' reverses the whole order. By certificate_expiration the never-rotated come first; updated_at is the asset's last change. A cursor continues only its own order."`
	Limit                int    `query:"limit" minimum:"0" maximum:"1000" doc:"page size (default 1000)"`
	Cursor               string `query:"cursor" doc:"from the Link header of the previous page"`
}

// SearchOutput is a bare JSON array of assets, as Ottr's clients expect;
// the next page is in the Link header.
type SearchOutput struct {
	Link string `header:"Link"`
	Body []*ottr.Asset
}

// decodeAsset reads one asset, reporting syntax and field errors with
// their position or field. It also returns which fields the body has.
func decodeAsset(b []byte) (*ottr.Asset, map[string]bool, error) {
	a, fields, err := decodeAssetFields(b)
	present := map[string]bool{}
	for k := range fields {
		present[k] = true
	}
	return a, present, err
}

func decodeAssetFields(b []byte) (*ottr.Asset, map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil, ottr.Errorf(ottr.EINVALID, "request body: empty; want an asset as a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var a ottr.Asset
	if err := dec.Decode(&a); err != nil {
		var fe *ottr.FieldError
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &fe):
			return nil, nil, ottr.Invalid("invalid asset", ottr.Problem{Field: fe.Field, Message: fe.Err.Error()})
		case errors.As(err, &se):
			return nil, nil, ottr.Errorf(ottr.EINVALID, "request body: JSON syntax error at byte %d", se.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, nil, ottr.Errorf(ottr.EINVALID, "request body: JSON syntax error: the body ends early")
		case errors.As(err, &te) && te.Field != "":
			return nil, nil, ottr.Invalid("invalid asset", typeProblem(te))
		}
		if p, ok := locateFieldError(b); ok {
			return nil, nil, ottr.Invalid("invalid asset", p)
		}
		return nil, nil, ottr.Errorf(ottr.EINVALID, "request body: want an asset as a JSON object")
	}
	if dec.More() {
		return nil, nil, ottr.Errorf(ottr.EINVALID, "request body: more than one JSON value")
	}
	// A misspelt field would otherwise be dropped without a word.
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(b, &fields)
	var probs []ottr.Problem
	for k := range fields {
		if !assetFields()[k] {
			probs = append(probs, ottr.Problem{Field: k, Message: "is not an asset field"})
		}
	}
	if len(probs) > 0 {
		slices.SortFunc(probs, func(a, b ottr.Problem) int { return strings.Compare(a.Field, b.Field) })
		return nil, nil, ottr.Invalid("invalid asset", probs...)
	}
	return &a, fields, nil
}

// locateFieldError names the field a body's decoding failed on when the
// decoder did not (a value's own decoder, such as a time's, failing
// inside an object): each field is decoded alone, and an object's fields
// one by one, so the problem is given as "last_rotation.time", not as the
// whole body.
func locateFieldError(b []byte) (ottr.Problem, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return ottr.Problem{}, false
	}
	try := func(v any) error {
		raw, _ := json.Marshal(v)
		var a ottr.Asset
		return json.Unmarshal(raw, &a)
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		err := try(map[string]json.RawMessage{k: fields[k]})
		if err == nil {
			continue
		}
		var sub map[string]json.RawMessage
		if json.Unmarshal(fields[k], &sub) == nil {
			for _, sk := range slices.Sorted(maps.Keys(sub)) {
				if serr := try(map[string]any{k: map[string]json.RawMessage{sk: sub[sk]}}); serr != nil {
					return fieldProblem(k+"."+sk, serr), true
				}
			}
		}
		return fieldProblem(k, err), true
	}
	return ottr.Problem{}, false
}

// fieldProblem says in plain words what is wrong with one field's value.
func fieldProblem(field string, err error) ottr.Problem {
	var fe *ottr.FieldError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &fe):
		return ottr.Problem{Field: field, Message: fe.Err.Error()}
	case errors.As(err, &te):
		p := typeProblem(te)
		p.Field = field
		return p
	}
	return ottr.Problem{Field: field, Message: err.Error()}
}

// assetFields are the JSON names an asset has.
var assetFields = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[ottr.Asset]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
})

// typeProblem says which field has the wrong JSON type, and what it must
// be, in the client's terms: the field as the client wrote it (not the
// decoder's path through Asset's own types) and JSON type names.
func typeProblem(te *json.UnmarshalTypeError) ottr.Problem {
	field := strings.TrimPrefix(te.Field, "plain.") // ottr.Asset's decoder decodes into a local type named plain
	want := jsonKind(te.Type.Kind())
	return ottr.Problem{Field: field, Message: fmt.Sprintf("must be %s %s, not %s %s", article(want), want, article(te.Value), te.Value)}
}

func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// jsonKind names a Go kind as the JSON type a client must send.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "number"
}

func (s *Server) assetRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}
	huma.Register(api, huma.Operation{OperationID: "create-asset", Method: http.MethodPost, Path: "/api/v1/assets",
		Summary: "Add an asset (PRIVILEGED, Ottr)", Tags: []string{"assets"}, Security: sec, DefaultStatus: http.StatusCreated,
		Errors: append(errs, http.StatusConflict)},
		func(ctx context.Context, in *AssetInput) (*AssetOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RolePrivileged)
			if err != nil {
				return nil, err
			}
			a, _, err := decodeAsset(in.RawBody)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			// Ottr's defaults for assets added through the API.
			if len(a.SubjectAlternativeName) == 0 {
				a.SubjectAlternativeName = []string{a.CommonName}
			}
			a.Origin = ottr.OriginAPI
			a.CertificateExpiration = nil
			// Output only (readOnly in the document): what Ottr learns from
			// rotations, for a certificate the asset has yet to get.
			a.RenewalWindow, a.LastRotation = nil, nil
			a.CertificateSerial, a.CertificateIssuer, a.CertificateNotBefore = "", "", nil
			// The router's watch pass sets these for assets no route serves.
			a.Monitored, a.CertificateObservedAt = false, nil
			a.CertificateValidation = true
			if err := s.Limits.Validate(a, s.Routes); err != nil {
				return nil, s.problem(ctx, err)
			}
			if err := guardNew(me, a); err != nil {
				return nil, s.problem(ctx, err)
			}
			if err := s.Assets.CreateAsset(ctx, a); err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "asset.create", "asset/"+a.SystemName, nil, a)
			if err := s.afterAdd(ctx, me, a); err != nil {
				return nil, s.problem(ctx, err)
			}
			return &AssetOutput{Body: a}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "delete-asset", Method: http.MethodDelete, Path: "/api/v1/assets/delete/{system_name}",
		Summary: "Delete an asset (PRIVILEGED, Ottr)", Tags: []string{"assets"}, Security: sec, DefaultStatus: http.StatusNoContent,
		Errors: append(errs, http.StatusNotFound)},
		func(ctx context.Context, in *SystemNameInput) (*struct{}, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RolePrivileged)
			if err != nil {
				return nil, err
			}
			before, err := s.Assets.GetAsset(ctx, in.SystemName)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if err := s.Assets.DeleteAsset(ctx, in.SystemName); err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "asset.delete", "asset/"+in.SystemName, before, nil)
			return nil, nil
		})
	huma.Register(api, huma.Operation{OperationID: "search-assets", Method: http.MethodGet, Path: "/api/v1/search",
		Summary: "Search assets (DEVELOPER, Ottr); no parameters returns all", Tags: []string{"assets"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *SearchInput) (*SearchOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			f, err := in.filter()
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			list, next, err := s.Assets.FindAssets(ctx, f)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out := &SearchOutput{Body: list}
			if out.Body == nil {
				out.Body = []*ottr.Asset{}
			}
			if next != "" {
				q := in.query()
				q.Set("cursor", next)
				out.Link = fmt.Sprintf(`</api/v1/search?%s>; rel="next"`, q.Encode())
			}
			return out, nil
		})
}

func (in *SearchInput) filter() (ottr.AssetFilter, error) {
	f := ottr.AssetFilter{
		SystemName: in.SystemName, CommonName: in.CommonName, IPAddress: in.IPAddress, DataCenter: in.DataCenter,
		HostPlatform: in.HostPlatform, Origin: in.Origin, CertificateAuthority: in.CertificateAuthority,
		OSVersion: in.OSVersion, DeviceModel: in.DeviceModel, Credential: in.Credential, Query: strings.TrimSpace(in.Query), Sort: in.Sort,
		Limit: in.Limit, Cursor: in.Cursor,
	}
	if f.Limit == 0 {
		f.Limit = 1000
	}
	// Names and addresses are stored in one form (lower case; plain
	// dotted decimal); a search finds them however they were written.
	f.SystemName, f.CommonName = ottr.NormalName(f.SystemName), ottr.NormalName(f.CommonName)
	if ip, ok := ottr.NormalIP(f.IPAddress); ok {
		f.IPAddress = ip
	}
	var probs []ottr.Problem
	if in.DaysUntilExpiration != "" {
		d, err := strconv.Atoi(in.DaysUntilExpiration)
		if err != nil || d < 0 || d > 36500 {
			probs = append(probs, ottr.Problem{Field: "days_until_expiration", Message: fmt.Sprintf("%q is not a number of days", in.DaysUntilExpiration)})
		} else {
			f.DaysUntilExpiration = &d
		}
	}
	if n := strings.Count(in.Labels, ",") + 1; in.Labels != "" && n > ottr.MaxSearchLabels {
		// Counted before splitting: a huge list is one problem, not one
		// per pair.
		probs = append(probs, ottr.Problem{Field: "labels", Message: fmt.Sprintf("has %d key=value pairs; the limit is %d", n, ottr.MaxSearchLabels)})
	} else if in.Labels != "" {
		f.Labels = map[string]string{}
		for _, kv := range strings.Split(in.Labels, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				probs = append(probs, ottr.Problem{Field: "labels", Message: fmt.Sprintf("%q is not key=value", kv)})
				continue
			}
			f.Labels[k] = v
		}
	}
	if err := f.Check(); err != nil {
		for _, p := range ottr.ErrorProblems(err) {
			if p.Field != "labels" || !slices.ContainsFunc(probs, func(q ottr.Problem) bool { return q.Field == "labels" }) {
				probs = append(probs, p)
			}
		}
	}
	if len(probs) > 0 {
		return f, ottr.Invalid("invalid search", probs...)
	}
	return f, nil
}

// query rebuilds the search's query string for the next-page link.
func (in *SearchInput) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{
		"ip_address": in.IPAddress, "system_name": in.SystemName, "data_center": in.DataCenter,
		"host_platform": in.HostPlatform, "origin": in.Origin, "days_until_expiration": in.DaysUntilExpiration,
		"common_name": in.CommonName, "certificate_authority": in.CertificateAuthority, "labels": in.Labels,
		"os_version": in.OSVersion, "device_model": in.DeviceModel, "credential": in.Credential, "q": in.Query, "sort": in.Sort,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if in.Limit > 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	return q
}
