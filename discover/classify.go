package discover

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/ottr-dev/ottr"
)

// guess is what an endpoint appears to be, and why.
type guess struct {
	platform, product, driver, evidence string
}

// probes are the side-effect-free GETs discovery sends after GET /, in
// order, each with the rule that reads its answer. Each path is one the
// product answers without credentials, with an answer no other product
// gives (see docs/discovery.md): the rules read what the real devices
// send, not only what the simulators in sim/ do.
var probes = []struct {
	path  string
	match func(a *answer) (guess, bool)
}{
	{"/redfish/v1/", redfishRoot},
	{"/api/", panosAPI},
	{"/mgmt/tm/sys", bigipREST},
	{"/nitro/v1/config/", nitro},
	{"/api/v3.7/system/version", lighthouseAPI},
	{"/api/v2/monitor/system/status", fortiosAPI},
}

// classifyRoot reads the answer to GET /: a product's own Server header,
// cookie or login page.
func classifyRoot(a *answer) (guess, bool) {
	body := a.body
	// FortiOS's portal sends its Server header too: the page says it is
	// the portal, not the administration server.
	if bytes.Contains(body, []byte(`top.location="/remote/login"`)) {
		return guess{"fortigate", "FortiGate SSL-VPN", "fortigate", `GET /: FortiOS's SSL-VPN redirect to /remote/login`}, true
	}
	if g, ok := byHeaders(a); ok {
		return g, true
	}
	switch {
	case bytes.Contains(body, []byte("__LOGIN_PAGE_FOR_PANORAMA_BACKWARD_COMPATIBILITY__")) || bytes.Contains(body, []byte("PAN_FORM_CONTENT")):
		return guess{"panos", "PAN-OS", "panos", "GET /: the PAN-OS web interface's login page"}, true
	case bytes.Contains(body, []byte("global-protect/login.esp")) || titleIs(body, "GlobalProtect Portal"):
		return guess{"panos", "PAN-OS GlobalProtect", "panos", "GET /: a GlobalProtect portal page"}, true
	case titleHas(body, "Juniper Web Device Manager") || titleHas(body, "J-Web") || bytes.Contains(body, []byte("/stylesheet/juniper.css")):
		return guess{"junos", "Junos J-Web", "junos", "GET /: the J-Web login page (" + title(body) + ")"}, true
	case bytes.Contains(body, []byte("_ctxstxt_CitrixCopyright")):
		return guess{"netscaler", "NetScaler Gateway", "netscaler", "GET /: the NetScaler Gateway logon page"}, true
	case titleHas(body, "BIG-IP") && bytes.Contains(body, []byte("/tmui/")):
		return guess{"f5", "BIG-IP", "bigip", "GET /: the BIG-IP Configuration Utility (/tmui/)"}, true
	}
	return guess{}, false
}

// byHeaders reads what any answer's headers tell.
func byHeaders(a *answer) (guess, bool) {
	server := a.header.Get("Server")
	switch ls := strings.ToLower(server); {
	case ls == "xxxxxxxx-xxxxx":
		return guess{"fortigate", "FortiGate", "fortigate", fmt.Sprintf("GET %s: Server: %s (FortiOS's masked Server header)", a.path, server)}, true
	case ls == "bigip" || ls == "big-ip":
		return guess{"f5", "BIG-IP", "bigip", fmt.Sprintf("GET %s: Server: %s", a.path, server)}, true
	case strings.HasPrefix(ls, "embedthis-appweb") && (titleHas(a.body, "Juniper") || titleHas(a.body, "J-Web")):
		return guess{"junos", "Junos J-Web", "junos", fmt.Sprintf("GET %s: Server: %s with the J-Web login page (%s)", a.path, server, title(a.body))}, true
	}
	for _, c := range a.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "BIGipServer") {
			name, _, _ := strings.Cut(c, "=")
			return guess{"f5", "BIG-IP virtual server", "bigip", fmt.Sprintf("GET %s: BIG-IP persistence cookie %s", a.path, name)}, true
		}
	}
	return guess{}, false
}

// generic names a web server that is none of the products from its
// Server header; ok is false when there is none.
func generic(server string) (guess, bool) {
	ls := strings.ToLower(server)
	switch {
	case ls == "":
		return guess{}, false
	case strings.HasPrefix(ls, "nginx") || strings.HasPrefix(ls, "openresty"):
		return guess{"", ottr.ProductNginx, "linux", "Server: " + server}, true
	case strings.HasPrefix(ls, "apache") && !strings.HasPrefix(ls, "apache-coyote"):
		return guess{"", ottr.ProductApache, "linux", "Server: " + server}, true
	}
	return guess{"", ottr.ProductTLS, "", "Server: " + server}, true
}

// redfishRoot reads a Redfish service root (DSP0266: served without
// authentication) and names the BMC from its Vendor, else its Oem keys.
func redfishRoot(a *answer) (guess, bool) {
	if a.status != http.StatusOK {
		return guess{}, false
	}
	var root struct {
		RedfishVersion string
		Vendor         string
		Product        string
		Oem            map[string]json.RawMessage
	}
	if json.Unmarshal(a.body, &root) != nil || root.RedfishVersion == "" {
		return guess{}, false
	}
	vendor := root.Vendor
	if vendor == "" && len(root.Oem) > 0 {
		vendor = slices.Sorted(maps.Keys(root.Oem))[0]
	}
	evidence := fmt.Sprintf("GET %s: a Redfish service root (RedfishVersion %s", a.path, root.RedfishVersion)
	if vendor != "" {
		evidence += ", vendor " + vendor
	}
	if root.Product != "" {
		evidence += ", product " + root.Product
	}
	evidence += ")"
	g := guess{"redfish", "Redfish BMC", "redfish", evidence}
	switch v := strings.ToLower(vendor); {
	case v == "dell" || strings.HasPrefix(v, "dell "):
		g.platform, g.product = "idrac", "Dell iDRAC"
	case v == "hpe" || v == "hp" || strings.HasPrefix(v, "hewlett"):
		g.platform, g.product = "ilo", "HPE iLO"
	case v == "lenovo":
		g.platform, g.product = "xcc", "Lenovo XClarity Controller"
	case v == "supermicro":
		g.platform, g.product = "supermicro", "Supermicro BMC"
	}
	return g, true
}

// panosAPI reads the PAN-OS XML API's envelope, <response status="…">,
// which the API answers every request with, refused ones included (HTTP
// 403 "Invalid Credential" without a key).
func panosAPI(a *answer) (guess, bool) {
	var env struct {
		XMLName xml.Name
		Status  string `xml:"status,attr"`
		Code    string `xml:"code,attr"`
	}
	if xml.NewDecoder(bytes.NewReader(a.body)).Decode(&env) != nil || env.XMLName.Local != "response" ||
		(env.Status != "success" && env.Status != "error") {
		return guess{}, false
	}
	e := fmt.Sprintf(`GET %s: HTTP %d with the PAN-OS XML API envelope <response status="%s"`, a.path, a.status, env.Status)
	if env.Code != "" {
		e += fmt.Sprintf(` code="%s"`, env.Code)
	}
	return guess{"panos", "PAN-OS", "panos", e + ">"}, true
}

// bigipREST reads iControl REST's refusal of an unauthenticated request:
// 401 with the Basic realm "Enterprise Manager" and a JSON body of kind
// ":resterrorresponse".
func bigipREST(a *answer) (guess, bool) {
	realm := a.header.Get("WWW-Authenticate")
	var body struct {
		Kind string `json:"kind"`
	}
	_ = json.Unmarshal(a.body, &body)
	switch {
	case a.status == http.StatusUnauthorized && (strings.Contains(realm, `"Enterprise Manager"`) || strings.Contains(realm, "iControl")):
		return guess{"f5", "BIG-IP", "bigip", fmt.Sprintf("GET %s: 401 WWW-Authenticate: %s (iControl REST)", a.path, realm)}, true
	case body.Kind == ":resterrorresponse":
		return guess{"f5", "BIG-IP", "bigip", fmt.Sprintf(`GET %s: HTTP %d with an iControl REST error ("kind":":resterrorresponse")`, a.path, a.status)}, true
	}
	return guess{}, false
}

// nitro reads NetScaler's NITRO envelope {"errorcode", "message",
// "severity"}, which it answers a request without a session with.
func nitro(a *answer) (guess, bool) {
	var env struct {
		Errorcode *json.Number `json:"errorcode"`
		Message   string       `json:"message"`
		Severity  *string      `json:"severity"`
	}
	if json.Unmarshal(a.body, &env) != nil || env.Errorcode == nil || env.Severity == nil {
		return guess{}, false
	}
	return guess{"netscaler", "NetScaler ADC", "netscaler", fmt.Sprintf("GET %s: HTTP %d with a NITRO envelope (errorcode %s: %s)", a.path, a.status, env.Errorcode, env.Message)}, true
}

// lighthouseAPI reads Opengear Lighthouse's REST API: its error envelope
// {"error":[{"type","code","text"}]} for a request without a session, or
// the version it reports.
func lighthouseAPI(a *answer) (guess, bool) {
	var env struct {
		Error []struct {
			Type *int   `json:"type"`
			Code *int   `json:"code"`
			Text string `json:"text"`
		} `json:"error"`
		SystemVersion *struct {
			RESTAPIVersion string `json:"rest_api_version"`
		} `json:"system_version"`
	}
	if json.Unmarshal(a.body, &env) != nil {
		return guess{}, false
	}
	switch {
	case env.SystemVersion != nil && env.SystemVersion.RESTAPIVersion != "":
		return guess{"lighthouse", "Opengear Lighthouse", "lighthouse", fmt.Sprintf("GET %s: Lighthouse REST API version %s", a.path, env.SystemVersion.RESTAPIVersion)}, true
	case len(env.Error) > 0 && env.Error[0].Type != nil && env.Error[0].Code != nil && env.Error[0].Text != "":
		e := env.Error[0]
		return guess{"lighthouse", "Opengear Lighthouse", "lighthouse", fmt.Sprintf("GET %s: HTTP %d with a Lighthouse REST error (type %d, code %d: %s)", a.path, a.status, *e.Type, *e.Code, e.Text)}, true
	}
	return guess{}, false
}

// fortiosAPI reads FortiOS's REST envelope ("http_method",
// "http_status"), or its masked Server header on the answer.
func fortiosAPI(a *answer) (guess, bool) {
	if g, ok := byHeaders(a); ok && g.platform == "fortigate" {
		return g, true
	}
	var env struct {
		HTTPMethod string `json:"http_method"`
		HTTPStatus *int   `json:"http_status"`
	}
	if json.Unmarshal(a.body, &env) != nil || env.HTTPMethod == "" || env.HTTPStatus == nil {
		return guess{}, false
	}
	return guess{"fortigate", "FortiGate", "fortigate", fmt.Sprintf(`GET %s: HTTP %d with a FortiOS REST envelope ("http_status": %d)`, a.path, a.status, *env.HTTPStatus)}, true
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// title is an HTML page's title, trimmed.
func title(body []byte) string {
	m := titleRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.TrimSpace(string(m[1]))
}

func titleHas(body []byte, s string) bool { return strings.Contains(title(body), s) }
func titleIs(body []byte, s string) bool  { return title(body) == s }
