package junos

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"time"
)

// jwebLogin is J-Web's login page as an SRX serves it to a browser
// without a session: Appweb's Server header, the Juniper stylesheet and
// the "Juniper Web Device Manager" title, by which scanners (ottr
// discover among them) know J-Web. Logging in is not modelled:
// automation uses NETCONF.
const jwebLogin = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>
<link rel="stylesheet" href="/stylesheet/juniper.css" type="text/css"/>
<title>Log In - Juniper Web Device Manager</title>
</head><body>
<div class="jweb-title uppercase"> - %s</div>
<form name="loginForm" method="post" action="/">
<input type="text" name="username"/><input type="password" name="password"/>
</form>
</body></html>
`

// newWeb is J-Web's HTTPS server: the login page at /, 404 elsewhere, 405
// for anything but GET and HEAD.
func newWeb() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "Embedthis-Appweb/3.2.3")
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "J-Web logins are not modelled by this Junos simulator (use NETCONF)", http.StatusMethodNotAllowed)
		case r.URL.Path != "/":
			http.NotFound(w, r)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Cache-Control", "no-cache")
			fmt.Fprintf(w, jwebLogin, model)
		}
	})
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
}
