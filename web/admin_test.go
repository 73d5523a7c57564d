package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestRoleChange: the ADMIN changes a user's role from the users page;
// taking ADMIN from the last ADMIN is refused with the API's words next to
// that user's role; changing one's own role ends one's session.
func TestRoleChange(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("admin")
	if a := b.do("POST", "/admin/users/dev/role", url.Values{"csrf": {tok}, "role": {"PRIVILEGED"}}); a.code != http.StatusSeeOther || a.h.Get("Location") != "/admin/users?done=role-changed" {
		t.Fatalf("role change: %d %q\n%.1000s", a.code, a.h.Get("Location"), a.body)
	}
	if u, _ := e.db.GetUser(t.Context(), "dev"); u.Role != ottr.RolePrivileged {
		t.Errorf("dev is %s", u.Role)
	}
	a := b.do("POST", "/admin/users/admin/role", url.Values{"csrf": {tok}, "role": {"DEVELOPER"}})
	if a.code != http.StatusConflict || !regexp.MustCompile(`id="err-role-admin">[^<]*ADMIN`).MatchString(a.body) {
		t.Errorf("demoting the last ADMIN: %d\n%.3000s", a.code, a.body)
	}
	if a := b.do("POST", "/admin/users/dev/role", url.Values{"csrf": {tok}, "role": {"KING"}}); a.code != http.StatusBadRequest || !strings.Contains(a.body, `id="err-role-dev"`) {
		t.Errorf("unknown role: %d", a.code)
	}
	// A second ADMIN demotes the first: the first's session ends.
	if a := b.do("POST", "/admin/users/priv/role", url.Values{"csrf": {tok}, "role": {"ADMIN"}}); a.code != http.StatusSeeOther {
		t.Fatalf("promote priv: %d", a.code)
	}
	a = b.do("POST", "/admin/users/admin/role", url.Values{"csrf": {tok}, "role": {"PRIVILEGED"}})
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/login?why=role" || b.cookie("ottr_session") != nil {
		t.Errorf("own role change: %d %q", a.code, a.h.Get("Location"))
	}
	if a := b.do("POST", "/admin/users/dev/unlock", url.Values{"csrf": {b.login("priv")}}); a.code != http.StatusSeeOther || a.h.Get("Location") != "/admin/users?done=user-unlocked" {
		t.Errorf("unlock: %d %q", a.code, a.h.Get("Location"))
	}
}

// TestAuditEventsPage: the ADMIN reads the audit log, newest first,
// filtered by actor, action or resource, with each change's before and
// after; a bad date is shown by its field.
func TestAuditEventsPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("admin")
	b.do("POST", "/admin/users", url.Values{"csrf": {tok}, "username": {"carol"}, "password": {"C4rol.Passw0rd"}, "role": {"DEVELOPER"}})
	b.do("POST", "/assets/fw01.example.com/validation", url.Values{"csrf": {tok}, "validate": {"off"}})
	a := b.get("/admin/events")
	if a.code != 200 || !strings.Contains(a.body, "user.create") || !strings.Contains(a.body, "user/carol") || !strings.Contains(a.body, "before and after") {
		t.Fatalf("events: %d\n%.3000s", a.code, a.body)
	}
	if strings.Index(a.body, ">user/carol</a>") < strings.Index(a.body, ">asset/fw01.example.com</a>") {
		t.Error("events are not newest first")
	}
	if a := b.get("/admin/events?resource=user%2Fcarol"); strings.Contains(a.body, ">asset/fw01.example.com</a>") || !strings.Contains(a.body, ">user/carol</a>") {
		t.Error("resource filter")
	}
	if a := b.get("/admin/events?since=yesterday"); a.code != 400 || !strings.Contains(a.body, `id="err-since"`) {
		t.Errorf("bad since: %d", a.code)
	}
	if a := b.get("/admin/events?since=2000-01-01"); a.code != 200 || !strings.Contains(a.body, "user/carol") {
		t.Errorf("since a date: %d", a.code)
	}
	dev := e.browser()
	dev.login("dev")
	if a := dev.get("/admin/events"); a.code != http.StatusForbidden {
		t.Errorf("events as DEVELOPER: %d", a.code)
	}
}

// TestCredentialsPage: the ADMIN sees each credential set's name, keys and
// users, and a set named but not stored; never a value.
func TestCredentialsPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.login("admin")
	a := b.get("/admin/credentials")
	if a.code != 200 {
		t.Fatalf("credentials: %d\n%.2000s", a.code, a.body)
	}
	for _, want := range []string{"<code>panos-admin</code>", "password, username", "<code>f5-admin</code>", "missing: named but not stored"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("credentials page lacks %q", want)
		}
	}
	if strings.Contains(a.body, credentialValue) {
		t.Fatal("the credentials page shows a value")
	}
	p := e.browser()
	p.login("priv")
	if a := p.get("/admin/credentials"); a.code != http.StatusForbidden {
		t.Errorf("credentials as PRIVILEGED: %d", a.code)
	}
}

// TestAccountPassword: a user changes their own password; the session
// carries on under the new one, and the old password no longer signs in.
// A wrong current password, a weak new one or a mistyped confirmation is
// shown by its field.
func TestAccountPassword(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("dev")
	form := func(cur, next, confirm string) url.Values {
		return url.Values{"csrf": {tok}, "password": {cur}, "updated_password": {next}, "confirm": {confirm}}
	}
	for name, c := range map[string]struct {
		form  url.Values
		field string
		code  int
	}{
		"wrong current": {form("nope", "N3w.Passw0rd", "N3w.Passw0rd"), "password", 401},
		"weak":          {form(password, "weak", "weak"), "updated_password", 400},
		"mistyped":      {form(password, "N3w.Passw0rd", "N3w.Passw0rdd"), "confirm", 400},
	} {
		a := b.do("POST", "/account/password", c.form)
		if a.code != c.code || !strings.Contains(a.body, `id="err-`+c.field+`"`) {
			t.Errorf("%s: %d\n%.2500s", name, a.code, a.body)
		}
	}
	a := b.do("POST", "/account/password", form(password, "N3w.Passw0rd", "N3w.Passw0rd"))
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/account?done=password" {
		t.Fatalf("change: %d %q\n%.1500s", a.code, a.h.Get("Location"), a.body)
	}
	if p := b.get("/account?done=password"); p.code != 200 || !strings.Contains(p.body, "Password changed.") {
		t.Errorf("after the change: %d", p.code)
	}
	other := e.browser()
	page := other.get("/login")
	if a := other.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page.body)}, "username": {"dev"}, "password": {password}}); a.code != http.StatusUnauthorized {
		t.Errorf("old password after the change: %d", a.code)
	}
}

// TestAssetSearchAndSort: the free-text box finds part of a name in any
// case, the order follows the sort chosen, through its pages; a bad query
// is shown by its field.
func TestAssetSearchAndSort(t *testing.T) {
	e := newEnv(t, envOptions{assets: 12})
	b := e.browser()
	b.login("dev")
	a := b.get("/assets?q=LB01")
	if !strings.Contains(a.body, `href="/assets/lb01.example.com"`) || strings.Contains(a.body, `href="/assets/fw01.example.com"`) {
		t.Errorf("q=LB01:\n%.3000s", a.body)
	}
	rowRE := regexp.MustCompile(`<td><a href="/assets/([^"]+)">`)
	names := func(body string) []string {
		var out []string
		for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
			out = append(out, m[1])
		}
		return out
	}
	asc, desc := names(b.get("/assets?sort=system_name").body), names(b.get("/assets?sort=-system_name").body)
	if len(asc) != 16 || asc[0] != desc[len(desc)-1] || asc[len(asc)-1] != desc[0] {
		t.Errorf("sorts: %v / %v", asc, desc)
	}
	// Expiry order, soonest first: the never rotated first, then the
	// expired web01, then lb01 (5 days).
	exp := names(b.get("/assets?sort=certificate_expiration&limit=25").body)
	iw, il := indexOf(exp, "web01.example.com"), indexOf(exp, "lb01.example.com")
	if iw < 0 || il < iw || indexOf(exp, "fw01.example.com") > iw {
		t.Errorf("by expiry: %v", exp)
	}
	// Pages keep their order.
	first := b.get("/assets?sort=-system_name&limit=10")
	m := regexp.MustCompile(`href="(\?[^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if m == nil {
		t.Fatal("no next page")
	}
	second := names(b.get("/assets" + strings.ReplaceAll(m[1], "&amp;", "&")).body)
	if got := append(names(first.body), second...); strings.Join(got, ",") != strings.Join(desc, ",") {
		t.Errorf("two pages by -system_name: %v, want %v", got, desc)
	}
	for q, field := range map[string]string{"q=a%20b": "q", "sort=price": "sort"} {
		if a := b.get("/assets?" + q); a.code != 400 || !strings.Contains(a.body, `id="err-`+field+`"`) {
			t.Errorf("%s: %d\n%.2500s", q, a.code, a.body)
		}
	}
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// TestDelegationOnAssetPage: the asset page shows each name's DNS-01
// delegation: the CNAME chain and zone, or the API's reason.
func TestDelegationOnAssetPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.login("dev")
	a := b.get("/assets/web01.example.com")
	if a.code != 200 || !strings.Contains(a.body, "<code>acme.example.net</code>") || !strings.Contains(a.body, "alias.example.org: _acme-challenge.alias.example.org has no CNAME") ||
		!strings.Contains(a.body, "<code>_acme-challenge.web01.example.com</code> → <code>_acme-challenge.web01.example.com.acme.example.net</code>") {
		t.Errorf("delegation on the asset page:\n%.5000s", a.body)
	}
}
