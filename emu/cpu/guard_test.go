package cpu

import (
	"fmt"
	"strings"
	"testing"
)

func hex32(v uint32) string { return fmt.Sprintf("%#x", v) }

// guardAt is the guarded range of these tests: 512 bytes in the middle of
// a 4 KiB SRAM page, so the bytes on either side share its page.
const (
	guardAt  = ramBase + 0x1100
	guardLen = 512
)

func guard(t *testing.T) func(m *machine) {
	return func(m *machine) {
		if err := m.AddGuard(guardAt, guardLen, "send buffer"); err != nil {
			t.Fatal(err)
		}
	}
}

// Every kind of store into a guarded range is a MemManage data access
// violation at the first guarded byte, and writes nothing.
func TestGuardedStoresFault(t *testing.T) {
	for _, c := range []struct{ name, src string }{
		{"str", "movs r1, #1\nbad: str r1, [r0]"},
		{"strb", "movs r1, #1\nbad: strb r1, [r0, #3]"},
		{"strh", "movs r1, #1\nbad: strh r1, [r0, #510]"},
		{"strd", "movs r1, #1\n movs r2, #2\nbad: strd r1, r2, [r0, #8]"},
		{"stm", "movs r1, #1\n movs r2, #2\nbad: stm r0!, {r1, r2}"},
		{"push", "mov sp, r0\n add sp, #64\nbad: push {r0, r1}"},
		{"strex", "movs r1, #1\n ldrex r2, [r0]\nbad: strex r3, r1, [r0]"},
		{"unaligned word", "movs r1, #1\nbad: str r1, [r0, #-2]"},
		{"word before the end", "movs r1, #1\n add r0, #508\nbad: str r1, [r0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := expectFault(t, "ldr r0, ="+hex32(guardAt)+"\n"+c.src, FaultDataAccess, 0, guard(t))
			f := m.h.faults[0]
			if f.Addr < guardAt || f.Addr >= guardAt+guardLen {
				t.Fatalf("fault address %#x outside the guard %#x+%d", f.Addr, guardAt, guardLen)
			}
			for i, b := range m.ram[guardAt-ramBase-4 : guardAt-ramBase+guardLen+4] {
				if b != 0 {
					t.Fatalf("byte %#x written (%#x) by a faulting store", guardAt-4+uint32(i), b)
				}
			}
		})
	}
	// The address is the first guarded byte the store reaches.
	m := expectFault(t, "ldr r0, ="+hex32(guardAt)+"\n movs r1, #1\nbad: str r1, [r0, #-2]", FaultDataAccess, guardAt, guard(t))
	if m.h.faults[0].Kind.Exception() != ExcMemManage || m.h.faults[0].Kind.CFSR() != CFSRDAccViol|CFSRMMARValid {
		t.Fatalf("fault %+v: want MemManage DACCVIOL|MMARVALID", m.h.faults[0])
	}
}

// Loads from a guarded range, and stores to the bytes around it on the same
// page, work; after RemoveGuard stores there work too, on the fast path.
func TestGuardNeighboursAndRemove(t *testing.T) {
	src := "ldr r0, =" + hex32(guardAt) + "\n ldr r5, =0x11223344\n" +
		" str r5, [r0, #-4]\n str r5, [r0, #512]\n strb r5, [r0, #-1]\n strh r5, [r0, #514]\n" +
		" ldr r1, [r0]\n ldr r2, [r0, #508]\n ldr r3, [r0, #-4]\n ldr r4, [r0, #512]\n bkpt #0\n" +
		" str r5, [r0]\n str r5, [r0, #508]\n ldr r6, [r0]\n bkpt #1\n"
	m := newMachine(assemble(t, src, flashBase), flashBase)
	copy(m.ram[guardAt-ramBase:], []byte{0xaa, 0xbb, 0xcc, 0xdd})
	guard(t)(m)
	r := &m.m.regs[1]
	if r.clean(guardAt-ramBase) || r.clean(guardAt-ramBase-4) {
		t.Fatal("the guarded page takes the fast path")
	}
	if !r.clean(guardAt - ramBase + pageSize) {
		t.Fatal("the page after the guarded one left the fast path")
	}
	m.run(t)
	if m.R[1] != 0xddccbbaa || m.R[3] != 0x44223344 || m.R[4] != 0x33443344 {
		t.Fatalf("r1 %#x r3 %#x r4 %#x: loads of the guard and its neighbours", m.R[1], m.R[3], m.R[4])
	}
	if got := word(m.ram, guardAt-ramBase+512); got != 0x33443344 {
		t.Fatalf("word after the guard %#x, want 0x33443344", got)
	}
	if err := m.RemoveGuard(guardAt, guardLen); err != nil {
		t.Fatal(err)
	}
	if !r.clean(guardAt-ramBase) || len(m.Guards()) != 0 {
		t.Fatal("an unguarded page without code still leaves the fast path")
	}
	m.h.bkpt = 0
	m.R[15] += 2
	m.run(t)
	if len(m.h.faults) != 0 || m.R[6] != 0x11223344 || word(m.ram, guardAt-ramBase+508) != 0x11223344 {
		t.Fatalf("after RemoveGuard: faults %+v, r6 %#x", m.h.faults, m.R[6])
	}
}

// Guards and decoded code share a page: removing the guard keeps the
// page's stores on the slow path, which invalidates the code they overwrite.
func TestGuardOnCodePage(t *testing.T) {
	// Code in SRAM rewrites its own next instruction (movs r0, #1 -> #2).
	src := "ldr r1, =patch\n ldrh r2, [r1]\n adds r2, #1\n strh r2, [r1]\npatch: movs r0, #1\n bkpt #0\n"
	m := newMachine(assemble(t, src, ramBase), ramBase)
	r := func() *region { return &m.m.regs[1] }
	m.run(t)
	if m.R[0] != 2 {
		t.Fatalf("r0 = %d: the store did not reach the decoded code (want 2)", m.R[0])
	}
	if r().clean(0) {
		t.Fatal("a page with decoded code takes the fast path")
	}
	if err := m.AddGuard(ramBase+0x800, 16, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.RemoveGuard(ramBase+0x800, 16); err != nil {
		t.Fatal(err)
	}
	if r().clean(0) {
		t.Fatal("removing a guard put a page with decoded code on the fast path")
	}
}

func TestGuardErrors(t *testing.T) {
	m := newMachine(nil, flashBase)
	if err := m.AddGuard(guardAt, 0, ""); err == nil {
		t.Fatal("empty guard accepted")
	}
	if err := m.AddGuard(0xffff_fff0, 0x20, ""); err == nil {
		t.Fatal("guard past the end of the address space accepted")
	}
	if err := m.AddGuard(guardAt, guardLen, "send buffer"); err != nil {
		t.Fatal(err)
	}
	if err := m.AddGuard(guardAt+guardLen-1, 1, ""); err == nil || !strings.Contains(err.Error(), "overlaps guard 0x20001100+512 (send buffer)") {
		t.Fatalf("overlapping guard: %v", err)
	}
	if err := m.RemoveGuard(guardAt, guardLen-1); err == nil {
		t.Fatal("removing a range that is not a guard succeeded")
	}
	if g, ok := m.Guarded(guardAt+guardLen-1, 4); !ok || g.What != "send buffer" {
		t.Fatalf("Guarded = %v, %v", g, ok)
	}
	if _, ok := m.Guarded(guardAt+guardLen, 4); ok {
		t.Fatal("the byte after the guard is guarded")
	}
}
