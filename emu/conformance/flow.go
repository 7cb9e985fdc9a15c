package conformance

import (
	"strconv"
	"strings"
)

// itBody returns an instruction for an IT slot with condition c. Inside
// an IT block the 16-bit data-processing encodings do not set the flags
// (ARMv8-M ARM, "Conditional execution"); CMP/CMN/TST and the 32-bit S
// forms do, changing the outcome of later slots. A slot not taken must
// have no effect at all.
func (g *gen) itBody(c string) string {
	d, n, m := rn(g.any(true)), rn(g.any(true)), rn(g.any(true))
	D, N, M := rn(g.any(false)), rn(g.any(false)), rn(g.any(false))
	switch g.r.Intn(16) {
	case 0:
		return g.pick("add", "sub") + c + " " + d + ", " + n + ", " + m
	case 1:
		return "mov" + c + " " + d + ", #" + itoa(g.r.Intn(256))
	case 2:
		return g.pick("cmp", "cmn", "tst") + c + " " + n + ", " + m
	case 3:
		return g.pick("adds", "subs", "ands", "orrs") + c + ".w " + D + ", " + N + ", #" + itoa(g.pickInt(1, 0xff, g.r.Intn(256)))
	case 4:
		return g.pick("lsl", "lsr", "asr") + c + " " + d + ", " + m + ", #" + itoa(1+g.r.Intn(31))
	case 5:
		return g.pick("eor", "orr", "bic") + c + ".w " + D + ", " + N + ", " + M + ", lsl #3"
	case 6:
		return g.pick("add", "sub") + c + " " + d + ", " + n + ", #" + itoa(g.r.Intn(8))
	case 7:
		return g.pick("subs", "adcs", "sbcs", "rsbs") + c + ".w " + D + ", " + N + ", " + M
	case 8:
		return g.pick("mul", "sdiv", "udiv", "qadd", "sadd16", "usub8", "sel") + c + " " + D + ", " + N + ", " + M
	case 9: // 16-bit two-register data processing, no flags inside IT
		return g.pick("and", "eor", "adc", "sbc", "orr", "bic") + c + " " + d + ", " + d + ", " + m
	case 10:
		if g.r.Intn(2) == 0 {
			return g.pick("mvn", "mov") + c + " " + d + ", " + m
		}
		return "rsb" + c + " " + d + ", " + m + ", #0"
	case 11: // 16-bit register shifts (amount in the bottom byte)
		return g.pick("lsl", "lsr", "asr", "ror") + c + " " + d + ", " + d + ", " + m
	case 12:
		return g.pick("rev", "rev16", "revsh", "sxtb", "uxth", "clz", "rbit") + c + " " + D + ", " + M
	case 13: // conditional load and store, SP writeback
		t2 := rn(g.any(false))
		for t2 == D {
			t2 = rn(g.any(false))
		}
		return g.pick("ldrd", "strd") + c + " " + D + ", " + t2 + ", [sp, #-8]!"
	case 14:
		return g.pick("ssat", "usat") + c + " " + D + ", #" + itoa(1+g.r.Intn(31)) + ", " + N
	default:
		return "bfi" + c + " " + D + ", " + N + ", #" + itoa(g.r.Intn(16)) + ", #" + itoa(1+g.r.Intn(16))
	}
}

// IT blocks of one to four slots with every condition and then/else mix;
// sometimes the last slot is a conditional branch (allowed there).
func genIT(g *gen) {
	g.mem = true // conditional LDRD/STRD below SP
	c := conds[g.r.Intn(len(conds))]
	n := 1 + g.r.Intn(4)
	if g.r.Intn(15) == 0 { // AL: only "then" slots
		c = "al"
	}
	pat := ""
	cs := []string{c}
	for i := 1; i < n; i++ {
		if c != "al" && g.r.Intn(2) == 0 {
			pat += "e"
			cs = append(cs, invCond(c))
		} else {
			pat += "t"
			cs = append(cs, c)
		}
	}
	if c == "al" {
		// GAS refuses IT AL; encode it (ARMv8-M ARM, IT T1: 0xbf00 |
		// firstcond<<4 | mask, mask = the one bit after n-1 "then" bits).
		// Its slots are assembled as outside IT, so the 16-bit forms are
		// the flag-setting encodings, which inside the block do not set
		// the flags.
		g.emit(".hword %#x", 0xbf00|0xe<<4|8>>(n-1))
		for i := 0; i < n; i++ {
			d, a, b := g.any(true), g.any(true), g.any(true)
			g.emit("%s", g.pick("adds.n", "subs.n")+" "+rn(d)+", "+rn(a)+", "+rn(b))
		}
		g.emit("adds.n r1, r1, #1")
		return
	}
	g.emit("i%s %s", "t"+pat, c)
	end := g.local()
	branch := c != "al" && g.r.Intn(4) == 0
	for i, sc := range cs {
		if branch && i == n-1 {
			g.emit("b%s.w %s", sc, end)
			g.emit("movs r0, #0x5a")
			break
		}
		g.emit("%s", g.itBody(sc))
	}
	g.emit("%s:", end)
	g.emit("adds.n r1, r1, #1") // flags out of a block whose slots changed them
}

// Conditional and unconditional branches over a block, CBZ/CBNZ, a
// counted loop, BL/BX LR.
func genBranch(g *gen) {
	skip, done := g.local(), g.local()
	d := g.any(true)
	switch g.r.Intn(5) {
	case 0:
		if g.r.Intn(2) == 0 {
			g.emit("cmp.w %s, %s", rn(g.any(false)), rn(g.any(false)))
		}
		g.emit("b%s.%s %s", conds[g.r.Intn(len(conds))], g.pick("n", "w"), skip)
		g.emit("adds %s, #1", rn(d))
		g.emit("eor.w r9, r9, #0xff")
		g.emit("%s:", skip)
		g.emit("add.w r10, r10, #3")
	case 1:
		r := g.reg(true)
		if g.r.Intn(2) == 0 {
			g.set(r, 0)
		}
		g.emit("%s %s, %s", g.pick("cbz", "cbnz"), rn(r), skip)
		g.emit("adds %s, #1", rn(d))
		g.emit("eor.w r9, r9, #0xff")
		g.emit("%s:", skip)
	case 2:
		c := g.reg(true)
		g.set(c, uint32(1+g.r.Intn(6)))
		g.emit("%s:", skip)
		g.emit("add.w r11, r11, r12, ror #7")
		g.emit("subs %s, #1", rn(c))
		g.emit("bne.%s %s", g.pick("n", "w"), skip)
	case 3:
		g.emit("bl %s", skip)
		g.emit("b.%s %s", g.pick("n", "w"), done)
		g.emit("%s:", skip)
		g.emit("adds %s, #5", rn(d))
		g.emit("bx lr")
		g.emit("%s:", done)
	default: // backward conditional branch
		back := g.local()
		g.emit("b.w %s", skip)
		g.emit("%s:", back)
		g.emit("adds %s, #7", rn(d))
		g.emit("b.w %s", done)
		g.emit("%s:", skip)
		g.emit("b%s.w %s", conds[g.r.Intn(len(conds))], back)
		g.emit("%s:", done)
	}
}

// TBB and TBH with the table after the instruction (Rn = PC) or
// elsewhere (Rn from ADR).
func genTBB(g *gen) {
	k := 2 + g.r.Intn(4)
	idx := g.reg(false)
	g.set(idx, uint32(g.r.Intn(k)))
	half := g.r.Intn(2) == 0
	table, done := g.local(), g.local()
	cases := make([]string, k)
	for i := range cases {
		cases[i] = g.local()
	}
	// Branch offsets count halfwords from the TBB/TBH's PC (its address
	// + 4), which is the table only when Rn is PC.
	after := g.local()
	entries := make([]string, k)
	for i, c := range cases {
		entries[i] = "(" + c + "-" + after + ")/2"
	}
	dir := ".byte"
	if half {
		dir = ".hword"
	}
	if g.r.Intn(2) == 0 {
		if half {
			g.emit("tbh [pc, %s, lsl #1]", rn(idx))
		} else {
			g.emit("tbb [pc, %s]", rn(idx))
		}
		g.emit("%s:", table)
		g.emit("%s:", after)
		g.emit("%s %s", dir, strings.Join(entries, ", "))
		g.emit(".align 1")
	} else {
		base := g.reg(false)
		g.emit("adr.w %s, %s", rn(base), table)
		if half {
			g.emit("tbh [%s, %s, lsl #1]", rn(base), rn(idx))
		} else {
			g.emit("tbb [%s, %s]", rn(base), rn(idx))
		}
		g.emit("%s:", after)
		g.emit("b.w %s", cases[0])
		g.emit(".align 2")
		g.emit("%s:", table)
		g.emit("%s %s", dir, strings.Join(entries, ", "))
		g.emit(".align 1")
	}
	for i, c := range cases {
		g.emit("%s:", c)
		g.emit("add.w r%d, r%d, #%d", g.any(false), g.any(false), 1+i)
		g.emit("b.w %s", done)
	}
	g.emit("%s:", done)
}

func itoa(v int) string { return strconv.Itoa(v) }
