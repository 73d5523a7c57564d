package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestMaxSANsConfig: limits.max_sans defaults to ottr.DefaultMaxSANs, is
// set from the file or OTTR_LIMITS_MAX_SANS, and must be at least 1.
func TestMaxSANsConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	c, err := loadConfig("", noEnv)
	if err != nil || c.Limits.MaxSANs != ottr.DefaultMaxSANs {
		t.Errorf("default max_sans %d, %v; want %d", c.Limits.MaxSANs, err, ottr.DefaultMaxSANs)
	}
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte("limits:\n  max_sans: 250\n"), 0o644)
	if c, err := loadConfig(cfg, noEnv); err != nil || c.Limits.MaxSANs != 250 {
		t.Errorf("from the file: %d, %v; want 250", c.Limits.MaxSANs, err)
	}
	env := func(k string) string { return map[string]string{"OTTR_LIMITS_MAX_SANS": "7"}[k] }
	if c, err := loadConfig(cfg, env); err != nil || c.Limits.MaxSANs != 7 {
		t.Errorf("from the environment: %d, %v; want 7", c.Limits.MaxSANs, err)
	}
	os.WriteFile(cfg, []byte("limits:\n  max_sans: 0\n"), 0o644)
	if _, err := loadConfig(cfg, noEnv); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "limits.max_sans") {
		t.Errorf("max_sans 0: %v; want EINVALID naming limits.max_sans", err)
	}
}

// TestImportMaxSANs: asset import and asset add refuse an asset with more
// names than limits.max_sans, naming the field and the limit.
func TestImportMaxSANs(t *testing.T) {
	c := newCLI(t)
	c.env["OTTR_LIMITS_MAX_SANS"] = "2"
	asset := func(name string, n int) map[string]any {
		sans := make([]string, n)
		for i := range sans {
			sans[i] = fmt.Sprintf("n%d.%s", i, name)
		}
		return map[string]any{"system_name": name, "common_name": name, "subject_alternative_name": sans,
			"certificate_authority": "lets_encrypt", "host_platform": "f5", "os_version": "14.1.0"}
	}
	b, _ := json.Marshal([]any{asset("a.example.com", 2), asset("b.example.com", 3)})
	_, errs, err := c.run(string(b), "asset", "import", "-")
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(errs, "item 2: subject_alternative_name: has 3 names; the limit is 2") {
		t.Errorf("import: %v\n%s", err, errs)
	}
	if n := len(c.assets()); n != 0 {
		t.Errorf("refused import stored %d assets", n)
	}
	_, errs, err = c.run("", "asset", "add", "c.example.com", "--ca", "lets_encrypt", "--platform", "f5",
		"--san", "x.c.example.com", "--san", "y.c.example.com", "--san", "z.c.example.com")
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error()+errs, "the limit is 2") {
		t.Errorf("asset add: %v\n%s", err, errs)
	}
}
