// Package netconf is NETCONF message framing over SSH (RFC 6242): the
// end-of-message marker "]]>]]>" of base 1.0 (§4.3), which every session
// starts with and Junos keeps by default, and the chunked framing of base
// 1.1 (§4.2), which a session switches to after the hello exchange when
// both peers announce base:1.1. The junos driver and the Junos simulator
// both frame with it; everything above the framing (hello, rpc,
// rpc-reply) is theirs.
package netconf

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// ReadChunked returns the next base 1.1 message: chunks "\n#<size>\n<data>"
// up to the end-of-chunks marker "\n##\n".
func ReadChunked(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		// Each chunk header and the end marker start with "\n#".
		if err := expect(r, "\n#"); err != nil {
			return nil, err
		}
		b, err := r.ReadByte()
		if err != nil {
			return nil, eof(err)
		}
		if b == '#' {
			if err := expect(r, "\n"); err != nil {
				return nil, err
			}
			if buf.Len() == 0 {
				return nil, errors.New("netconf: message with no chunk")
			}
			return buf.Bytes(), nil
		}
		digits := []byte{b}
		for {
			if b, err = r.ReadByte(); err != nil {
				return nil, eof(err)
			}
			if b == '\n' {
				break
			}
			if len(digits) > 10 {
				return nil, errors.New("netconf: chunk size too long")
			}
			digits = append(digits, b)
		}
		// RFC 6242: 1 to 4294967295, no leading zero.
		n, err := strconv.ParseUint(string(digits), 10, 32)
		if err != nil || n == 0 || digits[0] == '0' {
			return nil, fmt.Errorf("netconf: bad chunk size %q", digits)
		}
		if buf.Len()+int(n) > MaxMessage {
			return nil, ErrTooLarge
		}
		if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
			return nil, eof(err)
		}
	}
}

func expect(r *bufio.Reader, want string) error {
	for i := 0; i < len(want); i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i == 0 && err == io.EOF {
				return io.EOF
			}
			return eof(err)
		}
		if b != want[i] {
			return fmt.Errorf("netconf: bad chunk framing: %q where %q was expected", b, want[i])
		}
	}
	return nil
}

func eof(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// WriteChunked sends one base 1.1 message as a single chunk.
func WriteChunked(w io.Writer, msg []byte) error {
	if len(msg) == 0 {
		return errors.New("netconf: empty message")
	}
	_, err := w.Write(append(append([]byte("\n#"+strconv.Itoa(len(msg))+"\n"), msg...), "\n##\n"...))
	return err
}
