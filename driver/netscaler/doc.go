// Package netscaler rotates the server certificate of NetScaler ADC
// (formerly Citrix ADC) SSL virtual servers through the NITRO REST API
// (/nitro/v1/config), releases 13.0, 13.1 and 14.1. The key is made on the
// appliance and never leaves it:
//
//  1. POST login for a session (NITRO_AUTH_TOKEN cookie; the password is
//     sent once), renewed once if it expires mid-rotation (errorcode 444
//     or 1027); Close logs out;
//  2. sslrsakey (RSA 2048 by default, 3072, 4096; exponent F4) or
//     sslecdsakey (P-256, P-384) create <prefix><time>-<random>.key in
//     /nsconfig/ssl, and sslcertreq creates <name>.csr with it: the common
//     name, every name as subjectaltname "DNS:a DNS:b", and the subject
//     (country, state and organization, which NITRO requires, locality,
//     organizational unit, email). The request is read back through
//     systemfile and refused, with the key and request deleted, if it
//     lacks a name or a field;
//  3. the certificate is uploaded as <name>.crt (systemfile, base64) and
//     added as the certificate key pair <name> with <name>.key — the
//     appliance checks they match; a certificate already installed as a
//     pair is reused, so a repeated install changes nothing. The key is
//     found by reading this driver's requests back, so a resumed rotation
//     in another process installs onto the same key;
//  4. each intermediate is installed as <prefix>ca-<sha-256 prefix> (or the
//     pair already holding it, whoever made it, is used) and linked
//     (sslcertkey link) after the certificate it issued;
//  5. the pair is bound to every configured SSL virtual server
//     (sslvserver_sslcertkey_binding), replacing the server certificate
//     each had; then nsconfig save. If a binding or the save fails, the
//     virtual servers get their pairs back and what this run made is
//     deleted, so the running configuration is the saved one and serves
//     what it served;
//  6. the driver waits for serve (the first virtual server's VIP) to
//     present the new certificate;
//  7. the request is deleted, and pairs this driver made earlier for the
//     same common name are deleted with their files, except the one just
//     replaced (Restore binds it again); issuer pairs it made go when
//     nothing links to them. Pairs still in use (the appliance refuses:
//     errorcode 1541) and anything without the prefix or for another
//     common name are never touched.
//
// The driver never reads a key file, and never updates a pair in place
// (sslcertkey update): a new pair per rotation keeps the previous one
// whole for Restore, which binds the pair holding the previous
// certificate again and saves, from a freshly opened driver too.
//
// Errors are NITRO's envelope, {"errorcode","message","severity"}, whose
// message and code are kept. A refused login (HTTP 401, errorcode 354) is
// permanent, as is a command the user's command policy does not allow
// (errorcode 2138, or HTTP 403); everything else, including the
// appliance's refusals (HTTP 599), is retried.
//
// Not supported: admin partitions (partition must be empty or
// "default"), SNI certificates, HA or cluster synchronisation (the save is
// on the node addressed; HA pairs propagate it themselves), FIPS and HSM
// keys, encrypted keys.
//
// Minimum permissions: a system user whose command policy allows
// "create ssl rsakey|ecdsakey|certReq", "add|rm|link|show ssl certKey",
// "bind|unbind|show ssl vserver", "save ns config", and systemfile
// (NITRO "add|rm|show system file") on /nsconfig/ssl, e.g. a custom
// policy of ALLOW for
// "^(create ssl (rsakey|ecdsakey|certReq)|(add|rm|link|show) ssl certKey|(bind|unbind|show) ssl vserver|save ns config|(add|rm|show) system file)\s.*".
//
// Tested against sim/netscaler, which speaks the same API.
package netscaler
