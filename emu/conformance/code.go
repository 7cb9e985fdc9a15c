package conformance

// Self-modifying code: a loop runs an instruction, overwrites it with
// another encoding (16-bit MOVS/ADDS immediate or 32-bit MOVW with new
// immediates), and runs it again. The code region is RAM on the AN505 as
// in the emulated run; a core that caches decoded instructions must see
// the store.
func genSMC(g *gen) {
	g.mem = true
	d := g.reg(true) // the patched instruction writes only d: the loop's registers stay intact
	acc, cnt, p, v := g.reg(false), g.reg(false), g.reg(false), g.reg(false)
	loop, target := g.local(), g.local()
	g.set(cnt, 2)
	g.set(acc, 0)
	wide := g.r.Intn(2) == 0
	g.emit("%s:", loop)
	g.emit("%s:", target)
	if wide {
		g.emit("movw %s, #%d", rn(d), g.r.Intn(65536))
	} else {
		g.emit("movs.n %s, #%d", rn(d), g.r.Intn(256))
	}
	g.emit("add.w %s, %s, %s, ror #3", rn(acc), rn(d), rn(acc))
	g.emit("adr.w %s, %s", rn(p), target)
	if wide { // MOVW T3: 11110 i 10 0100 imm4 | 0 imm3 Rd imm8
		imm := uint32(g.r.Intn(65536))
		rd := uint32(d)
		hw1 := 0xf240 | (imm>>11&1)<<10 | imm>>12
		hw2 := (imm>>8&7)<<12 | rd<<8 | imm&0xff
		g.emit("movw %s, #%#x", rn(v), hw1)
		g.emit("strh.w %s, [%s]", rn(v), rn(p))
		g.emit("movw %s, #%#x", rn(v), hw2)
		g.emit("strh.w %s, [%s, #2]", rn(v), rn(p))
	} else { // MOVS T1 (0x2000) or ADDS T2 (0x3000): Rdn<<8 | imm8
		hw := uint32(g.pickInt(0x2000, 0x3000)) | uint32(d)<<8 | uint32(g.r.Intn(256))
		g.emit("movw %s, #%#x", rn(v), hw)
		g.emit("strh.w %s, [%s]", rn(v), rn(p))
	}
	g.emit("dsb")
	g.emit("isb")
	g.emit("subs %s, %s, #1", rn(cnt), rn(cnt))
	g.emit("bne.w %s", loop)
}

// Instructions straddling a 4 KiB boundary (where a decoded-instruction
// cache keeps its pages): the sequence branches over padding to a 32-bit
// instruction whose halfwords lie on two pages, then to one that starts
// a page.
func genPageCross(g *gen) {
	start := g.local()
	g.emit("b.w %s", start)
	g.emit(".balign 4096")
	g.emit(".space 4092")
	g.emit("%s:", start)
	g.emit("nop.n")
	g.emit("adds.w %s, %s, #%#x", rn(g.any(false)), rn(g.any(false)), g.modImm()) // at 4094: straddles
	g.emit("%s", g.pick("adds.n r1, r1, r2", "lsls.n r3, r4, #3", "movs.n r5, #7"))
	g.emit("eor.w %s, %s, %s, ror #5", rn(g.any(false)), rn(g.any(false)), rn(g.any(false)))
}
