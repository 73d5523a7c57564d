package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

func (a *app) acmeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acme",
		Short: "Sign certificate requests through the configured ACME CAs",
	}
	cmd.AddCommand(a.acmeIssueCmd())
	return cmd
}

func (a *app) acmeIssueCmd() *cobra.Command {
	var caName, csrPath, outPath string
	var names []string
	cmd := &cobra.Command{
		Use:   "issue --ca NAME --csr FILE [--out FILE]",
		Short: "Get one CSR signed end to end (DNS-01 through the delegate zones)",
		Long: `Get one certificate request signed by a configured CA, as a rotation does:
check the CSR policy, follow every name's _acme-challenge CNAME into a
delegate zone, order, write the TXT records, wait until the zone's
nameservers serve them, validate, download the chain and clean up.

When dns.listen is set, the built-in DNS server runs in this process for the
duration. The chain (leaf first, PEM) goes to --out or stdout; progress and
errors go to stderr. The exit status is non-zero with the reason on failure.`,
		Example: `  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout fw01.key -out fw01.csr -subj /CN=fw01.example.com \
    -addext subjectAltName=DNS:fw01.example.com,DNS:fw01-mgmt.example.com
  ottr acme issue --config ottr.yaml --ca lets_encrypt --csr fw01.csr --out fw01.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if caName == "" || csrPath == "" {
				return usageError{fmt.Errorf("--ca and --csr are required")}
			}
			csr, err := a.readCSR(csrPath)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			c, err := a.config()
			if err != nil {
				return err
			}
			if c.DNS.Listen != "" && c.DNS.builtinZones() {
				srv, err := a.dnsServer(ctx)
				if err != nil {
					return err
				}
				if err := srv.Listen(ctx, c.DNS.Listen); err != nil {
					return err
				}
				defer srv.Close()
				a.progress("dns: serving %s on %s", strings.Join(srv.Zones, ", "), srv.Addr())
			}
			is, err := a.issuer(ctx)
			if err != nil {
				return err
			}
			a.progress("acme: ordering %s from %s", strings.Join(ottr.CSRNames(csr), ", "), caName)
			start := time.Now()
			chain, err := is.Issue(ctx, ottr.IssueRequest{CA: caName, CSR: csr, Names: names})
			if err != nil {
				return err
			}
			a.progress("acme: issued serial %x, valid until %s (%s)", chain[0].SerialNumber, chain[0].NotAfter.UTC().Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
			out := ottr.EncodeChain(chain)
			if outPath == "" || outPath == "-" {
				_, err = a.stdout.Write(out)
				return err
			}
			if err := os.WriteFile(outPath, out, 0o644); err != nil {
				return ottr.Errorf(ottr.EINVALID, "--out: %v", err)
			}
			a.progress("acme: chain written to %s", outPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&caName, "ca", "", "name of a CA under certificate_authorities")
	f.StringVar(&csrPath, "csr", "", "certificate request, PEM or DER ('-' reads stdin)")
	f.StringVar(&outPath, "out", "", "write the chain here (PEM, leaf first); default stdout")
	f.StringSliceVar(&names, "names", nil, "names the CSR must ask for exactly (default: the CSR's own)")
	_ = cmd.RegisterFlagCompletionFunc("ca", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		c, err := a.config()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for n := range c.CertificateAuthorities {
			out = append(out, n)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (a *app) readCSR(path string) (*x509.CertificateRequest, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(a.stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "--csr: %v", err)
	}
	blk, _ := pem.Decode(b)
	if blk != nil {
		if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
			return nil, ottr.Errorf(ottr.EINVALID, "--csr %s: the PEM block is a %s; give the device's certificate request (-----BEGIN CERTIFICATE REQUEST-----)", path, blk.Type)
		}
		b = blk.Bytes
	}
	csr, err := x509.ParseCertificateRequest(b)
	if err != nil {
		// x509's text is an ASN.1 structure dump: say what the file
		// is not, and what to give instead.
		if blk != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "--csr %s: the CERTIFICATE REQUEST block does not hold a valid request (%s); generate the CSR again and give the whole file", path, ottr.DescribeX509Error(err))
		}
		return nil, ottr.Errorf(ottr.EINVALID, "--csr %s: not a certificate request, in PEM (-----BEGIN CERTIFICATE REQUEST-----) or DER; give the CSR file the device generated", path)
	}
	return csr, nil
}
