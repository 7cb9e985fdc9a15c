package emu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// protectStore writes the word before a guarded range at 0x20001000 and
// reads the range (both allowed), then stores into it at label bad. The
// MemManage handler records CFSR, HFSR, MMFAR and the stacked PC at 0x20000300.
const protectStore = `
	.thumb_func
reset:
	ldr r0, =0xE000ED24      @ SHCSR
	ldr r1, =SHCSR
	str r1, [r0]
	ldr r3, =0x20001000
	movs r1, #7
	str r1, [r3, #-4]
	ldr r2, [r3]
bad:
	str r1, [r3, #8]
	movs r0, #99
	b done

	.thumb_func
memmanage_handler:
	ldr r2, =0x20000300
	ldr r0, =0xE000ED28
	ldr r1, [r0]             @ CFSR
	str r1, [r2]
	ldr r1, [r0, #4]         @ HFSR
	str r1, [r2, #4]
	ldr r1, [r0, #12]        @ MMFAR
	str r1, [r2, #8]
	mrs r0, msp
	ldr r1, [r0, #24]        @ stacked PC
	str r1, [r2, #12]
	movs r0, #4
	b done
`

// A store into a range the kernel protected is a MemManage data access
// violation (DACCVIOL, MMARVALID, MMFAR the address): with MemManage
// disabled it escalates to the default HardFault handler and the run ends
// with a crash naming the protected range; with it enabled (SHCSR) the
// image's handler runs.
func TestStoreIntoProtectedRange(t *testing.T) {
	for _, tc := range []struct {
		name  string
		shcsr uint32
	}{{"unhandled", 0}, {"MemManage handler", shcsrMemFaultEna}} {
		t.Run(tc.name, func(t *testing.T) {
			img, syms := assemble(t, fmt.Sprintf(".equ SHCSR, %#x\n%s", tc.shcsr, protectStore))
			a := newAsmMachine(t, img, Options{})
			if err := a.CPU().AddGuard(0x2000_1000, 512, "open channel's send buffer"); err != nil {
				t.Fatal(err)
			}
			err := a.run(t)
			if a.word(t, 0x2000_0ffc) != 7 {
				t.Fatal("the word before the protected range was not written")
			}
			if a.word(t, 0x2000_1008) != 0 {
				t.Fatal("the store into the protected range was written")
			}
			if tc.shcsr == 0 {
				var k *Crash
				if !errors.As(err, &k) || k.Exception != excHardFault || k.PC != syms["bad"] {
					t.Fatalf("Run = %v, want a HardFault crash at bad", err)
				}
				if k.CFSR != cfsrDAccViol|cfsrMMARValid || k.HFSR != hfsrForced || k.MMFAR != 0x2000_1008 {
					t.Fatalf("CFSR %#x HFSR %#x MMFAR %#x", k.CFSR, k.HFSR, k.MMFAR)
				}
				r := k.Report()
				for _, want := range []string{
					"store into a protected range 0x20001000+512 (open channel's send buffer)",
					"DACCVIOL", "MMARVALID", "FORCED", "fault address (MMFAR): 0x20001008",
				} {
					if !strings.Contains(r, want) {
						t.Errorf("crash report lacks %q:\n%s", want, r)
					}
				}
				return
			}
			if err != nil || a.result != 4 {
				t.Fatalf("Run = %v, result %d: want the MemManage handler (4)", err, a.result)
			}
			if cfsr, hfsr, mmfar, pc := a.word(t, 0x20000300), a.word(t, 0x20000304), a.word(t, 0x20000308), a.word(t, 0x2000030c); cfsr != cfsrDAccViol|cfsrMMARValid || hfsr != 0 || mmfar != 0x2000_1008 || pc != syms["bad"] {
				t.Fatalf("CFSR %#x HFSR %#x MMFAR %#x stacked PC %#x", cfsr, hfsr, mmfar, pc)
			}
		})
	}
}

// Once the guard is removed (the channel closed), the same store works.
func TestStoreAfterUnprotect(t *testing.T) {
	img, _ := assemble(t, fmt.Sprintf(".equ SHCSR, 0\n%s", protectStore))
	a := newAsmMachine(t, img, Options{})
	if err := a.CPU().AddGuard(0x2000_1000, 512, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.CPU().RemoveGuard(0x2000_1000, 512); err != nil {
		t.Fatal(err)
	}
	if err := a.run(t); err != nil || a.result != 99 || a.word(t, 0x2000_1008) != 7 {
		t.Fatalf("Run = %v, result %d, word %#x: want the store done and 99", err, a.result, a.word(t, 0x2000_1008))
	}
}

// Exception entry stacking into a protected range is MSTKERR (MemManage,
// no fault address), a derived fault, escalated here; the crash names it.
func TestStackingIntoProtectedRange(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	if err := c.AddGuard(0x2000_8000, 512, "server log buffer"); err != nil {
		t.Fatal(err)
	}
	c.R[13] = 0x2000_8010
	m.setPending(excPendSV)
	m.checkPending()
	if c.IPSR != excHardFault || m.cfsr != cfsrMStkErr || m.hfsr != hfsrForced || !m.pending[excPendSV] {
		t.Fatalf("MSTKERR: ipsr %d cfsr %#x hfsr %#x pendsv pending %v", c.IPSR, m.cfsr, m.hfsr, m.pending[excPendSV])
	}
	if m.faultNote != "" {
		t.Fatalf("the fault's note outlived it: %q", m.faultNote)
	}

	// With a default HardFault handler the run ends, naming the range.
	m = newTestMachine(t)
	c = m.CPU()
	m.o.Unhandled = func(exc int, _ uint32) bool { return exc == excHardFault }
	if err := c.AddGuard(0x2000_8000, 512, "server log buffer"); err != nil {
		t.Fatal(err)
	}
	c.R[13] = 0x2000_8010
	m.setPending(excPendSV)
	m.checkPending()
	if m.crash == nil || !strings.Contains(m.crash.Reason, "stacked into a protected range 0x20008000+512 (server log buffer)") || !strings.Contains(m.crash.Report(), "MSTKERR") {
		t.Fatalf("crash %+v", m.crash)
	}
}
