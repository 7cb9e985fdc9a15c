package cpu

import "encoding/binary"

// Decoded instructions are cached per 4 KiB page of every executable
// region: one inst per halfword address, decoded on first execution.
const (
	pageShift = 12
	pageSize  = 1 << pageShift
	pageInsts = pageSize / 2
)

type page [pageInsts]inst

// region is a Region prepared for the fast paths.
type region struct {
	base, size uint32
	data       []byte
	exec       bool
	writable   bool
	pages      []*page // exec regions: decoded code per page, nil until run
	// wslow has one byte per page: nonzero sends a store there to the
	// slow path (slowCode: the page holds decoded code; slowGuard: it
	// overlaps a guarded range). The fast path reads this byte only.
	wslow []uint8
}

// wslow bits.
const (
	slowCode  = 1 << 0
	slowGuard = 1 << 1
)

// memState is the core's view of Regions. rtab/wtab give, per 256 MiB
// window (addr>>28), the one region a read/write there may hit on the fast
// path (nil: slow path). Watchpoints empty them so every access is checked.
type memState struct {
	regs  []region
	src   []Region
	rtab  [16]*region
	wtab  [16]*region
	ready bool
}

// prepare (re)builds the memory view when Regions changed.
func (c *CPU) prepare() {
	m := &c.m
	if m.ready && len(m.src) == len(c.Regions) && (len(m.src) == 0 || &m.src[0] == &c.Regions[0]) {
		return
	}
	m.src = c.Regions
	m.regs = make([]region, 0, len(c.Regions))
	for _, r := range c.Regions {
		if len(r.Data) < 4 {
			continue
		}
		np := (len(r.Data) + pageSize - 1) / pageSize
		g := region{base: r.Base, size: uint32(len(r.Data)), data: r.Data, exec: r.Exec, writable: r.Writable,
			wslow: make([]uint8, np)}
		if r.Exec {
			g.pages = make([]*page, np)
		}
		m.regs = append(m.regs, g)
	}
	m.ready = true
	c.markGuards()
	c.buildTables()
}

// buildTables fills rtab/wtab: a window gets a region when exactly one
// region intersects it (and no watchpoint is set).
func (c *CPU) buildTables() {
	m := &c.m
	m.rtab, m.wtab = [16]*region{}, [16]*region{}
	if len(c.watches) > 0 {
		return
	}
	for w := uint64(0); w < 16; w++ {
		lo, hi := w<<28, (w+1)<<28
		var hit *region
		n := 0
		for i := range m.regs {
			r := &m.regs[i]
			if uint64(r.base) < hi && uint64(r.base)+uint64(r.size) > lo {
				hit = r
				n++
			}
		}
		if n == 1 {
			m.rtab[w] = hit
			if hit.writable {
				m.wtab[w] = hit
			}
		}
	}
}

// find returns the region holding [a, a+n).
func (m *memState) find(a uint32, n uint32) *region {
	for i := range m.regs {
		r := &m.regs[i]
		if o := a - r.base; o < r.size && r.size-o >= n {
			return r
		}
	}
	return nil
}

// raise aborts the current instruction with a fault; run recovers it.
func (c *CPU) raise(k FaultKind, addr uint32) {
	c.faulted = Fault{Kind: k, PC: c.R[15], Addr: addr}
	panic(errFault)
}

type faultSignal struct{}

var errFault = &faultSignal{}

// The accessors below are the fast path (inlined): an access wholly
// inside the one region of its 256 MiB window, aligned or with
// UnalignedTrap clear, and for stores not onto a page holding decoded
// code. Everything else goes through the *s variants.

func (c *CPU) read8(a uint32) uint32 {
	if r := c.m.rtab[a>>28]; r != nil && a-r.base < r.size {
		return uint32(r.data[a-r.base])
	}
	return c.readSlow(a, 1)
}

func (c *CPU) read16(a uint32) uint32 {
	if r := c.m.rtab[a>>28]; r != nil && a-r.base < r.size-1 && (a&1 == 0 || !c.UnalignedTrap) {
		return uint32(binary.LittleEndian.Uint16(r.data[a-r.base:]))
	}
	return c.read16s(a)
}

func (c *CPU) read16s(a uint32) uint32 {
	if a&1 != 0 && c.UnalignedTrap {
		c.raise(FaultUnaligned, a)
	}
	return c.readSlow(a, 2)
}

func (c *CPU) read32(a uint32) uint32 {
	if r := c.m.rtab[a>>28]; r != nil && a-r.base < r.size-3 && (a&3 == 0 || !c.UnalignedTrap) {
		return binary.LittleEndian.Uint32(r.data[a-r.base:])
	}
	return c.read32s(a)
}

func (c *CPU) read32s(a uint32) uint32 {
	if a&3 != 0 && c.UnalignedTrap {
		c.raise(FaultUnaligned, a)
	}
	return c.readSlow(a, 4)
}

// read32a is a word read that must be aligned (LDM, LDRD, exclusives).
func (c *CPU) read32a(a uint32) uint32 {
	if r := c.m.rtab[a>>28]; r != nil && a-r.base < r.size-3 && a&3 == 0 {
		return binary.LittleEndian.Uint32(r.data[a-r.base:])
	}
	return c.read32as(a)
}

func (c *CPU) read32as(a uint32) uint32 {
	if a&3 != 0 {
		c.raise(FaultUnaligned, a)
	}
	return c.readSlow(a, 4)
}

// clean reports whether a store at offset o may take the fast path: its
// page holds no decoded code and no guarded range.
func (r *region) clean(o uint32) bool {
	return r.wslow[o>>pageShift] == 0
}

// setPage installs decoded-code page pg of r (nil drops it), keeping
// wslow's slowCode bit in step.
func (r *region) setPage(pg uint32, p *page) {
	r.pages[pg] = p
	if p != nil {
		r.wslow[pg] |= slowCode
	} else {
		r.wslow[pg] &^= slowCode
	}
}

func (c *CPU) write8(a, v uint32) {
	if r := c.m.wtab[a>>28]; r != nil && a-r.base < r.size && r.clean(a-r.base) {
		r.data[a-r.base] = byte(v)
		return
	}
	c.writeSlow(a, 1, v)
}

func (c *CPU) write16(a, v uint32) {
	if r := c.m.wtab[a>>28]; r != nil && a-r.base < r.size-1 && a&1 == 0 && r.clean(a-r.base) {
		binary.LittleEndian.PutUint16(r.data[a-r.base:], uint16(v))
		return
	}
	c.write16s(a, v)
}

func (c *CPU) write16s(a, v uint32) {
	if a&1 != 0 && c.UnalignedTrap {
		c.raise(FaultUnaligned, a)
	}
	c.writeSlow(a, 2, v)
}

func (c *CPU) write32(a, v uint32) {
	if r := c.m.wtab[a>>28]; r != nil && a-r.base < r.size-3 && a&3 == 0 && r.clean(a-r.base) {
		binary.LittleEndian.PutUint32(r.data[a-r.base:], v)
		return
	}
	c.write32s(a, v)
}

func (c *CPU) write32s(a, v uint32) {
	if a&3 != 0 && c.UnalignedTrap {
		c.raise(FaultUnaligned, a)
	}
	c.writeSlow(a, 4, v)
}

// write32a is a word write that must be aligned (STM, STRD, exclusives).
func (c *CPU) write32a(a, v uint32) {
	if r := c.m.wtab[a>>28]; r != nil && a-r.base < r.size-3 && a&3 == 0 && r.clean(a-r.base) {
		binary.LittleEndian.PutUint32(r.data[a-r.base:], v)
		return
	}
	if a&3 != 0 {
		c.raise(FaultUnaligned, a)
	}
	c.writeSlow(a, 4, v)
}

// storedCode drops decoded instructions a store of n bytes at offset o
// overwrote (including a 32-bit instruction starting 2 bytes before; the
// decoder allocates the page after a 32-bit instruction that crosses into
// it, so a store there reaches this function).
func (c *CPU) storedCode(r *region, o, n uint32) {
	lo := o &^ 1
	if lo >= 2 {
		lo -= 2
	}
	for h := lo; h < o+n && h < r.size; h += 2 {
		if p := r.pages[h>>pageShift]; p != nil {
			p[(h&(pageSize-1))>>1].op = opNone
		}
	}
}

// readSlow: watchpoints, accesses crossing region ends, and the Bus.
func (c *CPU) readSlow(a uint32, n int) uint32 {
	if len(c.watches) > 0 {
		c.checkWatch(a, uint32(n), false)
	}
	if r := c.m.find(a, uint32(n)); r != nil {
		o := a - r.base
		switch n {
		case 1:
			return uint32(r.data[o])
		case 2:
			return uint32(binary.LittleEndian.Uint16(r.data[o:]))
		}
		return binary.LittleEndian.Uint32(r.data[o:])
	}
	if c.m.find(a, 1) != nil || (n > 1 && c.m.find(a+uint32(n)-1, 1) != nil) {
		// straddles a region's end: byte by byte
		var v uint32
		for i := 0; i < n; i++ {
			v |= c.readSlow(a+uint32(i), 1) << (8 * i)
		}
		return v
	}
	if a&uint32(n-1) != 0 {
		if device(a) {
			c.raise(FaultUnaligned, a)
		}
		// Normal memory: allowed, byte by byte (a missing byte is the
		// BusFault, at the access's first missing byte)
		var v uint32
		for i := 0; i < n; i++ {
			v |= c.readSlow(a+uint32(i), 1) << (8 * i)
		}
		return v
	}
	if c.Bus != nil {
		if v, ok := c.Bus.Load(a, n); ok {
			if n < 4 {
				v &= 1<<(8*n) - 1
			}
			return v
		}
	}
	c.busFault(a)
	return 0
}

// busFault raises the precise data BusFault for an access at a, unless
// CCR.BFHFNMIGN ignores it (BusFaultIgnoreNeg): the access then does
// nothing (a load reads zero).
func (c *CPU) busFault(a uint32) {
	if !(c.BusFaultIgnoreNeg && c.negativePriority()) {
		c.raise(FaultPreciseData, a)
	}
}

func (c *CPU) writeSlow(a uint32, n int, v uint32) {
	if len(c.watches) > 0 {
		c.checkWatch(a, uint32(n), true)
	}
	if r := c.m.find(a, uint32(n)); r != nil {
		if !r.writable {
			c.busFault(a)
			return
		}
		if len(c.guards) > 0 {
			if g, ok := c.Guarded(a, uint32(n)); ok {
				c.raise(FaultDataAccess, max(a, g.Addr))
			}
		}
		o := a - r.base
		switch n {
		case 1:
			r.data[o] = byte(v)
		case 2:
			binary.LittleEndian.PutUint16(r.data[o:], uint16(v))
		default:
			binary.LittleEndian.PutUint32(r.data[o:], v)
		}
		if r.pages != nil {
			c.storedCode(r, o, uint32(n))
		}
		return
	}
	if c.m.find(a, 1) != nil || (n > 1 && c.m.find(a+uint32(n)-1, 1) != nil) {
		for i := 0; i < n; i++ {
			c.writeSlow(a+uint32(i), 1, v>>(8*i))
		}
		return
	}
	if a&uint32(n-1) != 0 {
		if device(a) {
			c.raise(FaultUnaligned, a)
		}
		for i := 0; i < n; i++ {
			c.writeSlow(a+uint32(i), 1, v>>(8*i))
		}
		return
	}
	if c.Bus != nil && c.Bus.Store(a, n, v) {
		return
	}
	c.busFault(a)
}

// device reports whether a is Device memory in the ARMv8-M default
// memory map (Peripheral 0x40000000-0x5FFFFFFF, External device
// 0xA0000000-0xDFFFFFFF, the System region above): an unaligned access
// there faults (UNALIGNED) even with CCR.UNALIGN_TRP clear; elsewhere
// (Code, SRAM, RAM: Normal memory) it is allowed.
func device(a uint32) bool { return a>>29 == 2 || a >= 0xa000_0000 }

// InvalidateCode drops decoded instructions for [addr, addr+n): after a
// loader or debugger wrote code behind the core's back.
func (c *CPU) InvalidateCode(addr, n uint32) {
	c.prepare()
	c.stop.Or(stopCode) // if called during an instruction: Run re-reads its page
	for i := range c.m.regs {
		r := &c.m.regs[i]
		if r.pages == nil {
			continue
		}
		lo, hi := uint64(addr), uint64(addr)+uint64(n)
		rlo, rhi := uint64(r.base), uint64(r.base)+uint64(r.size)
		if lo < rlo {
			lo = rlo
		}
		if hi > rhi {
			hi = rhi
		}
		if lo >= hi {
			continue
		}
		o, e := uint32(lo-rlo), uint32(hi-rlo)
		for pg := o >> pageShift; pg <= (e-1)>>pageShift; pg++ {
			ps, pe := pg<<pageShift, pg<<pageShift+pageSize
			if o <= ps && e >= pe {
				r.setPage(pg, nil)
				continue
			}
			s, t := max(o, ps), min(e, pe)
			c.storedCode(r, s, t-s)
		}
		if o&(pageSize-1) < 2 && o >= 2 {
			c.storedCode(r, o, 1)
		}
	}
}
