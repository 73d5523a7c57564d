package redfish_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
)

// TestRedfishtool runs DMTF's redfishtool (Debian's redfishtool 1.1.5)
// against the simulated OpenBMC: raw GET, POST of GenerateCSR and
// ReplaceCertificate with the schema's reference objects (and a bare
// string, which bmcweb refuses), a refused DELETE, Manager.Reset checked
// against the advertised ResetType@Redfish.AllowableValues, and a refused
// login; it asserts redfishtool's output and exit status and the BMC's
// state.
func TestRedfishtool(t *testing.T) {
	tool := testtool.Need(t, "redfishtool", "redfishtool")
	dev := startBMC(t, "openbmc")
	run := func(password string, args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), tool, append([]string{"-r", dev.Addr, "-u", admin, "-p", password, "-S", "Always", "-T", "20"}, args...)...)
		cmd.Env = clientEnv()
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("redfishtool %v: %v", args, err)
		}
		return stdout.String(), stderr.String(), code
	}
	coll := "/redfish/v1/Managers/bmc/NetworkProtocol/HTTPS/Certificates"

	out, errOut, code := run(adminPW, "-A", "Session", "raw", "GET", "/redfish/v1/CertificateService")
	var svc struct {
		Actions map[string]struct {
			Target string   `json:"target"`
			Types  []string `json:"CertificateType@Redfish.AllowableValues"`
		}
		Locations struct {
			ID string `json:"@odata.id"`
		} `json:"CertificateLocations"`
	}
	if err := json.Unmarshal([]byte(out), &svc); code != 0 || err != nil {
		t.Fatalf("GET CertificateService: %d %v\n%s%s", code, err, out, errOut)
	}
	if svc.Actions["#CertificateService.GenerateCSR"].Target == "" || strings.Join(svc.Actions["#CertificateService.ReplaceCertificate"].Types, ",") != "PEM" ||
		svc.Locations.ID != "/redfish/v1/CertificateService/CertificateLocations" {
		t.Errorf("CertificateService: %+v", svc)
	}
	if dev.Sessions() != 0 {
		t.Errorf("redfishtool left %d sessions", dev.Sessions())
	}

	out, errOut, code = run(adminPW, "-A", "Session", "raw", "POST", svc.Actions["#CertificateService.GenerateCSR"].Target, "-d",
		`{"CertificateCollection":{"@odata.id":"`+coll+`"},"CommonName":"bmc01.example.com","AlternativeNames":["bmc01.example.com"],"KeyPairAlgorithm":"TPM_ALG_ECDSA","KeyCurveId":"TPM_ECC_NIST_P256"}`)
	var gen struct{ CSRString string }
	if err := json.Unmarshal([]byte(out), &gen); code != 0 || err != nil {
		t.Fatalf("GenerateCSR: %d %v\n%s%s", code, err, out, errOut)
	}
	csr, err := ottr.ParseCSR([]byte(gen.CSRString))
	if err != nil || !ottr.SamePublicKey(csr.PublicKey, dev.PendingKey()) {
		t.Fatalf("CSRString %v: not for the BMC's key", err)
	}
	chain := testpki.NewCA("Corp CA").Sign(csr, 24*time.Hour)
	body := func(uri string) string {
		b, _ := json.Marshal(map[string]any{"CertificateUri": uri, "CertificateType": "PEM", "CertificateString": string(ottr.EncodeChain(chain))})
		return string(b)
	}
	replace := svc.Actions["#CertificateService.ReplaceCertificate"].Target
	member := coll + "/" + dev.CertificateID()
	_, errOut, code = run(adminPW, "-A", "Basic", "raw", "POST", replace, "-d", body(member))
	if code == 0 || !strings.Contains(errOut, "400") {
		t.Errorf("a bare CertificateUri string: exit %d\n%s", code, errOut)
	}
	out, errOut, code = run(adminPW, "-A", "Basic", "raw", "POST", replace, "-d", strings.Replace(body(member), `"`+member+`"`, `{"@odata.id":"`+member+`"}`, 1))
	var cert struct {
		ID                string `json:"Id"`
		CertificateString string
	}
	if err := json.Unmarshal([]byte(out), &cert); code != 0 || err != nil || cert.ID != dev.CertificateID() {
		t.Fatalf("ReplaceCertificate: %d %v\n%s%s", code, err, out, errOut)
	}
	if got, _ := ottr.ParseChain([]byte(cert.CertificateString)); len(got) != 2 || !got[0].Equal(chain[0]) || !tlsLeaf(t, dev.Addr).Equal(chain[0]) {
		t.Error("the BMC does not answer with and serve the new chain")
	}

	_, errOut, code = run(adminPW, "-A", "Basic", "raw", "DELETE", member)
	if code == 0 || !strings.Contains(errOut, "409") {
		t.Errorf("DELETE of the certificate in use: exit %d\n%s", code, errOut)
	}
	_, errOut, code = run(adminPW, "-A", "Session", "Managers", "-I", "bmc", "reset", "ForceOff")
	if code == 0 || !strings.Contains(errOut, "AllowableValues") || strings.Contains(strings.Join(dev.Calls(), "\n"), "Manager.Reset") {
		t.Errorf("a reset type the manager does not list: exit %d\n%s", code, errOut)
	}
	_, errOut, code = run(adminPW, "-A", "Session", "Managers", "-I", "bmc", "reset", "GracefulRestart")
	resets := strings.Count(strings.Join(dev.Calls(), "\n"), "POST /redfish/v1/Managers/bmc/Actions/Manager.Reset")
	if code != 0 || resets != 1 {
		t.Fatalf("reset: exit %d, %d resets\n%s", code, resets, errOut)
	}
	if !strings.Contains(errOut, "Logout") || dev.Sessions() != 0 {
		t.Errorf("after the reset the session is gone (logout refused): %s", errOut)
	}
	waitUp(t, dev)
	_, errOut, code = run("wrong", "-A", "Session", "raw", "GET", "/redfish/v1/Managers")
	if code == 0 || !strings.Contains(errOut, "401") || !strings.Contains(errOut, "Session Login Failed") {
		t.Errorf("wrong password: exit %d\n%s", code, errOut)
	}
}
