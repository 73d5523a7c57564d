package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"golang.org/x/term"
)

// discoverOutput is discover's -o json: the scan as the API answers it,
// and the import's outcomes when there was one.
type discoverOutput struct {
	*ottr.DiscoverResult
	Import *ottr.DiscoveryImportResult `json:"import,omitempty"`
}

// printDiscovery prints what was found and, with an import, what became
// of it.
func (a *app) printDiscovery(res *ottr.DiscoverResult, imp *ottr.DiscoveryImportResult) error {
	if a.json() {
		return writeJSON(a.stdout, discoverOutput{DiscoverResult: res, Import: imp})
	}
	tw := a.table()
	if a.wide() {
		fmt.Fprintln(tw, "ADDRESS\tIP\tTLS\tPLATFORM\tPRODUCT\tDRIVER\tCOMMON_NAME\tDNS_NAMES\tISSUER\tSERIAL\tNOT_BEFORE\tNOT_AFTER\tKEY\tSELF_SIGNED\tTRUSTED\tDELEGATED\tSERVER\tEVIDENCE")
	} else {
		// The evidence does not fit beside the rest: -o wide and -o json
		// give it. The names (or the error) wrap, whole.
		fmt.Fprintln(tw, "ADDRESS\tPLATFORM\tPRODUCT\tEXPIRES\tTRUSTED\tDELEGATED\tNAMES")
	}
	for _, ep := range res.Endpoints {
		fmt.Fprintln(tw, a.endpointRow(ep))
	}
	if len(res.Endpoints) == 0 {
		fmt.Fprintln(tw, "(no TLS endpoint found)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if imp == nil {
		return nil
	}
	head := "Import (dry run: nothing changed; --apply makes these changes):"
	if imp.Applied {
		head = "Import:"
	}
	fmt.Fprintf(a.stdout, "\n%s\n", head)
	tw = a.table()
	fmt.Fprintln(tw, "ADDRESS\tSYSTEM_NAME\tPLATFORM\tACTION\tREASON")
	for _, o := range imp.Outcomes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Address, dash(o.SystemName), dash(o.Platform), o.Action, o.Reason)
	}
	return tw.Flush()
}

// endpointRow is one endpoint's table row.
func (a *app) endpointRow(ep ottr.DiscoveredEndpoint) string {
	c := ep.Certificate
	note := ep.Evidence
	if ep.Error != "" {
		note = ep.Error
	}
	if a.wide() {
		if c == nil {
			return strings.Join([]string{ep.Address, dash(ep.IP), dash(ep.TLSVersion), dash(ep.Platform), dash(ep.Product), dash(ep.Driver),
				"-", "-", "-", "-", "-", "-", "-", "-", "-", delegated(ep), dash(ep.Server), note}, "\t")
		}
		return strings.Join([]string{ep.Address, dash(ep.IP), dash(ep.TLSVersion), dash(ep.Platform), dash(ep.Product), dash(ep.Driver),
			dash(c.CommonName), dash(strings.Join(c.DNSNames, ",")), c.Issuer, c.Serial, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339),
			c.KeyType, yesNo(c.SelfSigned), yesNo(c.Trusted), delegated(ep), dash(ep.Server), note}, "\t")
	}
	if c == nil {
		return strings.Join([]string{ep.Address, "-", "-", "-", "-", "-", "error: " + note}, "\t")
	}
	trusted := yesNo(c.Trusted)
	if c.SelfSigned {
		trusted = "self-signed"
	}
	expires := c.NotAfter.Format(time.DateOnly)
	if c.NotAfter.Before(timeNow()) {
		expires = "expired"
	}
	return strings.Join([]string{ep.Address, dash(ep.Platform), dash(ep.Product), expires, trusted, delegated(ep), dash(certNames(c))}, "\t")
}

// certNames are a certificate's common name and DNS names, each once.
func certNames(c *ottr.DiscoveredCertificate) string {
	var names []string
	for _, n := range append([]string{c.CommonName}, c.DNSNames...) {
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return strings.Join(names, " ")
}

// delegated says how many of an endpoint's names are delegated: "-" when
// not checked.
func delegated(ep ottr.DiscoveredEndpoint) string {
	if len(ep.Delegations) == 0 {
		return "-"
	}
	ok := 0
	for _, d := range ep.Delegations {
		if d.Status == ottr.DelegationOK {
			ok++
		}
	}
	switch ok {
	case len(ep.Delegations):
		return "yes"
	case 0:
		return "no"
	}
	return fmt.Sprintf("%d of %d", ok, len(ep.Delegations))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// scanSummary is the line that ends a scan.
func scanSummary(res *ottr.DiscoverResult, took time.Duration) string {
	s := fmt.Sprintf("scanned %d address(es) in %s: %d TLS endpoint(s)", res.Addresses, took.Round(100*time.Millisecond), len(res.Endpoints))
	if res.TimedOut {
		s += "; the scan's time limit ended it, addresses not tried by then are missing"
	}
	return s
}

// importSummary counts an import's outcomes.
func importSummary(imp *ottr.DiscoveryImportResult) string {
	n := map[string]int{}
	for _, o := range imp.Outcomes {
		n[o.Action]++
	}
	var parts []string
	for _, act := range []string{ottr.ImportAdd, ottr.ImportUpdate, ottr.ImportUnchanged, ottr.ImportExists, ottr.ImportSkip, ottr.ImportRefused} {
		if n[act] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[act], act))
		}
	}
	if len(parts) == 0 {
		parts = []string{"nothing to import"}
	}
	if imp.Applied {
		return "imported: " + strings.Join(parts, ", ")
	}
	return "dry run, nothing changed: " + strings.Join(parts, ", ") + " (--apply makes the changes)"
}

// scanMeter shows a scan's progress on stderr: a bar redrawn in place on
// a terminal, a line every few seconds otherwise, nothing with --quiet.
type scanMeter struct {
	a            *app
	tty          bool
	start, shown time.Time
	total, seen  int
	drawn        bool
}

func (a *app) newScanMeter(total int) *scanMeter {
	m := &scanMeter{a: a, total: total, start: time.Now(), shown: time.Now()}
	if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		m.tty = true
	}
	return m
}

// found counts an endpoint; the scanner calls it and progress one at a
// time.
func (m *scanMeter) found(ottr.DiscoveredEndpoint) { m.seen++ }

func (m *scanMeter) progress(done, total int) {
	if m.a.quiet {
		return
	}
	now := time.Now()
	switch {
	case m.tty && (now.Sub(m.shown) >= 100*time.Millisecond || done == total):
		m.shown, m.drawn = now, true
		const width = 30
		filled := width * done / max(total, 1)
		fmt.Fprintf(m.a.stderr, "\r[%s%s] %d/%d addresses, %d endpoint(s), %s ", strings.Repeat("#", filled), strings.Repeat(".", width-filled),
			done, total, m.seen, now.Sub(m.start).Round(time.Second))
	case !m.tty && now.Sub(m.shown) >= 2*time.Second:
		m.shown = now
		m.a.progress("scanned %d of %d addresses, %d TLS endpoint(s)…", done, total, m.seen)
	}
}

// finish clears the bar and says what the scan came to.
func (m *scanMeter) finish(res *ottr.DiscoverResult) {
	if m.a.quiet || res == nil {
		return
	}
	if m.drawn {
		io.WriteString(m.a.stderr, "\r\033[K")
	}
	m.a.progress("%s", scanSummary(res, time.Since(m.start)))
}
