// Package tlsdir is the simplest simulated device: a TLS server on
// 127.0.0.1 presenting whatever key and chain its directory's served.pem
// holds, read on every handshake. The exec driver's template scripts
// (contrib/exec-template) manage that directory, so tests and `ottr demo`
// rotate it end to end.
package tlsdir

import (
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// Device is a running directory-backed TLS server.
type Device struct {
	Dir  string
	Addr string // 127.0.0.1:port

	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	down bool
}

// Start serves Dir on a free 127.0.0.1 port until Close. Until served.pem
// exists, handshakes fail.
func Start(dir string) (*Device, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &Device{Dir: dir, Addr: ln.Addr().String(), ln: ln}
	conf := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		b, err := os.ReadFile(filepath.Join(dir, "served.pem"))
		if err != nil {
			return nil, errors.New("no certificate installed")
		}
		c, err := tls.X509KeyPair(b, b)
		return &c, err
	}}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				tc := tls.Server(c, conf)
				_ = tc.Handshake()
				_, _ = tc.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"))
				tc.Close()
			}()
		}
	}()
	return d, nil
}

// Close stops the server (the device goes "down").
func (d *Device) Close() error {
	d.mu.Lock()
	if d.down {
		d.mu.Unlock()
		return nil
	}
	d.down = true
	d.mu.Unlock()
	err := d.ln.Close()
	d.wg.Wait()
	return err
}
