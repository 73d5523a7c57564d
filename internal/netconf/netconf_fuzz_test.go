package netconf

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzRead reads a peer's stream as NETCONF 1.0 messages: reading ends
// (a message never holds the end marker, and each read consumes input),
// and messages that Write framed read back as written.
func FuzzRead(f *testing.F) {
	f.Add([]byte("<hello/>\n]]>]]>\n<rpc-reply><ok/></rpc-reply>]]>]]>"), "<rpc><get-configuration/></rpc>")
	f.Add([]byte("]]>]]]>]]>]]>"), "")
	f.Add([]byte("<rpc-reply>unterminated"), "  <x>]]></x>  ")
	f.Fuzz(func(t *testing.T, stream []byte, msg string) {
		r := bufio.NewReader(bytes.NewReader(stream))
		for i := 0; ; i++ {
			if i > len(stream) {
				t.Fatal("reading does not end")
			}
			m, err := Read(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("error %v on an in-memory stream", err)
				}
				break
			}
			if bytes.Contains(m, []byte(EOM)) {
				t.Fatalf("message %q holds the end marker", m)
			}
		}
		// What we frame reads back, unless the message itself holds the
		// marker (the framing cannot carry that: RFC 6242 §4.3).
		if strings.Contains(msg, EOM) || len(msg) > MaxMessage {
			return
		}
		var buf bytes.Buffer
		if err := Write(&buf, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := Read(bufio.NewReader(&buf))
		if err != nil || string(got) != strings.TrimSpace(msg) {
			t.Fatalf("wrote %q, read %q, %v", msg, got, err)
		}
	})
}
