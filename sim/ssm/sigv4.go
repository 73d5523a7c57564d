package ssm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sigV4Window is how far X-Amz-Date may be from the service's clock, either
// way, before AWS refuses a request as expired or not yet current.
const sigV4Window = 15 * time.Minute

const amzDateFormat = "20060102T150405Z"

// authenticate verifies a request's Signature Version 4 the way AWS does:
// the canonical request is rebuilt from the request as received, with the
// headers the client listed in SignedHeaders, and signed with the secret
// of the access key it names. Nothing the client claims is trusted.
func (s *Service) authenticate(r *http.Request, body []byte) *apiError {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.URL.Query().Get("X-Amz-Signature") != "" {
			return &apiError{typ: "IncompleteSignatureException", msg: "Query-string (presigned) authentication is not modelled by this simulator; sign the Authorization header."}
		}
		return &apiError{typ: "MissingAuthenticationTokenException", msg: "Missing Authentication Token"}
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != "AWS4-HMAC-SHA256" {
		return &apiError{typ: "IncompleteSignatureException", msg: fmt.Sprintf("Unsupported AWS 'algorithm': '%s'.", alg)}
	}
	params := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return &apiError{typ: "IncompleteSignatureException", msg: strings.Join(missing, " ")}
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 {
		return &apiError{typ: "IncompleteSignatureException", msg: fmt.Sprintf("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", params["Credential"])}
	}
	akid, day, region, service, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	secret, ok := s.keys[akid]
	if !ok || r.Header.Get("X-Amz-Security-Token") != "" {
		// The simulator knows long-term keys only: a session token names
		// temporary credentials it never issued.
		return &apiError{typ: "UnrecognizedClientException", msg: "The security token included in the request is invalid."}
	}

	amzDate := r.Header.Get("X-Amz-Date")
	dateHeader := "x-amz-date"
	var signed time.Time
	var err error
	if amzDate != "" {
		signed, err = time.Parse(amzDateFormat, amzDate)
	} else if d := r.Header.Get("Date"); d != "" {
		dateHeader = "date"
		signed, err = http.ParseTime(d)
		amzDate = signed.UTC().Format(amzDateFormat)
	} else {
		return &apiError{typ: "IncompleteSignatureException", msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if err != nil {
		return &apiError{typ: "IncompleteSignatureException", msg: fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", amzDate)}
	}
	if day != amzDate[:8] {
		return &apiError{typ: "InvalidSignatureException", msg: fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", day, amzDate[:8], dateHeader)}
	}
	if region != s.Region {
		return &apiError{typ: "InvalidSignatureException", msg: fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", region)}
	}
	if service != "ssm" {
		return &apiError{typ: "InvalidSignatureException", msg: "Credential should be scoped to correct service: 'ssm'. "}
	}
	if term != "aws4_request" {
		return &apiError{typ: "InvalidSignatureException", msg: fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'. ", term)}
	}
	now := time.Now().UTC()
	switch {
	case signed.Before(now.Add(-sigV4Window)):
		return &apiError{typ: "InvalidSignatureException", msg: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-sigV4Window).Format(amzDateFormat), now.Format(amzDateFormat))}
	case signed.After(now.Add(sigV4Window)):
		return &apiError{typ: "InvalidSignatureException", msg: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(sigV4Window).Format(amzDateFormat), now.Format(amzDateFormat))}
	}

	names := strings.Split(params["SignedHeaders"], ";")
	if !contains(names, "host") {
		return &apiError{typ: "InvalidSignatureException", msg: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."}
	}
	canonical := strings.Join([]string{r.Method, canonicalURI(r.URL), canonicalQuery(r.URL), canonicalHeaders(r, names),
		params["SignedHeaders"], hexSHA256(body)}, "\n")
	credScope := strings.Join(scope[1:], "/")
	stringToSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + credScope + "\n" + hexSHA256([]byte(canonical))
	key := []byte("AWS4" + secret)
	for _, part := range []string{day, region, service, term} {
		key = hmacSHA256(key, part)
	}
	want := hex.EncodeToString(hmacSHA256(key, stringToSign))
	if !hmac.Equal([]byte(want), []byte(params["Signature"])) {
		return &apiError{typ: "InvalidSignatureException", msg: "The request signature we calculated does not match the signature you provided. " +
			"Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n" +
			"The Canonical String for this request should have been\n'" + canonical + "'\n\n" +
			"The String-to-Sign should have been\n'" + stringToSign + "'\n"}
	}
	return nil
}

func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	// Services other than S3 sign the path encoded once more.
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

func canonicalQuery(u *url.URL) string {
	q, _ := url.ParseQuery(u.RawQuery)
	var pairs []string
	for k, vs := range q {
		for _, v := range vs {
			pairs = append(pairs, uriEncode(k)+"="+uriEncode(v))
		}
	}
	sort.Strings(pairs)
	return strings.Join(pairs, "&")
}

// canonicalHeaders lists the signed headers as received: Go's server keeps
// Host and Content-Length out of the header map, so they come from the
// request itself.
func canonicalHeaders(r *http.Request, names []string) string {
	var b strings.Builder
	for _, n := range names {
		var vals []string
		switch n {
		case "host":
			vals = []string{r.Host}
		case "content-length":
			vals = []string{strconv.FormatInt(r.ContentLength, 10)}
		default:
			vals = append([]string(nil), r.Header.Values(n)...)
		}
		for i, v := range vals {
			vals[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(n + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

func uriEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func hexSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
