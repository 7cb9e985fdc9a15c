package emu

import (
	"errors"
	"testing"
)

// TestTailChainUnhandledReport: an exception pended in a handler and
// reached by tail-chaining from its return, whose handler is the default
// one, crashes with the interrupted code's state (PC the stacked return
// address, SP above the unstacked frame, Thread mode), not with the
// EXC_RETURN value as PC.
func TestTailChainUnhandledReport(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0xE000E100
	movs r0, #1
	str r0, [r1]      @ ISER0: enable IRQ0 (default handler)
	svc #0
back:
	b back
	.thumb_func
svc_handler:
	ldr r1, =0xE000E200
	movs r0, #1
	str r0, [r1]      @ ISPR0 while SVCall (prio 0) is active: IRQ0 (prio 0) waits
	bx lr             @ would tail-chain into IRQ0's default handler
`)
	a := newAsmMachine(t, img, Options{})
	err := a.run(t)
	var k *Crash
	if !errors.As(err, &k) {
		t.Fatalf("run: %v, want a *Crash", err)
	}
	if k.Exception != excExternal || k.PC != syms["back"] || k.R[13] != stackTop || k.XPSR&0x1ff != 0 {
		t.Fatalf("crash: exception %d PC %#x SP %#x IPSR %d; want IRQ0 (16) at back %#x, SP %#x, Thread",
			k.Exception, k.PC, k.R[13], k.XPSR&0x1ff, syms["back"], stackTop)
	}
	if len(k.Backtrace) == 0 || k.Instr == "" {
		t.Fatalf("crash report without backtrace or instruction: %q %q", k.Backtrace, k.Instr)
	}
}

// TestReturnWithTClear: an exception return whose stacked xPSR has the T
// bit clear is an INVSTATE UsageFault (escalated to HardFault here: it is
// not enabled), its return address the stacked one.
func TestReturnWithTClear(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	svc #0
after:
	movs r0, #0x77
	b done
	.thumb_func
svc_handler:
	ldr r1, [sp, #28]
	bic r1, r1, #0x01000000
	str r1, [sp, #28]  @ stacked xPSR.T = 0
	bx lr
	.thumb_func
hardfault_handler:
	ldr r1, =0xE000ED28
	ldr r0, [r1]       @ CFSR
	ldr r1, [sp, #24]  @ stacked return address
	ldr r2, =0x20000700
	str r1, [r2]
	b done
`)
	a := newAsmMachine(t, img, Options{})
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != cfsrInvState || a.hfsr&hfsrForced == 0 {
		t.Fatalf("CFSR %#x HFSR %#x, want INVSTATE (%#x) escalated (FORCED)", a.result, a.hfsr, cfsrInvState)
	}
	if ret := a.word(t, 0x20000700); ret != syms["after"] {
		t.Fatalf("stacked return address %#x, want %#x", ret, syms["after"])
	}
}
