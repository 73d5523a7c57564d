// Package discover finds the TLS endpoints of a network and tells what
// they are, so that the devices whose certificates need rotating can be
// added to the inventory.
//
// A scan expands its targets (host names, addresses, host:port pairs,
// CIDR blocks: ParseTargets) into addresses, connects to each, Scanner's
// Concurrency at once, and completes a TLS handshake without verifying,
// recording the chain served. It then sends a few GETs without
// credentials, each of a path a product answers in a way no other does:
// a Redfish service root, the PAN-OS XML API's envelope, iControl REST's
// refusal, NetScaler's NITRO envelope, Lighthouse's and FortiOS's REST
// errors, login pages and Server headers. The first answer that decides
// names the platform, with the evidence. Nothing secret is sent, no
// redirect is followed, every answer is read to a bound. docs/discovery.md
// says what is probed and what the guesses rest on.
//
// The package depends on the root package only; the command line and the
// API (through Service) run it.
package discover
