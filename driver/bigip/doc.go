// Package bigip rotates the certificate of F5 BIG-IP client-ssl profiles
// (BIG-IP 13.1 and later, Ottr's otter-f5-14x recipe) through iControl
// REST:
//
//  1. POST /mgmt/shared/authn/login for a token (renewed once when it
//     expires mid-rotation);
//  2. one call creates the key on the device and a CSR for the common
//     name and every subject alternative name ("create sys crypto key …
//     gen-csr": ECDSA P-256 by default, P-384, RSA 2048/3072/4096); the key
//     never leaves the device, and the configuration is saved so the key
//     (a sys file ssl-key object) survives a reboot before the
//     certificate comes;
//  3. the CSR is copied to the REST bulk area and downloaded (no advanced
//     shell needed, unlike Ottr's util/bash);
//  4. the leaf and the intermediates are uploaded (Content-Range) and
//     installed as <name>.crt and <name>-chain.crt, matching <name>.key;
//     the uploaded files are removed from the REST download area;
//  5. each configured client-ssl profile's certKeyChain is pointed at
//     them — the device checks that the key and the certificate match
//     (the binding is read from certKeyChain; current versions do not
//     return the flat cert/key/chain properties);
//  6. the configuration is saved (sys config save). If a profile refuses
//     or the save fails, the profiles already changed are pointed back
//     and the objects just installed deleted, so the running
//     configuration stays the saved one, serving what it served; the key
//     stays for the retry;
//  7. the driver waits for the virtual server (serve) to present the new
//     certificate;
//  8. ottr- objects from earlier rotations are deleted, except the ones
//     just replaced (Restore binds them again; only the install that
//     replaced them prunes); objects anyone else made are never touched.
//
// Restore binds the objects holding the previous certificate again and
// saves, pointing the profiles back on failure; it finds them on the
// device by the SHA-256 fingerprint each ssl-cert object carries (the
// device does not return the certificate itself), so a driver opened in
// another process restores too, and it may be repeated.
//
// Errors are iControl REST's JSON ({"code","message"}, F5's numbered
// messages kept); 401 is permanent, a 503 "Configuration Utility
// restarting" and everything else transient.
//
// Not done: the management GUI's own certificate (httpd), which BIG-IP
// does not expose through REST (Ottr copied files over SSH); HA config
// sync.
//
// Minimum permissions: a user with the Certificate Manager role on the
// partition plus write access to the client-ssl profiles (Manager), and
// iControl REST access.
//
// Tested against sim/bigip, which speaks the same API.
package bigip
