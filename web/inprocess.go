package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
)

type clientAddrKey struct{}

// WithClientAddr records the address of the browser a request serves, so
// the API requests made for it (InProcess) carry it: the API's per-address
// login limits then count the browser, not this process.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr is the address WithClientAddr recorded, or "".
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// InProcess returns an HTTP client whose requests are served by h in this
// process, without a connection: the dashboard's way to the API's handler.
// Each request reaches h with the RemoteAddr ClientAddr gives (127.0.0.1
// when none).
func InProcess(h http.Handler) *http.Client {
	return &http.Client{Transport: inProcess{h}}
}

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = req.URL.RequestURI()
	in.Host = req.URL.Host
	in.RemoteAddr = ClientAddr(req.Context())
	if in.RemoteAddr == "" {
		in.RemoteAddr = "127.0.0.1:0"
	}
	in.Proto, in.ProtoMajor, in.ProtoMinor = "HTTP/1.1", 1, 1
	rw := &buffered{header: http.Header{}}
	t.h.ServeHTTP(rw, in)
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return &http.Response{
		Status: strconv.Itoa(rw.status) + " " + http.StatusText(rw.status), StatusCode: rw.status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rw.header, Body: io.NopCloser(&rw.body), ContentLength: int64(rw.body.Len()), Request: req,
	}, nil
}

// buffered is the ResponseWriter of an in-process request: the answer is
// kept whole and handed back as the response.
type buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *buffered) Header() http.Header { return b.header }

func (b *buffered) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *buffered) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
