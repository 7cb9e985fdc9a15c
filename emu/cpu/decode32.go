package cpu

// decode32 decodes a 32-bit Thumb-2 instruction (ARMv8-M Mainline, no FPU).
func decode32(pc, h1, h2 uint32) inst {
	switch h1 >> 11 & 3 {
	case 1:
		switch {
		case h1&0x400 != 0:
			return inst{op: opNoCP} // coprocessor, FP
		case h1&0x200 != 0:
			return decodeDPShifted(h1, h2)
		case h1&0x40 == 0:
			return decodeLSM(h1, h2)
		}
		return decodeDualExcl(pc, h1, h2)
	case 2:
		if h2&0x8000 != 0 {
			return decodeBranchMisc(pc, h1, h2)
		}
		if h1&0x200 == 0 {
			return decodeModImm(h1, h2)
		}
		return decodePlainImm(pc, h1, h2)
	case 3:
		switch {
		case h1&0x400 != 0:
			return inst{op: opNoCP}
		case h1&0x600 == 0:
			return decodeLdSt(pc, h1, h2)
		case h1&0x700 == 0x200:
			return decodeDPReg(h1, h2)
		case h1&0x780 == 0x300:
			return decodeMul(h1, h2)
		case h1&0x780 == 0x380:
			return decodeLongMul(h1, h2)
		}
	}
	return undef()
}

func sflag(s uint32) uint8 {
	if s != 0 {
		return sAlways
	}
	return sNever
}

// dpOp maps the 4-bit opcode shared by the modified-immediate and the
// shifted-register groups to the immediate op (register op = +16), and
// the compare form when Rd is PC with S set.
func dpOp(op uint32) (base, cmp uint8, ok bool) {
	switch op {
	case 0:
		return opANDi, opTSTi, true
	case 1:
		return opBICi, 0, true
	case 2:
		return opORRi, 0, true
	case 3:
		return opORNi, 0, true
	case 4:
		return opEORi, opTEQi, true
	case 8:
		return opADDi, opCMNi, true
	case 10:
		return opADCi, 0, true
	case 11:
		return opSBCi, 0, true
	case 13:
		return opSUBi, opCMPi, true
	case 14:
		return opRSBi, 0, true
	}
	return 0, 0, false
}

const regOps = opANDr - opANDi

func decodeDP(op, s, rn, rd uint32, reg bool) (inst, bool) {
	in := inst{s: sflag(s), rn: uint8(rn), rd: uint8(rd)}
	if op == 6 {
		return in, false
	}
	base, cmp, ok := dpOp(op)
	if !ok {
		return in, false
	}
	in.op = base
	if rd == 15 {
		if s == 0 || cmp == 0 {
			return in, false
		}
		in.op = cmp
	}
	if rn == 15 {
		switch op {
		case 2:
			in.op = opMOVi
		case 3:
			in.op = opMVNi
		default:
			return in, false
		}
	}
	if reg {
		in.op += regOps
	}
	return in, true
}

func decodeDPShifted(h1, h2 uint32) inst {
	op := h1 >> 5 & 15
	rn, rd, rm := h1&15, h2>>8&15, h2&15
	imm5 := uint8((h2>>12&7)<<2 | h2>>6&3)
	if rm == 15 || h2&0x8000 != 0 {
		return undef() // UNPREDICTABLE: Rm is PC, or the (0) bit is set
	}
	if op == 6 { // PKHBT/PKHTB
		if h1&0x10 != 0 || h2&0x10 != 0 || rd == 15 || rn == 15 {
			return undef()
		}
		in := inst{op: opPKH, rd: uint8(rd), rn: uint8(rn), rm: uint8(rm)}
		in.sh, in.amt = immShift(h2>>4&3, imm5)
		return in
	}
	in, ok := decodeDP(op, h1>>4&1, rn, rd, true)
	if !ok {
		return undef()
	}
	in.rm = uint8(rm)
	in.sh, in.amt = immShift(h2>>4&3, imm5)
	return in
}

// thumbExpandImm is ThumbExpandImm_C: the value and whether the carry out
// is the value's bit 31 (rotated forms) rather than the carry in.
func thumbExpandImm(imm12 uint32) (uint32, bool) {
	if imm12>>10 == 0 {
		b := imm12 & 0xff
		switch imm12 >> 8 & 3 {
		case 0:
			return b, false
		case 1:
			return b | b<<16, false
		case 2:
			return b<<8 | b<<24, false
		}
		return b | b<<8 | b<<16 | b<<24, false
	}
	unrot := 0x80 | imm12&0x7f
	rot := imm12 >> 7
	return unrot>>rot | unrot<<(32-rot), true
}

func decodeModImm(h1, h2 uint32) inst {
	in, ok := decodeDP(h1>>5&15, h1>>4&1, h1&15, h2>>8&15, false)
	if !ok {
		return undef()
	}
	imm12 := (h1>>10&1)<<11 | (h2>>12&7)<<8 | h2&0xff
	v, c := thumbExpandImm(imm12)
	in.imm = v
	if c {
		in.x = xImmC
	}
	return in
}

func decodePlainImm(pc, h1, h2 uint32) inst {
	rn, rd := h1&15, h2>>8&15
	imm12 := (h1>>10&1)<<11 | (h2>>12&7)<<8 | h2&0xff
	imm5 := (h2>>12&7)<<2 | h2>>6&3
	op := h1 >> 4 & 31
	// PC is not a destination, nor a source except for ADR (ADDW/SUBW)
	// and BFC (BFI): UNPREDICTABLE, taken as UNDEFINED.
	if rd == 15 || rn == 15 && op != 0 && op != 10 && op != 22 && op != 4 && op != 12 {
		return undef()
	}
	switch op {
	case 0: // ADDW, ADR
		if rn == 15 {
			return inst{op: opMOVi, rd: uint8(rd), imm: (pc+4)&^3 + imm12}
		}
		return inst{op: opADDi, rd: uint8(rd), rn: uint8(rn), imm: imm12}
	case 10: // SUBW, ADR
		if rn == 15 {
			return inst{op: opMOVi, rd: uint8(rd), imm: (pc+4)&^3 - imm12}
		}
		return inst{op: opSUBi, rd: uint8(rd), rn: uint8(rn), imm: imm12}
	case 4: // MOVW
		return inst{op: opMOVi, rd: uint8(rd), imm: (h1&15)<<12 | imm12}
	case 12: // MOVT
		return inst{op: opMOVT, rd: uint8(rd), imm: (h1&15)<<12 | imm12}
	case 16, 18: // SSAT, SSAT16
		if h1&0x20 != 0 && imm5 == 0 {
			return inst{op: opSSAT16, rd: uint8(rd), rn: uint8(rn), imm: h2&15 + 1}
		}
		in := inst{op: opSSAT, rd: uint8(rd), rn: uint8(rn), imm: h2&31 + 1}
		in.sh, in.amt = immShift(h1>>4&2, uint8(imm5))
		return in
	case 24, 26: // USAT, USAT16
		if h1&0x20 != 0 && imm5 == 0 {
			return inst{op: opUSAT16, rd: uint8(rd), rn: uint8(rn), imm: h2 & 15}
		}
		in := inst{op: opUSAT, rd: uint8(rd), rn: uint8(rn), imm: h2 & 31}
		in.sh, in.amt = immShift(h1>>4&2, uint8(imm5))
		return in
	case 20, 28: // SBFX, UBFX: amt = lsb, imm = width
		w := h2&31 + 1
		if imm5+w > 32 {
			return undef() // UNPREDICTABLE
		}
		if h1>>4&31 == 20 {
			return inst{op: opSBFX, rd: uint8(rd), rn: uint8(rn), amt: uint8(imm5), imm: w}
		}
		return inst{op: opUBFX, rd: uint8(rd), rn: uint8(rn), amt: uint8(imm5), imm: w}
	case 22: // BFI, BFC: amt = lsb, imm = msb
		msb := h2 & 31
		if msb < imm5 {
			return undef()
		}
		if rn == 15 {
			return inst{op: opBFC, rd: uint8(rd), amt: uint8(imm5), imm: msb}
		}
		return inst{op: opBFI, rd: uint8(rd), rn: uint8(rn), amt: uint8(imm5), imm: msb}
	}
	return undef()
}

func decodeBranchMisc(pc, h1, h2 uint32) inst {
	op1 := h2 >> 12 & 7
	op := h1 >> 4 & 0x7f
	s := h1 >> 10 & 1
	j1, j2 := h2>>13&1, h2>>11&1
	switch op1 & 5 {
	case 0:
		if op&0x38 != 0x38 { // B<c>.W
			off := s<<20 | j2<<19 | j1<<18 | (h1&0x3f)<<12 | (h2&0x7ff)<<1
			off = uint32(int32(off<<11) >> 11)
			return inst{op: opB, cond: uint8(h1 >> 6 & 15), imm: pc + 4 + off}
		}
		switch op {
		case 0x38, 0x39: // MSR: imm = SYSm, amt = mask
			if h1&15 == 15 {
				return undef()
			}
			return inst{op: opMSR, rn: uint8(h1 & 15), imm: h2 & 0xff, amt: uint8(h2 >> 10 & 3)}
		case 0x3a:
			if h2&0x700 != 0 {
				return undef()
			}
			return hint(h2 & 0xff)
		case 0x3b:
			switch h2 >> 4 & 15 {
			case 2:
				return inst{op: opCLREX}
			case 4, 5: // DSB, DMB
				return inst{op: opNOP}
			case 6:
				return inst{op: opISB}
			}
		case 0x3e, 0x3f: // MRS
			if h2>>8&15 == 15 {
				return undef()
			}
			return inst{op: opMRS, rd: uint8(h2 >> 8 & 15), imm: h2 & 0xff}
		case 0x7f:
			if op1 == 2 {
				return inst{op: opUDF, imm: (h1&15)<<12 | h2&0xfff}
			}
		}
		return undef()
	case 1, 5: // B.W, BL
		i1, i2 := ^(j1^s)&1, ^(j2^s)&1
		off := s<<24 | i1<<23 | i2<<22 | (h1&0x3ff)<<12 | (h2&0x7ff)<<1
		off = uint32(int32(off<<7) >> 7)
		if op1&4 != 0 {
			return inst{op: opBL, imm: pc + 4 + off}
		}
		return inst{op: opB, cond: condAL, imm: pc + 4 + off}
	}
	return undef() // BLX (immediate): no ARM state on M-profile
}

func decodeLSM(h1, h2 uint32) inst {
	rn := h1 & 15
	list := h2 & 0xffff
	load := h1&0x10 != 0
	wb := h1&0x20 != 0
	if rn == 15 || list&0x2000 != 0 || !load && list&0x8000 != 0 {
		return undef()
	}
	if load && list&0xc000 == 0xc000 || list == 0 {
		return undef()
	}
	in := inst{rn: uint8(rn), imm: list}
	if wb {
		if load && list&(1<<rn) != 0 {
			return undef()
		}
		in.x = xWB
	}
	switch h1 >> 7 & 3 {
	case 1:
		in.op = opSTM
		if load {
			in.op = opLDM
		}
	case 2:
		in.op = opSTMDB
		if load {
			in.op = opLDMDB
		}
	default:
		return undef() // SRS/RFE: not on M-profile
	}
	return in
}

func decodeDualExcl(pc, h1, h2 uint32) inst {
	o1, o2, o3 := h1>>7&3, h1>>4&3, h2>>4&15
	rn, rt, rt2 := uint8(h1&15), uint8(h2>>12&15), uint8(h2>>8&15)
	switch {
	case o1 == 0 && o2 == 0:
		if rt == 15 { // TT, TTT; TTA and TTAT are UNDEFINED in non-secure state
			if h2&0x3f != 0 || h2&0x80 != 0 {
				return undef()
			}
			return inst{op: opTT, rd: rt2, rn: rn, imm: h2 >> 6 & 3}
		}
		if rt2 == 15 || rn == 15 {
			return undef()
		}
		return inst{op: opSTREX, rd: rt, ra: rt2, rn: rn, imm: (h2 & 0xff) << 2, sh: ltW}
	case o1 == 0 && o2 == 1:
		if rt == 15 || rn == 15 || rt2 != 15 {
			return undef()
		}
		return inst{op: opLDREX, rd: rt, rn: rn, imm: (h2 & 0xff) << 2, sh: ltW}
	case o1 < 2 && o2 >= 2 || o1 >= 2:
		if rt == 15 || rt2 == 15 {
			return undef()
		}
		in := inst{op: opSTRD, rd: rt, ra: rt2, rn: rn, imm: (h2 & 0xff) << 2}
		if o2&1 != 0 {
			in.op = opLDRD
		}
		if h1&0x100 != 0 {
			in.x |= xPre
		}
		if h1&0x20 != 0 {
			in.x |= xWB
		}
		if h1&0x80 == 0 {
			in.x |= xSub
		}
		if rn == 15 {
			if in.op != opLDRD || in.x&xWB != 0 {
				return undef() // includes SG: executed in non-secure memory it is UNDEFINED
			}
			in.x |= xLit
			if in.x&xSub != 0 {
				in.imm = (pc+4)&^3 - in.imm
			} else {
				in.imm = (pc+4)&^3 + in.imm
			}
		}
		if in.x&(xPre|xWB) == 0 {
			return undef()
		}
		return in
	case o1 == 1 && o2 == 0:
		rd := uint8(h2 & 15) // status register of STREXB/H, STLEX*
		if rt == 15 || rn == 15 || rt2 != 15 || rd == 15 && (o3 < 8 || o3 > 10) || rd != 15 && o3 >= 8 && o3 <= 10 {
			return undef() // UNPREDICTABLE, or a should-be-one field is not
		}
		switch o3 {
		case 4, 5, 12, 13, 14:
			return inst{op: opSTREX, rd: rt, ra: rd, rn: rn, sh: exclType(o3)}
		case 8, 9, 10:
			return inst{op: opSTL, rd: rt, rn: rn, sh: exclType(o3)}
		}
	case o1 == 1 && o2 == 1:
		if o3 > 1 && (rt == 15 || rn == 15 || rt2 != 15 || h2&15 != 15) || o3 <= 1 && (h2&15 == 15 || h2&0xffe0 != 0xf000) {
			return undef() // UNPREDICTABLE, or a should-be-one/zero field is not
		}
		switch o3 {
		case 0:
			return inst{op: opTBB, rn: rn, rm: uint8(h2 & 15)}
		case 1:
			return inst{op: opTBH, rn: rn, rm: uint8(h2 & 15)}
		case 4, 5, 12, 13, 14:
			return inst{op: opLDREX, rd: rt, rn: rn, sh: exclType(o3)}
		case 8, 9, 10:
			return inst{op: opLDA, rd: rt, rn: rn, sh: exclType(o3)}
		}
	}
	return undef()
}

// exclType maps op3 of the byte/halfword/acquire-release exclusives to a
// load type.
func exclType(o3 uint32) uint8 {
	switch o3 & 3 {
	case 0:
		return ltB
	case 1:
		return ltH
	}
	return ltW
}

var ldImmOps = [5]uint8{opLDRi, opLDRBi, opLDRHi, opLDRSBi, opLDRSHi}
var stImmOps = [5]uint8{opSTRi, opSTRBi, opSTRHi}

const regLdSt = opLDRr - opLDRi

func decodeLdSt(pc, h1, h2 uint32) inst {
	size := h1 >> 5 & 3
	load := h1&0x10 != 0
	signed := h1&0x100 != 0
	rn, rt := h1&15, h2>>12&15
	if size == 3 || !load && signed || size == 2 && signed {
		return undef()
	}
	lt := [3]uint8{ltB, ltH, ltW}[size]
	if signed {
		lt += 2 // ltSB, ltSH
	}
	hint := load && rt == 15 && lt != ltW // PLD, PLI, unallocated memory hints
	if rn == 15 {
		if !load {
			return undef()
		}
		if hint {
			return inst{op: opNOP}
		}
		a := (pc + 4) &^ 3
		if h1&0x80 != 0 {
			a += h2 & 0xfff
		} else {
			a -= h2 & 0xfff
		}
		if lt == ltW && rt != 15 {
			return inst{op: opLDRlit, rd: uint8(rt), imm: a}
		}
		return inst{op: opLD, rd: uint8(rt), sh: lt, x: xLit | xPre, imm: a}
	}
	in := inst{rd: uint8(rt), rn: uint8(rn), sh: lt}
	switch {
	case h1&0x80 != 0: // imm12
		in.imm, in.x = h2&0xfff, xPre
	case h2&0x800 != 0: // imm8 with P, U, W (P U !W: the unprivileged T forms)
		p, u, w := h2&0x400 != 0, h2&0x200 != 0, h2&0x100 != 0
		if !p && !w {
			return undef()
		}
		in.imm = h2 & 0xff
		if p {
			in.x |= xPre
		}
		if w {
			in.x |= xWB
		}
		if !u {
			in.x |= xSub
		}
	case h2&0xfc0 == 0: // register, LSL #imm2
		if h2&15 >= 13 {
			return undef() // Rm is SP or PC: UNPREDICTABLE
		}
		in.rm, in.amt, in.x = uint8(h2&15), uint8(h2>>4&3), xPre|xReg
	default:
		return undef()
	}
	if hint {
		return inst{op: opNOP}
	}
	if !load && rt == 15 {
		return undef()
	}
	if in.x&xWB != 0 || rt == 15 {
		in.op = opST
		if load {
			in.op = opLD
		}
		return in
	}
	if in.x&xSub != 0 {
		in.imm = -in.imm
	}
	ops := stImmOps
	if load {
		ops = ldImmOps
	}
	in.op = ops[lt]
	if in.x&xReg != 0 {
		in.op += regLdSt
	}
	in.x, in.sh = 0, 0
	return in
}

func decodeDPReg(h1, h2 uint32) inst {
	if h2>>12 != 15 {
		return undef()
	}
	o1, o2 := h1>>4&15, h2>>4&15
	rn, rd, rm := uint8(h1&15), uint8(h2>>8&15), uint8(h2&15)
	extend := o1 < 8 && o2&8 != 0 // Rn == PC: no addend
	if rd == 15 || rm == 15 || rn == 15 && !extend || extend && o2&4 != 0 {
		return undef() // UNPREDICTABLE
	}
	switch {
	case o1 < 8 && o2 == 0: // LSL/LSR/ASR/ROR by register
		return inst{op: opSHR, rd: rd, rn: rn, rm: rm, s: sflag(o1 & 1), sh: uint8(shLSL + o1>>1)}
	case o1 < 8 && o2&8 != 0: // extend (and add)
		rot := uint8(o2&3) * 8
		switch o1 {
		case 0, 1, 4, 5:
			return inst{op: opEXT, rd: rd, rn: rn, rm: rm, amt: rot, sh: [6]uint8{0, 2, 0, 0, 1, 3}[o1]}
		case 2, 3:
			return inst{op: opEXT16, rd: rd, rn: rn, rm: rm, amt: rot, sh: uint8(o1 & 1)}
		}
	case o1 >= 8 && o2 < 8: // parallel add/subtract
		pre := o2 & 3
		if pre == 3 {
			break
		}
		if o2 >= 4 {
			pre += 3
		}
		op := [8]int8{parADD8, parADD16, parASX, -1, parSUB8, parSUB16, parSAX, -1}[o1&7]
		if op < 0 {
			break
		}
		return inst{op: opPAR, rd: rd, rn: rn, rm: rm, sh: uint8(pre), amt: uint8(op)}
	case o1>>2 == 2 && o2>>2 == 2:
		switch (o1&3)<<2 | o2&3 {
		case 0:
			return inst{op: opQADD, rd: rd, rn: rn, rm: rm}
		case 1:
			return inst{op: opQDADD, rd: rd, rn: rn, rm: rm}
		case 2:
			return inst{op: opQSUB, rd: rd, rn: rn, rm: rm}
		case 3:
			return inst{op: opQDSUB, rd: rd, rn: rn, rm: rm}
		case 4:
			return inst{op: opREV, rd: rd, rm: rm}
		case 5:
			return inst{op: opREV16, rd: rd, rm: rm}
		case 6:
			return inst{op: opRBIT, rd: rd, rm: rm}
		case 7:
			return inst{op: opREVSH, rd: rd, rm: rm}
		case 8:
			return inst{op: opSEL, rd: rd, rn: rn, rm: rm}
		case 12:
			return inst{op: opCLZ, rd: rd, rm: rm}
		}
	}
	return undef()
}

func decodeMul(h1, h2 uint32) inst {
	o1, o2 := h1>>4&7, h2>>4&3
	in := inst{rd: uint8(h2 >> 8 & 15), rn: uint8(h1 & 15), rm: uint8(h2 & 15), ra: uint8(h2 >> 12)}
	if h2&0xc0 != 0 || in.rd == 15 || in.rn == 15 || in.rm == 15 {
		return undef()
	}
	acc := in.ra != 15
	pick := func(mul, mla uint8) inst {
		in.op = mul
		if acc {
			in.op = mla
		}
		return in
	}
	switch o1 {
	case 0:
		switch o2 {
		case 0:
			return pick(opMUL, opMLA)
		case 1:
			if acc {
				in.op = opMLS
				return in
			}
		}
	case 1:
		in.amt = uint8(o2)
		return pick(opSMULxy, opSMLAxy)
	case 2, 4, 3, 5, 6:
		if o2&2 != 0 {
			break
		}
		in.amt = uint8(o2 & 1)
		switch o1 {
		case 2:
			return pick(opSMUAD, opSMLAD)
		case 4:
			return pick(opSMUSD, opSMLSD)
		case 3:
			return pick(opSMULW, opSMLAW)
		case 5:
			return pick(opSMMUL, opSMMLA)
		case 6:
			if acc {
				in.op = opSMMLS
				return in
			}
		}
	case 7:
		if o2 == 0 {
			in.op = opUSADA8
			return in
		}
	}
	return undef()
}

func decodeLongMul(h1, h2 uint32) inst {
	o1, o2 := h1>>4&7, h2>>4&15
	in := inst{rd: uint8(h2 >> 12), ra: uint8(h2 >> 8 & 15), rn: uint8(h1 & 15), rm: uint8(h2 & 15)}
	switch {
	case o1 == 0 && o2 == 0:
		in.op = opSMULL
	case o1 == 2 && o2 == 0:
		in.op = opUMULL
	case o1 == 4 && o2 == 0:
		in.op = opSMLAL
	case o1 == 6 && o2 == 0:
		in.op = opUMLAL
	case o1 == 6 && o2 == 6:
		in.op = opUMAAL
	case o1 == 4 && o2>>2 == 2:
		in.op, in.amt = opSMLALxy, uint8(o2&3)
	case o1 == 4 && o2>>1 == 6:
		in.op, in.amt = opSMLALD, uint8(o2&1)
	case o1 == 5 && o2>>1 == 6:
		in.op, in.amt = opSMLSLD, uint8(o2&1)
	case (o1 == 1 || o1 == 3) && o2 == 15:
		if in.rd != 15 {
			return undef()
		}
		in.op, in.rd = opSDIV, in.ra
		if o1 == 3 {
			in.op = opUDIV
		}
	default:
		return undef()
	}
	if in.rd == 15 || in.ra == 15 && in.op != opSDIV && in.op != opUDIV || in.rn == 15 || in.rm == 15 {
		return undef() // UNPREDICTABLE
	}
	return in
}
