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
	mu    sync.Mutex // guards detached and nudge; pushes hold it too
	fns   kernel.ExecQueue
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
	q.fns.Push(fn) // under q.mu: detach cannot strand it
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
	pending := q.fns.Len() > 0
	q.mu.Unlock()
	if pending {
		exec(q.drain)
	}
}

// drain runs every queued function, in order, on the calling goroutine
// (the machine's), including those queued meanwhile.
func (q *queue) drain() { q.fns.Drain() }

// settle is a sync point of deterministic mode (kernel/virtual.go): the
// machine's Settle after each system call, and each of the kernel's
// virtual timers (rig.afterFunc). It applies what the kernel has queued;
// while a dial's outcome is not applied yet (kernel.Kernel.Dialing) it
// waits for it; then, if the kernel has something to sync (kernel.Kernel
// .Sync sends CONTROL SYNC), it waits until the cloud's SYNCED is applied
// — everything the cloud owed the application by then is in its memory,
// at the same instruction on every run — or the link is lost. The
// kernel itself sets the timer at SYNCED's next_us. For at most softWait
// more it also waits for the echo of the server log lines the cloud
// acknowledged (process.ServerLogsToEcho; a line the cloud dropped is
// never echoed). Meanwhile it runs every function received from serve
// (emu.Options.Settle: the debugger's requests; nil when there is no
// machine to serve).
func (q *queue) settle(ctx context.Context, serve <-chan func(), p settler) error {
	return q.settleFor(ctx, serve, p, false)
}

// settleFor is settle; with echoSure (before an exit or a restart:
// settleBeforeExit) it also waits for the LOGACK of every server log line
// sent (kernel.Kernel.LogsInFlight: in realtime mode nothing else waits
// for it) and for the echo of every line the cloud acknowledged until ctx
// ends, not only for softWait, since the library's own wait for them
// (process: flushLogs) runs inside the system call, on this goroutine,
// where nothing would run the queue that delivers them.
func (q *queue) settleFor(ctx context.Context, serve <-chan func(), p settler, echoSure bool) error {
	var soft <-chan time.Time // runs from the first wait for the echo alone
	softOver := false
	for {
		q.drain()
		k := p.StartedKernel()
		// Dialing before Sync: Sync sends SYNC on the link the dial brings up.
		sure := k != nil && (k.Dialing() || k.Sync()) ||
			echoSure && (k != nil && k.LogsInFlight() || p.ServerLogsToEcho() > 0)
		maybe := !softOver && p.ServerLogsToEcho() > 0
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

// softWait bounds settle's wait for the echo of server log lines (a
// variable for tests).
var softWait = time.Second

// settler is what settle asks the process (*process.Process).
type settler interface {
	StartedKernel() *kernel.Kernel
	ServerLogsToEcho() int64
}

// isDetached reports whether the machine has stopped.
func (q *queue) isDetached() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.detached
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
