package faults_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// liveLink is a Link that counts what the link and service faults ask of
// it; safe for the flap's goroutine.
type liveLink struct {
	mu      sync.Mutex
	drops   int
	times   int
	logging int
}

func (l *liveLink) Drop()                                        { l.mu.Lock(); l.drops++; l.mu.Unlock() }
func (l *liveLink) AnnounceUpdate(string)                        {}
func (l *liveLink) CloseChannel(uint32, abi.ClosureReason) error { return faults.ErrUnknownChannel }
func (l *liveLink) SendTime()                                    { l.mu.Lock(); l.times++; l.mu.Unlock() }
func (l *liveLink) RefreshLogging()                              { l.mu.Lock(); l.logging++; l.mu.Unlock() }

func (l *liveLink) counts() (drops, times, logging int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.drops, l.times, l.logging
}

type liveLinks map[string]*liveLink

func (m liveLinks) Link(id string) (faults.Link, bool) {
	l, ok := m[id]
	return l, ok
}

var (
	_ faults.ClockLink   = (*liveLink)(nil)
	_ faults.LoggingLink = (*liveLink)(nil)
)

func liveSetup() (*faults.Injector, *liveLink, *liveLink) {
	a, b := &liveLink{}, &liveLink{}
	return faults.New(liveLinks{dev: a, other: b}), a, b
}

func mustApply(t *testing.T, i *faults.Injector, id string, s faults.Spec) faults.Fault {
	t.Helper()
	f, err := i.Apply(id, s)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// A loss flap draws each period from its seed: the same seed gives the
// same pattern of down and up periods, another seed another one.
func TestFlapSeededPatternRepeats(t *testing.T) {
	const periods = 24
	var mu sync.Mutex
	seen := map[string][]bool{}
	faults.SetFlapHook(func(f faults.Fault, n int, down bool) {
		mu.Lock()
		defer mu.Unlock()
		if n < periods {
			seen[f.ID] = append(seen[f.ID], down)
		}
	})
	defer faults.SetFlapHook(nil)
	i, _, _ := liveSetup()
	spec := func(seed int64) faults.Spec {
		return faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Millisecond), Loss: 0.5, Seed: seed}
	}
	a := mustApply(t, i, dev, spec(7))
	b := mustApply(t, i, other, spec(7))
	c := mustApply(t, i, "UV00000000000000000000000000000003", spec(8))
	poll.Until(t, "24 periods of each flap", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen[a.ID]) == periods && len(seen[b.ID]) == periods && len(seen[c.ID]) == periods
	})
	for _, f := range []faults.Fault{a, b, c} {
		if err := i.Clear(f.Device, f.ID); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen[a.ID], seen[b.ID]) {
		t.Errorf("seed 7 twice: %v and %v", seen[a.ID], seen[b.ID])
	}
	if slices.Equal(seen[a.ID], seen[c.ID]) {
		t.Errorf("seeds 7 and 8 gave the same pattern %v", seen[a.ID])
	}
	downs := 0
	for _, d := range seen[a.ID] {
		if d {
			downs++
		}
	}
	if downs == 0 || downs == periods {
		t.Errorf("loss 0.5 over %d periods: %d down", periods, downs)
	}
}

// A duty flap takes the link down and brings it back each period, drops
// the live link when it goes down, and stops when cleared; the other
// device is never touched.
func TestFlapDuty(t *testing.T) {
	i, a, b := liveSetup()
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(20 * time.Millisecond), Duty: 0.5})
	poll.Until(t, "the link dropped", func() bool { return i.LinkDropped(dev) })
	poll.Until(t, "the link back up", func() bool { return !i.LinkDropped(dev) })
	poll.Until(t, "the link dropped again", func() bool { return i.LinkDropped(dev) })
	// The down state is recorded before the live link is dropped
	// (setDown): the second Drop follows.
	poll.Until(t, "the live link dropped twice", func() bool { drops, _, _ := a.counts(); return drops >= 2 })
	if err := i.Clear(dev, f.ID); err != nil {
		t.Fatal(err)
	}
	if i.LinkDropped(dev) {
		t.Error("LinkDropped after Clear")
	}
	if drops, _, _ := b.counts(); drops != 0 || i.LinkDropped(other) {
		t.Errorf("the other device: %d drops, LinkDropped %v", drops, i.LinkDropped(other))
	}
}

// A flap applied with For ends by itself ("expired") and the link is up.
func TestFlapExpires(t *testing.T) {
	i, _, _ := liveSetup()
	var mu sync.Mutex
	var events []faults.Event
	defer i.Subscribe(func(e faults.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })()
	mustApply(t, i, dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Hour), Duty: 1, For: faults.Duration(30 * time.Millisecond)})
	if !i.LinkDropped(dev) {
		t.Fatal("a duty-1 flap does not hold the link down")
	}
	poll.Until(t, "the flap's end", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 2 })
	if e := events[1]; e.Phase != faults.Ended || e.Why != "expired" {
		t.Errorf("end event %+v", e)
	}
	if i.LinkDropped(dev) {
		t.Error("LinkDropped after the flap expired")
	}
}

// cloud-restart drops the link, refuses it for down and ends "done".
func TestCloudRestart(t *testing.T) {
	i, a, b := liveSetup()
	var mu sync.Mutex
	var events []faults.Event
	defer i.Subscribe(func(e faults.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })()
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.CloudRestart, Down: faults.Duration(50 * time.Millisecond)})
	if drops, _, _ := a.counts(); drops != 1 || !i.LinkDropped(dev) {
		t.Fatalf("after Apply: %d drops, LinkDropped %v", drops, i.LinkDropped(dev))
	}
	if i.LinkDropped(other) {
		t.Error("the other device's link is refused")
	}
	poll.Until(t, "the restart over", func() bool { return !i.LinkDropped(dev) })
	poll.Until(t, "the end event", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 2 })
	if e := events[1]; e.Phase != faults.Ended || e.Why != "done" || e.Fault.ID != f.ID {
		t.Errorf("end event %+v", e)
	}
	if drops, _, _ := b.counts(); drops != 0 {
		t.Errorf("the other device dropped %d times", drops)
	}
	// Cleared before down has elapsed: the links are accepted at once.
	f = mustApply(t, i, dev, faults.Spec{Kind: faults.CloudRestart, Down: faults.Duration(time.Hour)})
	if err := i.Clear(dev, f.ID); err != nil {
		t.Fatal(err)
	}
	if i.LinkDropped(dev) {
		t.Error("LinkDropped after clearing the restart")
	}
}

// The clock faults: WallTime gives no time under clock-unset and the
// skews added otherwise; starting and ending one resends the time.
func TestClockFaults(t *testing.T) {
	i, a, b := liveSetup()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if got, ok := i.WallTime(dev, now); !ok || !got.Equal(now) {
		t.Fatalf("no fault: %v %v", got, ok)
	}
	s1 := mustApply(t, i, dev, faults.Spec{Kind: faults.ClockSkew, Skew: faults.Duration(-time.Hour)})
	mustApply(t, i, dev, faults.Spec{Kind: faults.ClockSkew, Skew: faults.Duration(90 * time.Second)})
	if got, ok := i.WallTime(dev, now); !ok || !got.Equal(now.Add(-time.Hour+90*time.Second)) {
		t.Fatalf("two skews: %v %v", got, ok)
	}
	u := mustApply(t, i, dev, faults.Spec{Kind: faults.ClockUnset})
	if _, ok := i.WallTime(dev, now); ok {
		t.Fatal("clock-unset: WallTime gives a time")
	}
	if got, ok := i.WallTime(other, now); !ok || !got.Equal(now) {
		t.Fatalf("the other device: %v %v", got, ok)
	}
	if err := i.Clear(dev, u.ID); err != nil {
		t.Fatal(err)
	}
	if err := i.Clear(dev, s1.ID); err != nil {
		t.Fatal(err)
	}
	if got, ok := i.WallTime(dev, now); !ok || !got.Equal(now.Add(90*time.Second)) {
		t.Fatalf("one skew left: %v %v", got, ok)
	}
	// 3 starts and 2 ends, each telling the link.
	if _, times, _ := a.counts(); times != 5 {
		t.Errorf("SendTime called %d times, want 5", times)
	}
	if _, times, _ := b.counts(); times != 0 {
		t.Errorf("the other device's SendTime called %d times", times)
	}
}

func TestLoggingDisabledFault(t *testing.T) {
	i, a, b := liveSetup()
	f := mustApply(t, i, dev, faults.Spec{Kind: faults.LoggingDisabled})
	if !i.ServerLoggingDisabled(dev) || i.ServerLoggingDisabled(other) {
		t.Fatalf("ServerLoggingDisabled %v / %v", i.ServerLoggingDisabled(dev), i.ServerLoggingDisabled(other))
	}
	if err := i.Clear(dev, f.ID); err != nil {
		t.Fatal(err)
	}
	if i.ServerLoggingDisabled(dev) {
		t.Fatal("still disabled after Clear")
	}
	if _, _, n := a.counts(); n != 2 {
		t.Errorf("RefreshLogging called %d times, want 2 (start, end)", n)
	}
	if _, _, n := b.counts(); n != 0 {
		t.Errorf("the other device's RefreshLogging called %d times", n)
	}
	// Applied to a device that is not connected: nothing to tell.
	if _, err := i.Apply("UV00000000000000000000000000000009", faults.Spec{Kind: faults.LoggingDisabled}); err != nil {
		t.Fatal(err)
	}
}
