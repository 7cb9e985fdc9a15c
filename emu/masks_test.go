package emu

import (
	"testing"

	"github.com/mvnet/mvnet/emu/gdb"
)

// TestBASEPRIImplementedBits: the STM32U5 has four priority bits, so
// BASEPRI keeps only bits [7:4], written by MSR or by a debugger.
func TestBASEPRIImplementedBits(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	movs r0, #0x15
	msr basepri, r0
	mrs r0, basepri
	b done
`)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 0x10 {
		t.Fatalf("MRS BASEPRI after MSR 0x15 = %#x, want 0x10", a.result)
	}
	tg := a.Debugger()
	if err := tg.WriteRegister(gdb.BASEPRI, 0x35); err != nil {
		t.Fatal(err)
	}
	if v := tg.ReadRegister(gdb.BASEPRI); v != 0x30 {
		t.Fatalf("debugger BASEPRI write 0x35 reads %#x, want 0x30", v)
	}
}
