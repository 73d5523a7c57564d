package ottr_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

func TestParseCredential(t *testing.T) {
	for _, in := range []string{
		`{"username": "admin", "password": "S3cret!pw"}`,
		"# PAN-OS API user\nUSERNAME=admin\npassword = \"S3cret!pw\"\n\n",
	} {
		c, err := ottr.ParseCredential([]byte(in))
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if c.Get("username").Reveal() != "admin" || c.Get("password").Reveal() != "S3cret!pw" {
			t.Errorf("%q: parsed %v", in, c.Keys())
		}
		// Nothing shows the values.
		var logged strings.Builder
		slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "cred", c)
		j, _ := json.Marshal(c)
		for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%#v", c), string(j), logged.String()} {
			if strings.Contains(out, "S3cret") {
				t.Errorf("value leaked: %s", out)
			}
		}
	}
	for _, bad := range []string{"", "{", `{"password": 5}`, "just a line", `{"Bad Key": "x"}`, "{}"} {
		if _, err := ottr.ParseCredential([]byte(bad)); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if err := ottr.CheckCredentialName("panos/../x"); err == nil {
		t.Error("path-like credential name accepted")
	}
}
