package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoDashboard: without --once the demo keeps a server running and
// prints the dashboard's URL and an ADMIN's password; signing in with
// them, the overview, the inventory and the printed rotation page (where
// notifications link) show the demo's data, until Ctrl-C ends it.
func TestDemoDashboard(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"demo"}, func(string) string { return "" }, nil, &out, &errb) }()
	dashRE := regexp.MustCompile(`dashboard +(http://127\.0\.0\.1:\d+)/ +\(user admin, password (\S+)\)`)
	rotRE := regexp.MustCompile(`rotation page +http://127\.0\.0\.1:\d+(/rotations/\S+)`)
	var m, r []string
	for end := time.Now().Add(4 * time.Minute); m == nil || r == nil; {
		select {
		case err := <-done:
			t.Fatalf("demo ended: %v\n%s\n%s", err, out.String(), errb.String())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(end) {
			t.Fatalf("no dashboard URL printed:\n%s", out.String())
		}
		m, r = dashRE.FindStringSubmatch(out.String()), rotRE.FindStringSubmatch(out.String())
	}
	base, pw, rotation := m[1], m[2], r[1]

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	get := func(path string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	login := get("/login?next=" + url.QueryEscape(rotation))
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(login)[1]
	form := url.Values{"csrf": {csrf}, "username": {"admin"}, "password": {pw}, "next": {rotation}}
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != rotation || !strings.Contains(string(b), "fw01.example.com") || !strings.Contains(string(b), "succeeded") {
		t.Fatalf("sign in, then the printed rotation page: %d at %s\n%.2000s", resp.StatusCode, resp.Request.URL, b)
	}
	if p := get("/"); !strings.Contains(p, "Overview") || !strings.Contains(p, "paused") {
		t.Errorf("overview:\n%.2000s", p)
	}
	if p := get("/assets"); !strings.Contains(p, "lb02.example.com") || !strings.Contains(p, "win01.example.com") {
		t.Errorf("assets:\n%.2000s", p)
	}
	if p := get("/unrouted"); !strings.Contains(p, "platform.panos.os.10.2.0") {
		t.Errorf("unrouted:\n%.3000s", p)
	}
	// The demo's devices sign in with stored credential sets, each used
	// by a device the configuration names; no value is shown.
	if p := get("/admin/credentials"); !strings.Contains(p, "<code>demo-panos</code>") || !strings.Contains(p, "asset:fw01.example.com") {
		t.Errorf("credentials:\n%.3000s", p)
	}
	if p := get("/assets/fw01.example.com"); !strings.Contains(p, "DNS-01 delegation") || !strings.Contains(p, "Key type") {
		t.Errorf("asset page:\n%.3000s", p)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo did not stop")
	}
}
