// Package fortigate rotates the certificate of a Fortinet FortiGate
// (FortiOS 7.0 and later; tested against the 7.4 API) through its REST
// API at https://<administration address>/api/v2/, with a REST API
// administrator's token sent as "Authorization: Bearer <token>" (never in
// a URL) and ?vdom=<vdom> (default root) on every call:
//
//  1. POST monitor/vpn-certificate/csr/generate: the FortiGate makes the
//     key (RSA 2048 by default, as its GUI does; RSA 4096 or EC P-256/P-384
//     on request; FortiOS makes no RSA 3072 keys) and a request whose
//     subject is the common name, with every name as a DNS alternative
//     name and the request's subject fields (countrycode, state, city,
//     org, orgunits, email), in a new local certificate entry of global
//     scope named <certificate_prefix><YYYYMMDD-HHMMSS>-<4 hex digits>
//     (prefix "ottr-" by default). The key never leaves the FortiGate;
//  2. GET cmdb/vpn.certificate/local/<name>: the request is read back and
//     checked for the common name, every name and every subject field; a
//     request lacking one is deleted and the rotation stops before
//     anything is ordered;
//  3. POST monitor/vpn-certificate/local/import with type "local" and the
//     signed chain (leaf and issuers, PEM, base64): FortiOS stores it in
//     the entry holding the request's key. A certificate for a key the
//     FortiGate does not hold is refused before anything changes;
//  4. PUT cmdb/system/global admin-server-cert (bind "admin", the
//     default: the GUI and REST API) and/or cmdb/vpn.ssl/settings
//     servercert (bind "ssl-vpn"). FortiOS applies these at once; there is
//     no commit;
//  5. wait until the administration port (and the SSL-VPN portal, at
//     ssl_vpn_address or on the port vpn.ssl settings names) presents the
//     new certificate: httpsd restarts after the change. If a binding is
//     refused or the certificate is not served in time, the bindings
//     changed are put back, so the FortiGate serves what it served;
//  6. delete the older local certificates with this driver's prefix,
//     except those just replaced (Restore needs them; only the install
//     that replaced them prunes). FortiOS itself refuses to delete a
//     certificate anything uses (error -23: an SSL inspection profile, an
//     IPsec tunnel); that is logged and the certificate kept. Certificates
//     anyone else made, and factory ones, are never touched.
//
// A local certificate entry holds its key, so what the FortiGate serves is
// always a pair. Install is idempotent: a certificate already imported is
// not imported again (a retry after a lost answer recognises FortiOS's -23
// refusal and the entry holding it), and one already bound and served
// changes nothing. Restore binds the entry holding the previous
// certificate again (factory certificates included) and waits until it is
// served, with the same putting back; it finds the entry on the FortiGate,
// so a driver opened in another process restores too, and it may be
// repeated.
//
// Errors come from FortiOS's envelope (status, http_status, error and
// cli_error), whatever the HTTP status: a refused token (401) is
// permanent EUNAUTHORIZED, a refused permission or VDOM (403) permanent
// EFORBIDDEN, a request the API refuses as malformed (400, 405, 424)
// permanent EINVALID; a configuration refusal (HTTP 500 with FortiOS's
// error number and CLI text) and anything else are transient, with the
// device's words kept in the error. The token never appears in an error.
//
// The administration connection is verified against the system roots (or
// the CA's trusted_roots) for the asset's system_name; an asset whose
// certificate_validation is "False" — a FortiGate still on its factory
// certificate — is pinned on first use (the trust check) instead.
//
// Permissions: a REST API administrator (config system api-user, with a
// trusted host for Ottr's address; token from "execute api-user
// generate-key") whose administrator profile grants read-write on System
// (sysgrp: system global, and the certificates, which FortiOS files under
// System > Certificates) and, only when ssl-vpn is bound, on VPN (vpngrp:
// SSL-VPN settings). With VDOMs enabled, the profile's scope must be
// global: the certificates are made in the global scope so that
// admin-server-cert can use them.
//
// Tested against sim/fortigate, which speaks the same API and is itself
// checked with Fortinet's Ansible collection and curl.
package fortigate
