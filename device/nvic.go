package device

import (
	"slices"
	"sync"
)

// NVIC is a Go stand-in for the Cortex-M interrupt controller: the kernel
// pends IRQs, and a delivery goroutine calls each IRQ's handler once per
// pend while the IRQ is enabled. Pends made while an IRQ is disabled are
// kept and delivered when it is enabled. Unlike hardware, pends are counted
// rather than collapsed into one pending bit, so a handler runs once per
// notification record — the behaviour Microvisor applications rely on.
//
// Handlers run on the NVIC's goroutine, beside the program's own goroutines
// rather than preempting them.
type NVIC struct {
	wake chan struct{}
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	handlers map[uint32]func(irq uint32)
	enabled  map[uint32]bool
	pending  map[uint32]uint64
	pends    map[uint32]uint64 // total pends per IRQ (diagnostics and tests)
	order    []uint32          // IRQs with pending > 0, in first-pended order
}

func newNVIC() *NVIC {
	n := &NVIC{
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		handlers: make(map[uint32]func(uint32)),
		enabled:  make(map[uint32]bool),
		pending:  make(map[uint32]uint64),
		pends:    make(map[uint32]uint64),
	}
	go n.run()
	return n
}

// Pend implements kernel.InterruptController. It never blocks.
func (n *NVIC) Pend(irq uint32) {
	n.mu.Lock()
	if n.pending[irq] == 0 {
		n.order = append(n.order, irq)
	}
	n.pending[irq]++
	n.pends[irq]++
	n.mu.Unlock()
	n.kick()
}

// SetHandler installs the handler for irq (nil removes it).
func (n *NVIC) SetHandler(irq uint32, h func(irq uint32)) {
	n.mu.Lock()
	if h == nil {
		delete(n.handlers, irq)
	} else {
		n.handlers[irq] = h
	}
	n.mu.Unlock()
	n.kick()
}

// Enable enables delivery of irq; pends kept while it was disabled are
// delivered.
func (n *NVIC) Enable(irq uint32) {
	n.mu.Lock()
	n.enabled[irq] = true
	n.mu.Unlock()
	n.kick()
}

// Disable stops delivery of irq; its pends are kept.
func (n *NVIC) Disable(irq uint32) {
	n.mu.Lock()
	n.enabled[irq] = false
	n.mu.Unlock()
}

// Pending returns the number of undelivered pends of irq.
func (n *NVIC) Pending(irq uint32) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pending[irq]
}

// Pends returns how many times irq has been pended in total.
func (n *NVIC) Pends(irq uint32) uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pends[irq]
}

func (n *NVIC) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

func (n *NVIC) close() {
	close(n.stop)
	<-n.done
}

// next takes one deliverable pend, or reports none.
func (n *NVIC) next() (uint32, func(uint32), bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, irq := range n.order {
		h := n.handlers[irq]
		if !n.enabled[irq] || h == nil {
			continue
		}
		n.pending[irq]--
		if n.pending[irq] == 0 {
			n.order = slices.Delete(n.order, i, i+1) // in place: the next Pend reuses the array
		}
		return irq, h, true
	}
	return 0, nil, false
}

func (n *NVIC) run() {
	defer close(n.done)
	for {
		for {
			irq, h, ok := n.next()
			if !ok {
				break
			}
			h(irq)
		}
		select {
		case <-n.wake:
		case <-n.stop:
			return
		}
	}
}
