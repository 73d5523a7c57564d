// Package exec is the "two scripts" driver: a platform is added by writing
// a CSR script and an install script (plus, optionally, current and
// rollback scripts), in any language, run with a fixed argv (never through
// a shell string). See docs/exec-driver.md and contrib/exec-template.
//
// Scripts never inherit the server's environment (it holds the master
// key, the database DSN and cloud keys). Their environment is PATH, HOME
// and TMPDIR (the server's), LANG and LC_ALL set to C.UTF-8, the variables
// the configuration names in pass_env (with the server's values; OTTR_
// names refused), the literal variables of env, and the asset and the
// step:
//
//	OTTR_SYSTEM_NAME OTTR_COMMON_NAME OTTR_SANS (comma-separated)
//	OTTR_IP_ADDRESS OTTR_PORT OTTR_HOST_PLATFORM OTTR_OS_VERSION
//	OTTR_DEVICE_MODEL OTTR_CERTIFICATE_AUTH OTTR_VALIDATE_CERT (True/False)
//	OTTR_CRED_<KEY>          each value of the asset's credential set
//	csr:      OTTR_KEY_TYPE (p256, p384, rsa2048, rsa4096), OTTR_CSR_FILE
//	install, rollback: OTTR_CHAIN_FILE (leaf first), OTTR_CERT_FILE,
//	          OTTR_CA_FILE, OTTR_SERIAL (hex)
//	all:      OTTR_WORK_DIR, a private temporary directory
//
// The CSR script makes a fresh key on the device and writes the CSR (PEM)
// to $OTTR_CSR_FILE or stdout. The install script installs the chain,
// makes it the served certificate and commits; it must be idempotent and
// find the key made by an earlier run (a retry, possibly in another
// process), and whatever fails it must leave the device serving a key with
// its own certificate and no temp files. The rollback script (Restore)
// makes the previous chain the served certificate again from what the
// device keeps, in any process, repeatably; without one the driver cannot
// restore. The current script prints the served chain (PEM) on stdout;
// without one the driver reads it from a TLS handshake with the
// configured address. contrib/exec-template does all of this.
//
// Exit status 0 is success. 64 (usage), 65 (data) and 78 (configuration)
// fail the rotation at once, 77 (permission) is a credential problem; any
// other status is retried with backoff. Standard error goes into the
// rotation log and the last lines of output are in the error, both with
// the credential's values (all but the username; also base64-, URL- and
// JSON-encoded, and a key line by line) replaced by [REDACTED]. Each run is bounded by the timeout; then, or when
// the rotation is cancelled, its whole process group gets TERM (for the
// scripts' exit traps) and, a second later, KILL.
package exec
