package firmware

import (
	"context"
	"sync"

	"github.com/mvnet/mvnet/kernel"
)

// queue is the kernel's Options.Exec: the kernel's goroutines hand it
// functions that must run on the machine's goroutine (kernel/exec.go). The
// machine runs them at its sync points (its own Exec, nudged on every
// push) and Settle runs them while it waits for the cloud.
type queue struct {
	mu    sync.Mutex
	fns   []func()
	ready chan struct{}   // a push since the last wait
	nudge func(fn func()) // the machine's Exec
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// push is kernel.Options.Exec: it never blocks.
func (q *queue) push(fn func()) {
	q.mu.Lock()
	q.fns = append(q.fns, fn)
	nudge := q.nudge
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	if nudge != nil {
		nudge(q.drain)
	}
}

// setNudge connects the queue to the machine once it exists.
func (q *queue) setNudge(exec func(fn func())) {
	q.mu.Lock()
	q.nudge = exec
	pending := len(q.fns) > 0
	q.mu.Unlock()
	if pending {
		exec(q.drain)
	}
}

// drain runs every queued function, in order, on the calling goroutine
// (the machine's), including those queued meanwhile.
func (q *queue) drain() {
	for {
		q.mu.Lock()
		fns := q.fns
		q.fns = nil
		q.mu.Unlock()
		if len(fns) == 0 {
			return
		}
		for _, fn := range fns {
			fn()
		}
	}
}

// settle is the machine's Settle in deterministic mode, called after each
// system call: it applies what the kernel has queued and waits until the
// kernel awaits nothing more (kernel.Kernel.Awaiting) — the reply to every
// request the application has made is then in its memory, at the same
// instruction on every run. k returns the kernel, nil before a system call
// has started it.
func (q *queue) settle(ctx context.Context, k func() *kernel.Kernel) error {
	for {
		q.drain()
		kn := k()
		if kn == nil || !kn.Awaiting() {
			return nil
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
