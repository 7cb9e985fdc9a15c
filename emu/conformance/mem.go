package conformance

import (
	"fmt"
	"strings"
)

// addr returns an address inside the scratch area for an access of size
// bytes (n consecutive words for multiple transfers), aligned to align.
func (g *gen) addr(size, align uint32) uint32 {
	slots := (ScratchSize - size) / align
	return ScratchBase + align*uint32(g.r.Intn(int(slots)+1))
}

// ldstOps are the single loads and stores: mnemonic, size, and whether
// it has the 16-bit immediate form.
var ldstOps = []struct {
	op     string
	size   uint32
	load   bool
	imm16  bool
	signed bool
}{
	{"ldr", 4, true, true, false}, {"str", 4, false, true, false},
	{"ldrb", 1, true, true, false}, {"strb", 1, false, true, false},
	{"ldrh", 2, true, true, false}, {"strh", 2, false, true, false},
	{"ldrsb", 1, true, false, true}, {"ldrsh", 2, true, false, true},
}

// Single loads and stores in every addressing mode: 16-bit immediate and
// register, SP-relative, 32-bit positive imm12, negative imm8, pre-index
// and post-index with writeback, shifted register, unprivileged (T).
// Word and halfword accesses are sometimes unaligned (allowed with
// CCR.UNALIGN_TRP clear).
func genLdSt(g *gen) {
	g.mem = true
	for k := 0; k < 1+g.r.Intn(2); k++ {
		o := ldstOps[g.r.Intn(len(ldstOps))]
		align := o.size
		if g.r.Intn(5) == 0 {
			align = 1
		}
		ea := g.addr(o.size, align)
		switch form := g.r.Intn(9); form {
		case 0: // 16-bit immediate (scaled imm5)
			if !o.imm16 {
				o = ldstOps[0]
			}
			t, n := g.reg(true), g.reg(true)
			ea = g.addr(o.size, o.size)
			off := o.size * uint32(g.r.Intn(32))
			g.set(n, ea-off)
			g.emit("%s.n %s, [%s, #%d]", o.op, rn(t), rn(n), off)
		case 1: // 16-bit register
			t, n, m := g.reg(true), g.reg(true), g.reg(true)
			off := uint32(g.r.Intn(512)) - 256
			g.set(m, off)
			g.set(n, ea-off)
			g.emit("%s.n %s, [%s, %s]", o.op, rn(t), rn(n), rn(m))
		case 2: // SP-relative (16-bit, words only)
			t := g.reg(true)
			off := 4 * uint32(g.r.Intn((ScratchBase+ScratchSize-ScratchSP)/4))
			op := "ldr"
			if !o.load {
				op = "str"
			}
			g.emit("%s.n %s, [sp, #%d]", op, rn(t), off)
		case 3: // imm12
			t, n := g.reg(false), g.reg(false)
			off := uint32(g.pickInt(0, 1, 4095, g.r.Intn(4096)))
			g.set(n, ea-off)
			g.emit("%s.w %s, [%s, #%d]", o.op, rn(t), rn(n), off)
		case 4: // negative imm8
			t, n := g.reg(false), g.reg(false)
			off := uint32(1 + g.r.Intn(255))
			g.set(n, ea+off)
			g.emit("%s %s, [%s, #-%d]", o.op, rn(t), rn(n), off)
		case 5, 6: // pre-index or post-index, writeback (Rn != Rt)
			t, n := g.reg(false), g.reg(false)
			off := int32(g.r.Intn(511)) - 255
			if form == 5 {
				g.set(n, ea-uint32(off))
				g.emit("%s %s, [%s, #%d]!", o.op, rn(t), rn(n), off)
			} else {
				g.set(n, ea)
				g.emit("%s %s, [%s], #%d", o.op, rn(t), rn(n), off)
			}
		case 7: // shifted register
			t, n, m := g.reg(false), g.reg(false), g.reg(false)
			sh := g.r.Intn(4)
			idx := uint32(g.r.Intn(64)) - 32
			g.set(m, idx)
			g.set(n, ea-idx<<sh)
			g.emit("%s.w %s, [%s, %s, lsl #%d]", o.op, rn(t), rn(n), rn(m), sh)
		default: // unprivileged (as privileged code runs it: an ordinary access)
			t, n := g.reg(false), g.reg(false)
			off := uint32(g.r.Intn(256))
			g.set(n, ea-off)
			g.emit("%st %s, [%s, #%d]", o.op, rn(t), rn(n), off)
		}
	}
}

// PC-relative (literal) loads, forwards and backwards, every size, LDRD,
// and ADR.
func genLiteral(g *gen) {
	pool, after := g.local(), g.local()
	words := []uint32{g.value(), g.value(), g.value(), g.value()}
	back := g.r.Intn(3) == 0
	emitPool := func() {
		g.emit(".align 2")
		g.emit("%s:", pool)
		g.emit(".word %#x, %#x, %#x, %#x", words[0], words[1], words[2], words[3])
	}
	if back {
		g.emit("b.w %s", after)
		emitPool()
		g.emit("%s:", after)
	}
	for k := 0; k < 1+g.r.Intn(3); k++ {
		t := g.any(false)
		switch g.r.Intn(5) {
		case 0:
			g.emit("ldr.w %s, %s+%d", rn(t), pool, 4*g.r.Intn(4))
		case 1:
			g.emit("%s %s, %s+%d", g.pick("ldrb.w", "ldrsb.w"), rn(t), pool, g.r.Intn(16))
		case 2:
			g.emit("%s %s, %s+%d", g.pick("ldrh.w", "ldrsh.w"), rn(t), pool, 2*g.r.Intn(8))
		case 3:
			t2 := g.any(false)
			for t2 == t {
				t2 = g.any(false)
			}
			g.emit("ldrd %s, %s, %s+%d", rn(t), rn(t2), pool, 4*g.r.Intn(3))
		default:
			g.emit("adr.w %s, %s+%d", rn(t), pool, g.r.Intn(16))
		}
	}
	if !back {
		if g.r.Intn(2) == 0 {
			g.emit("ldr.n %s, %s", rn(g.any(true)), pool)
		}
		g.emit("b.w %s", after)
		emitPool()
		g.emit("%s:", after)
	}
}

// regList renders a register list.
func regList(rs []int) string {
	var s []string
	for _, r := range rs {
		s = append(s, rn(r))
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// list returns 2..max distinct registers from r0-r12 (r0-r7 when low)
// excluding ex, in ascending order.
func (g *gen) list(low bool, max int, ex int) []int {
	n := 13
	if low {
		n = 8
	}
	for {
		var rs []int
		for r := 0; r < n; r++ {
			if r != ex && g.r.Intn(3) == 0 {
				rs = append(rs, r)
			}
		}
		if len(rs) >= 2 && len(rs) <= max {
			return rs
		}
	}
}

// LDM/STM increment-after and decrement-before, with and without
// writeback, 16- and 32-bit, PUSH/POP; rarely an unaligned base (a
// fault on both).
func genLdm(g *gen) {
	g.mem = true
	misalign := uint32(0)
	if g.r.Intn(25) == 0 {
		misalign = 2
	}
	switch g.r.Intn(5) {
	case 0: // 16-bit LDMIA/STMIA
		n := g.reg(true)
		rs := g.list(true, 6, n)
		ea := g.addr(4*uint32(len(rs)), 4)
		g.set(n, ea+misalign)
		op := g.pick("ldmia", "stmia")
		g.emit("%s.n %s!, %s", op, rn(n), regList(rs))
	case 1, 2: // 32-bit IA/DB, with or without writeback
		n := g.reg(false)
		rs := g.list(false, 8, n)
		ea := g.addr(4*uint32(len(rs)), 4)
		op := g.pick("ldmia", "stmia", "ldmdb", "stmdb")
		if strings.HasSuffix(op, "db") {
			ea += 4 * uint32(len(rs))
		}
		g.set(n, ea+misalign)
		wb := g.pick("", "!")
		g.emit("%s.w %s%s, %s", op, rn(n), wb, regList(rs))
	case 3: // base in the list, no writeback (LDM: loaded value wins; STM: original value stored)
		n := g.reg(false)
		rs := g.list(false, 6, -1)
		if !contains2(rs, n) {
			rs = insertSorted(rs, n)
		}
		ea := g.addr(4*uint32(len(rs)), 4)
		g.set(n, ea+misalign)
		g.emit("%s.w %s, %s", g.pick("ldmia", "stmia"), rn(n), regList(rs))
	default: // PUSH then POP into other registers
		rs := g.list(g.r.Intn(2) == 0, 6, -1)
		ps := g.list(false, len(rs), -1)
		for len(ps) != len(rs) {
			ps = g.list(false, len(rs), -1)
		}
		g.emit("push %s", regList(rs))
		g.emit("adds r0, r1, r2")
		g.emit("pop %s", regList(ps))
	}
}

func contains2(rs []int, r int) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func insertSorted(rs []int, r int) []int {
	out := make([]int, 0, len(rs)+1)
	for _, x := range rs {
		if r >= 0 && r < x {
			out = append(out, r)
			r = -1
		}
		out = append(out, x)
	}
	if r >= 0 {
		out = append(out, r)
	}
	return out
}

// LDRD/STRD with offset, pre-index and post-index addressing; rarely a
// base that is not word aligned (a fault on both).
func genLdrd(g *gen) {
	g.mem = true
	t, t2, n := g.reg(false), g.reg(false), g.reg(false)
	ea := g.addr(8, 4)
	if g.r.Intn(25) == 0 {
		ea += 2
	}
	off := 4 * (int32(g.r.Intn(511)) - 255)
	op := g.pick("ldrd", "strd")
	switch g.r.Intn(3) {
	case 0:
		g.set(n, ea-uint32(off))
		g.emit("%s %s, %s, [%s, #%d]", op, rn(t), rn(t2), rn(n), off)
	case 1:
		g.set(n, ea-uint32(off))
		g.emit("%s %s, %s, [%s, #%d]!", op, rn(t), rn(t2), rn(n), off)
	default:
		g.set(n, ea)
		g.emit("%s %s, %s, [%s], #%d", op, rn(t), rn(t2), rn(n), off)
	}
}

// Exclusives (local monitor: a pair succeeds, a store without a load or
// after CLREX fails), load-acquire/store-release.
func genExcl(g *gen) {
	g.mem = true
	n, t, t2, d := g.reg(false), g.reg(false), g.reg(false), g.reg(false)
	sz := []struct {
		s    string
		size uint32
	}{{"", 4}, {"b", 1}, {"h", 2}}[g.r.Intn(3)]
	ea := g.addr(sz.size, sz.size)
	off := ""
	if sz.s == "" && g.r.Intn(2) == 0 {
		o := 4 * uint32(g.r.Intn(64))
		ea = g.addr(4, 4)
		if ea-o < ScratchBase {
			o = 0
		}
		g.set(n, ea-o)
		off = fmt.Sprintf(", #%d", o)
	} else {
		g.set(n, ea)
	}
	a := g.pick("", "a")
	switch g.r.Intn(5) {
	case 0, 1: // pair
		ld, st := "ldrex", "strex"
		if a == "a" {
			ld, st, off = "ldaex", "stlex", ""
			g.set(n, ea)
		}
		g.emit("%s%s %s, [%s%s]", ld, sz.s, rn(t), rn(n), off)
		g.emit("add.w %s, %s, #1", rn(t2), rn(t))
		g.emit("%s%s %s, %s, [%s%s]", st, sz.s, rn(d), rn(t2), rn(n), off)
	case 2: // store without a load: fails (the driver clears the monitor)
		g.emit("strex%s %s, %s, [%s%s]", sz.s, rn(d), rn(t2), rn(n), off)
	case 3: // CLREX between: fails
		g.emit("ldrex%s %s, [%s%s]", sz.s, rn(t), rn(n), off)
		g.emit("clrex")
		g.emit("strex%s %s, %s, [%s%s]", sz.s, rn(d), rn(t2), rn(n), off)
	default: // load-acquire, store-release
		g.set(n, ea)
		g.emit("lda%s %s, [%s]", sz.s, rn(t), rn(n))
		g.emit("stl%s %s, [%s]", sz.s, rn(t2), rn(n))
	}
}
