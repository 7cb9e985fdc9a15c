package conformance

import "fmt"

// classes are the encoding classes of the Thumb-2 instruction set (ARMv8-M
// Mainline with the DSP extension) the generator covers. Every operand
// choice avoids the encodings the architecture calls UNPREDICTABLE (SP or
// PC where not allowed, RdLo == RdHi, a written-back base in the register
// list ...): their results are not defined, so nothing can be compared.
var classes = []class{
	{"dp16", genDP16},
	{"dpimm32", genDPImm32},
	{"dpreg32", genDPReg32},
	{"shiftreg", genShiftReg},
	{"plainimm", genPlainImm},
	{"bitfield", genBitfield},
	{"mul", genMul},
	{"longmul", genLongMul},
	{"div", genDiv},
	{"sat", genSat},
	{"parallel", genParallel},
	{"extend", genExtend},
	{"misc", genMisc},
	{"it", genIT},
	{"branch", genBranch},
	{"ldst", genLdSt},
	{"literal", genLiteral},
	{"ldm", genLdm},
	{"ldrd", genLdrd},
	{"excl", genExcl},
	{"tbb", genTBB},
	{"sysreg", genSysReg},
	{"sp", genSP},
	{"pcwrite", genPCWrite},
	{"fault", genFault},
	{"mix", genMix},
	{"smc", genSMC},
	{"pagecross", genPageCross},
	{"rawdp", genRawDP},
	{"raw16", genRaw16},
	{"rawldst", genRawLdSt},
	{"raw16mem", genRaw16Mem},
}

// aluGens are the classes without memory or control flow: mix chains them.
var aluGens = []func(g *gen){genDP16, genDPImm32, genDPReg32, genShiftReg, genPlainImm, genBitfield,
	genMul, genLongMul, genDiv, genSat, genParallel, genExtend, genMisc}

// Chains of instructions from every data-processing class, so that flags,
// Q and GE flow from one encoding into another (ADC after a shifter carry,
// SEL after a parallel add, an S form after a saturation ...).
func genMix(g *gen) {
	for k := 0; k < 3+g.r.Intn(4); k++ {
		aluGens[g.r.Intn(len(aluGens))](g)
		g.used = map[int]bool{}
	}
}

// 16-bit data processing (outside an IT block these set the flags).
func genDP16(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m := g.any(true), g.any(true), g.any(true)
		switch g.r.Intn(12) {
		case 0:
			g.emit("%s.n %s, %s, #%d", g.pick("adds", "subs"), rn(d), rn(n), g.r.Intn(8))
		case 1:
			g.emit("%s.n %s, #%d", g.pick("adds", "subs", "movs", "cmp"), rn(d), g.pickInt(0, 1, 0x7f, 0x80, 0xff, g.r.Intn(256)))
		case 2:
			g.emit("%s.n %s, %s, %s", g.pick("adds", "subs"), rn(d), rn(n), rn(m))
		case 3:
			g.emit("%s.n %s, %s", g.pick("ands", "eors", "adcs", "sbcs", "orrs", "bics", "mvns", "tst", "cmp", "cmn"), rn(d), rn(m))
		case 4:
			g.emit("%s.n %s, %s", g.pick("lsls", "lsrs", "asrs", "rors"), rn(d), rn(m))
			g.set(m, shiftAmounts[g.r.Intn(len(shiftAmounts))])
		case 5:
			op := g.pick("lsls", "lsrs", "asrs")
			amt := g.pickInt(1, 31, g.r.Intn(31)+1)
			if op != "lsls" {
				amt = g.pickInt(1, 31, 32, g.r.Intn(32)+1)
			} else if g.r.Intn(4) == 0 {
				amt = 0
			}
			g.emit("%s.n %s, %s, #%d", op, rn(d), rn(m), amt)
		case 6:
			g.emit("rsbs.n %s, %s, #0", rn(d), rn(m))
		case 7:
			g.emit("muls.n %s, %s, %s", rn(d), rn(m), rn(d))
		case 8: // high registers: ADD, MOV, CMP (T2 encodings)
			h := 8 + g.r.Intn(5)
			switch g.r.Intn(3) {
			case 0:
				g.emit("add.n %s, %s", rn(h), rn(m))
			case 1:
				g.emit("mov.n %s, %s", rn(d), rn(h))
			default:
				g.emit("cmp.n %s, %s", rn(h), rn(m))
			}
		case 9:
			g.emit("add.n %s, sp, #%d", rn(d), 4*g.r.Intn(256))
		case 10:
			if g.r.Intn(2) == 0 {
				g.emit("add.n %s, pc", rn(d)) // PC reads as the instruction's address + 4
			} else {
				g.emit("movs.n %s, %s", rn(d), rn(m))
			}
		default:
			g.emit("adr.n %s, %s", rn(d), "1f")
			g.emit("b.n 2f")
			g.emit(".align 2")
			g.emit("1: .word 0")
			g.emit("2:")
		}
	}
}

var dpOps3 = []string{"and", "bic", "orr", "orn", "eor", "add", "adc", "sbc", "sub", "rsb"}

// 32-bit data processing, modified immediate.
func genDPImm32(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n := g.any(false), g.any(false)
		imm := g.modImm()
		switch g.r.Intn(4) {
		case 0, 1:
			g.emit("%s%s.w %s, %s, #%#x", dpOps3[g.r.Intn(len(dpOps3))], g.sfx(), rn(d), rn(n), imm)
		case 2:
			g.emit("%s.w %s, #%#x", g.pick("tst", "teq", "cmp", "cmn"), rn(n), imm)
		default:
			g.emit("%s%s.w %s, #%#x", g.pick("mov", "mvn"), g.sfx(), rn(d), imm)
		}
	}
}

// 32-bit data processing, shifted register.
func genDPReg32(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m := g.any(false), g.any(false), g.any(false)
		switch g.r.Intn(4) {
		case 0, 1:
			g.emit("%s%s.w %s, %s, %s%s", dpOps3[g.r.Intn(len(dpOps3))], g.sfx(), rn(d), rn(n), rn(m), g.shiftOp())
		case 2:
			g.emit("%s.w %s, %s%s", g.pick("tst", "teq", "cmp", "cmn"), rn(n), rn(m), g.shiftOp())
		default:
			sh := g.shiftOp()
			if g.r.Intn(2) == 0 {
				g.emit("mvn%s.w %s, %s%s", g.sfx(), rn(d), rn(m), sh)
			} else if sh == "" {
				g.emit("mov%s.w %s, %s", g.sfx(), rn(d), rn(m))
			} else if sh == ", rrx" {
				g.emit("rrx%s %s, %s", g.sfx(), rn(d), rn(m))
			} else {
				var op string
				var amt int
				fmt.Sscanf(sh, ", %s #%d", &op, &amt)
				g.emit("%s%s.w %s, %s, #%d", op, g.sfx(), rn(d), rn(m), amt)
			}
		}
	}
}

// Shifts by a register (bottom byte of the amount: 0, 1, 31, 32, 33 ...).
func genShiftReg(g *gen) {
	for k := 0; k < 1+g.r.Intn(2); k++ {
		d, n, m := g.any(false), g.any(false), g.reg(false)
		g.set(m, shiftAmounts[g.r.Intn(len(shiftAmounts))])
		g.emit("%s%s.w %s, %s, %s", g.pick("lsl", "lsr", "asr", "ror"), g.sfx(), rn(d), rn(n), rn(m))
	}
}

// 32-bit plain binary immediate: ADDW/SUBW, MOVW/MOVT, ADR.W.
func genPlainImm(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n := g.any(false), g.any(false)
		switch g.r.Intn(4) {
		case 0:
			g.emit("%s %s, %s, #%d", g.pick("addw", "subw"), rn(d), rn(n), g.pickInt(0, 1, 4095, g.r.Intn(4096)))
		case 1:
			g.emit("%s %s, #%#x", g.pick("movw", "movt"), rn(d), g.pickInt(0, 0xffff, 0x8000, g.r.Intn(0x10000)))
		case 2:
			g.emit("addw %s, sp, #%d", rn(d), g.r.Intn(4096))
		default:
			g.emit("adr.w %s, 1f", rn(d))
			g.emit("b.w 2f")
			g.emit("1: nop.w")
			g.emit("2:")
		}
	}
}

// Bitfields: SBFX, UBFX, BFI, BFC.
func genBitfield(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n := g.any(false), g.any(false)
		lsb := g.pickInt(0, 1, 31, g.r.Intn(32))
		w := 1 + g.r.Intn(32-lsb)
		if g.r.Intn(3) == 0 {
			w = 32 - lsb
		}
		switch g.r.Intn(4) {
		case 0:
			g.emit("sbfx %s, %s, #%d, #%d", rn(d), rn(n), lsb, w)
		case 1:
			g.emit("ubfx %s, %s, #%d, #%d", rn(d), rn(n), lsb, w)
		case 2:
			g.emit("bfi %s, %s, #%d, #%d", rn(d), rn(n), lsb, w)
		default:
			g.emit("bfc %s, #%d, #%d", rn(d), lsb, w)
		}
	}
}

// Multiply and multiply-accumulate, halfword and dual multiplies.
func genMul(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m, a := g.any(false), g.any(false), g.any(false), g.any(false)
		xy := g.pick("bb", "bt", "tb", "tt")
		switch g.r.Intn(10) {
		case 0:
			g.emit("mul.w %s, %s, %s", rn(d), rn(n), rn(m))
		case 1:
			g.emit("%s %s, %s, %s, %s", g.pick("mla", "mls"), rn(d), rn(n), rn(m), rn(a))
		case 2:
			g.emit("smul%s %s, %s, %s", xy, rn(d), rn(n), rn(m))
		case 3:
			g.emit("smla%s %s, %s, %s, %s", xy, rn(d), rn(n), rn(m), rn(a))
		case 4:
			g.emit("%s %s, %s, %s", g.pick("smulwb", "smulwt"), rn(d), rn(n), rn(m))
		case 5:
			g.emit("%s %s, %s, %s, %s", g.pick("smlawb", "smlawt"), rn(d), rn(n), rn(m), rn(a))
		case 6:
			g.emit("%s %s, %s, %s", g.pick("smuad", "smuadx", "smusd", "smusdx"), rn(d), rn(n), rn(m))
		case 7:
			g.emit("%s %s, %s, %s, %s", g.pick("smlad", "smladx", "smlsd", "smlsdx"), rn(d), rn(n), rn(m), rn(a))
		case 8:
			if g.r.Intn(2) == 0 {
				g.emit("%s %s, %s, %s", g.pick("smmul", "smmulr"), rn(d), rn(n), rn(m))
			} else {
				g.emit("%s %s, %s, %s, %s", g.pick("smmla", "smmlar", "smmls", "smmlsr"), rn(d), rn(n), rn(m), rn(a))
			}
		default:
			if g.r.Intn(2) == 0 {
				g.emit("usad8 %s, %s, %s", rn(d), rn(n), rn(m))
			} else {
				g.emit("usada8 %s, %s, %s, %s", rn(d), rn(n), rn(m), rn(a))
			}
		}
	}
}

// Long multiplies (RdLo and RdHi distinct: equal is UNPREDICTABLE).
func genLongMul(g *gen) {
	for k := 0; k < 1+g.r.Intn(2); k++ {
		lo, hi := g.any(false), g.any(false)
		for hi == lo {
			hi = g.any(false)
		}
		n, m := g.any(false), g.any(false)
		switch g.r.Intn(3) {
		case 0:
			g.emit("%s %s, %s, %s, %s", g.pick("smull", "umull", "smlal", "umlal", "umaal"), rn(lo), rn(hi), rn(n), rn(m))
		case 1:
			g.emit("smlal%s %s, %s, %s, %s", g.pick("bb", "bt", "tb", "tt"), rn(lo), rn(hi), rn(n), rn(m))
		default:
			g.emit("%s %s, %s, %s, %s", g.pick("smlald", "smlaldx", "smlsld", "smlsldx"), rn(lo), rn(hi), rn(n), rn(m))
		}
	}
}

// Divide, including by zero (result 0 with CCR.DIV_0_TRP clear) and
// INT_MIN / -1.
func genDiv(g *gen) {
	d, n, m := g.any(false), g.reg(false), g.reg(false)
	switch g.r.Intn(4) {
	case 0:
		g.set(m, 0)
	case 1:
		g.set(n, 0x80000000)
		g.set(m, 0xffffffff)
	}
	g.emit("%s %s, %s, %s", g.pick("sdiv", "udiv"), rn(d), rn(n), rn(m))
}

// Saturating arithmetic and saturation (Q is sticky: its input is random).
func genSat(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m := g.any(false), g.any(false), g.any(false)
		switch g.r.Intn(5) {
		case 0:
			g.emit("%s %s, %s, %s", g.pick("qadd", "qsub", "qdadd", "qdsub"), rn(d), rn(m), rn(n))
		case 1:
			sh := ""
			switch g.r.Intn(3) {
			case 1:
				sh = fmt.Sprintf(", lsl #%d", g.r.Intn(32))
			case 2:
				sh = fmt.Sprintf(", asr #%d", 1+g.r.Intn(31))
			}
			g.emit("ssat %s, #%d, %s%s", rn(d), g.pickInt(1, 8, 16, 31, 32, 1+g.r.Intn(32)), rn(n), sh)
		case 2:
			sh := ""
			if g.r.Intn(2) == 0 {
				sh = fmt.Sprintf(", lsl #%d", g.r.Intn(32))
			}
			g.emit("usat %s, #%d, %s%s", rn(d), g.pickInt(0, 1, 8, 16, 31, g.r.Intn(32)), rn(n), sh)
		case 3:
			g.emit("ssat16 %s, #%d, %s", rn(d), 1+g.r.Intn(16), rn(n))
		default:
			g.emit("usat16 %s, #%d, %s", rn(d), g.r.Intn(16), rn(n))
		}
	}
}

// Parallel add and subtract (GE flags out of S/U, into SEL).
func genParallel(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m := g.any(false), g.any(false), g.any(false)
		if g.r.Intn(4) == 0 {
			g.emit("sel %s, %s, %s", rn(d), rn(n), rn(m))
			continue
		}
		g.emit("%s%s %s, %s, %s", g.pick("s", "q", "sh", "u", "uq", "uh"),
			g.pick("add8", "add16", "sub8", "sub16", "asx", "sax"), rn(d), rn(n), rn(m))
	}
}

// Sign and zero extension, with and without add, 16- and 32-bit.
func genExtend(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, n, m := g.any(false), g.any(false), g.any(false)
		rot := ""
		if r := g.r.Intn(4); r > 0 {
			rot = fmt.Sprintf(", ror #%d", 8*r)
		}
		switch g.r.Intn(4) {
		case 0:
			g.emit("%s.n %s, %s", g.pick("sxtb", "sxth", "uxtb", "uxth"), rn(g.any(true)), rn(g.any(true)))
		case 1:
			g.emit("%s.w %s, %s%s", g.pick("sxtb", "sxth", "uxtb", "uxth"), rn(d), rn(m), rot)
		case 2:
			g.emit("%s %s, %s, %s%s", g.pick("sxtab", "sxtah", "uxtab", "uxtah", "sxtab16", "uxtab16"), rn(d), rn(n), rn(m), rot)
		default:
			g.emit("%s %s, %s%s", g.pick("sxtb16", "uxtb16"), rn(d), rn(m), rot)
		}
	}
}

// REV, REV16, REVSH, RBIT, CLZ, PKHBT/PKHTB, preload hints.
func genMisc(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		if g.r.Intn(3) == 0 {
			g.emit("%s.n %s, %s", g.pick("rev", "rev16", "revsh"), rn(g.any(true)), rn(g.any(true)))
			continue
		}
		m := g.any(false)
		if g.r.Intn(6) == 0 {
			g.set(m, 0)
		}
		if g.r.Intn(6) == 0 { // preload hints: no access, no fault, whatever the address
			g.emit("%s", g.pick("pld", "pli")+" ["+rn(m)+", #"+itoa(g.r.Intn(4096))+"]")
			g.emit("pld [%s, %s, lsl #%d]", rn(m), rn(g.any(false)), g.r.Intn(4))
			g.emit("pld [%s, #-%d]", rn(m), 1+g.r.Intn(255))
			continue
		}
		if g.r.Intn(5) == 0 { // pack halfword
			if g.r.Intn(2) == 0 {
				g.emit("pkhbt %s, %s, %s, lsl #%d", rn(g.any(false)), rn(g.any(false)), rn(m), g.r.Intn(32))
			} else {
				g.emit("pkhtb %s, %s, %s, asr #%d", rn(g.any(false)), rn(g.any(false)), rn(m), 1+g.r.Intn(32))
			}
			continue
		}
		g.emit("%s %s, %s", g.pick("rev.w", "rev16.w", "revsh.w", "rbit", "clz"), rn(g.any(false)), rn(m))
	}
}
