package faults_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/vclock"
)

// reclockSetup gives dev the clock *cur (the test switches it), other the
// wall clock.
func reclockSetup(t *testing.T, v *vclock.Virtual) (*faults.Injector, *atomic.Pointer[vclock.Virtual]) {
	t.Helper()
	i, _, _ := liveSetup()
	var cur atomic.Pointer[vclock.Virtual]
	cur.Store(v)
	i.SetClocks(func(id string) vclock.Clock {
		if id == devCanon {
			return cur.Load()
		}
		return vclock.Wall
	})
	t.Cleanup(i.Close)
	return i, &cur
}

// TestReclock: when the device's clock changes, Reclock moves its faults'
// timers to the new clock, each with the time it had left: a latency For
// 5 s and a cloud-restart down 3 s applied at 0 on the old clock, moved
// at its 1 s, end at the new clock's 4 s and 2 s from the move. Before the
// move they are timed on the old clock, which nobody advances after it.
func TestReclock(t *testing.T) {
	v := vclock.NewVirtual(epoch)
	i, cur := reclockSetup(t, v)
	ev := record(i)
	mustApply(t, i, dev, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second), For: faults.Duration(5 * time.Second)})
	mustApply(t, i, dev, faults.Spec{Kind: faults.CloudRestart, Down: faults.Duration(3 * time.Second)})
	advance(t, v, time.Second)

	w0 := epoch.Add(time.Hour)
	w := vclock.NewVirtual(w0)
	cur.Store(w)
	i.Reclock(dev)
	at := func(d time.Duration) {
		t.Helper()
		if err := w.AdvanceTo(t.Context(), w0.Add(d)); err != nil {
			t.Fatal(err)
		}
	}
	at(2*time.Second - time.Nanosecond)
	if !i.LinkDropped(dev) || i.Latency(dev) != time.Second {
		t.Fatalf("just before 2 s on the new clock: dropped %v, latency %v; want both in force", i.LinkDropped(dev), i.Latency(dev))
	}
	at(2 * time.Second)
	if i.LinkDropped(dev) {
		t.Fatal("cloud-restart's down time (3 s, 1 s of it on the old clock) not over at the new clock's 2 s")
	}
	at(4*time.Second - time.Nanosecond)
	if i.Latency(dev) != time.Second {
		t.Fatal("the latency ended before the new clock's 4 s")
	}
	at(4 * time.Second)
	if got := i.List(dev); len(got) != 0 {
		t.Fatalf("faults in force at the new clock's 4 s: %+v, want none (For 5 s, 1 s of it on the old clock)", got)
	}
	var ends []time.Time
	for _, e := range ev.get() {
		if e.Phase == faults.Ended {
			ends = append(ends, e.Time)
		}
	}
	if len(ends) != 2 || !ends[0].Equal(w0.Add(2*time.Second)) || !ends[1].Equal(w0.Add(4*time.Second)) {
		t.Fatalf("Ended at %v, want the new clock's 2 s and 4 s", ends)
	}
}

// TestReclockFlap: a link-flap keeps its place in its period when its
// device's clock changes: period 2 s, down the first half; moved at 1.5 s
// of the old clock (up), it goes down at the new clock's 0.5 s and up again
// at 1.5 s.
func TestReclockFlap(t *testing.T) {
	v := vclock.NewVirtual(epoch)
	i, cur := reclockSetup(t, v)
	mustApply(t, i, dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(2 * time.Second), Duty: 0.5})
	advance(t, v, 1500*time.Millisecond)
	if i.LinkDropped(dev) {
		t.Fatal("the flap is down at 1.5 s, want up")
	}
	w0 := epoch.Add(time.Hour)
	w := vclock.NewVirtual(w0)
	cur.Store(w)
	i.Reclock(dev)
	for _, step := range []struct {
		at   time.Duration
		down bool
	}{
		{500*time.Millisecond - time.Nanosecond, false},
		{500 * time.Millisecond, true},
		{1500*time.Millisecond - time.Nanosecond, true},
		{1500 * time.Millisecond, false},
		{2500 * time.Millisecond, true},
	} {
		if err := w.AdvanceTo(t.Context(), w0.Add(step.at)); err != nil {
			t.Fatal(err)
		}
		if got := i.LinkDropped(dev); got != step.down {
			t.Fatalf("at the new clock's %v: down %v, want %v", step.at, got, step.down)
		}
	}
}
