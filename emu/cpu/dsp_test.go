package cpu

import "testing"

func TestMultiplyDivide(t *testing.T) {
	runCases(t, []asmCase{
		{"mla mls", "movs r0, #7\n movs r1, #6\n movs r2, #100\n mla r3, r0, r1, r2\n mls r4, r0, r1, r2\n mul r5, r0, r1", R{3: 142, 4: 58, 5: 42}, "", -1},
		{"umull smull", "mov r0, #-1\n mov r1, #-1\n umull r2, r3, r0, r1\n mvn r4, #1\n movs r5, #3\n smull r6, r7, r4, r5", R{2: 1, 3: 0xfffffffe, 6: 0xfffffffa, 7: 0xffffffff}, "", -1},
		{"umlal smlal", "mov r0, #-1\n movs r1, #2\n mov r2, #-1\n movs r3, #0\n umlal r2, r3, r0, r1\n movs r4, #5\n movs r5, #0\n mov r6, #-3\n smlal r4, r5, r6, r1", R{2: 0xfffffffd, 3: 2, 4: 0xffffffff, 5: 0xffffffff}, "", -1},
		{"udiv sdiv", "movs r0, #100\n movs r1, #7\n udiv r2, r0, r1\n mov r3, #-100\n sdiv r4, r3, r1\n movs r5, #0\n udiv r6, r0, r5\n sdiv r7, r3, r5\n mov r8, #0x80000000\n mov r9, #-1\n sdiv r10, r8, r9\n udiv r11, r3, r1", R{2: 14, 4: 0xfffffff2, 6: 0, 7: 0, 10: 0x80000000, 11: 0x24924916}, "", -1},
		{"smulxy", "ldr r0, =0x00030004\n ldr r1, =0xfffe0005\n smulbb r2, r0, r1\n smultt r3, r0, r1\n smulbt r4, r0, r1\n smultb r5, r0, r1", R{2: 20, 3: 0xfffffffa, 4: 0xfffffff8, 5: 15}, "-----", -1},
		{"smlabb overflow sets Q", "ldr r0, =0x00030004\n ldr r1, =0xfffe0005\n ldr r2, =0x7fffffff\n smlabb r3, r0, r1, r2", R{3: 0x80000013}, "----Q", -1},
		{"smulw smlaw", "ldr r0, =0x00030004\n ldr r1, =0xfffe0005\n smulwb r2, r0, r1\n smulwt r3, r0, r1\n movs r4, #1\n smlawb r5, r0, r1, r4", R{2: 0xf, 3: 0xfffffff9, 5: 0x10}, "-----", -1},
		{"dual", "ldr r0, =0x00030004\n ldr r1, =0xfffe0005\n smuad r2, r0, r1\n smuadx r3, r0, r1\n smusd r4, r0, r1\n smusdx r5, r0, r1\n movs r6, #100\n smlad r7, r0, r1, r6\n smlsd r8, r0, r1, r6\n smlsdx r9, r0, r1, r6", R{2: 14, 3: 7, 4: 26, 5: 0xffffffe9, 7: 114, 8: 126, 9: 77}, "-----", -1},
		{"smlad overflow", "ldr r0, =0x7fff7fff\n ldr r1, =0x7fff7fff\n ldr r2, =0x7fffffff\n smlad r3, r0, r1, r2", R{3: 0xfffe0001}, "----Q", -1},
		{"smmul", "ldr r0, =0x00010000\n ldr r1, =0x00008000\n smmul r2, r0, r1\n smmulr r3, r0, r1\n movs r4, #5\n smmla r5, r0, r1, r4\n smmlar r6, r0, r1, r4\n smmls r7, r0, r1, r4\n smmlsr r8, r0, r1, r4", R{2: 0, 3: 1, 5: 5, 6: 6, 7: 4, 8: 5}, "", -1},
		{"usad8", "ldr r0, =0x01020304\n ldr r1, =0x04030201\n usad8 r2, r0, r1\n movs r3, #100\n usada8 r4, r0, r1, r3", R{2: 8, 4: 108}, "", -1},
		{"long dsp", "ldr r0, =0x00030004\n ldr r1, =0xfffe0005\n mov r2, #-1\n movs r3, #0\n smlalbb r2, r3, r0, r1\n movs r4, #0\n movs r5, #0\n smlald r4, r5, r0, r1\n movs r6, #0\n movs r7, #0\n smlsld r6, r7, r0, r1\n movs r8, #0\n movs r9, #0\n smlsldx r8, r9, r0, r1", R{2: 0x13, 3: 1, 4: 14, 5: 0, 6: 26, 7: 0, 8: 0xffffffe9, 9: 0xffffffff}, "", -1},
		{"umaal", "mov r0, #-1\n mov r1, #-1\n mov r2, #-1\n mov r3, #-1\n umaal r2, r3, r0, r1", R{2: 0xffffffff, 3: 0xffffffff}, "", -1},
	})
}

func TestSaturate(t *testing.T) {
	runCases(t, []asmCase{
		{"qadd", "ldr r0, =0x7fffffff\n movs r1, #1\n qadd r2, r0, r1", R{2: 0x7fffffff}, "----Q", -1},
		{"qadd no sat", "movs r0, #5\n movs r1, #1\n qadd r2, r0, r1\n qsub r3, r0, r1", R{2: 6, 3: 4}, "-----", -1},
		{"qsub", "ldr r0, =0x80000000\n movs r1, #1\n qsub r2, r0, r1", R{2: 0x80000000}, "----Q", -1},
		{"qdadd", "movs r0, #1\n ldr r1, =0x40000000\n qdadd r2, r0, r1", R{2: 0x7fffffff}, "----Q", -1},
		{"qdsub", "movs r0, #10\n movs r1, #3\n qdsub r2, r0, r1", R{2: 4}, "-----", -1},
		{"ssat", "movw r0, #300\n ssat r1, #8, r0\n", R{1: 127}, "----Q", -1},
		{"ssat shifted", "ldr r0, =-300\n ssat r1, #16, r0, lsl #4\n ssat r2, #8, r0, asr #2", R{1: 0xffffed40, 2: 0xffffffb5}, "-----", -1},
		{"usat", "mov r0, #-5\n usat r1, #8, r0", R{1: 0}, "----Q", -1},
		{"usat high", "movw r0, #300\n usat r1, #8, r0\n usat r2, #31, r0", R{1: 255, 2: 300}, "----Q", -1},
		{"ssat16 usat16", "ldr r0, =0x0064ff9c\n ssat16 r1, #4, r0\n usat16 r2, #4, r0", R{1: 0x0007fff8, 2: 0x000f0000}, "----Q", -1},
		{"q sticky in apsr", "ldr r0, =0x7fffffff\n qadd r2, r0, r0\n mrs r3, apsr\n movs r4, #0\n msr apsr_nzcvq, r4\n mrs r5, apsr", R{3: 1 << 27, 5: 0}, "-----", -1},
	})
}

func TestParallel(t *testing.T) {
	a, b := "ldr r0, =0x7f80ff01\n ldr r1, =0x01ff0101\n ", "ldr r0, =0x00050003\n ldr r1, =0x00010007\n "
	runCases(t, []asmCase{
		{"sadd8", a + "sadd8 r2, r0, r1", R{2: 0x807f0002}, "", 0b1011},
		{"qadd8", a + "qadd8 r2, r0, r1", R{2: 0x7f800002}, "", -1},
		{"uadd8", a + "uadd8 r2, r0, r1", R{2: 0x807f0002}, "", 0b0110},
		{"uqadd8", a + "uqadd8 r2, r0, r1", R{2: 0x80ffff02}, "", -1},
		{"shadd8", a + "shadd8 r2, r0, r1", R{2: 0x40bf0001}, "", -1},
		{"uhadd8", a + "uhadd8 r2, r0, r1", R{2: 0x40bf8001}, "", -1},
		{"ssub16", b + "ssub16 r2, r0, r1", R{2: 0x0004fffc}, "", 0b1100},
		{"sasx", b + "sasx r2, r0, r1", R{2: 0x000c0002}, "", 0b1111},
		{"ssax", b + "ssax r2, r0, r1", R{2: 0xfffe0004}, "", 0b0011},
		{"usax", b + "usax r2, r0, r1", R{2: 0xfffe0004}, "", 0b0000},
		{"uasx", b + "uasx r2, r0, r1", R{2: 0x000c0002}, "", 0b0011},
		{"uqsub16", b + "uqsub16 r2, r0, r1", R{2: 0x00040000}, "", -1},
		{"qsub16", b + "qsub16 r2, r0, r1", R{2: 0x0004fffc}, "", -1},
		{"uhsub16", b + "uhsub16 r2, r0, r1", R{2: 0x0002fffe}, "", -1},
		{"usub8", "ldr r0, =0x01020304\n ldr r1, =0x04030201\n usub8 r2, r0, r1", R{2: 0xfdff0103}, "", 0b0011},
		{"ssub8", "ldr r0, =0x01020304\n ldr r1, =0x04030201\n ssub8 r2, r0, r1", R{2: 0xfdff0103}, "", 0b0011},
		{"uadd16", "ldr r0, =0xffff0001\n ldr r1, =0x0001ffff\n uadd16 r2, r0, r1", R{2: 0}, "", 0b1111},
		{"sel", a + "sadd8 r2, r0, r1\n ldr r3, =0x11111111\n ldr r4, =0x22222222\n sel r5, r3, r4", R{5: 0x11221111}, "", 0b1011},
		{"msr ge", "ldr r0, =0x000a0000\n msr apsr_g, r0\n mrs r1, apsr", R{1: 0x000a0000}, "", 0b1010},
	})
}
