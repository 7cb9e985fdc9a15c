package vclock

import (
	"context"
	"slices"
	"time"
)

// SleepLending is Sleep for a goroutine that waits on behalf of n holds
// (n >= 1): its own and those of work that waits for what it will pass on
// (e.g. requests whose answers a delayed stream holds back). On a Virtual
// clock it lets go of n holds for the wait — at most as many as are in
// force, and at least one: the caller's — and the timer takes as many back
// before the clock moves past the wake-up, so every holder holds again
// once the caller is woken. A holder that releases its hold while it is on
// loan (its work ended another way) takes it out of the loan: the sleeper
// takes back one fewer. On the Wall clock it is an ordinary sleep.
func SleepLending(ctx context.Context, c Clock, d time.Duration, n int) error {
	v, ok := c.(*Virtual)
	if !ok || n <= 1 {
		return Sleep(ctx, c, d)
	}
	woke := make(chan struct{})
	l := &loan{}
	stop := v.AfterFunc(d, func() {
		v.repaid(l)
		close(woke)
	})
	v.lend(l, n)
	select {
	case <-woke:
		return nil
	case <-ctx.Done():
		if stop() {
			v.repaid(l)
		} else {
			<-woke // the timer is firing: it takes the holds back
		}
		return ctx.Err()
	}
}

// loan is the holds one SleepLending has out, guarded by the clock's mu.
type loan struct{ n int }

// lend lets go of n holds, or of every hold in force if there are fewer,
// and puts them on loan l; there must be one at least.
func (v *Virtual) lend(l *loan, n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.holds <= 0 {
		panic("vclock: release without a hold")
	}
	l.n = min(n, v.holds)
	v.holds -= l.n
	v.lent = append(v.lent, l)
	if v.holds == 0 {
		close(v.idle)
		v.idle = nil
	}
}

// repaid takes loan l's holds back.
func (v *Virtual) repaid(l *loan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if k := slices.Index(v.lent, l); k >= 0 {
		v.lent = slices.Delete(v.lent, k, k+1)
	}
	if l.n == 0 {
		return
	}
	if v.holds == 0 {
		v.idle = make(chan struct{})
	}
	v.holds += l.n
	l.n = 0
}

// repayLocked takes one hold out of a loan, for a holder that releases
// it while it is lent, and reports whether there was one (v.mu held).
func (v *Virtual) repayLocked() bool {
	for _, l := range v.lent {
		if l.n > 0 {
			l.n--
			return true
		}
	}
	return false
}
