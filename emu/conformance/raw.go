package conformance

// Raw encodings of the 32-bit data-processing and multiply spaces with
// random opcode fields (ARMv8-M ARM, C2.3 "32-bit T32 instruction
// encoding": data processing (shifted register), (modified immediate),
// (plain binary immediate), (register), multiply, long multiply and
// divide). Register fields are
// r0-r12 (PC or SP only where the encoding gives them a meaning), and the
// fields the architecture calls UNPREDICTABLE when inconsistent are made
// consistent; everything else is random, so reserved opcode values must
// be UNDEFINED (UsageFault UNDEFINSTR) on both, and every defined one must
// compute the same.
func genRawDP(g *gen) {
	r := func() uint32 { return uint32(g.r.Intn(13)) }
	var hw1, hw2 uint32
	switch g.r.Intn(6) {
	case 5: // plain binary immediate: 11110 i 1 op Rn | 0 imm3 Rd imm2 (0) imm5
		op, rn, rd := uint32(g.r.Intn(32)), r(), r()
		i, imm3, imm2, imm5 := uint32(g.r.Intn(2)), uint32(g.r.Intn(8)), uint32(g.r.Intn(4)), uint32(g.r.Intn(32))
		lsb := imm3<<2 | imm2
		switch op {
		case 0, 10: // ADDW, SUBW; Rn = PC: ADR
			if g.r.Intn(4) == 0 {
				rn = 15
			}
		case 16, 18, 20, 22, 24, 26, 28: // saturate, bitfields: i and bit 5 are (0)
			i, imm5 = 0, imm5&0x1f
			switch op {
			case 20, 28: // SBFX, UBFX: lsb + width <= 32
				if lsb+imm5 > 31 {
					imm5 = 31 - lsb
				}
			case 22: // BFI (BFC with Rn = PC): msb >= lsb
				if imm5 < lsb {
					imm5 = lsb + uint32(g.r.Intn(int(32-lsb)))
				}
				if g.r.Intn(3) == 0 {
					rn = 15
				}
			case 18, 26: // SSAT/USAT ASR, or the 16-bit forms (shift 0): bits 5:4 (0)
				if lsb == 0 {
					imm5 &= 0xf
				}
			}
		}
		hw1 = 0xf200 | i<<10 | op<<4 | rn
		hw2 = imm3<<12 | rd<<8 | imm2<<6 | imm5
	case 0: // data processing (shifted register): 1110101 op S Rn | 0 imm3 Rd imm2 type Rm
		op, s, rn, rd := uint32(g.r.Intn(16)), uint32(g.r.Intn(2)), r(), r()
		if op == 2 || op == 3 { // ORR/ORN with Rn = PC: MOV/MVN and the shifts
			if g.r.Intn(2) == 0 {
				rn = 15
			}
		}
		if s == 1 && (op == 0 || op == 4 || op == 8 || op == 13) && g.r.Intn(3) == 0 {
			rd = 15 // TST, TEQ, CMN, CMP
		}
		hw1 = 0xea00 | op<<5 | s<<4 | rn
		hw2 = uint32(g.r.Intn(8))<<12 | rd<<8 | uint32(g.r.Intn(256))&0xf0 | r()
	case 1: // modified immediate: 11110 i 0 op S Rn | 0 imm3 Rd imm8
		op, s, rn, rd := uint32(g.r.Intn(16)), uint32(g.r.Intn(2)), r(), r()
		if (op == 2 || op == 3) && g.r.Intn(2) == 0 {
			rn = 15 // MOV, MVN
		}
		if s == 1 && (op == 0 || op == 4 || op == 8 || op == 13) && g.r.Intn(3) == 0 {
			rd = 15
		}
		i, imm3, imm8 := uint32(g.r.Intn(2)), uint32(g.r.Intn(8)), uint32(g.r.Intn(256))
		if i == 0 && imm3>>2 == 0 && imm3&3 != 0 && imm8 == 0 {
			imm8 = 1 // a replicated pattern of zero is UNPREDICTABLE
		}
		hw1 = 0xf000 | i<<10 | op<<5 | s<<4 | rn
		hw2 = imm3<<12 | rd<<8 | imm8
	case 2: // data processing (register): 11111010 op1 Rn | 1111 Rd op2 Rm
		op1, op2, rn, rm := uint32(g.r.Intn(16)), uint32(g.r.Intn(16)), r(), r()
		if op1 <= 5 && op2&8 != 0 { // extends: bit 6 is (0); Rn = PC: no add
			op2 &^= 4
			if g.r.Intn(2) == 0 {
				rn = 15
			}
		}
		if op1&0xc == 8 && op2&0xc == 8 && op1&1 == 1 { // REV*, RBIT, CLZ: Rm twice
			rn = rm
		}
		hw1 = 0xfa00 | op1<<4 | rn
		hw2 = 0xf000 | r()<<8 | op2<<4 | rm
	case 3: // multiply: 111110110 op1 Rn | Ra Rd 00 op2 Rm
		op1, op2, ra := uint32(g.r.Intn(8)), uint32(g.r.Intn(4)), r()
		if op1 != 6 && !(op1 == 0 && op2 == 1) && g.r.Intn(2) == 0 {
			ra = 15 // the forms without accumulate
		}
		hw1 = 0xfb00 | op1<<4 | r()
		hw2 = ra<<12 | r()<<8 | uint32(g.r.Intn(8)&4)<<4 | op2<<4 | r()
	default: // long multiply, divide: 111110111 op1 Rn | RdLo RdHi op2 Rm
		op1, op2 := uint32(g.r.Intn(8)), uint32(g.r.Intn(16))
		lo, hi := r(), r()
		for hi == lo {
			hi = r()
		}
		if op1 == 1 || op1 == 3 { // SDIV, UDIV: the RdLo field is (1111)
			lo = 15
		}
		if g.r.Intn(2) == 0 { // favour the defined op2 values
			op2 = uint32(g.pickInt(0, 15, 8+g.r.Intn(4), 12+g.r.Intn(2), 6))
		}
		hw1 = 0xfb80 | op1<<4 | r()
		hw2 = lo<<12 | hi<<8 | op2<<4 | r()
	}
	g.emit(".inst.w %#08x", hw1<<16|hw2)
}

// Raw 16-bit encodings outside the branch, load/store-multiple and
// register-addressed load/store spaces: shifts, add/subtract/move/compare,
// data processing, special data processing (no BX/BLX, no SP/PC), ADR,
// ADD/SUB SP, extends, PUSH, POP without PC, REV and the reserved values
// around them, UDF. A reserved value must be UNDEFINED on both.
func genRaw16(g *gen) {
	for k := 0; k < 1+g.r.Intn(2); k++ {
		var hw uint32
		switch g.r.Intn(6) {
		case 0, 1: // shift (imm), add, subtract, move, compare; data processing
			hw = uint32(g.r.Intn(0x4400))
		case 2: // special data processing: ADD, CMP, MOV with high registers
			op := uint32(g.r.Intn(3))
			dn, m := uint32(g.r.Intn(13)), uint32(g.r.Intn(13))
			if op == 1 && dn < 8 && m < 8 {
				m = 8 + uint32(g.r.Intn(5)) // CMP of two low registers: UNPREDICTABLE
			}
			hw = 0x4400 | op<<8 | (dn>>3)<<7 | m<<3 | dn&7
		case 3: // ADR, ADD Rd, SP, #imm
			hw = 0xa000 | uint32(g.r.Intn(0x1000))
		case 4: // miscellaneous 16-bit, without CBZ/CBNZ, CPS, BKPT, IT and hints
			for {
				hw = 0xb000 | uint32(g.r.Intn(0x1000))
				switch op := hw >> 8 & 0xf; {
				case op == 1 || op == 3 || op == 9 || op == 0xb: // CBZ, CBNZ
					continue
				case op == 6 && hw&0xe0 == 0x60: // CPS
					continue
				case op == 6 && hw&0xe0 == 0x40: // SETEND: QEMU runs it (see TestWhereQEMUDeparts)
					continue
				case hw == 0xbabc: // HLT #0x3c: QEMU's semihosting call (see TestWhereQEMUDeparts)
					continue
				case op == 0xe || op == 0xf: // BKPT, IT, hints
					continue
				case (op == 4 || op == 5) && hw&0x1ff == 0: // PUSH {}: UNPREDICTABLE
					continue
				case op == 0xd || op == 0xc: // POP: not to PC, not {}
					hw &^= 0x100
					if hw&0xff == 0 {
						continue
					}
				case op == 0:
					hw &^= 0x7f
					hw |= uint32(g.r.Intn(16)) // small SP adjustments
				}
				break
			}
		default:
			hw = 0xde00 | uint32(g.r.Intn(256)) // UDF
		}
		g.emit(".inst.n %#04x", hw)
	}
}

// Raw 32-bit single loads and stores (ARMv8-M ARM, C2.3.7 "Load/store
// single"): random size, sign, direction and addressing-mode fields,
// including the reserved ones (UNDEFINED on both), the literal forms
// (Rn = PC) and the hints (byte and halfword loads to PC). Bases are
// r0-r3 near the scratch area's middle, register offsets r8-r11 small,
// immediates below 64, so every access stays in the scratch area; Rt is
// never a base (writeback with Rt = Rn is UNPREDICTABLE).
func genRawLdSt(g *gen) {
	g.mem = true
	for r := 0; r < 4; r++ {
		g.set(r, ScratchSP-64+uint32(g.r.Intn(64)))
	}
	for r := 8; r < 12; r++ {
		g.set(r, uint32(g.r.Intn(16)))
	}
	for k := 0; k < 1+g.r.Intn(2); k++ {
		sign, up, size, load := uint32(g.r.Intn(2)), uint32(g.r.Intn(2)), uint32(g.r.Intn(4)), uint32(g.r.Intn(2))
		if sign == 1 && g.r.Intn(4) != 0 {
			load = 1 // signed stores are reserved: keep a few
		}
		rn := uint32(g.r.Intn(4))
		if load == 1 && g.r.Intn(6) == 0 {
			rn = 15 // literal
		}
		rt := uint32(4 + g.r.Intn(9))
		if load == 1 && size < 2 && g.r.Intn(6) == 0 {
			rt = 15 // PLD, PLI, hints
		}
		var low uint32
		switch {
		case up == 1 || rn == 15:
			low = uint32(g.r.Intn(64))
		default:
			switch g.r.Intn(5) {
			case 0: // register offset
				low = uint32(g.r.Intn(4))<<4 | uint32(8+g.r.Intn(4))
			case 1, 2: // imm8 forms: P U W = bits 10..8
				low = 0x800 | uint32(g.r.Intn(8))<<8 | uint32(g.r.Intn(64))
			case 3: // unprivileged or negative offset
				low = uint32(g.pickInt(0xe00, 0xc00)) | uint32(g.r.Intn(64))
			default: // anything, reserved values included; keep offsets small
				low = uint32(g.r.Intn(0x1000)) &^ 0xc0
			}
		}
		if up == 0 && rn != 15 {
			if low>>6 == 0 { // register offset: Rm is one of the small offsets
				low = low&0x30 | uint32(8+g.r.Intn(4))
			}
			if rt == 15 && low>>6 != 0 && low>>8 != 0xc {
				rt = uint32(4 + g.r.Intn(9)) // a hint has no writeback or T form (UNPREDICTABLE)
			}
		}
		hw1 := 0xf800 | sign<<8 | up<<7 | size<<5 | load<<4 | rn
		g.emit(".inst.w %#08x", hw1<<16|rt<<12|low)
	}
}

// Raw 16-bit loads and stores: literal, register offset, immediate
// offset (word, byte, halfword), SP-relative, LDM/STM. Bases are r0-r3
// (word-aligned addresses below the scratch area's middle), register
// offsets r4-r7 (small), so every access stays in the scratch area; STM
// with the base in the list has it lowest (otherwise the stored value is
// UNKNOWN).
func genRaw16Mem(g *gen) {
	g.mem = true
	for r := 0; r < 4; r++ {
		g.set(r, ScratchSP-64+4*uint32(g.r.Intn(16)))
	}
	for r := 4; r < 8; r++ {
		g.set(r, uint32(g.r.Intn(16)))
	}
	var hw uint32
	switch g.r.Intn(5) {
	case 0: // LDR literal
		hw = 0x4800 | uint32(g.r.Intn(0x800))
	case 1: // register offset: 0101 opB Rm Rn Rt
		hw = 0x5000 | uint32(g.r.Intn(8))<<9 | uint32(4+g.r.Intn(4))<<6 | uint32(g.r.Intn(4))<<3 | uint32(g.r.Intn(8))
	case 2: // immediate offset: 011B L imm5 Rn Rt, 1000 L imm5 Rn Rt
		hw = uint32(g.pickInt(0x6000, 0x7000, 0x8000)) | uint32(g.r.Intn(2))<<11 | uint32(g.r.Intn(32))<<6 | uint32(g.r.Intn(4))<<3 | uint32(g.r.Intn(8))
	case 3: // SP-relative: 1001 L Rt imm8
		hw = 0x9000 | uint32(g.r.Intn(2))<<11 | uint32(g.r.Intn(8))<<8 | uint32(g.r.Intn(32))
	default: // LDM/STM: 1100 L Rn list
		load, rn := uint32(g.r.Intn(2)), uint32(g.r.Intn(4))
		list := uint32(1 + g.r.Intn(255))
		if load == 0 && list&(1<<rn) != 0 {
			list &^= 1<<rn - 1 // the base is the lowest register stored
		}
		hw = 0xc000 | load<<11 | rn<<8 | list
	}
	g.emit(".inst.n %#04x", hw)
}
