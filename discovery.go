package ottr

import (
	"context"
	"time"
)

// DiscoverRequest asks for a scan for TLS endpoints: what to scan and how
// hard. The API and the command line take it; the discover package runs
// it.
type DiscoverRequest struct {
	// Targets are host names, IP addresses, host:port pairs and CIDR
	// blocks (10.0.0.0/24, fd00::/120).
	Targets []string `json:"targets"`
	// Ports are tried on every target that names none; empty: 443 and
	// 8443.
	Ports []int `json:"ports,omitempty"`
	// Concurrency bounds the endpoints probed at once (0: the default).
	Concurrency int `json:"concurrency,omitempty"`
	// Timeout bounds each connection, handshake and request (0: the
	// default).
	Timeout time.Duration `json:"-"`
}

// Discoverer runs a scan; met by the discover package, injected into the
// API by the composition root.
type Discoverer func(ctx context.Context, req DiscoverRequest) (*DiscoverResult, error)

// DiscoverResult is what a scan found.
type DiscoverResult struct {
	// Addresses counts the host:port pairs tried.
	Addresses int `json:"addresses"`
	// Endpoints are the addresses that answered a TLS handshake, or where
	// something listens that would not complete one, sorted by address.
	Endpoints []DiscoveredEndpoint `json:"endpoints"`
	// TimedOut says the scan's time limit ended it: the addresses not
	// tried by then are missing from Endpoints.
	TimedOut bool `json:"timed_out,omitempty"`
}

// Discovered platforms that are not an appliance Ottr has a driver for
// are generic TLS servers: their Platform is empty and Product names
// what they are.
const (
	ProductTLS    = "TLS server" // nothing more could be told
	ProductNginx  = "nginx"
	ProductApache = "Apache httpd"
)

// DiscoveredEndpoint is one TLS endpoint a scan found: the certificate it
// serves, what it appears to be and why, and whether its names' DNS-01
// challenges are delegated.
type DiscoveredEndpoint struct {
	// Address is host:port as it was dialled; Host and Port its parts.
	Address string `json:"address"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	// IP is the address connected to.
	IP string `json:"ip,omitempty"`
	// TLSVersion is the negotiated version ("TLS 1.3").
	TLSVersion  string                 `json:"tls_version,omitempty"`
	Certificate *DiscoveredCertificate `json:"certificate,omitempty"`
	// Platform is the host_platform guess (panos, f5, junos, lighthouse,
	// fortigate, netscaler, idrac, ilo, xcc, supermicro, redfish); empty
	// for generic TLS servers and endpoints nothing could be told of.
	Platform string `json:"platform"`
	// Product names what answered: "PAN-OS", "BIG-IP", "Dell iDRAC",
	// "nginx", "TLS server".
	Product string `json:"product,omitempty"`
	// Driver is the driver that would rotate it, when one fits.
	Driver string `json:"driver,omitempty"`
	// Evidence says why: the request and what in its answer decided.
	Evidence string `json:"evidence,omitempty"`
	// Server is the HTTP Server header the endpoint sent, if any.
	Server string `json:"server,omitempty"`
	// Delegations has one entry per DNS name of the certificate when the
	// scan checked delegation; nil when it did not.
	Delegations []NameDelegation `json:"delegations,omitempty"`
	// Error says why nothing more is known: the handshake failed, the
	// name does not resolve.
	Error string `json:"error,omitempty"`
}

// DiscoveredCertificate summarises the certificate an endpoint serves.
type DiscoveredCertificate struct {
	Subject    string `json:"subject"`
	CommonName string `json:"common_name,omitempty"`
	// DNSNames are the DNS subject alternative names; IPAddresses the
	// IP ones.
	DNSNames    []string `json:"dns_names,omitempty"`
	IPAddresses []string `json:"ip_addresses,omitempty"`
	Issuer      string   `json:"issuer"`
	// Serial is hexadecimal, as Ottr records certificate_serial.
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// KeyType is the public key's algorithm and size: "RSA 2048",
	// "ECDSA P-256", "Ed25519".
	KeyType    string `json:"key_type"`
	SelfSigned bool   `json:"self_signed"`
	// Trusted says the chain served verifies against the scan's roots
	// for the name dialled (for an IP address, for any name).
	Trusted bool `json:"trusted"`
	// ChainLength counts the certificates served, the leaf included.
	ChainLength int `json:"chain_length"`
	// SHA256 is the leaf's fingerprint, hexadecimal.
	SHA256 string `json:"sha256"`
}

// Delegation states of a NameDelegation.
const (
	DelegationOK      = "ok"      // the CNAME chain lands in a delegate zone
	DelegationMissing = "missing" // it does not
	DelegationError   = "error"   // DNS could not tell
)

// NameDelegation is whether one certificate name's DNS-01 challenge is
// delegated to a zone Ottr controls.
type NameDelegation struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Target is where the challenge lands when Status is ok.
	Target string `json:"target,omitempty"`
	// Message says what was found otherwise.
	Message string `json:"message,omitempty"`
}
