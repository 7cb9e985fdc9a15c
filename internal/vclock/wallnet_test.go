package vclock

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A wall net does not count a wait on the virtual clock under it: with a
// budget of 50 ms, a Sleep of 1 s of virtual time that 200 ms of wall time
// pass in leaves it alive; once woken, it ends after the budget left, as
// context.DeadlineExceeded. Its Deadline moved by the wait.
func TestWallNetPausedDuringVirtualWait(t *testing.T) {
	const budget = 50 * time.Millisecond
	v := NewVirtual(t0)
	ctx, cancel := WithWallNet(context.Background(), budget)
	defer cancel()
	before, _ := ctx.Deadline()
	release := v.Hold()
	slept := make(chan error, 1)
	go func() { slept <- Sleep(ctx, v, time.Second) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := v.WaitIdle(wctx); err != nil { // the sleeper lent the hold
		t.Fatal(err)
	}
	<-time.After(4 * budget) // the stimulus: wall time passing during the wait
	if err := ctx.Err(); err != nil {
		t.Fatalf("the net ended during the virtual wait: %v", err)
	}
	advanced := make(chan error, 1)
	go func() { advanced <- v.AdvanceTo(wctx, t0.Add(time.Second)) }()
	if err := <-slept; err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	release()
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if after, _ := ctx.Deadline(); !after.After(before.Add(3 * budget)) {
		t.Fatalf("deadline moved from %v to %v after a wait of at least %v", before, after, 4*budget)
	}
	select {
	case <-ctx.Done():
	case <-wctx.Done():
		t.Fatal("the net never ended after the wait")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("net ended with %v, want DeadlineExceeded", ctx.Err())
	}
}

// Without a wait, a wall net is a wall timeout.
func TestWallNetExpires(t *testing.T) {
	ctx, cancel := WithWallNet(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v, want DeadlineExceeded", ctx.Err())
	}
	ctx, cancel = WithWallNet(context.Background(), time.Hour)
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("cancelled net: err %v, want Canceled", ctx.Err())
	}
}
