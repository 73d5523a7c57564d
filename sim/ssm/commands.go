package ssm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ottr-dev/ottr/sim/faultbin"
)

// A command's (and its one invocation's) states, as SSM names them.
const (
	statusPending    = "Pending"
	statusDelayed    = "Delayed"
	statusInProgress = "InProgress"
	statusSuccess    = "Success"
	statusFailed     = "Failed"
	statusTimedOut   = "TimedOut"
)

// The AWS-RunShellScript document (schema 1.2, one aws:runShellScript
// plugin) is the only one modelled.
const (
	runShellScript = "AWS-RunShellScript"
	pluginName     = "aws:runShellScript"
	// killedExitCode is what SSM Agent on Linux reports for a script it
	// stopped at its execution timeout (128 + SIGKILL).
	killedExitCode = 137
	// Output limits of GetCommandInvocation and of a plugin's Output.
	maxStdout, maxStderr, maxPluginOutput = 24000, 8000, 2500
)

var (
	// executionTimeout's allowedPattern in AWS-RunShellScript: 1 to 172800.
	executionTimeoutRe = regexp.MustCompile(`^(?:([1-9][0-9]{0,4})|(1[0-6][0-9]{4})|(17[0-1][0-9]{3})|(172[0-7][0-9]{2})|(172800))$`)
	documentNameSource = `^[a-zA-Z0-9_\-.:/]{3,128}$`
	documentNameRe     = regexp.MustCompile(documentNameSource)
	docVersionSource   = `([$]LATEST|[$]DEFAULT|^[1-9][0-9]*$)`
	docVersionRe       = regexp.MustCompile(docVersionSource)
	maxConcSource      = `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$`
	maxConcRe          = regexp.MustCompile(maxConcSource)
	maxErrorsSource    = `^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$`
	maxErrorsRe        = regexp.MustCompile(maxErrorsSource)
)

// command is one SendCommand to one instance and its invocation there.
type command struct {
	id, document, version, comment string
	params                         map[string][]string
	instanceID, instanceName       string
	requested                      time.Time
	timeout, execTimeout           int // seconds: delivery, run
	workDir                        string
	maxConcurrency, maxErrors      string

	status, details string
	code            int
	stdout, stderr  string
	started, ended  time.Time
}

func (s *Service) sendCommand(body []byte) (any, *apiError) {
	var in struct {
		DocumentName, DocumentVersion, Comment, MaxConcurrency, MaxErrors *string
		InstanceIds                                                       []string
		TimeoutSeconds                                                    *int
		Parameters                                                        map[string][]string
	}
	if e := decode(body, &in, "Targets", "DocumentHash", "DocumentHashType", "OutputS3Region", "OutputS3BucketName",
		"OutputS3KeyPrefix", "ServiceRoleArn", "NotificationConfig", "CloudWatchOutputConfig", "AlarmConfiguration"); e != nil {
		return nil, e
	}
	var v violations
	if v.required(in.DocumentName != nil, "documentName") {
		v.pattern(in.DocumentName, "documentName", documentNameRe, documentNameSource)
	}
	v.pattern(in.DocumentVersion, "documentVersion", docVersionRe, docVersionSource)
	v.count(in.InstanceIds, "instanceIds", 0, 50)
	for i, id := range in.InstanceIds {
		v.pattern(&id, fmt.Sprintf("instanceIds.%d.member", i+1), instanceIDRe, instanceIDSource)
	}
	v.intRange(in.TimeoutSeconds, "timeoutSeconds", 30, 2592000)
	v.length(in.Comment, "comment", 0, 100)
	v.pattern(in.MaxConcurrency, "maxConcurrency", maxConcRe, maxConcSource)
	v.pattern(in.MaxErrors, "maxErrors", maxErrorsRe, maxErrorsSource)
	if e := v.err(); e != nil {
		return nil, e
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if t := s.failNext; t != "" {
		s.failNext = ""
		return nil, &apiError{t, "Rate exceeded"}
	}
	if *in.DocumentName != runShellScript {
		return nil, &apiError{"InvalidDocument", "Document " + *in.DocumentName + " does not exist (this simulator has " + runShellScript + " only)."}
	}
	version := "$DEFAULT"
	if in.DocumentVersion != nil {
		version = *in.DocumentVersion
		if !contains([]string{"$DEFAULT", "$LATEST", "1"}, version) {
			return nil, &apiError{"InvalidDocumentVersion", "Document " + runShellScript + " has no version " + version + "."}
		}
	}
	switch len(in.InstanceIds) {
	case 0:
		return nil, &apiError{"ValidationException", "InstanceIds or Targets must be specified (Targets is not modelled by this simulator)."}
	case 1:
	default:
		seen := map[string]bool{}
		for _, id := range in.InstanceIds {
			if seen[id] {
				return nil, &apiError{"DuplicateInstanceId", "Instance " + id + " is listed more than once."}
			}
			seen[id] = true
		}
		return nil, &apiError{"ValidationException", "This simulator runs a command on one instance; give one InstanceIds entry."}
	}
	inst := s.instance(in.InstanceIds[0])
	if inst == nil {
		return nil, &apiError{"InvalidInstanceId", "Instances [[" + in.InstanceIds[0] + "]] not in a valid state for account 123456789012"}
	}
	execTimeout, workDir, e := runShellScriptParameters(in.Parameters)
	if e != nil {
		return nil, e
	}
	c := &command{id: newUUID(), document: runShellScript, version: version, params: in.Parameters,
		instanceID: inst.ID, instanceName: inst.Name, requested: time.Now(), timeout: 3600, execTimeout: execTimeout,
		workDir: workDir, maxConcurrency: "50", maxErrors: "0", status: statusPending, details: statusPending, code: -1}
	if in.Comment != nil {
		c.comment = *in.Comment
	}
	if in.TimeoutSeconds != nil {
		c.timeout = *in.TimeoutSeconds
	}
	if in.MaxConcurrency != nil {
		c.maxConcurrency = *in.MaxConcurrency
	}
	if in.MaxErrors != nil {
		c.maxErrors = *in.MaxErrors
	}
	s.commands = append(s.commands, c)
	sent := c.json()
	if inst.Online {
		s.deliver(c, inst)
	} else {
		// The agent is away: SSM keeps trying until TimeoutSeconds pass,
		// after which the command never runs.
		c.status, c.details = statusDelayed, statusDelayed
		time.AfterFunc(time.Duration(c.timeout)*s.second, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if c.status == statusDelayed {
				c.status, c.details, c.ended = statusTimedOut, "DeliveryTimedOut", time.Now()
			}
		})
	}
	return map[string]any{"Command": sent}, nil
}

// runShellScriptParameters checks Parameters against AWS-RunShellScript's
// (commands: StringList, at least one; workingDirectory: String, at most
// 4096 characters; executionTimeout: String matching its allowedPattern,
// default 3600) and returns the execution timeout and directory.
func runShellScriptParameters(p map[string][]string) (int, string, *apiError) {
	for name := range p {
		if !contains([]string{"commands", "workingDirectory", "executionTimeout"}, name) {
			return 0, "", &apiError{"InvalidParameters", "Parameter \"" + name + "\" is not defined in document " + runShellScript + "."}
		}
	}
	if len(p["commands"]) == 0 {
		return 0, "", &apiError{"InvalidParameters", "Parameter \"commands\" of document " + runShellScript + " is required and needs at least one item."}
	}
	execTimeout, workDir := 3600, ""
	if t, ok := p["executionTimeout"]; ok {
		if len(t) != 1 || !executionTimeoutRe.MatchString(t[0]) {
			shown, _ := json.Marshal(t)
			return 0, "", &apiError{"InvalidParameters", fmt.Sprintf("Parameter \"executionTimeout\" %s is not one String matching the allowed pattern: seconds from 1 to 172800.", shown)}
		}
		execTimeout, _ = strconv.Atoi(t[0])
	}
	if d, ok := p["workingDirectory"]; ok {
		if len(d) > 1 || len(d) == 1 && len(d[0]) > 4096 {
			return 0, "", &apiError{"InvalidParameters", "Parameter \"workingDirectory\" must be one String of at most 4096 characters."}
		}
		if len(d) == 1 {
			workDir = d[0]
		}
	}
	return execTimeout, workDir, nil
}

// deliver hands c to the instance's agent, which runs it; s.mu is held.
func (s *Service) deliver(c *command, inst *Instance) {
	if s.closed {
		return
	}
	c.status, c.details, c.started = statusInProgress, statusInProgress, time.Now()
	s.bg.Add(1)
	go s.run(c, inst)
}

func (s *Service) run(c *command, inst *Instance) {
	defer s.bg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.execTimeout)*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", strings.Join(c.params["commands"], "\n"))
	// The agent stops the whole script at its timeout, not only the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	cmd.Dir = c.workDir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), "AWS_SSM_INSTANCE_ID="+inst.ID, "PATH="+faultbin.PATH(inst.faults, os.Getenv("PATH")))
	err := cmd.Run()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ended = time.Now()
	c.stdout, c.stderr = stdout.String(), stderr.String()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		c.status, c.details, c.code = statusTimedOut, "ExecutionTimedOut", killedExitCode
	case errors.As(err, &ee):
		c.status, c.details, c.code = statusFailed, statusFailed, ee.ExitCode()
		// SSM Agent appends its own line to a failed script's stderr.
		c.stderr += fmt.Sprintf("failed to run commands: exit status %d", c.code)
	case err != nil:
		c.status, c.details, c.code = statusFailed, statusFailed, 1
		c.stderr += "failed to run commands: " + err.Error()
	default:
		c.status, c.details, c.code = statusSuccess, statusSuccess, 0
	}
	c.stdout, c.stderr = cut(c.stdout, maxStdout), cut(c.stderr, maxStderr)
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (c *command) done() bool {
	return c.status == statusSuccess || c.status == statusFailed || c.status == statusTimedOut
}

// json is the Command structure; s.mu is held.
func (c *command) json() map[string]any {
	status, details := c.status, c.details
	if status == statusDelayed {
		// No invocation delivered yet: the command itself is pending.
		status, details = statusPending, statusPending
	}
	completed, errs, undelivered := 0, 0, 0
	switch {
	case c.details == "DeliveryTimedOut":
		completed, undelivered = 1, 1
	case c.status == statusFailed || c.status == statusTimedOut:
		completed, errs = 1, 1
	case c.status == statusSuccess:
		completed = 1
	}
	return map[string]any{"CommandId": c.id, "DocumentName": c.document, "DocumentVersion": c.version, "Comment": c.comment,
		"ExpiresAfter": epoch(c.requested.Add(time.Duration(c.timeout+c.execTimeout) * time.Second)), "Parameters": c.params,
		"InstanceIds": []string{c.instanceID}, "Targets": []any{}, "RequestedDateTime": epoch(c.requested),
		"Status": status, "StatusDetails": details, "OutputS3Region": "us-east-1", "OutputS3BucketName": "", "OutputS3KeyPrefix": "",
		"MaxConcurrency": c.maxConcurrency, "MaxErrors": c.maxErrors, "TargetCount": 1, "CompletedCount": completed,
		"ErrorCount": errs, "DeliveryTimedOutCount": undelivered, "ServiceRole": "",
		"NotificationConfig":     map[string]any{"NotificationArn": "", "NotificationEvents": []string{}, "NotificationType": ""},
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
		"TimeoutSeconds":         c.timeout}
}

// isoTime is how GetCommandInvocation writes its execution times.
func isoTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Service) getCommandInvocation(body []byte) (any, *apiError) {
	var in struct{ CommandId, InstanceId, PluginName *string }
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	var v violations
	if v.required(in.CommandId != nil, "commandId") {
		v.length(in.CommandId, "commandId", 36, 36)
	}
	if v.required(in.InstanceId != nil, "instanceId") {
		v.pattern(in.InstanceId, "instanceId", instanceIDRe, instanceIDSource)
	}
	v.length(in.PluginName, "pluginName", 4, 0)
	if e := v.err(); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.command(*in.CommandId)
	if c == nil || c.instanceID != *in.InstanceId {
		return nil, &apiError{"InvocationDoesNotExist", ""}
	}
	if in.PluginName != nil && *in.PluginName != pluginName {
		return nil, &apiError{"InvalidPluginName", "Document " + runShellScript + " has no plugin " + *in.PluginName + "."}
	}
	elapsed := ""
	if !c.started.IsZero() && !c.ended.IsZero() {
		elapsed = fmt.Sprintf("PT%.3fS", c.ended.Sub(c.started).Seconds())
	}
	stdout, stderr := "", ""
	if c.done() {
		stdout, stderr = c.stdout, c.stderr
	}
	end := time.Time{}
	if !c.started.IsZero() {
		end = c.ended
	}
	return map[string]any{"CommandId": c.id, "InstanceId": c.instanceID, "Comment": c.comment, "DocumentName": c.document,
		"DocumentVersion": c.version, "PluginName": pluginName, "ResponseCode": c.code,
		"ExecutionStartDateTime": isoTime(c.started), "ExecutionElapsedTime": elapsed, "ExecutionEndDateTime": isoTime(end),
		"Status": c.status, "StatusDetails": c.details, "StandardOutputContent": stdout, "StandardOutputUrl": "",
		"StandardErrorContent": stderr, "StandardErrorUrl": "",
		"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false}}, nil
}

// command is the command with this ID, or nil; s.mu is held.
func (s *Service) command(id string) *command {
	for _, c := range s.commands {
		if c.id == id {
			return c
		}
	}
	return nil
}

type commandFilter struct {
	Key   *string `json:"key"`
	Value *string `json:"value"`
}

type listRequest struct {
	CommandId, InstanceId, NextToken *string
	MaxResults                       *int
	Filters                          []commandFilter
	Details                          bool
}

// Status filter values each listing accepts (CommandFilter's documentation).
var (
	commandStatuses    = []string{"Pending", "InProgress", "Success", "Cancelled", "Failed", "TimedOut", "AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut", "Incomplete", "NoInstancesInTag", "LimitExceeded"}
	invocationStatuses = []string{"Pending", "InProgress", "Delayed", "Success", "Cancelled", "Failed", "TimedOut", "AccessDenied", "DeliveryTimedOut", "ExecutionTimedOut", "Undeliverable", "InvalidPlatform", "Terminated"}
)

// listed selects the commands a ListCommands or ListCommandInvocations
// request asks for, newest first, and the page wanted; s.mu is held.
func (s *Service) listed(op string, body []byte) ([]*command, string, *listRequest, *apiError) {
	var in listRequest
	if e := decode(body, &in); e != nil {
		return nil, "", nil, e
	}
	var v violations
	v.length(in.CommandId, "commandId", 36, 36)
	v.pattern(in.InstanceId, "instanceId", instanceIDRe, instanceIDSource)
	v.intRange(in.MaxResults, "maxResults", 1, 50)
	if in.Filters != nil {
		v.count(make([]string, len(in.Filters)), "filters", 1, 5)
	}
	for i, f := range in.Filters {
		p := fmt.Sprintf("filters.%d.member", i+1)
		if v.required(f.Key != nil, p+".key") {
			v.enum(f.Key, p+".key", "InvokedAfter", "InvokedBefore", "Status", "ExecutionStage", "DocumentName")
		}
		if v.required(f.Value != nil, p+".value") {
			v.length(f.Value, p+".value", 1, 128)
		}
	}
	if e := v.err(); e != nil {
		return nil, "", nil, e
	}
	statuses := commandStatuses
	if op == "ListCommandInvocations" {
		statuses = invocationStatuses
	}
	var tests []func(*command) bool
	for _, f := range in.Filters {
		key, val := *f.Key, *f.Value
		switch key {
		case "InvokedAfter", "InvokedBefore":
			t, err := parseFilterTime(val)
			if err != nil {
				return nil, "", nil, &apiError{"ValidationException", fmt.Sprintf("The %s filter value %q is not a timestamp such as 2021-07-07T00:00:00Z.", key, val)}
			}
			if key == "InvokedAfter" {
				tests = append(tests, func(c *command) bool { return !c.requested.Before(t) })
			} else {
				tests = append(tests, func(c *command) bool { return c.requested.Before(t) })
			}
		case "Status":
			if !contains(statuses, val) {
				return nil, "", nil, &apiError{"ValidationException", fmt.Sprintf("The Status filter value %q is not one of %s.", val, strings.Join(statuses, ", "))}
			}
			if val == statusPending && in.InstanceId != nil {
				return nil, "", nil, &apiError{"ValidationException", "A managed node ID can't be specified when the command status filter is Pending."}
			}
			tests = append(tests, func(c *command) bool {
				status, details := c.status, c.details
				if op == "ListCommands" {
					j := c.json()
					status, details = j["Status"].(string), j["StatusDetails"].(string)
				}
				return val == status || val == details
			})
		case "ExecutionStage":
			if op == "ListCommandInvocations" {
				return nil, "", nil, &apiError{"InvalidFilterKey", "The ExecutionStage filter can't be used with ListCommandInvocations, only with ListCommands."}
			}
			if val != "Executing" && val != "Complete" {
				return nil, "", nil, &apiError{"ValidationException", fmt.Sprintf("The ExecutionStage filter value %q is not Executing or Complete.", val)}
			}
			tests = append(tests, func(c *command) bool { return c.done() == (val == "Complete") })
		case "DocumentName":
			tests = append(tests, func(c *command) bool { return c.document == val })
		}
	}
	if in.CommandId != nil && s.command(*in.CommandId) == nil {
		return nil, "", nil, &apiError{"InvalidCommandId", ""}
	}
	var list []*command
	for i := len(s.commands) - 1; i >= 0; i-- {
		c := s.commands[i]
		ok := (in.CommandId == nil || c.id == *in.CommandId) && (in.InstanceId == nil || c.instanceID == *in.InstanceId)
		for _, t := range tests {
			ok = ok && t(c)
		}
		if ok {
			list = append(list, c)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].requested.After(list[j].requested) })
	max := 50
	if in.MaxResults != nil {
		max = *in.MaxResults
	}
	list, next, e := page(op, list, in.NextToken, max)
	return list, next, &in, e
}

func parseFilterTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("not a timestamp")
}

func (s *Service) listCommands(body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, next, _, e := s.listed("ListCommands", body)
	if e != nil {
		return nil, e
	}
	out := []map[string]any{}
	for _, c := range list {
		out = append(out, c.json())
	}
	res := map[string]any{"Commands": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

func (s *Service) listCommandInvocations(body []byte) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, next, in, e := s.listed("ListCommandInvocations", body)
	if e != nil {
		return nil, e
	}
	out := []map[string]any{}
	for _, c := range list {
		inv := map[string]any{"CommandId": c.id, "InstanceId": c.instanceID, "InstanceName": c.instanceName, "Comment": c.comment,
			"DocumentName": c.document, "DocumentVersion": c.version, "RequestedDateTime": epoch(c.requested),
			"Status": c.status, "StatusDetails": c.details, "TraceOutput": "", "StandardOutputUrl": "", "StandardErrorUrl": "",
			"CommandPlugins": []any{}, "ServiceRole": "",
			"NotificationConfig":     map[string]any{"NotificationArn": "", "NotificationEvents": []string{}, "NotificationType": ""},
			"CloudWatchOutputConfig": map[string]any{"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false}}
		if in.Details {
			inv["CommandPlugins"] = []any{c.plugin()}
		}
		out = append(out, inv)
	}
	res := map[string]any{"CommandInvocations": out}
	if next != "" {
		res["NextToken"] = next
	}
	return res, nil
}

// plugin is the invocation's one CommandPlugin; s.mu is held.
func (c *command) plugin() map[string]any {
	status := c.status
	if status == statusDelayed {
		status = statusPending
	}
	p := map[string]any{"Name": pluginName, "Status": status, "StatusDetails": c.details, "ResponseCode": c.code,
		"Output": "", "StandardOutputUrl": "", "StandardErrorUrl": "", "OutputS3Region": "us-east-1", "OutputS3BucketName": "", "OutputS3KeyPrefix": ""}
	if !c.started.IsZero() {
		p["ResponseStartDateTime"] = epoch(c.started)
	}
	if c.done() && !c.started.IsZero() {
		p["ResponseFinishDateTime"] = epoch(c.ended)
		out := c.stdout
		if c.stderr != "" {
			out += "\n----------ERROR-------\n" + c.stderr
		}
		p["Output"] = cut(out, maxPluginOutput)
	}
	return p
}
