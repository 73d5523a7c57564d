package sshhost_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/sshhost"
	"golang.org/x/crypto/ssh"
)

// A host that refuses the connection fails with EUNAVAILABLE caused by the
// socket error, which callers can test for.
func TestDialRefusedKeepsTheCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = sshhost.Dial(t.Context(), addr, &ssh.ClientConfig{User: "ottr", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Dial: %v (%s), want %s caused by ECONNREFUSED", err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
	}
}
