// Package vclock is the time source of what the cloud times for one
// device: the wall clock for a real device or a host application, or the
// device's own virtual clock for an emulated firmware image in
// deterministic mode (link protocol version 6, "Virtual time").
//
// A Virtual clock advances only when its owner says (AdvanceTo: the
// device's HELLO and CONTROL SYNC). Timers set on it fire, in order, on
// the goroutine that advances it, each at its own instant. Work done in
// the real world on the device's behalf — an upstream request, a broker
// round trip, a store write — holds the clock (Hold): AdvanceTo and
// WaitIdle wait for every hold to be released, so what the work produces
// lands before the device's time moves on, whatever the wall clock did
// meanwhile. On the Wall clock holds cost nothing and timers are the
// runtime's.
//
// A timer's callback must not block on the clock's advance (it runs
// inside it); one that hands work to another goroutine takes a Hold and
// gives the release with the work, so the clock waits for it. Sleep does
// that for a goroutine that waits on the clock while it holds it.
//
// Holds have identities (Token): a goroutine waiting on the clock on
// behalf of other work lends those holds by name (Loan, WithHolds), and a
// hold released while on loan settles the loan without touching another
// hold. Work that holds the clock and may also wait on it is cut by a
// wall-clock safety net that counts only its time in the real world
// (WithWallNet).
package vclock

import (
	"container/heap"
	"context"
	"slices"
	"sync"
	"time"
)

// Clock is a time source with timers and holds.
type Clock interface {
	// Now is the clock's current time.
	Now() time.Time
	// AfterFunc calls f once d has passed on the clock (on the runtime's
	// goroutine for Wall, on the advancing goroutine for Virtual); stop
	// cancels it and reports whether it did so before f was called.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
	// Hold keeps a Virtual clock from advancing until release is called
	// (once; later calls do nothing). On Wall it does nothing.
	Hold() (release func())
}

// Wall is the wall clock.
var Wall Clock = wall{}

type wall struct{}

func (wall) Now() time.Time { return time.Now() }
func (wall) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
func (wall) Hold() func() { return func() {} }

// Virtual is a clock that advances only with AdvanceTo. The zero value is
// not usable; make one with NewVirtual. It is safe for concurrent use;
// AdvanceTo calls are serialised.
type Virtual struct {
	adv sync.Mutex // one AdvanceTo at a time

	mu     sync.Mutex
	now    time.Time
	timers timerHeap
	seq    uint64
	holds  int           // tokens in force not on loan
	idle   chan struct{} // closed when holds drops to 0; nil while holds is 0
	toks   []*Token      // every hold in force, lent or not, oldest first
}

// NewVirtual returns a virtual clock reading start.
func NewVirtual(start time.Time) *Virtual {
	return &Virtual{now: start}
}

// Now returns the clock's time.
func (v *Virtual) Now() time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.now
}

type vtimer struct {
	at    time.Time
	seq   uint64
	f     func()
	index int // in the heap; -1 once fired or stopped
}

// AfterFunc sets f to be called when the clock reaches Now()+d. A timer
// due at or before the clock's time (d <= 0) fires at the next AdvanceTo,
// even one that does not move the clock. Timers due at the same instant
// fire in the order they were set.
func (v *Virtual) AfterFunc(d time.Duration, f func()) func() bool {
	v.mu.Lock()
	v.seq++
	t := &vtimer{at: v.now.Add(max(d, 0)), seq: v.seq, f: f}
	heap.Push(&v.timers, t)
	v.mu.Unlock()
	return func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		if t.index < 0 {
			return false
		}
		heap.Remove(&v.timers, t.index)
		return true
	}
}

// Hold keeps the clock where it is until release is called.
func (v *Virtual) Hold() func() { return v.HoldToken().Release }

// A Token is one hold of a Virtual clock, by identity: a Loan lends
// given tokens (Loan.LendToken, WithHolds), and releasing a token that is
// on loan settles the loan (it is not taken back) without touching any
// other hold.
type Token struct {
	v    *Virtual
	lent *Loan // the loan it is out on, if any (v.mu)
	done bool  // released (v.mu)
}

// HoldToken is Hold, giving the hold as a Token.
func (v *Virtual) HoldToken() *Token {
	t := &Token{v: v}
	v.mu.Lock()
	v.toks = append(v.toks, t)
	v.takeLocked(1)
	v.mu.Unlock()
	return t
}

// Release releases the hold (once; later calls do nothing). A token on
// loan leaves the loan: the sleeper takes one hold fewer back.
func (t *Token) Release() {
	if t == nil {
		return
	}
	v := t.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if t.done {
		return
	}
	t.done = true
	if k := slices.Index(v.toks, t); k >= 0 {
		v.toks = slices.Delete(v.toks, k, k+1)
	}
	if l := t.lent; l != nil {
		t.lent = nil
		if k := slices.Index(l.toks, t); k >= 0 {
			l.toks = slices.Delete(l.toks, k, k+1)
		}
		return
	}
	v.letGoLocked(1)
}

// takeLocked counts n more holds in force (v.mu held).
func (v *Virtual) takeLocked(n int) {
	if n <= 0 {
		return
	}
	if v.holds == 0 {
		v.idle = make(chan struct{})
	}
	v.holds += n
}

// letGoLocked counts n holds fewer in force (v.mu held).
func (v *Virtual) letGoLocked(n int) {
	v.holds -= n
	if v.holds < 0 {
		panic("vclock: release without a hold")
	}
	if v.holds == 0 && n > 0 {
		close(v.idle)
		v.idle = nil
	}
}

// Holds returns the number of holds in force.
func (v *Virtual) Holds() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.holds
}

// WaitIdle waits until no hold is in force, or ctx ends (its error).
func (v *Virtual) WaitIdle(ctx context.Context) error {
	for {
		v.mu.Lock()
		idle := v.idle
		v.mu.Unlock()
		if idle == nil {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Next returns the time of the earliest timer set, and false if there is
// none.
func (v *Virtual) Next() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.timers) == 0 {
		return time.Time{}, false
	}
	return v.timers[0].at, true
}

// AdvanceTo moves the clock to t, firing every timer due by then in
// order: before each timer fires, and before the clock reaches t, it
// waits until no hold is in force (WaitIdle), so what an earlier timer or
// the work in hand set in motion happens at its own instant. A t before
// the clock's time fires what is due and leaves the time as it is (the
// clock never goes back). It returns ctx's error if ctx ends while it
// waits, leaving the clock at the last timer fired.
func (v *Virtual) AdvanceTo(ctx context.Context, t time.Time) error {
	v.adv.Lock()
	defer v.adv.Unlock()
	for {
		if err := v.WaitIdle(ctx); err != nil {
			return err
		}
		v.mu.Lock()
		if t.Before(v.now) {
			t = v.now
		}
		if len(v.timers) == 0 || v.timers[0].at.After(t) {
			if t.After(v.now) {
				v.now = t
			}
			v.mu.Unlock()
			return nil
		}
		tm := heap.Pop(&v.timers).(*vtimer)
		if tm.at.After(v.now) {
			v.now = tm.at
		}
		v.mu.Unlock()
		tm.f()
	}
}

// Sleep waits until d has passed on c, or ctx ends (ctx's error). On a
// Virtual clock the caller must be holding it (Hold): Sleep lends one hold
// for the wait, so the clock can reach the wake-up, and the caller, once
// woken, holds the clock again (it is SleepLending of 1). On the Wall
// clock it is an ordinary sleep.
func Sleep(ctx context.Context, c Clock, d time.Duration) error {
	return SleepLending(ctx, c, d, 1)
}

// wallSleep is an ordinary sleep of d, or until ctx ends (ctx's error).
func wallSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WithTimeout returns a context that ends when d has passed on c, or when
// parent ends, whichever is first; its error is then
// context.DeadlineExceeded (or parent's). On the Wall clock it is
// context.WithTimeout.
func WithTimeout(parent context.Context, c Clock, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := c.(*Virtual); !ok {
		return context.WithTimeout(parent, d)
	}
	ctx, cancel := context.WithCancelCause(parent)
	stop := c.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
	return &causeCtx{ctx}, func() {
		stop()
		cancel(context.Canceled)
	}
}

// causeCtx reports its cause as its error, so a virtual deadline reads as
// context.DeadlineExceeded as a real one does.
type causeCtx struct{ context.Context }

func (c *causeCtx) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	return context.Cause(c.Context)
}

type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
