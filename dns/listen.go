package dns

import (
	"errors"
	"net"
	"strconv"

	"github.com/miekg/dns"
)

// ListenPair listens on addr over UDP and TCP on the same port, as DNS
// needs. With port 0 the kernel picks the UDP port and TCP must get the
// same one, which may be taken: then it tries again with another.
func ListenPair(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	for range 20 {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" {
			return nil, nil, err
		}
	}
	return nil, nil, errors.New("no port free for both UDP and TCP")
}

// ServePair serves a UDP and a TCP server (on a pair from ListenPair) in
// the background and returns once both accept queries; their Shutdown
// stops them.
func ServePair(udp, tcp *dns.Server) {
	started := make(chan struct{}, 2)
	udp.NotifyStartedFunc = func() { started <- struct{}{} }
	tcp.NotifyStartedFunc = func() { started <- struct{}{} }
	go func() { _ = udp.ActivateAndServe() }()
	go func() { _ = tcp.ActivateAndServe() }()
	<-started
	<-started
}
