// Package redfish rotates the HTTPS certificate of a server's baseboard
// management controller (BMC) through DMTF Redfish (DSP0266, the
// CertificateService schema of Redfish 2018.3 and later):
//
//  1. log in: a Redfish session (POST to the service root's
//     Links.Sessions, X-Auth-Token; logged out when the driver closes, and
//     opened again once when the BMC has dropped it, as after a reset), or
//     HTTP Basic on every call (auth: basic);
//  2. find the HTTPS certificate collection: the manager's
//     NetworkProtocol HTTPS.Certificates (the configured manager, or the
//     one manager that has one), else the CertificateService's
//     CertificateLocations, or certificate_collection as configured;
//  3. CertificateService.GenerateCSR on that collection: the BMC makes
//     the key pair and keeps it; the key never leaves the BMC. The request
//     asks for every name in AlternativeNames (the common name too: CAs
//     read names from the SAN extension), the subject fields (Country,
//     State, City, Organization, OrganizationalUnit, Email) and, when the
//     rotation names one, the key (KeyPairAlgorithm TPM_ALG_RSA with
//     KeyBitLength, or TPM_ALG_ECDSA with KeyCurveId TPM_ECC_NIST_P256 or
//     P384); without one the BMC makes its default key. A request that
//     lacks a name, a subject field or the key asked for stops the
//     rotation before anything is ordered;
//  4. install: CertificateService.ReplaceCertificate of the collection's
//     certificate (CertificateUri as a reference, CertificateType PEMchain
//     where the action lists it, else PEM, with the whole chain), or, on
//     BMCs without ReplaceCertificate, POST {CertificateString,
//     CertificateType} to the collection. A 202 answer is followed to its
//     task monitor until the task ends;
//  5. reset the manager (Manager.Reset, ResetType GracefulRestart) where
//     the web server keeps the old certificate until then: by default on
//     Dell iDRAC (service root Vendor "Dell"); reset: always|never
//     overrides;
//  6. wait until the HTTPS interface presents the new certificate (a BMC
//     restarting its web server refuses connections meanwhile).
//
// Vendors (the quirks the driver handles and sim/redfish models; "believed"
// marks vendor behaviour taken from documentation, not checked against a
// device or a vendor's client here):
//
//   - Dell iDRAC9 (GenerateCSR over Redfish since firmware 4.40.00.00):
//     the certificate is active only after an iDRAC reset (Dell's own
//     Ansible module says "Until iDRAC is reset, the old certificate will
//     be active" and resets it), so the driver resets it; the reset takes
//     minutes and ends every session. Dell's tools import through the OEM
//     DelliDRACCardService.ImportSSLCertificate; the driver uses the
//     standard actions, on firmware whose CertificateService has them.
//   - HPE iLO 5 and iLO 6: iLO restarts its web server by itself after a
//     certificate is installed (believed); the driver waits for it.
//   - Lenovo XClarity Controller: installs answer 202 with a task monitor
//     (believed), which the driver polls.
//   - Supermicro: where the CertificateService has no ReplaceCertificate
//     (believed for some X12/X13 firmware), the certificate is POSTed to
//     the collection.
//   - OpenBMC (bmcweb): references must be objects ({"@odata.id": …}),
//     which is what the driver sends; new certificates are served at once.
//
// Other BMCs that implement the DMTF CertificateService the same way need
// no quirk; reset: always covers one that applies certificates only after
// a reset.
//
// The BMC holds one HTTPS key: installing replaces key and certificate,
// and Redfish never returns a private key, so the previous pair cannot be
// put back and the driver does not implement ottr.Restorer. A failure
// before the BMC accepts the certificate leaves it serving what it
// served, and the key it made waits for its certificate until the next
// GenerateCSR, so a retry in any process installs the same chain. A BMC
// refuses a certificate whose key it did not make.
//
// Errors carry the BMC's @Message.ExtendedInfo messages and MessageIds. A
// refused login (401) is permanent (EUNAUTHORIZED), an account without
// the privilege (403) too (EFORBIDDEN), and so is a request the BMC
// refuses (400, 404, 405: EINVALID); anything else (5xx, a dropped
// connection, a task ending in Exception) is retried. The password and
// the session token never appear in errors or logs, and links the BMC
// gives are followed only on its own address.
//
// The connection is verified against the system roots (or the CA's
// trusted_roots) for the asset's system_name; an asset whose
// certificate_validation is "False" — a BMC still on its factory
// self-signed certificate — is pinned on first use instead.
//
// Privileges: an account with Login and ConfigureManager (the Redfish
// Administrator role; on iDRAC an Administrator, on iLO "Configure iLO
// Settings", on XCC "Supervisor" or a role with "Security").
//
// Tested against sim/redfish, which is checked with gofish, sushy,
// redfishtool and Dell's idrac_certificates Ansible module.
package redfish
