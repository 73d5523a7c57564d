package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// ottr serve sends the daily digest once its time has come: a failing
// asset (held back after its failures) is reported on the configured
// webhook, once.
func TestServeSendsDigest(t *testing.T) {
	e := newRotateEnv(t)
	db, err := store.Open(t.Context(), store.Config{DataDir: e.c.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hold := ottr.NewTime(time.Now().Add(time.Hour))
	if _, err := db.UpdateAsset(t.Context(), "web01.example.com", func(a *ottr.Asset) error {
		a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(time.Now()), Status: string(ottr.StateFailed),
			Error: "device unreachable", Failures: 3, RetryAfter: hold}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.c.env["OTTR_NOTIFY_DIGEST"] = "00:00" // due whenever the test runs

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var errb syncBuffer
	go func() {
		done <- run(ctx, append([]string{"--data-dir", e.c.dataDir}, e.args("serve", "--listen", "")...),
			func(k string) string { return e.c.env[k] }, nil, &bytes.Buffer{}, &errb)
	}()
	digests := func() (n int, title string) {
		for _, p := range e.notifications() {
			if p.Event == "digest" {
				n, title = n+1, p.Title
			}
		}
		return n, title
	}
	// Stopped only once the sender has its answer: the receiver may
	// record the digest before the sender reads the reply.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if n, _ := digests(); n > 0 && strings.Contains(errb.String(), "daily digest sent") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after the interrupt")
	}
	n, title := digests()
	if n != 1 || !strings.Contains(title, "1 failing") {
		t.Errorf("%d digests (%q); want one reporting the failing asset\n%s", n, title, errb.String())
	}
	if !strings.Contains(errb.String(), "daily digest sent") {
		t.Errorf("serve log:\n%s", errb.String())
	}
}

func TestDigestConfig(t *testing.T) {
	c, err := loadConfig("", func(string) string { return "" })
	if at, on, _ := c.Notify.DigestAt(); err != nil || !on || at != 8*time.Hour {
		t.Errorf("default digest: %v at %v, %v", on, at, err)
	}
	c, err = loadConfig("", func(k string) string { return map[string]string{"OTTR_NOTIFY_DIGEST": "off"}[k] })
	if _, on, _ := c.Notify.DigestAt(); err != nil || on {
		t.Errorf("digest off: %v, %v", on, err)
	}
	_, err = loadConfig("", func(k string) string { return map[string]string{"OTTR_NOTIFY_DIGEST": "8am"}[k] })
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "notify.digest") || !strings.Contains(err.Error(), `"8am" is not a time of day`) {
		t.Errorf("bad digest time: %v", err)
	}
}
