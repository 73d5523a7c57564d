package acme_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	acmeproto "github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/store"
)

const zone = "acme.example.test"

// liveZone wraps the delegate zone and remembers which values are in it,
// so tests can assert that nothing is left behind.
type liveZone struct {
	ottr.DNSZone
	mu      sync.Mutex
	live    map[string]int
	written int
	lastAdd time.Time
}

func (z *liveZone) AddTXT(ctx context.Context, name, value string) error {
	z.mu.Lock()
	z.live[name+" "+value]++
	z.written++
	z.mu.Unlock()
	err := z.DNSZone.AddTXT(ctx, name, value)
	z.mu.Lock()
	z.lastAdd = time.Now()
	z.mu.Unlock()
	return err
}

func (z *liveZone) RemoveTXT(ctx context.Context, name, value string) error {
	z.mu.Lock()
	delete(z.live, name+" "+value)
	z.mu.Unlock()
	return z.DNSZone.RemoveTXT(ctx, name, value)
}

func (z *liveZone) left() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	var out []string
	for k := range z.live {
		out = append(out, k)
	}
	return out
}

type env struct {
	db     *store.DB
	res    *dnstest.Resolver
	srv    *ottrdns.Server
	pebble *acmetest.Pebble
	zone   *liveZone
	dns    *ottrdns.Challenges
	log    *bytes.Buffer
}

func newEnv(t *testing.T, po acmetest.Options) *env {
	t.Helper()
	sealer, _ := ottr.NewSealer(bytes.Repeat([]byte{9}, 32))
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, res := dnstest.StartZone(t, db, zone)
	po.Resolver = res.Addr
	p, err := acmetest.Start(po)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	lz := &liveZone{DNSZone: &ottrdns.StoreZone{Store: db}, live: map[string]int{}}
	return &env{
		db: db, res: res, srv: srv, pebble: p, zone: lz, log: &bytes.Buffer{},
		dns: &ottrdns.Challenges{
			Zones:              map[string]ottr.DNSZone{zone: lz},
			Resolvers:          []string{res.Addr},
			Nameservers:        []string{srv.Addr()},
			PropagationTimeout: 5 * time.Second,
		},
	}
}

func (e *env) ca() acme.CA {
	return acme.CA{Directory: e.pebble.Directory, DirectoryCA: e.pebble.TLSRootPEM, TrustedRoots: e.pebble.RootPEM(), Email: "pki@example.com"}
}

func (e *env) issuer(cas map[string]acme.CA) *acme.Issuer {
	return &acme.Issuer{CAs: cas, Secrets: e.db, DNS: e.dns,
		Logger: slog.New(slog.NewTextHandler(e.log, &slog.HandlerOptions{Level: slog.LevelInfo}))}
}

// delegate points every name's _acme-challenge at one target, Ottr's scheme.
func (e *env) delegate(cn string, names ...string) {
	for _, n := range append([]string{cn}, names...) {
		e.res.CNAME("_acme-challenge."+n, ottrdns.SuggestTarget(cn, n, zone))
	}
}

func newCSR(t *testing.T, cn string, sans ...string) (*x509.CertificateRequest, crypto.Signer) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: sans}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(der)
	return csr, key
}

func TestIssueThroughCNAMEChain(t *testing.T) {
	e := newEnv(t, acmetest.Options{})
	cn := "fw01.example.com"
	sans := []string{cn, "fw01-mgmt.example.com", "vpn.example.org"}
	e.delegate(cn, sans[1])
	// The third name reaches the shared target through an extra hop.
	e.res.CNAME("_acme-challenge.vpn.example.org", "_acme-challenge.vpn.alias.example.net")
	e.res.CNAME("_acme-challenge.vpn.alias.example.net", ottrdns.SuggestTarget(cn, "", zone))

	is := e.issuer(map[string]acme.CA{"pebble": e.ca()})
	csr, key := newCSR(t, cn, sans...)
	start := time.Now()
	chain, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr, Names: sans})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("issued in %v", time.Since(start))
	leaf := chain[0]
	slices.Sort(leaf.DNSNames)
	want := slices.Clone(sans)
	slices.Sort(want)
	if !slices.Equal(leaf.DNSNames, want) {
		t.Errorf("leaf names = %v, want %v", leaf.DNSNames, want)
	}
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(key.Public()) {
		t.Error("leaf does not carry the CSR's key")
	}
	if len(chain) < 2 {
		t.Errorf("chain has %d certificates; want leaf and intermediate", len(chain))
	}
	if left := e.zone.left(); len(left) != 0 {
		t.Errorf("TXT records left behind: %v", left)
	}
	if e.zone.written != 3 {
		t.Errorf("wrote %d TXT values, want 3 (one per name)", e.zone.written)
	}
	// Every value was in place before the CA looked up any of them.
	if first := e.res.FirstTXTQuery(); first.IsZero() || !e.zone.lastAdd.Before(first) {
		t.Errorf("CA queried TXT at %v, before the last value was written at %v", first, e.zone.lastAdd)
	}
	if vals, _, _ := e.db.LookupTXT(t.Context(), ottrdns.SuggestTarget(cn, "", zone), time.Now()); len(vals) != 0 {
		t.Errorf("store still serves %v", vals)
	}

	// The account key is stored sealed and reused: a second issuer on the
	// same store (another process, or after a restart) does not register.
	raw, err := e.db.GetSecret(t.Context(), "acme/pebble/account")
	if err != nil || !bytes.Contains(raw, []byte("PRIVATE KEY")) {
		t.Fatalf("account secret: %v", err)
	}
	if n := strings.Count(e.log.String(), "acme account registered"); n != 1 {
		t.Fatalf("registered %d times, want 1", n)
	}
	is2 := e.issuer(map[string]acme.CA{"pebble": e.ca()})
	csr2, _ := newCSR(t, cn, sans...)
	chain2, err := is2.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr2, Names: sans, Replaces: leaf})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(e.log.String(), "acme account registered"); n != 1 {
		t.Errorf("second issuer registered again (%d registrations)", n)
	}
	if chain2[0].SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Error("renewal returned the same certificate")
	}

	// ARI: the CA suggests a renewal window inside the certificate's life.
	w, err := is2.RenewalInfo(t.Context(), "pebble", chain2[0])
	if err != nil {
		t.Fatal(err)
	}
	if w.Start.Before(chain2[0].NotBefore) || !w.End.After(w.Start) || w.End.After(chain2[0].NotAfter) {
		t.Errorf("renewal window %v–%v outside certificate life %v–%v", w.Start, w.End, chain2[0].NotBefore, chain2[0].NotAfter)
	}
	// The same window by the certificate's ARI identifier alone, as the
	// window refresh asks for it from what the asset keeps.
	id, err := ottr.ARICertID(chain2[0])
	if want, _ := acmeproto.ARIUniqueIdentifier(chain2[0]); err != nil || id != want {
		t.Fatalf("ARICertID = %q, %v; acmez says %q", id, err, want)
	}
	ow, err := is2.RenewalWindow(t.Context(), "pebble", id)
	if err != nil {
		t.Fatal(err)
	}
	if !ow.Start.Equal(w.Start.Truncate(time.Second)) || !ow.End.Equal(w.End.Truncate(time.Second)) || ow.CertID != id {
		t.Errorf("RenewalWindow = %+v; RenewalInfo gave %v–%v", ow, w.Start, w.End)
	}
	if _, err := is2.RenewalWindow(t.Context(), "pebble", "not-an-id"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("bad identifier: %v", err)
	}
	if _, err := is2.RenewalWindow(t.Context(), "nope", id); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("unknown CA: %v", err)
	}
}

func TestIssuePreferredChain(t *testing.T) {
	e := newEnv(t, acmetest.Options{AlternateRoots: 1})
	e.delegate("chain.example.com")
	ca := e.ca()
	ca.TrustedRoots = nil
	alt := e.pebble.AlternateRoot(1)
	ca.PreferredChain = alt.Subject.CommonName
	csr, _ := newCSR(t, "chain.example.com", "chain.example.com")
	chain, err := e.issuer(map[string]acme.CA{"pebble": ca}).Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	if top := chain[len(chain)-1]; top.Issuer.CommonName != alt.Subject.CommonName {
		t.Errorf("chain tops out under %q, want the preferred %q", top.Issuer.CommonName, alt.Subject.CommonName)
	}
}

func TestIssueProfile(t *testing.T) {
	e := newEnv(t, acmetest.Options{})
	e.delegate("lb01.example.com")
	ca := e.ca()
	ca.Profile = "shortlived"
	csr, _ := newCSR(t, "lb01.example.com", "lb01.example.com")
	chain, err := e.issuer(map[string]acme.CA{"pebble": ca}).Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr})
	if err != nil {
		t.Fatal(err)
	}
	if life := chain[0].NotAfter.Sub(chain[0].NotBefore); life > 7*24*time.Hour {
		t.Errorf("shortlived profile gave a %v certificate", life)
	}
}

func TestIssueEAB(t *testing.T) {
	hmac := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))
	e := newEnv(t, acmetest.Options{RequireEAB: true, EAB: map[string]string{"kid-1": hmac}})
	e.delegate("fw02.example.com")
	csr, _ := newCSR(t, "fw02.example.com", "fw02.example.com")

	_, err := e.issuer(map[string]acme.CA{"pebble": e.ca()}).Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr})
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "externalAccountRequired") {
		t.Errorf("no EAB: err = %v, want EINVALID externalAccountRequired", err)
	}
	ca := e.ca()
	ca.EAB = acme.EAB{KID: "kid-1", HMACKey: ottr.Secret(hmac)}
	if _, err := e.issuer(map[string]acme.CA{"pebble": ca}).Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr}); err != nil {
		t.Fatalf("with EAB: %v", err)
	}
	if strings.Contains(e.log.String(), hmac) {
		t.Error("EAB HMAC key appears in the log")
	}
}

func TestIssueFailures(t *testing.T) {
	e := newEnv(t, acmetest.Options{Blocked: []string{"blocked.example.com"}})
	cn := "dev.example.com"
	e.delegate(cn)
	e.delegate("blocked.example.com")
	e.res.CNAME("_acme-challenge.foreign.example.com", "_acme-challenge.foreign.elsewhere.example.net")
	e.res.CNAME("_acme-challenge.loop.example.com", "_acme-challenge.loop2.example.com")
	e.res.CNAME("_acme-challenge.loop2.example.com", "_acme-challenge.loop.example.com")

	is := e.issuer(map[string]acme.CA{"pebble": e.ca()})
	cases := []struct {
		name  string
		names []string
		code  string
		want  []string
	}{
		{"CNAME missing", []string{cn, "missing.example.com"}, ottr.EINVALID, []string{"missing.example.com", "has no CNAME"}},
		{"CNAME to a foreign zone", []string{cn, "foreign.example.com"}, ottr.EINVALID, []string{"_acme-challenge.foreign.elsewhere.example.net", "ends outside the delegate zones (" + zone + ")"}},
		{"CNAME loop", []string{cn, "loop.example.com"}, ottr.EINVALID, []string{"CNAME loop"}},
		{"CA rejects", []string{"blocked.example.com"}, ottr.EINVALID, []string{"rejectedIdentifier", "blocked.example.com"}},
		{"unknown CA", []string{cn}, ottr.EINVALID, []string{`"nope" is not configured`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			csr, _ := newCSR(t, tc.names[0], tc.names...)
			caName := "pebble"
			if tc.name == "unknown CA" {
				caName = "nope"
			}
			_, err := is.Issue(t.Context(), ottr.IssueRequest{CA: caName, CSR: csr})
			if ottr.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
			if left := e.zone.left(); len(left) != 0 {
				t.Errorf("TXT records left behind: %v", left)
			}
		})
	}

	t.Run("CSR policy", func(t *testing.T) {
		csr, _ := newCSR(t, cn, cn, "extra.example.com")
		_, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr, Names: []string{cn}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "extra.example.com is not one of") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("TXT not visible in time", func(t *testing.T) {
		// Propagation is checked against a nameserver that never gets the
		// record (a secondary that is not syncing).
		other := &ottrdns.Server{Zones: []string{zone}, Store: emptyStore(t)}
		if err := other.Listen(t.Context(), "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		slow := &ottrdns.Challenges{
			Zones: e.dns.Zones, Resolvers: e.dns.Resolvers,
			Nameservers:        []string{e.srv.Addr(), other.Addr()},
			PropagationTimeout: 300 * time.Millisecond,
		}
		is := &acme.Issuer{CAs: map[string]acme.CA{"pebble": e.ca()}, Secrets: e.db, DNS: slow}
		csr, _ := newCSR(t, cn, cn)
		_, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr})
		if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !strings.Contains(err.Error(), "not visible") || !strings.Contains(err.Error(), other.Addr()) {
			t.Fatalf("err = %v, want EUNAVAILABLE naming %s", err, other.Addr())
		}
		if left := e.zone.left(); len(left) != 0 {
			t.Errorf("TXT records left behind: %v", left)
		}
	})

	t.Run("CA down", func(t *testing.T) {
		down := newEnv(t, acmetest.Options{})
		down.delegate(cn)
		down.pebble.Close()
		csr, _ := newCSR(t, cn, cn)
		_, err := down.issuer(map[string]acme.CA{"pebble": down.ca()}).Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr})
		if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !strings.Contains(err.Error(), "CA pebble") {
			t.Fatalf("err = %v, want EUNAVAILABLE", err)
		}
		if ottr.IsPermanent(err) {
			t.Error("CA down is reported as permanent")
		}
		if left := down.zone.left(); len(left) != 0 {
			t.Errorf("TXT records left behind: %v", left)
		}
	})
}

func emptyStore(t *testing.T) *store.DB { return storetest.Open(t) }
