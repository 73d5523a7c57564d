// Package memdevice is an in-memory device for benchmarks and tests that
// need many devices: it makes a real key of the requested type (ECDSA
// P-256 by default) and a CSR with the requested subject fields for every
// request, keeps the pending key "on the device", and serves whichever
// chain was installed for its key. No network, no processes.
package memdevice

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"sync"

	"github.com/ottr-dev/ottr"
)

// Device is one simulated device. It implements ottr.Driver, CSRMaker and
// Restorer.
type Device struct {
	mu      sync.Mutex
	pending crypto.Signer
	key     crypto.Signer
	chain   []*x509.Certificate
	prev    []*x509.Certificate
}

var (
	_ ottr.Driver   = (*Device)(nil)
	_ ottr.CSRMaker = (*Device)(nil)
	_ ottr.Restorer = (*Device)(nil)
)

// CSR makes a fresh key and a CSR for the request.
func (d *Device) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	key, err := ottr.NewKey(req.KeyType)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: req.Subject.Name(req.CommonName), DNSNames: req.DNSNames}, key)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.pending = key
	d.mu.Unlock()
	return x509.ParseCertificateRequest(der)
}

// Install serves chain if the device holds its key.
func (d *Device) Install(ctx context.Context, chain []*x509.Certificate) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case len(chain) > 0 && len(d.chain) > 0 && d.chain[0].Equal(chain[0]):
		return nil // idempotent
	case d.pending != nil && len(chain) > 0 && ottr.SamePublicKey(d.pending.Public(), chain[0].PublicKey):
		d.prev, d.chain, d.key, d.pending = d.chain, chain, d.pending, nil
		return nil
	}
	return ottr.Errorf(ottr.EINVALID, "no key on the device matches the certificate")
}

// Current returns the served chain.
func (d *Device) Current(ctx context.Context) ([]*x509.Certificate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.chain == nil {
		return nil, errors.New("no certificate installed")
	}
	return d.chain, nil
}

// Restore puts the previous chain back.
func (d *Device) Restore(ctx context.Context, previous []*x509.Certificate) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prev == nil || !d.prev[0].Equal(previous[0]) {
		return ottr.Errorf(ottr.EINVALID, "previous certificate not kept")
	}
	d.chain = d.prev
	return nil
}
