package cpu

import "math/bits"

// cond evaluates a condition code (ConditionPassed) against APSR.
func (c *CPU) cond(cd uint8) bool {
	var r bool
	switch cd >> 1 {
	case 0:
		r = c.Z
	case 1:
		r = c.C
	case 2:
		r = c.N
	case 3:
		r = c.V
	case 4:
		r = c.C && !c.Z
	case 5:
		r = c.N == c.V
	case 6:
		r = c.N == c.V && !c.Z
	default:
		return true
	}
	if cd&1 != 0 {
		return !r
	}
	return r
}

// itAdvance is ITAdvance on an ITSTATE value.
func itAdvance(it uint8) uint8 {
	if it&7 == 0 {
		return 0
	}
	return it&0xe0 | it<<1&0x1f
}

// sets reports whether an instruction with flag-setting kind s updates
// APSR given the ITSTATE it executes in.
func sets(s, it uint8) bool { return s == sAlways || s == sOutIT && it == 0 }

func (c *CPU) nz(r uint32) { c.N, c.Z = int32(r) < 0, r == 0 }

func (c *CPU) addFlags(a, b, r uint32) {
	c.N, c.Z, c.C, c.V = int32(r) < 0, r == 0, r < a, int32((a^r)&(b^r)) < 0
}

func (c *CPU) subFlags(a, b, r uint32) {
	c.N, c.Z, c.C, c.V = int32(r) < 0, r == 0, a >= b, int32((a^b)&(a^r)) < 0
}

// adc is AddWithCarry.
func adc(a, b uint32, cin bool) (r uint32, cout, v bool) {
	var ci uint32
	if cin {
		ci = 1
	}
	r, co := bits.Add32(a, b, ci)
	return r, co != 0, int32((a^r)&(b^r)) < 0
}

// shiftC is Shift_C: v shifted by amt (any amount, as a register shift
// gives) with the carry out; amt 0 leaves v and the carry unchanged.
func shiftC(v uint32, sh uint8, amt uint32, cin bool) (uint32, bool) {
	if amt == 0 {
		if sh == shRRX {
			return v>>1 | b2u(cin)<<31, v&1 != 0
		}
		return v, cin
	}
	switch sh {
	case shLSL:
		if amt < 32 {
			return v << amt, v>>(32-amt)&1 != 0
		}
		if amt == 32 {
			return 0, v&1 != 0
		}
		return 0, false
	case shLSR:
		if amt < 32 {
			return v >> amt, v>>(amt-1)&1 != 0
		}
		if amt == 32 {
			return 0, v>>31 != 0
		}
		return 0, false
	case shASR:
		if amt >= 32 {
			s := uint32(int32(v) >> 31)
			return s, s != 0
		}
		return uint32(int32(v) >> amt), v>>(amt-1)&1 != 0
	case shROR:
		r := bits.RotateLeft32(v, -int(amt&31))
		return r, r>>31 != 0
	case shRRX:
		return v>>1 | b2u(cin)<<31, v&1 != 0
	}
	return v, cin
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// opnd is the register operand of a data-processing instruction.
func (c *CPU) opnd(in *inst) uint32 {
	v := c.R[in.rm&15]
	if in.sh == shNone {
		return v
	}
	r, _ := shiftC(v, in.sh, uint32(in.amt), c.C)
	return r
}

// opndC is opnd with the shifter's carry out.
func (c *CPU) opndC(in *inst) (uint32, bool) {
	v := c.R[in.rm&15]
	if in.sh == shNone {
		return v, c.C
	}
	return shiftC(v, in.sh, uint32(in.amt), c.C)
}

// ssat is SignedSatQ to n bits.
func ssat(v int64, n uint) (int64, bool) {
	hi, lo := int64(1)<<(n-1)-1, -(int64(1) << (n - 1))
	if v > hi {
		return hi, true
	}
	if v < lo {
		return lo, true
	}
	return v, false
}

// usat is UnsignedSatQ to n bits.
func usat(v int64, n uint) (int64, bool) {
	hi := int64(1)<<n - 1
	if v > hi {
		return hi, true
	}
	if v < 0 {
		return 0, true
	}
	return v, false
}

// checkSP faults (STKOF) when v is below the limit of the stack pointer in use.
func (c *CPU) checkSP(v uint32) {
	lim := c.MSPLIM
	if c.ActiveSPIsPSP() {
		lim = c.PSPLIM
	}
	if v < lim && !(c.StackLimitIgnoreNeg && c.negativePriority()) {
		c.raise(FaultStackOverflow, v)
	}
}

// negativePriority reports whether the execution priority is below 0:
// FAULTMASK set, or in HardFault (-1) or NMI (-2) — nothing of a priority
// 0 or higher preempts those, so IPSR tells.
func (c *CPU) negativePriority() bool { return c.FAULTMASK || c.IPSR == 2 || c.IPSR == 3 }

// privileged reports CurrentModeIsPrivileged.
func (c *CPU) privileged() bool { return c.IPSR != 0 || c.CONTROL&ControlNPRIV == 0 }
