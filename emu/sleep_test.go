package emu

import (
	"github.com/mvnet/mvnet/emu/cpu"
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

// TestSEVONPENDOnTransition: with SCR.SEVONPEND, an interrupt becoming
// pending is a WFE wake-up event — an interrupt pending (disabled) since
// before the WFE is not.
func TestSEVONPENDOnTransition(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0xE000E200
	movs r0, #1
	str r0, [r1]      @ ISPR0: pend IRQ0 (disabled)
	ldr r1, =0xE000ED10
	movs r0, #0x10
	str r0, [r1]      @ SCR.SEVONPEND, after the pend
	wfe
after:
	movs r0, #0x66
	b done
`)
	a := newAsmMachine(t, img, Options{})
	var asleep bool
	var pc uint32
	a.At(time.Millisecond, func() {
		asleep, pc = a.sleeping, a.cpu.R[15]
		a.PendIRQ(1) // disabled too, but a transition to pending
	})
	a.At(2*time.Millisecond, func() { a.Halt(nil) })
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if !asleep || pc != syms["after"] {
		t.Fatalf("WFE with a stale pending interrupt: asleep %v pc %#x, want asleep before %#x", asleep, pc, syms["after"])
	}
	if a.dones != 1 || a.result != 0x66 {
		t.Fatalf("a new pend did not wake WFE: dones %d result %#x", a.dones, a.result)
	}
}

// TestTimerPendWakesWFI: an interrupt a virtual timer pends (as a
// peripheral model's timer does) wakes WFI at once, not at the next
// timer.
func TestTimerPendWakesWFI(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0xE000E100
	movs r0, #1
	str r0, [r1]      @ ISER0: enable IRQ0
1:	wfi
	b 1b
	.thumb_func
irq0_handler:
	movs r0, #0x77
	b done
`)
	a := newAsmMachine(t, img, Options{})
	var woke time.Duration
	a.At(time.Millisecond, func() { a.PendIRQ(0) })
	a.At(5*time.Millisecond, func() { a.Halt(nil) })
	a.o.Trap = func(trap func(c *cpu.CPU, pc uint32) bool) func(c *cpu.CPU, pc uint32) bool {
		return func(c *cpu.CPU, pc uint32) bool { woke = a.Now(); return trap(c, pc) }
	}(a.o.Trap)
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.dones != 1 || a.result != 0x77 || woke >= 2*time.Millisecond {
		t.Fatalf("IRQ0 pended at 1 ms: dones %d result %#x at %v, want its handler to run at once", a.dones, a.result, woke)
	}
}
