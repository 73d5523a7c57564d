package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/discover"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
	"github.com/ottr-dev/ottr/web"
)

// backend is the API client as the dashboard's Backend, as cmd/ottr
// makes it: the two answers in the API's own types are converted.
type backend struct{ *api.Client }

func (b backend) Delegation(ctx context.Context, name string) ([]web.DelegationResult, error) {
	res, err := b.Client.Delegation(ctx, name)
	out := make([]web.DelegationResult, len(res))
	for i, r := range res {
		out[i] = web.DelegationResult(r)
	}
	return out, err
}

func (b backend) Credentials(ctx context.Context) ([]web.CredentialSet, error) {
	sets, err := b.Client.Credentials(ctx)
	out := make([]web.CredentialSet, len(sets))
	for i, s := range sets {
		out[i] = web.CredentialSet(s)
	}
	return out, err
}

// delegated answers DNS-01 delegation checks: every name is delegated but
// those under alias.
type delegated struct{}

func (delegated) Delegate(_ context.Context, n string) (ottr.Delegation, error) {
	if strings.HasPrefix(n, "alias.") {
		return ottr.Delegation{}, ottr.Errorf(ottr.EINVALID, "%s: _acme-challenge.%s has no CNAME", n, n)
	}
	return ottr.Delegation{Name: n, Chain: []string{"_acme-challenge." + n, "_acme-challenge." + n + ".acme.example.net"},
		Target: "_acme-challenge." + n + ".acme.example.net", Zone: "acme.example.net"}, nil
}
func (delegated) AddTXT(context.Context, ottr.Delegation, string) error    { return nil }
func (delegated) RemoveTXT(context.Context, ottr.Delegation, string) error { return nil }
func (delegated) WaitTXT(context.Context, ottr.Delegation, []string) error { return nil }

// credentialValue is in a stored credential set; no page may show it.
const credentialValue = "s3cret-Value-9"

const password = "Passw0rd!"

// env is an API server over a real SQLite store with the dashboard in
// front, as ottr serve runs them, and one user of each role.
type env struct {
	t   *testing.T
	db  *store.DB
	srv *httptest.Server
	web *web.Server
	rot *slowRotations
	now func() time.Time
}

type envOptions struct {
	idle   time.Duration
	now    func() time.Time
	assets int
	// step is how long each step of a rotation takes (0: 300 ms).
	step time.Duration
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	db := storetest.Open(t)
	ctx := t.Context()
	hash, err := api.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role ottr.Role
	}{{"admin", ottr.RoleAdmin}, {"priv", ottr.RolePrivileged}, {"dev", ottr.RoleDeveloper}} {
		if err := db.CreateUser(ctx, &ottr.User{Username: u.name, Role: u.role, PasswordHash: hash, Created: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open("../testdata/route.json")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := ottr.ParseRouteTable(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	seedAssets(t, db, o.assets)
	tk, err := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db, Revocations: db})
	if err != nil {
		t.Fatal(err)
	}
	if o.step == 0 {
		o.step = 300 * time.Millisecond
	}
	rot := &slowRotations{db: db, step: o.step, ca: testpki.NewCA("Test CA")}
	t.Cleanup(rot.wait)
	router := &rotate.Router{Assets: db, Routes: rt}
	status := func(ctx context.Context, listMax int) (*ottr.FleetStatus, error) {
		st, err := rotate.Summarize(ctx, db, db, router.Decider(), listMax)
		if err == nil {
			next := time.Now().Add(time.Hour)
			st.Router = &ottr.RouterStatus{State: "running", IntervalSeconds: 3600, NextPass: &next, Leader: "replica-1", Replica: "replica-1", Workers: 4}
		}
		return st, err
	}
	if err := db.PutSecret(ctx, ottr.CredentialSecretPrefix+"panos-admin", []byte(`{"username":"admin","password":"`+credentialValue+`"}`)); err != nil {
		t.Fatal(err)
	}
	users := func(context.Context) (map[string][]string, error) {
		return map[string][]string{"panos-admin": {"panos"}, "f5-admin": {"f5"}}, nil
	}
	apiHandler := (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Routes: rt, Rotations: rot, RotationStore: db,
		Trust: db, CAs: []string{"lets_encrypt"}, Status: status, DNS: delegated{}, Secrets: db, CredentialUsers: users, Version: "test",
		Discover: (&discover.Service{DNS: delegated{}}).Discover}).Handler()
	client := web.InProcess(apiHandler)
	now := o.now
	if now == nil {
		now = time.Now
	}
	w, err := web.New(web.Config{
		Connect: func(token string) web.Backend {
			return backend{&api.Client{BaseURL: "http://ottr.internal", Token: token, HTTPClient: client}}
		},
		Login: func(ctx context.Context, username, pw string) (string, error) {
			c := &api.Client{BaseURL: "http://ottr.internal", HTTPClient: client}
			err := c.Login(ctx, username, pw)
			return c.Token, err
		},
		Key:          []byte(strings.Repeat("k", 32)),
		IdleTimeout:  o.idle,
		PollInterval: 100 * time.Millisecond,
		Version:      "test",
		Now:          now,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler(apiHandler))
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, web: w, rot: rot, now: now}
}

// seedAssets adds the assets every test finds, and n more.
func seedAssets(t *testing.T, db *store.DB, n int) {
	t.Helper()
	ctx := t.Context()
	exp := ottr.NewTime(time.Now().Add(5 * 24 * time.Hour))
	for _, a := range []*ottr.Asset{
		{SystemName: "fw01.example.com", CommonName: "fw01.example.com", SubjectAlternativeName: []string{"fw01.example.com"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX",
			DataCenter: "DC1", Origin: ottr.OriginAPI, CertificateValidation: true, Labels: map[string]string{"team": "netops"}},
		{SystemName: "lb01.example.com", CommonName: "lb01.example.com", SubjectAlternativeName: []string{"lb01.example.com"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "f5", OSVersion: "14.1.0", DataCenter: "DC2",
			Origin: ottr.OriginAPI, CertificateValidation: true, CertificateExpiration: exp},
		{SystemName: "fw03.example.com", CommonName: "fw03.example.com", SubjectAlternativeName: []string{"fw03.example.com"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "10.2.0", DeviceModel: "PA-XXXX", DataCenter: "DC1"},
		{SystemName: "web01.example.com", CommonName: "web01.example.com", SubjectAlternativeName: []string{"web01.example.com", "alias.example.org"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "Ubuntu", OSVersion: "20.04", DataCenter: "DC2",
			CertificateExpiration: ottr.NewTime(time.Now().Add(-24 * time.Hour)),
			LastRotation:          &ottr.LastRotation{Time: *ottr.NewTime(time.Now().Add(-time.Hour)), Status: "failed", Error: "install: device refused the certificate", Failures: 2}},
	} {
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// The rest vary as a fleet does: some never rotated, the others
	// expiring over the next three months, a few rotated recently.
	day := 24 * time.Hour
	for i := range n {
		name := fmt.Sprintf("host%06d.example.com", i)
		a := &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX", DataCenter: "DC3", Origin: ottr.OriginAPI}
		if i%2 == 1 {
			a.HostPlatform, a.OSVersion, a.DeviceModel = "f5", "14.1.0", ""
		}
		if k := i % 6; k > 0 {
			left := []time.Duration{0, 3 * day, 20 * day, 45 * day, 75 * day, 85 * day}[k]
			a.CertificateExpiration = ottr.NewTime(time.Now().Add(left))
			a.CertificateNotBefore = ottr.NewTime(time.Now().Add(left - 90*day))
			a.LastRotation = &ottr.LastRotation{Time: *a.CertificateNotBefore, Status: string(ottr.StateSucceeded)}
		}
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
}

// slowRotations stands in for the rotation engine: each rotation runs
// through every step, a step every few hundred milliseconds, writing its
// log through the RotationStore as the engine does, and succeeds with a
// certificate from a test CA.
type slowRotations struct {
	db   *store.DB
	step time.Duration
	ca   *testpki.CA
	wg   sync.WaitGroup
	// fail names assets whose rotations fail at install.
	fail map[string]bool
}

func (q *slowRotations) wait() { q.wg.Wait() }

func (q *slowRotations) Enqueue(ctx context.Context, r *ottr.Rotation) (bool, error) {
	r.State = ottr.StateQueued
	if err := q.db.CreateRotation(ctx, r); err != nil {
		if ottr.ErrorCode(err) == ottr.ECONFLICT {
			return true, nil
		}
		return false, err
	}
	q.wg.Add(1)
	go q.run(r.ID, r.SystemName)
	return false, nil
}

func (q *slowRotations) run(id, name string) {
	defer q.wg.Done()
	ctx := context.Background()
	// update applies fn unless the rotation was canceled, as the engine
	// stops at the next step boundary; it reports whether it applied.
	update := func(fn func(r *ottr.Rotation)) bool {
		applied := false
		_, _ = q.db.UpdateRotation(ctx, id, func(r *ottr.Rotation) error {
			if r.State == ottr.StateCanceled {
				return nil
			}
			fn(r)
			applied = true
			return nil
		})
		return applied
	}
	for _, step := range ottr.Steps {
		time.Sleep(q.step)
		now := time.Now().UTC()
		if !update(func(r *ottr.Rotation) {
			if r.StartedAt == nil {
				r.StartedAt = &now
			}
			r.State, r.Step = ottr.StateRunning, step
			r.Log = []ottr.LogLine{{Time: now, Step: step, Level: "info", Message: "step " + string(step) + " done"}}
		}) {
			return
		}
		if step == ottr.StepInstall && q.fail[name] {
			update(func(r *ottr.Rotation) {
				r.State, r.FinishedAt, r.Error = ottr.StateFailed, &now, "device refused the certificate"
				r.Log = []ottr.LogLine{{Time: now, Step: step, Level: "error", Message: "rotation failed: device refused the certificate"}}
			})
			return
		}
	}
	csr, _ := testpki.CSR(name, name)
	chain := q.ca.Sign(csr, 90*24*time.Hour)
	now := time.Now().UTC()
	update(func(r *ottr.Rotation) {
		r.State, r.FinishedAt, r.Chain = ottr.StateSucceeded, &now, string(testpki.EncodeChain(chain))
		r.NewSerial, r.NewExpiration = fmt.Sprintf("%X", chain[0].SerialNumber), ottr.NewTime(chain[0].NotAfter)
		r.Log = []ottr.LogLine{{Time: now, Step: ottr.StepRecord, Level: "info", Message: "rotation succeeded"}}
	})
}

// browser is a cookie-keeping HTTP client that does not follow
// redirects, so tests see each answer.
type browser struct {
	t   *testing.T
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type answer struct {
	code int
	body string
	h    http.Header
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) answer {
	b.t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Browsers mark their own pages' form posts same-origin.
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return answer{resp.StatusCode, sb.String(), resp.Header}
}

func (b *browser) get(path string) answer { b.t.Helper(); return b.do("GET", path, nil) }

// csrf is the token in a page's forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatalf("page has no CSRF field:\n%.2000s", page)
	}
	rest := page[i+len(marker):]
	return rest[:strings.Index(rest, `"`)]
}

// login signs in through the login form and returns the CSRF token of the
// session's pages.
func (b *browser) login(user string) string {
	b.t.Helper()
	page := b.get("/login")
	if page.code != 200 {
		b.t.Fatalf("GET /login: %d", page.code)
	}
	a := b.do("POST", "/login", url.Values{"csrf": {csrfOf(b.t, page.body)}, "username": {user}, "password": {password}, "next": {"/assets"}})
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/assets" {
		b.t.Fatalf("login %s: %d %s\n%.1500s", user, a.code, a.h.Get("Location"), a.body)
	}
	assets := b.get("/assets")
	if assets.code != 200 {
		b.t.Fatalf("after login: %d", assets.code)
	}
	return csrfOf(b.t, assets.body)
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}
