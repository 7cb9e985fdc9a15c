package vclock

import (
	"context"
	"slices"
	"sync"
	"time"
)

// SleepLending is Sleep for a goroutine that waits on behalf of n holds
// (n >= 1): its own and those of work that waits for what it will pass on
// (e.g. requests whose answers a delayed stream holds back). It is a Loan
// of n, slept on.
func SleepLending(ctx context.Context, c Clock, d time.Duration, n int) error {
	l := NewLoan(c)
	l.Lend(n)
	return l.Sleep(ctx, d)
}

// A Loan lends holds of a Virtual clock back to the clock while one
// goroutine waits on the clock on their behalf (Sleep): the caller's own
// hold, and those of work that waits for what the caller will pass on
// (e.g. requests whose answers a delayed stream holds back) — work that
// would otherwise hold the clock short of the wake-up for ever. They are
// let go of for the wait — at most as many as are in force — and taken
// back before the clock moves past the wake-up, so every holder holds
// again once the caller is woken. A holder that releases its hold while
// it is on loan (its work ended another way) takes it out of the loan:
// one fewer is taken back. On the Wall clock a Loan does nothing and
// Sleep is an ordinary sleep. A Loan serves one Sleep.
type Loan struct {
	c Clock
	v *Virtual // nil on Wall

	// Guarded by v.mu.
	want  int  // holds to lend when Sleep starts
	n     int  // holds out on loan
	state int8 // loanBefore, loanOut, loanBack
}

const (
	loanBefore int8 = iota // Sleep has not started
	loanOut                // Sleep waits: the holds are out
	loanBack               // Sleep is over: the holds are back
)

// NewLoan returns a Loan of holds of c, none yet.
func NewLoan(c Clock) *Loan {
	v, _ := c.(*Virtual)
	return &Loan{c: c, v: v}
}

// Lend adds n holds to the loan: before Sleep, they are let go of when it
// starts; while it waits, at once (as many as are in force); after it,
// none (the caller is awake: the work holds the clock until it is done).
func (l *Loan) Lend(n int) {
	if l.v == nil || n <= 0 {
		return
	}
	v := l.v
	v.mu.Lock()
	defer v.mu.Unlock()
	switch l.state {
	case loanBefore:
		l.want += n
	case loanOut:
		v.lendLocked(l, n)
	}
}

// Sleep waits until d has passed on the clock, or ctx ends (ctx's error),
// lending what Lend added — at least one hold: the caller must hold the
// clock, as for Sleep — and holding them all again once woken. It returns
// with the holds back in either case. The wall net ctx is under, if any,
// is paused for the wait (WithWallNet).
func (l *Loan) Sleep(ctx context.Context, d time.Duration) error {
	v := l.v
	if v == nil {
		return wallSleep(ctx, d)
	}
	// The wait is on the device's clock: a wall-clock safety net the
	// caller works under does not count it (WithWallNet).
	defer pauseWallNet(ctx)()
	woke := make(chan struct{})
	var once sync.Once
	back := func() { once.Do(func() { v.repay(l) }) }
	stop := v.AfterFunc(d, func() {
		back()
		close(woke)
	})
	v.mu.Lock()
	if v.holds <= 0 {
		v.mu.Unlock()
		panic("vclock: release without a hold")
	}
	l.state = loanOut
	v.lent = append(v.lent, l)
	v.lendLocked(l, max(l.want, 1))
	v.mu.Unlock()
	select {
	case <-woke:
		return nil
	case <-ctx.Done():
		if stop() {
			back()
		} else {
			<-woke // the timer is firing: it takes the holds back
		}
		return ctx.Err()
	}
}

// lendLocked lets go of n holds, or of every hold in force if there are
// fewer, into loan l (v.mu held).
func (v *Virtual) lendLocked(l *Loan, n int) {
	k := min(n, v.holds)
	if k <= 0 {
		return
	}
	l.n += k
	v.holds -= k
	if v.holds == 0 {
		close(v.idle)
		v.idle = nil
	}
}

// repay takes loan l's holds back.
func (v *Virtual) repay(l *Loan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l.state = loanBack
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
