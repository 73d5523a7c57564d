package redfish_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/redfish"
)

const (
	admin   = "root"
	adminPW = "calvin-Adm1n.pw"
)

func startBMC(t *testing.T, profile string) *redfish.Device {
	t.Helper()
	dev, err := redfish.Start(admin, adminPW, redfish.Options{Profile: redfish.Profiles[profile], Restart: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func connect(t *testing.T, dev *redfish.Device, password string, basic bool) (*gofish.APIClient, error) {
	t.Helper()
	return gofish.Connect(gofish.ClientConfig{Endpoint: "https://" + dev.Addr, Username: admin, Password: password,
		Insecure: true, BasicAuth: basic})
}

// redfishError is the Redfish error gofish returns.
func redfishError(t *testing.T, err error) *schemas.Error {
	t.Helper()
	var re *schemas.Error
	if !errors.As(err, &re) {
		t.Fatalf("want a Redfish error, got %v", err)
	}
	return re
}

func messageIDs(re *schemas.Error) []string {
	var ids []string
	for _, m := range re.ExtendedInfos {
		ids = append(ids, m.MessageID)
	}
	return ids
}

// TestGofish runs gofish v0.26.0 (DMTF Redfish client in Go) against the
// simulated XCC: a refused login, a session and logout, Basic, the
// service root, CertificateService.GenerateCSR with gofish's parameters, the
// request's collection, CertificateLocations, the manager's HTTPS
// certificates, ReplaceCertificate answered with a task monitor that
// gofish waits for, a refused foreign key, and Manager.Reset; it asserts
// what gofish returns and what the BMC then holds and serves.
func TestGofish(t *testing.T) {
	dev := startBMC(t, "xcc")

	_, err := connect(t, dev, "wrong", false)
	if re := redfishError(t, err); re.HTTPReturnedStatusCode != 401 || !slices.Contains(messageIDs(re), "Base.1.16.0.ResourceAtUriUnauthorized") {
		t.Fatalf("wrong password: %d %v", re.HTTPReturnedStatusCode, messageIDs(re))
	}
	c, err := connect(t, dev, adminPW, false)
	if err != nil {
		t.Fatalf("session login: %v", err)
	}
	if dev.Sessions() != 1 {
		t.Errorf("%d sessions after login", dev.Sessions())
	}
	svc := c.GetService()
	if svc.Vendor != "Lenovo" || svc.RedfishVersion != "1.17.0" {
		t.Errorf("service root: vendor %q, version %q", svc.Vendor, svc.RedfishVersion)
	}
	cs, err := svc.CertificateService()
	if err != nil || cs == nil {
		t.Fatalf("CertificateService: %v", err)
	}

	// GenerateCSR as gofish sends it (CertificateCollection as a string,
	// which this vendor profile accepts).
	coll := "/redfish/v1/Managers/1/NetworkProtocol/HTTPS/Certificates"
	gen, err := cs.GenerateCSR(&schemas.CertificateServiceGenerateCSRParameters{CertificateCollection: coll,
		CommonName: "xcc01.example.com", AlternativeNames: []string{"xcc01.example.com", "10.0.0.7"}, Country: "US", State: "NC",
		City: "Morrisville", Organization: "Example Inc", OrganizationalUnit: "Infra", Email: "pki@example.com",
		KeyPairAlgorithm: "TPM_ALG_ECDSA", KeyCurveID: "TPM_ECC_NIST_P384"})
	if err != nil {
		t.Fatalf("GenerateCSR: %v", err)
	}
	csr, err := ottr.ParseCSR([]byte(gen.CSRString))
	if err != nil {
		t.Fatalf("CSRString: %v", err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P384() || !ottr.SamePublicKey(csr.PublicKey, dev.PendingKey()) {
		t.Errorf("request key %T is not the BMC's P-384 key", csr.PublicKey)
	}
	subj := ottr.Subject{Country: "US", State: "NC", Locality: "Morrisville", Organization: "Example Inc", OrganizationalUnit: "Infra", Email: "pki@example.com"}
	if bad := subj.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "xcc01.example.com" ||
		!slices.Equal(csr.DNSNames, []string{"xcc01.example.com"}) || len(csr.IPAddresses) != 1 || csr.IPAddresses[0].String() != "10.0.0.7" {
		t.Errorf("request subject %v (%v), names %v %v", csr.Subject, bad, csr.DNSNames, csr.IPAddresses)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Errorf("request signature: %v", err)
	}
	members, err := gen.CertificateCollection(c)
	if err != nil || len(members) != 1 || members[0].ODataID != coll+"/"+dev.CertificateID() {
		t.Fatalf("the request's collection: %v %v", members, err)
	}

	locs, err := cs.CertificateLocations()
	if err != nil {
		t.Fatal(err)
	}
	if certs, err := locs.Certificates(); err != nil || len(certs) != 1 || certs[0].ODataID != members[0].ODataID {
		t.Errorf("CertificateLocations: %v %v", certs, err)
	}
	managers, err := svc.Managers()
	if err != nil || len(managers) != 1 || managers[0].ID != "1" {
		t.Fatalf("Managers: %v %v", managers, err)
	}
	np, err := managers[0].NetworkProtocol()
	if err != nil {
		t.Fatal(err)
	}
	https, err := np.HTTPS.Certificates(c)
	if err != nil || len(https) != 1 {
		t.Fatalf("HTTPS certificates: %v %v", https, err)
	}
	_, serving := dev.Certificate()
	if got, _ := ottr.ParseChain([]byte(https[0].CertificateString)); len(got) == 0 || !got[0].Equal(serving[0]) || https[0].FingerprintHashAlgorithm != "TPM_ALG_SHA256" {
		t.Error("the HTTPS certificate gofish reads is not the one served")
	}

	ca := testpki.NewCA("Corp CA")
	// A certificate for another key: refused with the Base registry's
	// ActionParameterValueError.
	other, _ := testpki.CSR("xcc01.example.com", "xcc01.example.com")
	_, err = cs.ReplaceCertificate(&schemas.CertificateServiceReplaceCertificateParameters{CertificateURI: members[0].ODataID,
		CertificateString: string(ottr.EncodeChain(ca.Sign(other, time.Hour))), CertificateType: schemas.PEMchainCertificateType})
	if re := redfishError(t, err); re.HTTPReturnedStatusCode != 400 || !slices.Contains(messageIDs(re), "Base.1.16.0.ActionParameterValueError") {
		t.Errorf("foreign key: %v", err)
	}

	// The signed chain: XCC answers 202 and a task monitor.
	chain := ca.Sign(csr, 24*time.Hour)
	tm, err := cs.ReplaceCertificate(&schemas.CertificateServiceReplaceCertificateParameters{CertificateURI: members[0].ODataID,
		CertificateString: string(ottr.EncodeChain(chain)), CertificateType: schemas.PEMchainCertificateType})
	if err != nil || tm == nil || tm.Task == nil || tm.Task.TaskState != schemas.RunningTaskState {
		t.Fatalf("ReplaceCertificate: %+v %v", tm, err)
	}
	tasks := make(chan *schemas.Task, 16)
	cert, hdr, err := schemas.WaitForTaskMonitorObject[schemas.Certificate](t.Context(), c, 10*time.Millisecond, tm, tasks)
	if err != nil {
		t.Fatalf("WaitForTaskMonitor: %v", err)
	}
	close(tasks)
	if len(tasks) == 0 {
		t.Error("gofish saw no running task")
	}
	if cert.SerialNumber == "" || hdr.Get("Location") != cert.ODataID || cert.CertificateType != schemas.PEMchainCertificateType {
		t.Errorf("the task's final answer: %+v, Location %q", cert, hdr.Get("Location"))
	}
	conf, serving := dev.Certificate()
	if !conf[0].Equal(chain[0]) || !serving[0].Equal(chain[0]) || len(serving) != 2 || dev.PendingKey() != nil {
		t.Error("the BMC does not hold and serve the new chain")
	}
	if got := tlsLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Error("the HTTPS listener does not present the new certificate")
	}

	c.Logout()
	if dev.Sessions() != 0 {
		t.Errorf("%d sessions after logout", dev.Sessions())
	}

	// Basic: no session; Manager.Reset with an allowed type.
	b, err := connect(t, dev, adminPW, true)
	if err != nil {
		t.Fatalf("basic: %v", err)
	}
	mgrs, err := b.GetService().Managers()
	if err != nil || dev.Sessions() != 0 {
		t.Fatalf("basic Managers: %v (%d sessions)", err, dev.Sessions())
	}
	if types, err := mgrs[0].GetSupportedResetTypes(); err != nil || !slices.Contains(types, schemas.GracefulRestartResetType) {
		t.Errorf("reset types %v %v", types, err)
	}
	if _, err := mgrs[0].Reset(schemas.GracefulRestartResetType); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if !dev.Down() {
		t.Error("the BMC did not restart")
	}
}

// TestGofishStrictReferences: OpenBMC reads CertificateCollection as a
// reference object, so gofish's string is refused with the Base registry's
// type error; the same request through gofish's raw client with the
// schema's object form succeeds and the new certificate is served at once.
func TestGofishStrictReferences(t *testing.T) {
	dev := startBMC(t, "openbmc")
	c, err := connect(t, dev, adminPW, false)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Logout()
	cs, err := c.GetService().CertificateService()
	if err != nil {
		t.Fatal(err)
	}
	coll := "/redfish/v1/Managers/bmc/NetworkProtocol/HTTPS/Certificates"
	_, err = cs.GenerateCSR(&schemas.CertificateServiceGenerateCSRParameters{CertificateCollection: coll, CommonName: "bmc.example.com"})
	if re := redfishError(t, err); re.HTTPReturnedStatusCode != 400 || !slices.Contains(messageIDs(re), "Base.1.16.0.ActionParameterValueTypeError") {
		t.Fatalf("string reference: %v", err)
	}
	resp, err := c.Post("/redfish/v1/CertificateService/Actions/CertificateService.GenerateCSR", map[string]any{
		"CertificateCollection": map[string]string{"@odata.id": coll}, "CommonName": "bmc.example.com", "AlternativeNames": []string{"bmc.example.com"}})
	if err != nil {
		t.Fatalf("GenerateCSR with a reference: %v", err)
	}
	var gen schemas.GenerateCSRResponse
	if err := decode(resp, &gen); err != nil {
		t.Fatal(err)
	}
	csr, err := ottr.ParseCSR([]byte(gen.CSRString))
	if err != nil {
		t.Fatal(err)
	}
	chain := testpki.NewCA("Corp CA").Sign(csr, time.Hour)
	resp, err = c.Post("/redfish/v1/CertificateService/Actions/CertificateService.ReplaceCertificate", map[string]any{
		"CertificateUri": map[string]string{"@odata.id": coll + "/" + dev.CertificateID()}, "CertificateType": "PEM",
		"CertificateString": string(ottr.EncodeChain(chain))})
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Location") != coll+"/"+dev.CertificateID() {
		t.Fatalf("ReplaceCertificate with a reference: %v", err)
	}
	resp.Body.Close()
	if got := tlsLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Error("not served at once")
	}
}
