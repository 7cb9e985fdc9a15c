package cpu

import "math/bits"

// execSlow runs the instructions outside the hot switch: system and
// exclusive instructions, DSP, saturation, bit manipulation.
func (c *CPU) execSlow(in *inst, next uint32) (uint32, uint8) {
	r := &c.R
	switch in.op {
	case opSVC:
		c.evArg = in.imm
		return next, evSVC
	case opUDF:
		c.raise(FaultUndefined, 0)
	case opNoCP:
		c.raise(FaultNoCP, 0)
	case opWFI:
		return next, evWFI
	case opWFE:
		return next, evWFE
	case opSEV:
		// A single core: the event SEV signals is this core's own
		// (ARMv8-M ARM, SendEvent: sets the local event register too).
		c.Event = true
	case opCPS:
		if !c.privileged() {
			return next, evNone // ignored when unprivileged
		}
		disable := in.imm&0x10 != 0
		if in.imm&2 != 0 {
			c.PRIMASK = disable
		}
		if in.imm&1 != 0 && (!disable || c.IPSR != excNMI && c.IPSR != excHardFault) {
			c.FAULTMASK = disable
		}
		if !disable {
			return next, evUnmask
		}
	case opMRS:
		r[in.rd&15] = c.mrs(in.imm)
	case opMSR:
		return next, c.msr(in.imm, in.amt, r[in.rn&15])
	case opISB:
		return next, evUnmask
	case opCLREX:
		c.exclValid = false
	case opLDREX:
		a := r[in.rn&15] + in.imm
		c.aligned(a, in.sh)
		v := c.loadT(in.sh, a)
		c.exclValid, c.exclAddr = true, a
		r[in.rd&15] = v
	case opSTREX:
		a := r[in.rn&15] + in.imm
		c.aligned(a, in.sh)
		if c.exclValid && c.exclAddr == a {
			c.storeT(in.sh, a, r[in.rd&15])
			r[in.ra&15] = 0
		} else {
			r[in.ra&15] = 1
		}
		c.exclValid = false
	case opLDA:
		a := r[in.rn&15]
		c.aligned(a, in.sh)
		r[in.rd&15] = c.loadT(in.sh, a)
	case opSTL:
		a := r[in.rn&15]
		c.aligned(a, in.sh)
		c.storeT(in.sh, a, r[in.rd&15])
	case opTT:
		// Non-secure, no MPU: no region information.
		r[in.rd&15] = 0
	case opCLZ:
		r[in.rd&15] = uint32(bits.LeadingZeros32(r[in.rm&15]))
	case opRBIT:
		r[in.rd&15] = bits.Reverse32(r[in.rm&15])
	case opREV:
		r[in.rd&15] = bits.ReverseBytes32(r[in.rm&15])
	case opREV16:
		v := r[in.rm&15]
		r[in.rd&15] = v&0xff00ff00>>8 | v&0x00ff00ff<<8
	case opREVSH:
		r[in.rd&15] = uint32(int32(int16(bits.ReverseBytes16(uint16(r[in.rm&15])))))
	case opSEL:
		var v uint32
		for i := 0; i < 4; i++ {
			src := r[in.rm&15]
			if c.GE>>i&1 != 0 {
				src = r[in.rn&15]
			}
			v |= src & (0xff << (8 * i))
		}
		r[in.rd&15] = v
	case opQADD, opQSUB, opQDADD, opQDSUB:
		n := int64(int32(r[in.rn&15]))
		if in.op == opQDADD || in.op == opQDSUB {
			n = c.sat(ssat(2*n, 32))
		}
		if in.op == opQSUB || in.op == opQDSUB {
			n = -n
		}
		r[in.rd&15] = uint32(c.sat(ssat(int64(int32(r[in.rm&15]))+n, 32)))
	case opSSAT, opUSAT:
		v, _ := shiftC(r[in.rn&15], in.sh, uint32(in.amt), c.C)
		if in.op == opSSAT {
			r[in.rd&15] = uint32(c.sat(ssat(int64(int32(v)), uint(in.imm))))
		} else {
			r[in.rd&15] = uint32(c.sat(usat(int64(int32(v)), uint(in.imm))))
		}
	case opSSAT16, opUSAT16:
		v := r[in.rn&15]
		var out uint32
		for i := 0; i < 2; i++ {
			h := int64(int16(v >> (16 * i)))
			var s int64
			if in.op == opSSAT16 {
				s = c.sat(ssat(h, uint(in.imm)))
			} else {
				s = c.sat(usat(h, uint(in.imm)))
			}
			out |= uint32(s) & 0xffff << (16 * i)
		}
		r[in.rd&15] = out
	case opBFC:
		mask := (uint32(1)<<(in.imm-uint32(in.amt)+1) - 1) << in.amt
		r[in.rd&15] &^= mask
	case opPKH:
		b, _ := shiftC(r[in.rm&15], in.sh, uint32(in.amt), c.C)
		if in.sh == shASR {
			r[in.rd&15] = r[in.rn&15]&0xffff0000 | b&0xffff
		} else {
			r[in.rd&15] = r[in.rn&15]&0xffff | b&0xffff0000
		}
	case opPAR:
		v, ge, setGE := parallel(in.sh, in.amt, r[in.rn&15], r[in.rm&15])
		r[in.rd&15] = v
		if setGE {
			c.GE = ge
		}
	case opEXT16:
		v := bits.RotateLeft32(r[in.rm&15], -int(in.amt))
		lo, hi := v&0xff, v>>16&0xff
		if in.sh == 0 {
			lo, hi = uint32(int32(int8(lo))), uint32(int32(int8(hi)))
		}
		if in.rn != 15 {
			n := r[in.rn&15]
			lo, hi = lo+n, hi+n>>16
		}
		r[in.rd&15] = lo&0xffff | hi<<16
	case opSMULxy, opSMLAxy:
		p := int64(half(r[in.rn&15], in.amt&2 != 0)) * int64(half(r[in.rm&15], in.amt&1 != 0))
		if in.op == opSMLAxy {
			p += int64(int32(r[in.ra&15]))
			c.overflowQ(p)
		}
		r[in.rd&15] = uint32(p)
	case opSMULW, opSMLAW:
		p := int64(int32(r[in.rn&15])) * int64(half(r[in.rm&15], in.amt&1 != 0))
		if in.op == opSMLAW {
			p += int64(int32(r[in.ra&15])) << 16
		}
		v := p >> 16
		if in.op == opSMLAW {
			c.overflowQ(v)
		}
		r[in.rd&15] = uint32(v)
	case opSMUAD, opSMLAD, opSMUSD, opSMLSD:
		m := r[in.rm&15]
		if in.amt&1 != 0 {
			m = bits.RotateLeft32(m, 16)
		}
		p1 := int64(half(r[in.rn&15], false)) * int64(half(m, false))
		p2 := int64(half(r[in.rn&15], true)) * int64(half(m, true))
		var v int64
		if in.op == opSMUAD || in.op == opSMLAD {
			v = p1 + p2
		} else {
			v = p1 - p2
		}
		if in.op == opSMLAD || in.op == opSMLSD {
			v += int64(int32(r[in.ra&15]))
		}
		if in.op != opSMUSD {
			c.overflowQ(v)
		}
		r[in.rd&15] = uint32(v)
	case opSMMUL, opSMMLA, opSMMLS:
		p := int64(int32(r[in.rn&15])) * int64(int32(r[in.rm&15]))
		switch in.op {
		case opSMMLA:
			p = int64(r[in.ra&15])<<32 + p
		case opSMMLS:
			p = int64(r[in.ra&15])<<32 - p
		}
		if in.amt&1 != 0 {
			p += 0x80000000
		}
		r[in.rd&15] = uint32(uint64(p) >> 32)
	case opUSADA8:
		var s uint32
		for i := 0; i < 32; i += 8 {
			a, b := int32(r[in.rn&15]>>i&0xff), int32(r[in.rm&15]>>i&0xff)
			d := a - b
			if d < 0 {
				d = -d
			}
			s += uint32(d)
		}
		if in.ra != 15 {
			s += r[in.ra&15]
		}
		r[in.rd&15] = s
	case opSMLALxy, opSMLALD, opSMLSLD, opUMAAL:
		acc := uint64(r[in.ra&15])<<32 | uint64(r[in.rd&15])
		switch in.op {
		case opSMLALxy:
			acc += uint64(int64(half(r[in.rn&15], in.amt&2 != 0)) * int64(half(r[in.rm&15], in.amt&1 != 0)))
		case opSMLALD, opSMLSLD:
			m := r[in.rm&15]
			if in.amt&1 != 0 {
				m = bits.RotateLeft32(m, 16)
			}
			p1 := int64(half(r[in.rn&15], false)) * int64(half(m, false))
			p2 := int64(half(r[in.rn&15], true)) * int64(half(m, true))
			if in.op == opSMLALD {
				acc += uint64(p1 + p2)
			} else {
				acc += uint64(p1 - p2)
			}
		case opUMAAL:
			acc = uint64(r[in.rn&15])*uint64(r[in.rm&15]) + uint64(r[in.rd&15]) + uint64(r[in.ra&15])
		}
		r[in.rd&15], r[in.ra&15] = uint32(acc), uint32(acc>>32)
	default:
		c.raise(FaultUndefined, 0)
	}
	return next, evNone
}

// half returns the signed bottom (top=false) or top halfword of v.
func half(v uint32, top bool) int32 {
	if top {
		return int32(v) >> 16
	}
	return int32(int16(v))
}

// sat sets Q when a saturation happened and returns the value.
func (c *CPU) sat(v int64, saturated bool) int64 {
	if saturated {
		c.Q = true
	}
	return v
}

// overflowQ sets Q when v does not fit 32 bits signed.
func (c *CPU) overflowQ(v int64) {
	if v != int64(int32(v)) {
		c.Q = true
	}
}

// aligned faults (UNALIGNED) on an unaligned exclusive/acquire/release access.
func (c *CPU) aligned(a uint32, lt uint8) {
	switch lt {
	case ltW:
		if a&3 != 0 {
			c.raise(FaultUnaligned, a)
		}
	case ltH:
		if a&1 != 0 {
			c.raise(FaultUnaligned, a)
		}
	}
}

// parallel runs a parallel add/subtract: prefix pre (parS ... parUH),
// operation op (parADD8 ... parSAX). It returns the result, the GE bits
// and whether the prefix sets GE (S and U).
func parallel(pre, op uint8, a, b uint32) (uint32, uint8, bool) {
	type lane struct {
		sh, ysh uint
		sub     bool
	}
	var lanes []lane
	w := uint(16)
	switch op {
	case parADD8, parSUB8:
		w = 8
		lanes = []lane{{0, 0, op == parSUB8}, {8, 8, op == parSUB8}, {16, 16, op == parSUB8}, {24, 24, op == parSUB8}}
	case parADD16, parSUB16:
		lanes = []lane{{0, 0, op == parSUB16}, {16, 16, op == parSUB16}}
	case parASX:
		lanes = []lane{{0, 16, true}, {16, 0, false}}
	case parSAX:
		lanes = []lane{{0, 16, false}, {16, 0, true}}
	}
	signed := pre <= parSH
	mask := uint32(1)<<w - 1
	var out uint32
	var ge uint8
	for i, l := range lanes {
		x, y := int64(a>>l.sh&mask), int64(b>>l.ysh&mask)
		if signed {
			x, y = x<<(64-w)>>(64-w), y<<(64-w)>>(64-w)
		}
		var s int64
		if l.sub {
			s = x - y
		} else {
			s = x + y
		}
		var g bool
		switch pre {
		case parS:
			g = s >= 0
		case parU:
			g = s >= 0
			if !l.sub {
				g = s >= 1<<w
			}
		case parQ:
			s, _ = ssat(s, w)
		case parUQ:
			s, _ = usat(s, w)
		case parSH, parUH:
			s >>= 1
		}
		out |= uint32(s) & mask << l.sh
		if g {
			if w == 8 {
				ge |= 1 << i
			} else {
				ge |= 3 << (2 * i)
			}
		}
	}
	return out, ge, pre == parS || pre == parU
}

// Exception numbers whose execution priority is negative.
const (
	excNMI       = 2
	excHardFault = 3
)

// Special-purpose register numbers of MRS/MSR (SYSm), ARMv8-M.
const (
	sysMSP       = 8
	sysPSP       = 9
	sysMSPLIM    = 10
	sysPSPLIM    = 11
	sysPRIMASK   = 16
	sysBASEPRI   = 17
	sysBASEPRIMX = 18
	sysFAULTMASK = 19
	sysCONTROL   = 20
)

func (c *CPU) mrs(sysm uint32) uint32 {
	if sysm < 8 { // APSR, IAPSR, EAPSR, XPSR, IPSR, EPSR, IEPSR
		var v uint32
		if sysm&1 != 0 {
			v |= uint32(c.IPSR) & 0x1ff
		}
		if sysm&4 == 0 {
			v |= c.XPSR() & 0xf80f0000
		}
		return v
	}
	priv := c.privileged()
	switch sysm {
	case sysMSP, sysPSP, sysMSPLIM, sysPSPLIM:
		if !priv {
			return 0
		}
		switch sysm {
		case sysMSP:
			return c.MSP()
		case sysPSP:
			return c.PSP()
		case sysMSPLIM:
			return c.MSPLIM
		}
		return c.PSPLIM
	case sysPRIMASK:
		return b2u(c.PRIMASK)
	case sysBASEPRI, sysBASEPRIMX:
		return uint32(c.BASEPRI)
	case sysFAULTMASK:
		return b2u(c.FAULTMASK)
	case sysCONTROL:
		return uint32(c.CONTROL)
	}
	return 0 // the _NS aliases and reserved numbers: RAZ from non-secure state
}

// msr writes a special-purpose register; writes that may unmask an
// exception return evUnmask.
func (c *CPU) msr(sysm uint32, mask uint8, v uint32) uint8 {
	if sysm < 8 {
		if sysm&4 == 0 {
			if mask&2 != 0 {
				c.N, c.Z, c.C, c.V, c.Q = v>>31 != 0, v>>30&1 != 0, v>>29&1 != 0, v>>28&1 != 0, v>>27&1 != 0
			}
			if mask&1 != 0 {
				c.GE = uint8(v>>16) & 15
			}
		}
		return evNone
	}
	if !c.privileged() {
		return evNone
	}
	switch sysm {
	case sysMSP:
		c.SetMSP(v)
	case sysPSP:
		c.SetPSP(v)
	case sysMSPLIM:
		c.MSPLIM = v &^ 7
	case sysPSPLIM:
		c.PSPLIM = v &^ 7
	case sysPRIMASK:
		c.PRIMASK = v&1 != 0
		return evUnmask
	case sysBASEPRI:
		c.SetBASEPRI(uint8(v))
		return evUnmask
	case sysBASEPRIMX:
		// Raises the mask only: compares the implemented bits.
		if b := uint8(v) & c.prioMask(); b != 0 && (b < c.BASEPRI || c.BASEPRI == 0) {
			c.BASEPRI = b
		}
		return evUnmask
	case sysFAULTMASK:
		// FAULTMASK cannot be set at priority -1 or -2 (NMI, HardFault)
		if v&1 == 0 || c.IPSR != excNMI && c.IPSR != excHardFault {
			c.FAULTMASK = v&1 != 0
		}
		return evUnmask
	case sysCONTROL:
		ctl := c.CONTROL&^ControlNPRIV | uint8(v)&ControlNPRIV
		if !c.HandlerMode() {
			ctl = ctl&^ControlSPSEL | uint8(v)&ControlSPSEL
		}
		c.SetMode(c.IPSR, ctl)
		return evUnmask
	}
	return evNone
}
