package fakedev

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/link"
)

// Virtual is a scripted device on a virtual clock (link/doc.go, "Virtual
// time"): unlike Device it keeps every frame from the cloud in one
// stream, in order, so a test can tell what came before a SYNCED. It
// answers the cloud's PINGs itself.
type Virtual struct {
	t      testing.TB
	Conn   *link.Conn
	frames chan link.Frame
	err    error // why frames was closed; read after it is
	seq    uint64
}

// NewVirtual starts a Virtual on c (the device's end of a link). It closes
// the link when the test ends.
func NewVirtual(t testing.TB, c net.Conn) *Virtual {
	d := &Virtual{t: t, Conn: link.NewConn(c), frames: make(chan link.Frame, 1024)}
	go func() {
		defer close(d.frames)
		for {
			f, err := d.Conn.Recv()
			if err != nil {
				d.err = err
				return
			}
			if f.Type == link.FrameControl && f.Kind == link.ControlPing {
				_ = d.Conn.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
				continue
			}
			d.frames <- f
		}
	}()
	t.Cleanup(func() { _ = d.Conn.Close() })
	return d
}

// Send sends f.
func (d *Virtual) Send(f link.Frame) {
	d.t.Helper()
	send(d.t, d.Conn, &f)
}

// Next returns the next frame from the cloud, failing the test if none
// arrives within Wait or the link ends.
func (d *Virtual) Next() link.Frame {
	d.t.Helper()
	return next(d.t, d.frames, func() error { return d.err })
}

// SendHello says HELLO as device id with the virtual-clock flag at the
// device's time nowUS.
func (d *Virtual) SendHello(id string, nowUS uint64) {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: id, Flags: link.HelloVirtualClock, NowUS: nowUS})
}

// Hello is SendHello, then expects WELCOME and returns it.
func (d *Virtual) Hello(id string, nowUS uint64) link.Frame {
	d.t.Helper()
	d.SendHello(id, nowUS)
	f := d.Next()
	if f.Type != link.FrameWelcome {
		d.t.Fatalf("device: got %v %+v, want WELCOME", f.Type, f)
	}
	return f
}

// Sync sends CONTROL SYNC at the device's time nowUS and returns the
// frames that came before its SYNCED, and SYNCED's next_us.
func (d *Virtual) Sync(nowUS uint64) (before []link.Frame, nextUS uint64) {
	d.t.Helper()
	d.seq++
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: d.seq, NowUS: nowUS})
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlSynced {
			if f.Seq != d.seq {
				d.t.Fatalf("device: SYNCED seq %d, want %d", f.Seq, d.seq)
			}
			return before, f.NextUS
		}
		before = append(before, f)
	}
}

// FirstSync is Sync at nowUS right after HELLO: only CONTROL LOGGING may
// come before SYNCED.
func (d *Virtual) FirstSync(nowUS uint64) uint64 {
	d.t.Helper()
	before, next := d.Sync(nowUS)
	if len(before) != 1 || before[0].Type != link.FrameControl || before[0].Kind != link.ControlLogging {
		d.t.Fatalf("device: before the first SYNCED: %s, want CONTROL LOGGING", Frames(before))
	}
	return next
}

// SyncQuiet is Sync, failing the test if any frame came before SYNCED.
func (d *Virtual) SyncQuiet(nowUS uint64) uint64 {
	d.t.Helper()
	before, next := d.Sync(nowUS)
	if len(before) > 0 {
		d.t.Fatalf("device: unexpected frames before SYNCED: %s", Frames(before))
	}
	return next
}

// ExpectError expects CONTROL ERROR (after CONTROL LOGGING, if that comes
// first) and returns its text.
func (d *Virtual) ExpectError() string {
	d.t.Helper()
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlError {
			return string(f.Payload)
		}
		if f.Type != link.FrameControl || f.Kind != link.ControlLogging {
			d.t.Fatalf("device: got %v %+v, want CONTROL ERROR", f.Type, f)
		}
	}
}

// ExpectEnd expects the link to end with no further frame.
func (d *Virtual) ExpectEnd() {
	d.t.Helper()
	expectEnd(d.t, d.frames)
}

// Frames describes frames for a failure message.
func Frames(fs []link.Frame) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.Type.String())
		if f.Type == link.FrameControl {
			fmt.Fprintf(&b, " kind %d", f.Kind)
		}
	}
	return b.String()
}

// HTTPResponse decodes the HTTP response carried by the DATA frames on ch
// among fs.
func HTTPResponse(t testing.TB, fs []link.Frame, ch uint32) link.HTTPResponse {
	t.Helper()
	var buf []byte
	for _, f := range fs {
		if f.Type == link.FrameData && f.Chan == ch {
			buf = append(buf, f.Payload...)
		}
	}
	resp, n, err := link.ParseHTTPResponse(buf)
	if err != nil || n != len(buf) {
		t.Fatalf("response on %#x in %s: %v (%d of %d bytes)", ch, Frames(fs), err, n, len(buf))
	}
	return resp
}
