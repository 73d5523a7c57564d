package ottr_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/ottr-dev/ottr"
)

func TestSealerRoundTrip(t *testing.T) {
	s, err := ottr.NewSealer(ottr.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("-----BEGIN EC PRIVATE KEY-----\nabc\n")
	sealed := s.Seal("acme/le/account-key", secret)
	if bytes.Contains(sealed, secret) || bytes.Contains(sealed, []byte("PRIVATE KEY")) {
		t.Fatal("sealed value contains the plaintext")
	}
	if again := s.Seal("acme/le/account-key", secret); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	got, err := s.Open("acme/le/account-key", sealed)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.Open("credential/panos", sealed); !errors.Is(err, ottr.ErrSealBroken) {
		t.Fatalf("Open under another label: err = %v, want ErrSealBroken", err)
	}
	other, _ := ottr.NewSealer(ottr.NewMasterKey())
	if _, err := other.Open("acme/le/account-key", sealed); !errors.Is(err, ottr.ErrSealBroken) {
		t.Fatalf("Open with another key: err = %v, want ErrSealBroken", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open("acme/le/account-key", tampered); !errors.Is(err, ottr.ErrSealBroken) {
		t.Fatalf("Open tampered: err = %v", err)
	}
	for _, short := range [][]byte{nil, {1}, sealed[:10]} {
		if _, err := s.Open("x", short); !errors.Is(err, ottr.ErrSealBroken) {
			t.Fatalf("Open(%x): err = %v", short, err)
		}
	}
}

func TestParseMasterKey(t *testing.T) {
	k := ottr.NewMasterKey()
	for _, in := range []string{ottr.EncodeMasterKey(k), hex.EncodeToString(k), " " + ottr.EncodeMasterKey(k) + "\n"} {
		got, err := ottr.ParseMasterKey(in)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseMasterKey(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "short", "c2hvcnQ=", hex.EncodeToString(k[:16])} {
		if _, err := ottr.ParseMasterKey(in); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("ParseMasterKey(%q): err = %v, want EINVALID", in, err)
		}
	}
	if _, err := ottr.NewSealer(k[:16]); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("NewSealer(16 bytes): err = %v", err)
	}
}
