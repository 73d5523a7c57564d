// Package linuxhost starts a real Linux "device" for tests and `ottr
// demo`: an OpenSSH sshd and an nginx, on free 127.0.0.1 ports, with their
// own configuration in a directory, nginx serving TLS with a key and chain
// that the linux driver rotates over SSH. It needs sshd, nginx, ssh-keygen
// and openssl, and root (sshd's privilege separation).
//
// Commands can be made to fail in the host's SSH sessions (Fail), as a
// full disk or a read-only file system makes mv, cp or cat fail there:
// sim/faultbin's shims are first on the sessions' PATH.
package linuxhost

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/sim/faultbin"
	"golang.org/x/crypto/ssh"
)

// Host is a running sshd + nginx.
type Host struct {
	Dir        string
	SSHAddr    string // 127.0.0.1:port
	HTTPSAddr  string // 127.0.0.1:port nginx serves TLS on
	CertPath   string
	KeyPath    string
	NginxConf  string
	ClientKey  []byte // OpenSSH private key (PEM) authorized to log in
	KnownHosts string // holds sshd's host key
	User       string
	// Faults is the directory of failing commands first on the sessions'
	// PATH (see Fail).
	Faults string

	procs []*proc
}

type proc struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Missing returns the programs Start needs that are not installed.
func Missing() []string {
	var out []string
	for _, b := range []string{"sshd", "nginx", "ssh-keygen", "openssl"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat("/usr/sbin/" + b); err != nil {
				out = append(out, b)
			}
		}
	}
	return out
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Start starts sshd and nginx in dir. initialKey and initialChain are what
// nginx serves at first. Stop the host with Close.
func Start(dir string, initialKey crypto.Signer, initialChain []*x509.Certificate) (*Host, error) {
	if m := Missing(); len(m) > 0 {
		return nil, fmt.Errorf("missing %v (apt-get install openssh-server nginx openssl)", m)
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("sshd needs root to run")
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	h := &Host{Dir: dir, User: u.Username, Faults: filepath.Join(dir, "faults")}
	if err := faultbin.Set(h.Faults); err != nil {
		return nil, err
	}
	if h.SSHAddr, err = freePort(); err != nil {
		return nil, err
	}
	if h.HTTPSAddr, err = freePort(); err != nil {
		return nil, err
	}
	h.CertPath, h.KeyPath = filepath.Join(dir, "tls", "server.crt"), filepath.Join(dir, "tls", "server.key")
	if err := os.MkdirAll(filepath.Join(dir, "tls"), 0o755); err != nil {
		return nil, err
	}
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory

	hostKey := filepath.Join(dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ssh-keygen: %v %s", err, out)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	h.ClientKey = pem.EncodeToMemory(blk)
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600); err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(h.SSHAddr)
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, fmt.Appendf(nil, `Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
SetEnv PATH=%s
`, port, hostKey, dir, dir, faultbin.PATH(h.Faults, "")), 0o600); err != nil {
		return nil, err
	}
	sshd := "/usr/sbin/sshd"
	if p, err := exec.LookPath("sshd"); err == nil {
		sshd = p
	}
	if err := h.start(h.SSHAddr, sshd, "-D", "-e", "-f", conf); err != nil {
		h.Close()
		return nil, err
	}
	hk, err := os.ReadFile(hostKey + ".pub")
	if err != nil {
		h.Close()
		return nil, err
	}
	hostPub, _, _, _, err := ssh.ParseAuthorizedKey(hk)
	if err != nil {
		h.Close()
		return nil, err
	}
	h.KnownHosts = filepath.Join(dir, "known_hosts")
	os.WriteFile(h.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(hostPub))), 0o600)

	kder, err := x509.MarshalPKCS8PrivateKey(initialKey)
	if err != nil {
		h.Close()
		return nil, err
	}
	os.WriteFile(h.KeyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(h.CertPath, ottr.EncodeChain(initialChain), 0o644)
	h.NginxConf = filepath.Join(dir, "nginx.conf")
	tmp := filepath.Join(dir, "nginx-tmp")
	os.MkdirAll(tmp, 0o777)
	os.WriteFile(h.NginxConf, fmt.Appendf(nil, `daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[2]s/body; proxy_temp_path %[2]s/proxy; fastcgi_temp_path %[2]s/fcgi;
  uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
  server {
    listen %[3]s ssl;
    ssl_certificate %[4]s;
    ssl_certificate_key %[5]s;
    location / { return 200 "served by nginx, certificate rotated by ottr\n"; }
  }
}
`, dir, tmp, h.HTTPSAddr, h.CertPath, h.KeyPath), 0o644)
	if err := h.start(h.HTTPSAddr, "nginx", "-c", h.NginxConf, "-e", filepath.Join(dir, "nginx-start.log")); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Fail makes commands fail in the host's SSH sessions from now on, as
// faults say; Fail() lets them all run again.
func (h *Host) Fail(faults ...faultbin.Fault) error { return faultbin.Set(h.Faults, faults...) }

// ReloadCommand is the argv that reloads this host's nginx.
func (h *Host) ReloadCommand() []string { return []string{"nginx", "-c", h.NginxConf, "-s", "reload"} }

func (h *Host) start(addr, name string, args ...string) error {
	p := &proc{out: &lockedBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(name, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so nginx's workers and sshd's sessions stop
	// with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// sshd's session processes start sessions of their own and may keep
	// the output pipe open after the group is killed: do not wait on it.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	h.procs = append(h.procs, p)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening on %s:\n%s", name, addr, p.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not listen on %s within 15s:\n%s", name, addr, p.out)
}

// Close stops sshd and nginx with everything they started.
func (h *Host) Close() {
	for _, p := range h.procs {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
		}
	}
	h.procs = nil
}
