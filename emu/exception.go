package emu

import (
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/emu/gdb"
)

// Exception numbers (ARMv8-M ARM, "Exception numbers"). The
// application runs in the non-secure state of a core with the Security
// Extension, so SecureFault (7) is never visible to it.
const (
	excReset      = 1
	excNMI        = 2
	excHardFault  = 3
	excMemManage  = cpu.ExcMemManage
	excBusFault   = cpu.ExcBusFault
	excUsageFault = cpu.ExcUsageFault
	excSVCall     = 11
	excDebugMon   = 12
	excPendSV     = 14
	excSysTick    = 15
	excExternal   = 16 // IRQ n is exception 16+n

	// NumIRQs is the number of external interrupts of the STM32U585
	// (abi.NumIRQs: IRQn 0 to 124).
	NumIRQs = abi.NumIRQs
	numExc  = excExternal + NumIRQs

	// prioBits: the STM32U5 implements 4 of the 8 priority bits
	// (stm32u585xx.h: __NVIC_PRIO_BITS 4); the low bits read as zero.
	prioBits = 4
	prioMask = uint8(0xff << (8 - prioBits) & 0xff)

	// threadPriority is the execution priority with nothing active and no
	// mask: lower than any configurable priority.
	threadPriority = 256
)

// EXC_RETURN values for a non-secure core without an FPU (ARMv8-M ARM
// "EXC_RETURN"): PREFIX 0xFF, bits [23:7] ones, S (bit 6) = 0
// (non-secure stack), DCRS (bit 5) = 1 (callee registers not stacked),
// FType (bit 4) = 1 (no floating-point frame), Mode (bit 3), SPSEL (bit
// 2), bit 1 reserved 0, ES (bit 0) = 0 (taken to non-secure). These are
// the values FreeRTOS's ARM_CM33_NTZ port uses on the non-secure side
// (0xFFFFFFBC for a task on PSP).
const (
	excReturnHandler   = 0xFFFFFFB0
	excReturnThreadMSP = 0xFFFFFFB8
	excReturnThreadPSP = 0xFFFFFFBC

	excReturnES    = 1 << 0
	excReturnSPSEL = 1 << 2
	excReturnMode  = 1 << 3
	excReturnFType = 1 << 4
	excReturnDCRS  = 1 << 5
	excReturnS     = 1 << 6
	// excReturnFixed are the bits that must read as in the values above
	// for a return from a non-secure, no-FPU exception.
	excReturnFixed = 0xFFFFFF80 | excReturnS | excReturnDCRS | excReturnFType | 1<<1 | excReturnES
	excReturnWant  = 0xFFFFFF80 | excReturnDCRS | excReturnFType

	xpsrAlign = 1 << 9  // stacked xPSR bit 9: the frame was realigned to 8 bytes
	xpsrT     = 1 << 24 // EPSR.T: Thumb state; clear, every instruction is INVSTATE
	frameSize = 0x20    // r0-r3, r12, lr, return address, xPSR
)

// excName names exception n for crash reports and traces.
func excName(n int) string {
	switch n {
	case excReset:
		return "Reset"
	case excNMI:
		return "NMI"
	case excHardFault:
		return "HardFault"
	case excMemManage:
		return "MemManage"
	case excBusFault:
		return "BusFault"
	case excUsageFault:
		return "UsageFault"
	case excSVCall:
		return "SVCall"
	case excDebugMon:
		return "DebugMonitor"
	case excPendSV:
		return "PendSV"
	case excSysTick:
		return "SysTick"
	case 0:
		return "Thread"
	}
	if n >= excExternal {
		return fmt.Sprintf("IRQ%d", n-excExternal)
	}
	return fmt.Sprintf("exception %d", n)
}

// exists reports whether exception n is implemented for the non-secure
// application.
func exists(n int) bool {
	switch {
	case n >= excNMI && n <= excUsageFault, n == excSVCall, n == excDebugMon, n == excPendSV, n == excSysTick:
		return true
	}
	return n >= excExternal && n < numExc
}

// priority is exception n's priority: fixed and negative for NMI and
// HardFault, the programmed byte otherwise.
func (m *Machine) priority(n int) int {
	switch n {
	case excReset:
		return -4
	case excNMI:
		return -2
	case excHardFault:
		return -1
	}
	return int(m.prio[n])
}

// group is the group-priority part of priority p under AIRCR.PRIGROUP:
// bits [PRIGROUP:0] are the subpriority (ARMv8-M ARM, AIRCR.PRIGROUP).
func (m *Machine) group(p int) int {
	if p < 0 {
		return p
	}
	return p &^ (2<<m.prigroup - 1)
}

// enabled reports whether exception n may be taken when pending.
func (m *Machine) enabled(n int) bool {
	switch n {
	case excMemManage:
		return m.shcsr&shcsrMemFaultEna != 0
	case excBusFault:
		return m.shcsr&shcsrBusFaultEna != 0
	case excUsageFault:
		return m.shcsr&shcsrUsgFaultEna != 0
	}
	if n >= excExternal {
		return m.irqEnabled[n-excExternal]
	}
	return exists(n)
}

// execPriority is the current execution priority (ARMv8-M ARM
// ExecutionPriority()): the highest group priority of the active
// exceptions, boosted by PRIMASK, BASEPRI and FAULTMASK. primask false
// ignores PRIMASK (WFI wakes for an exception PRIMASK alone holds off).
func (m *Machine) execPriority(primask bool) int {
	p := threadPriority
	for n := excNMI; n < numExc; n++ {
		if m.active[n] {
			if g := m.group(m.priority(n)); g < p {
				p = g
			}
		}
	}
	c := &m.cpu
	if c.BASEPRI != 0 {
		if g := m.group(int(c.BASEPRI)); g < p {
			p = g
		}
	}
	if primask && c.PRIMASK && p > 0 {
		p = 0
	}
	if c.FAULTMASK && p > -1 {
		p = -1
	}
	return p
}

// activeCount is the number of active exceptions.
func (m *Machine) activeCount() int {
	k := 0
	for n := excNMI; n < numExc; n++ {
		if m.active[n] {
			k++
		}
	}
	return k
}

// highestPending returns the pending, enabled exception with the highest
// priority (lowest value, then lowest number), or 0.
func (m *Machine) highestPending() int {
	best, bp := 0, 0
	for n := excNMI; n < numExc; n++ {
		if m.pending[n] && m.enabled(n) {
			if p := m.priority(n); best == 0 || p < bp {
				best, bp = n, p
			}
		}
	}
	return best
}

// preempting returns the pending exception that preempts the current
// execution priority, or 0.
func (m *Machine) preempting(primask bool) int {
	n := m.highestPending()
	if n != 0 && m.group(m.priority(n)) < m.execPriority(primask) {
		return n
	}
	return 0
}

// checkPending takes the highest pending exception if it preempts what
// runs now. The run loop calls it at every instruction boundary where
// pending state, priorities or masks may have changed.
func (m *Machine) checkPending() {
	if n := m.preempting(true); n != 0 {
		m.takeException(n, m.cpu.R[15])
	}
}

// pend makes exception n pending. With SCR.SEVONPEND its transition
// from inactive to pending is a WFE wake-up event (ARMv8-M ARM,
// SCR.SEVONPEND); an exception already pending or active does not
// transition.
func (m *Machine) pend(n int) {
	if !m.pending[n] && !m.active[n] && m.scr&scrSevOnPend != 0 {
		m.cpu.Event = true
	}
	m.pending[n] = true
}

// setPending pends exception n and makes the run loop look at it.
func (m *Machine) setPending(n int) {
	m.pend(n)
	m.kick()
}

// raise takes synchronous exception n (a fault, SVCall, a debug event)
// whose return address is ret, escalating it to HardFault when it is
// disabled or cannot preempt (ARMv8-M ARM, "Priority escalation"), and
// locking up when HardFault itself cannot be taken.
func (m *Machine) raise(n int, ret uint32) {
	if n, ok := m.escalate(n, ret); ok {
		m.takeException(n, ret)
	}
}

// escalate returns the exception a synchronous exception n is taken as:
// n, or HardFault (HFSR.FORCED) when n is disabled or cannot preempt;
// false after a lockup.
func (m *Machine) escalate(n int, ret uint32) (int, bool) {
	if n != excHardFault && (!m.enabled(n) || m.group(m.priority(n)) >= m.execPriority(true)) {
		m.hfsr |= hfsrForced
		n = excHardFault
	}
	if n == excHardFault && m.execPriority(true) <= -1 {
		m.lockup(ret)
		return 0, false
	}
	return n, true
}

// takeException performs exception entry for n (ARMv8-M ARM
// PushStack/ExceptionTaken): stacks the 8-word frame on the stack in use,
// sets LR to EXC_RETURN, switches to Handler mode on MSP and branches to
// the vector. A fault while stacking is a derived exception taken
// instead, with n left pending.
func (m *Machine) takeException(n int, ret uint32) {
	c := &m.cpu
	vector, ok := m.vector(n)
	if !ok {
		m.hfsr |= hfsrVectTbl
		if n == excHardFault || m.execPriority(true) <= -1 {
			m.lockup(ret)
			return
		}
		m.pending[n] = true
		n = excHardFault
		if vector, ok = m.vector(n); !ok {
			m.lockup(ret)
			return
		}
	}
	if m.unhandled(n, vector) {
		m.crashNow(n, ret, fmt.Sprintf("unhandled %s: the vector points at a branch-to-self default handler", excName(n)))
		return
	}

	var excReturn uint32 = excReturnHandler
	if !c.HandlerMode() {
		excReturn = excReturnThreadMSP
		if c.CONTROL&cpu.ControlSPSEL != 0 {
			excReturn = excReturnThreadPSP
		}
	}
	derived := m.pushStack(ret)

	m.pending[n] = false
	m.active[n] = true
	c.IT = 0
	c.ClearExclusive() // ARMv8-M ARM ExceptionTaken: ClearExclusiveLocal
	c.SetMode(uint16(n), c.CONTROL&^cpu.ControlSPSEL)
	c.R[14] = excReturn
	c.R[15] = vector &^ 1
	m.cpu.Event = true
	m.entries++
	if derived != 0 {
		// The frame is not complete: the derived fault preempts the
		// handler before its first instruction (a derived exception).
		m.pending[n], m.active[n] = true, false
		c.SetMode(uint16(m.outerIPSR()), c.CONTROL)
		m.raiseDerived(derived, vector&^1)
		m.faultNote = ""
		return
	}
	if vector&1 == 0 {
		// The handler would run with EPSR.T clear: INVSTATE on its
		// first instruction.
		m.cfsr |= cfsrInvState
		m.raise(excUsageFault, vector)
	}
}

// outerIPSR is the exception number to run in when an entry is abandoned:
// the highest-priority active exception, or 0 (Thread).
func (m *Machine) outerIPSR() int {
	best, bp := 0, threadPriority
	for n := excNMI; n < numExc; n++ {
		if m.active[n] && m.priority(n) < bp {
			best, bp = n, m.priority(n)
		}
	}
	return best
}

// raiseDerived takes a fault found during exception entry or return
// without stacking again (the frame is already where it will be).
func (m *Machine) raiseDerived(n int, ret uint32) {
	c := &m.cpu
	n, ok := m.escalate(n, ret)
	if !ok {
		return
	}
	vector, ok := m.vector(n)
	if !ok {
		m.hfsr |= hfsrVectTbl
		m.lockup(ret)
		return
	}
	if m.unhandled(n, vector) {
		m.crashNow(n, ret, fmt.Sprintf("unhandled %s during exception entry or return", excName(n)))
		return
	}
	m.pending[n] = false
	m.active[n] = true
	c.SetMode(uint16(n), c.CONTROL&^cpu.ControlSPSEL)
	c.R[15] = vector &^ 1
}

// pushStack stacks the caller-saved frame on the current stack and
// returns 0, or the derived exception a stack-limit or bus error raised.
func (m *Machine) pushStack(ret uint32) int {
	c := &m.cpu
	sp := c.R[13]
	align := sp & 4 // v8-M: CCR.STKALIGN is RES1, frames are 8-byte aligned
	frame := (sp - frameSize) &^ 4
	limit := c.MSPLIM
	if c.ActiveSPIsPSP() {
		limit = c.PSPLIM
	}
	if frame < limit && !(m.ccr&ccrStkOfHFNMIGN != 0 && m.execPriority(true) < 0) {
		// ARMv8-M ARM PushStack: stacking stops at the limit, SP is set to
		// it (unless CCR.STKOFHFNMIGN ignores the limit at priority < 0).
		m.cfsr |= cfsrStkOf
		c.R[13] = limit
		return excUsageFault
	}
	xpsr := c.XPSR()&^0x1ff | uint32(c.IPSR)&0x1ff
	if align != 0 {
		xpsr |= xpsrAlign
	}
	words := [8]uint32{c.R[0], c.R[1], c.R[2], c.R[3], c.R[12], c.R[14], ret, xpsr}
	for i, w := range words {
		a := frame + uint32(4*i)
		if g, ok := c.Guarded(a, 4); ok {
			// Stacking into a range Microvisor write-protects: the MPU's
			// MSTKERR (no fault address: MMARVALID stays clear).
			c.R[13] = frame
			m.cfsr |= cfsrMStkErr
			m.faultNote = "exception entry stacked into a protected range " + g.String()
			return excMemManage
		}
		if !m.store32(a, w) {
			// A bus error (nothing there, or read-only memory, as the
			// core treats a store to flash).
			c.R[13] = frame
			m.cfsr |= cfsrStkErr
			return excBusFault
		}
	}
	c.R[13] = frame
	return 0
}

// ExceptionReturn is the cpu.Hooks method for a load of PC with a value
// in 0xF0000000-0xFFFFFFFF in Handler mode (ARMv8-M ARM
// ExceptionReturn/PopStack): integrity checks, deactivation, tail-chaining
// to a pending exception that preempts the return state, or unstacking.
func (m *Machine) ExceptionReturn(c *cpu.CPU, v uint32) {
	if v>>24 != 0xFF {
		// Not an EXC_RETURN: an ordinary branch into the execute-never
		// system region; the fetch faults.
		c.R[15] = v &^ 1
		return
	}
	n := int(c.IPSR)
	toThread := v&excReturnMode != 0
	if v&excReturnFixed != excReturnWant || !m.active[n] || (!toThread && m.activeCount() < 2) {
		// A secure, FP-frame or malformed EXC_RETURN, a return from an
		// exception that is not active, or a return to Handler mode with
		// nothing to return to: INVPC, taken with the EXC_RETURN value as
		// the return address as the architecture does.
		m.cfsr |= cfsrInvPC
		m.raise(excUsageFault, v)
		return
	}
	m.active[n] = false
	if n != excNMI {
		c.FAULTMASK = false
	}
	c.ClearExclusive() // ARMv8-M ARM ExceptionReturn: ClearExclusiveLocal
	m.cpu.Event = true
	m.returns++

	// Tail-chaining: the frame stays; LR keeps the same EXC_RETURN. An
	// exception whose vector cannot be read or whose handler ends the
	// run is not chained: the frame is unstacked first and it is taken
	// from the returned-to state, so the crash report (or the HardFault)
	// shows the interrupted code, not the EXC_RETURN value.
	next := m.preempting(true)
	if next != 0 {
		vector, ok := m.vector(next)
		if !ok || m.unhandled(next, vector) {
			if m.popStack(c, n, v) && m.preempting(true) == next {
				m.takeException(next, c.R[15])
			}
			return
		}
		m.pending[next] = false
		m.active[next] = true
		c.SetMode(uint16(next), c.CONTROL)
		c.R[14] = v
		c.R[15] = vector &^ 1
		m.chains++
		return
	}

	if m.popStack(c, n, v) && toThread && m.scr&scrSleepOnExit != 0 {
		m.sleep(false)
	}
}

// popStack finishes the return from exception n with EXC_RETURN v
// (ARMv8-M ARM PopStack): restores the frame and the mode, or raises the
// fault unstacking or the restored state raised (false).
func (m *Machine) popStack(c *cpu.CPU, n int, v uint32) bool {
	toThread := v&excReturnMode != 0
	usePSP := toThread && v&excReturnSPSEL != 0
	control := c.CONTROL
	if toThread {
		control &^= cpu.ControlSPSEL
		if usePSP {
			control |= cpu.ControlSPSEL
		}
	}
	frame := c.MSP()
	if usePSP {
		frame = c.PSP()
	}
	var w [8]uint32
	for i := range w {
		x, ok := m.load32(frame + uint32(4*i))
		if !ok {
			m.cfsr |= cfsrUnstkErr
			m.active[n] = true
			m.raiseDerived(excBusFault, c.R[15])
			return false
		}
		w[i] = x
	}
	stackedIPSR := int(w[7] & 0x1ff)
	if toThread != (stackedIPSR == 0) {
		// ARMv8-M ARM: the stacked IPSR must agree with the return mode.
		m.cfsr |= cfsrInvPC
		m.active[n] = true
		m.raise(excUsageFault, v)
		return false
	}
	c.R[0], c.R[1], c.R[2], c.R[3], c.R[12], c.R[14] = w[0], w[1], w[2], w[3], w[4], w[5]
	c.R[15] = w[6] &^ 1
	c.SetXPSR(w[7])
	sp := frame + frameSize
	if w[7]&xpsrAlign != 0 {
		sp |= 4
	}
	ipsr := uint16(0)
	if !toThread {
		ipsr = uint16(stackedIPSR)
	}
	c.SetMode(ipsr, control)
	if usePSP {
		c.SetPSP(sp)
	} else {
		c.SetMSP(sp)
	}
	if w[7]&xpsrT == 0 {
		// The return completes with EPSR.T clear: the first instruction
		// of the returned-to code is an INVSTATE UsageFault, its address
		// the return address (ARMv8-M ARM, EPSR.T and exception return).
		m.cfsr |= cfsrInvState
		m.raise(excUsageFault, c.R[15])
		return false
	}
	return true
}

// vector reads exception n's handler address from the table at VTOR.
func (m *Machine) vector(n int) (uint32, bool) {
	return m.load32(m.vtor + uint32(4*n))
}

// unhandled reports whether taking exception n should end the run: its
// handler is one Options.Unhandled marks, or a branch to itself (the
// "b ." of a startup file's Default_Handler), which on silicon spins
// until a watchdog resets the chip.
func (m *Machine) unhandled(n int, vector uint32) bool {
	h := vector &^ 1
	if m.o.Unhandled != nil && m.o.Unhandled(n, h) {
		return true
	}
	hw1, ok1 := m.load16(h)
	hw2, ok2 := m.load16(h + 2)
	return ok1 && hw1 == 0xE7FE || // B . (T2 encoding)
		ok1 && ok2 && hw1 == 0xF7FF && hw2 == 0xBFFE // B.W . (T4 encoding)
}

// SVC is the cpu.Hooks method for an SVC instruction: SVCall, or
// HardFault when SVCall cannot preempt (PRIMASK set, or in a handler of
// equal or higher priority).
func (m *Machine) SVC(c *cpu.CPU, imm uint8) {
	m.raise(excSVCall, c.R[15])
}

// BKPT is the cpu.Hooks method for a BKPT instruction: a stop for an
// attached debugger, a HardFault with HFSR.DEBUGEVT otherwise (ARMv8-M
// ARM C1.4: halting debug disabled and DebugMonitor not enabled).
func (m *Machine) BKPT(c *cpu.CPU, imm uint8) {
	if m.debugStop(gdb.StopBreakpoint) {
		return
	}
	m.hfsr |= hfsrDebugEvt
	m.raise(excHardFault, c.R[15])
}

// Fault is the cpu.Hooks method for a synchronous fault: the CFSR bits
// and fault address register are set and the fault's exception raised.
func (m *Machine) Fault(c *cpu.CPU, f cpu.Fault) {
	bits := f.Kind.CFSR()
	m.cfsr |= bits
	if bits&cfsrBFARValid != 0 {
		m.bfar = f.Addr
	}
	if bits&cfsrMMARValid != 0 {
		m.mmfar = f.Addr
	}
	if g, ok := c.Guarded(f.Addr, 1); ok && f.Kind == cpu.FaultDataAccess {
		m.faultNote = "store into a protected range " + g.String()
	}
	m.raise(f.Kind.Exception(), f.PC)
	m.faultNote = ""
}

// Sleep is the cpu.Hooks method for WFI and WFE.
func (m *Machine) Sleep(c *cpu.CPU, wfe bool) {
	if wfe && m.cpu.Event {
		m.cpu.Event = false
		return
	}
	m.sleep(wfe)
}

// sleep stops the core until an exception (or, for WFE, an event) wakes
// it; the run loop advances virtual time meanwhile.
func (m *Machine) sleep(wfe bool) {
	m.sleeping, m.sleepWFE = true, wfe
	m.kick()
}

// wakes reports whether a sleeping core wakes now: an exception that
// would preempt if PRIMASK were clear, or for WFE the event register
// (SEV, exception entry and return, and with SCR.SEVONPEND an exception
// becoming pending: pend) (ARMv8-M ARM, WFI and WFE wake-up conditions).
func (m *Machine) wakes() bool {
	if m.preempting(false) != 0 {
		return true
	}
	return m.sleepWFE && m.cpu.Event
}

// awaken ends a sleep that wakes allowed; WFE consumes the event (an
// exception taken now sets it again on entry).
func (m *Machine) awaken() {
	if m.sleepWFE {
		m.cpu.Event = false
	}
	m.sleeping = false
}

// lockup: a fault that not even HardFault can take. The run ends with a
// crash report of the state at the fault.
func (m *Machine) lockup(ret uint32) {
	m.crashNow(excHardFault, ret, "lockup: a fault escalated to HardFault while HardFault could not be taken (in HardFault or NMI, or FAULTMASK set)")
}
