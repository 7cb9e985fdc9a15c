package conformance

// Special registers: MRS of every M-profile SYSm the harness leaves in a
// known state (Thread mode on MSP, masks clear, limits zero), MSR APSR
// with each mask, PRIMASK through MSR and CPS (restored before the end:
// the next sequence must start unmasked).
func genSysReg(g *gen) {
	for k := 0; k < 1+g.r.Intn(3); k++ {
		d, s := g.any(false), g.any(false)
		switch g.r.Intn(5) {
		case 0:
			g.emit("mrs %s, %s", rn(d), g.pick("apsr", "iapsr", "eapsr", "xpsr", "ipsr", "epsr", "iepsr",
				"msp", "psp", "primask", "basepri", "faultmask", "control", "msplim", "psplim"))
		case 1:
			g.emit("msr %s, %s", g.pick("apsr_nzcvq", "apsr_g", "apsr_nzcvqg"), rn(s))
			g.emit("mrs %s, apsr", rn(d))
		case 2:
			g.emit("msr primask, %s", rn(s))
			g.emit("mrs %s, primask", rn(d))
			g.emit("cpsie i")
		case 3:
			g.emit("cpsid i")
			g.emit("mrs %s, primask", rn(d))
			g.emit("cpsie i")
			g.emit("mrs %s, primask", rn(g.any(false)))
		default:
			g.emit("%s", g.pick("nop.n", "nop.w", "yield.n", "yield.w", "sev.n", "sev.w", "dmb sy", "dsb sy", "isb sy", "clrex"))
		}
	}
}

// Stack pointer arithmetic: ADD/SUB SP immediate (16- and 32-bit),
// ADD SP register, MOV to and from SP, SP-based operands, CMP with SP;
// SP stays word aligned and inside the scratch area.
func genSP(g *gen) {
	d, m := g.any(false), g.reg(false)
	off := 4 * uint32(g.r.Intn(16))
	g.set(m, off)
	switch g.r.Intn(7) {
	case 0:
		g.emit("sub.n sp, #%d", off)
		g.emit("add.n sp, #%d", 4*g.r.Intn(16))
	case 1:
		g.emit("%s.w sp, sp, #%d", g.pick("add", "sub", "adds", "subs"), off)
	case 2:
		g.emit("%s sp, sp, #%d", g.pick("addw", "subw"), off)
	case 3:
		g.emit("add.n sp, %s", rn(m))
	case 4:
		g.emit("mov.n %s, sp", rn(d))
		g.emit("mov.w %s, sp", rn(g.any(false)))
		g.emit("sub.w sp, sp, %s", rn(m))
	case 5:
		g.emit("%s.w %s, sp, %s, lsl #%d", g.pick("add", "sub", "adds", "subs"), rn(d), rn(m), g.r.Intn(4))
	default:
		g.emit("cmp sp, %s", rn(m))
		g.emit("cmp.w sp, #%#x", g.modImm())
	}
}

// Writes to PC: BX and BLX to a register, MOV and ADD to PC, LDR, LDM
// and POP into PC (interworking: bit 0 set), and the faults of an even
// target (INVSTATE) on BX/POP.
func genPCWrite(g *gen) {
	t, x := g.reg(false), g.reg(false)
	target, done := g.local(), g.local()
	g.emit("adr.w %s, %s + 1", rn(t), target)
	switch g.r.Intn(8) {
	case 0:
		g.emit("bx %s", rn(t))
	case 1:
		g.emit("blx %s", rn(t))
	case 2:
		g.emit("mov pc, %s", rn(t))
	case 3: // ADD PC, Rm: the target is PC(+4) + Rm
		here := g.local()
		g.emit("adr.w %s, %s", rn(x), here)
		g.emit("sub.w %s, %s, %s", rn(t), rn(t), rn(x))
		g.emit("sub.w %s, %s, #4", rn(t), rn(t))
		g.emit("%s:", here)
		g.emit("add pc, %s", rn(t))
	case 4:
		g.emit("push {%s}", rn(t))
		g.emit("pop {pc}")
	case 5:
		g.emit("str.w %s, [sp, #-8]!", rn(t))
		g.emit("ldr.w pc, [sp], #8")
	case 6: // the higher-numbered register's slot is the one PC loads
		lo, hi := min(t, x), max(t, x)
		g.emit("mov %s, %s", rn(hi), rn(t))
		g.emit("stmdb sp!, {%s, %s}", rn(lo), rn(hi))
		g.emit("ldmia.w sp!, {%s, pc}", rn(lo))
	default: // target with bit 0 clear: INVSTATE UsageFault on both
		g.emit("bic %s, %s, #1", rn(t), rn(t))
		g.emit("%s %s", g.pick("bx", "blx"), rn(t))
	}
	g.emit("movs r0, #0x77") // skipped
	g.emit("b.w %s", done)
	g.emit("%s:", target)
	g.emit("adds.n r1, r1, #1")
	g.emit("%s:", done)
}

// Faults the harness recovers from: UDF (16 and 32-bit), a coprocessor
// (FPU) instruction with the FPU disabled, unaligned LDREX/LDRD/LDM.
func genFault(g *gen) {
	n := g.reg(false)
	g.set(n, ScratchBase+2)
	g.mem = true
	switch g.r.Intn(6) {
	case 0:
		g.emit("udf.n #%d", g.r.Intn(256))
	case 1:
		g.emit("udf.w #%d", g.r.Intn(65536))
	case 2:
		g.emit(".inst.w 0xee000a10 @ vmov s0, r0 (NOCP)")
	case 3:
		g.emit("ldrex %s, [%s]", rn(g.reg(false)), rn(n))
	case 4:
		g.emit("ldrd %s, %s, [%s]", rn(g.reg(false)), rn(g.reg(false)), rn(n))
	default:
		g.emit("ldmia.w %s, {%s, %s}", rn(n), rn(0), rn(1))
	}
}
