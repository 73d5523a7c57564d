package redfish_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/redfish"
)

// call is one request to the simulator, written from DSP0266.
type call struct {
	dev    *redfish.Device
	header http.Header
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (c call) do(t *testing.T, method, path string, body any) reply {
	t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, "https://"+c.dev.Addr+path, rd)
	for k, v := range c.header {
		req.Header[k] = v
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the simulator's own certificate
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s: %d answer is not JSON: %s", method, path, resp.StatusCode, b)
		}
	}
	return r
}

// ids are the MessageIds of an error envelope's @Message.ExtendedInfo.
func (r reply) ids() string {
	e, _ := r.body["error"].(map[string]any)
	infos, _ := e["@Message.ExtendedInfo"].([]any)
	var ids []string
	for _, i := range infos {
		ids = append(ids, i.(map[string]any)["MessageId"].(string))
	}
	return strings.Join(ids, ",")
}

func basic() http.Header {
	h := http.Header{}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(admin, adminPW)
	h.Set("Authorization", req.Header.Get("Authorization"))
	return h
}

// TestProtocol checks the service against DSP0266 as written: the open
// resources, sessions, the error envelope and status codes, ETags, and
// the certificate actions' refusals.
func TestProtocol(t *testing.T) {
	dev := startBMC(t, "openbmc")
	open := call{dev: dev}
	auth := call{dev: dev, header: basic()}
	coll := "/redfish/v1/Managers/bmc/NetworkProtocol/HTTPS/Certificates"

	if r := open.do(t, "GET", "/redfish", nil); r.status != 200 || r.body["v1"] != "/redfish/v1/" {
		t.Errorf("GET /redfish: %+v", r)
	}
	if r := open.do(t, "GET", "/redfish/v1", nil); r.status != 200 || r.header.Get("OData-Version") != "4.0" || r.body["Vendor"] != "OpenBMC" {
		t.Errorf("service root without credentials: %+v", r)
	}
	if r := open.do(t, "GET", "/redfish/v1/Managers", nil); r.status != 401 || r.ids() != "Base.1.16.0.NoValidSession" || r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %+v", r)
	}

	// Sessions: 201, X-Auth-Token, Location; DELETE logs out.
	for body, want := range map[string]string{`{"UserName":"root"}`: "Base.1.16.0.PropertyMissing", `{"UserName":"root","Password":7}`: "Base.1.16.0.PropertyValueTypeError",
		`{"UserName":`: "Base.1.16.0.MalformedJSON", `{"UserName":"root","Password":"x","Role":"a"}`: "Base.1.16.0.PropertyUnknown"} {
		if r := open.do(t, "POST", "/redfish/v1/SessionService/Sessions", body); r.status != 400 || r.ids() != want {
			t.Errorf("login %s: %d %s, want %s", body, r.status, r.ids(), want)
		}
	}
	r := open.do(t, "POST", "/redfish/v1/SessionService/Sessions", map[string]string{"UserName": admin, "Password": adminPW})
	tok, loc := r.header.Get("X-Auth-Token"), r.header.Get("Location")
	if r.status != 201 || tok == "" || loc != r.body["@odata.id"] || r.body["UserName"] != admin {
		t.Fatalf("login: %+v", r)
	}
	sess := call{dev: dev, header: http.Header{"X-Auth-Token": {tok}}}
	if r := sess.do(t, "GET", "/redfish/v1/SessionService/Sessions", nil); r.status != 200 || r.body["Members@odata.count"] != 1.0 {
		t.Errorf("sessions: %+v", r)
	}
	if r := sess.do(t, "DELETE", loc, nil); r.status != 200 {
		t.Errorf("logout: %+v", r)
	}
	if r := sess.do(t, "GET", "/redfish/v1/Managers", nil); r.status != 401 {
		t.Errorf("after logout: %d", r.status)
	}

	// 404, 405 with Allow, ETags.
	if r := auth.do(t, "GET", "/redfish/v1/Systems", nil); r.status != 404 || r.ids() != "Base.1.16.0.ResourceNotFound" {
		t.Errorf("unmodelled resource: %+v", r)
	}
	if r := auth.do(t, "PATCH", coll+"/1", map[string]string{}); r.status != 405 || r.header.Get("Allow") != "GET, HEAD, DELETE" || r.ids() != "Base.1.16.0.OperationNotAllowed" {
		t.Errorf("PATCH a certificate: %d %q %s", r.status, r.header.Get("Allow"), r.ids())
	}
	r = auth.do(t, "GET", coll+"/1", nil)
	etag := r.header.Get("ETag")
	if r.status != 200 || etag == "" || r.body["@odata.etag"] != etag {
		t.Fatalf("certificate: %+v", r)
	}
	cond := call{dev: dev, header: basic()}
	cond.header.Set("If-None-Match", etag)
	if r := cond.do(t, "GET", coll+"/1", nil); r.status != 304 {
		t.Errorf("If-None-Match with the ETag: %d", r.status)
	}
	cond.header.Del("If-None-Match")
	cond.header.Set("If-Match", `W/"000000000000"`)
	if r := cond.do(t, "DELETE", coll+"/1", nil); r.status != 412 || r.ids() != "Base.1.16.0.PreconditionFailed" {
		t.Errorf("DELETE with a stale ETag: %d %s", r.status, r.ids())
	}
	cond.header.Set("If-Match", etag)
	if r := cond.do(t, "DELETE", coll+"/1", nil); r.status != 409 || r.ids() != "Base.1.16.0.ResourceInUse" {
		t.Errorf("DELETE of the certificate in use: %d %s", r.status, r.ids())
	}

	// GenerateCSR's refusals, each naming the parameter.
	gen := "/redfish/v1/CertificateService/Actions/CertificateService.GenerateCSR"
	ref := map[string]string{"@odata.id": coll}
	for _, tc := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"CertificateCollection": ref}, "Base.1.16.0.ActionParameterMissing"},
		{map[string]any{"CertificateCollection": coll, "CommonName": "a"}, "Base.1.16.0.ActionParameterValueTypeError"},
		{map[string]any{"CertificateCollection": map[string]string{"@odata.id": "/redfish/v1/x"}, "CommonName": "a"}, "Base.1.16.0.ActionParameterValueError"},
		{map[string]any{"CertificateCollection": ref, "CommonName": "a", "KeyPairAlgorithm": "TPM_ALG_RSA", "KeyBitLength": 1024}, "Base.1.16.0.ActionParameterValueNotInList"},
		{map[string]any{"CertificateCollection": ref, "CommonName": "a", "KeyCurveId": "TPM_ECC_NIST_P256"}, "Base.1.16.0.ActionParameterMissing"},
		{map[string]any{"CertificateCollection": ref, "CommonName": "a", "Country": "USA"}, "Base.1.16.0.ActionParameterValueFormatError"},
		{map[string]any{"CertificateCollection": ref, "CommonName": "a", "ChallengePassword": "x"}, "Base.1.16.0.ActionParameterNotSupported"},
		{map[string]any{"CertificateCollection": ref, "CommonName": "a", "Colour": "x"}, "Base.1.16.0.ActionParameterUnknown"},
	} {
		if r := auth.do(t, "POST", gen, tc.body); r.status != 400 || r.ids() != tc.want {
			t.Errorf("GenerateCSR %v: %d %s, want %s", tc.body, r.status, r.ids(), tc.want)
		}
	}
	if dev.PendingKey() != nil {
		t.Error("a refused request left a key")
	}
	r = auth.do(t, "POST", gen, map[string]any{"CertificateCollection": ref, "CommonName": "bmc.example.com", "AlternativeNames": []string{"bmc.example.com"}})
	csr, err := ottr.ParseCSR([]byte(r.body["CSRString"].(string)))
	if r.status != 200 || err != nil {
		t.Fatalf("GenerateCSR: %+v %v", r, err)
	}

	// ReplaceCertificate: a chain with PEM on a PEM-only BMC is taken and
	// served as the chain; a key in the string is refused as not modelled.
	ca := testpki.NewCA("Corp CA")
	chain := ca.Sign(csr, time.Hour)
	rep := "/redfish/v1/CertificateService/Actions/CertificateService.ReplaceCertificate"
	uri := map[string]string{"@odata.id": coll + "/1"}
	key := "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
	if r := auth.do(t, "POST", rep, map[string]any{"CertificateUri": uri, "CertificateType": "PEM", "CertificateString": string(ottr.EncodeChain(chain)) + key}); r.status != 400 ||
		r.ids() != "Base.1.16.0.ActionParameterNotSupported" {
		t.Errorf("a key in the string: %d %s", r.status, r.ids())
	}
	if r := auth.do(t, "POST", rep, map[string]any{"CertificateUri": uri, "CertificateType": "PEMchain", "CertificateString": string(ottr.EncodeChain(chain))}); r.status != 400 ||
		r.ids() != "Base.1.16.0.ActionParameterValueNotInList" {
		t.Errorf("PEMchain on a PEM-only BMC: %d %s", r.status, r.ids())
	}
	r = auth.do(t, "POST", rep, map[string]any{"CertificateUri": uri, "CertificateType": "PEM", "CertificateString": string(ottr.EncodeChain(chain))})
	if r.status != 200 || r.header.Get("Location") != coll+"/1" || r.body["Id"] != "1" {
		t.Fatalf("replace: %+v", r)
	}
	if got := tlsLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Error("not served")
	}
	if r := auth.do(t, "GET", coll+"/1", nil); r.header.Get("ETag") == etag {
		t.Error("the ETag did not change with the certificate")
	}

	// A read-only account reads but may not change certificates.
	dev.AddUser("viewer", "View.Passw0rd1", "ReadOnly")
	ro := call{dev: dev, header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("viewer", "View.Passw0rd1")
	ro.header.Set("Authorization", req.Header.Get("Authorization"))
	if r := ro.do(t, "GET", coll, nil); r.status != 200 {
		t.Errorf("read-only GET: %d", r.status)
	}
	if r := ro.do(t, "POST", gen, map[string]any{"CertificateCollection": ref, "CommonName": "a"}); r.status != 403 || r.ids() != "Base.1.16.0.InsufficientPrivilege" {
		t.Errorf("read-only GenerateCSR: %d %s", r.status, r.ids())
	}
}

// TestProfiles checks what differs between the vendor profiles: PEMchain
// on XCC (and a chain sent as PEM refused there), no ReplaceCertificate on
// Supermicro (404 for the action, POST to the collection under a new Id),
// iDRAC serving the old certificate until Manager.Reset.
func TestProfiles(t *testing.T) {
	ca := testpki.NewCA("Corp CA")
	gen := "/redfish/v1/CertificateService/Actions/CertificateService.GenerateCSR"
	rep := "/redfish/v1/CertificateService/Actions/CertificateService.ReplaceCertificate"
	request := func(t *testing.T, c call, mgr string) []byte {
		r := c.do(t, "POST", gen, map[string]any{"CertificateCollection": "/redfish/v1/Managers/" + mgr + "/NetworkProtocol/HTTPS/Certificates", "CommonName": "bmc.example.com"})
		csr, err := ottr.ParseCSR([]byte(r.body["CSRString"].(string)))
		if err != nil {
			t.Fatalf("GenerateCSR: %+v", r)
		}
		return ottr.EncodeChain(ca.Sign(csr, time.Hour))
	}

	t.Run("xcc", func(t *testing.T) {
		dev := startBMC(t, "xcc")
		c := call{dev: dev, header: basic()}
		chain := request(t, c, "1")
		uri := "/redfish/v1/Managers/1/NetworkProtocol/HTTPS/Certificates/1"
		if r := c.do(t, "POST", rep, map[string]any{"CertificateUri": uri, "CertificateType": "PEM", "CertificateString": string(chain)}); r.status != 400 || r.ids() != "Base.1.16.0.ActionParameterValueError" {
			t.Errorf("a chain as PEM: %d %s", r.status, r.ids())
		}
		r := c.do(t, "POST", rep, map[string]any{"CertificateUri": uri, "CertificateType": "PEMchain", "CertificateString": string(chain)})
		mon := r.header.Get("Location")
		if r.status != 202 || !strings.HasPrefix(mon, "/redfish/v1/TaskService/TaskMonitors/") || r.body["TaskState"] != "Running" {
			t.Fatalf("replace: %+v", r)
		}
		task := "/redfish/v1/TaskService/Tasks/" + r.body["Id"].(string)
		if r := c.do(t, "GET", mon, nil); r.status != 202 {
			t.Errorf("first poll: %d", r.status)
		}
		if r := c.do(t, "GET", task, nil); r.status != 200 || r.body["TaskState"] != "Completed" || r.body["PercentComplete"] != 100.0 {
			t.Errorf("task: %+v", r.body)
		}
		if r := c.do(t, "GET", mon, nil); r.status != 200 || r.body["CertificateType"] != "PEMchain" {
			t.Errorf("monitor after completion: %+v", r)
		}
	})
	t.Run("supermicro", func(t *testing.T) {
		dev := startBMC(t, "supermicro")
		c := call{dev: dev, header: basic()}
		if r := c.do(t, "GET", "/redfish/v1/CertificateService", nil); r.body["Actions"].(map[string]any)["#CertificateService.ReplaceCertificate"] != nil {
			t.Error("Supermicro lists ReplaceCertificate")
		}
		chain := request(t, c, "1")
		if r := c.do(t, "POST", rep, map[string]any{}); r.status != 404 {
			t.Errorf("ReplaceCertificate: %d", r.status)
		}
		coll := "/redfish/v1/Managers/1/NetworkProtocol/HTTPS/Certificates"
		r := c.do(t, "POST", coll, map[string]any{"CertificateType": "PEM", "CertificateString": string(chain)})
		if r.status != 201 || r.header.Get("Location") != coll+"/2" {
			t.Fatalf("POST to the collection: %+v", r)
		}
		if r := c.do(t, "GET", coll+"/1", nil); r.status != 404 {
			t.Errorf("the replaced member: %d", r.status)
		}
	})
	t.Run("idrac", func(t *testing.T) {
		dev := startBMC(t, "idrac")
		c := call{dev: dev, header: basic()}
		_, before := dev.Certificate()
		chain := request(t, c, "iDRAC.Embedded.1")
		if r := c.do(t, "POST", rep, map[string]any{"CertificateUri": "/redfish/v1/Managers/iDRAC.Embedded.1/NetworkProtocol/HTTPS/Certificates/1",
			"CertificateType": "PEM", "CertificateString": string(chain)}); r.status != 200 {
			t.Fatalf("replace: %+v", r)
		}
		if got := tlsLeaf(t, dev.Addr); !got.Equal(before[0]) {
			t.Error("the new certificate is served before the reset")
		}
		reset := "/redfish/v1/Managers/iDRAC.Embedded.1/Actions/Manager.Reset"
		if r := c.do(t, "POST", reset, map[string]string{"ResetType": "ForceOff"}); r.status != 400 || r.ids() != "Base.1.16.0.ActionParameterValueNotInList" {
			t.Errorf("ForceOff: %d %s", r.status, r.ids())
		}
		if r := c.do(t, "POST", reset, map[string]string{"ResetType": "GracefulRestart"}); r.status != 204 || !dev.Down() {
			t.Fatalf("reset: %d", r.status)
		}
		waitUp(t, dev)
		if conf, _ := dev.Certificate(); !tlsLeaf(t, dev.Addr).Equal(conf[0]) {
			t.Error("the new certificate is not served after the reset")
		}
	})
}
