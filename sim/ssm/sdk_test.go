package ssm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
)

// These tests use AWS's SDK for Go, a second client with its own signer
// and serializer, for what the CLI test leaves out: requests signed at a
// chosen time or altered after signing, delivery timeouts (with the
// service's second shortened), paging of instances and the remaining
// refusals.

const sdkKey, sdkSecret = "AKIDSDKTEST", "c2RrLXNlY3JldA"

func sdkClient(s *Service, secret string) *awsssm.Client {
	return awsssm.New(awsssm.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.URL),
		Credentials: credentials.NewStaticCredentialsProvider(sdkKey, secret, ""), RetryMaxAttempts: 1})
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// signed sends body to op signed by the SDK's signer at signedAt, after
// letting alter change the request; it returns the status and the JSON
// error's __type and message.
func signed(t *testing.T, s *Service, op, body string, signedAt time.Time, alter func(*http.Request)) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM."+op)
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: sdkKey, SecretAccessKey: sdkSecret},
		req, hex.EncodeToString(sum[:]), "ssm", "us-east-1", signedAt); err != nil {
		t.Fatal(err)
	}
	if alter != nil {
		alter(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Type, e.Message
}

func TestSignatureChecks(t *testing.T) {
	s := Start(sdkKey, sdkSecret)
	defer s.Close()
	now := time.Now()
	for _, tc := range []struct {
		name          string
		at            time.Time
		alter         func(*http.Request)
		status        int
		typ, inMesage string
	}{
		{"signed now", now, nil, 200, "", ""},
		{"signed 10 minutes ago", now.Add(-10 * time.Minute), nil, 200, "", ""},
		{"signed 20 minutes ago", now.Add(-20 * time.Minute), nil, 400, "InvalidSignatureException", "Signature expired"},
		{"signed 20 minutes ahead", now.Add(20 * time.Minute), nil, 400, "InvalidSignatureException", "Signature not yet current"},
		{"signed target changed", now, func(r *http.Request) { r.Header.Set("X-Amz-Target", "AmazonSSM.ListCommands") },
			400, "InvalidSignatureException", "does not match the signature you provided"},
		{"signature replaced", now, func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-4]+"0000")
		}, 400, "InvalidSignatureException", "does not match"},
		{"unsigned header added", now, func(r *http.Request) { r.Header.Set("X-Extra", "ignored") }, 200, "", ""},
		{"scoped to another service", now, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/ssm/", "/ec2/", 1))
		}, 400, "InvalidSignatureException", "correct service: 'ssm'"},
		{"session token", now, func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "FwoGZXIvYXdzE") },
			400, "UnrecognizedClientException", "security token"},
		{"no Authorization", now, func(r *http.Request) { r.Header.Del("Authorization") }, 400, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"no date", now, func(r *http.Request) { r.Header.Del("X-Amz-Date") }, 400, "IncompleteSignatureException", "X-Amz-Date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, typ, msg := signed(t, s, "DescribeInstanceInformation", "{}", tc.at, tc.alter)
			if status != tc.status || typ != tc.typ || !strings.Contains(msg, tc.inMesage) {
				t.Errorf("HTTP %d %s %q; want %d %s containing %q", status, typ, msg, tc.status, tc.typ, tc.inMesage)
			}
			if strings.Contains(msg, sdkSecret) {
				t.Errorf("the secret is in the error: %q", msg)
			}
		})
	}
	if _, err := sdkClient(s, "wrong").ListCommands(t.Context(), &awsssm.ListCommandsInput{}); errorCode(err) != "InvalidSignatureException" {
		t.Errorf("SDK with a wrong secret: %v", err)
	}
}

func TestDeliveryTimesOut(t *testing.T) {
	s := Start(sdkKey, sdkSecret)
	defer s.Close()
	s.second = 10 * time.Millisecond // TimeoutSeconds 30 lasts 0.3s
	dir := t.TempDir()
	in, err := s.AddInstance("db01", filepath.Join(dir, "c"), filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	s.SetOnline(in.ID, false)
	c := sdkClient(s, sdkSecret)
	out, err := c.SendCommand(t.Context(), &awsssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{in.ID},
		Parameters: map[string][]string{"commands": {"touch " + filepath.Join(dir, "ran")}}, TimeoutSeconds: aws.Int32(30)})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Command.CommandId)
	time.Sleep(600 * time.Millisecond)
	s.SetOnline(in.ID, true) // too late: the command expired undelivered
	time.Sleep(200 * time.Millisecond)
	inv, err := c.GetCommandInvocation(t.Context(), &awsssm.GetCommandInvocationInput{CommandId: &id, InstanceId: &in.ID})
	if err != nil || inv.Status != types.CommandInvocationStatusTimedOut || aws.ToString(inv.StatusDetails) != "DeliveryTimedOut" ||
		inv.ResponseCode != -1 || aws.ToString(inv.ExecutionStartDateTime) != "" {
		t.Errorf("undelivered command: %+v, %v", inv, err)
	}
	if ok, _ := filepath.Glob(filepath.Join(dir, "ran")); len(ok) > 0 {
		t.Error("the expired command ran")
	}
	cmds, err := c.ListCommands(t.Context(), &awsssm.ListCommandsInput{Filters: []types.CommandFilter{{Key: types.CommandFilterKeyStatus, Value: aws.String("DeliveryTimedOut")}}})
	if err != nil || len(cmds.Commands) != 1 || cmds.Commands[0].DeliveryTimedOutCount != 1 || cmds.Commands[0].Status != types.CommandStatusTimedOut {
		t.Errorf("ListCommands Status=DeliveryTimedOut: %+v, %v", cmds, err)
	}
}

func TestInstancesPageAndRefusals(t *testing.T) {
	s := Start(sdkKey, sdkSecret)
	defer s.Close()
	dir := t.TempDir()
	var ids []string
	for i := range 7 {
		in, err := s.AddInstance("web0"+string(rune('1'+i)), filepath.Join(dir, "c"), filepath.Join(dir, "k"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	c := sdkClient(s, sdkSecret)
	seen := map[string]bool{}
	p := awsssm.NewDescribeInstanceInformationPaginator(c, &awsssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(5)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, i := range out.InstanceInformationList {
			seen[aws.ToString(i.InstanceId)] = true
		}
	}
	if pages != 2 || len(seen) != 7 {
		t.Errorf("7 instances, 5 a page: %d pages, %d instances", pages, len(seen))
	}
	if _, err := c.DescribeInstanceInformation(t.Context(), &awsssm.DescribeInstanceInformationInput{NextToken: aws.String("bm90LWEtdG9rZW4")}); errorCode(err) != "InvalidNextToken" {
		t.Errorf("made-up NextToken: %v", err)
	}
	if _, err := c.DescribeInstanceInformation(t.Context(), &awsssm.DescribeInstanceInformationInput{
		Filters:                       []types.InstanceInformationStringFilter{{Key: aws.String("PingStatus"), Values: []string{"Online"}}},
		InstanceInformationFilterList: []types.InstanceInformationFilter{{Key: types.InstanceInformationFilterKeyPingStatus, ValueSet: []string{"Online"}}},
	}); errorCode(err) != "ValidationException" {
		t.Errorf("both filter lists: %v", err)
	}
	if _, err := c.DescribeInstanceInformation(t.Context(), &awsssm.DescribeInstanceInformationInput{
		Filters: []types.InstanceInformationStringFilter{{Key: aws.String("AssociationStatus"), Values: []string{"Success"}}},
	}); errorCode(err) != "InvalidFilterKey" {
		t.Errorf("AssociationStatus: %v", err)
	}

	send := func(params map[string][]string, doc string, instances ...string) error {
		_, err := c.SendCommand(t.Context(), &awsssm.SendCommandInput{DocumentName: aws.String(doc), InstanceIds: instances, Parameters: params})
		return err
	}
	cmds := map[string][]string{"commands": {"true"}}
	for _, tc := range []struct {
		name, code string
		err        error
	}{
		{"unknown parameter", "InvalidParameters", send(map[string][]string{"commands": {"true"}, "timeout": {"5"}}, "AWS-RunShellScript", ids[0])},
		{"no commands", "InvalidParameters", send(map[string][]string{"executionTimeout": {"5"}}, "AWS-RunShellScript", ids[0])},
		{"two executionTimeout values", "InvalidParameters", send(map[string][]string{"commands": {"true"}, "executionTimeout": {"5", "6"}}, "AWS-RunShellScript", ids[0])},
		{"another document", "InvalidDocument", send(cmds, "AWS-RunPowerShellScript", ids[0])},
		{"unknown instance", "InvalidInstanceId", send(cmds, "AWS-RunShellScript", "i-0123456789abcdef0")},
		{"malformed instance ID", "ValidationException", send(cmds, "AWS-RunShellScript", "web01")},
		{"same instance twice", "DuplicateInstanceId", send(cmds, "AWS-RunShellScript", ids[0], ids[0])},
		{"two instances", "ValidationException", send(cmds, "AWS-RunShellScript", ids[0], ids[1])},
	} {
		if errorCode(tc.err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, tc.err, tc.code)
		}
	}
	if _, err := c.GetCommandInvocation(t.Context(), &awsssm.GetCommandInvocationInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000"),
		InstanceId: &ids[0]}); errorCode(err) != "InvocationDoesNotExist" {
		t.Errorf("unknown command: %v", err)
	}
	if _, err := c.ListCommands(t.Context(), &awsssm.ListCommandsInput{CommandId: aws.String("00000000-0000-4000-8000-000000000000")}); errorCode(err) != "InvalidCommandId" {
		t.Errorf("ListCommands of an unknown command: %v", err)
	}
}
