package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func TestPasswordRule(t *testing.T) {
	for _, ok := range []string{"Passw0rd!", "Tr0ub4dor&3", "aB3.efgh"} {
		if err := api.CheckPassword("password", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	cases := map[string][]string{
		"short1!A":                 nil,
		"aB3!":                     {"at least 8"},
		"alllowercase1!":           {"upper-case"},
		"ALLUPPERCASE1!":           {"lower-case"},
		"NoDigitsHere!":            {"a digit"},
		"NoSpecials123":            {"one of @$!%*#?&."},
		"x":                        {"at least 8", "upper-case", "a digit", "one of"},
		strings.Repeat("Aa1!", 40): {"at most 128"},
	}
	for pw, want := range cases {
		err := api.CheckPassword("updated_password", pw)
		if want == nil {
			if err != nil {
				t.Errorf("%q: %v", pw, err)
			}
			continue
		}
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "updated_password") {
			t.Errorf("%q: err = %v", pw, err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %q lacks %q", pw, err, w)
			}
		}
		if len(pw) > 3 && strings.Contains(err.Error(), pw) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

func TestHashAndVerify(t *testing.T) {
	h, err := api.HashPassword("Passw0rd!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(h, "Passw0rd") {
		t.Fatalf("hash %q", h)
	}
	if h2, _ := api.HashPassword("Passw0rd!"); h2 == h {
		t.Error("same salt twice")
	}
	if !api.VerifyPassword(h, "Passw0rd!") {
		t.Error("right password refused")
	}
	for _, bad := range []string{"passw0rd!", "Passw0rd", ""} {
		if api.VerifyPassword(h, bad) {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, broken := range []string{"", "plain", "$argon2id$v=19$m=x$a$b", "$bcrypt$x$y$z$w"} {
		if api.VerifyPassword(broken, "Passw0rd!") {
			t.Errorf("hash %q accepted", broken)
		}
	}
	// No such user takes about as long as a wrong password.
	start := time.Now()
	api.VerifyPassword(h, "wrong")
	wrongPw := time.Since(start)
	start = time.Now()
	api.VerifyPassword("", "wrong")
	noUser := time.Since(start)
	if noUser < wrongPw/4 {
		t.Errorf("unknown user answered in %v, wrong password in %v: the difference reveals users", noUser, wrongPw)
	}
}
