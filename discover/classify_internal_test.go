package discover

import (
	"net/http"
	"testing"
)

// TestClassifyRealAnswers runs the rules on answers shaped as the real
// products send them (as published by their vendors and by scanners'
// fingerprints), including answers the simulators do not give, and on
// look-alikes that must not match.
func TestClassifyRealAnswers(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		rule     func(*answer) (guess, bool)
		a        answer
		platform string // "" and product "": no match
		product  string
	}{
		{"PAN-OS login page", classifyRoot, answer{path: "/", status: 200, body: []byte("<form id=\"login_form\"></form>\n<!-- END PAN_FORM_CONTENT -->\n<!--\n __LOGIN_PAGE_FOR_PANORAMA_BACKWARD_COMPATIBILITY__\n-->")}, "panos", "PAN-OS"},
		{"GlobalProtect portal", classifyRoot, answer{path: "/", status: 200, body: []byte(`<html><head><title>GlobalProtect Portal</title></head><body><a href="/global-protect/login.esp">Log in</a></body></html>`)}, "panos", "PAN-OS GlobalProtect"},
		{"a PHP site with a login.php is not PAN-OS", classifyRoot, answer{path: "/", status: 200, body: []byte(`<a href="/php/login.php">Sign in</a>`)}, "", ""},
		{"PAN-OS keygen refusal, single quotes", panosAPI, answer{path: "/api/", status: 403, body: []byte(`<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>`)}, "panos", "PAN-OS"},
		{"PAN-OS missing parameter", panosAPI, answer{path: "/api/", status: 400, body: []byte(`<response status="error" code="400"><result><msg>Missing parameter</msg></result></response>`)}, "panos", "PAN-OS"},
		{"another XML answer", panosAPI, answer{path: "/api/", status: 200, body: []byte(`<?xml version="1.0"?><response><status>ok</status></response>`)}, "", ""},
		{"BIG-IP Server header", classifyRoot, answer{path: "/", status: 302, header: h("Server", "BigIP", "Location", "/tmui/login.jsp")}, "f5", "BIG-IP"},
		{"BIG-IP persistence cookie", classifyRoot, answer{path: "/", status: 200, header: h("Set-Cookie", "BIGipServerpool_web=rd5o00000000000000000000ffffff0a000a0a; path=/; Httponly")}, "f5", "BIG-IP virtual server"},
		{"BIG-IP httpd refusal (Apache)", bigipREST, answer{path: "/mgmt/tm/sys", status: 401, header: h("Server", "Apache", "WWW-Authenticate", `Basic realm="Enterprise Manager"`), body: []byte(`<html><head><title>Authentication required!</title></head></html>`)}, "f5", "BIG-IP"},
		{"BIG-IP REST error body", bigipREST, answer{path: "/mgmt/tm/sys", status: 401, body: []byte(`{"code":401,"message":"Authorization failed: no user authentication header or token detected.","referer":"10.0.0.9","restOperationId":4410224,"kind":":resterrorresponse"}`)}, "f5", "BIG-IP"},
		{"another Basic realm", bigipREST, answer{path: "/mgmt/tm/sys", status: 401, header: h("WWW-Authenticate", `Basic realm="Restricted"`)}, "", ""},
		{"FortiOS Server header", classifyRoot, answer{path: "/", status: 200, header: h("Server", "xxxxxxxx-xxxxx")}, "fortigate", "FortiGate"},
		{"FortiGate SSL-VPN redirect", classifyRoot, answer{path: "/", status: 200, body: []byte(`<html><script type="text/javascript">top.location="/remote/login";</script></html>`)}, "fortigate", "FortiGate SSL-VPN"},
		{"FortiOS REST envelope", fortiosAPI, answer{path: "/api/v2/monitor/system/status", status: 401, body: []byte(`{"http_method":"GET","status":"error","http_status":401}`)}, "fortigate", "FortiGate"},
		{"NITRO refusal", nitro, answer{path: "/nitro/v1/config/", status: 401, body: []byte(`{ "errorcode": 1027, "message": "Not logged in or connection timed out", "severity": "ERROR" }`)}, "netscaler", "NetScaler ADC"},
		{"an errorcode without severity", nitro, answer{path: "/nitro/v1/config/", status: 400, body: []byte(`{"errorcode": 5, "message": "bad"}`)}, "", ""},
		{"NetScaler Gateway logon page", classifyRoot, answer{path: "/", status: 200, body: []byte(`<span id="_ctxstxt_CitrixCopyright"></span>`)}, "netscaler", "NetScaler Gateway"},
		{"Lighthouse refusal", lighthouseAPI, answer{path: "/api/v3.7/system/version", status: 401, body: []byte(`{"error":[{"type":7,"code":43,"text":"Invalid session ID.","args":{},"level":1}]}`)}, "lighthouse", "Opengear Lighthouse"},
		{"another error list", lighthouseAPI, answer{path: "/api/v3.7/system/version", status: 401, body: []byte(`{"error":[{"message":"unauthorized"}]}`)}, "", ""},
		{"iDRAC service root", redfishRoot, answer{path: "/redfish/v1/", status: 200, body: []byte(`{"@odata.id":"/redfish/v1","RedfishVersion":"1.11.0","Vendor":"Dell","Product":"Integrated Dell Remote Access Controller","Oem":{"Dell":{}}}`)}, "idrac", "Dell iDRAC"},
		{"iLO 4 service root (Oem only)", redfishRoot, answer{path: "/redfish/v1/", status: 200, body: []byte(`{"@odata.id":"/redfish/v1/","RedfishVersion":"1.0.0","Oem":{"Hp":{"Manager":[{"ManagerType":"iLO 4"}]}}}`)}, "ilo", "HPE iLO"},
		{"a JSON root without RedfishVersion", redfishRoot, answer{path: "/redfish/v1/", status: 200, body: []byte(`{"Vendor":"Dell"}`)}, "", ""},
		{"J-Web on Appweb", classifyRoot, answer{path: "/", status: 200, header: h("Server", "Embedthis-Appweb/3.2.3"), body: []byte(`<link rel="stylesheet" href="/stylesheet/juniper.css" type="text/css"/><title>Log In - Juniper Web Device Manager</title>`)}, "junos", "Junos J-Web"},
		{"Appweb alone is not J-Web", byHeaders, answer{path: "/", status: 200, header: h("Server", "Embedthis-Appweb/3.2.3"), body: []byte(`<title>Router</title>`)}, "", ""},
		{"nginx default page", classifyRoot, answer{path: "/", status: 200, header: h("Server", "nginx/1.22.1"), body: []byte(`<title>Welcome to nginx!</title>`)}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.a.header == nil {
				tc.a.header = http.Header{}
			}
			g, ok := tc.rule(&tc.a)
			if ok != (tc.product != "") || g.platform != tc.platform || g.product != tc.product {
				t.Errorf("matched %v as %q %q (%s); want %q %q", ok, g.platform, g.product, g.evidence, tc.platform, tc.product)
			}
			if ok && g.evidence == "" {
				t.Error("no evidence")
			}
		})
	}
	for server, want := range map[string]string{"nginx/1.22.1": "nginx", "openresty": "nginx", "Apache/2.4.57 (Debian)": "Apache httpd", "Apache-Coyote/1.1": "TLS server", "Microsoft-IIS/10.0": "TLS server"} {
		if g, ok := generic(server); !ok || g.product != want || g.platform != "" {
			t.Errorf("Server %q: %+v", server, g)
		}
	}
}
