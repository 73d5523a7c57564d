package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/web"
)

// TestLoginSetsASealedSessionCookie: signing in through the form sets one
// HttpOnly, SameSite=Lax, Path=/ cookie that holds the API token only
// encrypted, expiring with the token; a wrong password is refused with
// the API's answer and no cookie.
func TestLoginSetsASealedSessionCookie(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	page := b.get("/login")
	a := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"admin"}, "password": {"wrong"}})
	if a.code != http.StatusUnauthorized || !strings.Contains(a.body, "Wrong user name or password") || b.cookie("ottr_session") != nil {
		t.Errorf("wrong password: %d, cookie %v\n%.800s", a.code, b.cookie("ottr_session"), a.body)
	}
	a = b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"admin"}, "password": {password}})
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/" {
		t.Fatalf("login: %d %q", a.code, a.h.Get("Location"))
	}
	var set *http.Cookie
	for _, c := range (&http.Response{Header: a.h}).Cookies() {
		if c.Name == "ottr_session" {
			set = c
		}
	}
	if set == nil {
		t.Fatalf("no session cookie set: %v", a.h["Set-Cookie"])
	}
	if !set.HttpOnly || set.SameSite != http.SameSiteLaxMode || set.Path != "/" || set.Secure {
		t.Errorf("cookie flags: HttpOnly=%v SameSite=%v Path=%q Secure=%v (plain HTTP)", set.HttpOnly, set.SameSite, set.Path, set.Secure)
	}
	if strings.Contains(set.Value, "eyJ") || strings.Contains(set.Value, "Bearer") {
		t.Error("the session cookie shows the API token")
	}
	if d := time.Until(set.Expires); d < 25*time.Minute || d > 31*time.Minute {
		t.Errorf("cookie expires in %v, want the token's 30 minutes", d)
	}
	if got := b.get("/assets"); got.code != 200 || !strings.Contains(got.body, "fw01.example.com") {
		t.Errorf("signed in: %d", got.code)
	}
	// A tampered cookie is no session.
	u, _ := url.Parse(e.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: "ottr_session", Value: set.Value[:len(set.Value)-2] + "AA", Path: "/"}})
	if got := b.get("/assets"); got.code != http.StatusSeeOther || !strings.HasPrefix(got.h.Get("Location"), "/login") {
		t.Errorf("tampered cookie: %d %s", got.code, got.h.Get("Location"))
	}
}

// TestSecureCookiesOverTLS: over TLS the session cookie is Secure and
// carries the __Host- prefix.
func TestSecureCookiesOverTLS(t *testing.T) {
	e := newEnv(t, envOptions{})
	tlsSrv := httptest.NewTLSServer(e.srv.Config.Handler)
	defer tlsSrv.Close()
	c := tlsSrv.Client()
	c.Jar, _ = cookiejar.New(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(tlsSrv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	buf := new(strings.Builder)
	_, _ = copyBody(buf, resp)
	form := url.Values{"csrf": {csrfOf(t, buf.String())}, "username": {"priv"}, "password": {password}}
	req, _ := http.NewRequest("POST", tlsSrv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var got *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-ottr_session" {
			got = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || got == nil || !got.Secure || !got.HttpOnly || got.Path != "/" || got.Domain != "" {
		t.Errorf("TLS login: %d, cookie %+v", resp.StatusCode, got)
	}
}

func copyBody(w *strings.Builder, resp *http.Response) (int64, error) {
	defer resp.Body.Close()
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := resp.Body.Read(buf)
		w.Write(buf[:k])
		n += int64(k)
		if err != nil {
			return n, nil
		}
	}
}

// TestCSRF: every form needs its session's token; a post without it, with
// another session's, or from another site is refused with 403 and a page
// that says why, and changes nothing.
func TestCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("priv")
	other := e.browser()
	otherTok := other.login("admin")
	if tok == otherTok {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, c := range map[string]struct {
		form url.Values
		hdr  []string
	}{
		"no token":              {url.Values{}, nil},
		"another session's":     {url.Values{"csrf": {otherTok}}, nil},
		"cross-site":            {url.Values{"csrf": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}},
		"other origin":          {url.Values{"csrf": {tok}}, []string{"Sec-Fetch-Site", "", "Origin", "https://evil.example"}},
		"same-site, not origin": {url.Values{"csrf": {tok}}, []string{"Sec-Fetch-Site", "same-site"}},
	} {
		a := b.do("POST", "/assets/fw01.example.com/delete", c.form, c.hdr...)
		if a.code != http.StatusForbidden || !strings.Contains(a.body, "Request refused") || !strings.Contains(a.h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s\n%.600s", name, a.code, a.h.Get("Content-Type"), a.body)
		}
	}
	if _, err := e.db.GetAsset(t.Context(), "fw01.example.com"); err != nil {
		t.Fatalf("a refused post deleted the asset: %v", err)
	}
	// The login form is protected too: without the nonce cookie its token
	// means nothing.
	fresh := e.browser()
	page := fresh.get("/login")
	fresh.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: "ottr_login", Value: "", MaxAge: -1, Path: "/"}})
	if a := fresh.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"admin"}, "password": {password}}); a.code != http.StatusForbidden {
		t.Errorf("login without its nonce cookie: %d", a.code)
	}
	// With the token, from the page's own origin, it works.
	if a := b.do("POST", "/assets/fw01.example.com/delete", url.Values{"csrf": {tok}}); a.code != http.StatusSeeOther {
		t.Errorf("valid delete: %d\n%.600s", a.code, a.body)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestSessionExpiry: a session ends after the idle limit, and when its
// API token expires, whatever the activity; either way the browser is
// sent to sign in again and told why, and comes back where it was.
func TestSessionExpiry(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	e := newEnv(t, envOptions{idle: 10 * time.Minute, now: now})
	b := e.browser()
	b.login("dev")
	skew.Store(int64(9 * time.Minute))
	if a := b.get("/rotations"); a.code != 200 {
		t.Fatalf("within the idle limit: %d", a.code)
	}
	// The request above renewed the session: nine more minutes are fine.
	skew.Store(int64(18 * time.Minute))
	if a := b.get("/rotations"); a.code != 200 {
		t.Fatalf("active session: %d", a.code)
	}
	// The token expires at 30 minutes, however active the session.
	skew.Store(int64(31 * time.Minute))
	a := b.get("/rotations?state=failed")
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/login?next=%2Frotations%3Fstate%3Dfailed&why=expired" {
		t.Errorf("after the token's expiry: %d %q", a.code, a.h.Get("Location"))
	}
	if login := b.get(a.h.Get("Location")); !strings.Contains(login.body, "Your session has expired") {
		t.Errorf("login page does not say the session expired:\n%.800s", login.body)
	}

	skew.Store(0)
	b2 := e.browser()
	b2.login("dev")
	skew.Store(int64(11 * time.Minute))
	a = b2.get("/assets")
	if a.code != http.StatusSeeOther || !strings.Contains(a.h.Get("Location"), "why=idle") {
		t.Errorf("idle session: %d %q", a.code, a.h.Get("Location"))
	}
	if login := b2.get(a.h.Get("Location")); !strings.Contains(login.body, "without activity") {
		t.Errorf("login page does not say the session was idle")
	}
}

// TestLogoutRevokesTheToken: signing out clears the cookie and revokes
// the API token, so a copy of the cookie taken before is worthless.
func TestLogoutRevokesTheToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("admin")
	stolen := b.cookie("ottr_session")
	a := b.do("POST", "/logout", url.Values{"csrf": {tok}})
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/login?why=out" {
		t.Fatalf("logout: %d %q", a.code, a.h.Get("Location"))
	}
	if b.cookie("ottr_session") != nil {
		t.Error("session cookie kept after logout")
	}
	if got := b.get(a.h.Get("Location")); !strings.Contains(got.body, "You are signed out") {
		t.Error("login page does not say the user signed out")
	}
	thief := e.browser()
	thief.jar.SetCookies(mustURL(e.srv.URL), []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/"}})
	if got := thief.get("/admin/users"); got.code != http.StatusSeeOther || got.h.Get("Location") != "/login?next=%2Fadmin%2Fusers&why=ended" {
		t.Errorf("replayed cookie after logout: %d %q", got.code, got.h.Get("Location"))
	}
	if got := thief.get("/login?next=%2Fadmin%2Fusers&why=ended"); !strings.Contains(got.body, "Your session has ended") {
		t.Error("the login page does not say the session ended")
	}
	// Logging out is a form too; a link to it asks.
	tok = b.login("admin")
	if p := b.get("/logout"); p.code != 200 || !strings.Contains(p.body, `action="/logout"`) || csrfOf(t, p.body) != tok || b.cookie("ottr_session") == nil {
		t.Errorf("GET /logout: %d", p.code)
	}
	if a := b.do("POST", "/logout", url.Values{}); a.code != http.StatusForbidden {
		t.Errorf("logout without a CSRF token: %d", a.code)
	}
}

// TestLoginRedirectStaysOnSite: the page to return to after signing in is
// a path on this site, never another site.
func TestLoginRedirectStaysOnSite(t *testing.T) {
	e := newEnv(t, envOptions{})
	for next, want := range map[string]string{
		"/rotations?state=failed": "/rotations?state=failed", "//evil.example/x": "/", "https://evil.example": "/",
		`/\evil.example`: "/", "": "/",
	} {
		b := e.browser()
		page := b.get("/login?next=" + url.QueryEscape(next))
		a := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"dev"}, "password": {password}, "next": {next}})
		if a.h.Get("Location") != want {
			t.Errorf("next %q: redirected to %q, want %q", next, a.h.Get("Location"), want)
		}
	}
}

// TestDashboardBesideTheAPI: "/" is the dashboard for browsers and Ottr's
// health check for everyone else; the API's paths stay the API's, and a
// browser on a path that does not exist gets a page that says so.
func TestDashboardBesideTheAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	if a := b.do("GET", "/", nil, "Accept", "application/json"); a.code != 200 || !strings.Contains(a.body, `"status":"ok"`) {
		t.Errorf("GET / as an API client: %d %s", a.code, a.body)
	}
	if a := b.do("GET", "/", nil, "Accept", ""); a.code != 200 || !strings.Contains(a.body, `"status":"ok"`) {
		t.Errorf("GET / without Accept: %d %s", a.code, a.body)
	}
	if a := b.get("/"); a.code != http.StatusSeeOther || a.h.Get("Location") != "/login" {
		t.Errorf("GET / from a browser, signed out: %d %q", a.code, a.h.Get("Location"))
	}
	if a := b.get("/rotations/abc"); a.code != http.StatusSeeOther || a.h.Get("Location") != "/login?next=%2Frotations%2Fabc" {
		t.Errorf("a notification's link, signed out: %d %q", a.code, a.h.Get("Location"))
	}
	if a := b.get("/api/v1/search"); a.code != 401 || !strings.Contains(a.h.Get("Content-Type"), "problem+json") {
		t.Errorf("API path from a browser: %d %s", a.code, a.h.Get("Content-Type"))
	}
	if a := b.get("/no/such/page"); a.code != 404 || !strings.Contains(a.body, "There is no page at /no/such/page") {
		t.Errorf("unknown page: %d\n%.500s", a.code, a.body)
	}
	if a := b.do("GET", "/no/such/page", nil, "Accept", "application/json"); a.code != 404 || !strings.Contains(a.h.Get("Content-Type"), "problem+json") {
		t.Errorf("unknown path, API client: %d %s", a.code, a.h.Get("Content-Type"))
	}
	a := b.get("/login")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
		"X-Frame-Options":         "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
	} {
		if !strings.Contains(a.h.Get(h), want) {
			t.Errorf("%s: %q, want %q", h, a.h.Get(h), want)
		}
	}
	css := b.get(strings.Split(strings.Split(a.body, `rel="stylesheet" href="`)[1], `"`)[0])
	if css.code != 200 || !strings.Contains(css.h.Get("Cache-Control"), "immutable") || !strings.Contains(css.h.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q %q", css.code, css.h.Get("Cache-Control"), css.h.Get("Content-Type"))
	}
}

// TestNewChecksItsConfiguration: a dashboard without a way to the API or
// with a short key is refused, naming each field.
func TestNewChecksItsConfiguration(t *testing.T) {
	_, err := web.New(web.Config{Key: []byte("short")})
	for _, f := range []string{"Connect", "Login", "Key"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
}
