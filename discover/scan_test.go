package discover_test

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/discover"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// TestNothingSecretIsSent: every request discovery makes is a GET with no
// credential, cookie or body, asks to close the connection, and a
// redirect is never followed, to another host or to the same.
func TestNothingSecretIsSent(t *testing.T) {
	var other atomic.Int32
	elsewhere := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { other.Add(1) }))
	defer elsewhere.Close()
	var mu sync.Mutex
	var seen []*http.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Set-Cookie", "session=abc; Secure")
		w.Header().Set("WWW-Authenticate", `Basic realm="somewhere"`)
		if r.URL.Path == "/" {
			http.Redirect(w, r, elsewhere.URL+"/login", http.StatusFound)
			return
		}
		http.Redirect(w, r, "/login", http.StatusFound)
	}))
	defer srv.Close()
	res, err := (&discover.Scanner{Timeout: 2 * time.Second}).Scan(t.Context(), []discover.Target{target(t, srv.Listener.Addr().String())})
	if err != nil || len(res.Endpoints) != 1 {
		t.Fatalf("scan: %v %+v", err, res)
	}
	if ep := res.Endpoints[0]; ep.Platform != "" || ep.Product != ottr.ProductTLS {
		t.Errorf("classified as %q %q: %s", ep.Platform, ep.Product, ep.Evidence)
	}
	if other.Load() != 0 {
		t.Errorf("a redirect to another host was followed")
	}
	mu.Lock()
	defer mu.Unlock()
	var paths []string
	for _, r := range seen {
		paths = append(paths, r.URL.Path)
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" || r.ContentLength > 0 ||
			!r.Close || !strings.HasPrefix(r.UserAgent(), "ottr-discover/") {
			t.Errorf("%s %s with headers %v (length %d, close %v)", r.Method, r.URL, r.Header, r.ContentLength, r.Close)
		}
	}
	if slices.Contains(paths, "/login") {
		t.Errorf("a redirect on the same host was followed: %v", paths)
	}
	if len(paths) != 7 || paths[0] != "/" {
		t.Errorf("requests %v, want GET / and the six probes", paths)
	}
}

// TestSlowEndpointsDoNotStall: listeners that accept and never complete
// a handshake, and a TLS server that never answers HTTP, each cost at
// most their timeouts; the other addresses are scanned meanwhile, with
// the concurrency asked for and no more.
func TestSlowEndpointsDoNotStall(t *testing.T) {
	var stuck []net.Listener
	for range 6 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		stuck = append(stuck, ln)
		go func() {
			var held []net.Conn
			defer func() {
				for _, c := range held {
					c.Close()
				}
			}()
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				held = append(held, c) // says nothing, ever
			}
		}()
	}
	defer func() {
		for _, ln := range stuck {
			ln.Close()
		}
	}()
	ca := testpki.NewCA("Slow CA")
	mute, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.ServerCert()}})
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.(*tls.Conn).Handshake()
				time.Sleep(5 * time.Second) // handshakes, then says nothing
				c.Close()
			}()
		}
	}()
	var fast []discover.Target
	for range 4 {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Header().Set("Server", "nginx") }))
		defer srv.Close()
		fast = append(fast, target(t, srv.Listener.Addr().String()))
	}
	var targets []discover.Target
	for _, ln := range stuck {
		targets = append(targets, target(t, ln.Addr().String()))
	}
	targets = append(targets, target(t, mute.Addr().String()))
	targets = append(targets, fast...)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	targets = append(targets, target(t, closed.Addr().String()))
	closed.Close()

	var inFlight, most atomic.Int32
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	var progress []int
	s := &discover.Scanner{Timeout: 400 * time.Millisecond, Concurrency: 4, Dial: dial,
		Progress: func(done, total int) {
			if total != len(targets) {
				t.Errorf("progress total %d, want %d", total, len(targets))
			}
			progress = append(progress, done)
		}}
	start := time.Now()
	res, err := s.Scan(t.Context(), targets)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	// Six stuck handshakes at 400 ms, four at a time, and the mute
	// server's GET / at most 400 ms after its handshake: about 1.2 s.
	if took > 2500*time.Millisecond {
		t.Errorf("the scan took %v", took)
	}
	if most.Load() > 4 {
		t.Errorf("%d dials at once, want at most 4", most.Load())
	}
	if len(progress) != len(targets) || progress[len(progress)-1] != len(targets) {
		t.Errorf("progress %v", progress)
	}
	byAddr := map[string]ottr.DiscoveredEndpoint{}
	for _, ep := range res.Endpoints {
		byAddr[ep.Address] = ep
	}
	for _, ft := range fast {
		if ep, ok := byAddr[ft.Address()]; !ok || ep.Product != ottr.ProductNginx {
			t.Errorf("%s: %+v", ft.Address(), ep)
		}
	}
	for _, ln := range stuck {
		if ep := byAddr[ln.Addr().String()]; !strings.Contains(ep.Error, "no answer in time") {
			t.Errorf("stuck %s: %+v", ln.Addr(), ep)
		}
	}
	if ep := byAddr[mute.Addr().String()]; ep.Certificate == nil || ep.Product != ottr.ProductTLS || !strings.Contains(ep.Evidence, "no HTTP answer") {
		t.Errorf("mute server: %+v", ep)
	}
	if _, ok := byAddr[targets[len(targets)-1].Address()]; ok {
		t.Errorf("a closed port was reported")
	}
	if len(res.Endpoints) != len(targets)-1 {
		t.Errorf("%d endpoints, want %d", len(res.Endpoints), len(targets)-1)
	}
}

// TestScanDeadline: a scan whose context's deadline ends it returns what
// it found and says it timed out; a cancelled one returns the error.
func TestScanDeadline(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	res, err := (&discover.Scanner{Timeout: 5 * time.Second}).Scan(ctx, []discover.Target{target(t, ln.Addr().String())})
	if err != nil || !res.TimedOut || len(res.Endpoints) != 0 {
		t.Errorf("deadline: %v %+v", err, res)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := (&discover.Scanner{}).Scan(ctx, []discover.Target{target(t, ln.Addr().String())}); err == nil {
		t.Errorf("a cancelled scan returned no error")
	}
}

// TestDelegations: each certificate name's delegation is reported, each
// name asked once however many endpoints serve it; a name that does not
// resolve is reported, a name that is not one (a device's factory CN) is
// not asked.
func TestDelegations(t *testing.T) {
	ca := testpki.NewCA("Delegation CA")
	serve := func(cert tls.Certificate) string {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	leaf := func(cn string, sans ...string) tls.Certificate {
		csr, key := testpki.CSR(cn, sans...)
		chain := ca.Sign(csr, 24*time.Hour)
		return tls.Certificate{Certificate: [][]byte{chain[0].Raw, chain[1].Raw}, PrivateKey: key}
	}
	a := serve(leaf("ok.example.com", "ok.example.com", "missing.example.com", "*.wild.example.com"))
	b := serve(leaf("ok.example.com", "ok.example.com"))
	c := serve(testpki.SelfSigned("PA-VM", "Palo Alto Networks"))
	var mu sync.Mutex
	asked := map[string]int{}
	s := &discover.Scanner{RootCAs: ca.Pool(), Delegate: func(_ context.Context, name string) (ottr.Delegation, error) {
		mu.Lock()
		asked[name]++
		mu.Unlock()
		switch name {
		case "ok.example.com", "wild.example.com":
			return ottr.Delegation{Name: name, Target: "_acme-challenge.ok.acme.example.net"}, nil
		case "missing.example.com":
			return ottr.Delegation{}, ottr.Errorf(ottr.EINVALID, "missing.example.com: _acme-challenge.missing.example.com has no CNAME")
		}
		return ottr.Delegation{}, ottr.Errorf(ottr.EUNAVAILABLE, "resolver 127.0.0.1:1 does not answer")
	}}
	res, err := s.Scan(t.Context(), []discover.Target{target(t, a), target(t, b), target(t, c)})
	if err != nil || len(res.Endpoints) != 3 {
		t.Fatalf("%v %+v", err, res)
	}
	got := map[string][]ottr.NameDelegation{}
	for _, ep := range res.Endpoints {
		got[ep.Address] = ep.Delegations
	}
	want := []ottr.NameDelegation{
		{Name: "ok.example.com", Status: ottr.DelegationOK, Target: "_acme-challenge.ok.acme.example.net"},
		{Name: "missing.example.com", Status: ottr.DelegationMissing, Message: "_acme-challenge.missing.example.com has no CNAME"},
		{Name: "*.wild.example.com", Status: ottr.DelegationOK, Target: "_acme-challenge.ok.acme.example.net"},
	}
	if !slices.Equal(got[a], want) || !slices.Equal(got[b], want[:1]) || len(got[c]) != 0 {
		t.Errorf("delegations:\n%s: %+v\n%s: %+v\n%s: %+v", a, got[a], b, got[b], c, got[c])
	}
	if asked["ok.example.com"] != 1 || asked["PA-VM"] != 0 || asked["pa-vm"] != 0 {
		t.Errorf("asked %v", asked)
	}

	// A name that does not resolve is an endpoint with an error; the
	// scan goes on.
	s = &discover.Scanner{Ports: []int{443}, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}
	}}
	res, err = s.Scan(t.Context(), []discover.Target{{Host: "nowhere.invalid"}})
	if err != nil || len(res.Endpoints) != 1 || res.Endpoints[0].Error != "resolve nowhere.invalid: no such host" || res.Endpoints[0].Address != "nowhere.invalid:443" {
		t.Errorf("unresolvable: %v %+v", err, res)
	}
}
