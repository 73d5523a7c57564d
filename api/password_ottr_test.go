package api_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/internal/testtool"
)

// ottrPasswordRE is validate_password's pattern in Ottr's
// api/backend/app/shared/client.py, applied with re.search.
const ottrPasswordRE = `^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[@$!%*#?&.])[A-Za-z\d@$!#%*?&.]{8,}$`

// TestPasswordRuleIsOttrs runs Ottr's own regex, in Python, over passwords
// at the rule's edges and checks CheckPassword agrees, except where we
// refuse on purpose (over 128 characters, a trailing newline).
func TestPasswordRuleIsOttrs(t *testing.T) {
	py := testtool.Need(t, testtool.DebianPython, "python3")
	cases := []string{
		"Passw0rd!", "aB3.efgh", "aB3.efg", "Passw0rd", "passw0rd!", "PASSW0RD!", "Password!",
		"Pass w0rd!", "Passw0rd-!", "Passw0rd_!", "Passwörd1!", "ÄÖÜpass1!x", "Passw٣rd!", "Passw0rd$",
		"Pass\tw0rd!", "Passw0rd!\x00", "Passw0rd^!", "(Passw0rd)!", "Aa1.Aa1.", "........aA1",
		"Passw0rd!\n", strings.Repeat("Aa1.", 40),
	}
	in, _ := json.Marshal(cases)
	script := `import json, re, sys
print(json.dumps([bool(re.search(sys.argv[1], p)) for p in json.load(sys.stdin)]))`
	cmd := exec.CommandContext(t.Context(), py, "-c", script, ottrPasswordRE)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	var ottrOK []bool
	if err := json.Unmarshal(out, &ottrOK); err != nil || len(ottrOK) != len(cases) {
		t.Fatalf("python: %s (%v)", out, err)
	}
	for i, pw := range cases {
		want := ottrOK[i]
		if strings.HasSuffix(pw, "\n") || len([]rune(pw)) > 128 {
			if !want {
				t.Errorf("%q: Ottr refused it; the difference declared is that we refuse what Ottr took", pw)
			}
			want = false
		}
		err := api.CheckPassword("password", pw)
		if (err == nil) != want {
			t.Errorf("%q: CheckPassword = %v, Ottr's rule says ok=%v", pw, err, want)
		}
	}
	// What is wrong is named.
	err = api.CheckPassword("password", "Pass w0rd!")
	if err == nil || !strings.Contains(err.Error(), "only letters A-Z and a-z, digits and @$!%*#?&.") {
		t.Errorf("space: %v", err)
	}
}
