package store

import (
	"bytes"

	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

var testSealer = func() *ottr.Sealer {
	s, err := ottr.NewSealer(bytes.Repeat([]byte{7}, ottr.MasterKeySize))
	if err != nil {
		panic(err)
	}
	return s
}()

func TestSecrets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		key := []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n")
		if err := db.PutSecret(ctx, "acme/le/account-key", key); err != nil {
			t.Fatal(err)
		}
		// At rest the value is sealed: not in clear text anywhere in the row.
		var raw []byte
		if err := db.db.QueryRowContext(ctx, db.q(`SELECT sealed FROM secrets WHERE name = ?`), "acme/le/account-key").Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("PRIVATE KEY")) || bytes.Contains(raw, []byte("MIGHAgEA")) {
			t.Fatal("secret stored in clear text")
		}
		got, err := db.GetSecret(ctx, "acme/le/account-key")
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("GetSecret = %q, %v", got, err)
		}
		if err := db.CreateSecret(ctx, "acme/le/account-key", []byte("other")); ottr.ErrorCode(err) != ottr.ECONFLICT {
			t.Fatalf("CreateSecret existing: %v, want ECONFLICT", err)
		}
		if err := db.PutSecret(ctx, "acme/le/account-key", []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetSecret(ctx, "acme/le/account-key"); string(got) != "v2" {
			t.Fatalf("after Put: %q", got)
		}
		for _, n := range []string{"credential/panos", "credential/f5_x", "credential/f5%y", "acme/x"} {
			if err := db.CreateSecret(ctx, n, []byte(n)); err != nil {
				t.Fatal(err)
			}
		}
		names, err := db.ListSecrets(ctx, "credential/")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"credential/f5%y", "credential/f5_x", "credential/panos"}, names); diff != "" {
			t.Errorf("ListSecrets (-want +got):\n%s", diff)
		}
		// '_' and '%' in a prefix are literal, not LIKE wildcards.
		if names, _ := db.ListSecrets(ctx, "credential/f5_"); !slices.Equal(names, []string{"credential/f5_x"}) {
			t.Errorf("ListSecrets(f5_) = %v", names)
		}
		if _, err := db.GetSecret(ctx, "nope"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("GetSecret absent: %v", err)
		}
		if err := db.DeleteSecret(ctx, "acme/x"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteSecret(ctx, "acme/x"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("DeleteSecret twice: %v", err)
		}
		// A value moved to another row does not open there.
		if _, err := db.db.ExecContext(ctx, db.q(`UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE name = ?) WHERE name = ?`),
			"credential/panos", "credential/f5_x"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetSecret(ctx, "credential/f5_x"); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("swapped sealed value: %v, want EINVALID", err)
		}
	})
}

func TestSecretsNeedMasterKey(t *testing.T) {
	db := openTest(t, Config{DataDir: t.TempDir()})
	if err := db.PutSecret(t.Context(), "x", []byte("y")); err == nil {
		t.Fatal("PutSecret without a sealer succeeded")
	}
}

func TestTXT(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		later := testNow.Add(time.Hour)
		name := "_acme-challenge.fw01.acme.example.net"
		for _, v := range []string{"b-value", "a-value"} {
			if err := db.PutTXT(ctx, name, v, later); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.PutTXT(ctx, name, "a-value", later); err != nil { // idempotent
			t.Fatal(err)
		}
		vals, ok, err := db.LookupTXT(ctx, name, testNow)
		if err != nil || !ok || !slices.Equal(vals, []string{"a-value", "b-value"}) {
			t.Fatalf("LookupTXT = %v, %v, %v", vals, ok, err)
		}
		// Ancestors are empty non-terminals: they exist with no values.
		vals, ok, _ = db.LookupTXT(ctx, "fw01.acme.example.net", testNow)
		if !ok || len(vals) != 0 {
			t.Errorf("empty non-terminal: %v, %v", vals, ok)
		}
		// A sibling whose name merely ends the same way does not exist.
		if _, ok, _ := db.LookupTXT(ctx, "w01.acme.example.net", testNow); ok {
			t.Error("w01.acme.example.net exists")
		}
		if _, ok, _ := db.LookupTXT(ctx, "nope.acme.example.net", testNow); ok {
			t.Error("nope exists")
		}
		// Expired values are not served.
		if _, ok, _ := db.LookupTXT(ctx, name, later.Add(time.Second)); ok {
			t.Error("expired record served")
		}
		if err := db.DeleteTXT(ctx, name, "a-value"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteTXT(ctx, name, "a-value"); err != nil {
			t.Fatal("second delete:", err)
		}
		vals, _, _ = db.LookupTXT(ctx, name, testNow)
		if !slices.Equal(vals, []string{"b-value"}) {
			t.Errorf("after delete: %v", vals)
		}
	})
}
