package cpu

// is32 reports whether hw1 is the first halfword of a 32-bit instruction.
func is32(hw1 uint16) bool { return hw1>>11 >= 0x1d }

// decode decodes the instruction at pc whose halfwords are hw1, hw2 (hw2
// is ignored for a 16-bit instruction). Undefined encodings decode to
// opUDF, coprocessor ones to opNoCP.
func decode(pc uint32, hw1, hw2 uint16) inst {
	if is32(hw1) {
		in := decode32(pc, uint32(hw1), uint32(hw2))
		in.size = 4
		if in.op != opB {
			in.cond = condAL
		}
		return in
	}
	in := decode16(pc, uint32(hw1))
	in.size = 2
	if in.op != opB {
		in.cond = condAL
	}
	return in
}

func undef() inst { return inst{op: opUDF} }

func decode16(pc uint32, h uint32) inst {
	lo3 := func(s uint) uint8 { return uint8(h>>s) & 7 }
	switch {
	case h>>13 == 0: // shift (imm), add, subtract, move, compare
		op := h >> 11 & 3
		if op != 3 { // LSL/LSR/ASR immediate
			in := inst{op: opMOVr, rd: lo3(0), rm: lo3(3), s: sOutIT}
			imm5 := uint8(h >> 6 & 31)
			in.sh, in.amt = immShift(uint32(op), imm5)
			return in
		}
		in := inst{rd: lo3(0), rn: lo3(3), s: sOutIT}
		switch h >> 9 & 3 {
		case 0:
			in.op, in.rm = opADDr, lo3(6)
		case 1:
			in.op, in.rm = opSUBr, lo3(6)
		case 2:
			in.op, in.imm = opADDi, h>>6&7
		case 3:
			in.op, in.imm = opSUBi, h>>6&7
		}
		return in
	case h>>13 == 1: // MOV/CMP/ADD/SUB imm8
		rd := lo3(8)
		in := inst{rd: rd, rn: rd, imm: h & 0xff, s: sOutIT}
		switch h >> 11 & 3 {
		case 0:
			in.op = opMOVi
		case 1:
			in.op, in.s = opCMPi, sAlways
		case 2:
			in.op = opADDi
		case 3:
			in.op = opSUBi
		}
		return in
	case h>>10 == 0x10: // data processing
		rdn, rm := lo3(0), lo3(3)
		in := inst{rd: rdn, rn: rdn, rm: rm, s: sOutIT}
		switch h >> 6 & 15 {
		case 0:
			in.op = opANDr
		case 1:
			in.op = opEORr
		case 2:
			in.op, in.sh, in.rn, in.rm = opSHR, shLSL, rdn, rm
		case 3:
			in.op, in.sh = opSHR, shLSR
		case 4:
			in.op, in.sh = opSHR, shASR
		case 5:
			in.op = opADCr
		case 6:
			in.op = opSBCr
		case 7:
			in.op, in.sh = opSHR, shROR
		case 8:
			in.op, in.s = opTSTr, sAlways
		case 9: // RSB Rd, Rn, #0
			in.op, in.rn, in.imm = opRSBi, rm, 0
		case 10:
			in.op, in.s = opCMPr, sAlways
		case 11:
			in.op, in.s = opCMNr, sAlways
		case 12:
			in.op = opORRr
		case 13:
			in.op, in.rn, in.rm = opMUL, rm, rdn
		case 14:
			in.op = opBICr
		case 15:
			in.op = opMVNr
		}
		return in
	case h>>10 == 0x11: // special data, branch and exchange
		rdn := uint8(h&7 | h>>4&8)
		rm := uint8(h >> 3 & 15)
		switch h >> 8 & 3 {
		case 0:
			switch {
			case rdn == 15 && rm == 15:
				return undef() // UNPREDICTABLE
			case rdn == 15:
				return inst{op: opADDpc, rm: rm}
			case rm == 15: // ADD Rdn, PC: PC reads as this instruction's address + 4
				return inst{op: opADDi, rd: rdn, rn: rdn, imm: pc + 4}
			}
			return inst{op: opADDr, rd: rdn, rn: rdn, rm: rm}
		case 1:
			if rdn < 8 && rm < 8 || rdn == 15 || rm == 15 {
				return undef() // UNPREDICTABLE
			}
			if rm == 15 {
				return inst{op: opCMPi, rn: rdn, imm: pc + 4, s: sAlways}
			}
			return inst{op: opCMPr, rn: rdn, rm: rm, s: sAlways}
		case 2:
			switch {
			case rdn == 15 && rm == 15: // MOV PC, PC: a branch to this address + 4
				return inst{op: opB, cond: condAL, imm: pc + 4}
			case rdn == 15:
				return inst{op: opMOVpc, rm: rm}
			case rm == 15:
				return inst{op: opMOVi, rd: rdn, imm: pc + 4}
			}
			return inst{op: opMOVr, rd: rdn, rm: rm}
		default:
			if h&7 != 0 {
				return undef()
			}
			if h&0x80 != 0 {
				if rm == 15 {
					return undef()
				}
				return inst{op: opBLX, rm: rm}
			}
			if rm == 15 { // BX PC: to this address + 4 with bit 0 clear (INVSTATE)
				return inst{op: opBX, rm: 15, imm: pc + 4}
			}
			return inst{op: opBX, rm: rm}
		}
	case h>>11 == 9: // LDR literal
		return inst{op: opLDRlit, rd: lo3(8), imm: (pc+4)&^3 + (h&0xff)<<2}
	case h>>12 == 5: // load/store register offset
		in := inst{rd: lo3(0), rn: lo3(3), rm: lo3(6)}
		in.op = [8]uint8{opSTRr, opSTRHr, opSTRBr, opLDRSBr, opLDRr, opLDRHr, opLDRBr, opLDRSHr}[h>>9&7]
		return in
	case h>>13 == 3: // STR/LDR/STRB/LDRB imm5
		in := inst{rd: lo3(0), rn: lo3(3)}
		imm5 := h >> 6 & 31
		switch h >> 11 & 3 {
		case 0:
			in.op, in.imm = opSTRi, imm5<<2
		case 1:
			in.op, in.imm = opLDRi, imm5<<2
		case 2:
			in.op, in.imm = opSTRBi, imm5
		case 3:
			in.op, in.imm = opLDRBi, imm5
		}
		return in
	case h>>12 == 8: // STRH/LDRH imm5
		in := inst{op: opSTRHi, rd: lo3(0), rn: lo3(3), imm: (h >> 6 & 31) << 1}
		if h&0x800 != 0 {
			in.op = opLDRHi
		}
		return in
	case h>>12 == 9: // STR/LDR SP-relative
		in := inst{op: opSTRi, rd: lo3(8), rn: 13, imm: (h & 0xff) << 2}
		if h&0x800 != 0 {
			in.op = opLDRi
		}
		return in
	case h>>12 == 10: // ADR, ADD Rd, SP, #imm
		if h&0x800 == 0 {
			return inst{op: opMOVi, rd: lo3(8), imm: (pc+4)&^3 + (h&0xff)<<2}
		}
		return inst{op: opADDi, rd: lo3(8), rn: 13, imm: (h & 0xff) << 2}
	case h>>12 == 11:
		return decodeMisc16(pc, h)
	case h>>12 == 12: // STM/LDM
		rn := lo3(8)
		list := h & 0xff
		if list == 0 {
			return undef()
		}
		if h&0x800 == 0 {
			return inst{op: opSTM, rn: rn, imm: list, x: xWB}
		}
		in := inst{op: opLDM, rn: rn, imm: list}
		if list&(1<<rn) == 0 {
			in.x = xWB
		}
		return in
	case h>>12 == 13: // B<c>, UDF, SVC
		cond := uint8(h >> 8 & 15)
		switch cond {
		case 14:
			return inst{op: opUDF, imm: h & 0xff}
		case 15:
			return inst{op: opSVC, imm: h & 0xff}
		}
		return inst{op: opB, cond: cond, imm: pc + 4 + uint32(int32(int8(h))<<1)}
	case h>>11 == 0x1c: // B
		off := int32(h<<21) >> 20
		return inst{op: opB, cond: condAL, imm: pc + 4 + uint32(off)}
	}
	return undef()
}

func decodeMisc16(pc uint32, h uint32) inst {
	lo3 := func(s uint) uint8 { return uint8(h>>s) & 7 }
	switch {
	case h>>8 == 0xb0: // ADD/SUB SP, SP, #imm7
		in := inst{op: opADDi, rd: 13, rn: 13, imm: (h & 0x7f) << 2}
		if h&0x80 != 0 {
			in.op = opSUBi
		}
		return in
	case h&0xf500 == 0xb100: // CBZ/CBNZ
		in := inst{op: opCBZ, rn: lo3(0), imm: pc + 4 + (h>>3&31)<<1 + (h>>9&1)<<6}
		if h&0x800 != 0 {
			in.op = opCBNZ
		}
		return in
	case h>>8 == 0xb2: // SXTH SXTB UXTH UXTB
		return inst{op: opEXT, rd: lo3(0), rm: lo3(3), rn: 15, sh: uint8(h >> 6 & 3)}
	case h>>9 == 0x5a: // PUSH
		list := h&0xff | (h>>8&1)<<14
		if list == 0 {
			return undef()
		}
		return inst{op: opSTMDB, rn: 13, imm: list, x: xWB}
	case h&0xffec == 0xb660: // CPS
		return inst{op: opCPS, imm: h & 0x1f}
	case h>>8 == 0xba:
		rd, rm := lo3(0), lo3(3)
		switch h >> 6 & 3 {
		case 0:
			return inst{op: opREV, rd: rd, rm: rm}
		case 1:
			return inst{op: opREV16, rd: rd, rm: rm}
		case 3:
			return inst{op: opREVSH, rd: rd, rm: rm}
		}
	case h>>9 == 0x5e: // POP
		list := h&0xff | (h>>8&1)<<15
		if list == 0 {
			return undef()
		}
		return inst{op: opLDM, rn: 13, imm: list, x: xWB}
	case h>>8 == 0xbe:
		return inst{op: opBKPT, imm: h & 0xff}
	case h>>8 == 0xbf:
		if h&15 != 0 { // IT
			fc := h >> 4 & 15
			if fc == 15 || fc == 14 && (h&15)&((h&15)-1) != 0 {
				return undef() // firstcond 1111, or AL with a mask that has an "else"
			}
			return inst{op: opIT, imm: h & 0xff}
		}
		return hint(h >> 4 & 15)
	}
	return undef()
}

// hint decodes the hint number of NOP/YIELD/WFE/WFI/SEV (16 and 32-bit).
func hint(n uint32) inst {
	switch n {
	case 2:
		return inst{op: opWFE}
	case 3:
		return inst{op: opWFI}
	case 4:
		return inst{op: opSEV}
	}
	return inst{op: opNOP, imm: n} // NOP, YIELD and unallocated hints
}

// immShift is DecodeImmShift: (type, imm5) to a shift type and amount.
func immShift(typ uint32, imm5 uint8) (sh, amt uint8) {
	switch typ {
	case 0:
		if imm5 == 0 {
			return shNone, 0
		}
		return shLSL, imm5
	case 1:
		if imm5 == 0 {
			return shLSR, 32
		}
		return shLSR, imm5
	case 2:
		if imm5 == 0 {
			return shASR, 32
		}
		return shASR, imm5
	}
	if imm5 == 0 {
		return shRRX, 1
	}
	return shROR, imm5
}
