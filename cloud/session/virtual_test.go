package session_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// vt0 is the test clocks' start: the device's time 0.
var vt0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// vdev is a scripted device on a virtual clock: unlike fakedev.Device it
// keeps every frame from the cloud in one stream, in order, so a test can
// tell what came before a SYNCED.
type vdev struct {
	t      *testing.T
	conn   *link.Conn
	frames chan link.Frame
	seq    uint64
}

// vrun is a session under test on a virtual device clock.
type vrun struct {
	dev   *vdev
	sess  *session.Session
	clock *vclock.Virtual
	errc  chan error
}

// startVirtual runs a session with cfg whose device clock is a fresh
// virtual clock reading vt0; set, if not nil, is called on the session
// before it runs. The session is closed at the end of the test, which
// then checks that it left no hold on the clock.
func startVirtual(t *testing.T, cfg session.Config, set func(*session.Session)) *vrun {
	t.Helper()
	v := vclock.NewVirtual(vt0)
	cfg.VirtualClock = func(id string) (*vclock.Virtual, time.Time) { return v, vt0 }
	device, cloudEnd := link.Pipe()
	r := &vrun{sess: session.New(cloudEnd, cfg), clock: v, errc: make(chan error, 1)}
	if set != nil {
		set(r.sess)
	}
	d := &vdev{t: t, conn: link.NewConn(device), frames: make(chan link.Frame, 1024)}
	go func() {
		defer close(d.frames)
		for {
			f, err := d.conn.Recv()
			if err != nil {
				return
			}
			if f.Type == link.FrameControl && f.Kind == link.ControlPing {
				_ = d.conn.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
				continue
			}
			d.frames <- f
		}
	}()
	r.dev = d
	go func() { r.errc <- r.sess.Run(context.Background()) }()
	t.Cleanup(func() {
		r.sess.Close()
		r.wait(t)
		_ = d.conn.Close()
		if n := v.Holds(); n != 0 {
			t.Errorf("the session left %d holds on the device's clock", n)
		}
	})
	return r
}

// wait returns Run's result.
func (r *vrun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.errc <- err
		return err
	case <-time.After(fakedev.Wait):
		t.Fatal("session did not end")
	}
	return nil
}

func (d *vdev) send(f link.Frame) {
	d.t.Helper()
	if err := d.conn.Send(&f); err != nil {
		d.t.Fatalf("device: send %v: %v", f.Type, err)
	}
}

// next returns the next frame from the cloud (PINGs are answered, not
// returned).
func (d *vdev) next() link.Frame {
	d.t.Helper()
	select {
	case f, ok := <-d.frames:
		if !ok {
			d.t.Fatal("device: link ended while waiting for a frame")
		}
		return f
	case <-time.After(fakedev.Wait):
		d.t.Fatalf("device: no frame from the cloud within %v", fakedev.Wait)
	}
	panic("unreachable")
}

// hello says HELLO with the virtual-clock flag at the device's time nowUS
// and expects WELCOME.
func (d *vdev) hello(nowUS uint64) {
	d.t.Helper()
	d.send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1), Flags: link.HelloVirtualClock, NowUS: nowUS})
	if f := d.next(); f.Type != link.FrameWelcome {
		d.t.Fatalf("device: got %v %+v, want WELCOME", f.Type, f)
	}
}

// sync sends CONTROL SYNC at the device's time nowUS and returns the
// frames that came before its SYNCED, and SYNCED's next_us.
func (d *vdev) sync(nowUS uint64) (before []link.Frame, nextUS uint64) {
	d.t.Helper()
	d.seq++
	d.send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: d.seq, NowUS: nowUS})
	for {
		f := d.next()
		if f.Type == link.FrameControl && f.Kind == link.ControlSynced {
			if f.Seq != d.seq {
				d.t.Fatalf("device: SYNCED seq %d, want %d", f.Seq, d.seq)
			}
			return before, f.NextUS
		}
		before = append(before, f)
	}
}

// syncQuiet is sync, failing the test if any frame came before SYNCED.
func (d *vdev) syncQuiet(nowUS uint64) uint64 {
	d.t.Helper()
	before, next := d.sync(nowUS)
	if len(before) > 0 {
		d.t.Fatalf("device: unexpected frames before SYNCED: %s", frameList(before))
	}
	return next
}

// expectError expects CONTROL ERROR (after frames of other kinds that
// some may precede it) and returns its text.
func (d *vdev) expectError() string {
	d.t.Helper()
	for {
		f := d.next()
		if f.Type == link.FrameControl && f.Kind == link.ControlError {
			return string(f.Payload)
		}
		if f.Type != link.FrameControl || f.Kind != link.ControlLogging {
			d.t.Fatalf("device: got %v %+v, want CONTROL ERROR", f.Type, f)
		}
	}
}

// frameList describes frames for a failure message.
func frameList(fs []link.Frame) string {
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

// count counts the frames of type ft (and, for CONTROL, kind) in fs.
func count(fs []link.Frame, ft link.FrameType, kind uint8) int {
	n := 0
	for _, f := range fs {
		if f.Type == ft && (ft != link.FrameControl || f.Kind == kind) {
			n++
		}
	}
	return n
}

// TestVirtualHelloAndSync: HELLO sets the device's clock to its time, each
// SYNC advances it and SYNCED says when the clock's next timer is due, in
// µs rounded up; with no timer, NoDeadline. The first SYNCED comes after
// the device has been told whether logging is enabled.
func TestVirtualHelloAndSync(t *testing.T) {
	r := startVirtual(t, session.Config{}, nil)
	r.dev.hello(5000)
	if got := r.clock.Now().Sub(vt0); got != 5*time.Millisecond {
		t.Fatalf("after HELLO the clock reads %v, want 5ms", got)
	}
	before, next := r.dev.sync(5000)
	if len(before) != 1 || before[0].Kind != link.ControlLogging {
		t.Fatalf("before the first SYNCED: %s, want CONTROL LOGGING", frameList(before))
	}
	if next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d, want NoDeadline", next)
	}
	var fired atomic.Int64
	r.clock.AfterFunc(15*time.Millisecond+500, func() { fired.Store(int64(r.clock.Now().Sub(vt0))) })
	if next := r.dev.syncQuiet(10000); next != 20001 {
		t.Fatalf("SYNCED next_us %d, want 20001 (a timer at 20.0005 ms, rounded up)", next)
	}
	if fired.Load() != 0 || r.clock.Now().Sub(vt0) != 10*time.Millisecond {
		t.Fatalf("after SYNC at 10 ms: clock %v, timer fired at %v", r.clock.Now().Sub(vt0), time.Duration(fired.Load()))
	}
	if next := r.dev.syncQuiet(20001); next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d, want NoDeadline", next)
	}
	if got := time.Duration(fired.Load()); got != 20*time.Millisecond+500 {
		t.Fatalf("timer fired at %v, want 20.0005ms", got)
	}
}

// TestVirtualHelloAdvancesBeforeRegister: what falls due by HELLO's time
// (the end of a link-drop fault) happens before the device is admitted.
func TestVirtualHelloAdvancesBeforeRegister(t *testing.T) {
	var dropped atomic.Bool
	dropped.Store(true)
	var v *vclock.Virtual
	r := startVirtual(t, session.Config{Register: func(string, *session.Session) (func(), error) {
		if dropped.Load() {
			t.Error("Register before the link-drop's end at 1 s, with HELLO at 2 s")
		}
		return nil, nil
	}}, nil)
	v = r.clock
	v.AfterFunc(time.Second, func() { dropped.Store(false) })
	r.dev.hello(2_000_000)
	if got := v.Now().Sub(vt0); got != 2*time.Second {
		t.Fatalf("clock %v, want 2s", got)
	}
}

// TestSyncProtocolErrors: SYNC from a device whose HELLO did not say its
// clock is virtual, and SYNCED from any device, end the link with CONTROL
// ERROR naming the problem.
func TestSyncProtocolErrors(t *testing.T) {
	t.Run("SYNC on the wall clock", func(t *testing.T) {
		r := hello(t, session.Config{})
		r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: 0})
		wantProtocolError(t, r, "CONTROL SYNC from a device whose HELLO did not say its clock is virtual")
	})
	t.Run("SYNCED from the device", func(t *testing.T) {
		r := startVirtual(t, session.Config{}, nil)
		r.dev.hello(0)
		r.dev.send(link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: 1, NextUS: 0})
		if text := r.dev.expectError(); !strings.Contains(text, "kind 10 is the cloud's to send") {
			t.Fatalf("CONTROL ERROR %q", text)
		}
	})
	t.Run("SYNC out of range", func(t *testing.T) {
		r := startVirtual(t, session.Config{}, nil)
		r.dev.hello(0)
		r.dev.send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: link.NoDeadline})
		if text := r.dev.expectError(); !strings.Contains(text, "now_us") || !strings.Contains(text, "out of range") {
			t.Fatalf("CONTROL ERROR %q", text)
		}
	})
}
