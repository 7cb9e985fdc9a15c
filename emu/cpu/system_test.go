package cpu

import (
	"sync"
	"testing"
)

func TestHooks(t *testing.T) {
	t.Run("svc", func(t *testing.T) {
		m := runAsm(t, "svc #42\n ldr r1, =after\nafter: nop")
		if len(m.h.svc) != 1 || m.h.svc[0] != 42 {
			t.Fatalf("svc calls %v", m.h.svc)
		}
	})
	t.Run("bkpt at pc", func(t *testing.T) {
		m := newMachine(assemble(t, "movs r0, #1\n bkpt #7\n movs r0, #2", flashBase), flashBase)
		if s := m.Run(100); s != StopRequested || m.R[15] != flashBase+2 || m.R[0] != 1 || m.Instructions != 1 {
			t.Fatalf("stop %v pc %#x r0 %d instructions %d", s, m.R[15], m.R[0], m.Instructions)
		}
	})
	t.Run("udf", func(t *testing.T) {
		expectFault(t, "bad: udf #3", FaultUndefined, 0, nil)
	})
	t.Run("udf.w", func(t *testing.T) {
		expectFault(t, "bad: udf.w #300", FaultUndefined, 0, nil)
	})
	t.Run("fpu is nocp", func(t *testing.T) {
		expectFault(t, "movs r0, #1\nbad: .inst.w 0xee000a10", FaultNoCP, 0, nil) // vmov s0, r0
	})
	t.Run("vpush is nocp", func(t *testing.T) {
		expectFault(t, "bad: .inst.w 0xed2d8b02", FaultNoCP, 0, nil)
	})
	t.Run("coprocessor 2 is nocp", func(t *testing.T) {
		expectFault(t, "bad: .inst.w 0xfe000000", FaultNoCP, 0, nil)
	})
	t.Run("tta is undefined in non-secure state", func(t *testing.T) {
		expectFault(t, "bad: .inst.w 0xe840f080", FaultUndefined, 0, nil) // tta r0, r0
	})
	// Should-be-zero/one fields not as they must be: UNDEFINED (as
	// objdump reads them) rather than executed as a neighbouring encoding.
	for _, enc := range []string{"0xea20dab1", "0xe8531e91", "0xe8cbbd50", "0xe8dd5487", "0xe8cce380", "0xe8dda80d", "0xfa06f0e5", "0xfa3ff1e2", "0xeac2bcce"} {
		t.Run("sbz/sbo "+enc, func(t *testing.T) {
			expectFault(t, "bad: .inst.w "+enc, FaultUndefined, 0, nil)
		})
	}
	t.Run("sg is undefined", func(t *testing.T) {
		expectFault(t, "bad: .inst.w 0xe97fe97f", FaultUndefined, 0, nil)
	})
	t.Run("tt", func(t *testing.T) {
		m := runAsm(t, "movs r0, #5\n ldr r1, =0x20000000\n tt r0, r1\n movs r2, #5\n ttt r2, r1")
		if m.R[0] != 0 || m.R[2] != 0 {
			t.Fatalf("tt gave %#x %#x", m.R[0], m.R[2])
		}
	})
	t.Run("bx even is invstate at the target", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r0, =0x08000100\n bx r0\n bkpt", flashBase), flashBase)
		m.run(t)
		if len(m.h.faults) != 1 || m.h.faults[0] != (Fault{Kind: FaultInvState, PC: 0x08000100}) {
			t.Fatalf("faults %+v", m.h.faults)
		}
	})
	t.Run("exception return", func(t *testing.T) {
		for _, src := range []string{"ldr r0, =0xfffffff9\n bx r0", "ldr r0, =0xfffffff9\n push {r0}\n pop {pc}", "ldr r0, =0xfffffff9\n push {r0}\n ldr pc, [sp]"} {
			m := newMachine(assemble(t, src+"\n bkpt", flashBase), flashBase)
			m.IPSR = 3
			m.run(t)
			if len(m.h.excRet) != 1 || m.h.excRet[0] != 0xfffffff9 || len(m.h.faults) != 0 {
				t.Fatalf("%s: exception returns %#x faults %+v", src, m.h.excRet, m.h.faults)
			}
		}
	})
	t.Run("exc_return value in thread mode is a branch", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r0, =0xfffffff9\n bx r0\n bkpt", flashBase), flashBase)
		m.run(t)
		if len(m.h.excRet) != 0 || len(m.h.faults) != 1 || m.h.faults[0].Kind != FaultInstrBus || m.h.faults[0].PC != 0xfffffff8 {
			t.Fatalf("exception returns %#x faults %+v", m.h.excRet, m.h.faults)
		}
	})
	t.Run("sleep", func(t *testing.T) {
		m := runAsm(t, "wfi\n wfe\n yield\n sev\n nop.w\n wfi.w")
		if len(m.h.sleeps) != 3 || m.h.sleeps[0] || !m.h.sleeps[1] || m.h.sleeps[2] {
			t.Fatalf("sleeps %v", m.h.sleeps)
		}
	})
	t.Run("trap system call", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r3, =0x0C1FE0D9\n blx r3\n mov r4, r0\n bkpt", flashBase), flashBase)
		m.h.trapOK = true
		m.run(t)
		if m.R[4] != 0x0C1FE0D8 || len(m.h.traps) != 1 || m.Instructions != 4 {
			t.Fatalf("r4 %#x traps %#x instructions %d", m.R[4], m.h.traps, m.Instructions)
		}
	})
	t.Run("fetch from data region", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r0, =0x30000001\n bx r0", flashBase), flashBase)
		m.run(t)
		if len(m.h.faults) != 1 || m.h.faults[0].Kind != FaultInstrAccess || m.h.faults[0].PC != 0x30000000 || len(m.h.traps) != 1 {
			t.Fatalf("faults %+v traps %#x", m.h.faults, m.h.traps)
		}
	})
	t.Run("fetch from nothing", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r0, =0x60000001\n bx r0", flashBase), flashBase)
		m.run(t)
		if len(m.h.faults) != 1 || m.h.faults[0] != (Fault{Kind: FaultInstrBus, PC: 0x60000000, Addr: 0x60000000}) {
			t.Fatalf("faults %+v", m.h.faults)
		}
	})
	t.Run("32-bit instruction cut by the region end", func(t *testing.T) {
		code := make([]byte, 0x1000)
		code[0xffe], code[0xfff] = 0x00, 0xf0 // first half of a BL
		m := newMachine(nil, flashBase)
		m.Regions[1].Data = m.ram[:0x1000]
		copy(m.ram, code)
		m.R[15] = ramBase + 0xffe
		m.run(t)
		if len(m.h.faults) != 1 || m.h.faults[0].Kind != FaultInstrBus || m.h.faults[0].PC != ramBase+0xffe {
			t.Fatalf("faults %+v", m.h.faults)
		}
	})
}

func TestSpecialRegisters(t *testing.T) {
	runCases(t, []asmCase{
		{"masks", "movs r0, #1\n msr primask, r0\n mrs r1, primask\n movs r0, #0x40\n msr basepri, r0\n mrs r2, basepri\n movs r0, #0x80\n msr basepri_max, r0\n mrs r3, basepri\n movs r0, #0x20\n msr basepri_max, r0\n mrs r4, basepri\n movs r0, #1\n msr faultmask, r0\n mrs r5, faultmask\n cpsie f\n mrs r6, faultmask\n cpsie i\n mrs r7, primask\n cpsid i\n mrs r8, primask", R{1: 1, 2: 0x40, 3: 0x40, 4: 0x20, 5: 1, 6: 0, 7: 0, 8: 1}, "", -1},
		{"psp switch", "ldr r0, =0x2000e000\n msr psp, r0\n mov r5, sp\n movs r1, #2\n msr control, r1\n isb\n mov r2, sp\n mrs r3, msp\n mrs r4, control\n movs r1, #0\n msr control, r1\n mov r6, sp\n mrs r7, psp", R{2: 0x2000e000, 3: ramBase + ramSize, 4: 2, 6: ramBase + ramSize, 7: 0x2000e000}, "", -1},
		{"xpsr views", "movs r0, #0\n subs r0, #1\n mrs r1, apsr\n mrs r2, xpsr\n mrs r3, ipsr\n mrs r4, epsr\n mrs r5, iepsr", R{1: 0x80000000, 2: 0x80000000, 3: 0, 4: 0, 5: 0}, "", -1},
		{"limits", "ldr r0, =0x20001007\n msr msplim, r0\n msr psplim, r0\n mrs r1, msplim\n mrs r2, psplim", R{1: 0x20001000, 2: 0x20001000}, "", -1},
		{"ns aliases read zero", "movs r0, #1\n msr primask, r0\n mrs r1, primask_ns", R{1: 0}, "", -1},
		{"barriers", "dsb\n dmb\n isb\n dsb sy\n pld [r0]\n pli [r0, #4]\n pld [r0, r1, lsl #2]\n clrex\n movs r0, #1", R{0: 1}, "", -1},
	})
	t.Run("ipsr in handler", func(t *testing.T) {
		m := newMachine(assemble(t, "mrs r0, ipsr\n mrs r1, xpsr\n bkpt", flashBase), flashBase)
		m.IPSR = 11
		m.run(t)
		if m.R[0] != 11 || m.R[1] != 11 {
			t.Fatalf("ipsr %d xpsr %#x", m.R[0], m.R[1])
		}
	})
	t.Run("unprivileged", func(t *testing.T) {
		m := runAsm(t, "movs r0, #1\n msr control, r0\n isb\n cpsid i\n msr primask, r0\n msr basepri, r0\n movs r1, #0\n msr control, r1\n mrs r2, control\n mrs r3, msp\n msr msp, r1\n mrs r4, primask")
		if m.PRIMASK || m.BASEPRI != 0 || m.R[2] != 1 || m.R[3] != 0 || m.R[4] != 0 || m.MSP() != ramBase+ramSize {
			t.Fatalf("unprivileged writes took effect: primask %v basepri %d control %d msp read %#x msp %#x", m.PRIMASK, m.BASEPRI, m.R[2], m.R[3], m.MSP())
		}
	})
	t.Run("faultmask not set in hardfault", func(t *testing.T) {
		m := newMachine(assemble(t, "movs r0, #1\n msr faultmask, r0\n cpsid f\n mrs r1, faultmask\n bkpt", flashBase), flashBase)
		m.IPSR = 3
		m.run(t)
		if m.FAULTMASK || m.R[1] != 0 {
			t.Fatalf("faultmask set in HardFault")
		}
	})
	t.Run("spsel ignored in handler mode", func(t *testing.T) {
		m := newMachine(assemble(t, "movs r0, #3\n msr control, r0\n mrs r1, control\n bkpt", flashBase), flashBase)
		m.IPSR = 14
		m.run(t)
		if m.R[1] != 1 {
			t.Fatalf("control %d, want nPRIV only", m.R[1])
		}
	})
	t.Run("basepri keeps the implemented bits", func(t *testing.T) {
		// Four priority bits (STM32U5): 0x15 reads 0x10; BASEPRI_MAX
		// compares the implemented bits (0x1f is 0x10: no change; 0x0f
		// is 0: ignored).
		m := newMachine(assemble(t, "movs r0, #0x15\n msr basepri, r0\n mrs r1, basepri\n movs r0, #0x1f\n msr basepri_max, r0\n mrs r2, basepri\n movs r0, #0x0f\n msr basepri_max, r0\n mrs r3, basepri\n movs r0, #0x30\n msr basepri, r0\n movs r0, #0x2f\n msr basepri_max, r0\n mrs r4, basepri\n bkpt", flashBase), flashBase)
		m.PrioMask = 0xf0
		m.run(t)
		if m.R[1] != 0x10 || m.R[2] != 0x10 || m.R[3] != 0x10 || m.R[4] != 0x20 {
			t.Fatalf("basepri reads %#x %#x %#x %#x, want 0x10 0x10 0x10 0x20", m.R[1], m.R[2], m.R[3], m.R[4])
		}
	})
	t.Run("unmasking stops the run", func(t *testing.T) {
		for _, src := range []string{"cpsie i", "msr primask, r0", "msr basepri, r0", "msr faultmask, r0", "msr control, r0", "isb", "cpsie f"} {
			m := newMachine(assemble(t, "movs r0, #0\n "+src+"\n movs r1, #1\n bkpt", flashBase), flashBase)
			m.PRIMASK = true
			if s := m.Run(100); s != StopRequested || m.Instructions != 2 || m.R[1] != 0 {
				t.Fatalf("%s: stop %v after %d instructions", src, s, m.Instructions)
			}
		}
		m := newMachine(assemble(t, "cpsid i\n movs r1, #1\n bkpt", flashBase), flashBase)
		if m.Run(100); m.Instructions != 2 {
			t.Fatalf("cpsid stopped the run after %d instructions", m.Instructions)
		}
	})
}

func TestRunControl(t *testing.T) {
	loop := assemble(t, "movs r0, #0\nl: adds r0, #1\n b l", flashBase)
	t.Run("budget", func(t *testing.T) {
		m := newMachine(loop, flashBase)
		if s := m.Run(11); s != StopBudget || m.Instructions != 11 || m.R[0] != 5 {
			t.Fatalf("stop %v instructions %d r0 %d", s, m.Instructions, m.R[0])
		}
		if s := m.Run(0); s != StopBudget || m.Instructions != 11 {
			t.Fatalf("Run(0): %v %d", s, m.Instructions)
		}
	})
	t.Run("request from another goroutine", func(t *testing.T) {
		m := newMachine(loop, flashBase)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); m.RequestStop() }()
		s := m.Run(1 << 62)
		wg.Wait()
		if s != StopRequested {
			t.Fatalf("stop %v", s)
		}
		if s := m.Run(10); s != StopBudget {
			t.Fatalf("request not cleared: %v", s)
		}
	})
	t.Run("breakpoint and step", func(t *testing.T) {
		m := newMachine(loop, flashBase)
		m.Run(3) // decode the loop first: the breakpoint must reach cached code
		m.SetBreakpoint(flashBase + 4)
		if s := m.Run(100); s != StopBreakpoint || m.R[15] != flashBase+4 {
			t.Fatalf("stop %v at %#x", s, m.R[15])
		}
		if s := m.Run(100); s != StopBreakpoint || m.Instructions != 4 {
			t.Fatalf("Run at a breakpoint: %v after %d", s, m.Instructions)
		}
		if s := m.Step(); s != StopBudget || m.R[15] != flashBase+2 {
			t.Fatalf("step: %v pc %#x", s, m.R[15])
		}
		if s := m.Run(100); s != StopBreakpoint || m.Instructions != 6 {
			t.Fatalf("stop %v after %d", s, m.Instructions)
		}
		m.ClearBreakpoint(flashBase + 4)
		if s := m.Run(100); s != StopBudget {
			t.Fatalf("cleared breakpoint still stops: %v", s)
		}
	})
	t.Run("breakpoint on a trapped address", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r3, =0x0C1FE0D9\n blx r3\n bkpt", flashBase), flashBase)
		m.h.trapOK = true
		m.SetBreakpoint(0x0C1FE0D8)
		if s := m.Run(100); s != StopBreakpoint || m.R[15] != 0x0C1FE0D8 || len(m.h.traps) != 0 {
			t.Fatalf("stop %v pc %#x traps %v", s, m.R[15], m.h.traps)
		}
		if s := m.Step(); s != StopBudget || len(m.h.traps) != 1 {
			t.Fatalf("step over trap: %v traps %v", s, m.h.traps)
		}
	})
	t.Run("watchpoint", func(t *testing.T) {
		m := newMachine(assemble(t, "ldr r0, =0x20000100\n movs r1, #1\n str r1, [r0, #4]\n ldr r2, [r0, #8]\n ldrb r3, [r0, #5]\n bkpt", flashBase), flashBase)
		m.SetWatchpoint(0x20000104, 4, false, true)
		if s := m.Run(100); s != StopWatchpoint || m.WatchAddr != 0x20000104 || !m.WatchWrite || m.R[15] != flashBase+6 || word(m.ram, 0x104) != 1 {
			t.Fatalf("stop %v addr %#x write %v pc %#x", s, m.WatchAddr, m.WatchWrite, m.R[15])
		}
		m.ClearWatchpoint(0x20000104, 4)
		m.SetWatchpoint(0x20000105, 1, true, false)
		if s := m.Run(100); s != StopWatchpoint || m.WatchAddr != 0x20000105 || m.WatchWrite || m.R[3] != 0 {
			t.Fatalf("read watch: stop %v addr %#x r3 %d", s, m.WatchAddr, m.R[3])
		}
		m.ClearWatchpoint(0x20000105, 1)
		if s := m.Run(100); s != StopRequested || m.h.bkpt != 1 {
			t.Fatalf("after clearing: %v", s)
		}
	})
}
