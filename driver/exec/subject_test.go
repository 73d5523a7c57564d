package exec_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/exec"
	"github.com/ottr-dev/ottr/internal/testtool"
)

// A CSR script gets the subject asked for, whole in OTTR_SUBJECT (as
// openssl req -subj reads it, "/" in values escaped) and field by field:
// the request it makes with openssl carries every field.
func TestCSRScriptGetsTheSubject(t *testing.T) {
	openssl := testtool.Need(t, "openssl", "openssl")
	dir := t.TempDir()
	script := filepath.Join(dir, "csr.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
set -e
[ "$OTTR_SUBJECT_OU" = "Net/Ops" ] || { echo "OTTR_SUBJECT_OU=$OTTR_SUBJECT_OU" >&2; exit 1; }
[ -z "${OTTR_SUBJECT_L+set}" ] || { echo "OTTR_SUBJECT_L is set though no locality was asked for" >&2; exit 1; }
`+openssl+` req -new -newkey rsa:2048 -nodes -keyout "$OTTR_WORK_DIR/key.pem" -subj "$OTTR_SUBJECT" \
  -addext "subjectAltName=DNS:$OTTR_COMMON_NAME" -out "$OTTR_CSR_FILE" 2>/dev/null
`), 0o755)
	d, err := exec.New(exec.Config{CSR: []string{script}, Install: []string{"/bin/true"}, Address: "127.0.0.1:1",
		Asset: asset(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	subject := ottr.Subject{Country: "US", State: "California", Organization: "Example Inc", OrganizationalUnit: "Net/Ops", Email: "noc@example.com"}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "dev1.example.com", KeyType: "rsa2048", Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if err := ottr.CheckCSR(csr, []string{"dev1.example.com"}, ottr.CSRPolicy{KeyType: "rsa2048", Subject: subject}); err != nil {
		t.Errorf("the script's request: %v (subject %s)", err, csr.Subject)
	}
}
