// Package lighthouse rotates the web and REST API certificate of an
// Opengear Lighthouse (Lighthouse 21.x and later, REST API v3.x; Ottr's
// otter-lighthouse-21x recipe):
//
//  1. POST /api/v3.7/sessions for a session token ("Authorization: Token");
//     when the device answers a later call with 401 "Invalid session ID."
//     (code 43: its session timed out while the CA signed), the driver
//     logs in again once and repeats the call, as Opengear's own client
//     does;
//  2. PUT /services/https with csr "new": the Lighthouse makes an RSA key
//     (2048 by default, or 4096) and a CSR for its common name, with the
//     subject fields (country, state, locality, organization, org_unit,
//     email): each field of the subject setting wins, the rotation's
//     subject (CSRRequest.Subject) fills those it leaves empty, and the
//     request is checked for every one; the key stays on the device. Other
//     key types are refused (key_off_device makes them in Ottr). The CSR
//     is fetched from the link the answer gives (only on the same host);
//  3. PUT /services/https with the full chain and https.csr (the
//     request's fields, without "new"): a PUT without https.csr cancels
//     the pending request, and with it the key. The Lighthouse checks the
//     certificate matches its key, replaces it and restarts its web
//     server; the driver waits until the new certificate is served.
//
// The API has no field for subject alternative names, so the Lighthouse's
// own request carries the common name in the subject only. RFC 8555 allows
// that and Ottr orders it, but some CAs require the name in the SAN
// extension (Pebble does), and an asset with more names is refused with an
// error saying so. With key_off_device Ottr makes the key (ECDSA P-256 by
// default) and a CSR with every name in the SAN extension, keeps the key
// only in memory, and sends it with the certificate over the API's TLS
// connection. A rotation resumed in another process after the key was lost
// fails and the next one starts afresh.
//
// A failure before the Lighthouse accepts a certificate changes nothing it
// serves, and the key it made waits for its certificate, so a retry in any
// process installs it (a key made off the device lives only in the
// process that made it; see above). The device checks a certificate
// matches its key before replacing the pair, so it always serves a pair.
//
// Restore is not possible, so the driver does not implement
// ottr.Restorer: there is one certificate slot, installing replaces the
// key along with the certificate, and the API never returns a key, so the
// previous pair cannot be put back. A failed verification leaves the new
// certificate served and the rotation failed, saying the previous one was
// not restored.
//
// Errors are Lighthouse's envelope ({"error":[{"code","text",…}]}): 401
// is permanent once a fresh login is refused, 400 (the device refused the request) is permanent, 500 "Push
// command failed" and unreachable devices are transient.
//
// Minimum permissions: a Lighthouse user with the Administrator role
// (the HTTPS service settings are administrator-only).
//
// Tested against sim/lighthouse, which follows Opengear's v3.7 RAML and is
// checked with curl, OpenSSL and Opengear's client's re-login rule.
package lighthouse
