package testtool

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Playbook runs testdata/ansible/<play> with Debian's ansible-playbook on
// localhost (the modules' own connection reaches the device), passing vars
// as extra variables plus results_file, where the play writes what its
// tasks registered, and returns that file's content. env is the
// environment to start from (nil: this process's); Ansible's own state
// goes to a temporary HOME. A failed run fails the test with its output.
func Playbook(t testing.TB, python, play string, vars map[string]any, env []string) []byte {
	t.Helper()
	bin := Need(t, "ansible-playbook", "ansible")
	dir := t.TempDir()
	vars["results_file"] = filepath.Join(dir, "results.json")
	vb, err := json.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vars.json"), vb, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-i", "localhost,", "-e", "ansible_python_interpreter="+python,
		"-e", "@"+filepath.Join(dir, "vars.json"), filepath.Join("testdata", "ansible", play))
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, "HOME="+dir, "ANSIBLE_LOCAL_TEMP="+filepath.Join(dir, "tmp"), "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_DEPRECATION_WARNINGS=0")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("ansible-playbook %s ran %s", play, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("ansible-playbook %s: %v\n%s", play, err, out)
	}
	rb, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatalf("ansible-playbook %s wrote no results: %v\n%s", play, err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s results:\n%s", play, rb)
		}
	})
	return rb
}
