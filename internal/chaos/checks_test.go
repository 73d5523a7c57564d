package chaos

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// maxRecovery is how soon a killed replica's rotations must run again
// elsewhere, and a restarted server's own (the issue: within 60 s).
const maxRecovery = 60 * time.Second

// history is one asset's rotation as the database tells it.
type history struct {
	rot      *ottr.Rotation // with its log
	attempts []time.Time    // when each "attempt N started" line was written
}

// histories loads the rotation of each asset (the test asks for exactly
// one each) with its log. An asset with none or several is an error.
func histories(t testing.TB, db *store.DB, names []string) map[string]*history {
	t.Helper()
	out := map[string]*history{}
	for _, n := range names {
		rs, _, err := db.FindRotations(t.Context(), ottr.RotationFilter{SystemName: n, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 {
			var ids []string
			for _, r := range rs {
				ids = append(ids, r.ID+" "+string(r.State))
			}
			t.Errorf("%s has %d rotations %v, want exactly the one the test asked for", n, len(rs), ids)
			if len(rs) == 0 {
				continue
			}
		}
		r, err := db.GetRotation(t.Context(), rs[len(rs)-1].ID)
		if err != nil {
			t.Fatal(err)
		}
		h := &history{rot: r}
		for _, l := range r.Log {
			if strings.HasPrefix(l.Message, "attempt ") && strings.HasSuffix(l.Message, " started") {
				h.attempts = append(h.attempts, l.Time)
			}
		}
		out[n] = h
	}
	return out
}

// checkRotated checks every asset ends rotated: its rotation succeeded,
// the asset records the new certificate, and the device serves exactly
// that certificate, issued by the CA, in place of the old one.
func checkRotated(t testing.TB, db *store.DB, f *fleet, hs map[string]*history) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(f.pebble.RootPEM())
	bad := 0
	for _, n := range f.names {
		h := hs[n]
		if h == nil {
			continue
		}
		problem := func(format string, args ...any) {
			bad++
			if bad <= 20 {
				t.Errorf("%s (rotation %s): %s", n, h.rot.ID, fmt.Sprintf(format, args...))
			}
		}
		if h.rot.State != ottr.StateSucceeded {
			// The end of its log says how it got there.
			var tail strings.Builder
			for _, l := range h.rot.Log[max(0, len(h.rot.Log)-25):] {
				fmt.Fprintf(&tail, "\n    %s %-9s %s", l.Time.Format("15:04:05.000"), l.Step, l.Message)
			}
			problem("rotation %s at step %s after %d attempts: %s%s", h.rot.State, h.rot.Step, h.rot.Attempts, h.rot.Error, tail.String())
			continue
		}
		a, err := db.GetAsset(t.Context(), n)
		if err != nil {
			t.Fatal(err)
		}
		if a.LastRotation == nil || a.LastRotation.Status != string(ottr.StateSucceeded) || a.LastRotation.RotationID != h.rot.ID {
			problem("asset's last rotation is %+v, want rotation %s succeeded", a.LastRotation, h.rot.ID)
		}
		chain, err := f.served(n)
		if err != nil {
			problem("reading the served certificate: %v", err)
			continue
		}
		leaf, inter := chain[0], x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		if leaf.Equal(f.old[n]) {
			problem("the device still serves its old certificate")
			continue
		}
		if got := serialHex(leaf.SerialNumber); a.CertificateSerial != got || h.rot.NewSerial != got {
			problem("device serves serial %s; asset records %s, rotation %s", got, a.CertificateSerial, h.rot.NewSerial)
		}
		if a.CertificateExpiration == nil || !a.CertificateExpiration.Equal(leaf.NotAfter.Truncate(time.Second)) {
			problem("device's certificate expires %s; asset records %v", leaf.NotAfter.UTC().Format(time.RFC3339), a.CertificateExpiration)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: n, Intermediates: inter}); err != nil {
			problem("served certificate does not verify against the CA: %v", err)
		}
	}
	if bad > 20 {
		t.Errorf("… %d problems in all", bad)
	}
}

// checkIssued bounds what the CA signed, at most one certificate per asset
// plus extra, and checks every certificate recorded is one it signed. When
// the bound is passed it says where the extra ones went: rotations that
// ordered more than once, and certificates no rotation ever logged (signed
// for an attempt that died or gave up before it read the answer).
func checkIssued(t testing.TB, f *fleet, hs map[string]*history, extra int, why string) {
	t.Helper()
	issued := f.pebble.Issued()
	t.Logf("the CA issued %d certificates for %d assets (%s)", len(issued), len(f.names), why)
	logged := map[string]bool{}
	var twice []string
	for _, n := range f.names {
		h := hs[n]
		if h == nil {
			continue
		}
		if h.rot.NewSerial != "" && !slices.Contains(issued, h.rot.NewSerial) {
			t.Errorf("%s: serial %s is not one the CA issued", n, h.rot.NewSerial)
		}
		logged[h.rot.NewSerial] = true
		var mine []string
		for _, l := range h.rot.Log {
			if s := issuedSerial(l.Message); s != "" {
				logged[s] = true
				mine = append(mine, s+" at "+l.Time.Format("15:04:05.000"))
			}
		}
		if len(mine) > 1 {
			twice = append(twice, n+": "+strings.Join(mine, ", "))
		}
	}
	lost := 0
	for _, s := range issued {
		if !logged[s] {
			lost++
		}
	}
	t.Logf("%d certificates were signed but never logged by a rotation (an attempt died or gave up first); %d rotations ordered more than once", lost, len(twice))
	if len(issued) > len(f.names)+extra {
		t.Errorf("the CA issued %d certificates, want at most %d (assets + %s); %d were never logged by a rotation, and %d rotations ordered more than once:\n%s",
			len(issued), len(f.names)+extra, why, lost, len(twice), strings.Join(twice, "\n"))
	}
}

// issuedSerial is the serial of a rotation log line saying the CA issued
// one ("pebble issued serial 4cf1…, valid until …"), or "".
func issuedSerial(msg string) string {
	_, rest, ok := strings.Cut(msg, " issued serial ")
	if !ok {
		return ""
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[0], ",")
}

// checkOneWorker checks no two jobs worked on one device at once: the
// driver logs in once per attempt, so each API key the device handed out
// is one attempt, and their spans (first to last call) must not overlap.
func checkOneWorker(t testing.TB, f *fleet) {
	t.Helper()
	for _, n := range f.names {
		ss := f.devices[n].Sessions() // oldest first
		for i := 1; i < len(ss); i++ {
			if prev := ss[i-1]; ss[i].First.Before(prev.Last) {
				t.Errorf("%s: %s logged in at %s while %s (logged in at %s) still worked on it until %s", n,
					ss[i].User, ss[i].First.Format("15:04:05.000"), prev.User, prev.First.Format("15:04:05.000"), prev.Last.Format("15:04:05.000"))
			}
		}
	}
}

// checkResumedFromStep checks no rotation ordered a second certificate
// once one was recorded for it: an attempt after the chain was stored
// installs that chain ("resuming with the certificate already issued").
// A chain is given up only when a failed verification restored the old
// certificate.
func checkResumedFromStep(t testing.TB, hs map[string]*history) (resumed int) {
	t.Helper()
	for n, h := range hs {
		issued := ""
		for _, l := range h.rot.Log {
			switch {
			case strings.Contains(l.Message, "previous certificate restored"):
				issued = ""
			case strings.HasPrefix(l.Message, "resuming with the certificate already issued"):
				resumed++
			case issuedSerial(l.Message) != "":
				s := issuedSerial(l.Message)
				if issued != "" && s != issued {
					t.Errorf("%s: ordered serial %s at %s after serial %s was recorded", n, s, l.Time.Format("15:04:05.000"), issued)
				}
				issued = s
			}
		}
	}
	return resumed
}

// checkLogs checks no server failed on its own between the kills: no run
// logged a panic, a fatal runtime error or a data race.
func checkLogs(t testing.TB, c *cluster) {
	t.Helper()
	for i, r := range c.replicas {
		logs := c.Logs(i)
		for _, bad := range []string{"panic:", "fatal error:", "WARNING: DATA RACE"} {
			if at := strings.Index(logs, bad); at >= 0 {
				t.Errorf("%s logged %q:\n%s", r.name, bad, logs[at:min(len(logs), at+3000)])
			}
		}
	}
}
