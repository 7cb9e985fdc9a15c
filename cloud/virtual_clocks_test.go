package cloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// TestVirtualThenWallDevice: a device whose last HELLO did not say its
// time is virtual is on the wall clock again, though an earlier link of
// it was virtual: DeviceClock is Wall, a fault applied then ends by its
// For on the wall clock, and so does one applied while the device was
// virtual (neither would on the virtual clock, which nothing advances any
// more). A virtual HELLO after that makes a new clock.
func TestVirtualThenWallDevice(t *testing.T) {
	s := newServerWith(t, cloud.Options{})
	id := fakedev.ID(0x51)
	d := dialVirtual(t, s)
	d.Hello(id, 0)
	d.FirstSync(0)
	v, ok := s.DeviceClock(id).(*vclock.Virtual)
	if !ok {
		t.Fatal("the virtual device is not on its virtual clock")
	}
	ended := make(chan faults.Event, 2)
	cancel := s.Faults().Subscribe(func(e faults.Event) {
		if e.Phase == faults.Ended && e.Fault.Device == id {
			ended <- e
		}
	})
	defer cancel()
	early, err := s.Faults().Apply(id, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Millisecond), For: faults.Duration(10 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Conn.Close()

	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := fakedev.New(t, c)
	w.AnswerPings()
	w.Hello(id)
	if got := s.DeviceClock(id); got != vclock.Wall {
		t.Fatalf("after a HELLO without the virtual flag the device's clock is %T, want Wall", got)
	}
	late, err := s.Faults().Apply(id, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(time.Millisecond), For: faults.Duration(10 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{early.ID: "applied while virtual", late.ID: "applied on the wall clock"}
	for len(want) > 0 {
		select {
		case e := <-ended:
			if e.Why != "expired" {
				t.Fatalf("the fault %s ended %q, want expired", want[e.Fault.ID], e.Why)
			}
			delete(want, e.Fault.ID)
		case <-time.After(fakedev.Wait):
			t.Fatalf("faults with For on the wall device did not end: %v (on a clock nobody advances)", want)
		}
	}
	_ = c.Close()

	d = dialVirtual(t, s)
	d.Hello(id, 0)
	if nv := s.DeviceClock(id); nv == vclock.Clock(v) || nv == vclock.Wall {
		t.Fatalf("a virtual HELLO after the wall link: clock %T (old: %v), want a new virtual clock", nv, nv == vclock.Clock(v))
	}
}

// TestVirtualReboot: a device that boots again (its time restarts at 0)
// against the same cloud is rebased on its clock, which never goes back:
// its timers are set from its new time, not from where its previous boot
// left the clock. A latency of 2 s delays a PONG asked at the new boot's
// 0 s to its 2 s (the clock's 52 s); the WELCOME's wall time is the
// clock's.
func TestVirtualReboot(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	s := newServerWith(t, cloud.Options{Now: func() time.Time { return start }})
	id := fakedev.ID(0x52)
	d := dialVirtual(t, s)
	d.Hello(id, 0)
	d.FirstSync(0)
	d.SyncQuiet(50_000_000)
	_ = d.Conn.Close()

	d = dialVirtual(t, s) // the second boot
	welcome := d.Hello(id, 0)
	if want := start.Add(50 * time.Second).UnixMicro(); welcome.WallTimeUS != uint64(want) {
		t.Fatalf("WELCOME of the second boot: wall time %d, want the clock's, %d", welcome.WallTimeUS, want)
	}
	d.FirstSync(0)
	if err := s.Faults().SetLatency(id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: 7})
	if next := d.SyncQuiet(0); next != 2_000_000 {
		t.Fatalf("second boot, SYNCED at 0 s: next_us %d, want 2000000 (the PONG 2 s late on this boot's time)", next)
	}
	before, _ := d.Sync(2_000_000)
	if len(before) != 1 || before[0].Kind != link.ControlPong || before[0].Token != 7 {
		t.Fatalf("at 2 s: %s, want the PONG", fakedev.Frames(before))
	}
	if got := s.DeviceClock(id).Now(); !got.Equal(start.Add(52 * time.Second)) {
		t.Fatalf("the clock reads %v, want 52 s from its start", got.Sub(start))
	}
}

// TestVirtualObserveHolds: a virtual device's observation holds its clock
// until Options.Observe has returned from it, so what the observer does
// about it reaches the device before its time moves on: an observer that
// blocks on link-up until the device has sent its first SYNC (at 1 s), then
// announces an update, finds the clock still at the HELLO's time (held
// once the HELLO's own hold has gone), and the device gets the UPDATE
// before SYNCED.
func TestVirtualObserveHolds(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	id := fakedev.ID(0x53)
	gate := make(chan struct{})
	seen := make(chan time.Time, 1) // the device's clock when the observer acted
	var s *cloud.Server
	s = newServerWith(t, cloud.Options{Now: func() time.Time { return start }, Observe: func(o cloud.Observation) {
		if o.Kind != cloud.ObserveLinkUp || o.Device != id {
			return
		}
		<-gate
		seen <- s.DeviceClock(id).Now()
		if err := s.Faults().AnnounceUpdate(id, "from the observer"); err != nil {
			t.Errorf("AnnounceUpdate from Observe: %v", err)
		}
	}})
	d := dialVirtual(t, s)
	d.Hello(id, 0)
	if f := d.Next(); f.Type != link.FrameControl || f.Kind != link.ControlLogging {
		t.Fatalf("after WELCOME: %v %+v, want CONTROL LOGGING", f.Type, f)
	}
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: 1_000_000})
	// The HELLO's hold goes once LOGGING is queued; the observation's
	// stays while Observe runs.
	v := s.DeviceClock(id).(*vclock.Virtual)
	poll.Until(t, "the HELLO's hold released", func() bool { return v.Holds() <= 1 })
	if n := v.Holds(); n != 1 {
		t.Errorf("%d holds on the device's clock while Observe handles link-up, want 1", n)
	}
	close(gate)
	if at := <-seen; !at.Equal(start) {
		t.Errorf("the observer of link-up ran at the device's %v: the clock moved on while it was handling it", at.Sub(start))
	}
	var before []link.Frame
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlSynced {
			break
		}
		before = append(before, f)
	}
	update := false
	for _, f := range before {
		update = update || (f.Type == link.FrameControl && f.Kind == link.ControlUpdate)
	}
	if !update {
		t.Fatalf("before SYNCED: %s, want the observer's UPDATE", fakedev.Frames(before))
	}
}
