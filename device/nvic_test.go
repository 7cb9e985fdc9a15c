package device

import (
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"sync"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Within(t, 5*time.Second, what, cond)
}

type calls struct {
	mu sync.Mutex
	n  map[uint32]int
}

func (c *calls) handler(irq uint32) {
	c.mu.Lock()
	c.n[irq]++
	c.mu.Unlock()
}

func (c *calls) get(irq uint32) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[irq]
}

func TestNVICDeliversOncePerPend(t *testing.T) {
	n := newNVIC()
	defer n.close()
	c := &calls{n: map[uint32]int{}}
	n.SetHandler(51, c.handler)
	n.Enable(51)
	for range 5 {
		n.Pend(51)
	}
	waitFor(t, "five deliveries", func() bool { return c.get(51) == 5 })
	if p := n.Pending(51); p != 0 {
		t.Errorf("pending after delivery = %d, want 0", p)
	}
	if got := n.Pends(51); got != 5 {
		t.Errorf("Pends = %d, want 5", got)
	}
}

func TestNVICHoldsPendsWhileDisabled(t *testing.T) {
	n := newNVIC()
	defer n.close()
	c := &calls{n: map[uint32]int{}}
	n.SetHandler(45, c.handler)
	n.Pend(45)
	n.Pend(45)
	// A disabled IRQ is never delivered: the NVIC goroutine has been kicked
	// by each Pend; give it a delivery of another, enabled IRQ to prove it
	// has run since.
	n.SetHandler(41, c.handler)
	n.Enable(41)
	n.Pend(41)
	waitFor(t, "the enabled IRQ", func() bool { return c.get(41) == 1 })
	if got := c.get(45); got != 0 {
		t.Fatalf("disabled IRQ delivered %d times", got)
	}
	if p := n.Pending(45); p != 2 {
		t.Fatalf("pending while disabled = %d, want 2", p)
	}
	n.Enable(45)
	waitFor(t, "held pends", func() bool { return c.get(45) == 2 })

	n.Disable(45)
	n.Pend(45)
	n.Pend(41)
	waitFor(t, "the enabled IRQ again", func() bool { return c.get(41) == 2 })
	if got := c.get(45); got != 2 {
		t.Fatalf("IRQ delivered after Disable: %d", got)
	}
}

func TestDeviceCloseIsIdempotent(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
