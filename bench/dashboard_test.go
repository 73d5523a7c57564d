package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/web"
)

// BenchmarkDashboard times the dashboard's pages over OTTR_BENCH_ASSETS
// assets (default 100,000), signed in, as ottr serve builds them: each
// page asks the API in-process with the session's token. It reports the
// median and p95 of OTTR_BENCH_PAGES loads (default 20) of each page.
func BenchmarkDashboard(b *testing.B) {
	n := benchSize(b)
	db := openDataset(b, n)
	ctx := context.Background()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: keyPEM, Users: db, Revocations: db})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.GetUser(ctx, "bench"); ottr.ErrorCode(err) == ottr.ENOTFOUND {
		hash, _ := api.HashPassword("Bench.Passw0rd")
		err = db.CreateUser(ctx, &ottr.User{Username: "bench", Role: ottr.RoleDeveloper, PasswordHash: hash})
		if err != nil {
			b.Fatal(err)
		}
	}
	rt := routeTable(b)
	router := &rotate.Router{Assets: db, Routes: rt}
	h := (&api.Server{Users: db, Assets: db, Tokens: tk, Routes: rt, RotationStore: db, Version: "bench",
		Status: func(ctx context.Context, listMax int) (*ottr.FleetStatus, error) {
			return rotate.Summarize(ctx, db, db, router.Decider(), listMax)
		}}).Handler()
	transport := web.InProcess(h)
	client := func(token string) *api.Client {
		return &api.Client{BaseURL: "http://ottr.internal", Token: token, HTTPClient: transport}
	}
	dash, err := web.New(web.Config{Key: []byte(strings.Repeat("b", 32)),
		Connect: func(token string) web.Backend { return benchBackend{client(token)} },
		Login: func(ctx context.Context, u, p string) (string, error) {
			c := client("")
			err := c.Login(ctx, u, p)
			return c.Token, err
		}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(dash.Handler(h))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: time.Minute}
	get := func(path string) (string, time.Duration) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d\n%.1000s", path, resp.StatusCode, body)
		}
		return string(body), d
	}
	login, _ := get("/login")
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)[1]
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"csrf": {csrf}, "username": {"bench"}, "password": {"Bench.Passw0rd"}})
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	// A page deep in the list: the 50th of the order by expiry.
	deep := "/assets?sort=certificate_expiration&limit=50"
	for range 49 {
		body, _ := get(deep)
		m := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(body)
		if m == nil {
			b.Fatal("no next page")
		}
		deep = "/assets" + strings.ReplaceAll(m[1], "&amp;", "&")
	}
	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"assets", "/assets"},
		{"assets by expiry, page 50", deep},
		{"search text", "/assets?q=0012345"},
		{"platform+dc", "/assets?host_platform=panos&data_center=DC3"},
		{"asset", fmt.Sprintf("/assets/host%07d.dc%d.example.com", n/2, n/2%7)},
		{"unrouted", "/unrouted"},
		{"rotations", "/rotations"},
	}
	loads := envInt(b, "OTTR_BENCH_PAGES", 20)
	b.ResetTimer()
	for range b.N {
		for _, p := range pages {
			var ds []time.Duration
			for range loads {
				_, d := get(p.path)
				ds = append(ds, d)
			}
			slices.Sort(ds)
			b.Logf("%-28s median %7.1f ms  p95 %7.1f ms", p.name, ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// benchBackend is the API client as the dashboard's Backend.
type benchBackend struct{ *api.Client }

func (b benchBackend) Delegation(ctx context.Context, name string) ([]web.DelegationResult, error) {
	res, err := b.Client.Delegation(ctx, name)
	out := make([]web.DelegationResult, len(res))
	for i, r := range res {
		out[i] = web.DelegationResult(r)
	}
	return out, err
}

func (b benchBackend) Credentials(ctx context.Context) ([]web.CredentialSet, error) {
	sets, err := b.Client.Credentials(ctx)
	out := make([]web.CredentialSet, len(sets))
	for i, s := range sets {
		out[i] = web.CredentialSet(s)
	}
	return out, err
}
