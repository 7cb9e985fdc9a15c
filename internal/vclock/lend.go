package vclock

import (
	"context"
	"sync"
	"time"
)

// SleepLending is Sleep for a goroutine that waits on behalf of holds:
// its own, those ctx names (WithHolds: the work it waits for, by
// identity) and n others in force, the newest first (n >= 1 when ctx
// names none: the caller's own). It is a Loan of those, slept on.
func SleepLending(ctx context.Context, c Clock, d time.Duration, n int) error {
	l := NewLoan(c)
	l.LendHolds(ctx)
	l.Lend(n)
	return l.Sleep(ctx, d)
}

// HoldToken is c's HoldToken if c is Virtual, and nil (a token whose
// Release does nothing) on Wall.
func HoldToken(c Clock) *Token {
	if v, ok := c.(*Virtual); ok {
		return v.HoldToken()
	}
	return nil
}

// holdsKey finds the holds a context names (WithHolds).
type holdsKey struct{}

// WithHolds returns ctx naming ts (nil ones are skipped) as the holds of
// the work ctx is for: a SleepLending under it lends them by identity.
func WithHolds(ctx context.Context, ts ...*Token) context.Context {
	var named []*Token
	for _, t := range ts {
		if t != nil {
			named = append(named, t)
		}
	}
	if len(named) == 0 {
		return ctx
	}
	return context.WithValue(ctx, holdsKey{}, named)
}

// A Loan lends holds of a Virtual clock back to the clock while one
// goroutine waits on the clock on their behalf (Sleep): the caller's own
// hold, and those of work that waits for what the caller will pass on
// (e.g. requests whose answers a delayed stream holds back) — work that
// would otherwise hold the clock short of the wake-up for ever. They are
// let go of for the wait and taken back before the clock moves past the
// wake-up, so every holder holds again once the caller is woken. Holds
// are lent by identity (LendToken, LendHolds) or, for a caller that
// cannot name them, by number (Lend: the newest not on loan). A holder
// that releases its hold while it is on loan (its work ended another way)
// takes it out of the loan — it is not taken back, and no other hold is
// touched. On the Wall clock a Loan does nothing and Sleep is an ordinary
// sleep. A Loan serves one Sleep.
type Loan struct {
	c Clock
	v *Virtual // nil on Wall

	// Guarded by v.mu.
	want     int      // holds to lend by number when Sleep starts
	wantToks []*Token // holds to lend by identity when Sleep starts
	toks     []*Token // holds out on loan
	state    int8     // loanBefore, loanOut, loanBack
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

// Lend adds n holds in force, the newest not on loan, to the loan: before
// Sleep, they are let go of when it starts; while it waits, at once (as
// many as are in force); after it, none (the caller is awake: the work
// holds the clock until it is done).
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
		v.lendNewestLocked(l, n)
	}
}

// LendToken adds hold t to the loan, as Lend does (nil: nothing).
func (l *Loan) LendToken(t *Token) {
	if l.v == nil || t == nil || t.v != l.v {
		return
	}
	v := l.v
	v.mu.Lock()
	defer v.mu.Unlock()
	switch l.state {
	case loanBefore:
		l.wantToks = append(l.wantToks, t)
	case loanOut:
		v.lendTokenLocked(l, t)
	}
}

// LendHolds adds the holds ctx names (WithHolds) to the loan, and reports
// whether it names any.
func (l *Loan) LendHolds(ctx context.Context) bool {
	ts, _ := ctx.Value(holdsKey{}).([]*Token)
	for _, t := range ts {
		l.LendToken(t)
	}
	return len(ts) > 0
}

// Sleep waits until d has passed on the clock, or ctx ends (ctx's error),
// lending what Lend, LendToken and LendHolds added — at least one hold:
// the caller must hold the clock, as for Sleep — and holding them all
// again once woken. It returns with the holds back in either case. The
// wall net ctx is under, if any, is paused for the wait (WithWallNet).
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
	for _, t := range l.wantToks {
		v.lendTokenLocked(l, t)
	}
	n := l.want
	if n == 0 && len(l.toks) == 0 {
		n = 1
	}
	v.lendNewestLocked(l, n)
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

// lendTokenLocked lets go of hold t into loan l, if it is in force and
// not on loan (v.mu held).
func (v *Virtual) lendTokenLocked(l *Loan, t *Token) {
	if t.done || t.lent != nil {
		return
	}
	t.lent = l
	l.toks = append(l.toks, t)
	v.letGoLocked(1)
}

// lendNewestLocked lets go of n holds not on loan, the newest first, or
// of every one if there are fewer, into loan l (v.mu held).
func (v *Virtual) lendNewestLocked(l *Loan, n int) {
	for i := len(v.toks) - 1; i >= 0 && n > 0; i-- {
		if t := v.toks[i]; t.lent == nil {
			v.lendTokenLocked(l, t)
			n--
		}
	}
}

// repay takes loan l's holds back.
func (v *Virtual) repay(l *Loan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	l.state = loanBack
	for _, t := range l.toks {
		t.lent = nil
	}
	v.takeLocked(len(l.toks))
	l.toks = nil
}
