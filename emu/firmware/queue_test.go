package firmware

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/kernel"
)

// fakeSettler has no kernel and a count of log lines still to echo.
type fakeSettler struct{ toEcho atomic.Int64 }

func (f *fakeSettler) StartedKernel() *kernel.Kernel { return nil }
func (f *fakeSettler) ServerLogsToEcho() int64       { return f.toEcho.Load() }

// settle runs what is queued, in order, and waits for the echo of the
// lines the cloud acknowledged — work queued while it waits included —
// but not forever for a line that is never echoed.
func TestSettleRunsTheQueueAndWaitsForTheEcho(t *testing.T) {
	// No wall-clock bound decides the first part: the echo may come late.
	defer func(w time.Duration) { softWait = w }(softWait)
	softWait = time.Hour
	q := newQueue()
	var f fakeSettler
	var order []int
	q.push(func() { order = append(order, 1) })
	q.push(func() { order = append(order, 2) })
	f.toEcho.Store(1)
	go q.push(func() { order = append(order, 3); f.toEcho.Store(0) }) // the echo, from the store's goroutine
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.settle(ctx, nil, &f); err != nil {
		t.Fatal(err)
	}
	if len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 3 || f.toEcho.Load() != 0 {
		t.Fatalf("ran %v, %d lines left to echo", order, f.toEcho.Load())
	}

	// A line the cloud dropped is never echoed: settle gives up on it.
	softWait = 0
	f.toEcho.Store(1)
	if err := q.settle(ctx, nil, &f); err != nil {
		t.Fatal(err)
	}
	// ctx's end ends a wait.
	cancel()
	softWait = time.Hour
	if err := q.settle(ctx, nil, &f); err != context.Canceled {
		t.Fatalf("settle after ctx's end = %v", err)
	}
}

// After the machine stopped, the queue runs what is left on the caller's
// goroutine and later work at once on its own: the kernel can still park
// and finish.
func TestDetachRunsLeftoversAndLaterWork(t *testing.T) {
	q := newQueue()
	ran := make(chan int, 2)
	q.push(func() { ran <- 1 })
	q.detach()
	if len(ran) != 1 {
		t.Fatal("detach did not run what was queued")
	}
	<-ran
	q.push(func() { ran <- 2 })
	select {
	case v := <-ran:
		if v != 2 {
			t.Fatalf("ran %d", v)
		}
	case <-time.After(time.Minute):
		t.Fatal("work pushed after detach never ran")
	}
}

// settle runs the functions serve delivers (the debugger's requests)
// while it waits, not only once it returns.
func TestSettleServesWhileWaiting(t *testing.T) {
	q := newQueue()
	var f fakeSettler
	f.toEcho.Store(1)
	defer func(w time.Duration) { softWait = w }(softWait)
	softWait = time.Hour
	serve := make(chan func())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ran := make(chan struct{})
	go func() {
		serve <- func() { close(ran) } // blocks until settle receives it
		serve <- func() { f.toEcho.Store(0) }
	}()
	if err := q.settle(ctx, serve, &f); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
	default:
		t.Fatal("settle returned without running the served function")
	}
}

// Before an exit or a restart, settle waits for the echo however long the
// store takes (within its ctx), not only softWait: the library's own wait
// for it runs on the machine's goroutine, where nothing else runs the
// queue that delivers it.
func TestSettleBeforeExitWaitsForTheEchoBeyondSoftWait(t *testing.T) {
	defer func(w time.Duration) { softWait = w }(softWait)
	softWait = 0 // the soft wait is over at once
	q := newQueue()
	f := &echoAfterAsked{asked: make(chan struct{})}
	f.toEcho.Store(1)
	go func() {
		<-f.asked
		q.push(func() { f.toEcho.Store(0) }) // the echo, from the store's goroutine
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.settleFor(ctx, nil, f, true); err != nil {
		t.Fatal(err)
	}
	if n := f.toEcho.Load(); n != 0 {
		t.Fatalf("settle before exit returned with %d line(s) not echoed", n)
	}
}

// echoAfterAsked is a fakeSettler that says when it is first asked.
type echoAfterAsked struct {
	fakeSettler
	once  atomic.Bool
	asked chan struct{}
}

func (f *echoAfterAsked) ServerLogsToEcho() int64 {
	if f.once.CompareAndSwap(false, true) {
		close(f.asked)
	}
	return f.fakeSettler.ServerLogsToEcho()
}
