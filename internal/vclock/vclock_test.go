package vclock

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

func TestTimersFireInOrderAtTheirInstant(t *testing.T) {
	v := NewVirtual(t0)
	var got []string
	var at []time.Duration
	note := func(s string) func() {
		return func() { got = append(got, s); at = append(at, v.Now().Sub(t0)) }
	}
	v.AfterFunc(2*time.Second, note("b"))
	v.AfterFunc(time.Second, note("a"))
	v.AfterFunc(2*time.Second, note("c")) // same instant as b: after it
	stop := v.AfterFunc(1500*time.Millisecond, note("stopped"))
	v.AfterFunc(5*time.Second, note("later"))
	if !stop() || stop() {
		t.Fatal("stop: want true, then false")
	}
	if n, ok := v.Next(); !ok || n != t0.Add(time.Second) {
		t.Fatalf("Next = %v, %v", n, ok)
	}
	if err := v.AdvanceTo(context.Background(), t0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 2 * time.Second}; !equalD(at, want) {
		t.Fatalf("fired at %v, want %v", at, want)
	}
	if v.Now() != t0.Add(3*time.Second) {
		t.Fatalf("Now = %v", v.Now().Sub(t0))
	}
	if n, _ := v.Next(); n != t0.Add(5*time.Second) {
		t.Fatalf("Next = %v", n.Sub(t0))
	}
	// Backwards: time stays; a timer due now fires on any advance.
	v.AfterFunc(0, note("now"))
	if err := v.AdvanceTo(context.Background(), t0); err != nil {
		t.Fatal(err)
	}
	if got[len(got)-1] != "now" || v.Now() != t0.Add(3*time.Second) {
		t.Fatalf("after a backward advance: %v at %v", got, v.Now().Sub(t0))
	}
}

func TestTimerSetByTimerFiresInSameAdvance(t *testing.T) {
	v := NewVirtual(t0)
	var at time.Duration
	v.AfterFunc(time.Second, func() {
		v.AfterFunc(time.Second, func() { at = v.Now().Sub(t0) })
	})
	if err := v.AdvanceTo(context.Background(), t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if at != 2*time.Second {
		t.Fatalf("chained timer fired at %v, want 2s", at)
	}
}

// A hold taken by a timer's callback (work handed to another goroutine)
// keeps the clock at that instant until the work is done: a timer the
// work sets is relative to the instant it was handed over.
func TestAdvanceWaitsForHolds(t *testing.T) {
	v := NewVirtual(t0)
	work := make(chan func())
	var setAt time.Duration
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		release := <-work
		v.AfterFunc(500*time.Millisecond, func() { setAt = v.Now().Sub(t0) })
		release()
	}()
	v.AfterFunc(time.Second, func() { work <- v.Hold() })
	if err := v.AdvanceTo(context.Background(), t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if setAt != 1500*time.Millisecond {
		t.Fatalf("the work's timer fired at %v, want 1.5s", setAt)
	}
	if v.Holds() != 0 {
		t.Fatalf("Holds = %d", v.Holds())
	}
}

func TestAdvanceEndsWithContext(t *testing.T) {
	v := NewVirtual(t0)
	release := v.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := v.AdvanceTo(ctx, t0.Add(time.Second)); !errors.Is(err, context.Canceled) {
		t.Fatalf("AdvanceTo = %v, want context.Canceled", err)
	}
	if v.Now() != t0 {
		t.Fatal("the clock moved while held")
	}
	release()
	release() // a second call does nothing
	if v.Holds() != 0 {
		t.Fatalf("Holds = %d", v.Holds())
	}
}

// Sleep lets the caller's hold go for the wait and holds again from the
// wake-up instant.
func TestSleepHandsTheHoldOver(t *testing.T) {
	v := NewVirtual(t0)
	release := v.Hold()
	woke := make(chan time.Duration, 1)
	go func() {
		if err := Sleep(context.Background(), v, 2*time.Second); err != nil {
			t.Error(err)
		}
		woke <- v.Now().Sub(t0)
		// Still holding: the clock cannot pass 2s until release.
		release()
	}()
	if err := v.AdvanceTo(context.Background(), t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := <-woke; got != 2*time.Second {
		t.Fatalf("woke at %v, want 2s", got)
	}
	if v.Holds() != 0 || v.Now() != t0.Add(5*time.Second) {
		t.Fatalf("Holds %d, Now %v", v.Holds(), v.Now().Sub(t0))
	}
}

func TestSleepCancelled(t *testing.T) {
	v := NewVirtual(t0)
	release := v.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Sleep(ctx, v, time.Hour) }()
	// Wait until Sleep has let its hold go.
	for v.Holds() != 0 {
		if err := v.WaitIdle(ctxTimeout(t)); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v", err)
	}
	if v.Holds() != 1 {
		t.Fatalf("Holds after a cancelled Sleep = %d, want the caller's 1", v.Holds())
	}
	release()
	if _, ok := v.Next(); ok {
		t.Fatal("the cancelled sleep's timer is still set")
	}
}

func TestWithTimeout(t *testing.T) {
	v := NewVirtual(t0)
	ctx, cancel := WithTimeout(context.Background(), v, time.Second)
	defer cancel()
	if ctx.Err() != nil {
		t.Fatal("ended early")
	}
	if err := v.AdvanceTo(context.Background(), t0.Add(999*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("ended before its deadline")
	}
	if err := v.AdvanceTo(context.Background(), t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("Err = %v, want DeadlineExceeded", ctx.Err())
	}
	ctx2, cancel2 := WithTimeout(context.Background(), v, time.Second)
	cancel2()
	if !errors.Is(ctx2.Err(), context.Canceled) {
		t.Fatalf("cancelled: Err = %v", ctx2.Err())
	}
	if _, ok := v.Next(); ok {
		t.Fatal("the cancelled context's timer is still set")
	}
	wctx, wcancel := WithTimeout(context.Background(), Wall, time.Nanosecond)
	defer wcancel()
	<-wctx.Done()
	if !errors.Is(wctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("wall: Err = %v", wctx.Err())
	}
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalD(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
