package faults_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/internal/vclock"
)

// epoch is where the tests' virtual clocks start: far from the wall
// clock, so a time taken from the wall clock cannot pass for a virtual one.
var epoch = time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)

// virtualSetup is liveSetup with dev on a virtual clock (other stays on
// the wall clock).
func virtualSetup(t *testing.T) (*faults.Injector, *vclock.Virtual, *liveLink) {
	t.Helper()
	i, a, _ := liveSetup()
	v := vclock.NewVirtual(epoch)
	i.SetClocks(func(id string) vclock.Clock {
		if id == devCanon {
			return v
		}
		return vclock.Wall
	})
	t.Cleanup(i.Close)
	return i, v, a
}

// devCanon is dev as SetClocks's function receives it.
var devCanon = devid.Canon(dev)

// advance moves v to epoch+at (the test's own goroutine advances it).
func advance(t *testing.T, v *vclock.Virtual, at time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := v.AdvanceTo(ctx, epoch.Add(at)); err != nil {
		t.Fatalf("AdvanceTo %v: %v", at, err)
	}
}

// events records an Injector's events.
type events struct {
	mu   sync.Mutex
	list []faults.Event
}

func record(i *faults.Injector) *events {
	e := &events{}
	i.Subscribe(func(ev faults.Event) {
		e.mu.Lock()
		e.list = append(e.list, ev)
		e.mu.Unlock()
	})
	return e
}

func (e *events) get() []faults.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]faults.Event(nil), e.list...)
}

// A fault's For runs on the device's clock: applied at virtual 0 with For
// 5 s, it is in force at 4.999 s and ends ("expired") at exactly 5 s,
// whatever the wall clock did; its times are the device's.
func TestVirtualForExpiry(t *testing.T) {
	i, v, _ := virtualSetup(t)
	ev := record(i)
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second), For: faults.Duration(5 * time.Second)})
	if !f.Applied.Equal(epoch) || !f.Ends.Equal(epoch.Add(5*time.Second)) {
		t.Fatalf("Applied %v Ends %v, want the virtual %v and %v", f.Applied, f.Ends, epoch, epoch.Add(5*time.Second))
	}
	advance(t, v, 5*time.Second-time.Millisecond)
	if got := i.List(dev); len(got) != 1 || i.Latency(dev) != time.Second {
		t.Fatalf("at virtual 4.999 s: in force %v, latency %v; want the fault, 1s", got, i.Latency(dev))
	}
	advance(t, v, 5*time.Second)
	if got := i.List(dev); len(got) != 0 || i.Latency(dev) != 0 {
		t.Fatalf("at virtual 5 s: in force %v, latency %v; want none", got, i.Latency(dev))
	}
	got := ev.get()
	if len(got) != 2 || got[0].Phase != faults.Started || got[1].Phase != faults.Ended || got[1].Why != "expired" {
		t.Fatalf("events %+v, want start then end expired", got)
	}
	if !got[0].Time.Equal(epoch) || !got[1].Time.Equal(epoch.Add(5*time.Second)) {
		t.Fatalf("event times %v, %v; want the virtual %v, %v", got[0].Time, got[1].Time, epoch, epoch.Add(5*time.Second))
	}
	if _, ok := v.Next(); ok {
		t.Fatal("a timer is left on the clock after the fault ended")
	}
}

// A fault cleared before its For leaves no timer on the device's clock
// (a virtual device would otherwise sync for nothing), and its end is at
// the device's time.
func TestVirtualClearStopsTimer(t *testing.T) {
	i, v, _ := virtualSetup(t)
	ev := record(i)
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second), For: faults.Duration(5 * time.Second)})
	advance(t, v, 2*time.Second)
	if err := i.Clear(dev, f.ID); err != nil {
		t.Fatal(err)
	}
	if at, ok := v.Next(); ok {
		t.Fatalf("timer left at %v after Clear", at)
	}
	got := ev.get()
	if len(got) != 2 || got[1].Why != "cleared" || !got[1].Time.Equal(epoch.Add(2*time.Second)) {
		t.Fatalf("events %+v, want end cleared at virtual 2 s", got)
	}
}

// A device without a virtual clock keeps the wall clock while another
// has one.
func TestVirtualOtherDeviceWall(t *testing.T) {
	i, _, _ := virtualSetup(t)
	before := time.Now()
	f := mustApply(t, i, other, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second)})
	if f.Applied.Before(before) {
		t.Fatalf("other's fault applied at %v, before the wall time %v", f.Applied, before)
	}
}

// A link-flap's transitions happen at their exact instants on the
// device's clock, period after period: with Period 1 s and Duty 0.25 the
// link is down (Drop called) at n s and up at n+0.25 s, and the clock's
// next timer is always the next transition.
func TestVirtualFlapInstants(t *testing.T) {
	i, v, l := virtualSetup(t)
	const period, downFor = time.Second, time.Second / 4
	mustApply(t, i, dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(period), Duty: 0.25})
	check := func(at time.Duration, down bool, drops int, next time.Duration) {
		t.Helper()
		advance(t, v, at)
		got, _, _ := l.counts()
		if i.LinkDropped(dev) != down || got != drops {
			t.Fatalf("at virtual %v: LinkDropped %v, %d drops; want %v, %d", at, i.LinkDropped(dev), got, down, drops)
		}
		if n, ok := v.Next(); !ok || !n.Equal(epoch.Add(next)) {
			t.Fatalf("at virtual %v: next timer %v (%v), want %v", at, n.Sub(epoch), ok, next)
		}
	}
	check(0, true, 1, downFor)
	for n := range 3 {
		begin := time.Duration(n) * period
		check(begin+downFor-time.Nanosecond, true, n+1, begin+downFor)
		check(begin+downFor, false, n+1, begin+period)
		check(begin+period-time.Nanosecond, false, n+1, begin+period)
		check(begin+period, true, n+2, begin+period+downFor)
	}
	if drops, _, _ := l.counts(); drops != 4 {
		t.Fatalf("%d drops, want 4", drops)
	}
	// Jumping several periods at once runs each transition in turn.
	advance(t, v, 6*period+downFor/2)
	if drops, _, _ := l.counts(); drops != 7 || !i.LinkDropped(dev) {
		t.Fatalf("after a jump to 6.125 s: %d drops, down %v; want 7, true", drops, i.LinkDropped(dev))
	}
	if _, err := i.ClearAll(dev); err != nil {
		t.Fatal(err)
	}
	if at, ok := v.Next(); ok {
		t.Fatalf("timer left at %v after the flap was cleared", at.Sub(epoch))
	}
}

// A cloud-restart refuses the device's link until its Down has passed on
// the device's clock, and then ends ("done") at that instant.
func TestVirtualRestartDown(t *testing.T) {
	i, v, l := virtualSetup(t)
	ev := record(i)
	mustApply(t, i, dev, faults.Spec{Kind: faults.CloudRestart, Down: faults.Duration(3 * time.Second)})
	if drops, _, _ := l.counts(); drops != 1 || !i.LinkDropped(dev) {
		t.Fatalf("after Apply: %d drops, refused %v; want 1, true", drops, i.LinkDropped(dev))
	}
	advance(t, v, 3*time.Second-time.Nanosecond)
	if !i.LinkDropped(dev) {
		t.Fatal("link accepted before the virtual down time")
	}
	advance(t, v, 3*time.Second)
	if i.LinkDropped(dev) {
		t.Fatal("link still refused at the virtual down time")
	}
	got := ev.get()
	if len(got) != 2 || got[1].Why != "done" || !got[1].Time.Equal(epoch.Add(3*time.Second)) {
		t.Fatalf("events %+v, want end done at virtual 3 s", got)
	}
}

// A fault's times count from its Applied even if the device's clock moves
// on while it starts (a sync while a fault is applied from outside): the
// flap's periods and the For expiry keep to Applied, and Ends is when it
// expires.
func TestVirtualTimesFromApplied(t *testing.T) {
	i, v, _ := virtualSetup(t)
	ev := record(i)
	moved := false
	faults.SetFlapHook(func(_ faults.Fault, n int, _ bool) {
		if n == 0 && !moved { // the fault is recorded, its timers not yet set
			moved = true
			advance(t, v, 100*time.Millisecond)
		}
	})
	defer faults.SetFlapHook(nil)
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Second), For: faults.Duration(3 * time.Second)})
	if !moved || !f.Applied.Equal(epoch) {
		t.Fatalf("moved %v, Applied %v; want the clock moved after Applied at %v", moved, f.Applied.Sub(epoch), epoch)
	}
	if n, _ := v.Next(); !n.Equal(epoch.Add(500 * time.Millisecond)) {
		t.Fatalf("first transition at %v, want 500ms after Applied", n.Sub(epoch))
	}
	advance(t, v, 3*time.Second)
	got := ev.get()
	if len(got) != 2 || got[1].Why != "expired" || !got[1].Time.Equal(f.Ends) || !f.Ends.Equal(epoch.Add(3*time.Second)) {
		t.Fatalf("events %+v, want the end expired at Ends = 3s", got)
	}
}
