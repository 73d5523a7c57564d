package web_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// hiddenValue is the value of a form's hidden field name in page.
func hiddenValue(t *testing.T, page, name string) string {
	t.Helper()
	m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("page has no %s field:\n%.3000s", name, page)
	}
	return m[1]
}

// TestDiscoverPage: an ADMIN scans a real TLS listener and sees it listed
// with its certificate; a dry run of the import says the asset would be
// added and adds nothing; applying it adds the asset. Field problems are
// shown by their fields.
func TestDiscoverPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	ca := testpki.NewCA("Scan CA")
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Server", "nginx") }))
	csr, key := testpki.CSR("scan.example.com", "scan.example.com", "www.scan.example.com")
	chain := ca.Sign(csr, 30*24*time.Hour)
	tlsSrv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{chain[0].Raw, ca.Cert.Raw}, PrivateKey: key}}}
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	addr := tlsSrv.Listener.Addr().String()

	b := e.browser()
	b.login("admin")
	page := b.get("/admin/discover")
	if page.code != 200 {
		t.Fatalf("GET /admin/discover: %d\n%.2000s", page.code, page.body)
	}
	for _, want := range []string{`<label for="d-targets">`, `<textarea id="d-targets" name="targets"`, `<label for="d-ports">`, `value="443, 8443"`,
		`href="/admin/discover" aria-current="page"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "<script>") || strings.Contains(page.body, "style=") {
		t.Error("the page has inline script or style")
	}
	tok := csrfOf(t, page.body)
	if a := b.get("/admin/users"); !strings.Contains(a.body, `href="/admin/discover"`) {
		t.Error("the admin navigation does not link the discovery page")
	}

	a := b.do("POST", "/admin/discover", url.Values{"csrf": {tok}, "targets": {addr}, "ports": {"443, 8443"}})
	if a.code != 200 {
		t.Fatalf("scan: %d\n%.3000s", a.code, a.body)
	}
	for _, want := range []string{"<code>" + addr + "</code>", "scan.example.com", "SANs: scan.example.com, www.scan.example.com", "CN=Scan CA",
		"nginx", "<th scope=\"col\">Delegation</th>", "<code>www.scan.example.com</code>: ok", "1 endpoint of 1 address tried"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("scan result lacks %q\n%.200s", want, "")
		}
	}
	if !regexp.MustCompile(`RSA \d+|ECDSA P-\d+|Ed25519`).MatchString(a.body) {
		t.Error("scan result shows no key type")
	}
	carried := hiddenValue(t, a.body, "endpoints")

	imp := url.Values{"csrf": {tok}, "endpoints": {carried}, "certificate_authority": {"lets_encrypt"}, "platform": {"Ubuntu"}, "apply": {"dry-run"}}
	a = b.do("POST", "/admin/discover/import", imp)
	if a.code != 200 || !strings.Contains(a.body, "Dry run: nothing changed yet") ||
		!regexp.MustCompile(`<tr class="outcome-add"><th scope="row"><code>`+regexp.QuoteMeta(addr)+`</code></th>\s*<td>scan.example.com</td>`).MatchString(a.body) {
		t.Fatalf("dry run: %d\n%.4000s", a.code, a.body)
	}
	if _, err := e.db.GetAsset(t.Context(), "scan.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Fatalf("a dry run added the asset: %v", err)
	}

	imp.Set("apply", "apply")
	a = b.do("POST", "/admin/discover/import", imp)
	if a.code != 200 || !strings.Contains(a.body, "Imported") || !strings.Contains(a.body, `<a href="/assets/scan.example.com">scan.example.com</a>`) {
		t.Fatalf("apply: %d\n%.4000s", a.code, a.body)
	}
	as, err := e.db.GetAsset(t.Context(), "scan.example.com")
	if err != nil || as.Origin != ottr.OriginDiscovery || as.CertificateAuthority != "lets_encrypt" || as.HostPlatform != "Ubuntu" {
		t.Fatalf("the imported asset: %+v %v", as, err)
	}
	// Again, without update: it exists and is left as it is.
	if a = b.do("POST", "/admin/discover/import", imp); a.code != 200 || !strings.Contains(a.body, `class="outcome-exists"`) {
		t.Errorf("import again: %d", a.code)
	}

	// Problems are shown by their fields.
	if a = b.do("POST", "/admin/discover", url.Values{"csrf": {tok}, "targets": {""}, "ports": {"443, https"}}); a.code != 400 ||
		!strings.Contains(a.body, `id="err-targets"`) || !regexp.MustCompile(`id="err-ports">&#34;https&#34; is not a port`).MatchString(a.body) {
		t.Errorf("empty targets, bad port: %d\n%.3000s", a.code, a.body)
	}
	if a = b.do("POST", "/admin/discover", url.Values{"csrf": {tok}, "targets": {"10.0.0.0/8"}}); a.code != 400 ||
		!regexp.MustCompile(`id="err-targets">[^<]*\S`).MatchString(a.body) || !strings.Contains(a.body, `aria-invalid="true"`) {
		t.Errorf("too many addresses: %d\n%.3000s", a.code, a.body)
	}
	if a = b.do("POST", "/admin/discover", url.Values{"csrf": {tok}, "targets": {"10.0.0.1"}, "ports": {"70000"}}); a.code != 400 || !strings.Contains(a.body, `id="err-ports"`) {
		t.Errorf("port out of range: %d", a.code)
	}
	imp.Set("certificate_authority", "")
	if a = b.do("POST", "/admin/discover/import", imp); a.code != 400 || !strings.Contains(a.body, `id="err-certificate_authority"`) {
		t.Errorf("no CA: %d", a.code)
	}
	imp.Set("certificate_authority", strings.Repeat("x", 300))
	if a = b.do("POST", "/admin/discover/import", imp); a.code != 400 || !regexp.MustCompile(`id="err-certificate_authority">[^<]*\S`).MatchString(a.body) {
		t.Errorf("CA too long (the API's problem): %d\n%.3000s", a.code, a.body)
	}
	imp.Set("endpoints", "not the scan")
	if a = b.do("POST", "/admin/discover/import", imp); a.code != 400 || !strings.Contains(a.body, "scan again") {
		t.Errorf("forged endpoints: %d", a.code)
	}

	// Without the CSRF token: refused, nothing scanned or imported.
	if a = b.do("POST", "/admin/discover", url.Values{"targets": {addr}}); a.code != http.StatusForbidden || !strings.Contains(a.body, "security token") {
		t.Errorf("scan without a token: %d", a.code)
	}
	imp.Set("endpoints", carried)
	imp.Set("certificate_authority", "lets_encrypt")
	imp.Del("csrf")
	if a = b.do("POST", "/admin/discover/import", imp); a.code != http.StatusForbidden {
		t.Errorf("import without a token: %d", a.code)
	}
	ev, _, err := e.db.FindEvents(t.Context(), ottr.EventFilter{Action: "discovery.scan"})
	if err != nil || len(ev) != 1 || ev[0].Actor != "admin" {
		t.Errorf("scans audited: %v %d", err, len(ev))
	}

	// Other roles get the admin pages' 403, and scan nothing.
	for _, role := range []string{"dev", "priv"} {
		o := e.browser()
		otok := o.login(role)
		if a := o.get("/admin/discover"); a.code != http.StatusForbidden || !strings.Contains(a.body, "ADMIN role required") {
			t.Errorf("GET as %s: %d", role, a.code)
		}
		if a := o.do("POST", "/admin/discover", url.Values{"csrf": {otok}, "targets": {addr}}); a.code != http.StatusForbidden || !strings.Contains(a.body, "ADMIN role required") {
			t.Errorf("scan as %s: %d", role, a.code)
		}
		imp.Set("csrf", otok)
		if a := o.do("POST", "/admin/discover/import", imp); a.code != http.StatusForbidden {
			t.Errorf("import as %s: %d", role, a.code)
		}
		if a := o.get("/assets"); strings.Contains(a.body, `href="/admin/discover"`) {
			t.Errorf("%s is shown the discovery link", role)
		}
	}
	if ev, _, _ := e.db.FindEvents(t.Context(), ottr.EventFilter{Action: "discovery.scan"}); len(ev) != 1 {
		t.Errorf("scans after other roles tried: %d", len(ev))
	}
}
