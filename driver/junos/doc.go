// Package junos rotates the J-Web (management HTTPS) certificate of a
// Juniper device — SRX, EX, MX on Junos 18.x and later, the platform
// Ottr's contribution guide walks through — over NETCONF on SSH
// (subsystem "netconf", port 830 by default; `set system services netconf
// ssh` on the device):
//
//  1. request security pki generate-key-pair (ECDSA P-256 by default,
//     P-384, RSA 2048/3072/4096) and generate-certificate-request with the
//     subject string CN=…,OU=…,O=…,L=…,ST=…,C=… from the request's subject
//     fields (checked in the request the device prints): the key stays on
//     the device. Junos's subject string has no email, and its email option
//     is an alternative name CAs refuse, so a subject email is refused
//     unless key_off_device is set. Junos puts one domain-name in a request, so an
//     asset with more names is refused with an error saying so — unless
//     key_off_device is set: then Ottr makes the key and a CSR with every
//     name, keeps the key in memory, puts it in /var/tmp over NETCONF with
//     the certificate, loads both (local-certificate load … key …) and
//     deletes the key file;
//  2. the leaf and the intermediates are put in /var/tmp (<file-put>); the
//     intermediates go into a CA profile of their own (committed) and are
//     loaded with ca-certificate load, the leaf with local-certificate load
//     onto the key pair the device made (the device refuses another key);
//  3. under a configuration lock, set system services web-management https
//     pki-local-certificate <id> and commit (synchronous; rpc-errors carry
//     the device's messages);
//  4. the driver waits until J-Web presents the new certificate, then
//     clears key pairs and certificates it made earlier (ottr-…) except the
//     one replaced, which Restore binds again (only the install that
//     replaced it clears).
//
// A local certificate is loaded onto its own key pair, so J-Web always
// serves a pair. A failed commit changes nothing (the candidate's changes
// go with the lock); a retry goes on from what is loaded. Files are
// deleted after use, and each session first deletes ottr-… files an
// interrupted run left in /var/tmp (a key made off the device among them).
// Restore finds the previous certificate on the device by serial, so a
// driver opened in another process restores too, and it may be repeated.
//
// The SSH host key is checked against known_hosts as for the linux driver;
// the asset's certificate_validation "False" allows trust on first use.
// The login is username with password (password and keyboard-interactive
// are offered) or private_key. Refused logins and host keys are permanent;
// everything else transient.
//
// Minimum permissions: a login class with "security" and "maintenance"
// (pki requests and file operations), "configure" for system services and
// security pki, and NETCONF access.
//
// Tested against sim/junos, which speaks NETCONF 1.0 over SSH.
package junos
