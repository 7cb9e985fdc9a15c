package firmware

import (
	"context"
	"sync"
	"time"

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
	// detached: the machine has stopped (detach).
	detached bool
}

func newQueue() *queue { return &queue{ready: make(chan struct{}, 1)} }

// push is kernel.Options.Exec: it never blocks.
func (q *queue) push(fn func()) {
	q.mu.Lock()
	if q.detached {
		q.mu.Unlock()
		go fn()
		return
	}
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
// instruction on every run. For at most softWait more it also waits for
// what may not come: replies the cloud may hold back until the
// application reads (kernel.Kernel.AwaitingBehindUnread), and the echo of
// the server log lines the cloud acknowledged (process.ServerLogsToEcho;
// a line the cloud dropped is never echoed). Meanwhile it runs every
// function received from serve (emu.Options.Settle: the debugger's
// requests; nil when there is no machine to serve).
func (q *queue) settle(ctx context.Context, serve <-chan func(), p settler) error {
	return q.settleFor(ctx, serve, p, false)
}

// settleFor is settle; with echoSure it waits for the echo of every line
// the cloud acknowledged until ctx ends, not only for softWait: before
// an exit or a restart (settleBeforeExit), since the library's own wait
// for the echo (process: flushLogs) runs inside the system call, on this
// goroutine, where nothing would run the queue that delivers the echo.
func (q *queue) settleFor(ctx context.Context, serve <-chan func(), p settler, echoSure bool) error {
	var soft <-chan time.Time // runs from the first wait for the soft kinds alone
	softOver := false
	for {
		q.drain()
		k := p.StartedKernel()
		sure := k != nil && k.Awaiting() || echoSure && p.ServerLogsToEcho() > 0
		maybe := !softOver && (k != nil && k.AwaitingBehindUnread() || p.ServerLogsToEcho() > 0)
		if !sure && !maybe {
			return nil
		}
		var timeout <-chan time.Time
		if !sure {
			if soft == nil {
				t := time.NewTimer(softWait)
				defer t.Stop()
				soft = t.C
			}
			timeout = soft
		}
		select {
		case <-q.ready:
		case f := <-serve:
			f()
		case <-timeout:
			softOver = true
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// softWait bounds settle's wait for what may not come (a variable for
// tests).
var softWait = time.Second

// settler is what settle asks the process (*process.Process).
type settler interface {
	StartedKernel() *kernel.Kernel
	ServerLogsToEcho() int64
}

// detach is for after the machine has stopped: what is queued runs now on
// the caller's goroutine, and later pushes each run on a goroutine of
// their own (nobody runs the queue any more; the kernel and the store
// must still be able to finish).
func (q *queue) detach() {
	q.mu.Lock()
	q.detached = true
	q.mu.Unlock()
	q.drain()
}
