package route53_test

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/dns/route53"
)

const (
	zone   = "acme.example.test"
	zoneID = "Z0123456789ABCDEFGHIJ"
	akid   = "AKIAIOSFODNN7EXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	xmlns  = "https://route53.amazonaws.com/doc/2013-04-01/"
)

// fakeRoute53 is the Route 53 REST-XML API for the calls the provider
// makes, with Route 53's change-batch semantics: a batch applies entirely
// or not at all, DELETE must name the exact current set, CREATE must not
// find one, errors come as <ErrorResponse> with Type/Code/Message.
type fakeRoute53 struct {
	mu       sync.Mutex
	sets     map[string]rrset // by name (with dot) and type
	changes  int
	fail500  bool
	beforeOp func() // runs before each change batch (to simulate a concurrent writer)
}

type rrset struct {
	XMLName xml.Name `xml:"ResourceRecordSet"`
	Name    string   `xml:"Name"`
	Type    string   `xml:"Type"`
	TTL     int64    `xml:"TTL"`
	Records []record `xml:"ResourceRecords>ResourceRecord"`
}

type record struct {
	Value string `xml:"Value"`
}

func (s rrset) values() []string {
	var out []string
	for _, r := range s.Records {
		out = append(out, r.Value)
	}
	return out
}

type changeBatch struct {
	Changes []struct {
		Action string `xml:"Action"`
		Set    rrset  `xml:"ResourceRecordSet"`
	} `xml:"ChangeBatch>Changes>Change"`
}

func awsError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>4a2b-fake</RequestId></ErrorResponse>`,
		xmlns, typ, code, msg)
}

func (f *fakeRoute53) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail500 {
		awsError(w, 500, "Receiver", "InternalFailure", "We encountered an internal error. Please try again.")
		return
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+akid+"/") {
		awsError(w, 403, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == "GET" && path == "/2013-04-01/hostedzonesbyname":
		fmt.Fprintf(w, `<ListHostedZonesByNameResponse xmlns="%s"><HostedZones>`, xmlns)
		if name := r.URL.Query().Get("dnsname"); name == "" || strings.TrimSuffix(name, ".") <= zone {
			fmt.Fprintf(w, `<HostedZone><Id>/hostedzone/%s</Id><Name>%s.</Name><CallerReference>ref</CallerReference><Config><PrivateZone>false</PrivateZone></Config><ResourceRecordSetCount>%d</ResourceRecordSetCount></HostedZone>`,
				zoneID, zone, len(f.sets)+2)
		}
		fmt.Fprintf(w, `</HostedZones><DNSName>%s</DNSName><IsTruncated>false</IsTruncated><MaxItems>1</MaxItems></ListHostedZonesByNameResponse>`, r.URL.Query().Get("dnsname"))
	case path == "/2013-04-01/hostedzone/"+zoneID+"/rrset" && r.Method == "GET":
		// Sets in Route 53's order from (name, type) on; maxitems of them.
		start := r.URL.Query().Get("name") + " " + r.URL.Query().Get("type")
		var keys []string
		for k := range f.sets {
			if k >= start {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		max, _ := strconv.Atoi(r.URL.Query().Get("maxitems"))
		if max > 0 && len(keys) > max {
			keys = keys[:max]
		}
		fmt.Fprintf(w, `<ListResourceRecordSetsResponse xmlns="%s"><ResourceRecordSets>`, xmlns)
		for _, k := range keys {
			b, _ := xml.Marshal(f.sets[k])
			w.Write(b)
		}
		fmt.Fprintf(w, `</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>%d</MaxItems></ListResourceRecordSetsResponse>`, max)
	case path == "/2013-04-01/hostedzone/"+zoneID+"/rrset" && r.Method == "POST":
		if f.beforeOp != nil {
			f.beforeOp()
		}
		body, _ := io.ReadAll(r.Body)
		var cb changeBatch
		if err := xml.Unmarshal(body, &cb); err != nil || len(cb.Changes) == 0 {
			awsError(w, 400, "Sender", "InvalidInput", "Invalid XML ; cvc-complex-type.2.4.b")
			return
		}
		next := map[string]rrset{}
		for k, v := range f.sets {
			next[k] = v
		}
		for _, c := range cb.Changes {
			k := c.Set.Name + " " + c.Set.Type
			cur, exists := next[k]
			switch c.Action {
			case "CREATE":
				if exists {
					awsError(w, 400, "Sender", "InvalidChangeBatch", fmt.Sprintf("[Tried to create resource record set [name='%s', type='%s'] but it already exists]", c.Set.Name, c.Set.Type))
					return
				}
				next[k] = c.Set
			case "DELETE":
				if !exists || cur.TTL != c.Set.TTL || !slices.Equal(cur.values(), c.Set.values()) {
					awsError(w, 400, "Sender", "InvalidChangeBatch", fmt.Sprintf("[Tried to delete resource record set [name='%s', type='%s'] but the values provided do not match the current values] ", c.Set.Name, c.Set.Type))
					return
				}
				delete(next, k)
			case "UPSERT":
				next[k] = c.Set
			}
		}
		f.sets = next
		f.changes++
		fmt.Fprintf(w, `<ChangeResourceRecordSetsResponse xmlns="%s"><ChangeInfo><Id>/change/C%d</Id><Status>PENDING</Status><SubmittedAt>2026-11-23T00:00:00Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`, xmlns, f.changes)
	default:
		awsError(w, 404, "Sender", "NoSuchHostedZone", "No hosted zone found with ID: "+path)
	}
}

func (f *fakeRoute53) values(name string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, v := range f.sets[name+". TXT"].values() {
		u, _ := strconv.Unquote(v)
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}

func newZone(t *testing.T, url string, c route53.Config) *route53.Zone {
	t.Helper()
	c.Zone, c.Endpoint = zone, url
	if c.AccessKeyID == "" {
		c.AccessKeyID, c.SecretAccessKey = akid, secret
	}
	z, err := route53.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestZone(t *testing.T) {
	api := &fakeRoute53{sets: map[string]rrset{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	z := newZone(t, srv.URL, route53.Config{})
	ctx := t.Context()
	name := "_acme-challenge.fw01." + zone
	for _, v := range []string{"value-a", "value-b"} {
		if err := z.AddTXT(ctx, name, v); err != nil {
			t.Fatal(err)
		}
	}
	if got := api.values(name); !slices.Equal(got, []string{"value-a", "value-b"}) {
		t.Fatalf("set = %v", got)
	}
	if err := z.RemoveTXT(ctx, name, "value-a"); err != nil {
		t.Fatal(err)
	}
	if got := api.values(name); !slices.Equal(got, []string{"value-b"}) {
		t.Errorf("after removing value-a: %v", got)
	}
	if err := z.RemoveTXT(ctx, name, "absent"); err != nil {
		t.Errorf("removing an absent value: %v", err)
	}
	if err := z.RemoveTXT(ctx, name, "value-b"); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.sets[name+". TXT"]; ok {
		t.Error("empty set not deleted")
	}
	if err := z.AddTXT(ctx, "_acme-challenge.example.com", "v"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("outside the zone: %v", err)
	}
}

// Another writer changes the set between our read and our write: the
// batch is rejected and retried on fresh data; no value is lost.
func TestConcurrentWriter(t *testing.T) {
	api := &fakeRoute53{sets: map[string]rrset{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	z := newZone(t, srv.URL, route53.Config{HostedZoneID: zoneID})
	name := "_acme-challenge.lb01." + zone
	if err := z.AddTXT(t.Context(), name, "mine-1"); err != nil {
		t.Fatal(err)
	}
	once := true
	api.beforeOp = func() {
		if once {
			once = false
			k := name + ". TXT"
			s := api.sets[k]
			s.Records = append(s.Records, record{Value: strconv.Quote("theirs")})
			api.sets[k] = s
		}
	}
	if err := z.AddTXT(t.Context(), name, "mine-2"); err != nil {
		t.Fatal(err)
	}
	if got := api.values(name); !slices.Equal(got, []string{"mine-1", "mine-2", "theirs"}) {
		t.Errorf("set = %v", got)
	}
}

func TestErrors(t *testing.T) {
	api := &fakeRoute53{sets: map[string]rrset{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	name := "_acme-challenge.fw01." + zone

	bad := newZone(t, srv.URL, route53.Config{AccessKeyID: "AKIAWRONGWRONGWRONG1", SecretAccessKey: "not-the-secret-key"})
	err := bad.AddTXT(t.Context(), name, "v")
	if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "InvalidClientTokenId") {
		t.Errorf("bad credentials: %v, want EUNAUTHORIZED", err)
	}
	if err != nil && (strings.Contains(err.Error(), "not-the-secret-key") || strings.Contains(err.Error(), secret)) {
		t.Errorf("error reveals the secret key: %v", err)
	}
	if err := newZone(t, srv.URL, route53.Config{HostedZoneID: "ZNOSUCHZONE"}).AddTXT(t.Context(), name, "v"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("no such hosted zone: %v, want EINVALID", err)
	}
	api.mu.Lock()
	api.fail500 = true
	api.mu.Unlock()
	if err := newZone(t, srv.URL, route53.Config{HostedZoneID: zoneID}).AddTXT(t.Context(), name, "v"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("API 500: %v, want EUNAVAILABLE", err)
	}

	_, err = route53.New(route53.Config{AccessKeyID: "x", Endpoint: "ftp://x"})
	for _, w := range []string{"zone", "access_key_id", "endpoint"} {
		if !strings.Contains(fmt.Sprint(err), w) {
			t.Errorf("%v lacks %q", err, w)
		}
	}
}
