package emu

import (
	"fmt"

	"github.com/mvnet/mvnet/emu/cpu"
)

// The system control space at 0xE000E000 (ARMv8-M ARM, "System
// control space"; Cortex-M33 TRM): NVIC, SCB, SysTick, and the MPU and
// debug registers accepted as RAZ/WI (the machine models no MPU: MPU_TYPE
// reads 0, no regions). Registers are word registers unless noted; byte
// and halfword accesses are allowed where the architecture allows them
// (IPR, SHPR, CFSR) and handled as a masked word access elsewhere.

const (
	scsBase = 0xE000E000
	scsSize = 0x1000
	ppbBase = 0xE0000000 // private peripheral bus: ITM, FPB, TPIU ... RAZ/WI
	ppbEnd  = 0xE0100000
	dwtBase = 0xE0001000 // data watchpoint and trace unit: CTRL, CYCCNT
	dwtSize = 0x1000

	offICTR   = 0x004
	offACTLR  = 0x008
	offSysCSR = 0x010
	offSysRVR = 0x014
	offSysCVR = 0x018
	offCALIB  = 0x01C
	offISER   = 0x100
	offICER   = 0x180
	offISPR   = 0x200
	offICPR   = 0x280
	offIABR   = 0x300
	offITNS   = 0x380
	offIPR    = 0x400
	offCPUID  = 0xD00
	offICSR   = 0xD04
	offVTOR   = 0xD08
	offAIRCR  = 0xD0C
	offSCR    = 0xD10
	offCCR    = 0xD14
	offSHPR   = 0xD18 // SHPR1..3: bytes for exceptions 4..15
	offSHCSR  = 0xD24
	offCFSR   = 0xD28
	offHFSR   = 0xD2C
	offDFSR   = 0xD30
	offMMFAR  = 0xD34
	offBFAR   = 0xD38
	offCPACR  = 0xD88
	offDEMCR  = 0xDFC
	offSTIR   = 0xF00

	// cpuid: Cortex-M33 (implementer 0x41 Arm, architecture 0xF, part
	// 0xD21) revision r0p4, the core of the STM32U5 (RM0456 "CPUID").
	cpuid = 0x410FD214
	// ictr: INTLINESNUM = ceil(125/32) - 1.
	ictr = (NumIRQs+31)/32 - 1

	// ccrReset: v8-M Mainline CCR at reset: STKALIGN (bit 9) and bit 0
	// are RES1; DIV_0_TRP, UNALIGN_TRP, BFHFNMIGN and STKOFHFNMIGN are 0.
	ccrReset      = 1<<9 | 1<<0
	ccrUnalignTrp = 1 << 3
	ccrDiv0Trp    = 1 << 4
	// ccrBFHFNMIGN (bit 8): at priority -1/-2 (HardFault, NMI, FAULTMASK)
	// loads and stores ignore precise BusFaults; ccrStkOfHFNMIGN (bit
	// 10): there stack-limit violations are ignored.
	ccrBFHFNMIGN    = 1 << 8
	ccrStkOfHFNMIGN = 1 << 10
	ccrWritable     = ccrUnalignTrp | ccrDiv0Trp | ccrBFHFNMIGN | ccrStkOfHFNMIGN | 1<<1 // USERSETMPEND

	scrSleepOnExit = 1 << 1
	scrSleepDeep   = 1 << 2
	scrSevOnPend   = 1 << 4
	scrWritable    = scrSleepOnExit | scrSleepDeep | scrSevOnPend

	aircrVectKey    = 0x05FA
	aircrVectKeyRd  = 0xFA05
	aircrSysResetRq = 1 << 2

	icsrPendSTClr  = 1 << 25
	icsrPendSTSet  = 1 << 26
	icsrPendSVClr  = 1 << 27
	icsrPendSVSet  = 1 << 28
	icsrPendNMISet = 1 << 31
	icsrPendNMIClr = 1 << 30
	icsrIsrPending = 1 << 22
	icsrRetToBase  = 1 << 11

	shcsrMemFaultAct  = 1 << 0
	shcsrBusFaultAct  = 1 << 1
	shcsrHardFaultAct = 1 << 2
	shcsrUsgFaultAct  = 1 << 3
	shcsrNMIAct       = 1 << 5
	shcsrSVCallAct    = 1 << 7
	shcsrMonitorAct   = 1 << 8
	shcsrPendSVAct    = 1 << 10
	shcsrSysTickAct   = 1 << 11
	shcsrUsgFaultPend = 1 << 12
	shcsrMemFaultPend = 1 << 13
	shcsrBusFaultPend = 1 << 14
	shcsrSVCallPend   = 1 << 15
	shcsrMemFaultEna  = 1 << 16
	shcsrBusFaultEna  = 1 << 17
	shcsrUsgFaultEna  = 1 << 18
	shcsrHardFaultPnd = 1 << 21

	// CFSR = MMFSR | BFSR<<8 | UFSR<<16. The bits the core's faults set
	// are emu/cpu's (FaultKind.CFSR, one table with the conformance
	// harness); the others are the exception model's own.
	cfsrIAccViol   = cpu.CFSRIAccViol
	cfsrDAccViol   = cpu.CFSRDAccViol
	cfsrMUnstkErr  = 1 << 3
	cfsrMStkErr    = 1 << 4
	cfsrMMARValid  = cpu.CFSRMMARValid
	cfsrIBusErr    = cpu.CFSRIBusErr
	cfsrPreciseErr = cpu.CFSRPreciseErr
	cfsrImprecise  = 1 << 10
	cfsrUnstkErr   = 1 << 11
	cfsrStkErr     = 1 << 12
	cfsrBFARValid  = cpu.CFSRBFARValid
	cfsrUndefInstr = cpu.CFSRUndefInstr
	cfsrInvState   = cpu.CFSRInvState
	cfsrInvPC      = cpu.CFSRInvPC
	cfsrNoCP       = cpu.CFSRNoCP
	cfsrStkOf      = cpu.CFSRStkOf
	cfsrUnaligned  = cpu.CFSRUnaligned
	cfsrDivByZero  = cpu.CFSRDivByZero

	hfsrVectTbl  = 1 << 1
	hfsrForced   = 1 << 30
	hfsrDebugEvt = 1 << 31
)

// shcsrBits ties SHCSR's active and pending bits to exception numbers.
var shcsrBits = []struct {
	bit     uint32
	n       int
	pending bool
}{
	{shcsrMemFaultAct, excMemManage, false}, {shcsrBusFaultAct, excBusFault, false},
	{shcsrHardFaultAct, excHardFault, false}, {shcsrUsgFaultAct, excUsageFault, false},
	{shcsrNMIAct, excNMI, false}, {shcsrSVCallAct, excSVCall, false},
	{shcsrMonitorAct, excDebugMon, false}, {shcsrPendSVAct, excPendSV, false},
	{shcsrSysTickAct, excSysTick, false},
	{shcsrUsgFaultPend, excUsageFault, true}, {shcsrMemFaultPend, excMemManage, true},
	{shcsrBusFaultPend, excBusFault, true}, {shcsrSVCallPend, excSVCall, true},
	{shcsrHardFaultPnd, excHardFault, true},
}

const shcsrEnables = shcsrMemFaultEna | shcsrBusFaultEna | shcsrUsgFaultEna

// scs is the system control space device.
type scs struct{ m *Machine }

// privileged reports whether the access comes from privileged code (or
// the debugger): unprivileged SCS accesses are bus errors (ARMv8-M ARM
// SCS), except STIR with CCR.USERSETMPEND.
func (s scs) privileged() bool {
	c := &s.m.cpu
	return s.m.debugAccess || c.HandlerMode() || c.CONTROL&1 == 0
}

func (s scs) Load(off uint32, size int) (uint32, bool) { return s.load(off, size, false) }

// Peek reads without side effects (SYST_CSR.COUNTFLAG is not cleared).
func (s scs) Peek(off uint32, size int) (uint32, bool) { return s.load(off, size, true) }

func (s scs) load(off uint32, size int, peek bool) (uint32, bool) {
	if off%uint32(size) != 0 || !s.privileged() {
		return 0, false
	}
	w, ok := s.word(off&^3, peek)
	if !ok {
		return 0, false
	}
	sh := (off & 3) * 8
	return (w >> sh) & (1<<(8*uint(size)) - 1), true
}

func (s scs) Store(off uint32, size int, v uint32) bool {
	if off%uint32(size) != 0 {
		return false
	}
	if !s.privileged() && !(off == offSTIR && s.m.ccr&(1<<1) != 0) {
		return false
	}
	sh := (off & 3) * 8
	mask := uint32(1<<(8*uint(size))-1) << sh
	return s.store(off&^3, v<<sh, mask)
}

// word reads the 32-bit register at the aligned offset.
func (s scs) word(off uint32, peek bool) (uint32, bool) {
	m := s.m
	switch {
	case off == offICTR:
		return ictr, true
	case off == offSysCSR:
		return m.systick.csr(m, peek), true
	case off == offSysRVR:
		return m.systick.rvr, true
	case off == offSysCVR:
		return m.systick.value(m), true
	case off == offCALIB:
		return m.systick.calib(m), true
	case off >= offISER && off < offISER+0x40:
		return m.irqBits(off-offISER, func(i int) bool { return m.irqEnabled[i] }), true
	case off >= offICER && off < offICER+0x40:
		return m.irqBits(off-offICER, func(i int) bool { return m.irqEnabled[i] }), true
	case off >= offISPR && off < offISPR+0x40:
		return m.irqBits(off-offISPR, func(i int) bool { return m.pending[excExternal+i] }), true
	case off >= offICPR && off < offICPR+0x40:
		return m.irqBits(off-offICPR, func(i int) bool { return m.pending[excExternal+i] }), true
	case off >= offIABR && off < offIABR+0x40:
		return m.irqBits(off-offIABR, func(i int) bool { return m.active[excExternal+i] }), true
	case off >= offIPR && off < offIPR+0x200:
		var w uint32
		for b := uint32(0); b < 4; b++ {
			if i := int(off-offIPR+b) + excExternal; i < numExc {
				w |= uint32(m.prio[i]) << (8 * b)
			}
		}
		return w, true
	case off == offCPUID:
		return cpuid, true
	case off == offICSR:
		return m.icsr(), true
	case off == offVTOR:
		return m.vtor, true
	case off == offAIRCR:
		return aircrVectKeyRd<<16 | uint32(m.prigroup)<<8, true
	case off == offSCR:
		return m.scr, true
	case off == offCCR:
		return m.ccr, true
	case off >= offSHPR && off < offSHPR+12:
		var w uint32
		for b := uint32(0); b < 4; b++ {
			w |= uint32(m.prio[int(off-offSHPR+b)+excMemManage]) << (8 * b)
		}
		return w, true
	case off == offSHCSR:
		return m.shcsrValue(), true
	case off == offCFSR:
		return m.cfsr, true
	case off == offHFSR:
		return m.hfsr, true
	case off == offMMFAR:
		return m.mmfar, true
	case off == offBFAR:
		return m.bfar, true
	case off == offDEMCR:
		return m.demcr, true
	case off == offSTIR:
		return 0, true // write-only
	}
	// ACTLR, ITNS (non-secure: RAZ/WI), DFSR, AFSR, ID registers, CPACR
	// (no FPU: CP10/CP11 RAZ/WI), NSACR, the MPU (MPU_TYPE = 0: no
	// regions), SAU, debug and FP control: read as zero.
	m.unmodelled(scsBase+off, false, 0)
	return 0, true
}

// store writes the bits of v selected by mask to the aligned register.
func (s scs) store(off, v, mask uint32) bool {
	m := s.m
	set := v & mask
	switch {
	case off == offSysCSR:
		m.systick.setCSR(m, v, mask)
	case off == offSysRVR:
		m.systick.setRVR(m, (m.systick.rvr&^mask|set)&0xFFFFFF)
	case off == offSysCVR:
		m.systick.clear(m)
	case off >= offISER && off < offISER+0x40:
		m.irqSet(off-offISER, set, func(i int) { m.irqEnabled[i] = true })
	case off >= offICER && off < offICER+0x40:
		m.irqSet(off-offICER, set, func(i int) { m.irqEnabled[i] = false })
	case off >= offISPR && off < offISPR+0x40:
		m.irqSet(off-offISPR, set, func(i int) { m.pend(excExternal + i) })
	case off >= offICPR && off < offICPR+0x40:
		m.irqSet(off-offICPR, set, func(i int) { m.pending[excExternal+i] = false })
	case off >= offIPR && off < offIPR+0x200:
		for b := uint32(0); b < 4; b++ {
			if i := int(off-offIPR+b) + excExternal; i < numExc && mask>>(8*b)&0xff != 0 {
				m.prio[i] = uint8(v>>(8*b)) & prioMask
			}
		}
	case off == offICSR:
		m.setICSR(set)
	case off == offVTOR:
		m.vtor = (m.vtor&^mask | set) &^ 0x7F // TBLOFF is bits [31:7]
	case off == offAIRCR:
		if mask == 0xFFFFFFFF && v>>16 == aircrVectKey {
			m.prigroup = uint8(v>>8) & 7
			if v&aircrSysResetRq != 0 {
				m.resetRequested = true
			}
		}
	case off == offSCR:
		m.scr = (m.scr&^mask | set) & scrWritable
	case off == offCCR:
		m.ccr = m.ccr&^(mask&ccrWritable) | set&ccrWritable
		m.ccrChanged()
	case off >= offSHPR && off < offSHPR+12:
		for b := uint32(0); b < 4; b++ {
			n := int(off-offSHPR+b) + excMemManage
			if mask>>(8*b)&0xff != 0 && exists(n) && n != excHardFault {
				m.prio[n] = uint8(v>>(8*b)) & prioMask
			}
		}
	case off == offSHCSR:
		m.setSHCSR(m.shcsrValue()&^mask | set)
	case off == offCFSR:
		m.cfsr &^= set // write one to clear
	case off == offHFSR:
		m.hfsr &^= set
	case off == offMMFAR:
		m.mmfar = m.mmfar&^mask | set
	case off == offBFAR:
		m.bfar = m.bfar&^mask | set
	case off == offDEMCR:
		cyc := dwt{m}.cyccnt()
		m.demcr = (m.demcr&^mask | set) & (demcrTrcEna | 0xF<<16) // TRCENA, MON_*
		m.cyccnt, m.cycBase = cyc, m.cycles()
	case off == offSTIR:
		if i := int(set & 0x1FF); i < NumIRQs {
			m.pend(excExternal + i)
		}
	case off >= offIABR && off < offIABR+0x40, off == offCPUID, off == offICTR, off == offCALIB:
		// read-only
	default:
		m.unmodelled(scsBase+off, true, set)
	}
	m.kick() // pending state, enables, priorities may have changed
	return true
}

// dwt is the data watchpoint and trace unit, modelled as far as
// software uses it to count cycles (ARMv8-M ARM, DWT): DWT_CTRL.CYCCNTENA
// and DWT_CYCCNT, counting the virtual clock's cycles while
// DEMCR.TRCENA and CYCCNTENA are set. The comparators are not modelled
// (NUMCOMP reads 0); the other registers read as zero.
type dwt struct{ m *Machine }

const (
	dwtCtrl     = 0x000
	dwtCyccnt   = 0x004
	demcrTrcEna = 1 << 24
)

func (d dwt) counting() bool {
	return d.m.dwtCtrl&1 != 0 && d.m.demcr&demcrTrcEna != 0
}

func (d dwt) cyccnt() uint32 {
	if d.counting() {
		return d.m.cyccnt + uint32(d.m.cycles()-d.m.cycBase)
	}
	return d.m.cyccnt
}

func (d dwt) Load(off uint32, size int) (uint32, bool) {
	if size != 4 || off%4 != 0 {
		return 0, false
	}
	switch off {
	case dwtCtrl:
		return d.m.dwtCtrl, true
	case dwtCyccnt:
		return d.cyccnt(), true
	}
	return 0, true
}

func (d dwt) Store(off uint32, size int, v uint32) bool {
	if size != 4 || off%4 != 0 {
		return false
	}
	m := d.m
	switch off {
	case dwtCtrl:
		m.cyccnt, m.cycBase = d.cyccnt(), m.cycles()
		m.dwtCtrl = v & 1 // CYCCNTENA; the rest are not modelled
	case dwtCyccnt:
		m.cyccnt, m.cycBase = v, m.cycles()
	}
	return true
}

// scsNames names the registers the machine accepts without modelling,
// for the trace.
var scsNames = map[uint32]string{
	0xE000E008: "ACTLR", 0xE000ED88: "CPACR", 0xE000ED8C: "NSACR", 0xE000ED30: "DFSR",
	0xE000ED3C: "AFSR", 0xE000ED90: "MPU_TYPE", 0xE000ED94: "MPU_CTRL", 0xE000ED98: "MPU_RNR",
	0xE000ED9C: "MPU_RBAR", 0xE000EDA0: "MPU_RLAR", 0xE000EDC0: "MPU_MAIR0", 0xE000EDC4: "MPU_MAIR1",
	0xE000EF34: "FPCCR", 0xE000EF38: "FPCAR", 0xE000EF3C: "FPDSCR", 0xE000EDF0: "DHCSR",
}

// unmodelled traces the first access to each register the machine
// accepts without modelling (read as zero, writes ignored), as the
// peripheral models do for theirs. Debugger accesses are not traced.
func (m *Machine) unmodelled(addr uint32, write bool, v uint32) {
	if m.o.Trace == nil || m.debugAccess || m.traced[addr] {
		return
	}
	name := scsNames[addr]
	if name == "" {
		name = fmt.Sprintf("register %#08x", addr)
	} else {
		name = fmt.Sprintf("%s (%#08x)", name, addr)
	}
	if write {
		m.traceOnce(addr, fmt.Sprintf("%s written %#x: not modelled, ignored", name, v))
	} else {
		m.traceOnce(addr, fmt.Sprintf("%s read: not modelled, reads as zero", name))
	}
}

// traceOnce traces line, the first time only for register addr, and
// not for a debugger's accesses.
func (m *Machine) traceOnce(addr uint32, line string) {
	if m.o.Trace == nil || m.debugAccess || m.traced[addr] {
		return
	}
	if m.traced == nil {
		m.traced = map[uint32]bool{}
	}
	m.traced[addr] = true
	m.o.Trace(line)
}

// irqBits assembles the 32 interrupt bits of register word off/4.
func (m *Machine) irqBits(off uint32, bit func(i int) bool) uint32 {
	var w uint32
	base := int(off/4) * 32
	for b := 0; b < 32 && base+b < NumIRQs; b++ {
		if bit(base + b) {
			w |= 1 << b
		}
	}
	return w
}

// irqSet applies fn to each interrupt whose bit is set in v.
func (m *Machine) irqSet(off, v uint32, fn func(i int)) {
	base := int(off/4) * 32
	for b := 0; b < 32 && base+b < NumIRQs; b++ {
		if v&(1<<b) != 0 {
			fn(base + b)
		}
	}
}

// icsr assembles ICSR: VECTACTIVE, RETTOBASE, VECTPENDING, ISRPENDING
// and the PendSV/SysTick/NMI pending bits.
func (m *Machine) icsr() uint32 {
	v := uint32(m.cpu.IPSR) & 0x1FF
	if m.cpu.HandlerMode() && m.activeCount() <= 1 {
		v |= icsrRetToBase
	}
	v |= uint32(m.highestPending()) << 12
	for n := excExternal; n < numExc; n++ {
		if m.pending[n] {
			v |= icsrIsrPending
			break
		}
	}
	if m.pending[excSysTick] {
		v |= icsrPendSTSet
	}
	if m.pending[excPendSV] {
		v |= icsrPendSVSet
	}
	if m.pending[excNMI] {
		v |= icsrPendNMISet
	}
	return v
}

func (m *Machine) setICSR(v uint32) {
	switch {
	case v&icsrPendSVSet != 0:
		m.pend(excPendSV)
	case v&icsrPendSVClr != 0:
		m.pending[excPendSV] = false
	}
	switch {
	case v&icsrPendSTSet != 0:
		m.pend(excSysTick)
	case v&icsrPendSTClr != 0:
		m.pending[excSysTick] = false
	}
	switch {
	case v&icsrPendNMISet != 0:
		m.pend(excNMI)
	case v&icsrPendNMIClr != 0:
		m.pending[excNMI] = false
	}
}

func (m *Machine) shcsrValue() uint32 {
	v := m.shcsr & shcsrEnables
	for _, b := range shcsrBits {
		if (b.pending && m.pending[b.n]) || (!b.pending && m.active[b.n]) {
			v |= b.bit
		}
	}
	return v
}

// setSHCSR writes the enables and the active/pending bits (writable so an
// RTOS can save and restore them).
func (m *Machine) setSHCSR(v uint32) {
	m.shcsr = v & shcsrEnables
	for _, b := range shcsrBits {
		if b.n == excHardFault || b.n == excNMI {
			continue // read-only
		}
		if b.pending {
			m.pending[b.n] = v&b.bit != 0
		} else {
			m.active[b.n] = v&b.bit != 0
		}
	}
}
