package junos

import (
	"strings"
	"testing"
)

// Requests Junos refuses are refused with an rpc-error naming what is
// wrong, and change nothing.
func TestRefusedRequests(t *testing.T) {
	d, err := Start("u", "p")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := &session{d: d, id: 7, user: "u"}
	before := setLines(d.candidate)
	for _, tc := range []struct{ req, want string }{
		{`<load-configuration action="set" format="text"/>`, "configuration-set"},
		{`<load-configuration action="set" format="xml"><configuration/></load-configuration>`, `needs format="text"`},
		{`<load-configuration action="update"><configuration/></load-configuration>`, "update is not simulated"},
		{`<load-configuration format="json"><configuration-json>{}</configuration-json></load-configuration>`, "json is not simulated"},
		{`<load-configuration rollback="50"/>`, "from 0 to 49"},
		{`<load-configuration rollback="3"/>`, "rollback 3 does not exist"},
		{`<load-configuration url="ftp://x/y"/>`, "not simulated"},
		{`<load-configuration format="text"><configuration-text>system { host-name a; </configuration-text></load-configuration>`, "missing ; or }"},
		{`<load-configuration><configuration><system><host-name/></system></configuration></load-configuration>`, "missing argument"},
		{`<load-configuration><configuration><security><pki><ca-profile><ca-identity>x</ca-identity></ca-profile></pki></security></configuration></load-configuration>`, "'name'"},
		{`<edit-config><target><running/></target><config/></edit-config>`, "candidate configuration only"},
		{`<edit-config><target><candidate/></target><config/></edit-config>`, "holds a Junos"},
		{`<edit-config><target><candidate/></target><default-operation>none</default-operation><config/></edit-config>`, "none is not simulated"},
		{`<edit-config><target><candidate/></target><config><configuration><system operation="bogus"/></configuration></config></edit-config>`, "operation bogus is not simulated"},
		{`<get-config/>`, "running or the candidate"},
		{`<get-config><source><candidate/></source><filter type="xpath" select="/x"/></get-config>`, "xpath is not simulated"},
		{`<get-configuration format="json"/>`, "json is not simulated"},
		{`<get-configuration database="rescue"/>`, "candidate or committed"},
		{`<get-configuration compare="rollback" rollback="9" format="text"/>`, "rollback 9 does not exist"},
		{`<get-configuration compare="rollback" format="xml"/>`, "not simulated"},
		{`<lock><target><running/></target></lock>`, "only the candidate"},
		{`<unlock><target><candidate/></target></unlock>`, "not locked by this session"},
		{`<validate><source><running/></source></validate>`, "only the candidate"},
		{`<commit><confirmed/><persist>x</persist></commit>`, "persistent confirmed commit"},
		{`<commit-configuration><confirm-timeout>5</confirm-timeout></commit-configuration>`, "goes with confirmed"},
		{`<commit-configuration><at-time>10:00</at-time></commit-configuration>`, "commit at"},
		{`<open-configuration><private/></open-configuration>`, "not simulated"},
		{`<command format="json">show version</command>`, "format must be"},
		{`<command format="xml">show security pki key-pair</command>`, "XML output"},
		{`<command format="text">show version | match Junos</command>`, "pipe"},
		{`<command format="text">show configuration system | display xml</command>`, "pipe"},
		{`<command format="text">show configuration nonsense</command>`, "syntax error"},
		{`<command format="text"></command>`, "syntax error"},
		{`<file-put><filename>/etc/passwd</filename><encoding>base64</encoding><file-contents>eA==</file-contents></file-put>`, "under /var/tmp"},
		{`<file-put><filename>/var/tmp/x</filename><encoding>base64</encoding><file-contents>!!</file-contents></file-put>`, "not base64"},
		{`<get-interface-information/>`, "get-interface-information"},
	} {
		op, err := parseElem([]byte(tc.req))
		if err != nil {
			t.Fatalf("%s: %v", tc.req, err)
		}
		a := s.handle(op)
		if !strings.Contains(a.body, "<error-severity>error</error-severity>") || !strings.Contains(a.body, esc(tc.want)) {
			t.Errorf("%s:\n%s\nwant an rpc-error mentioning %q", tc.req, a.body, tc.want)
		}
	}
	if after := setLines(d.candidate); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Errorf("the candidate changed: %v", after)
	}
	if a := s.handle(nil); !strings.Contains(a.body, "<rpc-error>") {
		t.Errorf("empty rpc: %s", a.body)
	}
}
