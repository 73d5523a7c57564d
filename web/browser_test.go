package web_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/ottr-dev/ottr/internal/testtool"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the README's dashboard screenshots to docs/img")

// chromium finds a headless-capable Chromium: $OTTR_CHROMIUM, then Debian's
// package. Without one the test is skipped, except in CI, where it fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("OTTR_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testtool.Missing(t, "no Chromium found (apt-get install chromium, or set OTTR_CHROMIUM); the dashboard's browser tests need it")
	return ""
}

// artifacts is where screenshots go: $OTTR_ARTIFACTS/dashboard, or a
// temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("OTTR_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "dashboard")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tab is one headless Chromium with its own profile (cookies), watching
// for script errors, console errors and CSP violations.
type tab struct {
	t   *testing.T
	ctx context.Context
	e   *env
	// expected are URLs whose failed loads the test causes on purpose.
	expected []string

	mu       sync.Mutex
	problems []string
}

func (e *env) tab(bin string) *tab {
	t := e.t
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelT)
	tb := &tab{t: t, ctx: ctx, e: e}
	chromedp.ListenTarget(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch ev := ev.(type) {
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError && !tb.isExpected(ev.Entry.URL) {
				tb.problems = append(tb.problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			tb.problems = append(tb.problems, "exception: "+ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				tb.problems = append(tb.problems, "console: "+strings.Join(args, " "))
			}
		case *page.EventJavascriptDialogOpening:
			// The delete forms ask first; the test says yes.
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(true))
		}
	})
	// Every CSP violation is counted by the page itself too, so none can
	// slip by as an unlogged event.
	if err := chromedp.Run(ctx,
		chromedp.ActionFunc(func(ctx context.Context) error { return cdplog.Enable().Do(ctx) }),
		chromedp.ActionFunc(func(ctx context.Context) error {
			_, err := page.AddScriptToEvaluateOnNewDocument(`window.__csp = []; document.addEventListener("securitypolicyviolation", e => window.__csp.push(e.violatedDirective + " " + e.blockedURI));`).Do(ctx)
			return err
		}),
	); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return tb
}

func (tb *tab) isExpected(url string) bool {
	for _, u := range tb.expected {
		if strings.Contains(url, u) {
			return true
		}
	}
	return false
}

func (tb *tab) run(what string, actions ...chromedp.Action) {
	tb.t.Helper()
	if err := chromedp.Run(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// check fails the test for anything the browser reported and for CSP
// violations the page counted.
func (tb *tab) check() {
	tb.t.Helper()
	var csp []string
	_ = chromedp.Run(tb.ctx, chromedp.Evaluate(`window.__csp || []`, &csp))
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, p := range tb.problems {
		tb.t.Errorf("browser: %s", p)
	}
	for _, v := range csp {
		tb.t.Errorf("CSP violation: %s", v)
	}
	tb.problems = nil
}

// login signs in with the keyboard only: the user name field has the
// focus, Tab moves to the password, Enter sends the form.
func (tb *tab) login(user string) {
	tb.t.Helper()
	var focused, after string
	tb.run("login page", chromedp.Navigate(tb.e.srv.URL+"/login"), chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.Evaluate(`document.activeElement.id`, &focused))
	tb.a11y("login")
	if focused != "username" {
		tb.t.Fatalf("login page: focus on %q, want the user name field", focused)
	}
	tb.run("typing", chromedp.KeyEvent(user), chromedp.KeyEvent(kb.Tab), chromedp.Evaluate(`document.activeElement.id`, &after))
	if after != "password" {
		tb.t.Fatalf("Tab from the user name went to %q, want the password", after)
	}
	tb.run("sign in", chromedp.KeyEvent(password+kb.Enter), chromedp.WaitVisible(`form.who`, chromedp.ByQuery))
}

// a11yScript lists what a page gets wrong of the basics: form controls
// without a label, and text whose contrast with its background is under
// 4.5:1 (3:1 for large text), as WCAG 2 computes it.
const a11yScript = `(() => {
  const out = [];
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    if (el.hidden) continue;
    if (!el.labels.length && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")) out.push("no label: " + el.outerHTML.slice(0, 80));
  }
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c; } return [255, 255, 255]; };
  for (const el of document.querySelectorAll("body *")) {
    if (!el.offsetParent && getComputedStyle(el).position !== "fixed") continue;
    if (el.closest(".visually-hidden, .skip")) continue;
    const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim() !== "");
    if (!text) continue;
    const st = getComputedStyle(el);
    const a = lum(rgb(st.color)), b = lum(bg(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(st.fontSize), bold = parseInt(st.fontWeight) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) out.push("contrast " + ratio.toFixed(2) + ": " + el.tagName + " " + el.textContent.trim().slice(0, 40));
  }
  return out;
})()`

// a11y fails the test for the page's missing labels and low contrast.
func (tb *tab) a11y(page string) {
	tb.t.Helper()
	var bad []string
	tb.run("accessibility of "+page, chromedp.Evaluate(a11yScript, &bad))
	for _, b := range bad {
		tb.t.Errorf("%s: %s", page, b)
	}
}

// until waits for a condition that holds only after a reload: an
// evaluation cut off by the navigation is tried again.
func (tb *tab) until(what, cond string, limit time.Duration) {
	tb.t.Helper()
	end := time.Now().Add(limit)
	for {
		var ok bool
		err := chromedp.Run(tb.ctx, chromedp.Evaluate(cond, &ok))
		if err == nil && ok {
			return
		}
		if time.Now().After(end) {
			tb.t.Fatalf("%s: not within %v (%v)", what, limit, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tb *tab) screenshot(dir, name string, width, height int64) []byte {
	tb.t.Helper()
	var png []byte
	tb.run("screenshot "+name, chromedp.EmulateViewport(width, height), chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.run("viewport", chromedp.EmulateViewport(1280, 900))
	return png
}

// TestDashboardInChromium drives the dashboard as people do: each role
// signs in with the keyboard, finds an asset by search, and sees only
// what it may do; the PRIVILEGED user rotates the asset and watches the
// log update live until it finishes; the DEVELOPER's forged post and a
// form without its token, or sent from another site, are refused. No page
// logs an error or breaks its CSP. Screenshots at 1280 px and 390 px go
// to the test's artefacts.
func TestDashboardInChromium(t *testing.T) {
	testtool.MainPassOnly(t, "it checks what Chromium shows; the HTTP tests race the server code it drives")
	bin := chromium(t)
	// Steps slow enough that the page sees several lines arrive while the
	// rotation runs, however loaded the machine.
	e := newEnv(t, envOptions{assets: 30, step: 700 * time.Millisecond})
	dir := artifacts(t)
	t.Logf("screenshots in %s", dir)
	shots := map[string][]byte{}

	// PRIVILEGED: search, rotate, watch.
	p := e.tab(bin)
	p.login("priv")
	p.a11y("overview")
	shots["overview-1280.png"] = p.screenshot(dir, "overview-1280.png", 1280, 900)
	shots["overview-390.png"] = p.screenshot(dir, "overview-390.png", 390, 844)
	var href string
	p.run("search", chromedp.Navigate(e.srv.URL+"/assets"), chromedp.WaitVisible(`#f-q`, chromedp.ByID),
		chromedp.SendKeys(`#f-q`, "FW01"+kb.Enter, chromedp.ByID))
	p.until("search results", `location.search.includes("q=FW01") && document.readyState === "complete"`, 10*time.Second)
	p.a11y("assets")
	var rows int
	p.run("results", chromedp.Evaluate(`document.querySelectorAll("main tbody tr").length`, &rows))
	if rows != 1 {
		t.Errorf("search for fw01 shows %d rows", rows)
	}
	shots["assets-1280.png"] = p.screenshot(dir, "assets-1280.png", 1280, 900)
	p.run("open asset", chromedp.Click(`a[href="/assets/fw01.example.com"]`, chromedp.ByQuery), chromedp.WaitVisible(`#rotate`, chromedp.ByID))
	p.a11y("asset")
	var first int
	var live bool
	p.run("rotate", chromedp.Click(`#rotate`, chromedp.ByID), chromedp.WaitVisible(`#rotation`, chromedp.ByID),
		chromedp.Location(&href),
		chromedp.Evaluate(`document.querySelectorAll("#log li").length`, &first),
		chromedp.Evaluate(`document.getElementById("rotation").hasAttribute("data-live")`, &live))
	if !strings.Contains(href, "/rotations/") || !live {
		t.Fatalf("after rotate: at %s, live %v", href, live)
	}
	// New lines arrive while the page stays the same page: the stream,
	// not a reload, brings them.
	p.run("live lines", chromedp.Evaluate(`window.__samePage = true`, nil),
		chromedp.Poll(fmt.Sprintf(`document.querySelectorAll("#log li").length >= %d && document.getElementById("state").textContent === "running" && window.__samePage === true`, first+3),
			nil, chromedp.WithPollingTimeout(20*time.Second)))
	var stepRows int
	p.run("steps", chromedp.Evaluate(`document.querySelectorAll("#steps tr").length`, &stepRows))
	if stepRows < 3 {
		t.Errorf("step timings show %d rows while running", stepRows)
	}
	shots["rotation-live-390.png"] = p.screenshot(dir, "rotation-live-390.png", 390, 844)
	// When it ends, the page reloads to show the finished rotation.
	p.until("finished", `window.__samePage !== true && document.readyState === "complete" && document.getElementById("state").textContent === "succeeded" && !document.getElementById("rotation").hasAttribute("data-live")`, 30*time.Second)
	var lines, finished string
	p.run("log", chromedp.Text(`#log`, &lines, chromedp.ByID), chromedp.Text(`#finished`, &finished, chromedp.ByID))
	if !strings.Contains(lines, "rotation succeeded") || !strings.Contains(lines, "step verify done") || !strings.Contains(finished, "took") {
		t.Errorf("finished rotation page: log %q, finished %q", lines, finished)
	}
	p.a11y("rotation")
	shots["rotation-1280.png"] = p.screenshot(dir, "rotation-1280.png", 1280, 900)
	p.run("edit form", chromedp.Navigate(e.srv.URL+"/assets/fw01.example.com/edit"), chromedp.WaitVisible(`#e-common_name`, chromedp.ByID))
	p.a11y("edit")
	shots["rotation-390.png"] = p.screenshot(dir, "rotation-390.png", 390, 844)
	p.check()

	// DEVELOPER: sees no buttons; a forged post is refused by the API.
	d := e.tab(bin)
	d.expected = []string{"/assets/fw01.example.com/rotate"}
	d.login("dev")
	var buttons int
	d.run("asset as developer", chromedp.Navigate(e.srv.URL+"/assets/fw01.example.com"), chromedp.WaitVisible(`#h-cert`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll("#rotate, #delete, #toggle-validation, a[href$='/edit']").length`, &buttons))
	if buttons != 0 {
		t.Errorf("developer sees %d rotate/edit/delete/validation controls", buttons)
	}
	var status int
	d.run("forged rotate", chromedp.Evaluate(`fetch("/assets/fw01.example.com/rotate", {method: "POST", body: new URLSearchParams({csrf: document.querySelector("input[name=csrf]").value})}).then(r => r.status)`, &status,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != http.StatusForbidden {
		t.Errorf("developer's forged rotate: %d, want 403", status)
	}
	shots["asset-developer-390.png"] = d.screenshot(dir, "asset-developer-390.png", 390, 844)
	d.check()

	// ADMIN: the users page; a form stripped of its token is refused with
	// a page saying why; a form on another site is refused although it
	// carries a valid token.
	a := e.tab(bin)
	a.expected = []string{"/admin/users", "/assets/lb01.example.com/delete"}
	a.login("admin")
	var refused, tok string
	a.run("users", chromedp.Navigate(e.srv.URL+"/admin/users"), chromedp.WaitVisible(`#u-name`, chromedp.ByID),
		chromedp.Value(`input[name=csrf]`, &tok, chromedp.ByQuery))
	a.a11y("users")
	shots["users-1280.png"] = a.screenshot(dir, "users-1280.png", 1280, 900)
	a.run("add user", chromedp.SendKeys(`#u-name`, "erin", chromedp.ByID), chromedp.SendKeys(`#u-password`, "Er1n.Passw0rd", chromedp.ByID),
		chromedp.SetValue(`#u-role`, "PRIVILEGED", chromedp.ByID), chromedp.Submit(`#u-name`, chromedp.ByID),
		chromedp.WaitVisible(`p.flash`, chromedp.ByQuery))
	if u, err := e.db.GetUser(t.Context(), "erin"); err != nil || u.Role != "PRIVILEGED" {
		t.Errorf("user added from the page: %+v %v", u, err)
	}
	a.run("delete user (confirmed)", chromedp.Click(`button[aria-label="Delete user erin"]`, chromedp.ByQuery))
	a.until("user deleted", `document.querySelector("p.flash") && document.querySelector("p.flash").textContent === "User deleted."`, 10*time.Second)
	if _, err := e.db.GetUser(t.Context(), "erin"); err == nil {
		t.Error("user erin not deleted from the page")
	}
	a.run("form without its token", chromedp.Evaluate(`document.querySelector("form[action='/admin/users'] input[name=csrf]").remove()`, nil),
		chromedp.SendKeys(`#u-name`, "mallory", chromedp.ByID), chromedp.SendKeys(`#u-password`, "M4llory.Passw0rd", chromedp.ByID),
		chromedp.Submit(`#u-name`, chromedp.ByID), chromedp.WaitVisible(`p.error`, chromedp.ByQuery), chromedp.Text(`main`, &refused, chromedp.ByQuery))
	if !strings.Contains(refused, "Request refused") || !strings.Contains(refused, "security token") {
		t.Errorf("form without its token: %q", refused)
	}
	if _, err := e.db.GetUser(t.Context(), "mallory"); err == nil {
		t.Error("a form without its token added a user")
	}
	a.run("role change", chromedp.Navigate(e.srv.URL+"/admin/users"), chromedp.WaitVisible(`#role-dev`, chromedp.ByID),
		chromedp.SetValue(`#role-dev`, "PRIVILEGED", chromedp.ByID), chromedp.Click(`button[aria-label="Change the role of dev"]`, chromedp.ByQuery))
	a.until("role changed", `document.querySelector("p.flash") && document.querySelector("p.flash").textContent === "Role changed."`, 10*time.Second)
	for _, pg := range []struct{ path, ready string }{{"/admin/events", "#ev-actor"}, {"/admin/credentials", "main table"}, {"/account", "#a-password"}, {"/unrouted", "main h1"}, {"/routes", "main table"}, {"/admin/discover", "#d-targets"}} {
		a.run(pg.path, chromedp.Navigate(e.srv.URL+pg.path), chromedp.WaitVisible(pg.ready, chromedp.ByQuery))
		a.a11y(pg.path)
	}
	// The dashboard's own plain-HTTP listener answers no TLS handshake: a
	// result row with its error, and the import form.
	a.run("discovery scan", chromedp.SetValue(`#d-targets`, strings.TrimPrefix(e.srv.URL, "http://"), chromedp.ByID),
		chromedp.Submit(`#d-targets`, chromedp.ByID), chromedp.WaitVisible(`#h-found`, chromedp.ByID), chromedp.WaitVisible(`#d-ca`, chromedp.ByID))
	a.a11y("/admin/discover (scanned)")
	shots["routes-390.png"] = a.screenshot(dir, "routes-390.png", 390, 844)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/assets/lb01.example.com/delete"><input name="csrf" value="%s"></form><script>document.getElementById("f").submit()</script>`, e.srv.URL, tok)
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	a.run("cross-site form", chromedp.Navigate(evilURL), chromedp.WaitVisible(`p.error`, chromedp.ByQuery), chromedp.Text(`main`, &refused, chromedp.ByQuery))
	if !strings.Contains(refused, "sent from another site") {
		t.Errorf("cross-site form: %q", refused)
	}
	if _, err := e.db.GetAsset(t.Context(), "lb01.example.com"); err != nil {
		t.Errorf("a cross-site form deleted the asset: %v", err)
	}
	a.check()

	if *updateScreenshots {
		for src, dst := range map[string]string{"overview-1280.png": "dashboard-overview.png", "rotation-390.png": "dashboard-rotation-phone.png"} {
			if err := os.WriteFile(filepath.Join("..", "docs", "img", dst), shots[src], 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
