// Package panos rotates the certificate of a Palo Alto Networks firewall
// (PAN-OS 9.0 and later; Ottr's otter-panos-8x/9x recipes) through the
// XML API at https://<management>/api/:
//
//  1. keygen (or a stored api_key) — the key travels as X-PAN-KEY, never
//     in a URL;
//  2. op "request certificate generate … signed-by external": the firewall
//     makes the key (RSA 2048 by default, as Ottr's panos recipes asked;
//     RSA 3072/4096 or ECDSA P-256/P-384 on request) and a CSR for the
//     common name, every subject alternative name and the request's
//     subject fields (country-code, state, locality, organization,
//     organization-unit); the key never leaves the firewall. The entry is
//     named as Ottr named it, otter_panos_<YYYY_MM_DD> (a random suffix
//     when that name is taken), or <certificate_prefix><time>-<random>. A
//     request that lacks a name or a subject field is deleted and the
//     rotation stops. A subject email is left out (logged): Ottr never sent
//     one to a firewall, and where PAN-OS puts the command's email is not
//     documented;
//  3. export the CSR (pkcs10), which Ottr has signed;
//  4. import the full chain onto that entry (multipart);
//  5. set the SSL/TLS service profile (default "otter", Ottr's; created
//     with TLS 1.2+ if missing) to the new certificate and the management
//     interface to the profile; GlobalProtect portals and gateways that use
//     the profile follow it;
//  6. commit (this administrator's changes when logged in by name) and
//     poll "show jobs" until FIN; FAIL returns the job's detail lines. If
//     binding or the commit fails, the candidate's profile and management
//     interface binding are put back as they were (unset, on a firewall
//     still on its factory certificate), so no later commit pushes the
//     half-done change and the firewall keeps serving what it served;
//  7. wait for the management interface to present the new certificate;
//  8. delete older certificates Ottr made (otter_panos_…) or this driver
//     made (ottr-…, or the certificate_prefix), except the one just
//     replaced, which Restore needs (only the install that replaced it
//     prunes), and any an SSL/TLS service profile still names; a deletion
//     the firewall refuses for other references is logged and skipped.
//     Certificates made by anyone else are never touched.
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
