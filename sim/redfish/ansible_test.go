package redfish_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/redfish"
)

// ansibleResult is the part of a registered idrac_certificates result
// asserted on.
type ansibleResult struct {
	Changed         bool   `json:"changed"`
	Failed          bool   `json:"failed"`
	Msg             string `json:"msg"`
	CertificatePath string `json:"certificate_path"`
	ErrorInfo       struct {
		Error struct {
			Code     string `json:"code"`
			Extended []struct {
				MessageID string `json:"MessageId"`
				Message   string `json:"Message"`
			} `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	} `json:"error_info"`
}

func (r ansibleResult) messageIDs() string {
	var ids []string
	for _, m := range r.ErrorInfo.Error.Extended {
		ids = append(ids, m.MessageID)
	}
	return strings.Join(ids, ",")
}

// playbook runs one of testdata/ansible's playbooks with vars and returns
// the results it wrote.
func playbook(t *testing.T, py, name string, vars map[string]any) map[string]ansibleResult {
	t.Helper()
	rb := testtool.Playbook(t, py, name, vars, clientEnv())
	var res map[string]ansibleResult
	if err := json.Unmarshal(rb, &res); err != nil {
		t.Fatalf("results: %v\n%s", err, rb)
	}
	return res
}

// TestAnsibleIdracCertificates runs Dell's dellemc.openmanage
// idrac_certificates module against the simulated iDRAC: generate_csr
// (CertificateService.GenerateCSR with the module's parameters and
// CertificateCollection), export (DelliDRACCardService.ExportSSLCertificate
// at the module's fixed /redfish/v1/Dell/… path), import
// (ImportSSLCertificate at the target the service's Actions name, found
// through the manager's Links.Oem.Dell, then Manager.Reset
// GracefulRestart) and a
// second import that changes nothing; and the refusals of a wrong
// password, a certificate for another key and a type the simulator does
// not model. It asserts what the module reports and what the iDRAC holds
// and serves.
func TestAnsibleIdracCertificates(t *testing.T) {
	py := testtool.NeedPython(t, "ansible_collections.dellemc.openmanage", "ansible")
	dev, err := redfish.Start(admin, adminPW, redfish.Options{Profile: redfish.Profiles["idrac"], Restart: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	_, factory := dev.Certificate()
	_, port, _ := strings.Cut(dev.Addr, ":")
	out := t.TempDir()
	vars := map[string]any{"idrac_port": port, "idrac_user": admin, "idrac_password": adminPW, "out_dir": out}

	res := playbook(t, py, "csr.yml", vars)
	if r := res["bad_login"]; !r.Failed || !strings.Contains(r.Msg, "401") || r.messageIDs() != "Base.1.16.0.NoValidSession" {
		t.Errorf("wrong password: %+v", r)
	}
	r := res["csr"]
	if r.Failed || r.Changed || r.Msg != "Successfully performed the 'generate_csr' operation." || r.CertificatePath == "" {
		t.Fatalf("generate_csr: %+v", r)
	}
	pemCSR, err := os.ReadFile(r.CertificatePath)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ottr.ParseCSR(pemCSR)
	if err != nil || !ottr.SamePublicKey(csr.PublicKey, dev.PendingKey()) {
		t.Fatalf("the module's CSR file is not a request for the iDRAC's key: %v", err)
	}
	subj := ottr.Subject{Country: "US", State: "Texas", Locality: "Round Rock", Organization: "Example Inc", OrganizationalUnit: "Platform", Email: "pki@example.com"}
	if bad := subj.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "idrac01.example.com" ||
		strings.Join(csr.DNSNames, ",") != "idrac01.example.com,oob.example.com" {
		t.Errorf("request %v %v: %v", csr.Subject, csr.DNSNames, bad)
	}
	if r := res["export"]; r.Failed || r.CertificatePath == "" {
		t.Errorf("export: %+v", r)
	} else if b, _ := os.ReadFile(r.CertificatePath); string(b) != string(ottr.EncodeChain(factory)) {
		t.Errorf("the exported file is not the iDRAC's certificate:\n%s", b)
	}

	ca := testpki.NewCA("Corp CA")
	chain := ca.Sign(csr, 24*time.Hour)
	other, _ := testpki.CSR("idrac01.example.com", "idrac01.example.com")
	signed, foreign := filepath.Join(out, "signed.pem"), filepath.Join(out, "foreign.pem")
	os.WriteFile(signed, ottr.EncodeChain(chain[:1]), 0o600)
	os.WriteFile(foreign, ottr.EncodeChain(ca.Sign(other, time.Hour)[:1]), 0o600)
	vars["signed_cert"], vars["foreign_cert"] = signed, foreign
	res = playbook(t, py, "import.yml", vars)
	if r := res["foreign"]; !r.Failed || r.messageIDs() != "Base.1.16.0.ActionParameterValueError" || !strings.Contains(r.ErrorInfo.Error.Extended[0].Message, "does not match the private key") {
		t.Errorf("foreign key: %+v", r)
	}
	if r := res["ca_type"]; !r.Failed || !strings.Contains(r.messageIDs(), "ActionParameterNotSupported") ||
		!strings.Contains(r.ErrorInfo.Error.Extended[0].Message, "not modelled") {
		t.Errorf("CA import: %+v", r)
	}
	if r := res["imported"]; r.Failed || !r.Changed || !strings.Contains(r.Msg, "Successfully performed the 'import' operation.") ||
		!strings.Contains(r.Msg, "iDRAC reset triggered successfully.") {
		t.Errorf("import: %+v", r)
	}
	if r := res["again"]; r.Failed || r.Changed || r.Msg != "No changes found to be applied." {
		t.Errorf("second import: %+v", r)
	}
	waitUp(t, dev)
	conf, serving := dev.Certificate()
	if !conf[0].Equal(chain[0]) || !serving[0].Equal(chain[0]) || !tlsLeaf(t, dev.Addr).Equal(chain[0]) {
		t.Error("the iDRAC does not hold and serve the imported certificate after the reset")
	}
	calls := strings.Join(dev.Calls(), "\n")
	for _, want := range []string{"POST /redfish/v1/CertificateService/Actions/CertificateService.GenerateCSR",
		"POST /redfish/v1/Dell/Managers/iDRAC.Embedded.1/DelliDRACCardService/Actions/DelliDRACCardService.ExportSSLCertificate",
		"GET /redfish/v1/Dell/Managers/iDRAC.Embedded.1/DelliDRACCardService",
		"POST /redfish/v1/Managers/iDRAC.Embedded.1/Oem/Dell/DelliDRACCardService/Actions/DelliDRACCardService.ImportSSLCertificate",
		"POST /redfish/v1/Managers/iDRAC.Embedded.1/Actions/Manager.Reset"} {
		if !strings.Contains(calls, want) {
			t.Errorf("the module did not call %s:\n%s", want, calls)
		}
	}
	if strings.Count(calls, "Manager.Reset") != 1 {
		t.Errorf("want one reset:\n%s", calls)
	}
}
