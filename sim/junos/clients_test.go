package junos_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/junos"
)

// These tests drive the simulator with Juniper's clients as Debian ships
// them (ncclient, PyEZ, Ansible's junipernetworks.junos) and assert what
// each client got back: the clients are the judges of the simulator.

const (
	clientUser = "netops"
	clientPass = "Netops.Passw0rd"
)

func startDevice(t *testing.T) *junos.Device {
	t.Helper()
	dev, err := junos.Start(clientUser, clientPass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// runPython runs a script of testdata with the device's address and the
// login, and decodes the JSON it prints: one entry per step, the value
// the client returned or {"rpc_error"|"error": …} for what it raised.
func runPython(t *testing.T, py, script string, dev *junos.Device, args ...string) map[string]any {
	t.Helper()
	host, port, _ := net.SplitHostPort(dev.Addr)
	b, err := exec.Command(py, append([]string{filepath.Join("testdata", script), host, port, clientUser, clientPass}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s: %v\n%s\n%s", script, err, b, ee.Stderr)
		}
		t.Fatalf("%s: %v", script, err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%s printed %q: %v", script, b, err)
	}
	return got
}

// expect compares one step's result, shown as JSON, with want.
func expect(t *testing.T, got map[string]any, step string, want any) {
	t.Helper()
	g, _ := json.Marshal(got[step])
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s: got %s, want %s", step, g, w)
	}
}

// expectText checks a step returned text holding every one of parts.
func expectText(t *testing.T, got map[string]any, step string, parts ...string) {
	t.Helper()
	s, ok := got[step].(string)
	if !ok {
		t.Errorf("%s: got %v, want text", step, got[step])
		return
	}
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%s: %q does not hold %q", step, s, p)
		}
	}
}

// expectError checks a step raised kind (rpc_error or error) with a
// message holding msg.
func expectError(t *testing.T, got map[string]any, step, kind, msg string) {
	t.Helper()
	m, ok := got[step].(map[string]any)
	if !ok || m[kind] == nil {
		t.Errorf("%s: got %v, want %s", step, got[step], kind)
		return
	}
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), msg) {
		t.Errorf("%s: %s does not mention %q", step, b, msg)
	}
}

// TestNcclient drives the device with ncclient's Junos handler.
func TestNcclient(t *testing.T) {
	t.Parallel()
	py := testtool.NeedPython(t, "ncclient", "python3-ncclient")
	dev := startDevice(t)
	// A confirmed commit's minute lasts 300ms; the script waits 1s.
	dev.SetMinute(300 * time.Millisecond)
	got := runPython(t, py, "ncclient_check.py", dev, "1")

	expect(t, got, "base11", true) // both announced base:1.1: chunked framing
	expect(t, got, "running_hostname", []string{"srx1"})
	expect(t, got, "filtered", []string{"configuration", "data", "host-name", "rpc-reply", "system"})
	expect(t, got, "lock", true)
	expectError(t, got, "other_lock", "rpc_error", "lock-denied")
	expectError(t, got, "other_edit", "rpc_error", "configuration database locked")
	expect(t, got, "edit", true)
	expectError(t, got, "edit_bad", "rpc_error", "syntax error")
	expect(t, got, "candidate_hostname", []string{"nc-lab"})
	expect(t, got, "running_before_commit", []string{"srx1"})
	expect(t, got, "validate", true)
	expectText(t, got, "compare", "[edit system]", "-   host-name srx1;", "+   host-name nc-lab;")
	expect(t, got, "commit", true)
	expect(t, got, "running_after_commit", []string{"nc-lab"})
	expect(t, got, "edit_discard", true)
	expect(t, got, "discard", true)
	expect(t, got, "candidate_after_discard", []string{"nc-lab"})
	expect(t, got, "load_set", true)
	expect(t, got, "commit_check", true)
	expect(t, got, "running_after_check", []string{"nc-lab"}) // a check commits nothing
	expect(t, got, "commit_set", true)
	expectText(t, got, "text_config", "system {\n    host-name nc-set;\n", "domain-name example.net;")
	expect(t, got, "rollback", true)
	expectText(t, got, "rollback_diff", "-   host-name nc-set;", "+   host-name nc-lab;")
	expect(t, got, "commit_rollback", true)
	expect(t, got, "running_after_rollback", []string{"nc-lab"})
	// Deleting what is not there is a warning; the rest is loaded.
	expectError(t, got, "load_warn", "rpc_error", "statement not found")
	expectError(t, got, "load_warn", "rpc_error", `"severity":"warning"`)
	expectText(t, got, "candidate_after_warn", "set system time-zone UTC\n")
	expect(t, got, "discard_warned", true)
	expect(t, got, "unlock", true)
	expect(t, got, "software", map[string]string{"host-name": "nc-lab", "junos-version": "23.4R1.9", "product-model": "srx340"})
	expectText(t, got, "show_version", "Hostname: nc-lab", "Junos: 23.4R1.9")
	expectText(t, got, "show_config_set", "set system host-name nc-lab\n", "set system services netconf ssh\n")
	expectError(t, got, "bad_command", "rpc_error", "syntax error")
	expect(t, got, "lock_confirm", true)
	expect(t, got, "load_confirm", true)
	expect(t, got, "commit_confirmed", true)
	expect(t, got, "running_while_pending", []string{"nc-unconfirmed"})
	expect(t, got, "running_after_timeout", []string{"nc-lab"}) // rolled back
	expect(t, got, "load_kept", true)
	expect(t, got, "commit_confirmed_again", true)
	expect(t, got, "confirming_check", true)
	expect(t, got, "running_confirmed", []string{"nc-confirmed"})
	expectError(t, got, "bad_timeout", "rpc_error", "confirm-timeout must be")
	expect(t, got, "unlock_confirm", true)
	if lines, _ := dev.Committed(); !slices.Contains(lines, "set system host-name nc-confirmed") {
		t.Errorf("committed on the device: %v", lines)
	}
}

// TestPyEZ drives the device with Juniper's PyEZ: facts, Config and RPCs.
func TestPyEZ(t *testing.T) {
	t.Parallel()
	py := testtool.NeedPython(t, "jnpr.junos", "python3-junos-eznc")
	dev := startDevice(t)
	got := runPython(t, py, "pyez_check.py", dev)

	expect(t, got, "facts", map[string]any{
		"hostname": "srx1", "model": "SRX340", "version": "23.4R1.9", "serialnumber": "CV4719AF0123",
		"domain": "example.net", "fqdn": "srx1.example.net", "master": "RE0",
		"RE0": map[string]string{"last_reboot_reason": "0x1:power cycle/failure", "mastership_state": "master", "model": "RE-SRX340", "status": "OK", "up_time": "1 day, 12 hours"},
	})
	expect(t, got, "lock", true)
	expect(t, got, "load_set", true)
	expectText(t, got, "diff", "[edit system]", "-   host-name srx1;", "+   host-name pyez-lab;")
	expect(t, got, "commit_check", true)
	expect(t, got, "after_check", "srx1") // commit_check commits nothing
	expect(t, got, "commit", true)
	expect(t, got, "after_commit", "pyez-lab")
	expect(t, got, "load_text", true)
	expect(t, got, "commit_text", true)
	expectText(t, got, "text_message", "system {\n    host-name pyez-lab;\n", "    login {\n        message \"managed by pyez\";\n    }\n")
	expectError(t, got, "load_bad", "rpc_error", "ConfigLoadError")
	expect(t, got, "diff_after_bad", nil) // a refused load changes nothing
	expect(t, got, "rollback", true)
	expectText(t, got, "diff_rollback", "+   host-name srx1;", "-   login {")
	expect(t, got, "commit_rollback", true)
	expect(t, got, "after_rollback", "srx1")
	expect(t, got, "unlock", true)
	expectText(t, got, "cli", "Hostname: srx1\n", "Model: srx340\n")
	expect(t, got, "cli_config", "\nhost-name srx1;\n")
	expect(t, got, "rpc_software", "srx1")
	expectError(t, got, "rpc_bad", "rpc_error", "syntax error")
	if cand, lines := dev.Candidate(), setLinesOf(dev); !slices.Equal(cand, lines) {
		t.Errorf("changes left pending after unlock: candidate %v, committed %v", cand, lines)
	}
}

func setLinesOf(dev *junos.Device) []string { l, _ := dev.Committed(); return l }

// TestAnsible drives the device with Ansible's junipernetworks.junos
// modules over connection: netconf, in one playbook run.
func TestAnsible(t *testing.T) {
	t.Parallel()
	playbook := testtool.Need(t, "ansible-playbook", "ansible")
	testtool.NeedPython(t, "ncclient", "python3-ncclient")
	dev := startDevice(t)
	// The playbook's commit confirmed waits one minute, here 5s, for the
	// task after it to confirm it.
	minute := 5 * time.Second
	dev.SetMinute(minute)
	host, port, _ := net.SplitHostPort(dev.Addr)
	dir := t.TempDir()
	inv := filepath.Join(dir, "inventory.ini")
	if err := os.WriteFile(inv, []byte(fmt.Sprintf("[srx]\nsrx1 ansible_host=%s ansible_port=%s ansible_user=%s ansible_password=%s ansible_connection=ansible.netcommon.netconf ansible_network_os=junipernetworks.junos.junos ansible_python_interpreter=%s\n",
		host, port, clientUser, clientPass, testtool.DebianPython)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(playbook, "-i", inv, filepath.Join("testdata", "junos_playbook.yml"))
	cmd.Env = append(os.Environ(), "ANSIBLE_STDOUT_CALLBACK=json", "ANSIBLE_HOST_KEY_CHECKING=False", "ANSIBLE_LOCAL_TEMP="+dir,
		"ANSIBLE_PERSISTENT_CONTROL_PATH_DIR="+dir, "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=False")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("ansible-playbook: %v\n%s", err, b)
	}
	var run struct {
		Plays []struct {
			Tasks []struct {
				Task  struct{ Name string }
				Hosts map[string]map[string]any
			}
		}
	}
	if err := json.Unmarshal(b, &run); err != nil || len(run.Plays) != 1 {
		t.Fatalf("json callback output %q: %v", b, err)
	}
	res := map[string]map[string]any{}
	for _, task := range run.Plays[0].Tasks {
		res[task.Task.Name] = task.Hosts["srx1"]
	}
	failed := func(task string) bool { return res[task]["failed"] == true }
	stdout := func(task string) string {
		out, _ := res[task]["stdout"].([]any)
		if len(out) != 1 {
			t.Errorf("%s: stdout %v", task, res[task])
			return ""
		}
		s, _ := out[0].(string)
		return s
	}
	for task, r := range res {
		if failed(task) != (task == "bad command" || task == "bad statement") {
			t.Errorf("%s: failed=%v: %v", task, r["failed"], r["msg"])
		}
	}

	facts, _ := res["facts"]["ansible_facts"].(map[string]any)
	for k, want := range map[string]string{"ansible_net_hostname": "srx1", "ansible_net_model": "srx340", "ansible_net_version": "23.4R1.9",
		"ansible_net_serialnum": "CV4719AF0123", "ansible_net_system": "junos", "ansible_net_api": "netconf"} {
		if facts[k] != want {
			t.Errorf("fact %s = %v, want %s", k, facts[k], want)
		}
	}
	if cfg, _ := facts["ansible_net_config"].(string); !strings.Contains(cfg, "set system host-name srx1\n") {
		t.Errorf("ansible_net_config: %q", cfg)
	}
	if s := stdout("show version"); !strings.Contains(s, "Hostname: srx1") || !strings.Contains(s, "Junos: 23.4R1.9") {
		t.Errorf("show version: %q", s)
	}
	if msg := fmt.Sprint(res["bad command"]); !strings.Contains(msg, "syntax error") {
		t.Errorf("bad command: %s", msg)
	}
	if res["check mode"]["changed"] != true || stdout("hostname after check mode") != "host-name srx1;" {
		t.Errorf("check mode: changed=%v, then %q", res["check mode"]["changed"], stdout("hostname after check mode"))
	}
	if res["set host-name"]["changed"] != true || res["set host-name again"]["changed"] != false || res["text src"]["changed"] != true {
		t.Errorf("changed: set %v, again %v, src %v", res["set host-name"]["changed"], res["set host-name again"]["changed"], res["text src"]["changed"])
	}
	if msg := fmt.Sprint(res["bad statement"]["msg"]); !strings.Contains(msg, "no-such-statement") {
		t.Errorf("bad statement: %s", msg)
	}
	after := stdout("configuration after changes")
	for _, l := range []string{"set system host-name ansible-lab", `set system login message "set by ansible"`, "set system time-zone Europe/Paris"} {
		if !strings.Contains(after, l) {
			t.Errorf("after changes, %q is missing from %q", l, after)
		}
	}
	if res["rollback"]["changed"] != true {
		t.Errorf("rollback: %v", res["rollback"])
	}
	back := stdout("configuration after rollback")
	if !strings.Contains(back, "set system host-name srx1") || strings.Contains(back, "time-zone") || strings.Contains(back, "login") {
		t.Errorf("after rollback 2: %q", back)
	}
	if res["commit confirmed"]["changed"] != true || res["confirm the commit"]["changed"] != true {
		t.Errorf("commit confirmed: %v; confirming: %v", res["commit confirmed"], res["confirm the commit"])
	}
	// Confirmed, the commit stays once its minute has passed.
	time.Sleep(minute + time.Second)
	if lines := setLinesOf(dev); !slices.Contains(lines, "set system host-name ansible-confirmed") {
		t.Errorf("committed on the device: %v", lines)
	}
}
