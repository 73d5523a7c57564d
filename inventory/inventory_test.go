package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// ottrSeed is Ottr's own test inventory (api/backend/tests init_database).
func ottrSeed() []*ottr.Asset {
	return []*ottr.Asset{
		{SystemName: "test.example.com", CommonName: "test.example.com", SubjectAlternativeName: []string{"example.com"},
			CertificateAuthority: "lets_encrypt", CertificateValidation: true, HostPlatform: "panos", OSVersion: "9.1.0",
			DeviceModel: "PA-XXXX", IPAddress: "10.0.0.1", DataCenter: "DC0", Origin: "API"},
		{SystemName: "ubuntu.example.com", CommonName: "ubuntu.example.com", SubjectAlternativeName: []string{"ubuntu.subdomain.example.com"},
			CertificateAuthority: "lets_encrypt", CertificateExpiration: ottr.NewTime(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)),
			CertificateValidation: false, HostPlatform: "Ubuntu", OSVersion: "18.04", IPAddress: "10.0.0.2", DataCenter: "DC0", Origin: "API"},
	}
}

func readAll(t testing.TB, r io.Reader, format string) (string, []Record, error) {
	t.Helper()
	rd, err := NewReader(r, format)
	if err != nil {
		return "", nil, err
	}
	var recs []Record
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			return rd.Format(), recs, nil
		}
		if err != nil {
			return rd.Format(), recs, err
		}
		recs = append(recs, rec)
	}
}

func assetsOf(t testing.TB, recs []Record) []*ottr.Asset {
	t.Helper()
	var out []*ottr.Asset
	for _, r := range recs {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Pos, r.Err)
		}
		out = append(out, r.Asset)
	}
	return out
}

func TestOttrFixturesInEveryFormat(t *testing.T) {
	for file, want := range map[string]string{
		"scan.json": FormatDynamoDB, "scan-count-first.json": FormatDynamoDB, "export.jsonl": FormatDynamoDBExport,
		"assets.csv": FormatCSV, "assets.json": FormatJSON,
	} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			format, recs, err := readAll(t, f, FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			if format != want {
				t.Errorf("sniffed %s, want %s", format, want)
			}
			if d := cmp.Diff(ottrSeed(), assetsOf(t, recs)); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
}

func full(i int) *ottr.Asset {
	a := &ottr.Asset{SystemName: fmt.Sprintf("h%d.example.com", i), CommonName: fmt.Sprintf("h%d.example.com", i),
		SubjectAlternativeName: []string{"a.example.com", fmt.Sprintf("b%d.example.com", i)}, CertificateAuthority: "lets_encrypt",
		CertificateValidation: ottr.BoolString(i%2 == 0), HostPlatform: "f5", OSVersion: "14.1.0", DeviceModel: "BIG-IP",
		IPAddress: "2001:db8::1", DataCenter: "DC, \"quoted\"", Origin: "import", Labels: map[string]string{"team": "net", "env": "prod"},
		Port: 8443, Credential: "f5-admin", DNSZone: "acme.example.net", CertificateSerial: "0a", CertificateIssuer: "CN=R3"}
	if i%3 != 0 {
		a.CertificateExpiration = ottr.NewTime(time.Date(2027, 1, i%28+1, 2, 3, 4, 0, time.UTC))
		a.CertificateNotBefore = ottr.NewTime(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC))
	}
	return a
}

func TestRoundTripEveryFormat(t *testing.T) {
	var in []*ottr.Asset
	for i := 0; i < 7; i++ {
		in = append(in, full(i))
	}
	withRotation := full(9)
	withRotation.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)), Status: "failed", Error: "timeout", RotationID: "r9"}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			want := in
			if format != FormatCSV { // CSV does not keep last_rotation
				want = append(append([]*ottr.Asset(nil), in...), withRotation)
			}
			var buf bytes.Buffer
			w, err := NewWriter(&buf, format)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range want {
				if err := w.Write(a); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, recs, err := readAll(t, &buf, FormatAuto)
			if err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			if got != format {
				t.Errorf("sniffed %s", got)
			}
			if d := cmp.Diff(want, assetsOf(t, recs)); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestEmptyInputsAndOutputs(t *testing.T) {
	for _, format := range Formats {
		var buf bytes.Buffer
		w, _ := NewWriter(&buf, format)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		_, recs, err := readAll(t, bytes.NewReader(buf.Bytes()), format)
		if err != nil || len(recs) != 0 {
			t.Errorf("%s: empty document → %d records, %v\n%s", format, len(recs), err, buf.String())
		}
	}
	if _, recs, err := readAll(t, strings.NewReader(""), FormatAuto); err != nil || len(recs) != 0 {
		t.Errorf("empty input: %v %v", recs, err)
	}
}

func TestRecordErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		pos, frag []string // per bad record
		good      int
	}{
		{"bad time in scan", `{"Items":[{"system_name":{"S":"a.example.com"},"certificate_expiration":{"S":"2021-13-01"}},{"system_name":{"S":"b.example.com"}}]}`,
			[]string{"item 1"}, []string{`certificate_expiration: "2021-13-01" is not an ISO 8601 time`}, 1},
		{"wrong dynamo type", `{"Items":[{"system_name":{"S":"a.example.com"},"os_version":{"BOOL":true}}]}`,
			[]string{"item 1"}, []string{"os_version: want a string (S), found BOOL"}, 0},
		{"bad validation", `{"Item":{"system_name":{"S":"a.example.com"},"certificate_validation":{"S":"maybe"}}}`,
			[]string{"line 1"}, []string{"certificate_validation"}, 0},
		{"SAN not a list", `{"Item":{"system_name":{"S":"a.example.com"},"subject_alternative_name":{"S":"x"}}}`,
			[]string{"line 1"}, []string{"subject_alternative_name: want a list (L) of strings, found S"}, 0},
		{"jsonl bad line then good", "{\"system_name\":\"a.example.com\",\"port\":\"x\"}\n\n{\"system_name\":\"b.example.com\"}\n",
			[]string{"line 1"}, []string{"port: want a number"}, 1},
		{"item not an object", `[1, {"system_name":"b.example.com"}]`,
			[]string{"item 1"}, []string{"want an asset as a JSON object, found a JSON number"}, 1},
		{"jsonl line cut short", "{\"system_name\":\n",
			[]string{"line 1"}, []string{"the JSON ends early"}, 0},
		{"csv column count", "system_name,host_platform\na.example.com,f5\nb.example.com\nc.example.com,f5\n",
			[]string{"line 3"}, []string{"1 fields, header has 2"}, 2},
		{"csv bad port", "system_name,port\na.example.com,http\n", []string{"line 2"}, []string{`port: "http" is not an integer`}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, recs, err := readAll(t, strings.NewReader(tc.in), FormatAuto)
			if err != nil {
				t.Fatal(err)
			}
			var bad []Record
			good := 0
			for _, r := range recs {
				if (r.Err == nil) == (r.Asset == nil) {
					t.Fatalf("record %s has both or neither of asset and error", r.Pos)
				}
				if r.Err != nil {
					bad = append(bad, r)
				} else {
					good++
				}
			}
			if len(bad) != len(tc.pos) || good != tc.good {
				t.Fatalf("bad %v, good %d; want %d bad, %d good", bad, good, len(tc.pos), tc.good)
			}
			for i, r := range bad {
				if r.Pos != tc.pos[i] || !strings.Contains(r.Err.Error(), tc.frag[i]) {
					t.Errorf("%s: %v; want %s: …%s…", r.Pos, r.Err, tc.pos[i], tc.frag[i])
				}
			}
		})
	}
}

func TestFatalErrors(t *testing.T) {
	if _, _, err := readAll(t, strings.NewReader("system_name,colour\na,b\n"), FormatAuto); err == nil || !strings.Contains(err.Error(), `unknown column "colour"`) {
		t.Errorf("unknown CSV column: %v", err)
	}
	if _, _, err := readAll(t, strings.NewReader("host_platform\nf5\n"), FormatCSV); err == nil || !strings.Contains(err.Error(), "system_name column is required") {
		t.Errorf("no system_name column: %v", err)
	}
	_, recs, err := readAll(t, strings.NewReader(`[{"system_name":"a.example.com"}, {"system_name": "b.exa`), FormatAuto)
	if err == nil || !strings.Contains(err.Error(), "item 2") || len(recs) != 1 {
		t.Errorf("truncated array: %d records, %v", len(recs), err)
	}
	if _, err := NewReader(strings.NewReader(""), "xml"); err == nil || !strings.Contains(err.Error(), "dynamodb-export") {
		t.Errorf("unknown format: %v", err)
	}
}

// TestCSVQuoteErrors: a quote the CSV reader cannot close ends the read
// with an EINVALID error naming the line, never a panic.
func TestCSVQuoteErrors(t *testing.T) {
	tests := []struct {
		name, in string
		good     int
		line     string
	}{
		{"unterminated at end", "system_name,host_platform\na.example.com,f5\n\"b.example.com,f5\n", 1, "line 3"},
		{"unterminated only field", "system_name\n\"00000000", 0, "line 2"},
		{"bare quote", "system_name,host_platform\na.exa\"mple.com,f5\n", 0, "line 2"},
		{"text after closing quote", "system_name,host_platform\n\"a.example.com\"x,f5\n", 0, "line 2"},
		{"unterminated header", "\"system_name\n", 0, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, recs, err := readAll(t, strings.NewReader(tc.in), FormatCSV)
			if len(assetsOf(t, recs)) != tc.good {
				t.Errorf("%d records before the error, want %d", len(recs), tc.good)
			}
			if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), tc.line) {
				t.Errorf("error %v (code %q), want EINVALID naming %s", err, ottr.ErrorCode(err), tc.line)
			}
		})
	}
}

// TestStreams reads a large scan through a pipe: records arrive while the
// producer is still writing, so the input is never held whole.
func TestStreams(t *testing.T) {
	const n = 200_000
	pr, pw := io.Pipe()
	written := make(chan int, 1)
	progress := 0
	go func() {
		fmt.Fprint(pw, `{"Items": [`)
		for i := 0; i < n; i++ {
			if i > 0 {
				fmt.Fprint(pw, ",")
			}
			fmt.Fprintf(pw, `{"system_name":{"S":"h%d.example.com"},"subject_alternative_name":{"L":[{"S":"x.example.com"}]}}`, i)
			if i == 1000 {
				written <- i
			}
		}
		fmt.Fprint(pw, `], "Count": 200000}`)
		pw.Close()
	}()
	rd, err := NewReader(pr, FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil || rec.Err != nil {
			t.Fatal(err, rec.Err)
		}
		progress++
		if progress == 1 {
			select {
			case <-written:
				t.Log("first record read while the producer was mid-stream")
			default:
			}
		}
	}
	if progress != n {
		t.Errorf("read %d records, want %d", progress, n)
	}
}

func FuzzReader(f *testing.F) {
	for _, file := range []string{"scan.json", "export.jsonl", "assets.csv", "assets.json"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 0)
	}
	f.Add([]byte(`{"Items":[{"port":{"N":"x"},"labels":{"M":{"a":{"N":"1"}}}}]}`), 0)
	f.Fuzz(func(t *testing.T, data []byte, which int) {
		formats := append([]string{FormatAuto}, Formats...)
		format := formats[(which%len(formats)+len(formats))%len(formats)]
		rd, err := NewReader(bytes.NewReader(data), format)
		if err != nil {
			return
		}
		for i := 0; i <= len(data)+1; i++ {
			rec, err := rd.Next()
			if errors.Is(err, io.EOF) || err != nil {
				return
			}
			if (rec.Err == nil) == (rec.Asset == nil) {
				t.Fatalf("record %s has both or neither of asset and error", rec.Pos)
			}
		}
		t.Fatal("reader did not terminate")
	})
}

func BenchmarkReadDynamoDB(b *testing.B) {
	var buf bytes.Buffer
	w, _ := NewWriter(&buf, FormatDynamoDB)
	for i := 0; i < 10000; i++ {
		w.Write(full(i))
	}
	w.Close()
	data := buf.Bytes()
	b.ResetTimer()
	for b.Loop() {
		_, recs, err := readAll(b, bytes.NewReader(data), FormatDynamoDB)
		if err != nil || len(recs) != 10000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "records/s")
}
