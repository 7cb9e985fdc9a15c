package cpu

import "fmt"

// Guard is a range of memory the core's stores may not write: a store
// overlapping it is a MemManage data access violation (FaultDataAccess,
// Addr the first guarded byte the store reaches), as an MPU region the
// program may not write makes it on the device. Loads and instruction
// fetches are not affected. What names the range for crash reports ("" if
// unknown).
//
// The machine guards what Microvisor write-protects: a channel's send
// buffer while the channel is open, the server log buffer (spec/abi.md,
// mvOpenChannel, mvServerLoggingInit).
type Guard struct {
	Addr, Len uint32
	What      string
}

func (g Guard) end() uint64 { return uint64(g.Addr) + uint64(g.Len) }

// String describes the range: "0x20001000+512 (what)".
func (g Guard) String() string {
	s := fmt.Sprintf("%#08x+%d", g.Addr, g.Len)
	if g.What != "" {
		s += " (" + g.What + ")"
	}
	return s
}

// AddGuard guards [addr, addr+n). It fails on an empty range, one past
// the end of the address space, or one overlapping a guard already set.
// Stores to the pages it touches leave the fast path until RemoveGuard;
// the rest of those pages stays writable. Call it between runs or from a
// hook (the machine goroutine).
func (c *CPU) AddGuard(addr, n uint32, what string) error {
	g := Guard{addr, n, what}
	if n == 0 || g.end() > 1<<32 {
		return fmt.Errorf("cpu: guard %s: empty or past the end of the address space", g)
	}
	for _, q := range c.guards {
		if uint64(g.Addr) < q.end() && uint64(q.Addr) < g.end() {
			return fmt.Errorf("cpu: guard %s overlaps guard %s", g, q)
		}
	}
	c.guards = append(c.guards, g)
	c.prepare()
	c.markGuards()
	return nil
}

// RemoveGuard removes the guard set on exactly [addr, addr+n); stores to
// pages no other guard touches take the fast path again.
func (c *CPU) RemoveGuard(addr, n uint32) error {
	for i, q := range c.guards {
		if q.Addr == addr && q.Len == n {
			c.guards = append(c.guards[:i], c.guards[i+1:]...)
			c.prepare()
			c.markGuards()
			return nil
		}
	}
	return fmt.Errorf("cpu: no guard on %#08x+%d", addr, n)
}

// Guarded returns the first guard overlapping [addr, addr+n).
func (c *CPU) Guarded(addr, n uint32) (Guard, bool) {
	end := uint64(addr) + uint64(n)
	for _, g := range c.guards {
		if uint64(g.Addr) < end && uint64(addr) < g.end() {
			return g, true
		}
	}
	return Guard{}, false
}

// Guards returns the guards set, in the order they were added.
func (c *CPU) Guards() []Guard { return append([]Guard(nil), c.guards...) }

// markGuards recomputes every region's slowGuard bits from c.guards.
func (c *CPU) markGuards() {
	for i := range c.m.regs {
		r := &c.m.regs[i]
		for pg := range r.wslow {
			r.wslow[pg] &^= slowGuard
		}
		for _, g := range c.guards {
			base := uint64(r.base)
			lo, hi := max(uint64(g.Addr), base), min(g.end(), base+uint64(r.size))
			for pg := (lo - base) >> pageShift; lo < hi && pg <= (hi-1-base)>>pageShift; pg++ {
				r.wslow[pg] |= slowGuard
			}
		}
	}
}
