package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// serverFileName is the file in its data directory where 'ottr serve'
// notes its API address, so that commands on the same database find the
// server that runs its rotations instead of competing with it for its
// ports.
const serverFileName = "server.json"

type serverNote struct {
	URL string `json:"url"`
	PID int    `json:"pid"`
}

// runningServer is a server found running on the database a command
// would use.
type runningServer struct {
	URL string
	// From says how it was found, for messages.
	From string
}

// noteServer records the API's address in the data directory and returns
// what removes it. A PostgreSQL database has no data directory: commands
// look for its server at the configuration's listen address instead.
func (a *app) noteServer(c *Config, addr net.Addr, scheme string) func() {
	if c.Database != "" {
		return func() {}
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return func() {}
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	p := filepath.Join(c.DataDir, serverFileName)
	b, _ := json.Marshal(serverNote{URL: scheme + "://" + net.JoinHostPort(host, port), PID: os.Getpid()})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		a.log.Warn("commands on this database will not find this server", "file", p, "err", err)
		return func() {}
	}
	return func() {
		// Another serve on the same data directory may have noted itself
		// since: its note stays.
		if cur, err := os.ReadFile(p); err == nil && bytes.Equal(cur, b) {
			_ = os.Remove(p)
		}
	}
}

// discoverServer finds the server running on the configuration's
// database: for a data directory the one its server.json names, for
// PostgreSQL the one at the configuration's listen address; either must
// answer /healthz. Nil when none does.
func (a *app) discoverServer(ctx context.Context) *runningServer {
	c, err := a.config()
	if err != nil {
		return nil // the command reports the configuration's problem itself
	}
	var found runningServer
	if c.Database == "" {
		p := filepath.Join(c.DataDir, serverFileName)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var n serverNote
		if json.Unmarshal(b, &n) != nil || n.URL == "" {
			return nil
		}
		found = runningServer{URL: n.URL, From: p}
	} else {
		if c.Listen == "" {
			return nil
		}
		host, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return nil
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		found = runningServer{URL: "http://" + net.JoinHostPort(host, port), From: "listen " + c.Listen + " of the configuration"}
	}
	if !answersHealth(ctx, found.URL) {
		return nil
	}
	return &found
}

// answersHealth tells whether an Ottr server answers at base. A TLS
// server whose certificate this machine does not trust still counts: it
// is running.
func answersHealth(ctx context.Context, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var cv *tls.CertificateVerificationError
		return errors.As(err, &cv)
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&h) == nil && h.Status == "ok"
}

// errServerRunning refuses to do here what the running server does.
func errServerRunning(s *runningServer, what string) error {
	return ottr.Errorf(ottr.ECONFLICT, "ottr serve runs rotations on this database at %s (found from %s); %s would start a second rotation engine and DNS server beside it: log in to it (ottr login --server %s) and run this again to go through it, or leave out --wait to queue the rotation for it",
		s.URL, s.From, what, s.URL)
}

// dnsInUse explains a DNS port another process holds.
func dnsInUse(addr string, err error) error {
	if strings.Contains(err.Error(), "address already in use") {
		return ottr.Errorf(ottr.EUNAVAILABLE, "dns.listen %s is in use by another process (an ottr serve on another database or configuration?): stop it, or run this through the server that holds it (--server URL)", addr)
	}
	return fmt.Errorf("dns.listen %s: %w", addr, err)
}
