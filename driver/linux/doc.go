// Package linux rotates the certificate of a service on a Linux host over
// SSH (golang.org/x/crypto/ssh) — nginx, haproxy, apache or anything that
// reads a key and a chain from files:
//
//   - openssl on the host makes a fresh key (mode 0600, never leaves the
//     host) and the CSR;
//   - the chain is uploaded, checked to have arrived whole and to match the
//     key, and key and chain are moved into place together (temp files
//     renamed back to back), with the previous pair kept for Restore
//     (<key>.prev, <cert>.prev); owner, group and mode are set;
//   - optional pre and post hooks (Ottr's /opt/otter/hooks/{pre,post}) and a
//     reload command (["systemctl","reload","nginx"], ["nginx","-s","reload"],
//     ["systemctl","reload","haproxy"], ["apachectl","graceful"]) run;
//   - the driver waits until the service presents the new certificate.
//
// Every failure leaves the pair that was in place, on disk and in service,
// and no temp file: the pre hook runs before anything changes, and a
// failure after the renames (the reload, the post hook) puts the previous
// pair back and reloads. The new key stays pending until its certificate
// is installed, so a retry in any process installs it. Restore (any
// process) makes the kept previous pair the one in place again; it is
// idempotent. See hostscript.Files and docs/linux-driver.md.
//
// Host keys are always checked against known_hosts; trust_on_first_use
// records the key of a host seen for the first time (the counterpart of an
// asset's certificate_validation "False") and a changed key is refused.
// The login is a credential set with username and password or private_key
// (+ passphrase). The remote user needs write access to the certificate
// directory and the right to run the reload command (e.g. a sudoers rule
// for `systemctl reload nginx` and a reload argv starting with sudo).
//
// Tested against a real OpenSSH sshd and nginx started by the tests.
package linux
