package redfish_test

import (
	"crypto/rsa"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
)

type sushyError struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

type sushyCert struct {
	Identity, Path, Fingerprint string
	FingerprintHashAlgorithm    string `json:"fingerprint_hash_algorithm"`
	SubjectCN                   string `json:"subject_cn"`
	ValidNotAfter               string `json:"valid_not_after"`
	CertificateType             string `json:"certificate_type"`
	CertificateString           string `json:"certificate_string"`
}

type sushyOut struct {
	Session        string      `json:"session"`
	Product        string      `json:"product"`
	RedfishVersion string      `json:"redfish_version"`
	Service        string      `json:"service"`
	CSR            string      `json:"csr"`
	Locations      []sushyCert `json:"locations"`
	BadAlgorithm   sushyError  `json:"bad_algorithm"`
	ForeignKey     sushyError  `json:"foreign_key"`
	Replaced       bool        `json:"replaced"`
	LogoutRefused  bool        `json:"logout_refused"`
	Created        sushyCert   `json:"created"`
	Members        []string    `json:"members"`
	Delete         sushyError  `json:"delete"`
}

func runSushy(t *testing.T, py, url string, args ...string) sushyOut {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), py, append([]string{filepath.Join("testdata", "sushy_client.py"), url, admin, adminPW}, args...)...)
	cmd.Env = append(clientEnv(), "PYTHONWARNINGS=ignore")
	b, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("sushy %v: %v\n%s", args, err, stderr)
	}
	var out sushyOut
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("sushy %v: %v\n%s", args, err, b)
	}
	return out
}

// TestSushy runs OpenStack's sushy (python3-sushy 4.3, Ironic's Redfish
// library) against the simulated iLO and Supermicro BMCs: a session,
// the service root, GenerateCSR through the action target sushy reads,
// CertificateLocations, a refused key algorithm, ReplaceCertificate
// refused for a foreign key and then accepted (iLO restarts its web server
// and serves the new certificate), and on Supermicro, with Basic, POST to
// the collection (create_member) and a refused delete. It asserts what
// sushy returns and the BMC's state.
func TestSushy(t *testing.T) {
	py := testtool.NeedPython(t, "sushy", "python3-sushy")
	ca := testpki.NewCA("Corp CA")
	dir := t.TempDir()

	dev := startBMC(t, "ilo")
	url := "https://" + dev.Addr
	coll := "/redfish/v1/Managers/1/NetworkProtocol/HTTPS/Certificates"
	out := runSushy(t, py, url, "csr", coll, "3072")
	if out.Product != "ProLiant DL360 Gen11" || out.RedfishVersion != "1.17.0" || out.Service != "CertificateService" || out.Session == "" {
		t.Errorf("root: %+v", out)
	}
	if dev.Sessions() != 0 {
		t.Errorf("%d sessions left after sushy closed its session", dev.Sessions())
	}
	csr, err := ottr.ParseCSR([]byte(out.CSR))
	if err != nil {
		t.Fatalf("CSRString: %v", err)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 3072 || !ottr.SamePublicKey(k, dev.PendingKey()) {
		t.Errorf("request key %T is not the BMC's RSA 3072 key", csr.PublicKey)
	}
	if csr.Subject.CommonName != "ilo01.example.com" || strings.Join(csr.DNSNames, ",") != "ilo01.example.com,oob01.example.com" ||
		len(ottr.Subject{Country: "US", State: "TX", Locality: "Houston", Organization: "Example Inc", OrganizationalUnit: "Infra"}.Missing(csr.Subject)) > 0 {
		t.Errorf("request: %v %v", csr.Subject, csr.DNSNames)
	}
	_, serving := dev.Certificate()
	if len(out.Locations) != 1 || out.Locations[0].Path != coll+"/"+dev.CertificateID() || out.Locations[0].SubjectCN != "bmc" ||
		out.Locations[0].FingerprintHashAlgorithm != "TPM_ALG_SHA256" || out.Locations[0].ValidNotAfter[:10] != serving[0].NotAfter.UTC().Format("2006-01-02") {
		t.Errorf("locations: %+v", out.Locations)
	}
	if e := out.BadAlgorithm; e.Status != 400 || e.Code != "Base.1.16.0.ActionParameterValueNotInList" || !strings.Contains(e.Detail, "TPM_ALG_SM2") {
		t.Errorf("bad algorithm: %+v", e)
	}

	chain := ca.Sign(csr, 24*time.Hour)
	good, bad := filepath.Join(dir, "good.pem"), filepath.Join(dir, "bad.pem")
	other, _ := testpki.CSR("ilo01.example.com", "ilo01.example.com")
	os.WriteFile(good, ottr.EncodeChain(chain), 0o600)
	os.WriteFile(bad, ottr.EncodeChain(ca.Sign(other, time.Hour)), 0o600)
	out = runSushy(t, py, url, "replace", coll+"/"+dev.CertificateID(), good, bad)
	if e := out.ForeignKey; e.Status != 400 || !strings.Contains(e.Detail, "does not match the private key") {
		t.Errorf("foreign key: %+v", e)
	}
	if !out.Replaced || !out.LogoutRefused {
		t.Fatalf("replaced %v; the logout met a restarting web server: %v", out.Replaced, out.LogoutRefused)
	}
	if conf, _ := dev.Certificate(); !conf[0].Equal(chain[0]) {
		t.Fatal("the BMC does not hold the new certificate")
	}
	waitUp(t, dev)
	if got := tlsLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Error("the web server did not come back with the new certificate")
	}

	smc := startBMC(t, "supermicro")
	sout := runSushy(t, py, "https://"+smc.Addr, "csr", coll, "2048")
	csr, err = ottr.ParseCSR([]byte(sout.CSR))
	if err != nil {
		t.Fatal(err)
	}
	chain = ca.Sign(csr, 24*time.Hour)
	os.WriteFile(good, ottr.EncodeChain(chain), 0o600)
	sout = runSushy(t, py, "https://"+smc.Addr, "collection", coll, good)
	if sout.Created.Identity != smc.CertificateID() || sout.Created.Identity == "1" || sout.Created.SubjectCN != "ilo01.example.com" ||
		strings.Join(sout.Members, ",") != coll+"/"+smc.CertificateID() {
		t.Errorf("created member %+v, members %v", sout.Created, sout.Members)
	}
	if e := sout.Delete; e.Status != 409 || e.Code != "Base.1.16.0.ResourceInUse" {
		t.Errorf("delete of the certificate in use: %+v", e)
	}
	if got := tlsLeaf(t, smc.Addr); !got.Equal(chain[0]) || smc.Sessions() != 0 {
		t.Errorf("Supermicro serves %x (%d sessions)", got.SerialNumber, smc.Sessions())
	}
}

// waitUp waits for a restarting BMC's web server.
func waitUp(t *testing.T, dev interface{ Down() bool }) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for dev.Down() {
		if time.Now().After(deadline) {
			t.Fatal("the BMC's web server stays down")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
