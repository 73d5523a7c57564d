package ottr

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// RenewalWindow is when a CA suggests renewing a certificate: ACME Renewal
// Information (ARI, RFC 9773). A CA moves the window earlier when the
// certificate must go early (a revocation, a mis-issuance) and spreads a
// fleet's renewals inside it. When an asset has one, the renewal policy
// follows it instead of the lifetime rule (RenewalPolicy.Due).
//
// A RenewalWindow without Start and End is one still to be learnt: the CA
// could not be asked when the certificate was recorded, and is asked again
// at CheckAfter under CertID. The lifetime rule applies meanwhile.
type RenewalWindow struct {
	Start Time `json:"start,omitzero"`
	End   Time `json:"end,omitzero"`
	// ExplanationURL is the CA's page on why the window is where it is;
	// RFC 9773 asks that operators be shown it.
	ExplanationURL string `json:"explanation_url,omitempty"`
	// CertID is the ARI identifier of the certificate the window is for
	// (ARICertID): the window is asked for again under it.
	CertID string `json:"cert_id"`
	// CheckAfter is when the CA's advice is fetched again: the CA's
	// Retry-After, kept between a minute and a day, 6 h when the CA gave
	// none (RFC 9773 §4.3). An issuer returns the CA's own value (zero
	// for none); ScheduleCheck bounds it.
	CheckAfter Time `json:"check_after,omitzero"`
}

// Valid reports why w cannot be used for a certificate expiring at exp
// (nil when it can). RFC 9773 §4.2: a window whose end does not follow
// its start is as if none were given; a window starting after the
// certificate has expired says nothing about renewing it.
func (w RenewalWindow) Valid(exp *Time) error {
	switch {
	case w.Start.IsZero() || w.End.IsZero():
		return fmt.Errorf("renewal window has no start or end")
	case !w.End.After(w.Start.Time):
		return fmt.Errorf("renewal window ends (%s) before it starts (%s)", w.End, w.Start)
	case exp != nil && !w.Start.Before(exp.Time):
		return fmt.Errorf("renewal window starts (%s) after the certificate expires (%s)", w.Start, exp)
	}
	return nil
}

// Window-check bounds of RFC 9773 §4.3.
const (
	MinRenewalCheck     = time.Minute
	MaxRenewalCheck     = 24 * time.Hour
	DefaultRenewalCheck = 6 * time.Hour
)

// ScheduleCheck sets w.CheckAfter from the CA's Retry-After (w.CheckAfter
// as the issuer returned it) fetched at now: values under a minute count
// as a minute, over a day as a day, none as 6 h.
func (w *RenewalWindow) ScheduleCheck(now time.Time) {
	d := DefaultRenewalCheck
	if !w.CheckAfter.IsZero() {
		d = min(max(w.CheckAfter.Sub(now), MinRenewalCheck), MaxRenewalCheck)
	}
	w.CheckAfter = *NewTime(now.Add(d))
}

// RenewalWindowIssuer is implemented by Issuers whose CAs answer ARI. The
// rotation pipeline asks it once a certificate is recorded, and the window
// refresh asks it again when CheckAfter has passed.
type RenewalWindowIssuer interface {
	// RenewalWindow returns ca's suggested window for the certificate
	// with ARI identifier certID, with CheckAfter set to the CA's
	// Retry-After (zero when it sent none). A CA that does not offer ARI
	// gives an EINVALID error; one that cannot be reached EUNAVAILABLE.
	RenewalWindow(ctx context.Context, ca, certID string) (RenewalWindow, error)
}

// ARICertID returns the ARI identifier of leaf (RFC 9773 §4.1): the
// base64url of its Authority Key Identifier, a period, and the base64url of
// the DER content octets of its serial number.
func ARICertID(leaf *x509.Certificate) (string, error) {
	if leaf == nil || len(leaf.AuthorityKeyId) == 0 {
		return "", fmt.Errorf("certificate has no authority key identifier")
	}
	if leaf.SerialNumber == nil {
		return "", fmt.Errorf("certificate has no serial number")
	}
	// asn1 keeps the leading zero byte a serial with its top bit set
	// needs to stay positive; big.Int.Bytes drops it.
	der, err := asn1.Marshal(leaf.SerialNumber)
	if err != nil || len(der) < 3 {
		return "", fmt.Errorf("certificate serial number cannot be encoded")
	}
	return base64.RawURLEncoding.EncodeToString(leaf.AuthorityKeyId) + "." + base64.RawURLEncoding.EncodeToString(der[2:]), nil
}

// ParseARICertID returns the authority key identifier and serial number an
// ARI identifier names: a certificate carrying only those fields is enough
// for ARICertID and for clients that derive the identifier themselves.
func ParseARICertID(id string) (*x509.Certificate, error) {
	akiPart, serialPart, ok := strings.Cut(id, ".")
	aki, err1 := base64.RawURLEncoding.DecodeString(akiPart)
	serial, err2 := base64.RawURLEncoding.DecodeString(serialPart)
	if !ok || err1 != nil || err2 != nil || len(aki) == 0 || len(serial) == 0 {
		return nil, Errorf(EINVALID, "%q is not an ARI certificate identifier (base64url AKI, '.', base64url serial)", id)
	}
	// The content octets are two's complement; certificate serials are
	// positive, so a leading 0x00 (kept for a set top bit) carries no value.
	return &x509.Certificate{AuthorityKeyId: aki, SerialNumber: new(big.Int).SetBytes(serial)}, nil
}

// RenewalWindowFinder finds the renewal windows due to be asked for again.
type RenewalWindowFinder interface {
	// RenewalWindowsToCheck returns up to limit assets whose
	// RenewalWindow.CheckAfter is before t, the longest waiting first.
	RenewalWindowsToCheck(ctx context.Context, t time.Time, limit int) ([]*Asset, error)
}
