// Package panos rotates the certificate of a Palo Alto Networks firewall
// (PAN-OS 9.0 and later; Ottr's otter-panos-8x/9x recipes) through the
// XML API at https://<management>/api/:
//
//  1. keygen (or a stored api_key) — the key travels as X-PAN-KEY, never
//     in a URL;
//  2. op "request certificate generate … signed-by external": the firewall
//     makes the key (ECDSA P-256 by default, P-384 or RSA 2048/3072/4096)
//     and a CSR for the common name and every subject alternative name;
//     the key never leaves the firewall. A request that lacks a name is
//     deleted and the rotation stops;
//  3. export the CSR (pkcs10), which Ottr has signed;
//  4. import the full chain onto that entry (multipart);
//  5. set the SSL/TLS service profile (default "ottr", TLS 1.2+) to the
//     new certificate and the management interface to the profile;
//     GlobalProtect portals and gateways that use the profile follow it;
//  6. commit (this administrator's changes when logged in by name) and
//     poll "show jobs" until FIN; FAIL returns the job's detail lines. If
//     binding or the commit fails, the candidate's profile and management
//     interface binding are put back as they were (unset, on a firewall
//     still on its factory certificate), so no later commit pushes the
//     half-done change and the firewall keeps serving what it served;
//  7. wait for the management interface to present the new certificate;
//  8. delete certificates this driver made earlier (named ottr-…), except
//     the one just replaced, which Restore needs (only the install that
//     replaced it prunes); certificates made by anyone else are never
//     touched.
//
// A certificate entry holds its key, so what the firewall serves is always
// a pair. Restore binds the entry holding the previous certificate again
// and commits, with the same putting back on failure; it finds the entry
// on the firewall, so a driver opened in another process restores too, and
// it may be repeated.
//
// Errors come from the response body (status="error" arrives with HTTP
// 200): a refused login or key is permanent, anything else transient, and
// the firewall's own message is kept.
//
// The management connection is verified against the system roots (or the
// CA's trusted_roots) for the asset's system_name; an asset whose
// certificate_validation is "False" — a firewall still on its factory
// self-signed certificate — is reached without verification.
//
// Minimum permissions: an admin role with XML API access to Configuration,
// Operational Requests (request certificate, show jobs), Commit, Import and
// Export, and Web UI/XML API keygen. No other API features are used.
//
// Tested against sim/panos, which speaks the same XML API.
package panos
