// Package acme gets a device's CSR signed by an ACME CA (RFC 8555), proving
// control of every name with DNS-01 records written only in delegate zones.
//
// An Issuer knows the configured CAs by name (lets_encrypt, digicert, any
// RFC 8555 directory with optional External Account Binding). Each CA's
// account key is kept sealed in an ottr.SecretStore and reused: Ottr
// registers once per CA and directory, not per rotation. Before anything
// goes to the CA the CSR passes the CSR policy and every name's
// _acme-challenge CNAME is followed to a delegate zone; only then is the
// order placed. All TXT values are written, and seen on every authoritative
// nameserver, before the CA is asked to validate any of them; they are
// removed afterwards whether the order succeeded or not.
//
// Errors are ottr.Errors: a CA's rate limit, outage or a validation that
// may pass on retry is EUNAVAILABLE (with the CA's Retry-After, if any); a
// rejected identifier, a bad CSR or a missing delegation is EINVALID. The
// CA's problem detail is always in the message.
package acme
