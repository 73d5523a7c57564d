package junos

import (
	"strings"
	"testing"
)

func render(n *node) (text, set string) {
	var t, s strings.Builder
	n.text(&t, 0)
	n.set(&s)
	return t.String(), s.String()
}

// The three forms of one configuration load into the same tree.
func TestConfigForms(t *testing.T) {
	fromSet := newConfig()
	if err := loadSet(fromSet, "set system host-name fw1\nset system login message \"a b; c\"\nset security pki ca-profile corp ca-identity corp"); err != nil {
		t.Fatal(err)
	}
	fromText := newConfig()
	if err := loadText(fromText, "system { host-name fw1; /* note */ login { message \"a b; c\"; } }\nsecurity { pki { ca-profile corp { ca-identity corp; } } }", false); err != nil {
		t.Fatal(err)
	}
	x, err := parseElem([]byte(`<configuration><system><host-name>fw1</host-name><login><message>a b; c</message></login></system><security><pki><ca-profile><name>corp</name><ca-identity>corp</ca-identity></ca-profile></pki></security></configuration>`))
	if err != nil {
		t.Fatal(err)
	}
	fromXML := newConfig()
	if err := loadXML(fromXML, x, "merge"); err != nil {
		t.Fatal(err)
	}
	wantText, wantSet := render(fromSet)
	if !strings.Contains(wantSet, "set system login message \"a b; c\"\n") || !strings.Contains(wantText, "        ca-profile corp {\n            ca-identity corp;\n        }\n") {
		t.Fatalf("rendered:\n%s\n%s", wantText, wantSet)
	}
	for name, n := range map[string]*node{"text": fromText, "xml": fromXML} {
		if gotText, gotSet := render(n); gotText != wantText || gotSet != wantSet {
			t.Errorf("%s form:\n%s\nwant\n%s", name, gotText, wantText)
		}
	}
	// Text read back from its rendering is the same configuration.
	again := newConfig()
	if err := loadText(again, wantText, false); err != nil || diff(fromSet, again) != "" {
		t.Errorf("round trip: %v %q", err, diff(fromSet, again))
	}
}

func TestConfigEdits(t *testing.T) {
	c := newConfig()
	if err := loadSet(c, "set system services web-management https system-generated-certificate\nset system login message hi\nset system host-name a"); err != nil {
		t.Fatal(err)
	}
	old := c.clone(nil)
	// One certificate for J-Web: the local one replaces the generated one.
	if err := loadSet(c, "set system services web-management https pki-local-certificate web\ndelete system login"); err != nil {
		t.Fatal(err)
	}
	if _, s := render(c); s != "set system host-name a\nset system services web-management https pki-local-certificate web\n" {
		t.Errorf("after set and delete:\n%s", s)
	}
	if d := diff(old, c); !strings.Contains(d, "[edit system services web-management https]\n-   system-generated-certificate;\n+   pki-local-certificate web;\n") ||
		!strings.Contains(d, "[edit system]\n-   login {\n-       message hi;\n-   }\n") {
		t.Errorf("diff:\n%s", d)
	}
	// Statements show in Junos's order, not the order they were set in.
	o := newConfig()
	if err := loadSet(o, "set interfaces ge-0/0/1 unit 0 description b\nset interfaces ge-0/0/0 description a\nset system services ssh\nset system host-name z"); err != nil {
		t.Fatal(err)
	}
	if txt, _ := render(o); !strings.HasPrefix(txt, "system {\n    host-name z;\n    services {\n") || !strings.Contains(txt, "interfaces {\n    ge-0/0/1 {\n        unit 0 {\n            description b;\n        }\n    }\n    ge-0/0/0 {\n        description a;\n    }\n}\n") {
		t.Errorf("order:\n%s", txt)
	}
	// replace: replaces with load replace only; delete: deletes.
	if err := loadText(c, "system { replace: services { ssh; } delete: host-name; }", true); err != nil {
		t.Fatal(err)
	}
	if _, s := render(c); s != "set system services ssh\n" {
		t.Errorf("after replace: and delete:\n%s", s)
	}
	for _, bad := range []struct{ in, want string }{
		{"set system no-such 1", "syntax error: no-such"},
		{"set system host-name", "missing argument: host-name"},
		{"set system host-name a b", "syntax error: b"},
		{"rename system host-name to x", "only set and delete"},
	} {
		if err := loadSet(c.clone(nil), bad.in); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.in, err, bad.want)
		}
	}
	for _, bad := range []string{"system { host-name a; ", "system { host-name { } }", "inactive: system { }", "system } }", `system { host-name "a`} {
		if err := loadText(c.clone(nil), bad, false); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
