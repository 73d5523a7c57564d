package ssm_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/ssm"
)

const testKey, testSecret = "AKIDSIMSSMTEST", "c2ltLXNzbS1zZWNyZXQ"

// awsCLI runs Debian's aws (v2, from the awscli package) against svc: the
// vendor's own client, with its own SigV4 signer, JSON protocol, paging
// and error parsing. A version manager's aws earlier in PATH is not it.
type awsCLI struct {
	svc *ssm.Service
	env []string
}

func newAWSCLI(t *testing.T, svc *ssm.Service) *awsCLI {
	const bin = "/usr/bin/aws"
	testtool.VendorClient(t, bin)
	if _, err := os.Stat(bin); err != nil {
		testtool.Missing(t, "%s not found (apt-get install awscli)", bin)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	os.WriteFile(config, []byte("[default]\nregion = us-east-1\noutput = json\n"), 0o600)
	os.WriteFile(creds, []byte("[default]\n"), 0o600)
	return &awsCLI{svc: svc, env: []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "AWS_CONFIG_FILE=" + config,
		"AWS_SHARED_CREDENTIALS_FILE=" + creds, "AWS_ACCESS_KEY_ID=" + testKey, "AWS_SECRET_ACCESS_KEY=" + testSecret,
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "AWS_MAX_ATTEMPTS=1"}}
}

// run runs aws ssm args with extra environment and returns its stdout,
// stderr and whether it succeeded.
func (a *awsCLI) run(extraEnv []string, args ...string) (string, string, bool) {
	cmd := exec.Command("/usr/bin/aws", append([]string{"--endpoint-url", a.svc.URL, "ssm"}, args...)...)
	cmd.Env = append(append([]string{}, a.env...), extraEnv...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err == nil
}

// ok runs aws ssm args, which must succeed, and decodes its JSON output.
func (a *awsCLI) ok(t *testing.T, out any, args ...string) {
	t.Helper()
	stdout, stderr, ok := a.run(nil, args...)
	if !ok {
		t.Fatalf("aws ssm %s failed: %s", strings.Join(args, " "), stderr)
	}
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("aws ssm %s printed %q: %v", strings.Join(args, " "), stdout, err)
	}
}

// refused runs aws ssm args, which must fail with this error code named
// in stderr, and returns stderr.
func (a *awsCLI) refused(t *testing.T, code string, extraEnv []string, args ...string) string {
	t.Helper()
	stdout, stderr, ok := a.run(extraEnv, args...)
	if ok || !strings.Contains(stderr, "("+code+")") {
		t.Errorf("aws ssm %s: succeeded=%v, stdout %q, stderr %q; want refused with %s", strings.Join(args, " "), ok, stdout, stderr, code)
	}
	return stderr
}

type invocation struct {
	CommandId, InstanceId, Status, StatusDetails, PluginName string
	StandardOutputContent, StandardErrorContent              string
	ResponseCode                                             int
	ExecutionStartDateTime, ExecutionEndDateTime             string
}

// wait polls get-command-invocation until the command ends.
func (a *awsCLI) wait(t *testing.T, commandID, instanceID string) invocation {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var inv invocation
		a.ok(t, &inv, "get-command-invocation", "--command-id", commandID, "--instance-id", instanceID)
		switch inv.Status {
		case "Pending", "InProgress", "Delayed":
		default:
			return inv
		}
		if time.Now().After(deadline) {
			t.Fatalf("command %s still %s after 30s", commandID, inv.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type sent struct {
	Command struct {
		CommandId, Status, Comment, DocumentName string
		Parameters                               map[string][]string
		InstanceIds                              []string
		TimeoutSeconds                           int
		RequestedDateTime, ExpiresAfter          string
	}
}

func (a *awsCLI) send(t *testing.T, instanceID string, params map[string][]string, extra ...string) sent {
	t.Helper()
	p, _ := json.Marshal(params)
	var out sent
	a.ok(t, &out, append([]string{"send-command", "--document-name", "AWS-RunShellScript", "--instance-ids", instanceID,
		"--parameters", string(p)}, extra...)...)
	return out
}

type described struct {
	InstanceInformationList []struct {
		InstanceId, PingStatus, PlatformType, ResourceType, ComputerName string
	}
}

func (d described) ids() []string {
	var ids []string
	for _, i := range d.InstanceInformationList {
		ids = append(ids, i.InstanceId)
	}
	return ids
}

// expiry is how long after it was requested a command expires: its
// delivery timeout plus its execution timeout.
func expiry(t *testing.T, requested, expires string) time.Duration {
	r, err1 := time.Parse(time.RFC3339Nano, requested)
	e, err2 := time.Parse(time.RFC3339Nano, expires)
	if err1 != nil || err2 != nil {
		t.Errorf("RequestedDateTime %q, ExpiresAfter %q: %v %v", requested, expires, err1, err2)
	}
	return e.Sub(r)
}

func sameIDs(got []string, want ...string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// Debian's aws CLI finds managed instances with each filter form, runs
// shell scripts with AWS-RunShellScript and reads their outcome, lists
// commands page by page and through filters, and is refused a wrong
// secret, an unknown key and values SSM refuses.
func TestAWSCLI(t *testing.T) {
	svc := ssm.Start(testKey, testSecret)
	t.Cleanup(svc.Close)
	dir := t.TempDir()
	web, err := svc.AddInstance("web01.example.com", filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := svc.AddInstance("db01.example.com", filepath.Join(dir, "db.crt"), filepath.Join(dir, "db.key"))
	if err != nil {
		t.Fatal(err)
	}
	svc.Tag(web.ID, "env", "prod")
	svc.SetOnline(db.ID, false)
	aws := newAWSCLI(t, svc)

	t.Run("describe-instance-information filters", func(t *testing.T) {
		var d described
		aws.ok(t, &d, "describe-instance-information", "--filters", "Key=tag:Name,Values=web01.example.com")
		if !sameIDs(d.ids(), web.ID) || d.InstanceInformationList[0].PingStatus != "Online" ||
			d.InstanceInformationList[0].PlatformType != "Linux" || d.InstanceInformationList[0].ComputerName != "web01.example.com" {
			t.Errorf("tag:Name=web01.example.com: %+v", d)
		}
		d = described{}
		aws.ok(t, &d, "describe-instance-information", "--filters", "Key=PingStatus,Values=ConnectionLost")
		if !sameIDs(d.ids(), db.ID) || d.InstanceInformationList[0].PingStatus != "ConnectionLost" {
			t.Errorf("PingStatus=ConnectionLost: %+v", d)
		}
		d = described{}
		aws.ok(t, &d, "describe-instance-information", "--filters", "Key=tag-key,Values=env")
		if !sameIDs(d.ids(), web.ID) {
			t.Errorf("tag-key=env: %+v", d)
		}
		d = described{}
		aws.ok(t, &d, "describe-instance-information", "--filters", "Key=InstanceIds,Values="+db.ID, "Key=PlatformTypes,Values=Linux")
		if !sameIDs(d.ids(), db.ID) {
			t.Errorf("InstanceIds=db01 and PlatformTypes=Linux: %+v", d)
		}
		d = described{}
		aws.ok(t, &d, "describe-instance-information", "--instance-information-filter-list", "key=PingStatus,valueSet=Online")
		if !sameIDs(d.ids(), web.ID) {
			t.Errorf("legacy list PingStatus=Online: %+v", d)
		}
		d = described{}
		aws.ok(t, &d, "describe-instance-information", "--filters", "Key=tag:Name,Values=nobody.example.com")
		if len(d.InstanceInformationList) != 0 {
			t.Errorf("tag:Name=nobody: %+v", d)
		}
	})

	var okID, failedID string
	t.Run("send-command and get-command-invocation", func(t *testing.T) {
		s := aws.send(t, web.ID, map[string][]string{"commands": {"echo hello from $AWS_SSM_INSTANCE_ID", "echo careful >&2"},
			"executionTimeout": {"30"}}, "--timeout-seconds", "60", "--comment", "clients test")
		c := s.Command
		if c.Status != "Pending" || c.TimeoutSeconds != 60 || c.Comment != "clients test" || !sameIDs(c.InstanceIds, web.ID) ||
			!sameIDs(c.Parameters["executionTimeout"], "30") || expiry(t, c.RequestedDateTime, c.ExpiresAfter) != 90*time.Second {
			t.Errorf("send-command: %+v", c)
		}
		okID = c.CommandId
		inv := aws.wait(t, okID, web.ID)
		if inv.Status != "Success" || inv.StatusDetails != "Success" || inv.ResponseCode != 0 ||
			inv.StandardOutputContent != "hello from "+web.ID+"\n" || inv.StandardErrorContent != "careful\n" ||
			inv.PluginName != "aws:runShellScript" || inv.ExecutionEndDateTime == "" {
			t.Errorf("successful script: %+v", inv)
		}

		failedID = aws.send(t, web.ID, map[string][]string{"commands": {"echo partial", "echo broken >&2", "exit 3"}}).Command.CommandId
		inv = aws.wait(t, failedID, web.ID)
		if inv.Status != "Failed" || inv.ResponseCode != 3 || inv.StandardOutputContent != "partial\n" ||
			inv.StandardErrorContent != "broken\nfailed to run commands: exit status 3" {
			t.Errorf("failing script: %+v", inv)
		}

		// executionTimeout, not TimeoutSeconds, bounds the run.
		start := time.Now()
		slow := aws.send(t, web.ID, map[string][]string{"commands": {"echo started", "sleep 20", "echo finished"}, "executionTimeout": {"1"}},
			"--timeout-seconds", "30").Command.CommandId
		inv = aws.wait(t, slow, web.ID)
		if inv.Status != "TimedOut" || inv.StatusDetails != "ExecutionTimedOut" || inv.ResponseCode != 137 ||
			inv.StandardOutputContent != "started\n" || time.Since(start) > 15*time.Second {
			t.Errorf("script over its executionTimeout: %+v after %s", inv, time.Since(start))
		}
	})

	t.Run("delivery waits for the agent", func(t *testing.T) {
		c := aws.send(t, db.ID, map[string][]string{"commands": {"echo delivered"}}, "--timeout-seconds", "30").Command
		var inv invocation
		aws.ok(t, &inv, "get-command-invocation", "--command-id", c.CommandId, "--instance-id", db.ID)
		if c.Status != "Pending" || inv.Status != "Delayed" || inv.ResponseCode != -1 || inv.StandardOutputContent != "" {
			t.Errorf("command for an offline agent: sent %+v, invocation %+v", c, inv)
		}
		svc.SetOnline(db.ID, true)
		defer svc.SetOnline(db.ID, false)
		if inv = aws.wait(t, c.CommandId, db.ID); inv.Status != "Success" || inv.StandardOutputContent != "delivered\n" {
			t.Errorf("after the agent came back: %+v", inv)
		}
	})

	// Each refusal is its own aws process: run them side by side.
	t.Run("refused requests", func(t *testing.T) {
		for _, tc := range []struct {
			name, code, want string
			env              []string
			args             []string
		}{
			{"wrong secret", "InvalidSignatureException", "The request signature we calculated does not match the signature you provided",
				[]string{"AWS_SECRET_ACCESS_KEY=not-the-secret"}, []string{"describe-instance-information"}},
			{"unknown access key", "UnrecognizedClientException", "security token included in the request is invalid",
				[]string{"AWS_ACCESS_KEY_ID=AKIDNOBODY"}, []string{"describe-instance-information"}},
			{"signed for another region", "InvalidSignatureException", "eu-west-1", nil, []string{"--region", "eu-west-1", "describe-instance-information"}},
			// The CLI checks TimeoutSeconds' minimum itself; the maximum is
			// the service's to refuse.
			{"TimeoutSeconds over the maximum", "ValidationException", "at 'timeoutSeconds' failed to satisfy constraint", nil,
				[]string{"send-command", "--document-name", "AWS-RunShellScript", "--instance-ids", web.ID,
					"--parameters", `{"commands":["true"]}`, "--timeout-seconds", "2592001"}},
			{"executionTimeout 0", "InvalidParameters", "executionTimeout", nil,
				[]string{"send-command", "--document-name", "AWS-RunShellScript", "--instance-ids", web.ID,
					"--parameters", `{"commands":["true"],"executionTimeout":["0"]}`}},
			{"Targets not modelled", "ValidationException", "Targets", nil,
				[]string{"send-command", "--document-name", "AWS-RunShellScript", "--targets", "Key=tag:Name,Values=web01.example.com",
					"--parameters", `{"commands":["true"]}`}},
			{"unknown instance filter key", "InvalidFilterKey", "Colour", nil,
				[]string{"describe-instance-information", "--filters", "Key=Colour,Values=blue"}},
			{"bad PingStatus value", "InvalidInstanceInformationFilterValue", "PingStatus", nil,
				[]string{"describe-instance-information", "--filters", "Key=PingStatus,Values=Asleep"}},
			{"tag filter mixed with another", "ValidationException", "Cannot mix tag", nil,
				[]string{"describe-instance-information", "--filters", "Key=tag:Name,Values=web01.example.com", "Key=PingStatus,Values=Online"}},
			{"unknown instance ID", "InvalidInstanceId", "i-0123456789abcdef0", nil,
				[]string{"describe-instance-information", "--filters", "Key=InstanceIds,Values=i-0123456789abcdef0"}},
			{"unknown command filter key", "ValidationException", "Member must satisfy enum value set", nil,
				[]string{"list-commands", "--filters", "key=Colour,value=blue"}},
			{"ExecutionStage on invocations", "InvalidFilterKey", "ExecutionStage", nil,
				[]string{"list-command-invocations", "--filters", "key=ExecutionStage,value=Complete"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				if e := aws.refused(t, tc.code, tc.env, tc.args...); !strings.Contains(e, tc.want) {
					t.Errorf("stderr %q does not say %q", e, tc.want)
				}
			})
		}
	})

	t.Run("list-commands and list-command-invocations", func(t *testing.T) {
		type listed struct {
			Commands []struct {
				CommandId, Status, StatusDetails string
				CompletedCount, ErrorCount       int
			}
		}
		var all listed
		// One command a page: the CLI follows NextToken to the end.
		aws.ok(t, &all, "list-commands", "--page-size", "1")
		if len(all.Commands) != 4 || all.Commands[len(all.Commands)-1].CommandId != okID {
			t.Fatalf("list-commands, one a page: %+v", all)
		}
		var byStatus listed
		aws.ok(t, &byStatus, "list-commands", "--filters", "key=Status,value=Failed")
		if len(byStatus.Commands) != 1 || byStatus.Commands[0].CommandId != failedID || byStatus.Commands[0].ErrorCount != 1 {
			t.Errorf("Status=Failed: %+v", byStatus)
		}
		var timedOut listed
		aws.ok(t, &timedOut, "list-commands", "--filters", "key=Status,value=ExecutionTimedOut", "key=DocumentName,value=AWS-RunShellScript")
		if len(timedOut.Commands) != 1 || timedOut.Commands[0].Status != "TimedOut" {
			t.Errorf("Status=ExecutionTimedOut: %+v", timedOut)
		}
		var later listed
		aws.ok(t, &later, "list-commands", "--filters", "key=InvokedAfter,value="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		if len(later.Commands) != 0 {
			t.Errorf("InvokedAfter an hour from now: %+v", later)
		}
		var one listed
		aws.ok(t, &one, "list-commands", "--command-id", okID, "--filters", "key=ExecutionStage,value=Complete")
		if len(one.Commands) != 1 || one.Commands[0].Status != "Success" || one.Commands[0].CompletedCount != 1 {
			t.Errorf("one command, complete: %+v", one)
		}

		var invs struct {
			CommandInvocations []struct {
				InstanceId, Status string
				CommandPlugins     []struct {
					Name, Output string
					ResponseCode int
				}
			}
		}
		aws.ok(t, &invs, "list-command-invocations", "--command-id", failedID, "--details")
		if len(invs.CommandInvocations) != 1 || invs.CommandInvocations[0].Status != "Failed" || len(invs.CommandInvocations[0].CommandPlugins) != 1 {
			t.Fatalf("list-command-invocations --details: %+v", invs)
		}
		if p := invs.CommandInvocations[0].CommandPlugins[0]; p.Name != "aws:runShellScript" || p.ResponseCode != 3 ||
			p.Output != "partial\n\n----------ERROR-------\nbroken\nfailed to run commands: exit status 3" {
			t.Errorf("plugin: %+v", p)
		}
	})
}
