// Package fakedev is a scripted device for the cloud's tests: it speaks the
// link protocol frame by frame, so tests can drive a session exactly (HELLO,
// OPEN, DATA, CREDIT …) and check every frame the cloud sends back.
package fakedev

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/link"
)

// Wait bounds every wait for a frame from the cloud.
const Wait = 10 * time.Second

// Device is the device end of one link.
type Device struct {
	t      testing.TB
	conn   *link.Conn
	frames chan link.Frame
	logs   chan link.Frame // CONTROL LOGGING and LOGACK, kept apart from frames
	diags  chan link.Frame // CONTROL DIAG, kept apart from frames
	err    error           // why frames was closed; read after it is
	token  uint64
	pong   atomic.Bool // AnswerPings was called
}

// AnswerPings makes the device answer the cloud's keep-alive PINGs itself,
// as a real device does; Next no longer returns them.
func (d *Device) AnswerPings() { d.pong.Store(true) }

// New starts a Device on c (the device's end of a link). It closes the link
// when the test ends.
func New(t testing.TB, c net.Conn) *Device {
	d := &Device{t: t, conn: link.NewConn(c), frames: make(chan link.Frame, 1024), logs: make(chan link.Frame, 1024), diags: make(chan link.Frame, 1024)}
	go func() {
		for {
			f, err := d.conn.Recv()
			if err != nil {
				d.err = err
				close(d.frames)
				close(d.logs)
				close(d.diags)
				return
			}
			if f.Type == link.FrameControl && f.Kind == link.ControlDiag {
				// Diagnostics precede the response they explain; tests of
				// responses ignore them, tests of reasons use NextDiag.
				d.diags <- f
				continue
			}
			if f.Type == link.FrameControl && f.Kind == link.ControlPing && d.pong.Load() {
				_ = d.conn.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
				continue
			}
			if f.Type == link.FrameControl && (f.Kind == link.ControlLogging || f.Kind == link.ControlLogAck) {
				// Server logging's frames come whenever the session's log
				// goroutine sends them; tests of other frames ignore them.
				d.logs <- f
				continue
			}
			d.frames <- f
		}
	}()
	t.Cleanup(func() { _ = d.conn.Close() })
	return d
}

// NextDiag returns the next CONTROL DIAG frame from the cloud (Next never
// returns those).
func (d *Device) NextDiag() link.Frame {
	d.t.Helper()
	select {
	case f, ok := <-d.diags:
		if !ok {
			d.t.Fatalf("device: link ended while waiting for a diagnostic: %v", d.err)
		}
		return f
	case <-time.After(Wait):
		d.t.Fatalf("device: no diagnostic from the cloud within %v", Wait)
	}
	panic("unreachable")
}

// ID is a valid device ID for tests, numbered by n.
func ID(n int) string {
	return fmt.Sprintf("UV%032x", n)
}

// Send sends f.
func (d *Device) Send(f link.Frame) {
	d.t.Helper()
	send(d.t, d.conn, &f)
}

func send(t testing.TB, c *link.Conn, f *link.Frame) {
	t.Helper()
	if err := c.Send(f); err != nil {
		t.Fatalf("device: send %v: %v", f.Type, err)
	}
}

// Next returns the next frame from the cloud, failing the test if none
// arrives within Wait or the link ends.
func (d *Device) Next() link.Frame {
	d.t.Helper()
	return next(d.t, d.frames, func() error { return d.err })
}

// next returns the next frame from frames, failing t if none arrives
// within Wait or frames is closed (the link ended: why() says why).
func next(t testing.TB, frames <-chan link.Frame, why func() error) link.Frame {
	t.Helper()
	select {
	case f, ok := <-frames:
		if !ok {
			t.Fatalf("device: link ended while waiting for a frame: %v", why())
		}
		return f
	case <-time.After(Wait):
		t.Fatalf("device: no frame from the cloud within %v", Wait)
	}
	panic("unreachable")
}

// NextLog returns the next CONTROL LOGGING or LOGACK frame from the cloud
// (Next never returns those).
func (d *Device) NextLog() link.Frame {
	d.t.Helper()
	select {
	case f, ok := <-d.logs:
		if !ok {
			d.t.Fatalf("device: link ended while waiting for a log frame: %v", d.err)
		}
		return f
	case <-time.After(Wait):
		d.t.Fatalf("device: no log frame from the cloud within %v", Wait)
	}
	panic("unreachable")
}

// Expect returns the next frame, failing the test unless it has type t.
func (d *Device) Expect(t link.FrameType) link.Frame {
	d.t.Helper()
	f := d.Next()
	if f.Type != t {
		d.t.Fatalf("device: got %v %+v, want %v", f.Type, f, t)
	}
	return f
}

// Hello sends HELLO for id and expects WELCOME.
func (d *Device) Hello(id string) link.Frame {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: id})
	f := d.Expect(link.FrameWelcome)
	if f.Version != link.Version {
		d.t.Fatalf("device: WELCOME version %d", f.Version)
	}
	return f
}

// Open sends OPEN.
func (d *Device) Open(ch uint32, typ uint8, rx, tx uint32) {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameOpen, Chan: ch, ChanType: typ, RxSize: rx, TxSize: tx})
}

// Data sends DATA.
func (d *Device) Data(ch uint32, p []byte) {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameData, Chan: ch, Payload: p})
}

// Credit sends CREDIT.
func (d *Device) Credit(ch uint32, n uint32) {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameCredit, Chan: ch, Credit: n})
}

// Close sends CLOSE.
func (d *Device) Close(ch uint32, reason uint8) {
	d.t.Helper()
	d.Send(link.Frame{Type: link.FrameClose, Chan: ch, Reason: reason})
}

// Sync sends PING and returns the frames that arrive before its PONG. The
// cloud handles frames in order, so everything it did in answer to earlier
// frames is in the result: a barrier, instead of sleeping and hoping.
func (d *Device) Sync() []link.Frame {
	d.t.Helper()
	d.token++
	tok := d.token
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: tok})
	var got []link.Frame
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlPong && f.Token == tok {
			return got
		}
		got = append(got, f)
	}
}

// SyncQuiet is Sync, failing the test if any frame arrived before the PONG.
func (d *Device) SyncQuiet() {
	d.t.Helper()
	if got := d.Sync(); len(got) > 0 {
		d.t.Fatalf("device: unexpected frames from the cloud: %+v", got)
	}
}

// ExpectError expects CONTROL ERROR and then the end of the link, and
// returns the error's text.
func (d *Device) ExpectError() string {
	d.t.Helper()
	f := d.Expect(link.FrameControl)
	if f.Kind != link.ControlError {
		d.t.Fatalf("device: got CONTROL kind %d, want ERROR", f.Kind)
	}
	d.ExpectEnd()
	return string(f.Payload)
}

// ExpectEnd expects the link to end with no further frame.
func (d *Device) ExpectEnd() {
	d.t.Helper()
	expectEnd(d.t, d.frames)
}

func expectEnd(t testing.TB, frames <-chan link.Frame) {
	t.Helper()
	select {
	case f, ok := <-frames:
		if ok {
			t.Fatalf("device: got %v %+v, want the link to end", f.Type, f)
		}
	case <-time.After(Wait):
		t.Fatalf("device: link still up after %v", Wait)
	}
}

// Ended reports whether the link has ended (without waiting), failing the
// test if a frame is pending.
func (d *Device) Ended() bool {
	select {
	case f, ok := <-d.frames:
		if ok {
			d.t.Fatalf("device: got %v %+v, want the link to end", f.Type, f)
		}
		return true
	default:
		return false
	}
}

// SendHTTP encodes req and sends it on ch in DATA frames of at most chunk
// bytes.
func (d *Device) SendHTTP(ch uint32, req *link.HTTPRequest, chunk int) int {
	d.t.Helper()
	b := link.AppendHTTPRequest(nil, req)
	for off := 0; off < len(b); off += chunk {
		d.Data(ch, b[off:min(off+chunk, len(b))])
	}
	return len(b)
}

// ReadHTTP collects DATA on ch until a whole HTTP response has arrived,
// checking it stays within rx bytes (the credit the device gave at OPEN),
// and returns it with the number of DATA frames it came in. Other frames
// fail the test.
func (d *Device) ReadHTTP(ch uint32, rx int) (link.HTTPResponse, int) {
	d.t.Helper()
	var buf []byte
	frames := 0
	for {
		f := d.Next()
		if f.Type != link.FrameData || f.Chan != ch {
			d.t.Fatalf("device: got %v %+v while reading the response on %#x", f.Type, f, ch)
		}
		frames++
		if len(f.Payload) > 16<<10 {
			d.t.Fatalf("device: DATA frame of %d bytes, over 16 KiB", len(f.Payload))
		}
		buf = append(buf, f.Payload...)
		if len(buf) > rx {
			d.t.Fatalf("device: %d bytes of DATA beyond the %d bytes of credit", len(buf), rx)
		}
		resp, n, err := link.ParseHTTPResponse(buf)
		if errors.Is(err, link.ErrShort) {
			continue
		}
		if err != nil || n != len(buf) {
			d.t.Fatalf("device: response: %v (%d of %d bytes)", err, n, len(buf))
		}
		return resp, frames
	}
}
