// Package ssm simulates AWS Systems Manager for one or more managed Linux
// instances, speaking SSM's JSON protocol (awsJson1_1: POST / with
// X-Amz-Target: AmazonSSM.<Operation>, Content-Type
// application/x-amz-json-1.1) with real Signature Version 4 checks
// (sigv4.go), for the Run Command calls: DescribeInstanceInformation
// (instances.go), SendCommand with AWS-RunShellScript, GetCommandInvocation,
// ListCommands and ListCommandInvocations (commands.go). Errors are SSM's
// {"__type","message"} with HTTP 400; request members the simulator does
// not model are refused, never ignored.
//
// The instances are this machine: a command really runs with sh in the
// background and moves from Pending to InProgress to Success, Failed or
// TimedOut with its exit code, stdout and stderr, as SSM Agent reports
// them, so openssl really makes the key. SendCommand's TimeoutSeconds
// bounds delivery (an instance whose agent is offline gets the command
// when it is back, or never), the document's executionTimeout bounds the
// run. Each instance serves TLS on its own port with the key and
// certificate files the commands install, read on every handshake (as a
// service after its reload).
//
// An instance's commands can be made to fail (Instance.Fail), as a full
// disk or a read-only file system makes mv, cp or chmod fail there:
// sim/faultbin's shims are first on their PATH.
package ssm

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/sim/faultbin"
)

// maxBody bounds a request body; SendCommand's largest legitimate bodies
// (scripts carrying a certificate chain) are far smaller.
const maxBody = 1 << 20

// Instance is one managed instance.
type Instance struct {
	ID, Name string
	// Online is what PingStatus reports; change it with Service.SetOnline.
	Online bool
	// CertPath and KeyPath are the files its TLS server presents; Addr is
	// that server.
	CertPath, KeyPath, Addr string
	tags                    map[string]string
	lastPing                time.Time
	ln                      net.Listener
	faults                  string
}

// Fail makes commands fail on the instance from now on, as faults say;
// Fail() lets them all run again.
func (in *Instance) Fail(faults ...faultbin.Fault) error { return faultbin.Set(in.faults, faults...) }

// Service is a running SSM endpoint.
type Service struct {
	// URL is the endpoint to give the SDK (BaseEndpoint).
	URL string
	// AccessKeyID is the only key whose signatures are accepted.
	AccessKeyID string
	// Region is the region requests must be signed for (us-east-1).
	Region string

	keys map[string]string // access key ID → secret access key

	mu        sync.Mutex
	instances []*Instance
	commands  []*command // in the order sent
	srv       *httptest.Server
	closed    bool
	// failNext makes the next SendCommand fail with this __type.
	failNext string
	sends    int
	bg       sync.WaitGroup
	// second is how long one second of TimeoutSeconds lasts; only this
	// package's tests shorten it, to see a delivery time out.
	second time.Duration
}

// Start runs the endpoint, accepting requests signed with this key pair
// for service ssm in us-east-1.
func Start(accessKeyID, secretAccessKey string) *Service {
	s := &Service{AccessKeyID: accessKeyID, Region: "us-east-1", keys: map[string]string{accessKeyID: secretAccessKey}, second: time.Second}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the endpoint and the instances' TLS servers, after the
// commands still running end; commands not delivered yet never run.
func (s *Service) Close() {
	s.srv.Close()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.instances {
		in.ln.Close()
		os.RemoveAll(in.faults)
	}
}

// AddInstance registers an online managed EC2 instance tagged Name=name
// whose TLS server presents certPath and keyPath.
func (s *Service) AddInstance(name, certPath, keyPath string) (*Instance, error) {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	in := &Instance{ID: "i-0" + hex.EncodeToString(b)[:16], Name: name, Online: true, CertPath: certPath, KeyPath: keyPath,
		tags: map[string]string{"Name": name}, lastPing: time.Now()}
	dir, err := os.MkdirTemp("", "ottr-ssm-faults-")
	if err != nil {
		return nil, err
	}
	in.faults = dir
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := tls.LoadX509KeyPair(in.CertPath, in.KeyPath)
		return &c, err
	}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	in.ln, in.Addr = ln, ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake()
			}()
		}
	}()
	s.mu.Lock()
	s.instances = append(s.instances, in)
	s.mu.Unlock()
	return in, nil
}

// Tag sets a tag on an instance (tag:<key> filters select on it).
func (s *Service) Tag(id, key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.instance(id); in != nil {
		in.tags[key] = value
	}
}

// Sends counts SendCommand requests, refused ones included.
func (s *Service) Sends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

// SetOnline sets what an instance's PingStatus reports. An instance coming
// back online gets the commands sent to it meanwhile whose delivery
// timeout has not passed, as its agent would.
func (s *Service) SetOnline(id string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.instance(id)
	if in == nil {
		return
	}
	if in.Online && !online {
		in.lastPing = time.Now()
	}
	in.Online = online
	if !online {
		return
	}
	for _, c := range s.commands {
		if c.instanceID == id && c.status == statusDelayed {
			s.deliver(c, in)
		}
	}
}

// FailNextCommand makes the next SendCommand fail with this error type
// (e.g. "ThrottlingException").
func (s *Service) FailNextCommand(errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = errType
}

// instance is the instance with this ID, or nil; s.mu is held.
func (s *Service) instance(id string) *Instance {
	for _, in := range s.instances {
		if in.ID == id {
			return in
		}
	}
	return nil
}

type apiError struct{ typ, msg string }

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.typ)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Amzn-RequestId", newUUID())
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, &apiError{"SerializationException", "could not read the request body"})
		return
	}
	if len(body) > maxBody {
		writeError(w, &apiError{"ValidationException", fmt.Sprintf("The request body is larger than the %d bytes this simulator accepts.", maxBody)})
		return
	}
	if e := s.authenticate(r, body); e != nil {
		writeError(w, e)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	if !ok || r.Method != http.MethodPost {
		writeError(w, &apiError{"UnknownOperationException", ""})
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-amz-json-1.1") {
		writeError(w, &apiError{"UnknownOperationException", fmt.Sprintf("Content-Type %q is not application/x-amz-json-1.1", ct)})
		return
	}
	handlers := map[string]func([]byte) (any, *apiError){
		"DescribeInstanceInformation": s.describeInstanceInformation,
		"SendCommand":                 s.sendCommand,
		"GetCommandInvocation":        s.getCommandInvocation,
		"ListCommands":                s.listCommands,
		"ListCommandInvocations":      s.listCommandInvocations,
	}
	h, ok := handlers[op]
	if !ok {
		writeError(w, &apiError{"UnknownOperationException", op + " is not modelled by this simulator"})
		return
	}
	out, e := h(body)
	if e != nil {
		writeError(w, e)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// epoch is how awsJson1_1 carries a timestamp: seconds since 1970, with
// milliseconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
