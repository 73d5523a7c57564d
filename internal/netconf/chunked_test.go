package netconf

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestReadChunked(t *testing.T) {
	// RFC 6242 §4.2's example: one message in two chunks.
	stream := "\n#4\n<rpc\n#18\n message-id=\"102\"\n\n##\n" + "\n#5\n<ok/>\n##\n"
	r := bufio.NewReader(strings.NewReader(stream))
	for _, want := range []string{"<rpc message-id=\"102\"\n", "<ok/>"} {
		got, err := ReadChunked(r)
		if err != nil || string(got) != want {
			t.Fatalf("got %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadChunked(r); err != io.EOF {
		t.Errorf("at the end: %v", err)
	}
	for _, bad := range []string{"\n#0\n\n##\n", "\n#012\nabc\n##\n", "\n##\n", "#4\nabcd\n##\n", "\n#x\n", "\n#10\nabc"} {
		if _, err := ReadChunked(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzReadChunked: reading a peer's stream ends, and what WriteChunked
// framed reads back as written.
func FuzzReadChunked(f *testing.F) {
	f.Add([]byte("\n#4\n<rpc\n##\n"), "<rpc><get-config/></rpc>")
	f.Add([]byte("\n#99999999999\n"), "]]>]]>")
	f.Fuzz(func(t *testing.T, stream []byte, msg string) {
		r := bufio.NewReader(bytes.NewReader(stream))
		for i := 0; ; i++ {
			if i > len(stream) {
				t.Fatal("reading does not end")
			}
			m, err := ReadChunked(r)
			if err != nil {
				break
			}
			if len(m) == 0 || len(m) > len(stream) {
				t.Fatalf("a %d-byte message from a %d-byte stream", len(m), len(stream))
			}
		}
		if msg == "" {
			return
		}
		var buf bytes.Buffer
		if err := WriteChunked(&buf, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := ReadChunked(bufio.NewReader(&buf))
		if err != nil || string(got) != msg {
			t.Fatalf("wrote %q, read %q, %v", msg, got, err)
		}
	})
}
