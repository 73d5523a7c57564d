package discover

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Bounds of one probe's answer: a management interface's login page fits,
// and an endpoint that sends without end is cut off.
const (
	maxBody     = 64 << 10
	maxResponse = 256 << 10
)

// userAgent names discovery in the endpoints' logs.
const userAgent = "ottr-discover/1 (TLS inventory; https://github.com/ottr-dev/ottr)"

// answer is what one unauthenticated GET was answered with.
type answer struct {
	path   string
	status int
	header http.Header
	body   []byte
}

// get sends GET path on conn, a TLS connection to host:port, and reads
// the answer until deadline. The request carries no credential, no
// cookie and no body, and asks the server to close the connection: one
// request a connection, no keep-alive, no redirect followed.
func get(conn net.Conn, host string, port int, path string, deadline time.Time) (*answer, error) {
	_ = conn.SetDeadline(deadline)
	hostHeader := host
	if port != 443 {
		hostHeader = net.JoinHostPort(host, strconv.Itoa(port))
	} else if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		hostHeader = "[" + host + "]"
	}
	req, err := http.NewRequest(http.MethodGet, "https://"+hostHeader+path, nil)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\nConnection: close\r\n\r\n", path, hostHeader, userAgent); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.LimitReader(conn, maxResponse)), req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	// A body cut off by the bounds or the deadline is judged as far as
	// it came.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return &answer{path: path, status: resp.StatusCode, header: resp.Header, body: body}, nil
}
