package api_test

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/discover"
	"github.com/ottr-dev/ottr/internal/testpki"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
)

// TestDiscoverRoute: an ADMIN has the server scan, through the route and
// through the client; the answer lists the endpoints with their
// certificates and platforms, and the scan is audited. Other roles are
// refused, so is a scan out of bounds (each problem naming its field)
// before anything is dialled, and a server without discovery says so.
func TestDiscoverRoute(t *testing.T) {
	db := openStore(t)
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[ottr.Role]string{}
	for _, r := range []ottr.Role{ottr.RoleAdmin, ottr.RolePrivileged} {
		u := &ottr.User{Username: strings.ToLower(string(r)), Role: r, PasswordHash: "x"}
		if err := db.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		tok, err := tk.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		tokens[r] = "Bearer " + tok
	}
	ca := testpki.NewCA("Route CA")
	fw, err := simpanos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	csr, key := testpki.CSR("fw01.example.com", "fw01.example.com")
	chain := ca.Sign(csr, 30*24*time.Hour)
	fw.Preload("corp", "ottr", key, chain)
	web := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Server", "nginx") }))
	web.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCert("web.example.com")}}
	web.StartTLS()
	defer web.Close()

	f, _ := os.Open("../testdata/route.json")
	rt, err := ottr.ParseRouteTable(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	s := &api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test", Routes: rt,
		Discover: (&discover.Service{RootCAs: ca.Pool()}).Discover}
	srv := api.NewCheckedServer(t, s.Handler())
	defer srv.Close()
	body := fmt.Sprintf(`{"targets":[%q,%q],"timeout":3}`, fw.Addr, web.Listener.Addr().String())
	code, out, _ := request(t, srv, "POST", "/api/v1/discover", body, tokens[ottr.RoleAdmin])
	var res ottr.DiscoverResult
	if code != 200 || json.Unmarshal([]byte(out), &res) != nil {
		t.Fatalf("scan: %d %s", code, out)
	}
	if res.Addresses != 2 || len(res.Endpoints) != 2 || res.TimedOut {
		t.Fatalf("scan: %+v", res)
	}
	byAddr := map[string]ottr.DiscoveredEndpoint{}
	for _, ep := range res.Endpoints {
		byAddr[ep.Address] = ep
	}
	if ep := byAddr[fw.Addr]; ep.Platform != "panos" || ep.Certificate == nil || ep.Certificate.CommonName != "fw01.example.com" ||
		ep.Certificate.Serial != fmt.Sprintf("%x", chain[0].SerialNumber) || !ep.Certificate.Trusted {
		t.Errorf("the firewall: %+v", ep)
	}
	if ep := byAddr[web.Listener.Addr().String()]; ep.Product != ottr.ProductNginx || ep.Platform != "" {
		t.Errorf("the web server: %+v", ep)
	}
	ev, _, err := db.FindEvents(t.Context(), ottr.EventFilter{Action: "discovery.scan"})
	if err != nil || len(ev) != 1 || ev[0].Actor != "admin" || !strings.Contains(string(ev[0].After), `"endpoints":2`) {
		t.Errorf("audit: %v %+v", err, ev)
	}

	c := &api.Client{BaseURL: srv.URL, Token: tokens[ottr.RoleAdmin]}
	got, err := c.Discover(t.Context(), ottr.DiscoverRequest{Targets: []string{fw.Addr}, Timeout: 2500 * time.Millisecond})
	if err != nil || len(got.Endpoints) != 1 || got.Endpoints[0].Product != "PAN-OS" {
		t.Errorf("client: %v %+v", err, got)
	}

	if code, out, _ := request(t, srv, "POST", "/api/v1/discover", body, tokens[ottr.RolePrivileged]); code != 403 || !strings.Contains(out, "ADMIN role required") {
		t.Errorf("as PRIVILEGED: %d %s", code, out)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"targets":["10.0.0.0/19"]}`, "targets[0]"},
		{`{"targets":["10.0.0.0/21"],"ports":[443,8443,4443]}`, "6138 addresses"},
		{`{"targets":["10.0.0.1"],"ports":[0]}`, "ports[0]"},
		{`{"targets":["10.0.0.1"],"timeout":11}`, "timeout"},
		{`{"targets":["10.0.0.1"],"concurrency":257}`, "concurrency"},
		{`{"targets":[]}`, "targets"},
		{`{"targets":["not a host"]}`, "targets[0]"},
		{`{"targets":["10.0.0.1"],"via":"x"}`, "via"},
	} {
		code, out, _ := request(t, srv, "POST", "/api/v1/discover", tc.body, tokens[ottr.RoleAdmin])
		if code != 400 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %d %s", tc.body, code, out)
		}
	}
	if _, err := c.Discover(t.Context(), ottr.DiscoverRequest{Targets: []string{"10.0.0.0/8"}}); ottr.ErrorCode(err) != ottr.EINVALID || len(ottr.ErrorProblems(err)) == 0 || ottr.ErrorProblems(err)[0].Field != "targets[0]" {
		t.Errorf("client, too large: %v %+v", err, ottr.ErrorProblems(err))
	}
	if ev, _, _ := db.FindEvents(t.Context(), ottr.EventFilter{Action: "discovery.scan"}); len(ev) != 2 {
		t.Errorf("%d scans audited, want 2 (refused ones are not)", len(ev))
	}

	// What was found becomes assets through the API: a dry run first,
	// then the import, checked against the server's route table.
	eps := res.Endpoints
	o := ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt"}
	dry, err := c.ImportDiscovered(t.Context(), eps, o)
	if err != nil || dry.Applied || len(dry.Outcomes) != 2 {
		t.Fatalf("dry run: %v %+v", err, dry)
	}
	outcome := func(r *ottr.DiscoveryImportResult, addr string) ottr.ImportOutcome {
		for _, o := range r.Outcomes {
			if o.Address == addr {
				return o
			}
		}
		return ottr.ImportOutcome{}
	}
	if o := outcome(dry, fw.Addr); o.Action != ottr.ImportAdd || o.SystemName != "fw01.example.com" {
		t.Errorf("dry run, the firewall: %+v", o)
	}
	if o := outcome(dry, web.Listener.Addr().String()); o.Action != ottr.ImportSkip || !strings.Contains(o.Reason, "no platform guessed (nginx)") {
		t.Errorf("dry run, the web server: %+v", o)
	}
	if _, err := db.GetAsset(t.Context(), "fw01.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Fatalf("a dry run added the firewall: %v", err)
	}
	o.Apply, o.Platform = true, "Ubuntu"
	done, err := c.ImportDiscovered(t.Context(), eps, o)
	if err != nil || !done.Applied {
		t.Fatalf("import: %v %+v", err, done)
	}
	if o := outcome(done, web.Listener.Addr().String()); o.Action != ottr.ImportAdd || o.SystemName != "web.example.com" || o.Platform != "Ubuntu" {
		t.Errorf("the web server, named by its SAN (localhost is no name), with the platform given: %+v", o)
	}
	a, err := db.GetAsset(t.Context(), "fw01.example.com")
	if err != nil || a.Origin != ottr.OriginDiscovery || a.CertificateSerial != fmt.Sprintf("%x", chain[0].SerialNumber) || a.HostPlatform != "panos" ||
		a.CertificateExpiration == nil || !bool(a.CertificateValidation) || a.IPAddress != "127.0.0.1" {
		t.Errorf("the firewall's asset: %v %+v", err, a)
	}
	if ev, _, _ := db.FindEvents(t.Context(), ottr.EventFilter{Action: "asset.create"}); len(ev) != 2 {
		t.Errorf("audit of the import: %d asset.create events, want 2", len(ev))
	}
	again, err := c.ImportDiscovered(t.Context(), []ottr.DiscoveredEndpoint{byAddr[fw.Addr]}, ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt", Apply: true})
	if err != nil || again.Outcomes[0].Action != ottr.ImportExists {
		t.Errorf("again: %v %+v", err, again)
	}
	// Outside the route table's hosted zones: refused, the field named.
	stray := byAddr[fw.Addr]
	cert := *stray.Certificate
	cert.CommonName, cert.DNSNames = "fw9.elsewhere.net", []string{"fw9.elsewhere.net"}
	stray.Certificate = &cert
	refused, err := c.ImportDiscovered(t.Context(), []ottr.DiscoveredEndpoint{stray}, ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt", Apply: true})
	if err != nil || refused.Outcomes[0].Action != ottr.ImportRefused || !strings.Contains(refused.Outcomes[0].Reason, "system_name") ||
		!strings.Contains(refused.Outcomes[0].Reason, "hosted zone") {
		t.Errorf("outside the hosted zones: %v %+v", err, refused)
	}
	if _, err := (&api.Client{BaseURL: srv.URL, Token: tokens[ottr.RolePrivileged]}).ImportDiscovered(t.Context(), eps, o); ottr.ErrorCode(err) != ottr.EFORBIDDEN {
		t.Errorf("import as PRIVILEGED: %v", err)
	}
	if code, out, _ := request(t, srv, "POST", "/api/v1/discover/import", `{"endpoints":[],"certificate_authority":"lets_encrypt"}`, tokens[ottr.RoleAdmin]); code != 400 || !strings.Contains(out, "endpoints") {
		t.Errorf("no endpoints: %d %s", code, out)
	}

	s.Discover = nil
	srv2 := api.NewCheckedServer(t, s.Handler())
	defer srv2.Close()
	if code, out, _ := request(t, srv2, "POST", "/api/v1/discover", body, tokens[ottr.RoleAdmin]); code != 503 || !strings.Contains(out, "no discovery") {
		t.Errorf("without discovery: %d %s", code, out)
	}
}
