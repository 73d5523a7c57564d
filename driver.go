package ottr

import (
	"context"
	"crypto/x509"
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
	// KeyType is "rsa2048", "rsa4096", "p256" or "p384"; "" lets the
	// driver choose its platform's default.
	KeyType string
}

// CSRMaker is implemented by drivers whose devices generate the key and CSR
// on the device, so the private key never leaves it.
type CSRMaker interface {
	CSR(ctx context.Context, req CSRRequest) (*x509.CertificateRequest, error)
}

// Issuer gets a CSR signed by the named CA and returns the chain, leaf first.
type Issuer interface {
	Issue(ctx context.Context, ca string, csr *x509.CertificateRequest) ([]*x509.Certificate, error)
}

// Notifier tells people about rotations that failed (and, if configured,
// succeeded).
type Notifier interface {
	Notify(ctx context.Context, r *Rotation, a *Asset) error
}
