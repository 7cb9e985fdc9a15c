// Package cpu is mvnet's ARMv8-M Mainline (Cortex-M33) core: the
// architectural register state, and a Thumb-2 interpreter over it.
//
// The core knows nothing of exceptions, peripherals or system calls: it
// executes instructions against a Bus (with fast paths for the regions a
// Machine gives it as byte slices) and reports what only the rest of the
// machine can handle through Hooks — SVC, BKPT, faults, a branch to an
// EXC_RETURN value, WFI/WFE, execution outside every executable region
// (how system calls at Microvisor's secure-gateway addresses are trapped).
// Package emu builds the machine (exception model, system control space,
// peripherals, virtual clock) around it.
//
// The interpreter decodes each halfword address of an executable region
// once, into a compact inst kept in per-4 KiB-page arrays (decode16.go,
// decode32.go), and runs a dispatch loop that switches over the decoded
// op (run.go; the rarer instructions in slow.go). Loads and stores to the
// Regions go straight to their byte slices; everything else goes to the
// Bus. A store onto a page holding decoded code drops what it overwrote,
// so RAM functions and self-modifying code run correctly; a store into a
// guarded range (AddGuard: what Microvisor write-protects) is a MemManage
// data access violation. Stores to a page holding either leave the fast
// path; the rest of memory keeps it. An instruction
// that faults aborts (raise) before writing back its base register or
// the PC, and the fault is handed to Hooks.Fault with PC at the faulting
// instruction.
//
// Instruction set: ARMv8-M Mainline with the DSP extension, no FPU (every
// coprocessor and floating-point encoding is a NOCP UsageFault), non-secure
// state (TT answers with no region information; SG, TTA and TTAT are
// UNDEFINED).
package cpu

import "sync/atomic"

// Bus is the slow path of every data access and of instruction fetches
// outside the fast regions. An access that no device answers returns
// ok=false, which the core turns into a BusFault.
type Bus interface {
	Load(addr uint32, size int) (v uint32, ok bool)
	Store(addr uint32, size int, v uint32) (ok bool)
}

// Region is memory the core reads and writes directly: flash and SRAM.
// Data's length is the region's size. Exec says instructions may be
// fetched from it; Writable says stores are allowed (a store to a region
// that is not writable is a BusFault, as a write to flash is on the
// device without the flash controller's programming sequence).
type Region struct {
	Base     uint32
	Data     []byte
	Exec     bool
	Writable bool
}

// FaultKind is the class of a synchronous fault the core detected.
type FaultKind uint8

const (
	// UsageFault causes (CFSR.UFSR bits).
	FaultUndefined     FaultKind = iota + 1 // UNDEFINSTR: undefined instruction
	FaultInvState                           // INVSTATE: EPSR.T clear (BX to an even address)
	FaultInvPC                              // INVPC: bad EXC_RETURN integrity check
	FaultNoCP                               // NOCP: coprocessor (FPU) instruction with it disabled
	FaultStackOverflow                      // STKOF: SP below MSPLIM/PSPLIM
	FaultUnaligned                          // UNALIGNED: unaligned access where not allowed
	FaultDivByZero                          // DIVBYZERO: with CCR.DIV_0_TRP set
	// BusFault causes (CFSR.BFSR bits).
	FaultPreciseData // PRECISERR: data access nothing answered (Addr valid)
	FaultInstrBus    // IBUSERR: instruction fetch nothing answered
	// MemManage causes (CFSR.MMFSR bits).
	FaultInstrAccess // IACCVIOL: fetch from a region that is not executable
	FaultDataAccess  // DACCVIOL (Addr valid)
)

// Fault describes a synchronous fault. PC is the address of the faulting
// instruction (the return address the exception model stacks), Addr the
// data address for the kinds that have one.
type Fault struct {
	Kind FaultKind
	PC   uint32
	Addr uint32
}

// Hooks are the events the core hands to the machine. Each is called
// between instructions with the core's state architecturally exact; the
// hook may change the state (take an exception, set R0 and PC ...).
type Hooks interface {
	// SVC: an SVC instruction executed; PC is already past it.
	SVC(c *CPU, imm uint8)
	// BKPT: a BKPT instruction at PC (not executed yet). The machine
	// decides (debugger stop, semihosting, or a HardFault).
	BKPT(c *CPU, imm uint8)
	// Fault: a synchronous fault; the core's PC is the faulting
	// instruction's address.
	Fault(c *CPU, f Fault)
	// ExceptionReturn: in Handler mode a BX, POP or LDR loaded PC with a
	// value in 0xF0000000-0xFFFFFFFF; v is that value.
	ExceptionReturn(c *CPU, v uint32)
	// Trap: PC is outside every executable region. The machine returns
	// true if it handled it (a system call: R0 set, PC = LR), false to
	// have the core raise the fetch fault.
	Trap(c *CPU, pc uint32) bool
	// Sleep: WFI (wfe=false) or WFE (wfe=true) executed; PC is past it.
	Sleep(c *CPU, wfe bool)
}

// Control register bits (CONTROL).
const (
	ControlNPRIV = 1 << 0 // thread mode is unprivileged
	ControlSPSEL = 1 << 1 // thread mode uses PSP
)

// CPU is the register state of one core. R[13] is the stack pointer in
// use; the other one is kept in OtherSP (see ActiveSPIsPSP). R[15] is the
// address of the next instruction to execute (not the pipeline's PC+4).
type CPU struct {
	R [16]uint32

	// APSR.
	N, Z, C, V, Q bool
	GE            uint8 // APSR.GE[3:0]

	// EPSR.IT, in the encoding of ITSTATE (IT[7:0]); 0 outside an IT block.
	IT uint8
	// IPSR: the exception number being handled; 0 in Thread mode.
	IPSR uint16

	PRIMASK   bool
	FAULTMASK bool
	BASEPRI   uint8 // set it through SetBASEPRI (the unimplemented bits read as zero)
	CONTROL   uint8

	// PrioMask is the priority bits the implementation has (the STM32U5:
	// 0xF0, four bits); the others of BASEPRI read as zero. 0 means all
	// eight.
	PrioMask uint8

	// OtherSP is the stack pointer not in use: PSP while R[13] is MSP,
	// MSP while R[13] is PSP.
	OtherSP        uint32
	MSPLIM, PSPLIM uint32

	// Event is the event register WFE consumes: SEV sets it, and so does
	// the machine on exception entry and return (ARMv8-M ARM, "The Event
	// Register"); the machine's Sleep hook clears it when a WFE returns
	// at once.
	Event bool

	// Instructions counts instructions retired since reset: the virtual
	// clock's source.
	Instructions uint64

	// DivByZeroTrap and UnalignedTrap mirror CCR.DIV_0_TRP and
	// CCR.UNALIGN_TRP, which the machine owns: with the first set SDIV/UDIV
	// by zero fault (FaultDivByZero) instead of giving 0; with the second
	// set every unaligned LDR/STR/LDRH/STRH faults (FaultUnaligned).
	DivByZeroTrap bool
	UnalignedTrap bool
	// BusFaultIgnoreNeg and StackLimitIgnoreNeg mirror CCR.BFHFNMIGN and
	// CCR.STKOFHFNMIGN: at a negative execution priority (in HardFault or
	// NMI, or with FAULTMASK set) a load or store nothing answers is not a
	// BusFault (the load reads zero, the store is dropped), and a stack
	// pointer below its limit is not a STKOF UsageFault.
	BusFaultIgnoreNeg   bool
	StackLimitIgnoreNeg bool

	// WatchAddr and WatchWrite describe the access that made Run return
	// StopWatchpoint.
	WatchAddr  uint32
	WatchWrite bool

	// Bus is the slow path; Hooks receive what only the machine handles
	// (Hooks must be set before Run); Regions are the fast memory. The
	// core reads Regions when Run starts: change them between runs only.
	Bus     Bus
	Hooks   Hooks
	Regions []Region

	stop    atomic.Uint32 // RequestStop, watchpoint hits
	why     Stop          // reason for stop (non-atomic part: watchpoint)
	m       memState
	bps     map[uint32]bool
	watches []watch
	guards  []Guard // AddGuard: ranges stores fault on
	// local exclusive monitor (LDREX/STREX)
	exclValid bool
	exclAddr  uint32
	// faulted is the fault an instruction raised (run recovers the panic)
	faulted Fault
	evArg   uint32 // argument of the event an instruction left (SVC number, EXC_RETURN)
}

// HandlerMode reports whether the core is handling an exception.
func (c *CPU) HandlerMode() bool { return c.IPSR != 0 }

// ActiveSPIsPSP reports whether R[13] is the process stack pointer: in
// Thread mode with CONTROL.SPSEL set.
func (c *CPU) ActiveSPIsPSP() bool { return !c.HandlerMode() && c.CONTROL&ControlSPSEL != 0 }

// MSP returns the main stack pointer, wherever it is held.
func (c *CPU) MSP() uint32 {
	if c.ActiveSPIsPSP() {
		return c.OtherSP
	}
	return c.R[13]
}

// PSP returns the process stack pointer, wherever it is held.
func (c *CPU) PSP() uint32 {
	if c.ActiveSPIsPSP() {
		return c.R[13]
	}
	return c.OtherSP
}

// SetMSP sets the main stack pointer (bits [1:0] are cleared, as the
// architecture does).
func (c *CPU) SetMSP(v uint32) {
	v &^= 3
	if c.ActiveSPIsPSP() {
		c.OtherSP = v
	} else {
		c.R[13] = v
	}
}

// SetPSP sets the process stack pointer (bits [1:0] cleared).
func (c *CPU) SetPSP(v uint32) {
	v &^= 3
	if c.ActiveSPIsPSP() {
		c.R[13] = v
	} else {
		c.OtherSP = v
	}
}

// SetMode changes IPSR and CONTROL together, swapping R[13] and OtherSP
// when the stack pointer in use changes. Exception entry and return and
// MSR CONTROL go through it.
func (c *CPU) SetMode(ipsr uint16, control uint8) {
	was := c.ActiveSPIsPSP()
	c.IPSR, c.CONTROL = ipsr, control
	if c.ActiveSPIsPSP() != was {
		c.R[13], c.OtherSP = c.OtherSP, c.R[13]
	}
}

// XPSR assembles APSR, IPSR and EPSR (T bit set; IT bits placed) into
// the combined program status register as exception entry stacks it.
func (c *CPU) XPSR() uint32 {
	var v uint32
	if c.N {
		v |= 1 << 31
	}
	if c.Z {
		v |= 1 << 30
	}
	if c.C {
		v |= 1 << 29
	}
	if c.V {
		v |= 1 << 28
	}
	if c.Q {
		v |= 1 << 27
	}
	v |= uint32(c.GE&0xf) << 16
	v |= 1 << 24 // T
	v |= uint32(c.IT&3)<<25 | uint32(c.IT>>2)<<10
	v |= uint32(c.IPSR) & 0x1ff
	return v
}

// SetXPSR restores APSR and EPSR.IT from a stacked xPSR (exception
// return); IPSR is left to SetMode.
func (c *CPU) SetXPSR(v uint32) {
	c.N, c.Z, c.C, c.V, c.Q = v&(1<<31) != 0, v&(1<<30) != 0, v&(1<<29) != 0, v&(1<<28) != 0, v&(1<<27) != 0
	c.GE = uint8(v>>16) & 0xf
	c.IT = uint8(v>>25)&3 | uint8(v>>10)&0xfc
}

// SetBASEPRI sets BASEPRI to v's implemented priority bits (PrioMask):
// MSR BASEPRI and a debugger's write.
func (c *CPU) SetBASEPRI(v uint8) { c.BASEPRI = v & c.prioMask() }

// prioMask is PrioMask, 0 meaning all eight bits.
func (c *CPU) prioMask() uint8 {
	if c.PrioMask == 0 {
		return 0xff
	}
	return c.PrioMask
}
