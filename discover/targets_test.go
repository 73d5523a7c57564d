package discover_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/discover"
)

func TestParseTargets(t *testing.T) {
	for _, tc := range []struct {
		name  string
		specs []string
		max   int
		want  []discover.Target
		count int      // when want is too long to write
		err   []string // substrings of the error, the field first
	}{
		{name: "host", specs: []string{"FW01.Example.com."}, want: []discover.Target{{Host: "fw01.example.com"}}},
		{name: "host:port", specs: []string{"fw01.example.com:8443"}, want: []discover.Target{{Host: "fw01.example.com", Port: 8443}}},
		{name: "one label", specs: []string{"switch-01"}, want: []discover.Target{{Host: "switch-01"}}},
		{name: "IPv4", specs: []string{"10.0.0.1", "10.0.0.2:4443"}, want: []discover.Target{{Host: "10.0.0.1"}, {Host: "10.0.0.2", Port: 4443}}},
		{name: "IPv6", specs: []string{"fd00::1", "[fd00::2]:8443", "::ffff:10.0.0.3"}, want: []discover.Target{{Host: "fd00::1"}, {Host: "fd00::2", Port: 8443}, {Host: "10.0.0.3"}}},
		{name: "duplicates once", specs: []string{"10.0.0.1", " 10.0.0.1 ", "10.0.0.0/31"}, want: []discover.Target{{Host: "10.0.0.1"}, {Host: "10.0.0.0"}}},
		{name: "/30 without network and broadcast", specs: []string{"192.0.2.0/30"}, want: []discover.Target{{Host: "192.0.2.1"}, {Host: "192.0.2.2"}}},
		{name: "/32", specs: []string{"192.0.2.7/32"}, want: []discover.Target{{Host: "192.0.2.7"}}},
		{name: "unmasked CIDR", specs: []string{"192.0.2.77/29"}, count: 6},
		{name: "IPv6 /126", specs: []string{"fd00::/126"}, want: []discover.Target{{Host: "fd00::"}, {Host: "fd00::1"}, {Host: "fd00::2"}, {Host: "fd00::3"}}},
		{name: "/16", specs: []string{"10.1.0.0/16"}, count: 65534},
		{name: "IPv6 /112", specs: []string{"fd00::/112"}, count: 65536},
		{name: "/15 too large", specs: []string{"10.0.0.0/15"}, err: []string{"targets[0]", "10.0.0.0/15 has 131072 addresses", "at most 65536", "an IPv4 /16"}},
		{name: "IPv6 /64 too large", specs: []string{"fd00::/64"}, err: []string{"targets[0]", "18446744073709551616 addresses", "an IPv6 /112"}},
		{name: "API bound", specs: []string{"10.0.0.0/19"}, max: 4096, err: []string{"targets[0]", "8192 addresses", "at most 4096", "an IPv4 /20"}},
		{name: "together too many", specs: []string{"10.0.0.0/23", "10.0.2.0/23", "10.0.4.0/23"}, max: 1024, err: []string{"targets[2]", "10.0.4.0/23 takes the targets past 1024"}},
		{name: "bad CIDR", specs: []string{"10.0.0.0/33"}, err: []string{"targets[0]", `"10.0.0.0/33" is not a CIDR block`}},
		{name: "CIDR of a name", specs: []string{"example.com/24"}, err: []string{"targets[0]", "is not a CIDR block"}},
		{name: "bad port", specs: []string{"fw.example.com:0", "fw.example.com:65536", "fw.example.com:https"}, err: []string{"3 targets", "targets[0]", "targets[1]", "targets[2]", "1 to 65535"}},
		{name: "bad name", specs: []string{"fw_01!.example.com"}, err: []string{"targets[0]", "'!' is not allowed"}},
		{name: "empty", specs: []string{" "}, err: []string{"targets[0]", "is empty"}},
		{name: "none", specs: nil, err: []string{"targets: is empty: give host names"}},
		{name: "zone", specs: []string{"fe80::1%eth0"}, err: []string{"targets[0]", "zone"}},
		{name: "bare IPv6 with a port", specs: []string{"fd00::1:8443:x"}, err: []string{"targets[0]", "is not a host"}},
		{name: "control characters", specs: []string{"fw\n.example.com"}, err: []string{"targets[0]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := discover.ParseTargets(tc.specs, "targets", tc.max)
			if tc.err != nil {
				if err == nil || ottr.ErrorCode(err) != ottr.EINVALID {
					t.Fatalf("want an EINVALID error, got %v (%d targets)", err, len(got))
				}
				for _, w := range tc.err {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil {
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("(-want +got)\n%s", d)
				}
			} else if len(got) != tc.count {
				t.Errorf("%d targets, want %d", len(got), tc.count)
			}
		})
	}
}

func TestReadTargets(t *testing.T) {
	in := `# lab firewalls
fw01.example.com        # the PAN-OS
10.0.0.0/30

  lb02.example.com:8443
# the end`
	got, err := discover.ReadTargets(strings.NewReader(in), "hosts.txt")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"fw01.example.com", "10.0.0.0/30", "lb02.example.com:8443"}, got); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if _, err := discover.ReadTargets(strings.NewReader("fw01.example.com\nfw02.example.com fw03.example.com\n"), "hosts.txt"); err == nil || !strings.Contains(err.Error(), "hosts.txt:2: one target a line") {
		t.Errorf("two on a line: %v", err)
	}
	if _, err := discover.ReadTargets(strings.NewReader(strings.Repeat("x", 5000)), "hosts.txt"); err == nil || !strings.Contains(err.Error(), "hosts.txt:1: a line is over") {
		t.Errorf("a long line: %v", err)
	}
}

func TestParsePorts(t *testing.T) {
	got, err := discover.ParsePorts("443, 8443,10443-10445,443")
	if err != nil || !cmp.Equal(got, []int{443, 8443, 10443, 10444, 10445}) {
		t.Errorf("ports %v %v", got, err)
	}
	for in, want := range map[string]string{
		"0": `"0" is not a port`, "65536": "is not a port", "https": "is not a port", "10-5": "is not a port",
		"1-100": "1-100 has 100 ports; at most 32", "1-20,30-45": "has 36 ports; at most 32",
	} {
		if _, err := discover.ParsePorts(in); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ports") {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
}

// TestServiceBounds: a scan asked for through the API is refused, every
// problem naming its field, when it is too large or too long, before
// anything is dialled.
func TestServiceBounds(t *testing.T) {
	s := &discover.Service{Dial: func(context.Context, string, string) (net.Conn, error) {
		t.Error("a refused scan dialled")
		return nil, context.Canceled
	}}
	for _, tc := range []struct {
		req  ottr.DiscoverRequest
		want []string
	}{
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.0/19"}}, []string{"targets[0]", "8192 addresses", "at most 4096"}},
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.0/21"}, Ports: []int{443, 8443, 4443}}, []string{"targets", "make 6138 addresses", "at most 4096"}},
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.1"}, Ports: []int{0}}, []string{"ports[0]", "0 is not a port"}},
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.1"}, Concurrency: 1000}, []string{"concurrency", "1000 is out of range"}},
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.1"}, Timeout: time.Minute}, []string{"timeout", "at most 10s"}},
		{ottr.DiscoverRequest{Targets: []string{"10.0.0.0/8"}, Timeout: -time.Second}, []string{"2 problems", "timeout", "targets[0]"}},
	} {
		_, err := s.Discover(t.Context(), tc.req)
		if ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("%+v: %v", tc.req, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: %q lacks %q", tc.req, err, w)
			}
		}
	}
}
