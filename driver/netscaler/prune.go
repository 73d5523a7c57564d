package netscaler

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/ottr-dev/ottr"
)

// cnOf is the common name of a subject as NITRO writes it
// (" C=US,O=Example,CN=www.example.com").
func cnOf(subject string) string {
	for _, part := range strings.Split(subject, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "CN="); ok {
			return v
		}
	}
	return ""
}

// prune deletes what this driver made for the same common name and no
// longer needs: pairs other than keep and prev (bound to nothing: the
// appliance refuses to delete a pair in use, and that refusal is logged
// and skipped), their files, issuer pairs nothing links to any more, and
// keys and requests left by interrupted runs. Pairs and files of other
// common names (other assets on the same appliance, which may be
// rotating now) and anything without the prefix are never touched.
// Failures are logged.
func (d *Driver) prune(ctx context.Context, keep, prev string, leaf *x509.Certificate) {
	pairs, err := d.pairs(ctx)
	if err != nil {
		ottr.Logf(ctx, "warn: listing certificate key pairs to prune: %s", ottr.ErrorMessage(err))
		return
	}
	cn := leaf.Subject.CommonName
	deleted := map[string]bool{}
	remove := func(p pair) {
		if err := d.do(ctx, http.MethodDelete, "sslcertkey/"+url.PathEscape(p.Name), nil, nil); err != nil {
			ottr.Logf(ctx, "warn: deleting certificate key pair %s: %s", p.Name, ottr.ErrorMessage(err))
			return
		}
		deleted[p.Name] = true
		ottr.Logf(ctx, "deleted old certificate key pair %s", p.Name)
		for _, f := range []string{p.Cert, p.Key, strings.TrimSuffix(p.Cert, ".crt") + ".csr"} {
			if f != "" && path.Dir(certPath(f)) == sslDir && strings.HasPrefix(path.Base(f), d.c.Prefix) {
				_ = d.deleteFile(ctx, path.Base(f))
			}
		}
	}
	for _, p := range pairs {
		if strings.HasPrefix(p.Name, d.c.Prefix) && p.Key != "" && p.Name != keep && p.Name != prev && cnOf(p.Subject) == cn {
			remove(p)
		}
	}
	// Issuers this driver installed, once no remaining pair links to them;
	// chains are short, so a few passes free a whole chain.
	for range 4 {
		linked := map[string]bool{}
		for _, p := range pairs {
			if !deleted[p.Name] && p.Link != "" {
				linked[p.Link] = true
			}
		}
		n := len(deleted)
		for _, p := range pairs {
			if strings.HasPrefix(p.Name, d.c.Prefix+"ca-") && p.Key == "" && !deleted[p.Name] && !linked[p.Name] {
				remove(p)
			}
		}
		if len(deleted) == n {
			break
		}
	}
	d.pruneFiles(ctx, pairs, deleted, keep, cn)
	if len(deleted) > 0 {
		if err := d.save(ctx); err != nil {
			ottr.Logf(ctx, "warn: saving after pruning: %s", ottr.ErrorMessage(err))
		}
	}
}

// pruneFiles deletes requests (with their keys) and certificates this
// driver wrote for cn that no pair uses: what an interrupted run left.
func (d *Driver) pruneFiles(ctx context.Context, pairs []pair, deleted map[string]bool, keep, cn string) {
	files, err := d.listFiles(ctx)
	if err != nil {
		return
	}
	used := map[string]bool{}
	for _, p := range pairs {
		if !deleted[p.Name] {
			used[path.Base(p.Cert)], used[path.Base(p.Key)] = true, true
		}
	}
	for _, f := range files {
		base := strings.TrimSuffix(strings.TrimSuffix(f, ".csr"), ".crt")
		if !strings.HasPrefix(f, d.c.Prefix) || used[f] || base == keep || base == f {
			continue
		}
		raw, err := d.readFile(ctx, path.Join(sslDir, f))
		if err != nil {
			continue
		}
		if strings.HasSuffix(f, ".csr") {
			if csr, err := ottr.ParseCSR(raw); err != nil || csr.Subject.CommonName != cn || used[base+".key"] {
				continue
			}
			_ = d.deleteFile(ctx, base+".key")
		} else if chain, err := ottr.ParseChain(raw); err != nil || len(chain) == 0 || chain[0].Subject.CommonName != cn {
			continue
		}
		if d.deleteFile(ctx, f) == nil {
			ottr.Logf(ctx, "deleted %s, left by an earlier run", f)
		}
	}
}
