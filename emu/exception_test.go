package emu

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/emu/bus"
	"github.com/mvnet/mvnet/emu/cpu"
)

const (
	flashBase = 0x0800_0000
	sramBase  = 0x2000_0000
	stackTop  = 0x2001_0000
	resetPC   = 0x0800_0400
)

// handlerOf is where the test vector table sends exception n.
func handlerOf(n int) uint32 { return flashBase + 0x2000 + 4*uint32(n) }

// newTestMachine builds a machine whose flash holds only a vector table
// (each exception to its own handler address) and is otherwise zero.
func newTestMachine(t *testing.T) *Machine {
	t.Helper()
	flash, sram := make([]byte, 0x10000), make([]byte, 0x10000)
	binary.LittleEndian.PutUint32(flash, stackTop)
	binary.LittleEndian.PutUint32(flash[4:], resetPC|1)
	for n := 2; n < numExc; n++ {
		binary.LittleEndian.PutUint32(flash[4*n:], handlerOf(n)|1)
	}
	m, err := New(Options{Regions: []cpu.Region{
		{Base: flashBase, Data: flash, Exec: true},
		{Base: sramBase, Data: sram, Exec: true, Writable: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *Machine) mustLoad(t *testing.T, addr uint32) uint32 {
	t.Helper()
	v, ok := m.load32(addr)
	if !ok {
		t.Fatalf("load %#x failed", addr)
	}
	return v
}

func scsWrite(t *testing.T, m *Machine, addr uint32, size int, v uint32) {
	t.Helper()
	if !m.bus.Store(addr, size, v) {
		t.Fatalf("store %#x refused", addr)
	}
}

func scsRead(t *testing.T, m *Machine, addr uint32) uint32 {
	t.Helper()
	v, ok := m.bus.Load(addr, 4)
	if !ok {
		t.Fatalf("load %#x refused", addr)
	}
	return v
}

func TestResetState(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	if c.R[13] != stackTop || c.R[15] != resetPC || c.HandlerMode() || c.CONTROL != 0 {
		t.Fatalf("reset: sp %#x pc %#x ipsr %d control %d", c.R[13], c.R[15], c.IPSR, c.CONTROL)
	}
	for addr, want := range map[uint32]uint32{
		0xE000ED00: cpuid, 0xE000ED08: flashBase, 0xE000ED14: ccrReset,
		0xE000ED0C: 0xFA050000, 0xE000E004: 3, 0xE000ED90: 0, // MPU_TYPE: no regions
	} {
		if got := scsRead(t, m, addr); got != want {
			t.Errorf("reset %#x = %#x, want %#x", addr, got, want)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New with no regions succeeded")
	}
	even := make([]byte, 0x100)
	binary.LittleEndian.PutUint32(even[4:], resetPC)
	if _, err := New(Options{Regions: []cpu.Region{{Base: flashBase, Data: even, Exec: true}}}); err == nil || !strings.Contains(err.Error(), "not a Thumb address") {
		t.Errorf("even reset vector: %v", err)
	}
	flash := m.o.Regions[0]
	for _, o := range []Options{
		{Regions: []cpu.Region{flash, {Base: flashBase + 0x100, Data: make([]byte, 16)}}},
		{Regions: []cpu.Region{flash}, Peripherals: []bus.Mapping{{Name: "X", Base: 0xE000E000, Size: 4, Device: razwi{}}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted an overlap", o)
		}
	}
}

// TestEntryAndReturnFrames checks the 8-word frame, EXC_RETURN and the
// realignment bit for an aligned and a misaligned MSP, and that return
// restores every stacked register and the exact SP.
func TestEntryAndReturnFrames(t *testing.T) {
	for _, sp := range []uint32{stackTop - 0x100, stackTop - 0x104} {
		m := newTestMachine(t)
		c := m.CPU()
		c.R[13] = sp
		for i := range 13 {
			c.R[i] = 0x1000 + uint32(i)
		}
		c.R[14], c.R[15] = 0x0800_1235, 0x0800_0500
		c.N, c.C, c.GE = true, true, 5
		m.setPending(excPendSV)
		m.checkPending()
		frame := (sp - frameSize) &^ 4
		if c.IPSR != excPendSV || c.R[15] != handlerOf(excPendSV) || c.R[14] != excReturnThreadMSP || c.R[13] != frame {
			t.Fatalf("sp %#x: after entry ipsr %d pc %#x lr %#x sp %#x (frame %#x)", sp, c.IPSR, c.R[15], c.R[14], c.R[13], frame)
		}
		want := []uint32{0x1000, 0x1001, 0x1002, 0x1003, 0x100c, 0x0800_1235, 0x0800_0500}
		for i, w := range want {
			if got := m.mustLoad(t, frame+4*uint32(i)); got != w {
				t.Errorf("sp %#x: frame word %d = %#x, want %#x", sp, i, got, w)
			}
		}
		xpsr := m.mustLoad(t, frame+28)
		if (xpsr&xpsrAlign != 0) != (sp&4 != 0) || xpsr&(1<<24) == 0 || xpsr>>31 != 1 || xpsr&0x1ff != 0 {
			t.Errorf("sp %#x: stacked xPSR %#x", sp, xpsr)
		}
		// The handler clobbers the caller-saved registers and returns.
		c.R[0], c.R[1], c.R[12], c.N, c.C = 0, 0, 0, false, false
		m.ExceptionReturn(c, c.R[14])
		if c.HandlerMode() || c.R[13] != sp || c.R[15] != 0x0800_0500 || c.R[14] != 0x0800_1235 || c.R[0] != 0x1000 || c.R[12] != 0x100c || !c.N || !c.C || c.GE != 5 {
			t.Errorf("sp %#x: after return ipsr %d sp %#x pc %#x lr %#x r0 %#x", sp, c.IPSR, c.R[13], c.R[15], c.R[14], c.R[0])
		}
		if m.active[excPendSV] || m.pending[excPendSV] {
			t.Error("PendSV still active or pending after return")
		}
	}
}

// TestPSPThread: an exception from Thread mode on PSP stacks on PSP,
// runs the handler on MSP and returns to PSP with EXC_RETURN 0xFFFFFFBC.
func TestPSPThread(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	c.SetPSP(0x2000_8000)
	c.SetMode(0, cpu.ControlSPSEL)
	msp := c.MSP()
	c.R[15] = 0x0800_0600
	m.setPending(excSysTick)
	m.checkPending()
	if c.R[14] != excReturnThreadPSP || c.R[13] != msp || c.PSP() != 0x2000_8000-frameSize || c.CONTROL&cpu.ControlSPSEL != 0 {
		t.Fatalf("entry from PSP: lr %#x sp %#x msp %#x psp %#x control %d", c.R[14], c.R[13], c.MSP(), c.PSP(), c.CONTROL)
	}
	// A context switch: the handler moves PSP to another task's frame.
	other := uint32(0x2000_4000)
	for i, w := range []uint32{7, 0, 0, 0, 0, 0xFFFF_FFFF, 0x0800_0700, 1 << 24} {
		m.store32(other+4*uint32(i), w)
	}
	c.SetPSP(other)
	m.ExceptionReturn(c, excReturnThreadPSP)
	if c.HandlerMode() || !c.ActiveSPIsPSP() || c.R[13] != other+frameSize || c.R[15] != 0x0800_0700 || c.R[0] != 7 || c.MSP() != msp {
		t.Fatalf("return to PSP: ipsr %d sp %#x pc %#x r0 %d msp %#x", c.IPSR, c.R[13], c.R[15], c.R[0], c.MSP())
	}
}

// TestPreemptionAndPriorityGrouping: a pending interrupt preempts only
// with a higher group priority; 4 priority bits are implemented.
func TestPreemptionAndPriorityGrouping(t *testing.T) {
	for _, tc := range []struct {
		prigroup     uint32
		active, next uint8
		preempt      bool
	}{
		{0, 0x80, 0x40, true},
		{0, 0x80, 0x80, false},
		{0, 0x40, 0x80, false},
		{6, 0xC0, 0x80, false}, // group is bit 7 only: both 0x80
		{6, 0xC0, 0x40, true},
		{5, 0xC0, 0x80, true}, // group is bits 7:6
	} {
		m := newTestMachine(t)
		c := m.CPU()
		scsWrite(t, m, 0xE000ED0C, 4, 0x05FA<<16|tc.prigroup<<8)
		scsWrite(t, m, 0xE000E400, 1, uint32(tc.active))
		scsWrite(t, m, 0xE000E401, 1, uint32(tc.next))
		scsWrite(t, m, 0xE000E100, 4, 3)
		m.PendIRQ(0)
		m.takeIRQs()
		m.checkPending()
		if c.IPSR != excExternal {
			t.Fatalf("IRQ0 not taken: ipsr %d", c.IPSR)
		}
		scsWrite(t, m, 0xE000E200, 4, 2) // ISPR: pend IRQ1
		m.checkPending()
		if got := c.IPSR == excExternal+1; got != tc.preempt {
			t.Errorf("prigroup %d active %#x pending %#x: preempted=%v, want %v", tc.prigroup, tc.active, tc.next, got, tc.preempt)
		}
	}
	m := newTestMachine(t)
	scsWrite(t, m, 0xE000E400, 4, 0xFFFFFFFF)
	if got := scsRead(t, m, 0xE000E400); got != 0xF0F0F0F0 {
		t.Errorf("IPR after writing all ones = %#x, want 0xF0F0F0F0 (4 priority bits)", got)
	}
}

// TestTailChainOrder: two interrupts pending at once run back to back
// (tail-chained, no unstacking in between), higher priority first and,
// at equal priority, lower number first.
func TestTailChainOrder(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	scsWrite(t, m, 0xE000E400, 4, 0x00_40_80_40) // IRQ0 0x40, IRQ1 0x80, IRQ2 0x40
	scsWrite(t, m, 0xE000E100, 4, 7)
	scsWrite(t, m, 0xE000ED20, 4, 0xF0<<16) // PendSV lowest
	c.R[15] = 0x0800_0800
	sp := c.R[13]
	for _, n := range []uint32{1, 2, 0} {
		m.PendIRQ(n)
	}
	m.takeIRQs()
	m.setPending(excPendSV)
	var order []int
	m.checkPending()
	for c.HandlerMode() {
		order = append(order, int(c.IPSR))
		if c.R[13] != sp-frameSize {
			t.Fatalf("in %s: sp %#x, want the one frame at %#x", excName(int(c.IPSR)), c.R[13], sp-frameSize)
		}
		m.ExceptionReturn(c, c.R[14])
	}
	want := []int{excExternal, excExternal + 2, excExternal + 1, excPendSV}
	if len(order) != len(want) || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] || order[3] != want[3] {
		t.Fatalf("order %v, want %v", order, want)
	}
	if m.chains != 3 || c.R[13] != sp || c.R[15] != 0x0800_0800 {
		t.Fatalf("chains %d sp %#x pc %#x", m.chains, c.R[13], c.R[15])
	}
}

// TestMasks: PRIMASK holds every configurable exception off, BASEPRI
// those at or below its level, FAULTMASK everything but NMI.
func TestMasks(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	scsWrite(t, m, 0xE000E400, 4, 0x40_80) // IRQ0 0x80, IRQ1 0x40
	scsWrite(t, m, 0xE000E100, 4, 3)
	c.PRIMASK = true
	m.PendIRQ(1)
	m.takeIRQs()
	m.checkPending()
	if c.HandlerMode() {
		t.Fatal("IRQ taken with PRIMASK set")
	}
	if m.preempting(false) == 0 {
		t.Fatal("WFI would not wake for an interrupt PRIMASK holds off")
	}
	c.PRIMASK, c.BASEPRI = false, 0x40
	m.checkPending()
	if c.HandlerMode() {
		t.Fatal("IRQ1 (0x40) taken with BASEPRI 0x40")
	}
	c.BASEPRI = 0x80
	m.checkPending()
	if c.IPSR != excExternal+1 {
		t.Fatalf("IRQ1 not taken with BASEPRI 0x80: ipsr %d", c.IPSR)
	}
	m.ExceptionReturn(c, c.R[14])
	c.BASEPRI, c.FAULTMASK = 0, true
	m.setPending(excNMI)
	m.PendIRQ(0)
	m.takeIRQs()
	m.checkPending()
	if c.IPSR != excNMI {
		t.Fatalf("NMI not taken under FAULTMASK: ipsr %d", c.IPSR)
	}
	m.ExceptionReturn(c, c.R[14])
	if !c.FAULTMASK {
		t.Fatal("return from NMI cleared FAULTMASK")
	}
	m.checkPending()
	if c.HandlerMode() {
		t.Fatal("IRQ0 taken with FAULTMASK set")
	}
}

// TestFaultEscalation: a UsageFault with UsageFault disabled, or an SVC
// with PRIMASK set, becomes a HardFault with HFSR.FORCED; with it enabled
// the UsageFault handler runs; a fault in HardFault locks up.
func TestFaultEscalation(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	c.R[15] = 0x0800_0900
	m.Fault(c, cpu.Fault{Kind: cpu.FaultUndefined, PC: 0x0800_0900})
	if c.IPSR != excHardFault || m.hfsr&hfsrForced == 0 || m.cfsr&cfsrUndefInstr == 0 {
		t.Fatalf("disabled UsageFault: ipsr %d hfsr %#x cfsr %#x", c.IPSR, m.hfsr, m.cfsr)
	}
	if got := m.mustLoad(t, c.R[13]+24); got != 0x0800_0900 {
		t.Fatalf("stacked return address %#x, want the faulting instruction", got)
	}
	if scsRead(t, m, 0xE000ED2C) != hfsrForced || scsRead(t, m, 0xE000ED28) != cfsrUndefInstr {
		t.Fatal("HFSR/CFSR not visible in the SCS")
	}
	scsWrite(t, m, 0xE000ED28, 4, cfsrUndefInstr)
	if m.cfsr != 0 {
		t.Fatalf("CFSR write-one-to-clear left %#x", m.cfsr)
	}
	// A fault inside HardFault: lockup, reported as a crash.
	m.Fault(c, cpu.Fault{Kind: cpu.FaultPreciseData, PC: handlerOf(excHardFault), Addr: 0x6000_0000})
	var k *Crash
	if m.crash == nil || !errors.As(error(m.crash), &k) || !strings.Contains(k.Reason, "lockup") || k.BFAR != 0x6000_0000 {
		t.Fatalf("no lockup crash: %+v", m.crash)
	}
	if r := k.Report(); !strings.Contains(r, "PRECISERR") || !strings.Contains(r, "BFAR): 0x60000000") {
		t.Errorf("crash report lacks the decoded fault:\n%s", r)
	}

	m = newTestMachine(t)
	c = m.CPU()
	scsWrite(t, m, 0xE000ED24, 4, shcsrUsgFaultEna)
	m.Fault(c, cpu.Fault{Kind: cpu.FaultDivByZero, PC: 0x0800_0a00})
	if c.IPSR != excUsageFault || m.hfsr != 0 || scsRead(t, m, 0xE000ED24)&shcsrUsgFaultAct == 0 {
		t.Fatalf("enabled UsageFault: ipsr %d hfsr %#x", c.IPSR, m.hfsr)
	}

	m = newTestMachine(t)
	c = m.CPU()
	c.PRIMASK = true
	c.R[15] = 0x0800_0b02
	m.SVC(c, 0)
	if c.IPSR != excHardFault || m.hfsr&hfsrForced == 0 {
		t.Fatalf("SVC under PRIMASK: ipsr %d hfsr %#x", c.IPSR, m.hfsr)
	}
}

// TestUnhandledDefaultHandler: a fault whose handler is "b ." ends the
// run with a crash in the faulting state instead of spinning.
func TestUnhandledDefaultHandler(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	binary.LittleEndian.PutUint16(m.o.Regions[0].Data[handlerOf(excHardFault)-flashBase:], 0xE7FE)
	c.R[15] = 0x0800_0c00
	sp := c.R[13]
	m.Fault(c, cpu.Fault{Kind: cpu.FaultDataAccess, PC: 0x0800_0c00, Addr: 0x0800_0000})
	if m.crash == nil || m.crash.Exception != excHardFault || m.crash.PC != 0x0800_0c00 || m.crash.MMFAR != 0x0800_0000 {
		t.Fatalf("crash %+v", m.crash)
	}
	if c.HandlerMode() || c.R[13] != sp {
		t.Fatal("the crash changed the state it reports")
	}

	// B.W . (a 32-bit branch to itself) as the UsageFault handler.
	m = newTestMachine(t)
	c = m.CPU()
	h := m.o.Regions[0].Data[handlerOf(excUsageFault)-flashBase:]
	binary.LittleEndian.PutUint16(h, 0xF7FF)
	binary.LittleEndian.PutUint16(h[2:], 0xBFFE)
	scsWrite(t, m, 0xE000ED24, 4, shcsrUsgFaultEna)
	m.Fault(c, cpu.Fault{Kind: cpu.FaultUndefined, PC: 0x0800_0c00})
	if m.crash == nil || m.crash.Exception != excUsageFault {
		t.Fatalf("b.w . handler: crash %+v", m.crash)
	}

	// Options.Unhandled marks a handler that does not spin.
	m = newTestMachine(t)
	m.o.Unhandled = func(exc int, handler uint32) bool { return exc == excPendSV && handler == handlerOf(excPendSV) }
	m.setPending(excSysTick)
	m.checkPending()
	if m.crash != nil {
		t.Fatal("SysTick reported unhandled")
	}
	m.setPending(excPendSV)
	m.ExceptionReturn(m.CPU(), m.CPU().R[14]) // tail-chains into PendSV
	if m.crash == nil || m.crash.Exception != excPendSV {
		t.Fatalf("PendSV marked unhandled: crash %+v", m.crash)
	}
}

// TestBadExcReturn: a secure-state EXC_RETURN (what a non-TrustZone port
// would use) from a non-secure handler is an INVPC UsageFault.
func TestBadExcReturn(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	m.setPending(excPendSV)
	m.checkPending()
	m.ExceptionReturn(c, 0xFFFFFFFD)
	if m.cfsr&cfsrInvPC == 0 || c.IPSR != excHardFault {
		t.Fatalf("EXC_RETURN 0xFFFFFFFD: cfsr %#x ipsr %d", m.cfsr, c.IPSR)
	}
}

// TestICSRAndSTIR: PendSV and SysTick pend through ICSR, IRQs through
// STIR; VECTPENDING and ISRPENDING report them.
func TestICSRAndSTIR(t *testing.T) {
	m := newTestMachine(t)
	scsWrite(t, m, 0xE000ED04, 4, icsrPendSVSet)
	if !m.pending[excPendSV] || scsRead(t, m, 0xE000ED04)&icsrPendSVSet == 0 {
		t.Fatal("PENDSVSET")
	}
	scsWrite(t, m, 0xE000ED04, 4, icsrPendSVClr)
	scsWrite(t, m, 0xE000EF00, 4, 5)
	scsWrite(t, m, 0xE000E100, 4, 1<<5)
	v := scsRead(t, m, 0xE000ED04)
	if v&icsrIsrPending == 0 || (v>>12)&0x1ff != excExternal+5 {
		t.Fatalf("ICSR %#x after STIR 5", v)
	}
	if scsRead(t, m, 0xE000E200) != 1<<5 {
		t.Fatal("ISPR does not show IRQ5")
	}
	// Unprivileged Thread mode: the SCS is a bus error.
	m.cpu.CONTROL = cpu.ControlNPRIV
	if _, ok := m.bus.Load(0xE000ED00, 4); ok {
		t.Fatal("unprivileged CPUID read allowed")
	}
}

// TestStackingFaults: a bus error while stacking (STKERR), a frame below
// MSPLIM (STKOF: SP stops at the limit) and a bus error while unstacking
// (UNSTKERR) are derived faults, escalated to HardFault here, with the
// interrupted exception left pending.
func TestStackingFaults(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	c.R[13] = 0x3000_0000 // nothing there
	m.setPending(excPendSV)
	m.checkPending()
	if c.IPSR != excHardFault || m.cfsr != cfsrStkErr || m.hfsr != hfsrForced || !m.pending[excPendSV] || m.active[excPendSV] {
		t.Fatalf("STKERR: ipsr %d cfsr %#x hfsr %#x pendsv pending %v", c.IPSR, m.cfsr, m.hfsr, m.pending[excPendSV])
	}

	m = newTestMachine(t)
	c = m.CPU()
	c.MSPLIM = stackTop - 0x10
	m.setPending(excPendSV)
	m.checkPending()
	if c.IPSR != excHardFault || m.cfsr != cfsrStkOf || c.R[13] != c.MSPLIM {
		t.Fatalf("STKOF on entry: ipsr %d cfsr %#x sp %#x", c.IPSR, m.cfsr, c.R[13])
	}

	m = newTestMachine(t)
	c = m.CPU()
	c.SetPSP(0x2000_8000)
	c.SetMode(0, cpu.ControlSPSEL)
	m.setPending(excPendSV)
	m.checkPending()
	c.SetPSP(0x3000_0000) // the handler broke PSP
	m.ExceptionReturn(c, c.R[14])
	if c.IPSR != excHardFault || m.cfsr != cfsrUnstkErr || m.hfsr != hfsrForced {
		t.Fatalf("UNSTKERR: ipsr %d cfsr %#x hfsr %#x", c.IPSR, m.cfsr, m.hfsr)
	}
}

// CCR.STKOFHFNMIGN: exception entry at a negative execution priority
// (NMI taken with FAULTMASK set) stacks below the stack limit without a
// STKOF; with the bit clear the limit holds.
func TestStackLimitIgnoredAtNegativePriority(t *testing.T) {
	for _, ignore := range []bool{true, false} {
		m := newTestMachine(t)
		c := m.CPU()
		if ignore {
			scsWrite(t, m, 0xE000ED14, 4, ccrReset|ccrStkOfHFNMIGN)
		}
		c.FAULTMASK = true
		c.MSPLIM = stackTop - 0x10
		m.setPending(excNMI)
		m.checkPending()
		if ignore && (c.IPSR != excNMI || m.cfsr != 0 || c.R[13] != stackTop-32) {
			t.Fatalf("STKOFHFNMIGN set: ipsr %d cfsr %#x sp %#x", c.IPSR, m.cfsr, c.R[13])
		}
		if !ignore && m.cfsr&cfsrStkOf == 0 {
			t.Fatalf("STKOFHFNMIGN clear: cfsr %#x, want STKOF", m.cfsr)
		}
	}
}

// TestSCSRegisters: AIRCR ignores writes without VECTKEY, SHPR and CCR
// keep only their implemented bits, IABR shows active interrupts, SHCSR's
// active bits follow the exception state and its read-only ones stay.
func TestSCSRegisters(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	scsWrite(t, m, 0xE000ED0C, 4, 5<<8) // no key
	if m.prigroup != 0 {
		t.Fatal("AIRCR written without VECTKEY")
	}
	scsWrite(t, m, 0xE000ED0C, 2, 0x05FA) // halfword: ignored
	scsWrite(t, m, 0xE000ED23, 1, 0xFF)   // SHPR3 byte 3: SysTick
	scsWrite(t, m, 0xE000ED1B, 1, 0xFF)   // SHPR1 byte 3: SecureFault, not implemented
	if v := scsRead(t, m, 0xE000ED20); v != 0xF0000000 {
		t.Fatalf("SHPR3 %#x", v)
	}
	if v := scsRead(t, m, 0xE000ED18); v != 0 {
		t.Fatalf("SHPR1 %#x", v)
	}
	scsWrite(t, m, 0xE000ED14, 4, 0xFFFFFFFF)
	if v := scsRead(t, m, 0xE000ED14); v != ccrReset|ccrUnalignTrp|ccrDiv0Trp|ccrBFHFNMIGN|ccrStkOfHFNMIGN|1<<1 {
		t.Fatalf("CCR %#x", v)
	}
	if !c.DivByZeroTrap || !c.UnalignedTrap || !c.BusFaultIgnoreNeg || !c.StackLimitIgnoreNeg {
		t.Fatal("CCR traps and ignores not passed to the core")
	}
	scsWrite(t, m, 0xE000E104, 4, 1) // ISER1: IRQ32
	m.PendIRQ(32)
	m.takeIRQs()
	m.checkPending()
	if scsRead(t, m, 0xE000E304) != 1 || scsRead(t, m, 0xE000ED04)&0x1ff != excExternal+32 {
		t.Fatal("IABR1/VECTACTIVE do not show IRQ32 active")
	}
	m.setPending(excSVCall)
	scsWrite(t, m, 0xE000ED24, 4, scsRead(t, m, 0xE000ED24)|shcsrHardFaultAct|shcsrUsgFaultEna)
	v := scsRead(t, m, 0xE000ED24)
	if v&shcsrSVCallPend == 0 || v&shcsrHardFaultAct != 0 || v&shcsrUsgFaultEna == 0 {
		t.Fatalf("SHCSR %#x", v)
	}
	if _, ok := m.bus.Load(0xE000ED02, 4); ok {
		t.Fatal("unaligned SCS word read allowed")
	}
}

// TestBKPTAndSVCEscalation: BKPT without a debugger is a HardFault with
// HFSR.DEBUGEVT; SVC from a handler at SVCall's priority escalates.
func TestBKPTAndSVCEscalation(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	m.BKPT(c, 0)
	if c.IPSR != excHardFault || m.hfsr != hfsrDebugEvt {
		t.Fatalf("BKPT: ipsr %d hfsr %#x", c.IPSR, m.hfsr)
	}
	m = newTestMachine(t)
	c = m.CPU()
	m.setPending(excPendSV) // PendSV and SVCall both at priority 0
	m.checkPending()
	m.SVC(c, 1)
	if c.IPSR != excHardFault || m.hfsr != hfsrForced {
		t.Fatalf("SVC in PendSV: ipsr %d hfsr %#x", c.IPSR, m.hfsr)
	}
}

// TestSleepAndEvents: WFE returns at once when the event register is set
// (an exception entry or return sets it); WFI sleeps until an enabled
// interrupt is pending; SLEEPONEXIT sleeps on return to Thread mode.
func TestSleepAndEvents(t *testing.T) {
	m := newTestMachine(t)
	c := m.CPU()
	m.setPending(excPendSV)
	m.checkPending()
	m.ExceptionReturn(c, c.R[14])
	m.Sleep(c, true)
	if m.sleeping {
		t.Fatal("WFE slept with the event register set by the exception return")
	}
	m.Sleep(c, true)
	if !m.sleeping || m.wakes() {
		t.Fatal("second WFE did not sleep")
	}
	scsWrite(t, m, 0xE000E100, 4, 1)
	m.PendIRQ(0)
	m.takeIRQs()
	if !m.wakes() {
		t.Fatal("an enabled pending IRQ does not wake WFE")
	}
	m.sleeping = false
	m.checkPending()
	scsWrite(t, m, 0xE000ED10, 4, scrSleepOnExit)
	m.ExceptionReturn(c, c.R[14])
	if !m.sleeping || c.HandlerMode() {
		t.Fatal("SLEEPONEXIT: not asleep after returning to Thread mode")
	}
}

// TestTraceUnmodelled: the first access to each register the machine
// accepts without modelling is traced, once; debugger reads are not.
func TestTraceUnmodelled(t *testing.T) {
	m := newTestMachine(t)
	var lines []string
	m.o.Trace = func(l string) { lines = append(lines, l) }
	scsWrite(t, m, 0xE000ED94, 4, 5) // MPU_CTRL
	scsWrite(t, m, 0xE000ED94, 4, 7)
	scsRead(t, m, 0xE000ED88)        // CPACR
	scsWrite(t, m, 0xE0000000, 4, 1) // ITM stimulus port 0
	m.debugRead(0xE000ED9C, make([]byte, 4))
	scsRead(t, m, 0xE000ED00) // CPUID: modelled
	want := []string{
		"MPU_CTRL (0xe000ed94) written 0x5: not modelled, ignored",
		"CPACR (0xe000ed88) read: not modelled, reads as zero",
		"register 0xe0000000 written 0x1: not modelled, ignored",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("trace:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
