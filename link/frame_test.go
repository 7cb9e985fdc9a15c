package link

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

const testDeviceID = "UV11223344556677889900AABBCCDDEEFF"

// sampleFrames has one or more frames of every type.
var sampleFrames = []Frame{
	{Type: FrameHello, Version: Version, DeviceID: testDeviceID},
	{Type: FrameHello, Version: Version, DeviceID: testDeviceID, Flags: HelloVirtualClock, NowUS: 1_234_567},
	{Type: FrameControl, Kind: ControlSync, Seq: 3, NowUS: 10_000},
	{Type: FrameControl, Kind: ControlSynced, Seq: 3, NextUS: NoDeadline},
	{Type: FrameControl, Kind: ControlSynced, Seq: 1<<64 - 1, NextUS: 0},
	{Type: FrameWelcome, Version: Version, WallTimeUS: 1_790_000_000_123_456},
	{Type: FrameOpen, Chan: 0xDEADBEEF, ChanType: 2, RxSize: 4096, TxSize: 1024},
	{Type: FrameOpen, Chan: 7, ChanType: 1, RxSize: 512, TxSize: 512, Endpoint: []byte("mqtt")},
	{Type: FrameData, Chan: 7, Payload: []byte{0}},
	{Type: FrameData, Chan: 1, Payload: bytes.Repeat([]byte("x"), 5000)},
	{Type: FrameCredit, Chan: 7, Credit: 512},
	{Type: FrameClose, Chan: 7, Reason: 3},
	{Type: FrameLog, Seq: 42, Payload: []byte("hello log")},
	{Type: FrameLog, Seq: 1<<64 - 1},
	{Type: FrameTime, WallTimeUS: 1},
	{Type: FrameControl, Kind: ControlPing, Token: 0x0102030405060708},
	{Type: FrameControl, Kind: ControlPong, Token: 9},
	{Type: FrameControl, Kind: ControlError, Payload: []byte("bad version")},
	{Type: FrameControl, Kind: ControlUpdate, Payload: []byte("v2")},
	{Type: FrameControl, Kind: ControlUpdate},
	{Type: FrameControl, Kind: ControlError},
	{Type: FrameControl, Kind: ControlLogAck, Seq: 1<<64 - 2},
	{Type: FrameControl, Kind: ControlLogging, Logging: true},
	{Type: FrameControl, Kind: ControlLogging},
	{Type: FrameControl, Kind: ControlDiag, Chan: 0x2c41e0a7, Payload: []byte("connection refused")},
	{Type: FrameControl, Kind: ControlDiag, Chan: 3},
	{Type: FrameControl, Kind: ControlGoAway, Payload: []byte("node draining")},
	{Type: FrameControl, Kind: ControlGoAway},
	{Type: FrameControl, Kind: ControlGoAway, Payload: make([]byte, MaxDiagLen)},
	{Type: FrameLog, Seq: 7, Payload: make([]byte, MaxLogLine)},
}

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range sampleFrames {
		t.Run(f.Type.String(), func(t *testing.T) {
			b, err := AppendFrame([]byte("prefix"), &f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatal("AppendFrame did not append")
			}
			b = b[len("prefix"):]
			if n := binary.BigEndian.Uint32(b); int(n) != len(b)-4 {
				t.Fatalf("length prefix %d, frame is %d bytes", n, len(b)-4)
			}
			got, err := ParseFrame(b[4:])
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("ParseFrame = %+v, want %+v", got, f)
			}
			got, err = ReadFrame(bufio.NewReader(bytes.NewReader(b)))
			if err != nil || !reflect.DeepEqual(got, f) {
				t.Fatalf("ReadFrame = %+v, %v; want %+v", got, err, f)
			}
		})
	}
}

func TestFrameWireBytes(t *testing.T) {
	// Pin the layout of one frame of each kind of field.
	tests := []struct {
		f    Frame
		want []byte
	}{
		{Frame{Type: FrameCredit, Chan: 0x01020304, Credit: 0x0A0B0C0D},
			[]byte{0, 0, 0, 9, 5, 1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D}},
		{Frame{Type: FrameOpen, Chan: 1, ChanType: 2, RxSize: 0x200, TxSize: 0x400, Endpoint: []byte("e")},
			[]byte{0, 0, 0, 15, 3, 0, 0, 0, 1, 2, 0, 0, 2, 0, 0, 0, 4, 0, 'e'}},
		{Frame{Type: FrameWelcome, Version: 1, WallTimeUS: 0x0102},
			[]byte{0, 0, 0, 11, 2, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2}},
		{Frame{Type: FrameControl, Kind: ControlError, Payload: []byte("no")},
			[]byte{0, 0, 0, 4, 9, 3, 'n', 'o'}},
		{Frame{Type: FrameControl, Kind: ControlGoAway, Payload: []byte("bye")},
			[]byte{0, 0, 0, 5, 9, 8, 'b', 'y', 'e'}},
		{Frame{Type: FrameControl, Kind: ControlSync, Seq: 0x0102, NowUS: 0x0A0B},
			[]byte{0, 0, 0, 18, 9, 9, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0x0A, 0x0B}},
		{Frame{Type: FrameControl, Kind: ControlSynced, Seq: 1, NextUS: NoDeadline},
			[]byte{0, 0, 0, 18, 9, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
	}
	for _, tt := range tests {
		got, err := AppendFrame(nil, &tt.f)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("AppendFrame(%v) = %v, %v; want %v", tt.f.Type, got, err, tt.want)
		}
	}
}

func TestAppendFrameRejects(t *testing.T) {
	tests := []struct {
		name string
		f    Frame
	}{
		{"type 0", Frame{}},
		{"type 10", Frame{Type: 10}},
		{"HELLO unknown flag", Frame{Type: FrameHello, DeviceID: testDeviceID, Flags: 2}},
		{"DATA empty", Frame{Type: FrameData, Chan: 1}},
		{"HELLO short ID", Frame{Type: FrameHello, DeviceID: "UV1234"}},
		{"HELLO long ID", Frame{Type: FrameHello, DeviceID: testDeviceID + "0"}},
		{"CONTROL kind 0", Frame{Type: FrameControl}},
		{"CONTROL kind 11", Frame{Type: FrameControl, Kind: 11}},
		{"GOAWAY over MaxDiagLen", Frame{Type: FrameControl, Kind: ControlGoAway, Payload: make([]byte, MaxDiagLen+1)}},
		{"LOG over MaxLogLine", Frame{Type: FrameLog, Payload: make([]byte, MaxLogLine+1)}},
		{"DIAG over MaxDiagLen", Frame{Type: FrameControl, Kind: ControlDiag, Payload: make([]byte, MaxDiagLen+1)}},
		{"DATA too long", Frame{Type: FrameData, Payload: make([]byte, MaxFrameLen-4)}},
		{"OPEN too long", Frame{Type: FrameOpen, Endpoint: make([]byte, MaxFrameLen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendFrame([]byte{1}, &tt.f)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("AppendFrame: %v, want ErrMalformed", err)
			}
			if !bytes.Equal(b, []byte{1}) {
				t.Fatalf("AppendFrame appended %d bytes on error", len(b)-1)
			}
		})
	}
	// The largest DATA frame fits exactly.
	if _, err := AppendFrame(nil, &Frame{Type: FrameData, Payload: make([]byte, MaxFrameLen-5)}); err != nil {
		t.Fatalf("largest DATA frame: %v", err)
	}
}

func TestParseFrameRejects(t *testing.T) {
	id := []byte(testDeviceID)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"type 0", []byte{0}},
		{"type 10", []byte{10, 0, 0, 0, 0}},
		{"type 255", []byte{255}},
		{"HELLO short", append([]byte{1, 0, 1}, id[:33]...)},
		{"HELLO long", append(append([]byte{1, 0, 1}, id...), 0)},
		{"WELCOME short", []byte{2, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"WELCOME long", []byte{2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"OPEN short", []byte{3, 0, 0, 0, 1, 2, 0, 0, 2, 0, 0, 0, 4}},
		{"DATA no payload", []byte{4, 0, 0, 0, 1}},
		{"DATA short", []byte{4, 0, 0}},
		{"CREDIT short", []byte{5, 0, 0, 0, 1, 0, 0, 2}},
		{"CREDIT long", []byte{5, 0, 0, 0, 1, 0, 0, 2, 0, 0}},
		{"CLOSE short", []byte{6, 0, 0, 0, 1}},
		{"CLOSE long", []byte{6, 0, 0, 0, 1, 1, 1}},
		{"LOG short", []byte{7, 0, 0, 0, 0, 0, 0, 0}},
		{"TIME short", []byte{8, 0, 0, 0}},
		{"TIME long", []byte{8, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"CONTROL empty", []byte{9}},
		{"CONTROL kind 0", []byte{9, 0}},
		{"CONTROL kind 11", []byte{9, 11, 'x'}},
		{"HELLO with flags 0", append(append([]byte{1, 0, 6}, id...), 0, 0, 0, 0, 0, 0, 0, 0, 1)},
		{"HELLO unknown flag", append(append([]byte{1, 0, 6}, id...), 2, 0, 0, 0, 0, 0, 0, 0, 1)},
		{"HELLO flags without now", append(append([]byte{1, 0, 6}, id...), 1)},
		{"SYNC short", []byte{9, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"SYNCED long", []byte{9, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"GOAWAY over MaxDiagLen", append([]byte{9, 8}, make([]byte, MaxDiagLen+1)...)},
		{"LOG over MaxLogLine", append([]byte{7, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, MaxLogLine+1)...)},
		{"LOG of 70 KiB", append([]byte{7, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, 70<<10)...)},
		{"DIAG short", []byte{9, 7, 0, 0, 1}},
		{"DIAG over MaxDiagLen", append([]byte{9, 7, 0, 0, 0, 1}, make([]byte, MaxDiagLen+1)...)},
		{"LOGACK short", []byte{9, 5, 0, 0, 0, 0, 0, 0, 0}},
		{"LOGACK long", []byte{9, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"LOGGING empty", []byte{9, 6}},
		{"LOGGING long", []byte{9, 6, 1, 0}},
		{"LOGGING 2", []byte{9, 6, 2}},
		{"PING short", []byte{9, 1, 0, 0, 0, 0, 0, 0, 0}},
		{"PONG long", []byte{9, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"oversize", append([]byte{4, 0, 0, 0, 1}, make([]byte, MaxFrameLen)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if f, err := ParseFrame(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseFrame = %+v, %v; want ErrMalformed", f, err)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	var stream []byte
	for _, f := range sampleFrames {
		stream, _ = AppendFrame(stream, &f)
	}
	r := bufio.NewReaderSize(bytes.NewReader(stream), 16)
	for i, want := range sampleFrames {
		got, err := ReadFrame(r)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: %+v, %v; want %+v", i, got, err, want)
		}
	}
	if _, err := ReadFrame(r); err != io.EOF {
		t.Fatalf("at end: %v, want io.EOF", err)
	}

	// Returned slices do not alias the reader's buffer.
	b, _ := AppendFrame(nil, &Frame{Type: FrameData, Chan: 1, Payload: []byte("abc")})
	b, _ = AppendFrame(b, &Frame{Type: FrameData, Chan: 1, Payload: []byte("xyz")})
	r = bufio.NewReader(bytes.NewReader(b))
	f1, _ := ReadFrame(r)
	if _, err := ReadFrame(r); err != nil {
		t.Fatal(err)
	}
	if string(f1.Payload) != "abc" {
		t.Fatalf("first payload changed to %q after the next read", f1.Payload)
	}

	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"length 0", []byte{0, 0, 0, 0, 4}, ErrMalformed},
		{"length too big", []byte{0, 0x10, 0, 1, 4}, ErrMalformed},
		{"length huge", []byte{0xFF, 0xFF, 0xFF, 0xFF}, ErrMalformed},
		{"truncated prefix", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated body", []byte{0, 0, 0, 9, 5, 0, 0}, io.ErrUnexpectedEOF},
		{"prefix only", []byte{0, 0, 0, 9}, io.ErrUnexpectedEOF},
		{"bad body", []byte{0, 0, 0, 2, 4, 0}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFrame(bufio.NewReader(bytes.NewReader(tt.b)))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ReadFrame: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestFrameTypeString(t *testing.T) {
	if s := FrameData.String(); s != "DATA" {
		t.Errorf("FrameData.String() = %q", s)
	}
	if s := FrameType(77).String(); !strings.Contains(s, "77") {
		t.Errorf("FrameType(77).String() = %q", s)
	}
}

// FuzzParseFrame checks that ParseFrame never panics and that any frame it
// accepts re-encodes to the same bytes, which parse to an equal frame.
func FuzzParseFrame(f *testing.F) {
	for _, fr := range sampleFrames {
		if len(fr.Payload) > 100 {
			continue
		}
		b, _ := AppendFrame(nil, &fr)
		f.Add(b[4:])
	}
	f.Add([]byte{})
	f.Add([]byte{9, 4})
	f.Add([]byte{4, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		enc, err := AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("parsed frame %+v does not encode: %v", fr, err)
		}
		if !bytes.Equal(enc[4:], b) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc[4:], b)
		}
		fr2, err := ReadFrame(bufio.NewReader(bytes.NewReader(enc)))
		if err != nil {
			t.Fatalf("re-encoded frame does not parse: %v", err)
		}
		if !reflect.DeepEqual(fr, fr2) {
			t.Fatalf("round trip: %+v != %+v", fr, fr2)
		}
	})
}

// TestReadFrameAllocs: a frame without payload is read without allocating
// (issue 11, allocations per relayed request); a DATA frame's payload is
// its own copy.
func TestReadFrameAllocs(t *testing.T) {
	credit, err := AppendFrame(nil, &Frame{Type: FrameCredit, Chan: 7, Credit: 512})
	if err != nil {
		t.Fatal(err)
	}
	data, err := AppendFrame(nil, &Frame{Type: FrameData, Chan: 7, Payload: []byte("hello")})
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(bytes.NewReader(nil), 512)
	src := bytes.NewReader(nil)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(credit)
		r.Reset(src)
		if f, err := ReadFrame(r); err != nil || f.Credit != 512 {
			t.Fatal(f, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per CREDIT frame read, want 0", allocs)
	}
	src.Reset(append(append([]byte(nil), data...), data...))
	r.Reset(src)
	f1, err1 := ReadFrame(r)
	f2, err2 := ReadFrame(r)
	if err1 != nil || err2 != nil || string(f1.Payload) != "hello" || string(f2.Payload) != "hello" {
		t.Fatal(f1, err1, f2, err2)
	}
	f1.Payload[0] = 'j'
	if string(f2.Payload) != "hello" {
		t.Fatal("two frames' payloads share memory")
	}
}
