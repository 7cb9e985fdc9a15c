package emu

import (
	"container/heap"
	"time"
)

// The virtual clock counts cycles: instructions retired (one instruction
// is one cycle) plus the cycles skipped while the core slept. Virtual time
// is cycles / Hz. Timers are kept in cycles so a timer fires after
// exactly the instruction it is due at, whatever the run loop's quanta.

// DefaultHz is the virtual clock's default frequency: the STM32U585's
// maximum system clock, 160 MHz.
const DefaultHz = 160_000_000

// timer is a virtual timer. A cancelled timer stays in the heap until it
// comes up and is then dropped.
type timer struct {
	at        uint64 // cycle
	seq       uint64 // ties fire in the order the timers were set
	fn        func(m *Machine)
	cancelled bool
	index     int
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.index = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

// cycles is the virtual clock in cycles.
func (m *Machine) cycles() uint64 { return m.cpu.Instructions + m.skipped }

// durationOf converts cycles to virtual time without overflowing for any
// run shorter than ~290 years.
func (m *Machine) durationOf(cyc uint64) time.Duration {
	s, r := cyc/m.hz, cyc%m.hz
	return time.Duration(s)*time.Second + time.Duration(r*uint64(time.Second)/m.hz)
}

// cyclesOf converts virtual time to cycles, rounding up (a timer never
// fires early).
func (m *Machine) cyclesOf(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	ns := uint64(d)
	s, r := ns/uint64(time.Second), ns%uint64(time.Second)
	return s*m.hz + (r*m.hz+uint64(time.Second)-1)/uint64(time.Second)
}

// Now returns the virtual time since the machine was made (a reset the
// firmware requests does not restart the clock). Call it on the machine
// goroutine (hooks, devices, Options.Trap, Exec and At functions); other
// goroutines read Published.
func (m *Machine) Now() time.Duration { return m.durationOf(m.cycles()) }

// Published returns the virtual time at the last run-loop boundary (at
// most one quantum behind Now); any goroutine may call it.
func (m *Machine) Published() time.Duration { return m.durationOf(m.published.Load()) }

// At calls fn on the machine goroutine once virtual time reaches t (at
// once, at the next instruction boundary, if t has passed). Call it on the
// machine goroutine; other goroutines wrap it in Exec.
func (m *Machine) At(t time.Duration, fn func()) {
	m.atCycle(m.cyclesOf(t), func(*Machine) { fn() })
}

// atCycle sets a timer at cycle at and shortens the running quantum if
// the timer falls inside it.
func (m *Machine) atCycle(at uint64, fn func(m *Machine)) *timer {
	m.timerSeq++
	t := &timer{at: at, seq: m.timerSeq, fn: fn}
	heap.Push(&m.timers, t)
	if at < m.quantumEnd {
		m.kick()
	}
	return t
}

// cancel stops t (nil is allowed).
func (m *Machine) cancel(t *timer) {
	if t != nil {
		t.cancelled = true
	}
}

// nextTimer returns the cycle of the earliest live timer.
func (m *Machine) nextTimer() (uint64, bool) {
	for len(m.timers) > 0 {
		t := m.timers[0]
		if !t.cancelled {
			return t.at, true
		}
		heap.Pop(&m.timers)
	}
	return 0, false
}

// fireTimers runs every timer due at or before the current cycle, in
// order; a timer set by one of them for a passed cycle runs too.
func (m *Machine) fireTimers() {
	for {
		at, ok := m.nextTimer()
		if !ok || at > m.cycles() {
			return
		}
		t := heap.Pop(&m.timers).(*timer)
		t.fn(m)
	}
}
