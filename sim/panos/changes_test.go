package panos_test

import (
	"crypto/tls"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/panos"
)

// TestPartialCommit: a partial commit commits the objects the named
// administrators changed and leaves another administrator's changes in the
// candidate, theirs to commit — as when a worker that died mid-rotation
// left its changes and another one, logged in as another administrator,
// finishes the rotation.
func TestPartialCommit(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	dev.AddUser("admin2", "Adm2.Passw0rd")
	ca := testpki.NewCA("Test CA")
	csr, key := testpki.CSR("fw.example.com")
	dev.Preload("pre", "mgmt", key, ca.Sign(csr, time.Hour))

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the factory certificate
	call := func(q url.Values) answer {
		t.Helper()
		resp, err := hc.PostForm("https://"+dev.Addr+"/api/", q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		var a answer
		if err := xml.Unmarshal([]byte(b.String()), &a); err != nil {
			t.Fatalf("%v: %v: %s", q, err, b.String())
		}
		a.Body = b.String()
		return a
	}
	login := func(user, pw string) string {
		return call(url.Values{"type": {"keygen"}, "user": {user}, "password": {pw}}).Key
	}
	k1, k2 := login("admin", "Adm1n.Passw0rd"), login("admin2", "Adm2.Passw0rd")
	do := func(key string, kv ...string) answer {
		t.Helper()
		q := url.Values{"key": {key}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return call(q)
	}
	commit := func(key, admin string) answer {
		t.Helper()
		cmd := "<commit><partial><admin><member>" + admin + "</member></admin></partial></commit>"
		a := do(key, "type", "commit", "action", "partial", "cmd", cmd)
		if a.Job.ID == "" {
			return a
		}
		for range 50 {
			j := do(key, "type", "op", "cmd", "<show><jobs><id>"+a.Job.ID+"</id></jobs></show>")
			if j.Job.Status == "FIN" {
				return j
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("commit job %s never finished", a.Job.ID)
		return a
	}
	profiles := "/config/shared/ssl-tls-service-profile"
	running := func(name string) bool {
		t.Helper()
		a := do(k1, "type", "config", "action", "show", "xpath", profiles+"/entry[@name='"+name+"']")
		return a.Status == "success" && strings.Contains(a.Body, `name="`+name+`"`)
	}

	// admin2 starts a change and stops (a profile of its own); admin
	// makes one.
	if a := do(k2, "type", "config", "action", "set", "xpath", profiles, "element", `<entry name="by2"><certificate>pre</certificate></entry>`); a.Status != "success" {
		t.Fatalf("set as admin2: %s", a.Body)
	}
	if a := do(k1, "type", "config", "action", "set", "xpath", profiles, "element", `<entry name="by1"><certificate>pre</certificate></entry>`); a.Status != "success" {
		t.Fatalf("set as admin: %s", a.Body)
	}
	if j := commit(k1, "admin"); j.Job.Result != "OK" {
		t.Fatalf("partial commit of admin's changes: %s", j.Body)
	}
	if !running("by1") || running("by2") {
		t.Errorf("after admin's partial commit: by1 running %v (want true), by2 running %v (want false)", running("by1"), running("by2"))
	}
	// admin has nothing left to commit; admin2's change is still there
	// for admin2.
	if a := commit(k1, "admin"); a.Code != "19" || !strings.Contains(a.Body, "no changes") {
		t.Errorf("second partial commit of admin: %s", a.Body)
	}
	if j := commit(k2, "admin2"); j.Job.Result != "OK" || !running("by2") {
		t.Errorf("admin2's partial commit: %s; by2 running %v", j.Body, running("by2"))
	}
	// An object both changed belongs to the last one who changed it.
	do(k2, "type", "config", "action", "set", "xpath", profiles+"/entry[@name='by1']", "element", `<protocol-settings><min-version>tls1-1</min-version></protocol-settings>`)
	do(k1, "type", "config", "action", "set", "xpath", profiles+"/entry[@name='by1']", "element", `<protocol-settings><min-version>tls1-2</min-version></protocol-settings>`)
	if a := commit(k2, "admin2"); a.Code != "19" {
		t.Errorf("admin2 commits an object admin changed last: %s", a.Body)
	}
	if j := commit(k1, "admin"); j.Job.Result != "OK" {
		t.Errorf("admin commits its last change: %s", j.Body)
	}
	// A write of the value already there still makes its writer the
	// owner: admin takes over admin2's half-done binding by writing it
	// again, and commits it.
	sys := "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system"
	do(k2, "type", "config", "action", "set", "xpath", sys, "element", "<ssl-tls-service-profile>by2</ssl-tls-service-profile>")
	do(k1, "type", "config", "action", "edit", "xpath", sys+"/ssl-tls-service-profile", "element", "<ssl-tls-service-profile>by2</ssl-tls-service-profile>")
	if j := commit(k1, "admin"); j.Job.Result != "OK" {
		t.Fatalf("admin commits the binding it wrote again: %s", j.Body)
	}
	if a := do(k1, "type", "config", "action", "show", "xpath", sys+"/ssl-tls-service-profile"); !strings.Contains(a.Body, "by2") {
		t.Errorf("running management profile after the takeover: %s", a.Body)
	}
	if a := commit(k2, "admin2"); a.Code != "19" {
		t.Errorf("admin2 still has the binding admin took over: %s", a.Body)
	}
}
