package link

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/mvnet/mvnet/abi"
)

// Version is the protocol version this package speaks, sent in HELLO and
// WELCOME. See the version history in the package documentation.
const Version = 6

// MaxFrameLen is the largest value of a frame's length prefix: the type byte
// and the body together.
const MaxFrameLen = 1 << 20

// MaxLogLine is the longest server log line, in bytes, a LOG frame may
// carry: mvServerLog refuses longer lines (LOGMESSAGETOOLONG), and the
// cloud ends a link that sends one with CONTROL ERROR.
const MaxLogLine = abi.MaxLogLine

// MaxDiagLen is the longest text, in bytes, of a CONTROL DIAG or GOAWAY
// frame: the cloud shortens a longer reason (TruncateDiag).
const MaxDiagLen = 256

// DeviceIDLen is the length of a device ID in HELLO (abi.DeviceIDLen).
const DeviceIDLen = abi.DeviceIDLen

// FrameType is the first byte of a frame.
type FrameType uint8

// Frame types. The layout of each frame's body is in the package
// documentation.
const (
	FrameHello   FrameType = 1 // device→cloud: version u16 | device_id [34]byte [| flags u8 | now_us u64]
	FrameWelcome FrameType = 2 // cloud→device: version u16 | wall_time_us u64
	FrameOpen    FrameType = 3 // device→cloud: chan u32 | chan_type u8 | rx_size u32 | tx_size u32 | endpoint
	FrameData    FrameType = 4 // both: chan u32 | payload (≥ 1 byte)
	FrameCredit  FrameType = 5 // both: chan u32 | bytes u32
	FrameClose   FrameType = 6 // both: chan u32 | reason u8
	FrameLog     FrameType = 7 // device→cloud: seq u64 | text
	FrameTime    FrameType = 8 // cloud→device: wall_time_us u64
	FrameControl FrameType = 9 // both: kind u8 | body
)

var frameNames = [...]string{
	FrameHello:   "HELLO",
	FrameWelcome: "WELCOME",
	FrameOpen:    "OPEN",
	FrameData:    "DATA",
	FrameCredit:  "CREDIT",
	FrameClose:   "CLOSE",
	FrameLog:     "LOG",
	FrameTime:    "TIME",
	FrameControl: "CONTROL",
}

// String names the frame type, e.g. "DATA".
func (t FrameType) String() string {
	if int(t) < len(frameNames) && frameNames[t] != "" {
		return frameNames[t]
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// Kinds of CONTROL frame.
const (
	ControlPing  uint8 = 1 // token u64; the peer answers PONG with the same token
	ControlPong  uint8 = 2 // token u64
	ControlError uint8 = 3 // UTF-8 text; the sender closes the link after it
	// ControlUpdate (cloud→device): an application update has been
	// downloaded for the device; UTF-8 text (a description, may be empty).
	// The kernel posts UPDATEDOWNLOADED to UPDATE system notification
	// streams.
	ControlUpdate uint8 = 4
	// ControlLogAck (cloud→device): seq u64 — every log line up to and
	// including seq is stored; the device may drop them from its buffer.
	ControlLogAck uint8 = 5
	// ControlLogging (cloud→device): u8, 1 if server logging is enabled
	// for the device, 0 if the server disabled it. Sent after WELCOME and
	// whenever it changes.
	ControlLogging uint8 = 6
	// ControlDiag (cloud→device): chan u32 | UTF-8 text (at most
	// MaxDiagLen bytes) — why the cloud failed the channel's request or
	// MQTT connection, e.g. "outbound policy refused 127.0.0.1:443". Sent
	// before the response it explains; the application ABI does not
	// carry it (the kernel reports it to its host). Since version 2.
	ControlDiag uint8 = 7
	// ControlGoAway (cloud→device): UTF-8 text (at most MaxDiagLen
	// bytes) — why. This cloud node is going away (it is draining): the
	// device treats the link as lost and redials at once, after a short
	// random delay, without growing its backoff; a draining node refuses
	// new links, so the device's dial moves on to another node. Since
	// version 4.
	ControlGoAway uint8 = 8
	// ControlSync (device→cloud): seq u64 | now_us u64 — sent only by a
	// device on a virtual clock (HELLO flag HelloVirtualClock): its
	// virtual time is now now_us µs since its boot. The cloud advances
	// the device's clock to it, runs what fell due, waits until every
	// reply to what the device sent before the SYNC is queued to it, and
	// answers SYNCED with the same seq. Since version 6.
	ControlSync uint8 = 9
	// ControlSynced (cloud→device): seq u64 | next_us u64 — the answer to
	// SYNC seq, sent after every frame the cloud owed the device by then;
	// next_us is the device's virtual time at which the cloud has
	// something due next (a held frame, a fault's end, a scenario step),
	// NoDeadline if nothing. The device must SYNC again by then. Since
	// version 6.
	ControlSynced uint8 = 10
)

// HelloVirtualClock is HELLO's flag bit for a device whose time is
// virtual (an emulated firmware image in deterministic mode): the cloud
// runs the device's timers (its faults, a held frame's latency, a
// request's timeout) on the device's clock, which advances only with
// HELLO's now_us and CONTROL SYNC. Since version 6.
const HelloVirtualClock uint8 = 1

// NoDeadline is CONTROL SYNCED's next_us when nothing is due.
const NoDeadline = ^uint64(0)

// Frame is one decoded frame. Only the fields that belong to Type are
// encoded (the comment on each field says which); AppendFrame ignores the
// others and ParseFrame leaves them zero.
type Frame struct {
	Type FrameType

	Chan     uint32 // OPEN, DATA, CREDIT, CLOSE, CONTROL DIAG: the channel handle
	Version  uint16 // HELLO, WELCOME
	DeviceID string // HELLO: exactly DeviceIDLen bytes
	// Flags (HELLO): HelloVirtualClock; a HELLO with flags 0 has no
	// flags/now_us part (36 bytes, as before version 6), one with flags
	// carries both (45 bytes).
	Flags uint8
	// NowUS (HELLO with flags, CONTROL SYNC): the device's virtual time,
	// µs since its boot.
	NowUS uint64
	// NextUS (CONTROL SYNCED): the device's virtual time at which the
	// cloud has something due next; NoDeadline if nothing.
	NextUS     uint64
	WallTimeUS uint64 // WELCOME, TIME: µs since the Unix epoch; 0: the cloud has no time to give (since version 3)

	ChanType uint8  // OPEN: an MvChannelType
	RxSize   uint32 // OPEN: size of the device's receive ring
	TxSize   uint32 // OPEN: size of the device's send ring
	Endpoint []byte // OPEN: the endpoint (nil when empty)

	Payload []byte // DATA (≥ 1 byte), LOG text, CONTROL ERROR, UPDATE, DIAG and GOAWAY text (nil when empty)
	Credit  uint32 // CREDIT: bytes granted back
	Reason  uint8  // CLOSE: an MvClosureReason
	Seq     uint64 // LOG: message sequence number; CONTROL LOGACK: the last line stored; CONTROL SYNC, SYNCED: the sync's number
	Kind    uint8  // CONTROL: one of the Control kinds
	Token   uint64 // CONTROL PING, PONG
	Logging bool   // CONTROL LOGGING: server logging is enabled
}

// ErrMalformed is wrapped, with detail, by every error about a frame or a
// channel message that breaks the protocol's encoding rules.
var ErrMalformed = errors.New("link: malformed")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// bodyLen returns the length of f's body, or an error if f is not a valid
// frame.
func bodyLen(f *Frame) (int, error) {
	switch f.Type {
	case FrameHello:
		if len(f.DeviceID) != DeviceIDLen {
			return 0, malformed("HELLO device ID is %d bytes, want %d", len(f.DeviceID), DeviceIDLen)
		}
		if f.Flags != 0 {
			if f.Flags&^HelloVirtualClock != 0 {
				return 0, malformed("HELLO flags %#x has unknown bits", f.Flags)
			}
			return 2 + DeviceIDLen + 9, nil
		}
		return 2 + DeviceIDLen, nil
	case FrameWelcome:
		return 10, nil
	case FrameOpen:
		return 13 + len(f.Endpoint), nil
	case FrameData:
		if len(f.Payload) == 0 {
			return 0, malformed("DATA with an empty payload")
		}
		return 4 + len(f.Payload), nil
	case FrameCredit:
		return 8, nil
	case FrameClose:
		return 5, nil
	case FrameLog:
		if len(f.Payload) > MaxLogLine {
			return 0, malformed("LOG line of %d bytes exceeds %d", len(f.Payload), MaxLogLine)
		}
		return 8 + len(f.Payload), nil
	case FrameTime:
		return 8, nil
	case FrameControl:
		switch f.Kind {
		case ControlPing, ControlPong:
			return 9, nil
		case ControlError, ControlUpdate:
			return 1 + len(f.Payload), nil
		case ControlLogAck:
			return 9, nil
		case ControlSync, ControlSynced:
			return 17, nil
		case ControlLogging:
			return 2, nil
		case ControlDiag:
			if len(f.Payload) > MaxDiagLen {
				return 0, malformed("CONTROL DIAG text of %d bytes exceeds %d", len(f.Payload), MaxDiagLen)
			}
			return 5 + len(f.Payload), nil
		case ControlGoAway:
			if len(f.Payload) > MaxDiagLen {
				return 0, malformed("CONTROL GOAWAY text of %d bytes exceeds %d", len(f.Payload), MaxDiagLen)
			}
			return 1 + len(f.Payload), nil
		}
		return 0, malformed("unknown CONTROL kind %d", f.Kind)
	}
	return 0, malformed("unknown frame type %d", uint8(f.Type))
}

// AppendFrame appends the whole encoding of f, length prefix included, to
// dst. It fails, appending nothing, if f is invalid (unknown type or CONTROL
// kind, DATA with an empty payload, a device ID that is not 34 bytes) or
// longer than MaxFrameLen.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	n, err := bodyLen(f)
	if err != nil {
		return dst, err
	}
	if 1+n > MaxFrameLen {
		return dst, malformed("%v frame of %d bytes exceeds MaxFrameLen", f.Type, 1+n)
	}
	be := binary.BigEndian
	dst = be.AppendUint32(dst, uint32(1+n))
	dst = append(dst, byte(f.Type))
	switch f.Type {
	case FrameHello:
		dst = be.AppendUint16(dst, f.Version)
		dst = append(dst, f.DeviceID...)
		if f.Flags != 0 {
			dst = append(dst, f.Flags)
			dst = be.AppendUint64(dst, f.NowUS)
		}
	case FrameWelcome:
		dst = be.AppendUint16(dst, f.Version)
		dst = be.AppendUint64(dst, f.WallTimeUS)
	case FrameOpen:
		dst = be.AppendUint32(dst, f.Chan)
		dst = append(dst, f.ChanType)
		dst = be.AppendUint32(dst, f.RxSize)
		dst = be.AppendUint32(dst, f.TxSize)
		dst = append(dst, f.Endpoint...)
	case FrameData:
		dst = be.AppendUint32(dst, f.Chan)
		dst = append(dst, f.Payload...)
	case FrameCredit:
		dst = be.AppendUint32(dst, f.Chan)
		dst = be.AppendUint32(dst, f.Credit)
	case FrameClose:
		dst = be.AppendUint32(dst, f.Chan)
		dst = append(dst, f.Reason)
	case FrameLog:
		dst = be.AppendUint64(dst, f.Seq)
		dst = append(dst, f.Payload...)
	case FrameTime:
		dst = be.AppendUint64(dst, f.WallTimeUS)
	case FrameControl:
		dst = append(dst, f.Kind)
		switch f.Kind {
		case ControlError, ControlUpdate, ControlGoAway:
			dst = append(dst, f.Payload...)
		case ControlLogAck:
			dst = be.AppendUint64(dst, f.Seq)
		case ControlSync:
			dst = be.AppendUint64(dst, f.Seq)
			dst = be.AppendUint64(dst, f.NowUS)
		case ControlSynced:
			dst = be.AppendUint64(dst, f.Seq)
			dst = be.AppendUint64(dst, f.NextUS)
		case ControlLogging:
			var on byte
			if f.Logging {
				on = 1
			}
			dst = append(dst, on)
		case ControlDiag:
			dst = be.AppendUint32(dst, f.Chan)
			dst = append(dst, f.Payload...)
		default:
			dst = be.AppendUint64(dst, f.Token)
		}
	}
	return dst, nil
}

// TruncateDiag shortens text to at most MaxDiagLen bytes, at a UTF-8
// character boundary, ending it with "…" when it was cut.
func TruncateDiag(text string) string {
	if len(text) <= MaxDiagLen {
		return text
	}
	const ellipsis = "…"
	cut := MaxDiagLen - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + ellipsis
}

// nilIfEmpty returns b, or nil if b is empty, so that decoded frames compare
// equal however they were produced.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ParseFrame decodes one frame from b, the type byte and the body (no length
// prefix). Fixed-size frames must have exactly their size and variable ones
// at least their fixed part; anything else is ErrMalformed. The returned
// Payload and Endpoint alias b.
func ParseFrame(b []byte) (Frame, error) {
	if len(b) == 0 {
		return Frame{}, malformed("empty frame")
	}
	if len(b) > MaxFrameLen {
		return Frame{}, malformed("frame of %d bytes exceeds MaxFrameLen", len(b))
	}
	f := Frame{Type: FrameType(b[0])}
	body := b[1:]
	be := binary.BigEndian
	// need checks the body length: exactly n bytes, or at least n if
	// variable.
	need := func(n int, variable bool) error {
		switch {
		case variable && len(body) < n:
			return malformed("%v body is %d bytes, want at least %d", f.Type, len(body), n)
		case !variable && len(body) != n:
			return malformed("%v body is %d bytes, want %d", f.Type, len(body), n)
		}
		return nil
	}
	var err error
	switch f.Type {
	case FrameHello:
		if len(body) == 2+DeviceIDLen+9 {
			f.Version = be.Uint16(body)
			f.DeviceID = string(body[2 : 2+DeviceIDLen])
			f.Flags = body[2+DeviceIDLen]
			f.NowUS = be.Uint64(body[3+DeviceIDLen:])
			switch {
			case f.Flags == 0:
				err = malformed("HELLO with a flags part has flags 0 (want the 36-byte form)")
			case f.Flags&^HelloVirtualClock != 0:
				err = malformed("HELLO flags %#x has unknown bits", f.Flags)
			}
		} else if err = need(2+DeviceIDLen, false); err == nil {
			f.Version = be.Uint16(body)
			f.DeviceID = string(body[2:])
		}
	case FrameWelcome:
		if err = need(10, false); err == nil {
			f.Version = be.Uint16(body)
			f.WallTimeUS = be.Uint64(body[2:])
		}
	case FrameOpen:
		if err = need(13, true); err == nil {
			f.Chan = be.Uint32(body)
			f.ChanType = body[4]
			f.RxSize = be.Uint32(body[5:])
			f.TxSize = be.Uint32(body[9:])
			f.Endpoint = nilIfEmpty(body[13:])
		}
	case FrameData:
		if err = need(5, true); err == nil {
			f.Chan = be.Uint32(body)
			f.Payload = body[4:]
		}
	case FrameCredit:
		if err = need(8, false); err == nil {
			f.Chan = be.Uint32(body)
			f.Credit = be.Uint32(body[4:])
		}
	case FrameClose:
		if err = need(5, false); err == nil {
			f.Chan = be.Uint32(body)
			f.Reason = body[4]
		}
	case FrameLog:
		if err = need(8, true); err == nil {
			if len(body) > 8+MaxLogLine {
				err = malformed("LOG line of %d bytes exceeds %d", len(body)-8, MaxLogLine)
				break
			}
			f.Seq = be.Uint64(body)
			f.Payload = nilIfEmpty(body[8:])
		}
	case FrameTime:
		if err = need(8, false); err == nil {
			f.WallTimeUS = be.Uint64(body)
		}
	case FrameControl:
		if err = need(1, true); err != nil {
			break
		}
		f.Kind = body[0]
		switch f.Kind {
		case ControlPing, ControlPong:
			if err = need(9, false); err == nil {
				f.Token = be.Uint64(body[1:])
			}
		case ControlError, ControlUpdate:
			f.Payload = nilIfEmpty(body[1:])
		case ControlLogAck:
			if err = need(9, false); err == nil {
				f.Seq = be.Uint64(body[1:])
			}
		case ControlSync, ControlSynced:
			if err = need(17, false); err == nil {
				f.Seq = be.Uint64(body[1:])
				if f.Kind == ControlSync {
					f.NowUS = be.Uint64(body[9:])
				} else {
					f.NextUS = be.Uint64(body[9:])
				}
			}
		case ControlLogging:
			if err = need(2, false); err == nil {
				switch body[1] {
				case 0:
				case 1:
					f.Logging = true
				default:
					err = malformed("CONTROL LOGGING value %d, want 0 or 1", body[1])
				}
			}
		case ControlDiag:
			if err = need(5, true); err == nil {
				if len(body) > 5+MaxDiagLen {
					err = malformed("CONTROL DIAG text of %d bytes exceeds %d", len(body)-5, MaxDiagLen)
					break
				}
				f.Chan = be.Uint32(body[1:])
				f.Payload = nilIfEmpty(body[5:])
			}
		case ControlGoAway:
			if len(body) > 1+MaxDiagLen {
				err = malformed("CONTROL GOAWAY text of %d bytes exceeds %d", len(body)-1, MaxDiagLen)
				break
			}
			f.Payload = nilIfEmpty(body[1:])
		default:
			err = malformed("unknown CONTROL kind %d", f.Kind)
		}
	default:
		err = malformed("unknown frame type %d", b[0])
	}
	if err != nil {
		return Frame{}, err
	}
	return f, nil
}

// ReadFrame reads one frame, length prefix and all, from r. A length of 0 or
// over MaxFrameLen is ErrMalformed (and leaves r just after the prefix). At
// a clean end of input it returns io.EOF; inside a frame,
// io.ErrUnexpectedEOF. The returned slices are freshly allocated and do not
// alias r's buffer.
func ReadFrame(r *bufio.Reader) (Frame, error) {
	hdr, err := r.Peek(4)
	if err != nil {
		if err == io.EOF && len(hdr) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	n := binary.BigEndian.Uint32(hdr)
	_, _ = r.Discard(4)
	if n == 0 || n > MaxFrameLen {
		return Frame{}, malformed("frame length %d not in [1, %d]", n, MaxFrameLen)
	}
	if int(n) <= r.Size() {
		// Parse in r's buffer and copy out only the byte fields: no
		// allocation for a frame without payload (CREDIT, CLOSE, OPEN,
		// PING), one for the rest (issue 11, allocations per request).
		b, err := r.Peek(int(n))
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		f, err := ParseFrame(b)
		_, _ = r.Discard(int(n))
		f.Payload, f.Endpoint = bytes.Clone(f.Payload), bytes.Clone(f.Endpoint)
		return f, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return ParseFrame(b)
}
