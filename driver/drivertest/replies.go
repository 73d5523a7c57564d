package drivertest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Replies is an http.RoundTripper that answers in memory, for fuzzing a
// driver's reading of device answers: the i-th request gets the i-th
// answer, and the last answer repeats once they run out. Requests holding
// a secret are answered all the same; nothing leaves the process.
type Replies struct {
	Status  int // HTTP status of every answer; 0 means 200
	Answers [][]byte

	mu    sync.Mutex
	n     int
	hosts []string
}

// SplitReplies makes Replies from fuzz input: answers are separated by a
// NUL byte, and status (taken modulo 500, plus 100) is the HTTP status.
func SplitReplies(data []byte, status uint16) *Replies {
	return &Replies{Status: 100 + int(status)%500, Answers: bytes.Split(data, []byte{0})}
}

// Calls is how many requests were answered.
func (r *Replies) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Hosts are the hosts (host:port) the requests went to, in order: a
// driver must not be led by an answer to send its session elsewhere.
func (r *Replies) Hosts() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hosts...)
}

// RoundTrip answers req with the next answer.
func (r *Replies) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	r.mu.Lock()
	i := min(r.n, len(r.Answers)-1)
	r.n++
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	var body []byte
	if i >= 0 {
		body = r.Answers[i]
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	ctype := "application/json"
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")) {
		ctype = "application/xml"
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {ctype}}, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}, nil
}

// Leaks returns the first of secrets that text contains ("" if none), for
// checking that no error repeats a credential a device echoed.
func Leaks(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			return s
		}
	}
	return ""
}
