package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// assertFits fails when a line of out is wider than tableWidth.
func assertFits(t *testing.T, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > tableWidth {
			t.Errorf("line of %d columns (limit %d):\n%s", n, tableWidth, l)
		}
	}
}

func TestTableFitsAndKeepsTheLastColumn(t *testing.T) {
	var b bytes.Buffer
	tw := newTable(&b)
	reason := strings.Repeat("the device refused the certificate chain ", 6)
	fmt.Fprintln(tw, "NAME\tPROTOCOL\tNOTE\tREASON")
	fmt.Fprintf(tw, "fw01.example.com\t%s\tshort\t%s\n", strings.Repeat("p", 80), reason)
	fmt.Fprintln(tw, "a title line without tabs is printed as it is")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	assertFits(t, out)
	if !strings.Contains(out, "fw01.example.com") || !strings.Contains(out, "a title line without tabs is printed as it is") {
		t.Errorf("first column or title line lost:\n%s", out)
	}
	if !strings.Contains(out, "p…") {
		t.Errorf("the long middle cell is not cut with …:\n%s", out)
	}
	// The wrapped last column still holds every word, in order.
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "REASON")
	var parts []string
	for _, l := range lines[1:] {
		r := []rune(l)
		if strings.HasPrefix(l, "a title") || len(r) <= col {
			continue
		}
		parts = append(parts, string(r[col:]))
	}
	if got := strings.Join(parts, " "); got != strings.TrimSpace(reason) {
		t.Errorf("last column lost text:\ngot  %q\nwant %q\n%s", got, strings.TrimSpace(reason), out)
	}

	// -o wide: nothing cut, nothing wrapped.
	b.Reset()
	wide := fullTable(&b)
	fmt.Fprintf(wide, "fw01.example.com\t%s\tshort\t%s\n", strings.Repeat("p", 80), reason)
	_ = wide.Flush()
	if !strings.Contains(b.String(), strings.Repeat("p", 80)+"  short  "+strings.TrimSpace(reason)) || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("wide table cut or wrapped:\n%s", b.String())
	}
}

// TestTablesFit120Columns runs the commands whose tables were wider than a
// terminal ('ottr platforms' printed 296 columns) and checks them, and
// that -o wide still shows what the table leaves out.
func TestTablesFit120Columns(t *testing.T) {
	c := newCLI(t)
	fleet(t, c)
	for _, args := range [][]string{
		{"platforms"}, {"asset", "list"}, {"asset", "list", "--due"}, {"rotations", "list"}, {"status"},
		{"router", "run", "--dry-run"}, {"asset", "get", "failing.example.com"}, {"version"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			assertFits(t, c.ok(args...))
		})
	}
	wide := c.ok("platforms", "-o", "wide")
	if !strings.Contains(wide, "BINDS") || !strings.Contains(wide, "SSL/TLS service profile → management interface (and GlobalProtect using the profile)") {
		t.Errorf("platforms -o wide lacks the binds:\n%s", wide)
	}
	if narrow := c.ok("platforms"); strings.Contains(narrow, "BINDS") || !strings.Contains(narrow, "otter-panos-*") {
		t.Errorf("platforms table:\n%s", narrow)
	}
	list := c.ok("asset", "list", "-o", "wide")
	for _, col := range []string{"DEVICE_MODEL", "IP_ADDRESS", "LAST_ROTATION", "PA-XXXX", "failed", "(3 failures in a row)"} {
		if !strings.Contains(list, col) {
			t.Errorf("asset list -o wide lacks %q:\n%s", col, list)
		}
	}
	if _, stderr, err := c.run("", "platforms", "-o", "yaml"); exitCode(err) != exitUsage || !strings.Contains(stderr, "table, wide or json") {
		t.Errorf("-o yaml: exit %d %s", exitCode(err), stderr)
	}
}
