// Package bigip rotates an F5 BIG-IP's certificates through iControl
// REST (BIG-IP 13.1 and later). It has two targets.
//
// management_gui, the default and what Ottr's otter-f5-14x recipe rotated
// (platforms/f5-14.x/src/app.py), is the certificate of the management
// interface's httpd, which serves the Configuration utility and iControl
// REST alike:
//
//  1. POST /mgmt/shared/authn/login for a token (renewed once when it
//     expires mid-rotation);
//  2. httpd must read server.crt and server.key (sys httpd ssl-certfile,
//     ssl-certkeyfile), or nothing is ordered; otter.csr and otter.key of
//     an earlier run are deleted (tmsh through util/bash), otter.key is
//     made on the box (RSA-2048, the device's default Ottr relied on, or
//     RSA-3072/4096 when asked) and otter.csr with it: the common name,
//     every subject alternative name and the subject fields (C, ST, L, O,
//     OU, email) of the CSRRequest; the request is read back with "tmsh
//     list sys crypto csr" as Ottr did, and refused if it lacks a name or
//     a field;
//  3. the certificate is checked against otter.key on the box (openssl
//     pkey -pubout: the key never leaves it), uploaded through REST (Ottr
//     used scp), and placed as Ottr did: server.crt and server.key under
//     /config/httpd/conf/ssl.crt and ssl.key backed up as *.backup, the
//     key file of otter.key and the leaf (alone, as Ottr) copied over
//     them; the placed files are read back and must be a pair, since
//     httpd does not start otherwise, and with it REST, the only way back;
//  4. httpd is restarted (tmsh restart sys service httpd; the answer may
//     be cut off, as httpd carries REST) and the management port must
//     serve the new certificate within RestartTimeout;
//  5. otter.csr, otter.key and the upload are removed; the backups stay
//     for Restore (as Ottr left them).
//
// A failure after the backup copies it back (and restarts httpd if it had
// been restarted), so the port serves what it served. Restore copies the
// backups back when they hold the previous certificate, and may be
// repeated.
//
// client_ssl_profiles (set target, or just profiles) rotates LTM
// client-ssl profiles:
//
//  1. one call creates the key on the device and a CSR for the common
//     name and every subject alternative name ("create sys crypto key …
//     gen-csr": ECDSA P-256 by default, P-384, RSA 2048/3072/4096); the key
//     never leaves the device, and the configuration is saved so the key
//     (a sys file ssl-key object) survives a reboot before the
//     certificate comes;
//  2. the CSR is copied to the REST bulk area and downloaded (no advanced
//     shell needed);
//  3. the leaf and the intermediates are uploaded (Content-Range) and
//     installed as <name>.crt and <name>-chain.crt, matching <name>.key;
//     the uploaded files are removed from the REST download area;
//  4. each configured client-ssl profile's certKeyChain is pointed at
//     them — the device checks that the key and the certificate match;
//  5. the configuration is saved (sys config save). If a profile refuses
//     or the save fails, the profiles already changed are pointed back
//     and the objects just installed deleted;
//  6. the driver waits for the virtual server (serve) to present the new
//     certificate;
//  7. ottr- objects from earlier rotations are deleted, except the ones
//     just replaced (Restore binds them again); objects anyone else made
//     are never touched.
//
// Errors are iControl REST's JSON ({"code","message"}, F5's numbered
// messages kept); 401 is permanent, a 503 "Configuration Utility
// restarting" and everything else transient. util/bash reports no exit
// status: a command that should print nothing and prints something failed.
//
// Not done: HA config sync; the management GUI's intermediates (Ottr
// placed the leaf alone); EC keys for the management GUI.
//
// Minimum permissions: management_gui needs an Administrator with
// advanced shell access (util/bash), as Ottr's did; client_ssl_profiles a
// user with the Certificate Manager role on the partition plus write
// access to the client-ssl profiles (Manager), and iControl REST access.
//
// Tested against sim/bigip, which speaks the same API.
package bigip
