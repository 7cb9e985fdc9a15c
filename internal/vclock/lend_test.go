package vclock

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// SleepLending lets go of the holds it waits for (as many as are in
// force), so the clock reaches the wake-up, and takes them all back
// before it moves past it.
func TestSleepLending(t *testing.T) {
	v := NewVirtual(t0)
	mine, theirs := v.Hold(), v.Hold()
	woke := make(chan time.Duration, 1)
	go func() {
		if err := SleepLending(context.Background(), v, 2*time.Second, 3); err != nil {
			t.Error(err)
		}
		if v.Holds() != 2 { // before woke: then the test releases theirs
			t.Errorf("woken with %d holds, want the 2 lent", v.Holds())
		}
		woke <- v.Now().Sub(t0)
		mine()
	}()
	advanced := make(chan error, 1)
	go func() { advanced <- v.AdvanceTo(context.Background(), t0.Add(5*time.Second)) }()
	if got := <-woke; got != 2*time.Second {
		t.Fatalf("woke at %v, want 2s", got)
	}
	select {
	case err := <-advanced:
		t.Fatalf("AdvanceTo returned (%v) while a lent hold is back in force", err)
	default:
	}
	theirs()
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if v.Holds() != 0 || v.Now() != t0.Add(5*time.Second) {
		t.Fatalf("Holds %d, Now %v", v.Holds(), v.Now().Sub(t0))
	}
}

// A cancelled SleepLending gives back every hold it lent.
func TestSleepLendingCancelled(t *testing.T) {
	v := NewVirtual(t0)
	mine, theirs := v.Hold(), v.Hold()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- SleepLending(ctx, v, time.Hour, 2) }()
	untilLent(t, v)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SleepLending = %v", err)
	}
	if v.Holds() != 2 {
		t.Fatalf("Holds after a cancelled SleepLending = %d, want 2", v.Holds())
	}
	mine()
	theirs()
	if _, ok := v.Next(); ok {
		t.Fatal("the cancelled sleep's timer is still set")
	}
}

// A holder that releases its hold while SleepLending has it on loan (its
// work ended another way) does not panic: the sleeper takes back one hold
// fewer, and the count ends balanced.
func TestSleepLendingHolderReleasesDuringLoan(t *testing.T) {
	v := NewVirtual(t0)
	mine, theirs := v.Hold(), v.Hold()
	woke := sleepThen(t, v, func() error { return SleepLending(context.Background(), v, 2*time.Second, 2) }, mine)
	untilLent(t, v)
	theirs() // on loan: must not panic
	if err := v.AdvanceTo(ctxTimeout(t), t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := <-woke; got != 1 {
		t.Fatalf("woken with %d holds, want 1 (the sleeper's own)", got)
	}
	if err := v.WaitIdle(ctxTimeout(t)); err != nil {
		t.Fatal(err)
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}

// rv-cloud #7: a hold released while a loan of others is out does not
// steal one: with holds X, R and the sleeper's own, a loan of the
// sleeper's and R's (by identity), R releasing settles the loan and X
// still holds the clock; so does a hold not on loan released meanwhile.
func TestLoanReleaseStealsNothing(t *testing.T) {
	v := NewVirtual(t0)
	x := v.Hold()
	r := v.HoldToken()
	mine := v.HoldToken()
	ctx := WithHolds(context.Background(), r, mine)
	woke := sleepThen(t, v, func() error { return SleepLending(ctx, v, 2*time.Second, 0) }, mine.Release)
	// The loan is out once only X is in force.
	poll.Until(t, "the loan out", func() bool { return v.Holds() == 1 })
	r.Release() // on loan: settles it
	if n := v.Holds(); n != 1 {
		t.Fatalf("%d holds in force after R released its lent hold, want X's 1", n)
	}
	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	if err := v.AdvanceTo(short, t0.Add(time.Second)); err == nil || v.Now() != t0 {
		t.Fatalf("the clock moved to %v while X holds it", v.Now().Sub(t0))
	}
	advanced := make(chan error, 1)
	go func() { advanced <- v.AdvanceTo(ctxTimeout(t), t0.Add(5*time.Second)) }()
	x()
	if got := <-woke; got != 1 {
		t.Fatalf("woken with %d holds, want 1 (the sleeper's own; R's left the loan)", got)
	}
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if v.Holds() != 0 || v.Now() != t0.Add(5*time.Second) {
		t.Fatalf("Holds %d, Now %v", v.Holds(), v.Now().Sub(t0))
	}
}

// Holds lent while a Loan's Sleep waits go out at once (work that began
// waiting for the sleeper meanwhile), and come back with the rest; lent
// after it, they stay with their holders.
func TestLoanLendWhileOut(t *testing.T) {
	v := NewVirtual(t0)
	mine := v.Hold()
	l := NewLoan(v)
	l.Lend(1)
	woke := sleepThen(t, v, func() error { return l.Sleep(context.Background(), 2*time.Second) }, mine)
	untilLent(t, v)
	later := v.Hold() // new work behind the sleeper
	l.Lend(1)
	if v.Holds() != 0 {
		t.Fatalf("%d holds after lending the new one, want 0", v.Holds())
	}
	advanced := make(chan error, 1)
	go func() { advanced <- v.AdvanceTo(ctxTimeout(t), t0.Add(5*time.Second)) }()
	if got := <-woke; got != 2 {
		t.Fatalf("woken with %d holds, want 2 (the sleeper's and the later work's)", got)
	}
	l.Lend(1) // after: nothing
	later()
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	if v.Holds() != 0 || v.Now() != t0.Add(5*time.Second) {
		t.Fatalf("Holds %d, Now %v", v.Holds(), v.Now().Sub(t0))
	}
}

// untilLent waits until no hold is in force on v: a sleeper has lent
// them (the test holds none itself).
func untilLent(t *testing.T, v *Virtual) {
	t.Helper()
	for v.Holds() != 0 {
		if err := v.WaitIdle(ctxTimeout(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// sleepThen runs sleep on a goroutine, then sends the holds in force as
// it wakes and calls release (the sleeper's own hold).
func sleepThen(t *testing.T, v *Virtual, sleep func() error, release func()) <-chan int {
	woke := make(chan int, 1)
	go func() {
		if err := sleep(); err != nil {
			t.Error(err)
		}
		woke <- v.Holds()
		release()
	}()
	return woke
}
