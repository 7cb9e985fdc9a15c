package vclock

import (
	"context"
	"time"
)

// SleepLending is Sleep for a goroutine that waits on behalf of n holds
// (n >= 1): its own and those of work that waits for what it will pass on
// (e.g. requests whose answers a delayed stream holds back). On a Virtual
// clock it lets go of n holds for the wait — at most as many as are in
// force, and at least one: the caller's — and the timer takes as many back
// before the clock moves past the wake-up, so every holder holds again
// once the caller is woken. On the Wall clock it is an ordinary sleep.
func SleepLending(ctx context.Context, c Clock, d time.Duration, n int) error {
	v, ok := c.(*Virtual)
	if !ok || n <= 1 {
		return Sleep(ctx, c, d)
	}
	woke := make(chan struct{})
	// lent is set under v.mu before the clock can reach the timer (the
	// caller holds it until then), and read under v.mu.
	var lent int
	stop := v.AfterFunc(d, func() {
		v.holdN(&lent)
		close(woke)
	})
	v.releaseUpTo(n, &lent)
	select {
	case <-woke:
		return nil
	case <-ctx.Done():
		if stop() {
			v.holdN(&lent)
		} else {
			<-woke // the timer is firing: it takes the holds
		}
		return ctx.Err()
	}
}

// holdN takes *k holds (*k >= 1, read under v.mu).
func (v *Virtual) holdN(k *int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.holds == 0 {
		v.idle = make(chan struct{})
	}
	v.holds += *k
}

// releaseUpTo lets go of n holds, or of every hold in force if there are
// fewer, and sets *lent (under v.mu) to how many; there must be one at
// least.
func (v *Virtual) releaseUpTo(n int, lent *int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.holds <= 0 {
		panic("vclock: release without a hold")
	}
	*lent = min(n, v.holds)
	v.holds -= *lent
	if v.holds == 0 {
		close(v.idle)
		v.idle = nil
	}
}
