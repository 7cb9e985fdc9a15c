package gdb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// The packet layer of the remote serial protocol (gdb manual, "Overview" of
// "Remote Protocol"): a packet is $payload#cc with cc the modulo-256 sum of
// the payload bytes in two lower-case hex digits. Until QStartNoAckMode
// each side answers a packet with '+' (good) or '-' (bad checksum: resend).
// In binary data '$', '#', '}' and '*' are sent as '}' followed by the byte
// XOR 0x20. A lone 0x03 byte is an interrupt request (^C).

const (
	// maxPacket is the largest payload the stub accepts, announced to gdb
	// as PacketSize in the qSupported reply (in hex, as the protocol says).
	maxPacket = 0x4000
	// maxResend bounds how often a reply gdb rejected ('-') is resent.
	maxResend = 5
	// interruptByte is gdb's ^C while the target runs.
	interruptByte = 0x03
	// escapeByte introduces an escaped byte in binary data.
	escapeByte = '}'
)

var errTooManyResends = errors.New("gdb: debugger rejected a reply too many times")

// checksum is the modulo-256 sum the protocol appends to each packet.
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return s
}

// unescape undoes the '}' escaping of binary data. Only binary packets
// (X) carry escapes; gdb escapes nothing elsewhere, so applying it to every
// packet is safe.
func unescape(b []byte) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == escapeByte && i+1 < len(b) {
			i++
			out = append(out, b[i]^0x20)
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// escape escapes binary data for a reply (qXfer): '$', '#', '}' and '*'
// (the last because gdb reads '*' in a reply as run-length encoding).
func escape(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for _, c := range b {
		switch c {
		case '$', '#', '}', '*':
			out = append(out, escapeByte, c^0x20)
		default:
			out = append(out, c)
		}
	}
	return out
}

// inbound is what the reading goroutine found on the connection.
type inbound struct {
	payload []byte // a packet with a good checksum, unescaped
}

// wire is one debugger connection's framing: a reader goroutine turns the
// byte stream into packets, acknowledgements and interrupts; the serving
// goroutine writes replies.
type wire struct {
	c    net.Conn
	logf func(format string, args ...any)

	// writeMu serialises writes: the reader acknowledges packets while the
	// serving goroutine may be replying.
	writeMu sync.Mutex

	packets chan inbound  // to the serving goroutine; closed when the connection ends
	acks    chan byte     // '+' and '-' from gdb, for a reply awaiting one
	done    chan struct{} // closed when the reader has stopped
	quit    chan struct{} // closed by the serving goroutine when it is finished with the connection

	// txNoAck is owned by the serving goroutine: replies need no ack.
	txNoAck bool
}

func newWire(c net.Conn, logf func(string, ...any)) *wire {
	return &wire{
		c:       c,
		logf:    logf,
		packets: make(chan inbound, 4),
		acks:    make(chan byte, 16),
		done:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
}

// events is what the reader reports besides packets.
type events interface {
	// interrupt is called on a 0x03 byte.
	interrupt()
	// resumed is called, before the packet is handed on, for a packet that
	// resumes the target (so a ^C that follows it in the stream is not lost).
	resumed(payload []byte)
	// lost is called once when the connection ends.
	lost()
}

// read runs on its own goroutine until the connection ends.
func (w *wire) read(ev events) {
	defer close(w.packets)
	defer close(w.done)
	defer ev.lost()
	r := bufio.NewReaderSize(w.c, 4096)
	rxNoAck := false
	for {
		b, err := r.ReadByte()
		if err != nil {
			return
		}
		switch b {
		case interruptByte:
			w.logf("gdb: <- ^C")
			ev.interrupt()
		case '+', '-':
			select {
			case w.acks <- b:
			default: // nobody waits (no-ack mode): drop
			}
		case '$':
			payload, good, err := readFrame(r)
			if err != nil {
				return
			}
			if !rxNoAck {
				ack := byte('+')
				if !good {
					ack = '-'
				}
				if w.writeRaw([]byte{ack}) != nil {
					return
				}
			}
			if !good {
				w.logf("gdb: <- bad checksum, asked for a resend")
				continue
			}
			payload = unescape(payload)
			w.logf("gdb: <- %s", clip(payload))
			if string(payload) == "QStartNoAckMode" {
				// Acknowledged above in ack mode; from the next packet on
				// gdb sends no acks and expects none.
				rxNoAck = true
			}
			if isResume(payload) {
				ev.resumed(payload)
			}
			select {
			case w.packets <- inbound{payload: payload}:
			case <-w.quit:
				return
			}
		default:
			// Anything between packets is noise the protocol ignores.
		}
	}
}

// readFrame reads the rest of a packet after '$': the payload up to '#'
// and the two checksum digits. good reports whether the checksum matched.
// An over-long payload is drained and reported bad.
func readFrame(r *bufio.Reader) (payload []byte, good bool, err error) {
	var buf []byte
	tooLong := false
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, false, err
		}
		if b == '#' {
			break
		}
		if len(buf) >= 2*maxPacket+64 {
			tooLong = true
			continue
		}
		buf = append(buf, b)
	}
	var cs [2]byte
	if _, err := io.ReadFull(r, cs[:]); err != nil {
		return nil, false, err
	}
	want, ok := parseHexByte(cs[0], cs[1])
	return buf, ok && !tooLong && want == checksum(buf), nil
}

func parseHexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexVal(hi)
	l, ok2 := hexVal(lo)
	return h<<4 | l, ok1 && ok2
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (w *wire) writeRaw(b []byte) error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	_, err := w.c.Write(b)
	return err
}

// send writes one reply packet and, in ack mode, waits for gdb's '+',
// resending on '-'.
func (w *wire) send(payload []byte) error {
	frame := make([]byte, 0, len(payload)+4)
	frame = append(frame, '$')
	frame = append(frame, payload...)
	frame = fmt.Appendf(frame, "#%02x", checksum(payload))
	w.logf("gdb: -> %s", clip(payload))
	for try := 0; ; try++ {
		if try > maxResend {
			return errTooManyResends
		}
		if err := w.writeRaw(frame); err != nil {
			return err
		}
		if w.txNoAck {
			return nil
		}
		select {
		case ack := <-w.acks:
			if ack == '+' {
				return nil
			}
		case <-w.done:
			return net.ErrClosed
		}
	}
}

// clip shortens a packet for the log.
func clip(b []byte) string {
	const n = 120
	if len(b) > n {
		return fmt.Sprintf("%q… (%d bytes)", b[:n], len(b))
	}
	return fmt.Sprintf("%q", b)
}
