package emu

import (
	"testing"
	"time"
)

// TestSEVWakesWFE: SEV sets the event register, so the WFE after it
// returns at once (HAL_PWR_EnterSLEEPMode(PWR_SLEEPENTRY_WFE) is
// __SEV(); __WFE(); __WFE()), and the next WFE, with the event consumed,
// sleeps.
func TestSEVWakesWFE(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	sev
	wfe
	movs r0, #0x55
	b done
`)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil || a.result != 0x55 {
		t.Fatalf("sev; wfe: err %v result %#x, want the run to finish with 0x55", err, a.result)
	}

	img, syms := assemble(t, `
	.thumb_func
reset:
	sev.w
	wfe
	wfe
after:
	movs r0, #0x66
	b done
`)
	a = newAsmMachine(t, img, Options{})
	var asleep bool
	var pc uint32
	// Nothing else is scheduled: the sleeping core's clock jumps here.
	a.At(time.Millisecond, func() {
		asleep, pc = a.sleeping, a.cpu.R[15]
		a.Halt(nil)
	})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.dones != 0 || !asleep || pc != syms["after"] {
		t.Fatalf("sev; wfe; wfe: dones %d asleep %v pc %#x, want the second WFE asleep before %#x", a.dones, asleep, pc, syms["after"])
	}
}
