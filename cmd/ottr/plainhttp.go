package main

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// loopbackHost reports whether host (a URL's host name, without port or
// brackets) is this machine: localhost, 127.0.0.0/8 or ::1. Anything else,
// 0.0.0.0 included, may be reached over a network.
func loopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// checkPlainHTTP refuses to send a credential (what: "password" or
// "token") to base over plain http:// unless the host is this machine or
// the user said the network is trusted (--insecure): anyone on the path
// could read it.
func checkPlainHTTP(base, what string, insecure bool) error {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || insecure || loopbackHost(u.Hostname()) {
		return nil
	}
	return usageError{fmt.Errorf("%s is plain HTTP to another machine: the %s would cross the network unencrypted. Use https://, or pass --insecure if the network between here and %s is trusted", base, what, u.Hostname())}
}
