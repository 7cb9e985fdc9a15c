package cpu

import "math/bits"

// Stop is why Run returned.
type Stop uint8

const (
	StopBudget     Stop = iota // budget instructions retired
	StopRequested              // RequestStop was called (from any goroutine, or from a hook / device during an instruction), or an instruction may have unmasked an exception
	StopBreakpoint             // PC is at a breakpoint (the instruction there is NOT executed)
	StopWatchpoint             // an access hit a watchpoint (the accessing instruction completed); WatchAddr says where
)

// Bits of CPU.stop.
const (
	stopReq   = 1
	stopWatch = 2
	// stopCode: code was invalidated during an instruction (a device or
	// hook called InvalidateCode); the loop drops its cached page and goes
	// on without returning.
	stopCode = 4
)

// Events an instruction leaves for the loop to hand to the machine once
// it has retired.
const (
	evNone = iota
	evSVC
	evExcRet
	evWFI
	evWFE
	evUnmask
	evInvState
)

// ClearExclusive clears the local exclusive monitor: the machine calls it
// on exception entry and return, as the architecture does, so a STREX
// after an interrupted LDREX fails.
func (c *CPU) ClearExclusive() { c.exclValid = false }

// RequestStop makes Run return StopRequested at the next instruction
// boundary. It may be called from any goroutine.
func (c *CPU) RequestStop() { c.stop.Or(stopReq) }

// stopPending reports a stop Run must return for (not stopCode).
func (c *CPU) stopPending() bool { return c.stop.Load()&^stopCode != 0 }

func (c *CPU) takeStop() Stop {
	v := c.stop.Swap(0) &^ stopCode
	if v&stopWatch != 0 {
		if v&stopReq != 0 {
			c.stop.Or(stopReq) // keep the request for the next Run
		}
		return StopWatchpoint
	}
	return StopRequested
}

// Run executes instructions until budget instructions retired or a stop
// (see Stop). Hooks run inline, on the caller's goroutine. A trapped
// system call (Hooks.Trap returning true) counts as one instruction.
// Hooks.Fault must change the state (take the exception) or request a
// stop: the core resumes at PC after it.
func (c *CPU) Run(budget uint64) Stop {
	c.stop.And(^uint32(stopCode)) // a new run looks its code up afresh
	if c.stopPending() {
		return c.takeStop()
	}
	return c.runFor(budget, false)
}

// Step executes exactly one instruction, ignoring a breakpoint at the
// current PC.
func (c *CPU) Step() Stop {
	if pc := c.R[15]; c.bps[pc] {
		c.ClearBreakpoint(pc)
		defer c.SetBreakpoint(pc)
	}
	return c.runFor(1, true)
}

func (c *CPU) runFor(budget uint64, step bool) Stop {
	c.prepare()
	end := c.Instructions + budget
	for {
		s, faulted := c.exec(end, step)
		if !faulted {
			return s
		}
		c.R[15] = c.faulted.PC
		c.Hooks.Fault(c, c.faulted)
		if c.stopPending() {
			return c.takeStop()
		}
		if step {
			return StopBudget
		}
	}
}

// exec is the dispatch loop. An instruction that faults panics (raise);
// exec recovers and reports it, and runFor hands it to Hooks.Fault.
func (c *CPU) exec(end uint64, step bool) (stop Stop, faulted bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != any(errFault) {
				panic(r)
			}
			faulted = true
		}
	}()
	// pc and n live in registers: the loop carries no dependency through
	// memory (c.R[15] and c.Instructions are stored, not reloaded, except
	// after a hook, which may change them).
	// pg is the page of decoded instructions holding pc: [pgBase,
	// pgBase+pgLen] of region cr. pgLen = 0 forces a lookup (after a hook,
	// which may have invalidated code).
	var cr *region
	var pg *page
	var pgBase, pgLen uint32
	pc, n := c.R[15], c.Instructions
	for n < end {
		off := pc - pgBase
		if off >= pgLen {
			cr = c.m.codeRegion(pc)
			if cr == nil {
				pgLen = 0
				s, done := c.outside(pc, step)
				if done {
					return s, false
				}
				pc, n = c.R[15], c.Instructions
				continue
			}
			pi := (pc - cr.base) >> pageShift
			if pg = cr.pages[pi]; pg == nil {
				pg = new(page)
				cr.setPage(pi, pg)
			}
			pgBase = cr.base + pi<<pageShift
			pgLen = min(pageSize, cr.size-pi<<pageShift) - 1
			off = pc - pgBase
		}
		in := &pg[off>>1&(pageInsts-1)]
		it := c.IT
		if it != 0 && in.op > opBreak && !c.cond(it>>4) && in.op != opBKPT {
			c.IT = itAdvance(it)
			pc += uint32(in.size)
			c.R[15] = pc
			n++
			c.Instructions = n
			if c.stopPending() {
				return c.takeStop(), false
			}
			continue
		}
		// R[15] holds this instruction's address while it executes (raise
		// reports it); the decoder resolved every operand that reads PC.
		next := pc + uint32(in.size)
		var ev uint8
		switch in.op {
		case opNone:
			c.decodeInto(in, cr, pc-cr.base, pc)
			continue
		case opBreak:
			return StopBreakpoint, false // Step lifts the breakpoint it starts on
		case opANDi:
			r := c.R[in.rn&15] & in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opBICi:
			r := c.R[in.rn&15] &^ in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opORRi:
			r := c.R[in.rn&15] | in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opORNi:
			r := c.R[in.rn&15] | ^in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opEORi:
			r := c.R[in.rn&15] ^ in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opMOVi:
			r := in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opMVNi:
			r := ^in.imm
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.logicImmFlags(in, r)
			}
		case opTSTi:
			c.logicImmFlags(in, c.R[in.rn&15]&in.imm)
		case opTEQi:
			c.logicImmFlags(in, c.R[in.rn&15]^in.imm)
		case opADDi:
			a := c.R[in.rn&15]
			r := a + in.imm
			if in.rd == 13 {
				c.checkSP(r)
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.addFlags(a, in.imm, r)
			}
		case opSUBi:
			a := c.R[in.rn&15]
			r := a - in.imm
			if in.rd == 13 {
				c.checkSP(r)
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.subFlags(a, in.imm, r)
			}
		case opRSBi:
			a := c.R[in.rn&15]
			r := in.imm - a
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.subFlags(in.imm, a, r)
			}
		case opADCi:
			r, cy, v := adc(c.R[in.rn&15], in.imm, c.C)
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
				c.C, c.V = cy, v
			}
		case opSBCi:
			r, cy, v := adc(c.R[in.rn&15], ^in.imm, c.C)
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
				c.C, c.V = cy, v
			}
		case opCMPi:
			a := c.R[in.rn&15]
			c.subFlags(a, in.imm, a-in.imm)
		case opCMNi:
			a := c.R[in.rn&15]
			c.addFlags(a, in.imm, a+in.imm)

		case opMOVr:
			if in.sh != shNone {
				c.logicReg(in, it)
				break
			}
			r := c.R[in.rm&15]
			if in.rd == 13 {
				c.checkSP(r)
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
			}
		case opANDr, opEORr:
			if in.sh != shNone {
				c.logicReg(in, it)
				break
			}
			r := c.R[in.rn&15] & c.R[in.rm&15]
			if in.op == opEORr {
				r = c.R[in.rn&15] ^ c.R[in.rm&15]
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
			}
		case opBICr, opORRr, opORNr, opMVNr, opTSTr, opTEQr:
			c.logicReg(in, it)
		case opADDr:
			a, b := c.R[in.rn&15], c.opnd(in)
			r := a + b
			if in.rd == 13 {
				c.checkSP(r)
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.addFlags(a, b, r)
			}
		case opSUBr:
			a, b := c.R[in.rn&15], c.opnd(in)
			r := a - b
			if in.rd == 13 {
				c.checkSP(r)
			}
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.subFlags(a, b, r)
			}
		case opRSBr:
			a, b := c.R[in.rn&15], c.opnd(in)
			r := b - a
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.subFlags(b, a, r)
			}
		case opADCr:
			r, cy, v := adc(c.R[in.rn&15], c.opnd(in), c.C)
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
				c.C, c.V = cy, v
			}
		case opSBCr:
			r, cy, v := adc(c.R[in.rn&15], ^c.opnd(in), c.C)
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
				c.C, c.V = cy, v
			}
		case opCMPr:
			a, b := c.R[in.rn&15], c.opnd(in)
			c.subFlags(a, b, a-b)
		case opCMNr:
			a, b := c.R[in.rn&15], c.opnd(in)
			c.addFlags(a, b, a+b)
		case opSHR:
			r, cy := shiftC(c.R[in.rn&15], in.sh, c.R[in.rm&15]&0xff, c.C)
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
				c.C = cy
			}
		case opMUL:
			r := c.R[in.rn&15] * c.R[in.rm&15]
			c.R[in.rd&15] = r
			if sets(in.s, it) {
				c.nz(r)
			}
		case opMLA:
			c.R[in.rd&15] = c.R[in.rn&15]*c.R[in.rm&15] + c.R[in.ra&15]
		case opMLS:
			c.R[in.rd&15] = c.R[in.ra&15] - c.R[in.rn&15]*c.R[in.rm&15]
		case opUDIV:
			d := c.R[in.rm&15]
			if d == 0 {
				if c.DivByZeroTrap {
					c.raise(FaultDivByZero, 0)
				}
				c.R[in.rd&15] = 0
			} else {
				c.R[in.rd&15] = c.R[in.rn&15] / d
			}
		case opSDIV:
			d := int32(c.R[in.rm&15])
			if d == 0 {
				if c.DivByZeroTrap {
					c.raise(FaultDivByZero, 0)
				}
				c.R[in.rd&15] = 0
			} else {
				c.R[in.rd&15] = uint32(int32(c.R[in.rn&15]) / d)
			}
		case opUMULL:
			hi, lo := bits.Mul32(c.R[in.rn&15], c.R[in.rm&15])
			c.R[in.rd&15], c.R[in.ra&15] = lo, hi
		case opSMULL:
			p := int64(int32(c.R[in.rn&15])) * int64(int32(c.R[in.rm&15]))
			c.R[in.rd&15], c.R[in.ra&15] = uint32(p), uint32(uint64(p)>>32)
		case opUMLAL:
			p := uint64(c.R[in.rn&15])*uint64(c.R[in.rm&15]) + (uint64(c.R[in.ra&15])<<32 | uint64(c.R[in.rd&15]))
			c.R[in.rd&15], c.R[in.ra&15] = uint32(p), uint32(p>>32)
		case opSMLAL:
			p := uint64(int64(int32(c.R[in.rn&15]))*int64(int32(c.R[in.rm&15]))) + (uint64(c.R[in.ra&15])<<32 | uint64(c.R[in.rd&15]))
			c.R[in.rd&15], c.R[in.ra&15] = uint32(p), uint32(p>>32)
		case opMOVT:
			c.R[in.rd&15] = c.R[in.rd&15]&0xffff | in.imm<<16
		case opUBFX:
			v := c.R[in.rn&15] >> in.amt
			if in.imm < 32 {
				v &= 1<<in.imm - 1
			}
			c.R[in.rd&15] = v
		case opSBFX:
			sh := 32 - uint32(in.amt) - in.imm
			c.R[in.rd&15] = uint32(int32(c.R[in.rn&15]<<sh) >> (32 - in.imm))
		case opBFI:
			mask := (uint32(1)<<(in.imm-uint32(in.amt)+1) - 1) << in.amt
			c.R[in.rd&15] = c.R[in.rd&15]&^mask | c.R[in.rn&15]<<in.amt&mask
		case opEXT:
			v := c.R[in.rm&15]
			if in.amt != 0 {
				v = bits.RotateLeft32(v, -int(in.amt))
			}
			switch in.sh {
			case 0:
				v = uint32(int32(int16(v)))
			case 1:
				v = uint32(int32(int8(v)))
			case 2:
				v &= 0xffff
			default:
				v &= 0xff
			}
			if in.rn != 15 {
				v += c.R[in.rn&15]
			}
			c.R[in.rd&15] = v

		case opLDRi:
			c.R[in.rd&15] = c.read32(c.R[in.rn&15] + in.imm)
		case opLDRBi:
			c.R[in.rd&15] = c.read8(c.R[in.rn&15] + in.imm)
		case opLDRHi:
			c.R[in.rd&15] = c.read16(c.R[in.rn&15] + in.imm)
		case opLDRSBi:
			c.R[in.rd&15] = uint32(int32(int8(c.read8(c.R[in.rn&15] + in.imm))))
		case opLDRSHi:
			c.R[in.rd&15] = uint32(int32(int16(c.read16(c.R[in.rn&15] + in.imm))))
		case opSTRi:
			c.write32(c.R[in.rn&15]+in.imm, c.R[in.rd&15])
		case opSTRBi:
			c.write8(c.R[in.rn&15]+in.imm, c.R[in.rd&15])
		case opSTRHi:
			c.write16(c.R[in.rn&15]+in.imm, c.R[in.rd&15])
		case opLDRr:
			c.R[in.rd&15] = c.read32(c.R[in.rn&15] + c.R[in.rm&15]<<in.amt)
		case opLDRBr:
			c.R[in.rd&15] = c.read8(c.R[in.rn&15] + c.R[in.rm&15]<<in.amt)
		case opLDRHr:
			c.R[in.rd&15] = c.read16(c.R[in.rn&15] + c.R[in.rm&15]<<in.amt)
		case opLDRSBr:
			c.R[in.rd&15] = uint32(int32(int8(c.read8(c.R[in.rn&15] + c.R[in.rm&15]<<in.amt))))
		case opLDRSHr:
			c.R[in.rd&15] = uint32(int32(int16(c.read16(c.R[in.rn&15] + c.R[in.rm&15]<<in.amt))))
		case opSTRr:
			c.write32(c.R[in.rn&15]+c.R[in.rm&15]<<in.amt, c.R[in.rd&15])
		case opSTRBr:
			c.write8(c.R[in.rn&15]+c.R[in.rm&15]<<in.amt, c.R[in.rd&15])
		case opSTRHr:
			c.write16(c.R[in.rn&15]+c.R[in.rm&15]<<in.amt, c.R[in.rd&15])
		case opLDRlit:
			c.R[in.rd&15] = c.read32(in.imm)
		case opLD:
			a, wb := c.address(in)
			v := c.loadT(in.sh, a)
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}
			if in.rd == 15 {
				next, ev = c.bxWrite(v)
			} else {
				c.R[in.rd&15] = v
			}
		case opST:
			a, wb := c.address(in)
			if in.x&xWB != 0 && in.rn == 13 {
				c.checkSP(wb)
			}
			c.storeT(in.sh, a, c.R[in.rd&15])
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}
		case opLDM, opLDMDB:
			list := in.imm
			n := uint32(bits.OnesCount32(list)) * 4
			a := c.R[in.rn&15]
			wb := a + n
			if in.op == opLDMDB {
				a -= n
				wb = a
			}
			for l := list & 0x7fff; l != 0; l &= l - 1 {
				c.R[bits.TrailingZeros32(l)] = c.read32a(a)
				a += 4
			}
			var pcv uint32
			if list&0x8000 != 0 {
				pcv = c.read32a(a)
			}
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}
			if list&0x8000 != 0 {
				next, ev = c.bxWrite(pcv)
			}
		case opSTM, opSTMDB:
			list := in.imm
			n := uint32(bits.OnesCount32(list)) * 4
			a := c.R[in.rn&15]
			wb := a + n
			if in.op == opSTMDB {
				a -= n
				wb = a
				if in.rn == 13 && in.x&xWB != 0 {
					c.checkSP(a)
				}
			}
			for l := list; l != 0; l &= l - 1 {
				c.write32a(a, c.R[bits.TrailingZeros32(l)])
				a += 4
			}
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}
		case opLDRD:
			a, wb := c.address(in)
			lo, hi := c.read32a(a), c.read32a(a+4)
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}
			c.R[in.rd&15], c.R[in.ra&15] = lo, hi
		case opSTRD:
			a, wb := c.address(in)
			if in.x&xWB != 0 && in.rn == 13 {
				c.checkSP(wb)
			}
			c.write32a(a, c.R[in.rd&15])
			c.write32a(a+4, c.R[in.ra&15])
			if in.x&xWB != 0 {
				c.R[in.rn&15] = wb
			}

		case opB:
			if in.cond == condAL || c.cond(in.cond) {
				next = in.imm
			}
		case opBL:
			c.R[14] = next | 1
			next = in.imm
		case opBX:
			t := c.R[in.rm&15]
			if in.rm == 15 {
				t = in.imm // BX PC
			}
			next, ev = c.bxWrite(t)
		case opBLX:
			t := c.R[in.rm&15]
			c.R[14] = next | 1
			next = t &^ 1
			if t&1 == 0 {
				next, ev = t, evInvState
			}
		case opCBZ:
			if c.R[in.rn&15] == 0 {
				next = in.imm
			}
		case opCBNZ:
			if c.R[in.rn&15] != 0 {
				next = in.imm
			}
		case opTBB, opTBH:
			base := c.R[in.rn&15]
			if in.rn == 15 {
				base = pc + 4 // the table follows the instruction
			}
			if in.op == opTBB {
				next = pc + 4 + 2*c.read8(base+c.R[in.rm&15])
			} else {
				next = pc + 4 + 2*c.read16(base+c.R[in.rm&15]<<1)
			}
		case opADDpc:
			next = (pc + 4 + c.R[in.rm&15]) &^ 1
		case opMOVpc:
			next = c.R[in.rm&15] &^ 1
		case opIT:
			c.IT = uint8(in.imm)
		case opNOP:
		case opBKPT:
			c.R[15] = pc
			c.Hooks.BKPT(c, uint8(in.imm))
			if c.stopPending() {
				return c.takeStop(), false
			}
			if step {
				return StopBudget, false
			}
			pc, n, pgLen = c.R[15], c.Instructions, 0
			continue
		default:
			next, ev = c.execSlow(in, next)
		}
		c.R[15] = next
		pc = next
		if it != 0 {
			c.IT = itAdvance(it)
		}
		n++
		c.Instructions = n
		if ev != evNone {
			if s, done := c.event(ev); done {
				return s, false
			}
			pc, n, pgLen = c.R[15], c.Instructions, 0
		}
		if v := c.stop.Load(); v != 0 {
			if v == stopCode {
				c.stop.And(^uint32(stopCode))
				pgLen = 0
				continue
			}
			return c.takeStop(), false
		}
	}
	return StopBudget, false
}

// logicImmFlags sets N, Z (and C for a rotated modified immediate).
func (c *CPU) logicImmFlags(in *inst, r uint32) {
	c.N, c.Z = int32(r) < 0, r == 0
	if in.x&xImmC != 0 {
		c.C = in.imm>>31 != 0
	}
}

// logicReg runs the logical ops with a (shifted) register operand.
func (c *CPU) logicReg(in *inst, it uint8) {
	b, cy := c.opndC(in)
	a := c.R[in.rn&15]
	var r uint32
	switch in.op {
	case opANDr, opTSTr:
		r = a & b
	case opBICr:
		r = a &^ b
	case opORRr:
		r = a | b
	case opORNr:
		r = a | ^b
	case opEORr, opTEQr:
		r = a ^ b
	case opMOVr:
		r = b
		if in.rd == 13 {
			c.checkSP(r)
		}
	case opMVNr:
		r = ^b
	}
	if in.op != opTSTr && in.op != opTEQr {
		c.R[in.rd&15] = r
	}
	if sets(in.s, it) {
		c.N, c.Z, c.C = int32(r) < 0, r == 0, cy
	}
}

// address computes a load/store address and the write-back value.
func (c *CPU) address(in *inst) (a, wb uint32) {
	if in.x&xLit != 0 {
		return in.imm, 0
	}
	base := c.R[in.rn&15]
	off := in.imm
	if in.x&xReg != 0 {
		off = c.R[in.rm&15] << in.amt
	}
	t := base + off
	if in.x&xSub != 0 {
		t = base - off
	}
	if in.x&xPre != 0 {
		return t, t
	}
	return base, t
}

func (c *CPU) loadT(lt uint8, a uint32) uint32 {
	switch lt {
	case ltB:
		return c.read8(a)
	case ltH:
		return c.read16(a)
	case ltSB:
		return uint32(int32(int8(c.read8(a))))
	case ltSH:
		return uint32(int32(int16(c.read16(a))))
	}
	return c.read32(a)
}

func (c *CPU) storeT(lt uint8, a, v uint32) {
	switch lt {
	case ltB:
		c.write8(a, v)
	case ltH:
		c.write16(a, v)
	default:
		c.write32(a, v)
	}
}

// bxWrite is BXWritePC / LoadWritePC: an EXC_RETURN value in Handler
// mode, an interworking address (bit 0 clear: INVSTATE), or a branch.
func (c *CPU) bxWrite(v uint32) (uint32, uint8) {
	if v >= 0xf0000000 && c.IPSR != 0 {
		c.evArg = v
		return v &^ 1, evExcRet
	}
	if v&1 == 0 {
		return v, evInvState
	}
	return v &^ 1, evNone
}

// event hands a retired instruction's event to the machine; done means
// Run returns s.
func (c *CPU) event(ev uint8) (s Stop, done bool) {
	switch ev {
	case evSVC:
		c.Hooks.SVC(c, uint8(c.evArg))
	case evExcRet:
		c.Hooks.ExceptionReturn(c, c.evArg)
	case evWFI:
		c.Hooks.Sleep(c, false)
	case evWFE:
		c.Hooks.Sleep(c, true)
	case evInvState:
		c.Hooks.Fault(c, Fault{Kind: FaultInvState, PC: c.R[15]})
	case evUnmask:
		if c.stopPending() {
			return c.takeStop(), true
		}
		return StopRequested, true
	}
	return 0, false
}

// codeRegion returns the executable region holding the halfword at pc.
func (m *memState) codeRegion(pc uint32) *region {
	for i := range m.regs {
		r := &m.regs[i]
		if r.exec && pc-r.base < r.size-1 {
			return r
		}
	}
	return nil
}

// decodeInto decodes the instruction at offset off of code region r.
func (c *CPU) decodeInto(in *inst, r *region, off, pc uint32) {
	hw1 := uint16(r.data[off]) | uint16(r.data[off+1])<<8
	var hw2 uint16
	if is32(hw1) {
		if off+3 >= r.size {
			c.R[15] = pc
			c.raise(FaultInstrBus, pc+2)
		}
		hw2 = uint16(r.data[off+2]) | uint16(r.data[off+3])<<8
		if pg := (off + 2) >> pageShift; pg != off>>pageShift && r.pages[pg] == nil {
			r.setPage(pg, new(page)) // so a store there invalidates this instruction
		}
	}
	*in = decode(pc, hw1, hw2)
	if c.bps != nil && c.bps[pc] {
		*in = inst{op: opBreak, size: in.size}
	}
}

// outside handles PC outside every executable region: a breakpoint
// there, a trapped system call, or a fetch fault.
func (c *CPU) outside(pc uint32, step bool) (Stop, bool) {
	if c.bps[pc] && !step {
		return StopBreakpoint, true
	}
	if c.Hooks.Trap(c, pc) {
		c.Instructions++
	} else {
		k := FaultInstrBus
		if c.m.find(pc, 1) != nil {
			k = FaultInstrAccess
		}
		c.Hooks.Fault(c, Fault{Kind: k, PC: pc, Addr: pc})
		if step {
			return StopBudget, true
		}
	}
	if c.stopPending() {
		return c.takeStop(), true
	}
	return 0, false
}
