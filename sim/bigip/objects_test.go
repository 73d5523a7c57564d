package bigip_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/bigip"
)

type caller func(method, path string, body any, hdr map[string]string) (int, map[string]any)

// restClient calls the simulator with HTTP Basic, as F5's clients may.
func restClient(t *testing.T, dev *bigip.Device) caller {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // factory certificate
	return func(method, path string, body any, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case nil:
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, "https://"+dev.Addr+path, rd)
		req.SetBasicAuth("admin", "Adm1n.Passw0rd")
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
}

func uploadFile(t *testing.T, call caller, name string, b []byte) {
	t.Helper()
	if code, body := call("POST", "/mgmt/shared/file-transfer/uploads/"+name, b,
		map[string]string{"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("0-%d/%d", len(b)-1, len(b))}); code != 200 {
		t.Fatalf("upload %s: %d %v", name, code, body)
	}
}

// isTMError checks F5's tm error envelope and its message.
func isTMError(body map[string]any, code int, msg string) bool {
	_, stack := body["errorStack"].([]any)
	return body["code"] == float64(code) && stack && body["apiError"] != nil && strings.Contains(fmt.Sprint(body["message"]), msg)
}

// crypto key install takes the key in the uploaded file; an encrypted
// key, a file never uploaded and a path outside the REST download area
// are refused in F5's envelope.
func TestCryptoKeyInstallUsesTheFile(t *testing.T) {
	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	call := restClient(t, dev)
	_, key := testpki.CSR("x.example.com")
	keyPEM, _ := testpki.MarshalKey(key)
	uploadFile(t, call, "x.key", keyPEM)
	if code, body := call("POST", "/mgmt/tm/sys/crypto/key", map[string]string{"command": "install", "name": "x.key", "from-local-file": "/var/config/rest/downloads/x.key"}, nil); code != 200 {
		t.Fatalf("install: %d %v", code, body)
	}
	if k := dev.Key("/Common/x.key"); k == nil || !ottr.SamePublicKey(k.Public(), key.Public()) {
		t.Fatal("crypto key install did not install the uploaded key")
	}
	code, body := call("GET", "/mgmt/tm/sys/file/ssl-key/~Common~x.key", nil, nil)
	if code != 200 || body["keyType"] != "ec-private" || body["fullPath"] != "/Common/x.key" || !strings.HasPrefix(fmt.Sprint(body["checksum"]), fmt.Sprintf("SHA1:%d:", len(keyPEM))) {
		t.Errorf("GET the key: %d %v", code, body)
	}
	uploadFile(t, call, "enc.key", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n"))
	for _, c := range []struct {
		body map[string]string
		code int
		msg  string
	}{
		{map[string]string{"command": "install", "name": "enc.key", "from-local-file": "/var/config/rest/downloads/enc.key"}, 400, "not modelled"},
		{map[string]string{"command": "install", "name": "y.key", "from-local-file": "/var/config/rest/downloads/y.key"}, 400, "does not exist"},
		{map[string]string{"command": "install", "name": "z.key", "from-local-file": "/config/ssl/ssl.key/z.key"}, 400, "not modelled"},
		{map[string]string{"command": "install", "name": "x.key", "from-local-file": "/var/config/rest/downloads/x.key"}, 200, ""},
	} {
		if code, body := call("POST", "/mgmt/tm/sys/crypto/key", c.body, nil); code != c.code || (c.msg != "" && !isTMError(body, c.code, c.msg)) {
			t.Errorf("install %v: %d %v, want %d %q", c.body, code, body, c.code, c.msg)
		}
	}
	if k := dev.Key("/Common/enc.key"); k != nil {
		t.Error("a refused install left a key")
	}
}

// A transaction runs all its calls or none; a failed check rolls back
// the calls before it.
func TestTransactionAllOrNothing(t *testing.T) {
	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	call := restClient(t, dev)
	ca := testpki.NewCA("CA")
	csr, key := testpki.CSR("t.example.com")
	chain := ca.Sign(csr, time.Hour)
	keyPEM, _ := testpki.MarshalKey(key)
	uploadFile(t, call, "t.key", keyPEM)
	uploadFile(t, call, "t.crt", ottr.EncodeChain(chain[:1]))
	uploadFile(t, call, "other.crt", ottr.EncodeChain([]*x509.Certificate{ca.Cert}))

	open := func() map[string]string {
		code, body := call("POST", "/mgmt/tm/transaction", map[string]any{}, nil)
		if code != 200 || body["state"] != "STARTED" {
			t.Fatalf("open: %d %v", code, body)
		}
		return map[string]string{"X-F5-REST-Coordination-Id": fmt.Sprint(int64(body["transId"].(float64)))}
	}
	commit := func(h map[string]string) (int, map[string]any) {
		return call("PATCH", "/mgmt/tm/transaction/"+h["X-F5-REST-Coordination-Id"], map[string]any{"state": "VALIDATING", "validateOnly": false}, nil)
	}
	// Key and certificate, then a profile bound to the key with the CA's
	// certificate: the last fails the check, so nothing stays.
	h := open()
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/mgmt/tm/sys/file/ssl-key", map[string]any{"name": "t.key", "partition": "Common", "sourcePath": "file:///var/config/rest/downloads/t.key"}},
		{"/mgmt/tm/sys/file/ssl-cert", map[string]any{"name": "other.crt", "partition": "Common", "sourcePath": "file:///var/config/rest/downloads/other.crt"}},
		{"/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl", map[string]any{"certKeyChain": []map[string]string{{"name": "t", "cert": "/Common/other.crt", "key": "/Common/t.key"}}}},
	} {
		method := "POST"
		if strings.Contains(c.path, "~") {
			method = "PATCH"
		}
		if code, body := call(method, c.path, c.body, h); code != 200 {
			t.Fatalf("queue %s: %d %v", c.path, code, body)
		}
	}
	if dev.Key("/Common/t.key") != nil {
		t.Fatal("a queued call ran before the commit")
	}
	if code, body := commit(h); code != 400 || !isTMError(body, 400, "do not match") {
		t.Errorf("commit of a mismatched binding: %d %v", code, body)
	}
	if dev.Key("/Common/t.key") != nil || dev.Cert("/Common/other.crt") != nil || dev.Profile("clientssl").Cert != "/Common/default.crt" {
		t.Error("a failed transaction left changes")
	}
	// The matching certificate commits.
	h = open()
	call("POST", "/mgmt/tm/sys/file/ssl-key", map[string]any{"name": "t.key", "sourcePath": "file:///var/config/rest/downloads/t.key"}, h)
	call("POST", "/mgmt/tm/sys/file/ssl-cert", map[string]any{"name": "t.crt", "sourcePath": "file:///var/config/rest/downloads/t.crt"}, h)
	call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl", map[string]any{"certKeyChain": []map[string]string{{"name": "t", "cert": "/Common/t.crt", "key": "/Common/t.key"}}}, h)
	if code, body := commit(h); code != 200 || body["state"] != "COMPLETED" {
		t.Fatalf("commit: %d %v", code, body)
	}
	if got := dev.Profile("clientssl"); got != (bigip.Profile{Cert: "/Common/t.crt", Key: "/Common/t.key", Chain: "none"}) {
		t.Errorf("after the commit the profile binds %+v", got)
	}
}

// Collections page with $top/$skip and filter by partition; past the end
// there are no items. Unmodelled calls are refused in F5's envelope.
func TestCollectionsAndRefusals(t *testing.T) {
	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl-www")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	call := restClient(t, dev)
	var names []string
	for skip := 0; ; skip++ {
		code, body := call("GET", fmt.Sprintf("/mgmt/tm/ltm/profile/client-ssl?$top=1&$skip=%d&$filter=partition+eq+Common", skip), nil, nil)
		if code != 200 {
			t.Fatalf("page %d: %d %v", skip, code, body)
		}
		items, ok := body["items"].([]any)
		if !ok {
			break
		}
		if len(items) != 1 {
			t.Fatalf("page %d has %d items", skip, len(items))
		}
		names = append(names, fmt.Sprint(items[0].(map[string]any)["fullPath"]))
	}
	if strings.Join(names, " ") != "/Common/clientssl /Common/clientssl-www" {
		t.Errorf("pages: %v", names)
	}
	if _, body := call("GET", "/mgmt/tm/sys/file/ssl-cert?$filter=partition+eq+Other", nil, nil); body["items"] != nil {
		t.Errorf("filter by another partition: %v", body)
	}
	code, body := call("GET", "/mgmt/tm/sys/", nil, nil)
	if code != 200 || !strings.HasSuffix(fmt.Sprint(body["selfLink"]), "?ver=15.1.8") {
		t.Errorf("GET /mgmt/tm/sys/: %d %v", code, body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/mgmt/tm/ltm/virtual"},
		{"PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-www"},
	} {
		var b any
		if c.method == "PATCH" {
			b = map[string]string{"ciphers": "ECDHE"}
		}
		if code, body := call(c.method, c.path, b, nil); code != 400 || !isTMError(body, 400, "not modelled") {
			t.Errorf("%s %s: %d %v", c.method, c.path, code, body)
		}
	}
	if code, body := call("GET", "/mgmt/tm/sys/file/ssl-cert/~Common~nothere.crt", nil, nil); code != 404 || !isTMError(body, 404, "01020036:3") {
		t.Errorf("missing object: %d %v", code, body)
	}
	if code, body := call("POST", "/mgmt/tm/util/bash", map[string]string{"command": "run", "utilCmdArgs": `-c "rm -rf /config"`}, nil); code != 400 || !isTMError(body, 400, "not modelled") {
		t.Errorf("unmodelled bash: %d %v", code, body)
	}
}
