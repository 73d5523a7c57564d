package ottr

import "testing"

func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{
		"admin":              "admin",
		"ADMIN":              "admin",
		" Alice.Smith@Corp ": "alice.smith@corp",
		"\tbob\r\n":          "bob",
		// Only ASCII folds, as lower() in the databases' unique index does.
		"ÉVE": "Éve",
		"":    "",
	} {
		if got := NormalizeUsername(in); got != want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", in, got, want)
		}
	}
}
