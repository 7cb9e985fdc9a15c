package device

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// Centre is a notification centre set up through the device API. Its
// interrupt handler does what a Microvisor application's ISR does: it reads
// the record in the next slot of the ring, clears the slot's event type and
// moves on; the records are then available to Wait.
type Centre struct {
	Handle uint32   // the notification handle
	IRQ    uint32   // the IRQ pended for each record
	Buf    mem.Addr // the ring in application memory
	Slots  uint32

	d *Device

	mu      sync.Mutex
	next    uint32
	queue   []abi.Notification
	changed chan struct{} // made by a waiter; closed (and cleared) when queue grows
	dropped uint64
}

// SetupNotifications allocates a ring of slots records, calls
// mvSetupNotifications with it and enables the IRQ. slots must be at least 2
// (the ring is at least 32 bytes).
func (d *Device) SetupNotifications(irq, slots uint32) (*Centre, abi.Status, error) {
	size := uint64(slots) * 16
	buf, err := d.Arena.Alloc(size, 16)
	if err != nil {
		return nil, 0, err
	}
	c := &Centre{IRQ: irq, Buf: buf, Slots: slots, d: d}
	d.NVIC.SetHandler(irq, c.isr)
	st, err := d.with(func(s *scratch) abi.Status {
		setup := s.alloc(uint64(d.ABI.Struct("MvNotificationSetup").Size()))
		out := s.alloc(8)
		if err := d.ABI.WriteNotificationSetup(d.Arena, setup, abi.NotificationSetup{IRQ: irq, Buffer: buf, BufferSize: uint32(size)}); err != nil {
			panic(err)
		}
		st := d.call("mvSetupNotifications", func() abi.Status { return d.Kernel.SetupNotifications(setup, out) }, func() string { return d.handleAt(out) },
			func() string { return fmt.Sprintf("irq=%d buffer=%v size=%d", irq, buf, size) })
		if st == abi.StatusOkay {
			c.Handle, _ = d.ABI.ReadHandle(d.Arena, out)
		}
		return st
	})
	if err != nil || st != abi.StatusOkay {
		d.NVIC.SetHandler(irq, nil)
		_ = d.Arena.Free(buf)
		return nil, st, err
	}
	d.NVIC.Enable(irq)
	return c, st, nil
}

// CloseNotifications calls mvCloseNotifications and releases the ring.
func (d *Device) CloseNotifications(c *Centre) abi.Status {
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		_ = d.ABI.WriteHandle(d.Arena, p, c.Handle)
		return d.call("mvCloseNotifications", func() abi.Status { return d.Kernel.CloseNotifications(p) }, nil, func() string { return fmt.Sprintf("handle=%#x", c.Handle) })
	})
	if st == abi.StatusOkay {
		d.NVIC.Disable(c.IRQ)
		d.NVIC.SetHandler(c.IRQ, nil)
		_ = d.Arena.Free(c.Buf)
	}
	return st
}

// isr runs on the NVIC goroutine once per pend.
func (c *Centre) isr(uint32) {
	c.mu.Lock()
	slot := c.Buf + mem.Addr(c.next*16)
	var rec [16]byte
	if err := c.d.Arena.Load(rec[:], slot); err != nil {
		c.mu.Unlock()
		return
	}
	n := abi.DecodeNotification(rec[:])
	if n.EventType == abi.EventTypeNoEvent {
		c.mu.Unlock()
		return
	}
	var zero [4]byte
	binary.LittleEndian.PutUint32(zero[:], uint32(abi.EventTypeNoEvent))
	_ = c.d.Arena.Store(slot+8, zero[:])
	c.next = (c.next + 1) % c.Slots
	if len(c.queue) == maxQueued {
		c.queue = c.queue[1:]
		c.dropped++
	}
	c.queue = append(c.queue, n)
	if c.changed != nil { // someone waits: wake them (no channel per notification otherwise)
		close(c.changed)
		c.changed = nil
	}
	c.mu.Unlock()
	c.d.traceNotification(c, n)
}

// maxQueued bounds the notifications a centre keeps for Wait; beyond it
// the oldest are dropped (and counted), as an unread ring would overwrite.
const maxQueued = 4096

// take removes and returns the first queued notification for which keep
// reports true; earlier ones for which drop reports true are discarded.
func (c *Centre) take(keep, drop func(abi.Notification) bool) (abi.Notification, bool, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, n := range c.queue {
		if keep(n) {
			// Compact in place (rest never overtakes the reads), so
			// that the queue keeps its array for the next notification.
			rest := c.queue[:0]
			for _, m := range c.queue[:i] {
				if drop == nil || !drop(m) {
					rest = append(rest, m)
				}
			}
			c.queue = append(rest, c.queue[i+1:]...)
			return n, true, nil
		}
	}
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return abi.Notification{}, false, c.changed
}

func (c *Centre) wait(ctx context.Context, what func() string, keep, drop func(abi.Notification) bool) (abi.Notification, error) {
	for {
		n, ok, changed := c.take(keep, drop)
		if ok {
			return n, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return abi.Notification{}, fmt.Errorf("waiting for %s on centre %#x: %w", what(), c.Handle, ctx.Err())
		}
	}
}

// Wait returns the oldest notification not yet returned, waiting for one
// until ctx ends.
func (c *Centre) Wait(ctx context.Context) (abi.Notification, error) {
	return c.wait(ctx, func() string { return "a notification" }, func(abi.Notification) bool { return true }, nil)
}

// WaitTag returns the oldest notification with the given tag, leaving
// notifications with other tags for other waiters. Several goroutines may
// wait on one centre for different tags.
func (c *Centre) WaitTag(ctx context.Context, tag uint32) (abi.Notification, error) {
	return c.wait(ctx, func() string { return fmt.Sprintf("tag %#x", tag) }, func(n abi.Notification) bool { return n.Tag == tag }, nil)
}

// WaitFor returns the first notification with the given tag and event type.
// Notifications with the same tag and another event type that came before
// it are discarded; other tags are left for other waiters.
func (c *Centre) WaitFor(ctx context.Context, tag uint32, ev abi.EventType) (abi.Notification, error) {
	return c.wait(ctx, func() string { return fmt.Sprintf("%s (tag %#x)", ev, tag) },
		func(n abi.Notification) bool { return n.Tag == tag && n.EventType == ev },
		func(n abi.Notification) bool { return n.Tag == tag })
}

// Drain returns every notification received and not yet returned.
func (c *Centre) Drain() []abi.Notification {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// Dropped returns how many notifications were dropped because nobody
// waited for them and the queue was full.
func (c *Centre) Dropped() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}
