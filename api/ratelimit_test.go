package api_test

import (
	"strings"
	"testing"
)

// Failed logins are throttled per user name: after 10 failures even the
// right password gets 429 with Retry-After, and other users are not held up.
func TestLoginThrottled(t *testing.T) {
	srv, _ := newServer(t)
	for i := range 10 {
		if code, _, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"guess`+string(rune('a'+i))+`"}`); code != 401 {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	code, body, h := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!"}`)
	if code != 429 || h.Get("Retry-After") == "" || !strings.Contains(body, "too many failed logins") {
		t.Errorf("after 10 failures: %d %s Retry-After %q", code, body, h.Get("Retry-After"))
	}
	// Another name from the same address still gets its normal answer.
	if code, _, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"other","password":"x"}`); code != 401 {
		t.Errorf("other user: %d", code)
	}
}

func TestBodyTooLarge(t *testing.T) {
	srv, _ := newServer(t)
	big := `{"username":"admin","password":"` + strings.Repeat("x", 2<<20) + `"}`
	if code, body, _ := call(t, srv, "POST", "/user/v1/authenticate", big); code != 413 {
		t.Errorf("2 MiB body: %d %.200s", code, body)
	}
	// Raw-body endpoints too.
	_, body, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!"}`)
	tok := body[strings.Index(body, "Bearer "):strings.LastIndex(body, `"`)]
	if code, b, _ := request(t, srv, "POST", "/api/v1/assets", `{"system_name":"`+strings.Repeat("a", 2<<20)+`"}`, tok); code != 413 {
		t.Errorf("2 MiB asset: %d %.300s", code, b)
	}
}
