package ottr

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Asset is one device with one certificate identity. Its JSON form uses
// Ottr's field names and types, so Ottr's clients and exports work unchanged;
// the fields after Origin are Ottr's additions, which old clients ignore.
type Asset struct {
	SystemName             string   `json:"system_name"`
	CommonName             string   `json:"common_name"`
	SubjectAlternativeName []string `json:"subject_alternative_name"`
	CertificateAuthority   string   `json:"certificate_authority"`
	// CertificateExpiration is nil until the first rotation: nil is due now.
	CertificateExpiration *Time `json:"certificate_expiration"`
	// CertificateValidation says whether to verify the device's TLS
	// certificate when connecting to it ("True"/"False" in JSON, as Ottr).
	CertificateValidation BoolString `json:"certificate_validation"`
	HostPlatform          string     `json:"host_platform"`
	OSVersion             string     `json:"os_version"`
	DeviceModel           string     `json:"device_model"`
	IPAddress             string     `json:"ip_address"`
	DataCenter            string     `json:"data_center"`
	Origin                string     `json:"origin"`

	Labels               map[string]string `json:"labels,omitempty"`
	Port                 int               `json:"port,omitempty"`
	Credential           string            `json:"credential,omitempty"`
	DNSZone              string            `json:"dns_zone,omitempty"`
	LastRotation         *LastRotation     `json:"last_rotation,omitempty"`
	CertificateSerial    string            `json:"certificate_serial,omitempty"`
	CertificateIssuer    string            `json:"certificate_issuer,omitempty"`
	CertificateNotBefore *Time             `json:"certificate_not_before,omitempty"`
	// RenewalWindow is the CA's suggested renewal window for the current
	// certificate (ARI), recorded by rotations and refreshed as the CA
	// asks; nil when the CA gave none, without Start and End while it is
	// still to be learnt. It is output only: the API does not take it
	// from clients.
	RenewalWindow *RenewalWindow `json:"renewal_window,omitempty" readOnly:"true"`
	// Monitored says no route serves the asset, so Ottr does not rotate
	// its certificate: each router pass only reads the certificate the
	// device serves and records it (rotate.Watcher). It is output only.
	Monitored bool `json:"monitored" readOnly:"true"`
	// CertificateObservedAt is when the certificate the device serves was
	// last read by a router pass; nil when it never was (a routed asset's
	// certificate is recorded by its rotations). It is output only.
	CertificateObservedAt *Time `json:"certificate_observed_at,omitempty" readOnly:"true"`
	// ExpiryAlerted is the expiry alert last sent about the recorded
	// certificate of an asset no route serves; nil when none was. It is
	// the watch pass's own state, not part of the asset's JSON.
	ExpiryAlerted *ExpiryAlerted `json:"-"`
}

// Origins Ottr writes into Asset.Origin.
const (
	OriginAPI       = "API"
	OriginImport    = "import"
	OriginCLI       = "cli"
	OriginDiscovery = "discovery"
)

// LastRotation summarises the most recent rotation of an asset.
type LastRotation struct {
	Time       Time   `json:"time"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	RotationID string `json:"rotation_id,omitempty"`
	// Failures counts the rotations that failed in a row, this one
	// included; 0 after a success.
	Failures int `json:"failures,omitempty"`
	// RetryAfter is when the router may start the next rotation after a
	// failure (FailureBackoff); nil when nothing holds it back. A manual
	// rotation or a change to the asset does not wait.
	RetryAfter *Time `json:"retry_after,omitempty"`
}

// ResetBackoff lets the router rotate a again at its next pass: a change
// to the asset may be what its failures needed. The failure count stays,
// so a streak that goes on is not announced again.
func (a *Asset) ResetBackoff() {
	if a.LastRotation != nil {
		a.LastRotation.RetryAfter = nil
	}
}

// MaxFailureBackoff caps how long the router waits after failures.
const MaxFailureBackoff = 24 * time.Hour

// FailureBackoff is how long the router waits before rotating an asset
// again after failures in a row: base (its interval) doubled for each
// failure after the first, at most MaxFailureBackoff. It keeps a device
// that keeps failing from being retried, re-ordered and re-alerted on
// every pass.
func FailureBackoff(base time.Duration, failures int) time.Duration {
	if base <= 0 {
		base = time.Hour
	}
	d := base
	for i := 1; i < failures && d < MaxFailureBackoff; i++ {
		d *= 2
	}
	return min(d, MaxFailureBackoff)
}

// Host is where the device is reached: its ip_address, else its
// system_name.
func (a *Asset) Host() string {
	if a.IPAddress != "" {
		return a.IPAddress
	}
	return a.SystemName
}

// Names returns the asset's certificate names: the common name followed by
// every SAN not equal to it, in order, without duplicates.
func (a *Asset) Names() []string {
	names := []string{a.CommonName}
	seen := map[string]bool{a.CommonName: true}
	for _, n := range a.SubjectAlternativeName {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	return names
}

// Lifetime returns the full lifetime of the current certificate, or 0 when
// it is unknown (no expiry or no not-before recorded).
func (a *Asset) Lifetime() time.Duration {
	if a.CertificateExpiration == nil || a.CertificateNotBefore == nil {
		return 0
	}
	d := a.CertificateExpiration.Sub(a.CertificateNotBefore.Time)
	if d < 0 {
		return 0
	}
	return d
}

// Clone returns a deep copy of a.
func (a *Asset) Clone() *Asset {
	c := *a
	c.SubjectAlternativeName = append([]string(nil), a.SubjectAlternativeName...)
	if a.Labels != nil {
		c.Labels = make(map[string]string, len(a.Labels))
		for k, v := range a.Labels {
			c.Labels[k] = v
		}
	}
	if a.CertificateExpiration != nil {
		t := *a.CertificateExpiration
		c.CertificateExpiration = &t
	}
	if a.CertificateNotBefore != nil {
		t := *a.CertificateNotBefore
		c.CertificateNotBefore = &t
	}
	if a.LastRotation != nil {
		l := *a.LastRotation
		if l.RetryAfter != nil {
			t := *l.RetryAfter
			l.RetryAfter = &t
		}
		c.LastRotation = &l
	}
	if a.RenewalWindow != nil {
		w := *a.RenewalWindow
		c.RenewalWindow = &w
	}
	if a.CertificateObservedAt != nil {
		t := *a.CertificateObservedAt
		c.CertificateObservedAt = &t
	}
	if a.ExpiryAlerted != nil {
		x := *a.ExpiryAlerted
		c.ExpiryAlerted = &x
	}
	return &c
}

// UnmarshalJSON reads an asset as Ottr's API and exports write it: a
// certificate_expiration of "None", "" or null means never rotated, and a
// missing certificate_validation means "True" (Ottr's default for new
// assets).
func (a *Asset) UnmarshalJSON(b []byte) error {
	type plain Asset
	aux := struct {
		*plain
		CertificateExpiration json.RawMessage `json:"certificate_expiration"`
		CertificateValidation json.RawMessage `json:"certificate_validation"`
	}{plain: (*plain)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// The path goes through the embedded alias; callers name
			// the JSON field.
			te.Field = strings.TrimPrefix(te.Field, "plain.")
		}
		return err
	}
	a.CertificateExpiration = nil
	if raw := bytes.TrimSpace(aux.CertificateExpiration); len(raw) > 0 && !isNoneJSON(raw) {
		var t Time
		if err := t.UnmarshalJSON(raw); err != nil {
			return &FieldError{Field: "certificate_expiration", Err: err}
		}
		a.CertificateExpiration = &t
	}
	a.CertificateValidation = true
	if raw := bytes.TrimSpace(aux.CertificateValidation); len(raw) > 0 && string(raw) != "null" {
		if err := a.CertificateValidation.UnmarshalJSON(raw); err != nil {
			return &FieldError{Field: "certificate_validation", Err: err}
		}
	}
	return nil
}

func isNoneJSON(raw []byte) bool {
	switch string(raw) {
	case "null", `""`, `"None"`, `"none"`:
		return true
	}
	return false
}

// FieldError is a decoding error located at one JSON field.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// BoolString is a boolean written as Ottr writes it: the JSON strings
// "True" and "False". It also reads JSON booleans and "true"/"false".
type BoolString bool

// MarshalJSON writes "True" or "False".
func (b BoolString) MarshalJSON() ([]byte, error) {
	if b {
		return []byte(`"True"`), nil
	}
	return []byte(`"False"`), nil
}

// UnmarshalJSON reads "True"/"False" in any case, or a JSON boolean.
func (b *BoolString) UnmarshalJSON(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*b = BoolString(x)
		return nil
	case string:
		p, err := ParseBoolString(x)
		if err != nil {
			return err
		}
		*b = p
		return nil
	}
	return fmt.Errorf(`want "True" or "False", got %s`, bytes.TrimSpace(raw))
}

// ParseBoolString parses "True"/"False" (any case) and the other spellings
// strconv.ParseBool accepts.
func ParseBoolString(s string) (BoolString, error) {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, fmt.Errorf(`want "True" or "False", got %q`, s)
	}
	return BoolString(v), nil
}

// String returns "True" or "False".
func (b BoolString) String() string {
	if b {
		return "True"
	}
	return "False"
}

// AssetFilter selects assets. Set fields are AND-ed; the zero filter selects
// every asset. String fields match exactly, but Query.
type AssetFilter struct {
	SystemName           string
	CommonName           string
	IPAddress            string
	DataCenter           string
	HostPlatform         string
	OSVersion            string
	DeviceModel          string
	Origin               string
	CertificateAuthority string
	// Credential selects the assets whose own credential field names
	// this set (not those whose platform's settings do).
	Credential string
	// Query, when set, selects assets whose system_name, common_name,
	// ip_address or one of whose SANs contains it, in any case. It is a
	// part of a name or an address (Check says what it may hold);
	// surrounding blanks are ignored.
	Query string
	// Sort is the page order, one of AssetSorts; "" is "system_name".
	Sort string
	// DaysUntilExpiration, when set, selects assets with a known expiry
	// that falls before now + that many days (expired ones included), as
	// Ottr's search does.
	DaysUntilExpiration *int
	// Labels selects assets carrying every given key with the given value.
	Labels map[string]string
	// Limit caps the page size; 0 means the store's default.
	Limit int
	// Cursor continues a previous page; it is opaque to callers.
	Cursor string
}

// AssetScan selects assets for a streamed pass over the inventory.
type AssetScan struct {
	// ExpiringBefore, when non-zero, restricts the pass to assets that can
	// be due by then: those without a recorded expiry and, of the others,
	// those without a renewal window (Start and End) expiring before it
	// and those with one whose window starts before WindowStartsBefore. An asset with a window
	// is due only inside it (RenewalPolicy.Due), however near its expiry;
	// a CA may open a window long before the lifetime rule would (on a
	// revocation, say).
	ExpiringBefore time.Time
	// WindowStartsBefore is the instant the router decides at; used with
	// ExpiringBefore, which stands in for it when zero.
	WindowStartsBefore time.Time
	// Brief fills only the fields routing and due selection need:
	// SystemName, CertificateAuthority, CertificateExpiration,
	// CertificateNotBefore, HostPlatform, OSVersion, DeviceModel,
	// LastRotation only with its RetryAfter (nil when none), and
	// RenewalWindow only with Start and End (nil when none).
	Brief bool
}

// AssetStore keeps the inventory.
type AssetStore interface {
	// CreateAsset stores a new asset; ECONFLICT if its system_name exists.
	CreateAsset(ctx context.Context, a *Asset) error
	// GetAsset returns one asset; ENOTFOUND if absent.
	GetAsset(ctx context.Context, systemName string) (*Asset, error)
	// UpdateAsset applies fn to the stored asset inside one transaction and
	// stores the result; ENOTFOUND if absent. fn must not change SystemName.
	// It returns the stored asset.
	UpdateAsset(ctx context.Context, systemName string, fn func(*Asset) error) (*Asset, error)
	// DeleteAsset removes an asset; ENOTFOUND if absent.
	DeleteAsset(ctx context.Context, systemName string) error
	// FindAssets returns one page of assets matching f, in f.Sort's order,
	// and the cursor of the next page ("" on the last page). Following the
	// cursors visits every matching asset once, in that order; a cursor
	// continues only the sort it was issued for (EINVALID otherwise).
	FindAssets(ctx context.Context, f AssetFilter) ([]*Asset, string, error)
	AssetScanner
}

// AssetScanner streams the inventory.
type AssetScanner interface {
	// ScanAssets calls fn for every asset selected by s, streaming; fn's
	// asset is only valid during the call. An error from fn stops the pass
	// and is returned.
	ScanAssets(ctx context.Context, s AssetScan, fn func(*Asset) error) error
}
