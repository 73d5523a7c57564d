package fortigate_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/fortigate"
)

// result is a task's registered result as the json callback reports it.
type result struct {
	Changed bool            `json:"changed"`
	Failed  bool            `json:"failed"`
	Msg     string          `json:"msg"`
	Meta    json.RawMessage `json:"meta"`
}

// meta is FortiOS's envelope as the modules hand it back in meta.
type meta struct {
	HTTPMethod      string          `json:"http_method"`
	Status          string          `json:"status"`
	HTTPStatus      int             `json:"http_status"`
	Error           int             `json:"error"`
	CLIError        string          `json:"cli_error"`
	RevisionChanged *bool           `json:"revision_changed"`
	Version         string          `json:"version"`
	Serial          string          `json:"serial"`
	Build           int             `json:"build"`
	Results         json.RawMessage `json:"results"`
	Raw             string          `json:"raw"`
}

func (r result) meta(t *testing.T, task string) meta {
	t.Helper()
	var m meta
	if err := json.Unmarshal(r.Meta, &m); err != nil {
		t.Fatalf("%s: meta %s: %v", task, r.Meta, err)
	}
	return m
}

// playbook runs one playbook against the device with Fortinet's httpapi
// connection and returns each task's result by task name.
func playbook(t *testing.T, dev *fortigate.Device, name string, vars map[string]string) map[string]result {
	t.Helper()
	bin := testtool.Need(t, "ansible-playbook", "ansible")
	py := testtool.NeedPython(t, "ansible_collections.fortinet.fortios.plugins.httpapi.fortios", "ansible")
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(dev.Addr)
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf("[fortigates]\nfgt ansible_host=%s ansible_httpapi_port=%s ansible_connection=ansible.netcommon.httpapi "+
		"ansible_network_os=fortinet.fortios.fortios ansible_httpapi_use_ssl=yes ansible_httpapi_validate_certs=no ansible_python_interpreter=%s\n",
		host, port, py)), 0o600); err != nil {
		t.Fatal(err)
	}
	vb, _ := json.Marshal(vars)
	if err := os.WriteFile(filepath.Join(dir, "vars.json"), vb, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-i", inv, "-e", "@"+filepath.Join(dir, "vars.json"), filepath.Join("testdata", "ansible", name))
	cmd.Env = append(os.Environ(), "HOME="+dir, "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"),
		"ANSIBLE_PERSISTENT_CONTROL_PATH_DIR="+filepath.Join(dir, "pc"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_DEPRECATION_WARNINGS=0", "ANSIBLE_HOST_KEY_CHECKING=False")
	start := time.Now()
	out, err := cmd.Output()
	t.Logf("ansible-playbook %s ran %s", name, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("ansible-playbook %s: %v\n%s", name, err, out)
	}
	var run struct {
		Plays []struct {
			Tasks []struct {
				Task  struct{ Name string }
				Hosts map[string]result
			}
		}
	}
	if err := json.Unmarshal(out, &run); err != nil || len(run.Plays) != 1 {
		t.Fatalf("json callback output %q: %v", out, err)
	}
	res := map[string]result{}
	for _, task := range run.Plays[0].Tasks {
		res[task.Task.Name] = task.Hosts["fgt"]
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s results:\n%s\nrequests:\n%s", name, out, strings.Join(dev.Calls(), "\n"))
		}
	})
	return res
}

// TestAnsibleFortiOS drives the simulator with Fortinet's own Ansible
// collection (fortinet.fortios as Debian ships it, httpapi connection,
// an API token as access_token) and asserts what the modules report and
// what the device then holds: a key and request made on the device with
// every subject field, read back through the CMDB and the download
// endpoint; the signed certificate imported into that entry, a repeat
// and a certificate for another key refused; a regular import with its
// key; admin-server-cert and servercert bound (changed, then not), a
// missing or pending certificate refused; comments set once; a
// certificate in use kept, an unused one deleted; facts.
func TestAnsibleFortiOS(t *testing.T) {
	dev, err := fortigate.Start("ansibleToken0123456789abcdefgh")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	vars := map[string]string{"fortios_access_token": "ansibleToken0123456789abcdefgh"}
	gen := playbook(t, dev, "generate.yml", vars)

	for task, wantFail := range map[string]bool{"generate": false, "generate ec": false, "generate again": true, "generate bad keysize": true,
		"entry": false, "download": false, "status": false, "pending": false} {
		if r := gen[task]; r.Failed != wantFail || r.Changed {
			t.Errorf("%s: failed=%v changed=%v, want failed=%v: %s", task, r.Failed, r.Changed, wantFail, r.Meta)
		}
	}
	if m := gen["generate"].meta(t, "generate"); m.Status != "success" || m.HTTPStatus != 200 || m.Serial != fortigate.Serial || m.Version != fortigate.Version {
		t.Errorf("generate: %+v", m)
	}
	if m := gen["generate again"].meta(t, "generate again"); m.HTTPStatus != 500 || m.Error != -5 {
		t.Errorf("generate again: %+v", m)
	}
	if m := gen["generate bad keysize"].meta(t, "generate bad keysize"); m.HTTPStatus != 424 {
		t.Errorf("generate bad keysize: %+v", m)
	}
	var entries []struct {
		Name, CSR, Certificate, Range, Source string
		PrivateKey                            string `json:"private-key"`
	}
	if err := json.Unmarshal(gen["entry"].meta(t, "entry").Results, &entries); err != nil || len(entries) != 1 {
		t.Fatalf("entry: %v %s", err, gen["entry"].Meta)
	}
	e := entries[0]
	if e.Name != "ansible-web" || e.Range != "global" || e.Source != "user" || e.Certificate != "" || e.PrivateKey != "" {
		t.Errorf("entry: %+v", e)
	}
	csr, err := ottr.ParseCSR([]byte(e.CSR))
	if err != nil {
		t.Fatal(err)
	}
	want := ottr.Subject{Country: "US", State: "California", Locality: "Sunnyvale", Organization: "Example Inc",
		OrganizationalUnit: "Network Operations", Email: "noc@example.com"}
	if bad := want.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "web.example.com" ||
		!slices.Equal(csr.DNSNames, []string{"web.example.com", "www.example.com"}) || csr.CheckSignature() != nil {
		t.Errorf("request: %v, names %v, %v", csr.Subject, csr.DNSNames, bad)
	}
	if dl := gen["download"].meta(t, "download"); strings.TrimSpace(dl.Raw) != strings.TrimSpace(e.CSR) {
		t.Errorf("download: %q, want the entry's request", dl.Raw)
	}
	var status struct {
		Hostname, Model string
	}
	if err := json.Unmarshal(gen["status"].meta(t, "status").Results, &status); err != nil || status.Model != "FGVM64" || status.Hostname != fortigate.Hostname {
		t.Errorf("status: %+v %v", status, err)
	}
	var avail []struct {
		Name, Status string
		KeyType      string `json:"key_type"`
		KeySize      int    `json:"key_size"`
	}
	if err := json.Unmarshal(gen["pending"].meta(t, "pending").Results, &avail); err != nil || len(avail) != 1 || avail[0].Name != "ansible-web" ||
		avail[0].Status != "pending" || avail[0].KeyType != "RSA" || avail[0].KeySize != 2048 {
		t.Errorf("available-certificates: %+v %v", avail, err)
	}
	if c := dev.Certificates()["ansible-ec"]; c.CSR == nil || c.CSR.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("the EC request: %+v", c)
	}

	ca := testpki.NewCA("Corp CA")
	signed := ca.Sign(csr, 24*time.Hour)
	foreignCSR, _ := testpki.CSR("web.example.com", "web.example.com")
	regCSR, regKey := testpki.CSR("portal.example.com", "portal.example.com")
	regChain := ca.Sign(regCSR, 24*time.Hour)
	regKeyPEM, _ := testpki.MarshalKey(regKey)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	vars["signed_b64"] = b64(ottr.EncodeChain(signed))
	vars["foreign_b64"] = b64(ottr.EncodeChain(ca.Sign(foreignCSR, time.Hour)))
	vars["regular_b64"], vars["regular_key_b64"] = b64(ottr.EncodeChain(regChain)), b64(regKeyPEM)
	ins := playbook(t, dev, "install.yml", vars)

	for task, want := range map[string]struct{ failed, changed bool }{
		"import": {false, false}, "import again": {true, false}, "import for another key": {true, false}, "import regular": {false, false},
		"bind admin": {false, true}, "bind admin again": {false, false}, "bind missing": {true, false}, "bind pending": {true, false},
		"bind vpn": {false, true}, "comment": {false, true}, "comment again": {false, false},
		"delete in use": {true, false}, "delete unused": {false, true}, "global": {false, false}, "user certificates": {false, false}, "available": {false, false},
	} {
		if r := ins[task]; r.Failed != want.failed || r.Changed != want.changed {
			t.Errorf("%s: failed=%v changed=%v, want %+v: %s %s", task, r.Failed, r.Changed, want, r.Msg, r.Meta)
		}
	}
	if m := ins["import again"].meta(t, "import again"); m.HTTPStatus != 500 || m.Error != -23 {
		t.Errorf("import again: %+v", m)
	}
	if m := ins["import for another key"].meta(t, "import for another key"); m.HTTPStatus != 500 || m.Error != -1 {
		t.Errorf("import for another key: %+v", m)
	}
	// The module follows a refused PUT with a POST, which a table of one
	// object does not allow: its answer is what the module reports.
	if m := ins["bind missing"].meta(t, "bind missing"); m.HTTPMethod != "POST" || m.HTTPStatus != 405 {
		t.Errorf("bind missing: %+v", m)
	}
	if m := ins["delete in use"].meta(t, "delete in use"); m.HTTPStatus != 500 || m.Error != -23 || !strings.Contains(m.CLIError, "The entry is used by other 1 entries") {
		t.Errorf("delete in use: %+v", m)
	}
	if m := ins["bind admin again"].meta(t, "bind admin again"); m.RevisionChanged == nil || *m.RevisionChanged {
		t.Errorf("bind admin again: %+v", m)
	}
	var global map[string]any
	if err := json.Unmarshal(ins["global"].meta(t, "global").Results, &global); err != nil || global["admin-server-cert"] != "ansible-web" {
		t.Errorf("system global: %v %v", global, err)
	}
	var users []map[string]any
	if err := json.Unmarshal(ins["user certificates"].meta(t, "user certificates").Results, &users); err != nil {
		t.Fatal(err)
	}
	wantUsers := []map[string]any{{"name": "ansible-web", "comments": "rotated by Ansible"}, {"name": "ansible-reg", "comments": ""}}
	if fmt.Sprint(users) != fmt.Sprint(wantUsers) {
		t.Errorf("filtered, formatted list %v, want %v", users, wantUsers)
	}
	var all []struct {
		Name, Status string
		QRef         int `json:"q_ref"`
	}
	if err := json.Unmarshal(ins["available"].meta(t, "available").Results, &all); err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, a := range all {
		refs[a.Name] = fmt.Sprintf("%s/%d", a.Status, a.QRef)
	}
	if refs["ansible-web"] != "valid/1" || refs["ansible-reg"] != "valid/1" || refs[fortigate.FactoryGUI] != "valid/0" {
		t.Errorf("available certificates: %v", refs)
	}

	// The device: the imported certificate in the request's entry, with
	// the chain it came with; the regular one with the key sent; the
	// administration port and the portal presenting them.
	certs := dev.Certificates()
	if c := certs["ansible-web"]; len(c.Chain) != 2 || !c.Chain[0].Equal(signed[0]) || c.CSR != nil || !ottr.SamePublicKey(c.Key, csr.PublicKey) {
		t.Errorf("ansible-web: %+v", c)
	}
	if c := certs["ansible-reg"]; len(c.Chain) == 0 || !ottr.SamePublicKey(c.Key, regKey.Public()) {
		t.Errorf("ansible-reg: %+v", c)
	}
	if _, ok := certs["ansible-ec"]; ok {
		t.Error("the unused request was not deleted")
	}
	if admin, vpn := dev.Bindings(); admin != "ansible-web" || vpn != "ansible-reg" {
		t.Errorf("bindings %q, %q", admin, vpn)
	}
	if got := presented(t, dev.Addr); !got.Equal(signed[0]) {
		t.Errorf("the administration port presents %v", got.Subject)
	}
	if got := presented(t, dev.VPNAddr); !got.Equal(regChain[0]) {
		t.Errorf("the SSL-VPN portal presents %v", got.Subject)
	}
	for _, c := range dev.Calls() {
		if strings.Contains(c, "ansibleToken") {
			t.Errorf("the token reached the call log: %s", c)
		}
	}
}
