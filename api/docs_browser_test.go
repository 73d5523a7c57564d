package api_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ottr-dev/ottr/internal/testtool"
)

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
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (apt-get install chromium, or set OTTR_CHROMIUM); CI must run the browser test")
	}
	t.Skip("no Chromium found (apt-get install chromium, or set OTTR_CHROMIUM)")
	return ""
}

// TestDocsPageInChromium loads /docs in headless Chromium and uses it as a
// person would: every operation of /openapi.json is listed, logging in
// through the page fills the token, and a search sent from the page is
// answered 200. The page runs under its CSP (default-src 'self'): any
// script error or blocked load fails the test.
func TestDocsPageInChromium(t *testing.T) {
	testtool.MainPassOnly(t, "it checks what Chromium shows of a static page")
	bin := chromium(t)
	srv, _ := newServer(t)
	_, spec, _ := request(t, srv, "GET", "/openapi.json", "", "")
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	json.Unmarshal([]byte(spec), &doc)
	ops := 0
	for _, item := range doc.Paths {
		ops += len(item)
	}

	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	var mu sync.Mutex
	var problems []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level == cdplog.LevelError {
				problems = append(problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems = append(problems, "console: "+strings.Join(args, " "))
			}
		}
	})

	var info string
	var listed int
	if err := chromedp.Run(ctx,
		chromedp.ActionFunc(func(ctx context.Context) error { return cdplog.Enable().Do(ctx) }),
		chromedp.Navigate(srv.URL+"/docs"),
		chromedp.WaitVisible(`#ops details`, chromedp.ByQuery),
		chromedp.Text(`#info`, &info, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#ops details").length`, &listed),
	); err != nil {
		t.Fatalf("loading /docs: %v", err)
	}
	if !strings.Contains(info, "Ottr") || !strings.Contains(info, "OpenAPI 3.1") {
		t.Errorf("header: %q", info)
	}
	if listed != ops || ops < 20 {
		t.Errorf("%d operations listed, /openapi.json has %d", listed, ops)
	}

	// Log in through the page, then search with the token it kept.
	login := `//details[.//span[@class="p" and text()="/user/v1/authenticate"] and .//span[text()="POST"]]`
	search := `//details[.//span[@class="p" and text()="/api/v1/search"]]`
	var token, result string
	if err := chromedp.Run(ctx,
		chromedp.Click(login+`/summary`, chromedp.BySearch),
		chromedp.SetValue(login+`//textarea`, `{"username":"admin","password":"Passw0rd!"}`, chromedp.BySearch),
		chromedp.Click(login+`//button`, chromedp.BySearch),
		chromedp.Poll(`document.getElementById("token").value.startsWith("Bearer ")`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Value(`#token`, &token, chromedp.ByID),
		chromedp.Click(search+`/summary`, chromedp.BySearch),
		chromedp.Click(search+`//button`, chromedp.BySearch),
		chromedp.Poll(`[...document.querySelectorAll("#ops details")].find(d => d.querySelector("span.p").textContent === "/api/v1/search").querySelector("pre").textContent !== ""`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.TextContent(search+`//pre`, &result, chromedp.BySearch),
	); err != nil {
		t.Fatalf("using /docs: %v", err)
	}
	if !strings.HasPrefix(token, "Bearer ey") {
		t.Errorf("token field %q", token)
	}
	if !strings.HasPrefix(result, "200") || !strings.Contains(result, "[]") {
		t.Errorf("search from the page: %q", result)
	}
	// Add an asset with the body the page fills in, untouched: the
	// document's example, which the API must take.
	add := `//details[.//span[@class="p" and text()="/api/v1/assets"] and .//span[text()="POST"]]`
	var added string
	if err := chromedp.Run(ctx,
		chromedp.Click(add+`/summary`, chromedp.BySearch),
		chromedp.Click(add+`//button`, chromedp.BySearch),
		chromedp.Poll(`[...document.querySelectorAll("#ops details")].find(d => d.querySelector("span.p").textContent === "/api/v1/assets" && d.textContent.includes("POST")).querySelector("pre").textContent !== ""`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.TextContent(add+`//pre`, &added, chromedp.BySearch),
	); err != nil {
		t.Fatalf("adding an asset from /docs: %v", err)
	}
	if !strings.HasPrefix(added, "201") || !strings.Contains(added, `"fw1.example.com"`) {
		t.Errorf("POST /api/v1/assets with the page's example: %q", added)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser: %s", p)
	}
}
