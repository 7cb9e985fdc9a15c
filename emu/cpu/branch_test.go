package cpu

import (
	"fmt"
	"strings"
	"testing"
)

var condSuffix = [14]string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"}

// condRef is the architecture's condition table, written independently
// of CPU.cond.
func condRef(c int, n, z, cf, v bool) bool {
	switch c {
	case 0:
		return z
	case 1:
		return !z
	case 2:
		return cf
	case 3:
		return !cf
	case 4:
		return n
	case 5:
		return !n
	case 6:
		return v
	case 7:
		return !v
	case 8:
		return cf && !z
	case 9:
		return !cf || z
	case 10:
		return n == v
	case 11:
		return n != v
	case 12:
		return !z && n == v
	}
	return z || n != v
}

// TestConditions runs, for every condition and all 16 NZCV values, an
// ITE block, a 16-bit B<c>, a 32-bit B<c>.W and an IT'd flag-setting
// 16-bit instruction (which must not set flags inside the block).
func TestConditions(t *testing.T) {
	for c, sfx := range condSuffix {
		t.Run(sfx, func(t *testing.T) {
			var b strings.Builder
			b.WriteString("ldr r5, =0x20000000\n")
			for k := 0; k < 16; k++ {
				fmt.Fprintf(&b, ` mov r1, #0
 mov r2, #0
 mov r3, #0
 mov r4, #0
 ldr r0, =%#x
 msr apsr_nzcvq, r0
 ite %[2]s
 mov%[2]s r1, #1
 mov%[3]s r2, #1
 b%[2]s 1f
 mov r3, #1
1: b%[2]s.w 2f
 mov r4, #1
 b 2f
 .space 1200
2: it %[2]s
 add%[2]s r6, r6, #0
 mrs r7, apsr
 str r1, [r5], #4
 str r2, [r5], #4
 str r3, [r5], #4
 str r4, [r5], #4
 str r7, [r5], #4
`, k<<28, sfx, condSuffix[c^1])
			}
			m := runAsm(t, b.String())
			for k := 0; k < 16; k++ {
				n, z, cf, v := k&8 != 0, k&4 != 0, k&2 != 0, k&1 != 0
				want := b2u(condRef(c, n, z, cf, v))
				got := [5]uint32{}
				for i := range got {
					got[i] = word(m.ram, uint32(20*k+4*i))
				}
				if got[0] != want || got[1] != 1-want || got[2] != 1-want || got[3] != 1-want || got[4] != uint32(k)<<28 {
					t.Errorf("NZCV=%04b: it/ite %d %d, b %d, b.w %d, apsr %#x; want taken=%d and flags kept", k, got[0], got[1], got[2], got[3], got[4], want)
				}
			}
		})
	}
}

func TestBranches(t *testing.T) {
	runCases(t, []asmCase{
		{"bl bx", "bl f\n movs r1, #2\n b end\nf: movs r0, #1\n bx lr\nend: ldr r2, =f", R{0: 1, 1: 2}, "", -1},
		{"blx reg", "ldr r3, =g\n blx r3\n movs r1, #2\n b end2\n.thumb_func\ng: movs r0, #1\n mov r4, lr\n bx lr\nend2: nop", R{0: 1, 1: 2}, "", -1},
		{"cbz cbnz", "movs r0, #0\n movs r1, #0\n cbz r0, 1f\n movs r1, #1\n1: movs r2, #0\n cbnz r0, 2f\n movs r2, #1\n2: nop", R{1: 0, 2: 1}, "", -1},
		{"tbb", "movs r0, #2\n movs r1, #0\n tbb [pc, r0]\n1: .byte (c0-1b)/2, (c1-1b)/2, (c2-1b)/2, 0\nc0: movs r1, #10\n b 9f\nc1: movs r1, #11\n b 9f\nc2: movs r1, #12\n9: nop", R{1: 12}, "", -1},
		{"tbh", "movs r0, #1\n movs r1, #0\n tbh [pc, r0, lsl #1]\n1: .hword (c0-1b)/2, (c1-1b)/2\nc0: movs r1, #10\n b 9f\nc1: movs r1, #11\n9: nop", R{1: 11}, "", -1},
		{"tbb register table", "ldr r3, =tab\n movs r0, #1\n tbb [r3, r0]\nc0: movs r1, #10\n b 9f\nc1: movs r1, #11\n b 9f\n.align 2\ntab: .byte 0, 2\n9: nop", R{1: 11}, "", -1},
		{"far b.w", "b.w far\n movs r0, #1\n .space 70000\nfar: movs r0, #2", R{0: 2}, "", -1},
		{"far bl", "bl farf\n movs r1, #3\n b.w over\n .space 2000000\nfarf: movs r0, #2\n bx lr\nover: nop", R{0: 2, 1: 3}, "", -1},
		{"mov pc add pc", "ldr r3, =h\n mov pc, r3\n movs r0, #1\n.thumb_func\nh: movs r0, #2\n movs r4, #4\n add pc, r4\n movs r1, #1\n movs r1, #2\n movs r1, #3\n movs r1, #4", R{0: 2, 1: 4}, "", -1},
		{"ldr pc pop pc", "ldr r1, =k\n push {r1}\n pop {pc}\n movs r0, #1\n.thumb_func\nk: ldr pc, =k2\n movs r0, #2\n.thumb_func\nk2: movs r0, #3\n ldr r2, =k3\n push {r2}\n ldr pc, [sp], #4\n.thumb_func\nk3: movs r1, #9", R{0: 3, 1: 9}, "", -1},
		{"ldm pc", "ldr r1, =k4\n push {r0, r1}\n movs r0, #8\n pop.w {r0, pc}\n movs r0, #1\n.thumb_func\nk4: nop", R{0: 0}, "", -1},
		{"itete", "movs r0, #0\n cmp r0, #0\n itete eq\n moveq r1, #1\n movne r2, #1\n moveq r3, #1\n movne r4, #1\n mov r5, #7", R{1: 1, 2: 0, 3: 1, 4: 0, 5: 7}, "-ZC--", -1},
		{"it flags kept then set", "movs r0, #0\n cmp r0, #0\n it eq\n moveq r1, #5\n mrs r6, apsr\n movs r2, #5", R{1: 5, 6: 0x60000000}, "--C--", -1},
		{"it skipped loads don't fault", "ldr r0, =0x60000000\n movs r1, #1\n cmp r1, #0\n itt eq\n ldreq r2, [r0]\n streq r2, [r0]\n movs r3, #3", R{3: 3}, "", -1},
		{"it with branch last", "movs r0, #1\n cmp r0, #1\n it eq\n beq 1f\n movs r1, #1\n1: movs r2, #2", R{1: 0, 2: 2}, "", -1},
		{"it with bx last", "ldr r3, =m1\n movs r0, #1\n cmp r0, #1\n it eq\n bxeq r3\n movs r1, #1\n.thumb_func\nm1: movs r2, #2", R{1: 0, 2: 2}, "", -1},
		{"it 32-bit", "movs r0, #1\n cmp r0, #2\n ittet lt\n addlt.w r1, r0, #100\n movwlt r2, #0x1234\n movge r3, #1\n addslt r4, r0, r0", R{1: 101, 2: 0x1234, 3: 0, 4: 2}, "-----", -1},
	})
}

func TestDisassemble(t *testing.T) {
	for _, c := range []struct {
		hw1, hw2 uint16
		want     string
		size     int
	}{
		{0xb580, 0, "push {r7, lr}", 2},
		{0xbd80, 0, "pop {r7, pc}", 2},
		{0x2001, 0, "movs r0, #0x1", 2},
		{0x4770, 0, "bx lr", 2},
		{0xf000, 0xf800, "bl 0x4", 4},
		{0xf8d1, 0x0004, "ldr r0, [r1, #4]", 4},
		{0xe7fe, 0, "b 0x0", 2},
		{0xde00, 0, "udf #0", 2},
		{0xee00, 0x0a10, ".inst.w 0xee000a10 ; coprocessor", 4},
		{0xfb90, 0xf0f1, "sdiv r0, r0, r1", 4},
		{0xbf08, 0, "it eq", 2},
		{0xbf14, 0, "ite ne", 2},
		{0xbfa2, 0, "ittt ge", 2},
		{0xbf0b, 0, "itete eq", 2},
		{0xf851, 0x0b04, "ldr r0, [r1], #4", 4},
		{0xf851, 0x0d04, "ldr r0, [r1, #-4]!", 4},
		{0xe9d2, 0x0102, "ldrd r0, r1, [r2, #8]", 4},
		{0xf85d, 0xfb04, "ldr pc, [sp], #4", 4},
	} {
		got, n := Disassemble(c.hw1, c.hw2)
		if got != c.want || n != c.size {
			t.Errorf("Disassemble(%#04x, %#04x) = %q, %d; want %q, %d", c.hw1, c.hw2, got, n, c.want, c.size)
		}
	}
}

// TestDecodeTotal decodes every 16-bit encoding and every first halfword
// of a 32-bit one with a spread of second halfwords: decoding never
// panics, always yields an executable op (a zero op would be decoded
// again forever), and Disassemble renders something.
func TestDecodeTotal(t *testing.T) {
	hw2s := []uint16{0, 0xffff, 0xf000, 0x0f00, 0x8000, 0xa5a5, 0x5a5a, 0xf0f0, 0x0fff, 0x1234, 0xe000, 0x00f0}
	for h := 0; h < 1<<16; h++ {
		for _, h2 := range hw2s {
			in := decode(0x08000000, uint16(h), h2)
			if in.op == opNone || in.op == opBreak || in.op >= opCount || in.op == opSlow {
				t.Fatalf("decode(%#04x, %#04x) gave op %d", h, h2, in.op)
			}
			if want := uint8(2 + 2*b2u(is32(uint16(h)))); in.size != want {
				t.Fatalf("decode(%#04x, %#04x) size %d", h, h2, in.size)
			}
			if s, _ := Disassemble(uint16(h), h2); s == "" {
				t.Fatalf("Disassemble(%#04x, %#04x) is empty", h, h2)
			}
			if !is32(uint16(h)) {
				break
			}
		}
	}
}

// TestExecuteTotal executes every 16-bit encoding and every 32-bit first
// halfword (with pseudo-random second halfwords and registers, most of
// them pointing into SRAM) once: nothing panics in the interpreter, and
// what cannot execute becomes a fault.
func TestExecuteTotal(t *testing.T) {
	m := newMachine(nil, ramBase)
	m.h.onFault = func(c *CPU, f Fault) { c.RequestStop() }
	rnd := uint32(12345)
	next := func() uint32 { rnd ^= rnd << 13; rnd ^= rnd >> 17; rnd ^= rnd << 5; return rnd }
	for h := 0; h < 1<<16; h++ {
		for k := 0; k < 3; k++ {
			const at = 0x8000
			m.ram[at], m.ram[at+1] = byte(h), byte(h>>8)
			h2 := next()
			m.ram[at+2], m.ram[at+3] = byte(h2), byte(h2>>8)
			m.InvalidateCode(ramBase+at, 4)
			for r := 0; r < 15; r++ {
				v := next()
				if v&3 != 0 {
					v = ramBase + 0x9000 + v&0xfff
				}
				m.R[r] = v
			}
			m.R[13] = ramBase + 0xc000
			m.R[15] = ramBase + at
			m.IT, m.IPSR, m.CONTROL = 0, uint16(next()&1)*3, 0
			m.MSPLIM, m.PSPLIM = 0, 0
			m.Step()
			m.stop.Store(0)
			if !is32(uint16(h)) {
				break
			}
		}
	}
	// Most encodings execute; a good share fault (undefined, NOCP, bad
	// addresses). The bounds check that the loop above really ran.
	if m.Instructions < 40000 || len(m.h.faults) < 5000 {
		t.Fatalf("%d instructions retired, %d faults", m.Instructions, len(m.h.faults))
	}
}

// TestPCReads: an instruction reading PC sees its own address + 4 (its
// literal base Align(PC, 4)).
func TestPCReads(t *testing.T) {
	runCases(t, []asmCase{
		{"mov add rd pc", "h1: mov r0, pc\n ldr r1, =h1\n subs r0, r0, r1\n movs r2, #0\nh2: add r2, pc\n ldr r3, =h2\n subs r2, r2, r3\n nop\nh3: adr r4, h3x\n ldr r5, =h3\n subs r4, r4, r5\n b h3x\n.align 2\nh3x: nop", R{0: 4, 2: 4}, "", -1},
		{"mov pc pc", "movs r4, #0\n mov pc, pc\n movs r4, #1\n movs r5, #5", R{4: 0, 5: 5}, "", -1},
		{"ldr pc-relative after a 16-bit instruction", "nop\n ldr r0, lit\n ldr.w r1, lit\n b 1f\n.align 2\nlit: .word 0x1234abcd\n1: nop", R{0: 0x1234abcd, 1: 0x1234abcd}, "", -1},
	})
	m := newMachine(assemble(t, ".align 2\n nop\n bx pc\n nop\n bkpt", flashBase), flashBase)
	m.run(t)
	if len(m.h.faults) != 1 || m.h.faults[0] != (Fault{Kind: FaultInvState, PC: flashBase + 6}) {
		t.Fatalf("bx pc: faults %+v", m.h.faults)
	}
}
