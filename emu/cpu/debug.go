package cpu

// watch is one watchpoint: accesses overlapping [addr, addr+n).
type watch struct {
	addr, n     uint32
	read, write bool
}

// SetBreakpoint makes Run stop (StopBreakpoint) before executing the
// instruction at addr, or before trapping there when addr is outside
// every executable region.
func (c *CPU) SetBreakpoint(addr uint32) {
	if c.bps == nil {
		c.bps = map[uint32]bool{}
	}
	c.bps[addr&^1] = true
	c.InvalidateCode(addr&^1, 2)
}

// ClearBreakpoint removes a breakpoint set at addr.
func (c *CPU) ClearBreakpoint(addr uint32) {
	delete(c.bps, addr&^1)
	c.InvalidateCode(addr&^1, 2)
}

// SetWatchpoint makes Run stop (StopWatchpoint) after an instruction
// that read (read) or wrote (write) any byte of [addr, addr+n).
func (c *CPU) SetWatchpoint(addr, n uint32, read, write bool) {
	if n == 0 {
		n = 1
	}
	c.ClearWatchpoint(addr, n)
	c.watches = append(c.watches, watch{addr, n, read, write})
	c.prepare()
	c.buildTables()
}

// ClearWatchpoint removes the watchpoint set on [addr, addr+n).
func (c *CPU) ClearWatchpoint(addr, n uint32) {
	if n == 0 {
		n = 1
	}
	w := c.watches[:0]
	for _, x := range c.watches {
		if x.addr != addr || x.n != n {
			w = append(w, x)
		}
	}
	c.watches = w
	c.prepare()
	c.buildTables()
}

// checkWatch records a hit: Run returns StopWatchpoint after the
// instruction completes.
func (c *CPU) checkWatch(a, n uint32, write bool) {
	for _, w := range c.watches {
		if a < w.addr+w.n && w.addr < a+n && (write && w.write || !write && w.read) {
			if c.stop.Load()&stopWatch == 0 {
				c.WatchAddr, c.WatchWrite = max(a, w.addr), write
				c.stop.Or(stopWatch)
			}
			return
		}
	}
}
