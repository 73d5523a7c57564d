package cloudflare_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/dns/cloudflare"
)

const (
	zone   = "acme.example.test"
	zoneID = "023e105f4ecef8ad9ca31a8372d0c353"
	token  = "cf-token-Zone-DNS-Edit-0123456789"
)

// fakeAPI is Cloudflare's v4 API for zones and DNS records, as documented:
// Bearer tokens, the {"success","errors","messages","result"} envelope,
// one record per TXT value, and the list filters the provider uses.
type fakeAPI struct {
	mu      sync.Mutex
	records map[string]record
	next    int
	fail500 bool
}

type record struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
	TTL     int    `json:"ttl"`
	ZoneID  string `json:"zone_id"`
}

func envelope(w http.ResponseWriter, status int, result any, errs ...string) {
	type cfErr struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	body := map[string]any{"success": len(errs) == 0, "errors": []cfErr{}, "messages": []any{}}
	for _, e := range errs {
		body["errors"] = append(body["errors"].([]cfErr), cfErr{Code: 10000, Message: e})
	}
	if result != nil {
		body["result"] = result
		if l, ok := result.([]record); ok {
			body["result_info"] = map[string]int{"page": 1, "per_page": 100, "count": len(l), "total_count": len(l)}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail500 {
		envelope(w, 500, nil, "Internal Server Error")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+token {
		envelope(w, 403, nil, "Authentication error")
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/client/v4")
	switch {
	case r.Method == "GET" && path == "/zones":
		var zs []map[string]string
		if n := r.URL.Query().Get("name"); n == zone || n == "" {
			zs = append(zs, map[string]string{"id": zoneID, "name": zone})
		}
		envelope(w, 200, zs)
	case path == "/zones/"+zoneID+"/dns_records" && r.Method == "GET":
		q := r.URL.Query()
		out := []record{}
		for _, rec := range f.records {
			if (q.Get("type") == "" || q.Get("type") == rec.Type) && (q.Get("name") == "" || q.Get("name") == rec.Name) &&
				strings.Contains(rec.Content, q.Get("content.contains")) {
				out = append(out, rec)
			}
		}
		envelope(w, 200, out)
	case path == "/zones/"+zoneID+"/dns_records" && r.Method == "POST":
		var rec record
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil || rec.Type == "" || rec.Name == "" {
			envelope(w, 400, nil, "Invalid request")
			return
		}
		// Cloudflare takes names relative to the zone or absolute, and
		// stores them absolute.
		if rec.Name == "@" {
			rec.Name = zone
		} else if rec.Name != zone && !strings.HasSuffix(rec.Name, "."+zone) {
			rec.Name += "." + zone
		}
		if rec.TTL != 1 && rec.TTL < 60 {
			envelope(w, 400, nil, "TTL must be between 60 and 86400 seconds, or 1 for Automatic")
			return
		}
		for _, old := range f.records {
			if old.Type == rec.Type && old.Name == rec.Name && old.Content == rec.Content {
				envelope(w, 400, nil, "An identical record already exists.")
				return
			}
		}
		f.next++
		rec.ID, rec.ZoneID = fmt.Sprintf("rec%04d", f.next), zoneID
		f.records[rec.ID] = rec
		envelope(w, 200, rec)
	case strings.HasPrefix(path, "/zones/"+zoneID+"/dns_records/") && r.Method == "DELETE":
		id := strings.TrimPrefix(path, "/zones/"+zoneID+"/dns_records/")
		rec, ok := f.records[id]
		if !ok {
			envelope(w, 404, nil, "Record not found")
			return
		}
		delete(f.records, id)
		envelope(w, 200, map[string]string{"id": rec.ID})
	default:
		envelope(w, 404, nil, "No route for that URI")
	}
}

func (f *fakeAPI) values(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.records {
		if r.Name == name && r.Type == "TXT" {
			out = append(out, strings.Trim(r.Content, `"`))
		}
	}
	slices.Sort(out)
	return out
}

func TestZone(t *testing.T) {
	api := &fakeAPI{records: map[string]record{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	z, err := cloudflare.New(cloudflare.Config{Zone: zone, APIToken: token, Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	name := "_acme-challenge.fw01." + zone
	for _, v := range []string{"value-a", "value-b"} {
		if err := z.AddTXT(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := api.values(name); !slices.Equal(got, []string{"value-a", "value-b"}) {
		t.Fatalf("records = %v", got)
	}
	if err := z.RemoveTXT(ctx, name, "value-a"); err != nil {
		t.Fatal(err)
	}
	if got := api.values(name); !slices.Equal(got, []string{"value-b"}) {
		t.Errorf("after removing value-a: %v", got)
	}
	if err := z.RemoveTXT(ctx, name, "absent"); err != nil {
		t.Errorf("removing an absent value: %v", err)
	}
	if err := z.AddTXT(ctx, "_acme-challenge.example.com", "v"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("outside the zone: %v", err)
	}

	bad, _ := cloudflare.New(cloudflare.Config{Zone: zone, APIToken: "wrong-token-secret", Endpoint: srv.URL})
	err = bad.AddTXT(ctx, name, "v")
	if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("bad token: %v, want EUNAUTHORIZED", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-token-secret") {
		t.Errorf("error reveals the token: %v", err)
	}
	other, _ := cloudflare.New(cloudflare.Config{Zone: "other.test", APIToken: token, Endpoint: srv.URL})
	if err := other.AddTXT(ctx, "x.other.test", "v"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("zone not on the account: %v", err)
	}
	api.mu.Lock()
	api.fail500 = true
	api.mu.Unlock()
	z2, _ := cloudflare.New(cloudflare.Config{Zone: zone, APIToken: token, Endpoint: srv.URL})
	if err := z2.AddTXT(ctx, name, "v"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("API 500: %v, want EUNAVAILABLE", err)
	}
	// An outage while removing must not pass for success: the record would
	// be left behind. (The library drops the error of its look-up.)
	if err := z.RemoveTXT(ctx, name, "value-b"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("remove during an outage: %v, want EUNAVAILABLE", err)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := cloudflare.New(cloudflare.Config{TTL: 30e9, Endpoint: "ftp://x"})
	for _, w := range []string{"zone", "api_token", "endpoint", "ttl"} {
		if !strings.Contains(fmt.Sprint(err), w) {
			t.Errorf("%v lacks %q", err, w)
		}
	}
}
