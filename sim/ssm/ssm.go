// Package ssm simulates AWS Systems Manager for one or more managed Linux
// instances, speaking SSM's JSON protocol (awsJson1_1: POST / with
// X-Amz-Target: AmazonSSM.<Operation>, SigV4-signed) for the calls a
// rotation makes: DescribeInstanceInformation (with tag:Name filters),
// SendCommand (AWS-RunShellScript) and GetCommandInvocation. Errors are
// SSM's {"__type","message"} with HTTP 400.
//
// The instances are this machine: a command really runs with sh in the
// background and moves from Pending to InProgress to Success or Failed
// with its exit code, stdout and stderr (cut to SSM's 24,000 characters),
// so openssl really makes the key. Each instance serves TLS on its own
// port with the key and certificate files the commands install, read on
// every handshake (as a service after its reload).
//
// An instance's commands can be made to fail (Instance.Fail), as a full
// disk or a read-only file system makes mv, cp or chmod fail there:
// sim/faultbin's shims are first on their PATH.
package ssm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/sim/faultbin"
)

// Instance is one managed instance.
type Instance struct {
	ID, Name string
	// Online is what PingStatus reports.
	Online bool
	// CertPath and KeyPath are the files its TLS server presents; Addr is
	// that server.
	CertPath, KeyPath, Addr string
	ln                      net.Listener
	faults                  string
}

// Fail makes commands fail on the instance from now on, as faults say;
// Fail() lets them all run again.
func (in *Instance) Fail(faults ...faultbin.Fault) error { return faultbin.Set(in.faults, faults...) }

type invocation struct {
	status, stdout, stderr string
	code                   int
	done                   chan struct{}
}

// Service is a running SSM endpoint.
type Service struct {
	// URL is the endpoint to give the SDK (BaseEndpoint).
	URL string
	// AccessKeyID is the only key whose signatures are accepted.
	AccessKeyID string

	mu        sync.Mutex
	instances []*Instance
	commands  map[string]*invocation // commandID/instanceID
	srv       *httptest.Server
	// failNext makes the next SendCommand fail with this __type.
	failNext string
	sends    int
	bg       sync.WaitGroup
}

// Start runs the endpoint.
func Start(accessKeyID string) *Service {
	s := &Service{AccessKeyID: accessKeyID, commands: map[string]*invocation{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close stops the endpoint and the instances' TLS servers, after the
// commands still running end.
func (s *Service) Close() {
	s.srv.Close()
	s.bg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.instances {
		in.ln.Close()
		os.RemoveAll(in.faults)
	}
}

// AddInstance registers a managed instance tagged Name=name whose TLS
// server presents certPath and keyPath.
func (s *Service) AddInstance(name, certPath, keyPath string) (*Instance, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	in := &Instance{ID: "i-0" + hex.EncodeToString(b)[:16], Name: name, Online: true, CertPath: certPath, KeyPath: keyPath}
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

// Sends counts SendCommand requests, refused ones included.
func (s *Service) Sends() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sends
}

// SetOnline sets what an instance's PingStatus reports.
func (s *Service) SetOnline(id string, online bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, in := range s.instances {
		if in.ID == id {
			in.Online = online
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

func awsError(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (s *Service) serve(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+s.AccessKeyID+"/") || !strings.Contains(auth, "/ssm/aws4_request") {
		awsError(w, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	if !ok || r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		awsError(w, "UnknownOperationException", "")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var out any
	var err error
	switch op {
	case "DescribeInstanceInformation":
		out, err = s.describe(body)
	case "SendCommand":
		out, err = s.send(body)
	case "GetCommandInvocation":
		out, err = s.invocation(body)
	default:
		awsError(w, "UnknownOperationException", op+" is not simulated")
		return
	}
	var ae *apiError
	if errors.As(err, &ae) {
		awsError(w, ae.typ, ae.msg)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

type apiError struct{ typ, msg string }

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func (s *Service) describe(body []byte) (any, error) {
	var in struct {
		Filters []struct {
			Key    string
			Values []string
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{"ValidationException", "1 validation error detected: request body"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, inst := range s.instances {
		match := true
		for _, f := range in.Filters {
			switch f.Key {
			case "tag:Name":
				match = match && contains(f.Values, inst.Name)
			case "InstanceIds":
				match = match && contains(f.Values, inst.ID)
			default:
				return nil, &apiError{"InvalidFilterKey", "The specified key is not valid: " + f.Key}
			}
		}
		if match {
			ping := "ConnectionLost"
			if inst.Online {
				ping = "Online"
			}
			list = append(list, map[string]any{"InstanceId": inst.ID, "PingStatus": ping, "PlatformType": "Linux",
				"PlatformName": "Ubuntu", "ComputerName": inst.Name, "AgentVersion": "3.3.40.0", "ResourceType": "EC2Instance"})
		}
	}
	return map[string]any{"InstanceInformationList": list}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (s *Service) send(body []byte) (any, error) {
	var in struct {
		DocumentName   string
		InstanceIds    []string
		Parameters     map[string][]string
		TimeoutSeconds int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{"ValidationException", "request body"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if t := s.failNext; t != "" {
		s.failNext = ""
		return nil, &apiError{t, "Rate exceeded"}
	}
	if in.DocumentName != "AWS-RunShellScript" {
		return nil, &apiError{"InvalidDocument", "Document " + in.DocumentName + " is not simulated"}
	}
	if len(in.InstanceIds) != 1 {
		return nil, &apiError{"ValidationException", "give one instance"}
	}
	var inst *Instance
	for _, x := range s.instances {
		if x.ID == in.InstanceIds[0] {
			inst = x
		}
	}
	if inst == nil || !inst.Online {
		return nil, &apiError{"InvalidInstanceId", "Instances [[" + in.InstanceIds[0] + "]] not in a valid state for account 123456789012"}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	inv := &invocation{status: "Pending", done: make(chan struct{})}
	s.commands[id+"/"+inst.ID] = inv
	timeout := time.Duration(in.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Hour
	}
	script := strings.Join(in.Parameters["commands"], "\n")
	s.bg.Add(1)
	go s.run(inv, inst, script, timeout)
	return map[string]any{"Command": map[string]any{"CommandId": id, "DocumentName": in.DocumentName, "InstanceIds": in.InstanceIds,
		"Status": "Pending", "RequestedDateTime": float64(time.Now().Unix())}}, nil
}

func (s *Service) run(inv *invocation, inst *Instance, script string, timeout time.Duration) {
	defer s.bg.Done()
	defer close(inv.done)
	s.mu.Lock()
	inv.status = "InProgress"
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "AWS_SSM_INSTANCE_ID=simulated", "PATH="+faultbin.PATH(inst.faults, os.Getenv("PATH")))
	err := cmd.Run()
	s.mu.Lock()
	defer s.mu.Unlock()
	inv.stdout, inv.stderr = cut(stdout.String()), cut(stderr.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		inv.status, inv.code = "TimedOut", -1
	case errors.As(err, &ee):
		inv.status, inv.code = "Failed", ee.ExitCode()
	case err != nil:
		inv.status, inv.code, inv.stderr = "Failed", 1, err.Error()
	default:
		inv.status = "Success"
	}
}

// cut is SSM's limit on the output returned by GetCommandInvocation.
func cut(s string) string {
	if len(s) > 24000 {
		return s[:24000]
	}
	return s
}

func (s *Service) invocation(body []byte) (any, error) {
	var in struct{ CommandId, InstanceId string }
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &apiError{"ValidationException", "request body"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	inv := s.commands[in.CommandId+"/"+in.InstanceId]
	if inv == nil {
		return nil, &apiError{"InvocationDoesNotExist", ""}
	}
	details := map[string]string{"Pending": "Pending", "InProgress": "InProgress", "Success": "Success", "Failed": "Failed", "TimedOut": "DeliveryTimedOut"}
	return map[string]any{"CommandId": in.CommandId, "InstanceId": in.InstanceId, "DocumentName": "AWS-RunShellScript",
		"Status": inv.status, "StatusDetails": details[inv.status], "ResponseCode": inv.code,
		"StandardOutputContent": inv.stdout, "StandardErrorContent": inv.stderr}, nil
}
