package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// pythonClient speaks HTTP/1.1 on one kept-alive connection with the
// headers and body layout of Python's requests (json.dumps separators,
// the raw token as the Authorization header), as Ottr's users' scripts do.
type pythonClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	host string
}

func (c *pythonClient) send(method, path, token string, body map[string]any) (int, http.Header, string) {
	c.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: python-requests/2.31.0\r\nAccept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\n", method, path, c.host)
	if token != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", token)
	}
	payload := ""
	if body != nil {
		// json.dumps writes ", " and ": " separators.
		enc, _ := json.Marshal(body)
		payload = pyDumps(enc)
		fmt.Fprintf(&b, "Content-Length: %d\r\nContent-Type: application/json\r\n", len(payload))
	} else if method != "GET" {
		b.WriteString("Content-Length: 0\r\n")
	}
	b.WriteString("\r\n" + payload)
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

// pyDumps re-spaces compact JSON as Python's json.dumps does.
func pyDumps(compact []byte) string {
	var out strings.Builder
	inString, escaped := false, false
	for _, ch := range string(compact) {
		out.WriteRune(ch)
		switch {
		case escaped:
			escaped = false
		case ch == '\\' && inString:
			escaped = true
		case ch == '"':
			inString = !inString
		case !inString && (ch == ',' || ch == ':'):
			out.WriteByte(' ')
		}
	}
	return out.String()
}

// TestOttrClientFlow replays the flow of Ottr's documented Python client
// on the wire: authenticate, add and update a device, search, rotate.
func TestOttrClientFlow(t *testing.T) {
	fx := newRBACFixture(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(fx.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &pythonClient{t: t, conn: conn, r: bufio.NewReader(conn), host: strings.TrimPrefix(fx.srv.URL, "http://")}

	// The documented script posts to /user/v1/authenticate and uses the
	// "token" value as the whole Authorization header.
	code, _, body := c.send("POST", "/user/v1/authenticate", "", map[string]any{"username": "victim-admin", "password": "Passw0rd!"})
	var auth map[string]string
	if json.Unmarshal([]byte(body), &auth); code != 200 || !strings.HasPrefix(auth["token"], "Bearer ") || len(auth) != 1 {
		t.Fatalf("authenticate: %d %s", code, body)
	}
	token := fx.tokens["ADMIN"] // victim-admin is a DEVELOPER; the flow needs PRIVILEGED

	device := map[string]any{
		"system_name": "subdomain.example.com", "common_name": "subdomain.example.com", "certificate_authority": "lets_encrypt",
		"data_center": "DC1", "device_model": "PA-XXXX", "host_platform": "panos", "ip_address": "10.0.0.1",
		"os_version": "9.1.0", "subject_alternative_name": []string{"test.example.com"},
	}
	// Ottr's docs add the device with PUT; Ottr itself refuses an update
	// of an absent device, and so does this API, saying what to do.
	code, h, body := c.send("PUT", "/api/v1/assets", token, device)
	if code != 404 || !strings.Contains(body, "POST /api/v1/assets") || !strings.Contains(h.Get("Content-Type"), "problem+json") {
		t.Errorf("PUT absent: %d %s", code, body)
	}
	code, _, body = c.send("POST", "/api/v1/assets", token, device)
	var a map[string]any
	if json.Unmarshal([]byte(body), &a); code != 201 || a["system_name"] != "subdomain.example.com" || a["origin"] != "API" ||
		a["certificate_validation"] != "True" || a["certificate_expiration"] != nil {
		t.Fatalf("POST: %d %s", code, body)
	}
	device["ip_address"] = "10.0.0.2"
	device["certificate_authority"] = "digicert" // Ottr's update never changes the CA
	code, _, body = c.send("PUT", "/api/v1/assets", token, device)
	if json.Unmarshal([]byte(body), &a); code != 200 || a["ip_address"] != "10.0.0.2" || a["certificate_authority"] != "lets_encrypt" {
		t.Errorf("PUT: %d %s", code, body)
	}
	code, _, body = c.send("GET", "/api/v1/search?system_name=subdomain.example.com", token, nil)
	var found []map[string]any
	if json.Unmarshal([]byte(body), &found); code != 200 || len(found) != 1 || found[0]["ip_address"] != "10.0.0.2" {
		t.Fatalf("search: %d %s", code, body)
	}
	// Ottr answered 200 with an error object when the delegation was
	// missing; here it is a 400 naming each name without a CNAME.
	code, _, body = c.send("POST", "/api/v1/certificate/rotate/subdomain.example.com", token, nil)
	if code != 400 || !strings.Contains(body, "_acme-challenge.test.example.com has no CNAME") {
		t.Errorf("rotate undelegated: %d %s", code, body)
	}
	fx.dns["subdomain.example.com"], fx.dns["test.example.com"] = true, true
	code, _, body = c.send("POST", "/api/v1/certificate/rotate/subdomain.example.com", token, nil)
	var rot map[string]any
	if json.Unmarshal([]byte(body), &rot); code != 202 || rot["id"] == nil || rot["state"] != "queued" {
		t.Fatalf("rotate: %d %s", code, body)
	}
	// The kept-alive connection served every request.
	code, _, _ = c.send("GET", "/", "", nil)
	if code != 200 {
		t.Errorf("GET /: %d", code)
	}
}
