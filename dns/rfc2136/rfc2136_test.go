package rfc2136_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/dns/rfc2136"
	"github.com/ottr-dev/ottr/internal/bindtest"
)

const zone = "acme.example.test"

func TestAgainstBIND(t *testing.T) {
	srv := bindtest.Start(t, bindtest.Options{}, zone)
	z, err := rfc2136.New(rfc2136.Config{Zone: zone, Server: srv.Addr, KeyName: srv.KeyName, Secret: ottr.Secret(srv.Secret)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	name := "_acme-challenge.fw01." + zone
	for _, v := range []string{"value-a", "value-b"} {
		if err := z.AddTXT(ctx, name, v); err != nil {
			t.Fatalf("AddTXT %s: %v\n%s", v, err, srv.Log())
		}
	}
	got, err := srv.TXT(name)
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"value-a", "value-b"}) {
		t.Fatalf("after two adds BIND serves %v, %v", got, err)
	}
	if err := z.RemoveTXT(ctx, name, "value-a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.TXT(name); !slices.Equal(got, []string{"value-b"}) {
		t.Errorf("after removing value-a: %v", got)
	}
	if err := z.RemoveTXT(ctx, name, "absent"); err != nil {
		t.Errorf("removing an absent value: %v", err)
	}
	if err := z.RemoveTXT(ctx, name, "value-b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := srv.TXT(name); len(got) != 0 {
		t.Errorf("after removing all: %v", got)
	}

	if err := z.AddTXT(ctx, "_acme-challenge.example.com", "v"); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "not in zone") {
		t.Errorf("outside zone: %v", err)
	}

	wrong := "c2VjcmV0LXRoYXQtaXMtd3Jvbmctc2VjcmV0LXRoYXQtaXM="
	bad, _ := rfc2136.New(rfc2136.Config{Zone: zone, Server: srv.Addr, KeyName: srv.KeyName, Secret: ottr.Secret(wrong)})
	err = bad.AddTXT(ctx, name, "v")
	if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("wrong TSIG secret: %v, want EUNAUTHORIZED", err)
	}
	if err != nil && (strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), srv.Secret)) {
		t.Errorf("error reveals the secret: %v", err)
	}
	unknown, _ := rfc2136.New(rfc2136.Config{Zone: zone, Server: srv.Addr, KeyName: "nobody", Secret: ottr.Secret(srv.Secret)})
	if err := unknown.AddTXT(ctx, name, "v"); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("unknown key: %v, want EUNAUTHORIZED", err)
	}

	srv.Stop()
	if err := z.AddTXT(ctx, name, "v"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("BIND stopped: %v, want EUNAVAILABLE", err)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := rfc2136.New(rfc2136.Config{Server: "nope", KeyAlg: "md5", Secret: "!!"})
	if ottr.ErrorCode(err) != ottr.EINVALID {
		t.Fatalf("err = %v", err)
	}
	for _, w := range []string{"zone", "server", "key_alg", "key_name", "secret: is not base64"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}
