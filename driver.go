package ottr

import (
	"context"
	"crypto/x509"
	"errors"
)

// Driver talks to one device. One is opened per rotation and used by one job.
type Driver interface {
	// Install installs chain on the device, makes it the served certificate
	// and commits. It must be idempotent and must honour ctx cancellation.
	Install(ctx context.Context, chain []*x509.Certificate) error
	// Current returns the chain the device serves now.
	Current(ctx context.Context) ([]*x509.Certificate, error)
}

// CSRRequest says what certificate request a device should make.
type CSRRequest struct {
	CommonName string
	DNSNames   []string
	// KeyType is "rsa2048", "rsa3072", "rsa4096", "p256" or "p384"; ""
	// lets the driver choose its platform's default.
	KeyType string
	// Subject holds the subject fields besides the common name (Ottr's
	// recipes asked for C/ST/L/O/OU); the zero value asks for none.
	Subject Subject
}

// Subject is a CSR's distinguished name besides its common name. Drivers
// put every non-empty field in the request the device makes.
type Subject struct {
	Country            string `yaml:"country" json:"country,omitempty"` // two letters
	State              string `yaml:"state" json:"state,omitempty"`
	Locality           string `yaml:"locality" json:"locality,omitempty"`
	Organization       string `yaml:"organization" json:"organization,omitempty"`
	OrganizationalUnit string `yaml:"organizational_unit" json:"organizational_unit,omitempty"`
	Email              string `yaml:"email" json:"email,omitempty"`
}

// CSRMaker is implemented by drivers whose devices generate the key and CSR
// on the device, so the private key never leaves it.
type CSRMaker interface {
	CSR(ctx context.Context, req CSRRequest) (*x509.CertificateRequest, error)
}

// IssueRequest asks an Issuer for one certificate.
type IssueRequest struct {
	CA  string // name of a configured CA (the asset's certificate_authority)
	CSR *x509.CertificateRequest
	// Names are the asset's names (CN and SANs) the CSR must ask for
	// exactly; empty trusts the CSR's own names.
	Names []string
	// Replaces is the certificate this one renews, when known. It is sent
	// to the CA as the ARI "replaces" field when the same account issued it.
	Replaces *x509.Certificate
	// OnOrder, when set, is called with the URL of the CA's order as soon
	// as the order exists, before the CA is asked to sign: the caller
	// records it, so a crash after signing loses no certificate
	// (OrderResumer).
	OnOrder func(orderURL string)
}

// Issuer gets a CSR signed by a CA and returns the chain, leaf first. The
// CSR must already satisfy the CSR policy (CheckCSR).
type Issuer interface {
	Issue(ctx context.Context, req IssueRequest) ([]*x509.Certificate, error)
}

// OrderResumer is an Issuer that can collect the certificate of an order
// an interrupted attempt had created (IssueRequest.OnOrder). It returns the
// chain when the CA has signed or is signing it (waiting for it), nil when
// the order never got that far (the caller then orders anew), and checks
// the chain against req as Issue does.
type OrderResumer interface {
	ResumeOrder(ctx context.Context, req IssueRequest, orderURL string) ([]*x509.Certificate, error)
}

// Notifier tells people about rotations that failed (and, if configured,
// succeeded).
type Notifier interface {
	Notify(ctx context.Context, r *Rotation, a *Asset) error
}

// Notifiers tells each of its notifiers (nil ones are skipped) and returns
// their errors joined: one channel failing does not silence the others.
type Notifiers []Notifier

// Notify implements Notifier.
func (ns Notifiers) Notify(ctx context.Context, r *Rotation, a *Asset) error {
	var errs []error
	for _, n := range ns {
		if n == nil {
			continue
		}
		if err := n.Notify(ctx, r, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
