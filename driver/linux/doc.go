// Package linux rotates the certificate of a service on a Linux host over
// SSH (golang.org/x/crypto/ssh) — nginx, haproxy, apache or anything that
// reads a key and a chain from files:
//
//   - openssl on the host makes a fresh key (mode 0600, never leaves the
//     host) and the CSR;
//   - the chain is uploaded, checked against the key, and moved into place
//     with temp file + rename, with the previous key and chain kept for
//     Restore; owner, group and mode are set;
//   - optional pre and post hooks (Ottr's /opt/otter/hooks/{pre,post}) and a
//     reload command (["systemctl","reload","nginx"], ["nginx","-s","reload"],
//     ["systemctl","reload","haproxy"], ["apachectl","graceful"]) run;
//   - the driver waits until the service presents the new certificate.
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
