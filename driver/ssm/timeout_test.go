package ssm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/ssm"
)

// The driver's Timeout bounds the run through AWS-RunShellScript's
// executionTimeout, and SendCommand's TimeoutSeconds (delivery) stays in
// the 30..2592000 SSM accepts, whatever Timeout is: a script that outlives
// Timeout is ended by SSM and reported, and the instance keeps serving
// its certificate.
func TestTimeoutIsTheExecutionTimeout(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	old, err := h.driver(t).Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	csr, err := h.driver(t).CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com", DNSNames: []string{"web01.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(h.dir, "hooks"), 0o755)
	os.WriteFile(filepath.Join(h.dir, "hooks", "pre"), []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	c := h.config(webAsset(), cred)
	c.Timeout = 2 * time.Second
	d, err := ssm.New(c)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = d.Install(t.Context(), h.ca.Sign(csr, time.Hour))
	if err == nil || !strings.Contains(err.Error(), "timedout with status 137") || ottr.IsPermanent(err) {
		t.Errorf("Install with a hook outliving Timeout: %v (want a transient error: the command timed out)", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Install took %s with a 2s Timeout", took)
	}
	if cur, err := h.driver(t).Current(t.Context()); err != nil || !cur[0].Equal(old[0]) {
		t.Errorf("after the timeout the instance serves %v (%v), want the old certificate", cur, err)
	}

	// What the driver asked of SSM, as SSM lists it.
	client := awsssm.New(awsssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.svc.URL),
		Credentials: credentials.NewStaticCredentialsProvider(akid, secret, "")})
	out, err := client.ListCommands(t.Context(), &awsssm.ListCommandsInput{})
	if err != nil || len(out.Commands) != 2 {
		t.Fatalf("ListCommands: %v, %d commands", err, len(out.Commands))
	}
	for i, want := range []string{"2", "60"} { // newest first: the install, then the CSR with the test's 1m Timeout
		cmd := out.Commands[i]
		if got := cmd.Parameters["executionTimeout"]; len(got) != 1 || got[0] != want {
			t.Errorf("%s: executionTimeout %v, want [%s]", aws.ToString(cmd.Comment), got, want)
		}
		if ts := aws.ToInt32(cmd.TimeoutSeconds); ts < 30 {
			t.Errorf("%s: TimeoutSeconds %d, below SSM's minimum", aws.ToString(cmd.Comment), ts)
		}
	}
}

// Timeouts executionTimeout cannot carry are refused when the driver is
// configured, naming the field.
func TestTimeoutOutOfRangeRefused(t *testing.T) {
	t.Parallel()
	for _, bad := range []time.Duration{-time.Second, 49 * time.Hour} {
		_, err := ssm.New(ssm.Config{Asset: webAsset(), Credential: cred, Timeout: bad})
		probs := ottr.ErrorProblems(err)
		if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != "timeout" {
			t.Errorf("Timeout %s: %v, problems %v", bad, err, probs)
		}
	}
}
