package cpu

import "testing"

// asmCase is a snippet and what it must leave: registers, flags (NZCVQ,
// "-" for clear; empty: not checked), GE bits (-1: not checked).
type asmCase struct {
	name  string
	src   string
	regs  map[int]uint32
	flags string
	ge    int
}

func runCases(t *testing.T, cases []asmCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := runAsm(t, tc.src)
			for r, want := range tc.regs {
				if m.R[r] != want {
					t.Errorf("r%d = %#x, want %#x", r, m.R[r], want)
				}
			}
			if tc.flags != "" && m.flags() != tc.flags {
				t.Errorf("flags %s, want %s", m.flags(), tc.flags)
			}
			if tc.ge >= 0 && int(m.GE) != tc.ge {
				t.Errorf("GE %04b, want %04b", m.GE, tc.ge)
			}
		})
	}
}

type R = map[int]uint32

func TestShifts(t *testing.T) {
	runCases(t, []asmCase{
		{"lsl31", "movs r0, #1\n lsls r1, r0, #31", R{1: 0x80000000}, "N----", -1},
		{"lsr1 carry", "ldr r0, =0x80000001\n lsrs r1, r0, #1", R{1: 0x40000000}, "--C--", -1},
		{"asr32", "ldr r0, =0x80000000\n asrs r1, r0, #32", R{1: 0xffffffff}, "N-C--", -1},
		{"lsr32", "ldr r0, =0x80000000\n lsrs r1, r0, #32", R{1: 0}, "-ZC--", -1},
		{"lsl reg 32", "movs r0, #32\n ldr r1, =0x80000001\n lsls r1, r1, r0", R{1: 0}, "-ZC--", -1},
		{"lsl reg 33", "movs r0, #33\n ldr r1, =0x80000001\n lsls r1, r1, r0", R{1: 0}, "-Z---", -1},
		{"lsr reg 0 keeps carry", "movs r2, #0\n movs r1, #5\n cmp r1, #1\n lsrs r1, r1, r2", R{1: 5}, "--C--", -1},
		{"lsr reg 32", "movs r2, #32\n ldr r1, =0x80000000\n lsrs r1, r1, r2", R{1: 0}, "-ZC--", -1},
		{"ror reg 32", "movs r2, #32\n ldr r1, =0x80000000\n rors r1, r1, r2", R{1: 0x80000000}, "N-C--", -1},
		{"ror reg 4", "ldr r1, =0x12345678\n movs r2, #4\n rors r1, r2", R{1: 0x81234567}, "N-C--", -1},
		{"ror reg 36", "ldr r1, =0x12345678\n movs r2, #36\n rors r1, r2", R{1: 0x81234567}, "N-C--", -1},
		{"rrx", "movs r1, #3\n cmp r1, r1\n rrxs r2, r1", R{2: 0x80000001}, "N-C--", -1},
		{"asr reg 200", "movs r2, #200\n ldr r1, =0x40000000\n asrs r1, r2", R{1: 0}, "-Z---", -1},
		{"asr reg neg 40", "movs r2, #40\n ldr r1, =0x80000000\n asrs r1, r2", R{1: 0xffffffff}, "N-C--", -1},
		{"mov.w shifted", "ldr r1, =0xf0000001\n mov.w r2, r1, ror #4\n mov.w r3, r1, asr #4\n mov r4, r1, lsr #28", R{2: 0x1f000000, 3: 0xff000000, 4: 0xf}, "", -1},
		{"lsl.w reg", "ldr r1, =0x1\n movs r2, #31\n lsl.w r3, r1, r2\n lsr.w r4, r3, r2\n asr.w r5, r3, r2\n ror.w r6, r1, r2", R{3: 0x80000000, 4: 1, 5: 0xffffffff, 6: 2}, "", -1},
	})
}

func TestAddSub(t *testing.T) {
	runCases(t, []asmCase{
		{"add overflow", "ldr r0, =0x7fffffff\n adds r0, #1", R{0: 0x80000000}, "N--V-", -1},
		{"add carry zero", "ldr r0, =0xffffffff\n adds r0, #1", R{0: 0}, "-ZC--", -1},
		{"sub borrow", "movs r0, #0\n subs r0, #1", R{0: 0xffffffff}, "N----", -1},
		{"sub overflow", "ldr r0, =0x80000000\n subs r0, #1", R{0: 0x7fffffff}, "--CV-", -1},
		{"adc", "ldr r0, =0xffffffff\n adds r1, r0, #1\n movs r2, #5\n adcs r3, r2, #0x10", R{1: 0, 3: 22}, "-----", -1},
		{"sbc", "movs r0, #0\n subs r0, #1\n movs r1, #10\n sbcs r2, r1, #3", R{2: 6}, "--C--", -1},
		{"sbc reg carry", "movs r0, #5\n cmp r0, #0\n movs r1, #10\n sbcs r2, r1, r0", R{2: 5}, "--C--", -1},
		{"adc reg", "ldr r0, =0x7fffffff\n movs r1, #0\n cmp r1, #0\n adcs r2, r0, r1", R{2: 0x80000000}, "N--V-", -1},
		{"negs", "movs r1, #3\n negs r2, r1", R{2: 0xfffffffd}, "N----", -1},
		{"rsb.w", "movs r1, #3\n rsb r2, r1, #100\n rsb r3, r1, r1, lsl #4", R{2: 97, 3: 45}, "", -1},
		{"cmn", "ldr r0, =0xffffffff\n cmn r0, #1", nil, "-ZC--", -1},
		{"cmp reg", "movs r0, #1\n movs r1, #2\n cmp r0, r1", nil, "N----", -1},
		{"cmp high", "movs r0, #1\n mov r8, r0\n cmp r8, r0", nil, "-ZC--", -1},
		{"cmp.w shifted", "movs r0, #4\n movs r1, #2\n cmp.w r0, r1, lsl #1", nil, "-ZC--", -1},
		{"add3 sub3", "movs r0, #9\n adds r1, r0, #7\n subs r2, r0, #7\n adds r3, r0, r1\n subs r4, r0, r1", R{1: 16, 2: 2, 3: 25, 4: 0xfffffff9}, "N----", -1},
		{"add high", "movs r0, #9\n mov r9, r0\n add r9, r0\n mov r1, r9", R{1: 18}, "", -1},
		{"addw subw", "movs r1, #0\n addw r0, r1, #0xfff\n subw r2, r0, #0x800", R{0: 0xfff, 2: 0x7ff}, "", -1},
		{"add sp", "mov r5, sp\n sub sp, #16\n add r0, sp, #8\n sub.w sp, sp, #0x100\n addw sp, sp, #0x110\n mov r1, sp\n subs r2, r5, r1", R{0: ramBase + ramSize - 8, 2: 0}, "", -1},
		{"adr", "adr r0, lab\n ldr r1, =lab\n subs r2, r0, r1\n b lab\n .align 2\nlab: nop", R{2: 0}, "-ZC--", -1},
		{"adr.w", "adr.w r0, lab2\n ldr r1, =lab2\n subs r2, r0, r1\n b lab2\n nop\n .align 2\n .space 300\nlab2: nop", R{2: 0}, "-ZC--", -1},
		{"mul", "movs r0, #7\n movs r1, #6\n muls r1, r0\n ldr r2, =0xffffffff\n muls r2, r0", R{1: 42, 2: 0xfffffff9}, "N----", -1},
	})
}

func TestLogical(t *testing.T) {
	runCases(t, []asmCase{
		{"ands shifted carry", "movs r0, #1\n movs r1, #0\n ands.w r2, r1, r0, lsr #1", R{2: 0}, "-ZC--", -1},
		{"orns", "movs r0, #1\n movs r1, #0\n orns r2, r1, r0", R{2: 0xfffffffe}, "N----", -1},
		{"mvns", "movs r0, #1\n mvns r2, r0\n mvn r3, #0xff", R{2: 0xfffffffe, 3: 0xffffff00}, "N----", -1},
		{"bic", "movs r0, #0xff\n bic r2, r0, #1\n bics r3, r0\n", R{2: 0xfe, 3: 0}, "-Z---", -1},
		{"tst rotated carry", "movs r1, #0\n subs r1, #1\n ldr r0, =0xff000000\n tst r0, #0xff000000", nil, "N-C--", -1},
		{"teq keeps carry", "movs r0, #5\n cmp r0, #0\n teq r0, #5", nil, "-ZC--", -1},
		{"eor orr and", "ldr r0, =0xf0f0f0f0\n ldr r1, =0xff00ff00\n eor r2, r0, r1\n orr r3, r0, r1\n and r4, r0, r1\n eors r5, r0, r0", R{2: 0x0ff00ff0, 3: 0xfff0fff0, 4: 0xf000f000, 5: 0}, "-Z---", -1},
		{"modified immediates", "mov r0, #0x00ab00ab\n mov r1, #0xab00ab00\n mov r2, #0xabababab\n mov r3, #0x3fc\n mov r4, #0x80000000", R{0: 0xab00ab, 1: 0xab00ab00, 2: 0xabababab, 3: 0x3fc, 4: 0x80000000}, "", -1},
		{"movs rotated sets carry", "movs r1, #0\n cmp r1, #1\n movs r0, #0x80000000", R{0: 0x80000000}, "N-C--", -1},
		{"movw movt", "movw r0, #0xbeef\n movt r0, #0xdead\n movw r1, #0xffff", R{0: 0xdeadbeef, 1: 0xffff}, "", -1},
		{"mov high regs", "movs r0, #3\n mov r12, r0\n mov lr, r12\n mov r1, lr", R{1: 3, 12: 3, 14: 3}, "", -1},
		{"tst eq reg", "movs r0, #6\n movs r1, #1\n tst r0, r1", nil, "-Z---", -1},
	})
}

func TestBitsAndExtend(t *testing.T) {
	runCases(t, []asmCase{
		{"ubfx sbfx", "ldr r0, =0x1234a678\n ubfx r1, r0, #12, #4\n sbfx r2, r0, #12, #4\n ubfx r3, r0, #0, #32\n sbfx r4, r0, #0, #32", R{1: 0xa, 2: 0xfffffffa, 3: 0x1234a678, 4: 0x1234a678}, "", -1},
		{"bfi bfc", "ldr r0, =0x12345678\n mov r3, #-1\n bfi r3, r0, #8, #8\n mov r4, #-1\n bfc r4, #4, #8\n mov r5, #0\n bfi r5, r0, #0, #32", R{3: 0xffff78ff, 4: 0xfffff00f, 5: 0x12345678}, "", -1},
		{"clz rbit", "ldr r0, =0x00012345\n clz r1, r0\n rbit r2, r0\n movs r3, #0\n clz r4, r3", R{1: 15, 2: 0xa2c48000, 4: 32}, "", -1},
		{"rev", "ldr r0, =0x12345678\n rev r1, r0\n rev16 r2, r0\n ldr r3, =0x000080ff\n revsh r4, r3\n rev.w r5, r0\n rev16.w r6, r0\n revsh.w r7, r3", R{1: 0x78563412, 2: 0x34127856, 4: 0xffffff80, 5: 0x78563412, 6: 0x34127856, 7: 0xffffff80}, "", -1},
		{"extend 16-bit", "ldr r0, =0x8180ff7f\n sxtb r1, r0\n sxth r2, r0\n uxtb r3, r0\n uxth r4, r0", R{1: 0x7f, 2: 0xffffff7f, 3: 0x7f, 4: 0xff7f}, "", -1},
		{"extend rotated and add", "ldr r0, =0x8180ff7f\n movs r1, #0x7f\n uxtb.w r3, r0, ror #8\n uxth.w r4, r0, ror #16\n sxtab r5, r1, r0, ror #16\n uxtah r6, r1, r0\n sxtah r7, r1, r0, ror #16\n uxtab r8, r1, r0, ror #24", R{3: 0xff, 4: 0x8180, 5: 0xffffffff, 6: 0xfffe, 7: 0x7f + 0xffff8180, 8: 0x7f + 0x81}, "", -1},
		{"extend b16", "ldr r0, =0x80ff017f\n sxtb16 r1, r0\n uxtb16 r2, r0\n ldr r3, =0x00010001\n sxtab16 r4, r3, r0\n uxtab16 r5, r3, r0, ror #8", R{1: 0xffff007f, 2: 0x00ff007f, 4: 0x00000080, 5: 0x00810002}, "", -1},
		{"pkh", "ldr r0, =0x11112222\n ldr r1, =0x33334444\n pkhbt r2, r0, r1\n pkhbt r3, r0, r1, lsl #16\n pkhtb r4, r0, r1, asr #16\n pkhtb r5, r0, r1 @ as encodes pkhbt r5, r1, r0", R{2: 0x33332222, 3: 0x44442222, 4: 0x11113333, 5: 0x11114444}, "", -1},
	})
}
