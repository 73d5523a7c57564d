package api

import "net/http"

// CSPs: API answers load nothing; the docs page loads only its own
// script, style and the API. Neither may be framed (clickjacking the
// docs page's login form).
const (
	apiCSP  = "default-src 'none'; frame-ancestors 'none'"
	docsCSP = "default-src 'self'; frame-ancestors 'none'"
)

// withSecurityHeaders sets, on every answer, the headers that keep a
// browser from sniffing a JSON body into HTML or script, framing a page,
// or sending the API's URLs (which can carry search terms) to other
// sites. The docs handler replaces the CSP with docsCSP.
func withSecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", apiCSP)
		next.ServeHTTP(w, r)
	})
}
