package cpu

import (
	"encoding/binary"
	"testing"
)

func word(b []byte, off uint32) uint32 { return binary.LittleEndian.Uint32(b[off:]) }

func TestLoadStore(t *testing.T) {
	base := "ldr r0, =0x20000100\n movs r1, #0x42\n "
	runCases(t, []asmCase{
		{"pre-index wb", base + "str r1, [r0, #4]!\n ldr r2, [r0]", R{0: 0x20000104, 2: 0x42}, "", -1},
		{"post-index wb", base + "str r1, [r0], #-4\n ldr r2, [r0, #4]", R{0: 0x200000fc, 2: 0x42}, "", -1},
		{"negative offset", base + "str r1, [r0, #-8]\n sub r3, r0, #8\n ldr r2, [r3]\n ldr r4, [r0, #-8]", R{2: 0x42, 4: 0x42}, "", -1},
		{"register offset", base + "movs r4, #3\n str r1, [r0, r4, lsl #2]\n ldr r2, [r0, #12]\n ldr.w r5, [r0, r4, lsl #2]\n adds r6, r0, #12\n movs r7, #0\n ldr r3, [r6, r7]", R{2: 0x42, 3: 0x42, 5: 0x42}, "", -1},
		{"bytes halves signed", base + "ldr r1, =0x8081f2f3\n str r1, [r0]\n ldrb r2, [r0]\n ldrsb r3, [r0]\n ldrh r4, [r0, #2]\n ldrsh r5, [r0, #2]\n ldrsb.w r6, [r0, #1]\n ldrsh.w r7, [r0]\n movs r8, #1\n ldrsb r9, [r0, r8]\n ldrsh r10, [r0, r8]", R{2: 0xf3, 3: 0xfffffff3, 4: 0x8081, 5: 0xffff8081, 6: 0xfffffff2, 7: 0xfffff2f3, 9: 0xfffffff2, 10: 0xffff81f2}, "", -1},
		{"store byte half", base + "ldr r1, =0x11223344\n str r1, [r0]\n movs r2, #0xaa\n strb r2, [r0, #1]\n ldr r3, =0xbbcc\n strh r3, [r0, #2]\n ldr r4, [r0]\n strb.w r2, [r0, #-1]!\n strh r3, [r0], #3\n ldr r5, [r0, #-4]", R{4: 0xbbccaa44, 0: 0x20000102, 5: 0xaabbcc00}, "", -1},
		{"unaligned word and half", base + "ldr r1, =0x11223344\n ldr r2, =0x55667788\n strd r1, r2, [r0]\n ldr r3, [r0, #1]\n ldrh r4, [r0, #3]\n str r1, [r0, #5]\n ldr r5, [r0, #4]", R{3: 0x88112233, 4: 0x8811, 5: 0x22334488}, "", -1},
		{"t variants", base + "strt r1, [r0, #4]\n ldrt r2, [r0, #4]\n ldrbt r3, [r0, #4]\n ldrsht r4, [r0, #4]", R{2: 0x42, 3: 0x42, 4: 0x42}, "", -1},
		{"literal loads", "ldr r0, =0x12345678\n ldrh r1, lit\n ldrsb r2, lit\n ldr.w r3, lit\n b 1f\n.align 2\nlit: .word 0xcafe80ee\n1: nop", R{0: 0x12345678, 1: 0x80ee, 2: 0xffffffee, 3: 0xcafe80ee}, "", -1},
		{"ldrd strd", base + "ldr r2, =0x99\n strd r1, r2, [r0, #8]!\n ldrd r3, r4, [r0], #-8\n ldrd r5, r6, [r0, #8]\n ldrd r7, r8, lit2\n b 1f\n.align 2\nlit2: .word 1, 2\n1: nop", R{0: 0x20000100, 3: 0x42, 4: 0x99, 5: 0x42, 6: 0x99, 7: 1, 8: 2}, "", -1},
		{"ldm stm", base + "movs r2, #2\n movs r3, #3\n stmia r0!, {r1, r2, r3}\n ldmdb r0!, {r4, r5, r6}\n stmdb r0, {r1, r2}\n sub r7, r0, #8\n ldmia r7, {r8, r9}\n ldm r0, {r10, r11, r12}", R{0: 0x20000100, 4: 0x42, 5: 2, 6: 3, 8: 0x42, 9: 2, 10: 0x42, 11: 2, 12: 3}, "", -1},
		{"ldm 16-bit base in list", base + "movs r2, #7\n stm r0!, {r1, r2}\n subs r0, #8\n ldm r0, {r0, r1}", R{0: 0x42, 1: 7}, "", -1},
		{"push pop wide", "ldr r8, =8\n ldr r9, =9\n movs r1, #1\n mov r12, sp\n push.w {r1, r8, r9, lr}\n movs r1, #0\n mov r8, r1\n mov r9, r1\n pop.w {r1, r8, r9, lr}\n mov r2, sp\n subs r2, r12, r2\n push {r1}\n pop {r3}", R{1: 1, 2: 0, 3: 1, 8: 8, 9: 9}, "", -1},
		{"str sp pre-index push", "ldr r0, =0x77\n str r0, [sp, #-4]!\n ldr r1, [sp], #4\n mov r2, sp", R{1: 0x77, 2: ramBase + ramSize}, "", -1},
		{"device via bus", "ldr r0, =0x40000000\n ldr r1, =0xabcd1234\n str r1, [r0, #8]\n ldr r2, [r0, #8]\n ldrb r3, [r0, #9]", R{2: 0xabcd1234, 3: 0x12}, "", -1},
	})
}

// faultCase runs src and expects one fault of kind at the address of the
// instruction labelled "bad" (found by the register r12 = the label via
// ldr r12, =bad at the start).
func expectFault(t *testing.T, src string, kind FaultKind, addr uint32, setup func(m *machine)) *machine {
	t.Helper()
	m := newMachine(assemble(t, "ldr r12, =bad\n"+src+"\n bkpt #0\n", flashBase), flashBase)
	if setup != nil {
		setup(m)
	}
	m.run(t)
	if len(m.h.faults) != 1 {
		t.Fatalf("faults %+v, want one %d", m.h.faults, kind)
	}
	f := m.h.faults[0]
	if f.Kind != kind || f.PC != m.R[12]&^1 || addr != 0 && f.Addr != addr {
		t.Fatalf("fault %+v, want kind %d at pc %#x addr %#x", f, kind, m.R[12]&^1, addr)
	}
	if m.R[15] != f.PC {
		t.Fatalf("PC after the fault %#x, want the faulting instruction %#x", m.R[15], f.PC)
	}
	return m
}

func TestMemoryFaults(t *testing.T) {
	t.Run("store to flash", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x08000100\n movs r1, #1\nbad: str r1, [r0]", FaultPreciseData, 0x08000100, nil)
	})
	t.Run("load from nothing", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x60000000\nbad: ldr r1, [r0, #4]", FaultPreciseData, 0x60000004, nil)
	})
	t.Run("bus error past the device", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x40000040\nbad: ldr r1, [r0]", FaultPreciseData, 0x40000040, nil)
	})
	t.Run("ldm unaligned", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x20000102\nbad: ldm r0, {r1, r2}", FaultUnaligned, 0x20000102, nil)
	})
	t.Run("ldrd unaligned", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x20000102\nbad: ldrd r1, r2, [r0]", FaultUnaligned, 0x20000102, nil)
	})
	t.Run("strex unaligned", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x20000102\nbad: strex r1, r2, [r0]", FaultUnaligned, 0x20000102, nil)
	})
	t.Run("unaligned trap", func(t *testing.T) {
		m := expectFault(t, "ldr r0, =0x20000101\n ldrb r1, [r0]\nbad: ldrh r1, [r0]", FaultUnaligned, 0x20000101, func(m *machine) { m.UnalignedTrap = true })
		_ = m
	})
	t.Run("unaligned device access", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x40000002\nbad: ldr r1, [r0]", FaultUnaligned, 0x40000002, nil)
	})
	// Unaligned accesses where nothing answers in Normal memory (Code,
	// SRAM, RAM regions of the default map) are the BusFault of the
	// missing memory, not UNALIGNED (found by emu/conformance against QEMU).
	for _, a := range []string{"0x1fffffe2", "0x37fffff2", "0x60000002", "0x37ffff45"} {
		t.Run("unaligned normal nothing "+a, func(t *testing.T) {
			expectFault(t, "ldr r0, ="+a+"\nbad: ldr r1, [r0]", FaultPreciseData, 0, nil)
			expectFault(t, "ldr r0, ="+a+"\nbad: strh r1, [r0]", FaultPreciseData, 0, nil)
		})
	}
	t.Run("unaligned straddling into nothing", func(t *testing.T) {
		m := expectFault(t, "ldr r0, =0x2000fffe\nbad: ldr r1, [r0]", FaultPreciseData, 0x20010000, nil)
		_ = m
	})
	t.Run("div by zero trap", func(t *testing.T) {
		expectFault(t, "movs r0, #1\n movs r1, #0\nbad: udiv r2, r0, r1", FaultDivByZero, 0, func(m *machine) { m.DivByZeroTrap = true })
	})
	t.Run("writeback not done on fault", func(t *testing.T) {
		m := expectFault(t, "ldr r0, =0x60000000\nbad: ldr r1, [r0, #4]!", FaultPreciseData, 0x60000004, nil)
		if m.R[0] != 0x60000000 {
			t.Fatalf("base written back: %#x", m.R[0])
		}
	})
}

func TestStackLimit(t *testing.T) {
	t.Run("push below msplim", func(t *testing.T) {
		m := expectFault(t, "ldr r0, =0x2000f000\n msr msplim, r0\n ldr r1, =0x2000f004\n mov sp, r1\n movs r2, #9\nbad: push {r0, r1}", FaultStackOverflow, 0, nil)
		if m.R[13] != 0x2000f004 || word(m.ram, 0xeffc) != 0 {
			t.Fatalf("sp %#x, memory below the limit %#x: the push happened", m.R[13], word(m.ram, 0xeffc))
		}
	})
	t.Run("sub sp below msplim", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x2000f000\n msr msplim, r0\n ldr r1, =0x2000f004\n mov sp, r1\n sub sp, #4\nbad: sub sp, #4", FaultStackOverflow, 0, nil)
	})
	t.Run("psplim", func(t *testing.T) {
		expectFault(t, "ldr r0, =0x2000e000\n msr psp, r0\n ldr r1, =0x2000dff8\n msr psplim, r1\n movs r2, #2\n msr control, r2\n isb\n push {r0, r1}\nbad: push {r0}", FaultStackOverflow, 0, nil)
	})
	t.Run("mov sp at the limit is fine", func(t *testing.T) {
		m := runAsm(t, "ldr r0, =0x2000f000\n msr msplim, r0\n mov sp, r0\n mrs r1, msplim")
		if m.R[13] != 0x2000f000 || m.R[1] != 0x2000f000 {
			t.Fatalf("sp %#x msplim %#x", m.R[13], m.R[1])
		}
	})
}

func TestExclusive(t *testing.T) {
	runCases(t, []asmCase{
		{"ldrex strex", "ldr r0, =0x20000100\n movs r1, #5\n str r1, [r0]\n ldrex r2, [r0]\n adds r2, #1\n strex r3, r2, [r0]\n ldr r4, [r0]\n strex r5, r2, [r0]", R{2: 6, 3: 0, 4: 6, 5: 1}, "", -1},
		{"clrex", "ldr r0, =0x20000100\n ldrex r2, [r0]\n clrex\n strex r3, r2, [r0]", R{3: 1}, "", -1},
		{"other address", "ldr r0, =0x20000100\n ldrex r2, [r0]\n strex r3, r2, [r0, #4]", R{3: 1}, "", -1},
		{"byte half", "ldr r0, =0x20000100\n ldr r1, =0x1234\n str r1, [r0]\n ldrexb r2, [r0]\n strexb r3, r1, [r0]\n ldrexh r4, [r0]\n strexh r5, r2, [r0]\n ldr r6, [r0]", R{2: 0x34, 3: 0, 4: 0x1234, 5: 0, 6: 0x34}, "", -1},
		{"offset", "ldr r0, =0x20000100\n ldrex r2, [r0, #8]\n strex r3, r0, [r0, #8]\n ldr r4, [r0, #8]", R{3: 0, 4: 0x20000100}, "", -1},
		{"acquire release", "ldr r0, =0x20000100\n ldr r1, =0x80818283\n stl r1, [r0]\n lda r2, [r0]\n ldab r3, [r0]\n ldah r4, [r0]\n add r5, r0, #4\n stlh r1, [r5]\n stlb r1, [r5]\n ldr r6, [r0, #4]\n ldaex r7, [r0]\n stlex r8, r1, [r0]\n ldaexb r9, [r0]\n stlexb r10, r1, [r0]", R{2: 0x80818283, 3: 0x83, 4: 0x8283, 6: 0x8283, 7: 0x80818283, 8: 0, 9: 0x83, 10: 0}, "", -1},
	})
}

// TestSelfModifyingCode rewrites an instruction in SRAM after it ran (and
// was decoded): the new instruction runs the second time round.
func TestSelfModifyingCode(t *testing.T) {
	src := `movs r2, #0
loop:
target: movs r0, #1
 adds r2, #1
 cmp r2, #2
 beq done
 ldr r1, =target
 movs r3, #5
 movs r4, #0x20
 orr r3, r3, r4, lsl #8
 strh r3, [r1]
 b loop
done: bkpt #0
`
	m := newMachine(assemble(t, src, ramBase), ramBase)
	m.run(t)
	if m.R[0] != 5 {
		t.Fatalf("r0 = %d, want 5 (the rewritten movs r0, #5)", m.R[0])
	}
	// Behind the core's back: rewrite and InvalidateCode.
	m.ram[2], m.ram[3] = 7, 0x20 // movs r0, #7
	m.InvalidateCode(ramBase+2, 2)
	m.R[15], m.h.bkpt = ramBase, 0
	m.run(t)
	if m.R[0] != 5 {
		t.Fatalf("r0 = %d after rerun, want 5", m.R[0])
	}
	binaryPatch := []byte{9, 0x20} // movs r0, #9 at target in flash copy
	copy(m.ram[2:], binaryPatch)
	m.InvalidateCode(ramBase, 0x1000)
	m.R[15], m.h.bkpt = ramBase, 0
	m.run(t)
	if m.R[0] != 5 {
		t.Fatalf("r0 = %d, want 5", m.R[0])
	}
}

func TestClearExclusive(t *testing.T) {
	m := newMachine(assemble(t, "ldr r0, =0x20000100\n ldrex r1, [r0]\n bkpt #1\n strex r2, r1, [r0]\n bkpt", flashBase), flashBase)
	m.run(t)
	m.ClearExclusive() // an exception came and went
	m.R[15] += 2
	m.h.bkpt = 0
	m.run(t)
	if m.R[2] != 1 {
		t.Fatalf("strex after an exception succeeded")
	}
}

// rewriter is a device that, when written, rewrites code in SRAM behind
// the core's back and invalidates the whole page (as a flash controller
// or DMA model would).
type rewriter struct{ m *machine }

func (r rewriter) Load(addr uint32, size int) (uint32, bool) { return 0, true }
func (r rewriter) Store(addr uint32, size int, v uint32) bool {
	at := v - ramBase
	r.m.ram[at], r.m.ram[at+1] = 9, 0x20 // movs r0, #9
	r.m.InvalidateCode(ramBase, 0x1000)
	return true
}

// TestInvalidateDuringInstruction: code invalidated by a device during
// an instruction is decoded afresh before it runs again.
func TestInvalidateDuringInstruction(t *testing.T) {
	src := ` movs r2, #0
loop: ldr r1, =0x40000000
 ldr r3, =target
 cmp r2, #1
 it eq
 streq r3, [r1]
target: movs r0, #1
 adds r2, #1
 cmp r2, #2
 bne loop
 bkpt
`
	m := newMachine(assemble(t, src, ramBase), ramBase)
	m.Bus = rewriter{m}
	m.run(t)
	if m.R[0] != 9 {
		t.Fatalf("r0 = %d, want 9 from the rewritten instruction", m.R[0])
	}
}
