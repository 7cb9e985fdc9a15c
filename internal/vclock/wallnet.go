package vclock

import (
	"context"
	"sync"
	"time"
)

// WithWallNet returns a context that ends, reading
// context.DeadlineExceeded, once d of wall time has passed outside waits
// on a virtual clock, or when parent ends. It is the wall-clock safety net
// of work that holds a Virtual clock — the clock cannot move while it runs
// in the real world, so only the real world can cut it — and that may
// also wait on the clock (a Sleep or Loan.Sleep under the context, an
// upstream delay fault): the net counts none of that wait, whose wall
// length depends on how fast the device syncs, not on the work.
//
// Its Deadline is when the net will end if no wait comes: it moves later
// after each wait (unlike an ordinary context's), so a dial or a read
// timed from it after a wait gets the budget that is left.
func WithWallNet(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	n := &wallNet{Context: ctx, cancel: cancel, left: d, since: time.Now()}
	n.mu.Lock()
	n.t = time.AfterFunc(d, n.expire)
	n.mu.Unlock()
	return n, func() {
		n.mu.Lock()
		n.t.Stop()
		n.mu.Unlock()
		cancel(context.Canceled)
	}
}

// wallNetKey finds the wallNet a context is under.
type wallNetKey struct{}

type wallNet struct {
	context.Context
	cancel context.CancelCauseFunc

	mu     sync.Mutex
	left   time.Duration // wall budget left at since
	since  time.Time     // when the count last (re)started
	paused int           // waits on a virtual clock under way
	t      *time.Timer
}

func (n *wallNet) expire() { n.cancel(context.DeadlineExceeded) }

func (n *wallNet) Deadline() (time.Time, bool) {
	n.mu.Lock()
	at := n.since.Add(n.left)
	if n.paused > 0 {
		at = time.Now().Add(n.left)
	}
	n.mu.Unlock()
	if pd, ok := n.Context.Deadline(); ok && pd.Before(at) {
		return pd, true
	}
	return at, true
}

func (n *wallNet) Err() error {
	if n.Context.Err() == nil {
		return nil
	}
	return context.Cause(n.Context)
}

func (n *wallNet) Value(key any) any {
	if key == (wallNetKey{}) {
		return n
	}
	return n.Context.Value(key)
}

// pauseWallNet stops the count of the wall net ctx is under, if any, for a
// wait on a virtual clock; the returned func starts it again.
func pauseWallNet(ctx context.Context) (resume func()) {
	n, _ := ctx.Value(wallNetKey{}).(*wallNet)
	if n == nil {
		return func() {}
	}
	n.mu.Lock()
	if n.paused == 0 && n.t.Stop() {
		n.left -= time.Since(n.since)
	}
	n.paused++
	n.mu.Unlock()
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.paused--
		if n.paused > 0 || n.Context.Err() != nil {
			return
		}
		n.since = time.Now()
		n.t.Reset(max(n.left, 0))
	}
}
