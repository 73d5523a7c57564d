package web_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestRolesSeeWhatTheyMayDo: each role's asset page offers only what the
// API lets it do, and a forged post of what is not offered is refused by
// the API's roles (403), changing nothing.
func TestRolesSeeWhatTheyMayDo(t *testing.T) {
	e := newEnv(t, envOptions{})
	page := "/assets/fw01.example.com"
	for _, c := range []struct {
		user                       string
		rotate, edit, valid, admin bool
	}{
		{"dev", false, false, false, false},
		{"priv", true, true, false, false},
		{"admin", true, true, true, true},
	} {
		b := e.browser()
		tok := b.login(c.user)
		a := b.get(page)
		if a.code != 200 {
			t.Fatalf("%s: asset page %d", c.user, a.code)
		}
		for what, want := range map[string]bool{
			`id="rotate"`: c.rotate, `/edit"`: c.edit, `id="delete"`: c.edit, `id="toggle-validation"`: c.valid, `href="/admin/users"`: c.admin,
		} {
			if got := strings.Contains(a.body, what); got != want {
				t.Errorf("%s: page has %s = %v, want %v", c.user, what, got, want)
			}
		}
		if !c.rotate {
			for _, post := range []string{page + "/rotate", page + "/delete", page + "/edit"} {
				if a := b.do("POST", post, url.Values{"csrf": {tok}, "common_name": {"x.example.com"}}); a.code != http.StatusForbidden || !strings.Contains(a.body, "PRIVILEGED role required") {
					t.Errorf("%s: forged POST %s: %d\n%.500s", c.user, post, a.code, a.body)
				}
			}
			if a := b.get("/admin/users"); a.code != http.StatusForbidden || !strings.Contains(a.body, "ADMIN role required") {
				t.Errorf("%s: users page %d", c.user, a.code)
			}
		}
		if !c.valid {
			if a := b.do("POST", page+"/validation", url.Values{"csrf": {tok}, "validate": {"off"}}); a.code != http.StatusForbidden {
				t.Errorf("%s: forged validation change: %d", c.user, a.code)
			}
		}
	}
	if a, _ := e.db.GetAsset(t.Context(), "fw01.example.com"); a == nil || !bool(a.CertificateValidation) || a.CommonName != "fw01.example.com" {
		t.Fatalf("refused posts changed the asset: %+v", a)
	}
	rs, _, _ := e.db.FindRotations(t.Context(), ottr.RotationFilter{})
	if len(rs) != 0 {
		t.Errorf("refused posts started %d rotations", len(rs))
	}

	// The ADMIN turns validation off and on.
	b := e.browser()
	tok := b.login("admin")
	if a := b.do("POST", page+"/validation", url.Values{"csrf": {tok}, "validate": {"off"}}); a.code != http.StatusSeeOther {
		t.Fatalf("validation off: %d %.500s", a.code, a.body)
	}
	if a := b.get(page + "?done=validation-off"); !strings.Contains(a.body, "Certificate validation turned off.") || !strings.Contains(a.body, "is not verified") {
		t.Errorf("page after turning validation off:\n%.3000s", a.body)
	}
	if a, _ := e.db.GetAsset(t.Context(), "fw01.example.com"); bool(a.CertificateValidation) {
		t.Error("validation still on")
	}
}

// TestEditShowsTheAPIsMessagesByTheirFields: a refused edit comes back
// with what was typed and each of the API's problems next to its field;
// a good one is saved and the asset page says so.
func TestEditShowsTheAPIsMessagesByTheirFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("priv")
	form := url.Values{"csrf": {tok}, "common_name": {"fw01.example.com"}, "subject_alternative_name": {"fw01.example.com"},
		"host_platform": {"INVALID"}, "os_version": {"9.1.0"}, "device_model": {"PA-XXXX"}, "ip_address": {"10.0.0.300"},
		"data_center": {"DC1"}, "labels": {"team=netops"}}
	a := b.do("POST", "/assets/fw01.example.com/edit", form)
	if a.code != http.StatusBadRequest {
		t.Fatalf("invalid edit: %d\n%.1500s", a.code, a.body)
	}
	for _, field := range []string{"ip_address", "host_platform"} {
		re := regexp.MustCompile(`(?s)id="e-` + field + `"[^>]*aria-invalid="true".*?<p class="field-error" id="err-` + field + `">([^<]+)</p>`)
		m := re.FindStringSubmatch(a.body)
		if m == nil {
			t.Errorf("no message next to %s:\n%.4000s", field, a.body)
			continue
		}
		t.Logf("%s: %s", field, m[1])
	}
	if !strings.Contains(a.body, "10.0.0.300") || !strings.Contains(a.body, `value="INVALID"`) {
		t.Error("the form lost what was typed")
	}
	// Where a device's credential is sent is the ADMIN's to change; the
	// API says so by the field.
	form.Set("host_platform", "panos")
	form.Set("ip_address", "10.0.0.9")
	a = b.do("POST", "/assets/fw01.example.com/edit", form)
	if a.code != http.StatusForbidden || !regexp.MustCompile(`id="err-ip_address">[^<]*needs ADMIN`).MatchString(a.body) {
		t.Errorf("PRIVILEGED changing the address: %d\n%.3000s", a.code, a.body)
	}
	if got, _ := e.db.GetAsset(t.Context(), "fw01.example.com"); got.HostPlatform != "panos" {
		t.Fatalf("refused edit changed the asset: %+v", got)
	}
	if a := b.do("POST", "/assets/fw01.example.com/edit", url.Values{"csrf": {tok}, "common_name": {"fw01.example.com"}, "port": {"https"}}); a.code != 400 || !strings.Contains(a.body, `id="err-port"`) {
		t.Errorf("port that is not a number: %d", a.code)
	}

	b = e.browser()
	form.Set("csrf", b.login("admin"))
	form.Set("labels", "team=netops\nenv=prod")
	a = b.do("POST", "/assets/fw01.example.com/edit", form)
	if a.code != http.StatusSeeOther || a.h.Get("Location") != "/assets/fw01.example.com?done=saved" {
		t.Fatalf("valid edit: %d %q\n%.1500s", a.code, a.h.Get("Location"), a.body)
	}
	got, _ := e.db.GetAsset(t.Context(), "fw01.example.com")
	if got.IPAddress != "10.0.0.9" || got.Labels["env"] != "prod" || got.Labels["team"] != "netops" {
		t.Errorf("saved: %+v", got)
	}
	if p := b.get("/assets/fw01.example.com?done=saved"); !strings.Contains(p.body, "Changes saved.") || !strings.Contains(p.body, "env=prod") {
		t.Error("asset page after saving")
	}
	// The edit form shows the asset as stored.
	if p := b.get("/assets/fw01.example.com/edit"); !strings.Contains(p.body, `value="10.0.0.9"`) || !strings.Contains(p.body, "env=prod\nteam=netops") {
		t.Errorf("edit form:\n%.3000s", p.body)
	}
}

// TestAssetSearchPages: the list pages through the API's cursors without
// loading everything, every asset shown once; filters and labels narrow
// it, and a bad filter is shown next to its field.
func TestAssetSearchPages(t *testing.T) {
	e := newEnv(t, envOptions{assets: 120})
	b := e.browser()
	b.login("dev")
	seen := map[string]bool{}
	next := "/assets?limit=50&data_center=DC3"
	pages := 0
	rowRE := regexp.MustCompile(`href="/assets/(host\d+\.example\.com)"`)
	for next != "" {
		a := b.get(next)
		if a.code != 200 {
			t.Fatalf("%s: %d", next, a.code)
		}
		pages++
		rows := rowRE.FindAllStringSubmatch(a.body, -1)
		if len(rows) > 50 {
			t.Fatalf("page of %d rows, asked for 50", len(rows))
		}
		for _, m := range rows {
			if seen[m[1]] {
				t.Errorf("%s shown twice", m[1])
			}
			seen[m[1]] = true
		}
		next = ""
		if m := regexp.MustCompile(`href="\?([^"]+)" rel="next"`).FindStringSubmatch(a.body); m != nil {
			next = "/assets?" + strings.ReplaceAll(m[1], "&amp;", "&")
			if pages > 1 && !strings.Contains(a.body, "First page") {
				t.Error("no link back to the first page")
			}
		}
	}
	if pages != 3 || len(seen) != 120 {
		t.Errorf("%d pages, %d assets; want 3 and 120", pages, len(seen))
	}
	if a := b.get("/assets?labels=team%3Dnetops"); !strings.Contains(a.body, "fw01.example.com") || strings.Contains(a.body, "lb01.example.com") {
		t.Error("label filter")
	}
	if a := b.get("/assets?days=7"); !strings.Contains(a.body, "lb01.example.com") || strings.Contains(a.body, "fw01.example.com") {
		t.Error("expiry filter")
	}
	for q, field := range map[string]string{"days=soon": "days", "labels=team": "labels", "system_name=" + strings.Repeat("a", 300): "system_name"} {
		a := b.get("/assets?" + q)
		if a.code != 400 || !strings.Contains(a.body, `id="err-`+field+`"`) {
			t.Errorf("%s: %d, no message next to %s\n%.3000s", q, a.code, field, a.body)
		}
	}
}

// sse reads server-sent events from a stream.
type sseEvent struct{ event, id, data string }

func readEvents(t *testing.T, resp *http.Response, until string, limit time.Duration) []sseEvent {
	t.Helper()
	var out []sseEvent
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.event != "" {
					out = append(out, cur)
					if cur.event == until {
						return
					}
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(limit):
		resp.Body.Close()
		<-done
		t.Fatalf("no %q event within %v; got %v", until, limit, out)
	}
	return out
}

// TestRotationLiveLog: a rotation started from its asset's page is shown
// at /rotations/<id> (the notifications' link), whose event stream sends
// each new log line once, in order, with its count as the event ID, the
// state as it changes, and an end event when it finishes. A reconnect
// with Last-Event-ID sends only what came after. One session's open
// streams are bounded.
func TestRotationLiveLog(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("priv")
	a := b.do("POST", "/assets/fw01.example.com/rotate", url.Values{"csrf": {tok}})
	if a.code != http.StatusSeeOther || !strings.HasPrefix(a.h.Get("Location"), "/rotations/") {
		t.Fatalf("rotate: %d %q\n%.800s", a.code, a.h.Get("Location"), a.body)
	}
	page := b.get(a.h.Get("Location"))
	if page.code != 200 || !strings.Contains(page.body, `data-live="1"`) || !strings.Contains(page.body, `http-equiv="refresh"`) {
		t.Fatalf("live rotation page: %d\n%.2000s", page.code, page.body)
	}
	id := strings.TrimPrefix(a.h.Get("Location"), "/rotations/")

	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/rotations/"+id+"/events?after=0", nil)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	evs := readEvents(t, resp, "end", 20*time.Second)
	resp.Body.Close()
	var lines []string
	states := map[string]bool{}
	for _, ev := range evs {
		switch ev.event {
		case "line":
			var l struct{ Message, Step string }
			if err := json.Unmarshal([]byte(ev.data), &l); err != nil {
				t.Fatalf("line data %q: %v", ev.data, err)
			}
			lines = append(lines, l.Message)
			if ev.id != strconv.Itoa(len(lines)) {
				t.Errorf("line %d has ID %q", len(lines), ev.id)
			}
		case "state":
			var s struct {
				State string
				Steps []struct{ Step, Took string }
			}
			json.Unmarshal([]byte(ev.data), &s)
			states[s.State] = true
		}
	}
	if len(lines) != len(ottr.Steps)+1 || lines[0] != "step preflight done" || lines[len(lines)-1] != "rotation succeeded" {
		t.Errorf("lines: %q", lines)
	}
	if !states["running"] || !states["succeeded"] {
		t.Errorf("states seen: %v", states)
	}
	// A reconnect after line 5 gets lines 6 on.
	req, _ = http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/rotations/"+id+"/events", nil)
	req.Header.Set("Last-Event-ID", "5")
	resp, err = b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	evs = readEvents(t, resp, "end", 5*time.Second)
	resp.Body.Close()
	if evs[0].event != "line" || evs[0].id != "6" || !strings.Contains(evs[0].data, "step "+string(ottr.Steps[5])) {
		t.Errorf("after Last-Event-ID 5: first event %+v", evs[0])
	}
	// The finished page shows the issued certificate's serial and each
	// step's timing.
	done := b.get("/rotations/" + id)
	if strings.Contains(done.body, `data-live="1"`) || !strings.Contains(done.body, "succeeded") || strings.Count(done.body, "<tr") < len(ottr.Steps)+1 {
		t.Errorf("finished page:\n%.3000s", done.body)
	}
	asset := b.get("/assets/fw01.example.com")
	if !strings.Contains(asset.body, "ECDSA P-256") && !strings.Contains(asset.body, "RSA ") {
		t.Errorf("asset page shows no key type of the issued certificate:\n%.3000s", asset.body)
	}

	// Bounded: a second live rotation, four streams open, the fifth refused.
	a = b.do("POST", "/assets/lb01.example.com/rotate", url.Values{"csrf": {tok}})
	live := strings.TrimPrefix(a.h.Get("Location"), "/rotations/")
	var open []*http.Response
	for i := range 5 {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/rotations/"+live+"/events", nil)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if i < 4 && resp.StatusCode != 200 || i == 4 && resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("stream %d: %d", i+1, resp.StatusCode)
		}
		open = append(open, resp)
	}
	for _, r := range open {
		r.Body.Close()
	}
	// Signed out, the stream is a 401, not a redirect to a page.
	anon := e.browser()
	if a := anon.get("/rotations/" + live + "/events"); a.code != http.StatusUnauthorized {
		t.Errorf("events without a session: %d", a.code)
	}
}

// TestRotateRefusalIsShown: a rotation the API refuses (the asset has no
// route) is not started; the asset page shows the exact route.json key.
func TestRotateRefusalIsShown(t *testing.T) {
	e := newEnv(t, envOptions{})
	if err := e.db.CreateAsset(t.Context(), &ottr.Asset{SystemName: "fw09.example.com", CommonName: "fw09.example.com",
		SubjectAlternativeName: []string{"fw09.example.com"}, CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "10.2.0"}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	tok := b.login("priv")
	a := b.do("POST", "/assets/fw09.example.com/rotate", url.Values{"csrf": {tok}})
	if a.code != http.StatusBadRequest || !strings.Contains(a.body, "platform.panos.os.10.2.0") || !strings.Contains(a.body, "has no route") {
		t.Errorf("refused rotation: %d\n%.3000s", a.code, a.body)
	}
}

// TestUsersPage: the ADMIN adds and deletes users from the page; the
// API's refusals are shown by their fields.
func TestUsersPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	tok := b.login("admin")
	a := b.do("POST", "/admin/users", url.Values{"csrf": {tok}, "username": {"carol"}, "password": {"C4rol.Passw0rd"}, "role": {"PRIVILEGED"}})
	if a.code != http.StatusSeeOther {
		t.Fatalf("add user: %d\n%.1500s", a.code, a.body)
	}
	if u, err := e.db.GetUser(t.Context(), "carol"); err != nil || u.Role != ottr.RolePrivileged {
		t.Fatalf("carol: %+v %v", u, err)
	}
	if p := b.get("/admin/users?done=user-added"); !strings.Contains(p.body, "User added.") || !strings.Contains(p.body, "carol") {
		t.Error("users page after adding")
	}
	a = b.do("POST", "/admin/users", url.Values{"csrf": {tok}, "username": {"carol"}, "password": {"C4rol.Passw0rd"}, "role": {"DEVELOPER"}})
	if a.code != http.StatusBadRequest || !strings.Contains(a.body, `id="err-username"`) {
		t.Errorf("duplicate user: %d\n%.2000s", a.code, a.body)
	}
	a = b.do("POST", "/admin/users", url.Values{"csrf": {tok}, "username": {"dave"}, "password": {"x"}, "role": {"DEVELOPER"}})
	if a.code != http.StatusBadRequest || !strings.Contains(a.body, `id="err-password"`) {
		t.Errorf("weak password: %d\n%.2000s", a.code, a.body)
	}
	if a := b.do("POST", "/admin/users/carol/delete", url.Values{"csrf": {tok}}); a.code != http.StatusSeeOther {
		t.Errorf("delete: %d", a.code)
	}
	if _, err := e.db.GetUser(t.Context(), "carol"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("carol after delete: %v", err)
	}
}

// TestRouteTablePage: the route table as loaded, each recipe with its
// route.json key.
func TestRouteTablePage(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.login("dev")
	a := b.get("/routes")
	if a.code != 200 || !strings.Contains(a.body, "platform.panos.os.9.1.0.certificate_authority.lets_encrypt") || !strings.Contains(a.body, "otter-panos-9x-lets-encrypt") {
		t.Errorf("routes page: %d\n%.3000s", a.code, a.body)
	}
}

// TestOverviewAndUnrouted: the overview counts assets by state, names the
// failing ones with their reason, shows the expiry histogram and the
// router; the unrouted page names the exact route.json key each lacks.
func TestOverviewAndUnrouted(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.browser()
	b.login("dev")
	a := b.get("/")
	if a.code != 200 {
		t.Fatalf("overview: %d\n%.2000s", a.code, a.body)
	}
	for _, want := range []string{
		`<span class="n">1</span> <span class="label badge state-failing">Failing</span>`,
		`<span class="n">1</span> <span class="label badge state-unrouted">Unrouted</span>`,
		"install: device refused the certificate", `href="/assets/web01.example.com"`,
		"expired", "<progress", "replica-1", "become due within 7 days",
	} {
		if !strings.Contains(a.body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	u := b.get("/unrouted")
	if u.code != 200 || !strings.Contains(u.body, "<code>platform.panos.os.10.2.0</code>") || !strings.Contains(u.body, `href="/assets/fw03.example.com"`) {
		t.Errorf("unrouted page: %d\n%.3000s", u.code, u.body)
	}
}

// TestCancelRotation: a PRIVILEGED user cancels a running rotation from
// its page; the live log ends with the canceled state and who canceled.
// A DEVELOPER's page has no cancel button.
func TestCancelRotation(t *testing.T) {
	e := newEnv(t, envOptions{step: 500 * time.Millisecond})
	b := e.browser()
	tok := b.login("priv")
	a := b.do("POST", "/assets/fw01.example.com/rotate", url.Values{"csrf": {tok}})
	page := a.h.Get("Location")
	if p := b.get(page); !strings.Contains(p.body, `id="cancel"`) {
		t.Fatalf("live rotation page has no cancel button")
	}
	dev := e.browser()
	dev.login("dev")
	if p := dev.get(page); strings.Contains(p.body, `id="cancel"`) {
		t.Error("the developer is offered a cancel button")
	}
	a = b.do("POST", page+"/cancel", url.Values{"csrf": {tok}})
	if a.code != http.StatusSeeOther || a.h.Get("Location") != page+"?done=canceled" {
		t.Fatalf("cancel: %d %q", a.code, a.h.Get("Location"))
	}
	p := b.get(page + "?done=canceled")
	if !strings.Contains(p.body, "Rotation canceled.") || !strings.Contains(p.body, "canceled by priv") || strings.Contains(p.body, `data-live="1"`) {
		t.Errorf("canceled rotation page:\n%.3000s", p.body)
	}
	if a := b.do("POST", page+"/cancel", url.Values{"csrf": {tok}}); a.code != http.StatusConflict || !strings.Contains(a.body, "already canceled") {
		t.Errorf("second cancel: %d\n%.1000s", a.code, a.body)
	}
}
