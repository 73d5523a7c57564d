// Package netconf is NETCONF 1.0 message framing over SSH (RFC 6242 §4.3:
// each message ends with "]]>]]>"), which Junos speaks by default. The
// junos driver and the Junos simulator both frame with it; everything
// above the framing (hello, rpc, rpc-reply) is theirs.
package netconf

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// EOM ends every NETCONF 1.0 message.
const EOM = "]]>]]>"

// MaxMessage bounds one message (a CSR, a configuration) so a broken peer
// cannot exhaust memory.
const MaxMessage = 16 << 20

// ErrTooLarge is returned for a message over MaxMessage.
var ErrTooLarge = errors.New("netconf: message too large")

// Read returns the next message without its end marker.
func Read(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		b, err := r.ReadByte()
		if err != nil {
			if err == io.EOF && buf.Len() > 0 {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf.WriteByte(b)
		if b == '>' && bytes.HasSuffix(buf.Bytes(), []byte(EOM)) {
			return bytes.TrimSpace(buf.Bytes()[:buf.Len()-len(EOM)]), nil
		}
		if buf.Len() > MaxMessage {
			return nil, ErrTooLarge
		}
	}
}

// Write sends one message followed by the end marker.
func Write(w io.Writer, msg []byte) error {
	_, err := w.Write(append(append(bytes.TrimSpace(msg), '\n'), EOM+"\n"...))
	return err
}
