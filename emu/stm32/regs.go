package stm32

import "fmt"

// regDevice is a model's register block seen a word at a time: read gets
// the aligned offset of the word and how many bytes the access takes (a
// data register pops that many frames); write gets the value already
// shifted into its byte lanes and mask, the lanes written.
type regDevice interface {
	read(off uint32, size int) uint32
	write(off uint32, size int, v, mask uint32)
}

// regAccess adapts a regDevice to bus.Device: byte and halfword accesses
// land in their lanes of the word, and an access with the peripheral's
// clock off is traced once (the model still answers: firmware that forgot
// a clock enable keeps running, and the trace says why it would not on the
// device).
type regAccess struct {
	s    *SoC
	name string
	d    regDevice
	gate *clockGate
}

func (r *regAccess) Load(off uint32, size int) (uint32, bool) {
	shift := 8 * (off & 3)
	if int(off&3)+size > 4 {
		return 0, false
	}
	r.checkClock()
	v := r.d.read(off&^3, size) >> shift
	if size < 4 {
		v &= 1<<(8*size) - 1
	}
	return v, true
}

func (r *regAccess) Store(off uint32, size int, v uint32) bool {
	shift := 8 * (off & 3)
	if int(off&3)+size > 4 {
		return false
	}
	r.checkClock()
	mask := ^uint32(0)
	if size < 4 {
		mask = (1<<(8*size) - 1) << shift
	}
	r.d.write(off&^3, size, v<<shift&mask, mask)
	return true
}

func (r *regAccess) checkClock() {
	if r.gate == nil || r.s.rcc.enabled(*r.gate) {
		return
	}
	r.s.traceOnce("clock "+r.name, fmt.Sprintf("stm32: %s accessed with its clock off (RCC %s bit %d clear)",
		r.name, rccRegName(r.gate.reg), r.gate.bit))
}

// clockGate is a peripheral's clock-enable bit in RCC.
type clockGate struct {
	reg uint32 // RCC register offset
	bit uint32
}

// merge is a register written through the byte lanes in mask.
func merge(old, v, mask uint32) uint32 { return old&^mask | v&mask }

// accepted is a block whose registers are stored and read back, with
// status bits the HAL waits on answered at once (ready): FLASH, PWR,
// ICACHE, DCACHE, SYSCFG … Each register is traced once as accepted.
type accepted struct {
	s    *SoC
	a    *acceptedSpec
	regs map[uint32]uint32
}

// acceptedSpec describes one accepted block.
type acceptedSpec struct {
	name  string
	base  uint32
	clock *clockGate
	// reset values of registers that are not zero at reset.
	reset map[uint32]uint32
	// read, if set, computes what a register reads from what is stored.
	read func(regs map[uint32]uint32, off uint32) uint32
	// write, if set, stores a write (regs[off] = v otherwise).
	write func(regs map[uint32]uint32, off, v uint32)
	// regNames names the registers for the trace.
	regNames map[uint32]string
}

func newAccepted(s *SoC, a *acceptedSpec) *accepted {
	d := &accepted{s: s, a: a, regs: map[uint32]uint32{}}
	for k, v := range a.reset {
		d.regs[k] = v
	}
	return d
}

func (d *accepted) note(off uint32) {
	name := d.a.regNames[off]
	if name == "" {
		name = fmt.Sprintf("offset %#x", off)
	}
	d.s.traceOnce(fmt.Sprintf("acc %#08x", d.a.base+off),
		fmt.Sprintf("stm32: %s %s at %#08x accepted (stored and read back, not modelled further)", d.a.name, name, d.a.base+off))
}

func (d *accepted) read(off uint32, size int) uint32 {
	d.note(off)
	if d.a.read != nil {
		return d.a.read(d.regs, off)
	}
	return d.regs[off]
}

func (d *accepted) write(off uint32, size int, v, mask uint32) {
	d.note(off)
	v = merge(d.regs[off], v, mask)
	if d.a.write != nil {
		d.a.write(d.regs, off, v)
		return
	}
	d.regs[off] = v
}
