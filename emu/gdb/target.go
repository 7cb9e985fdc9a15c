package gdb

import "context"

// Reg numbers the registers the stub exposes, in the order of the target
// description (target.xml) and of the 'g' packet: gdb's register number n
// is Reg(n). All registers are 32 bits wide.
type Reg uint8

const (
	R0        Reg = iota // r0-r12: general purpose
	R1                   //
	R2                   //
	R3                   //
	R4                   //
	R5                   //
	R6                   //
	R7                   //
	R8                   //
	R9                   //
	R10                  //
	R11                  //
	R12                  //
	SP                   // r13, the active stack pointer (MSP or PSP as CONTROL.SPSEL and the mode say)
	LR                   // r14
	PC                   // r15: the address of the next instruction to execute
	XPSR                 // APSR flags, IPSR exception number, EPSR (T bit, IT/ICI)
	MSP                  // main stack pointer (banked)
	PSP                  // process stack pointer (banked)
	PRIMASK              // 1 bit
	BASEPRI              // 8 bits
	FAULTMASK            // 1 bit
	CONTROL              // nPRIV, SPSEL (bit 1), FPCA
	NumRegs              // number of registers
)

// Signal is a stop signal in gdb's own numbering (gdb/signals.def), which
// is what the 'S'/'T' stop replies carry, not the host's.
type Signal uint8

// gdb's signal numbers (include/gdb/signals.def).
const (
	SIGINT  Signal = 2  // the debugger interrupted the run (^C)
	SIGILL  Signal = 4  // undefined instruction, invalid state (UsageFault)
	SIGTRAP Signal = 5  // breakpoint, single step, watchpoint
	SIGBUS  Signal = 10 // bus error (BusFault: nothing answered an access)
	SIGSEGV Signal = 11 // access violation (MemManage-like: a write to flash, execute from a non-executable region)
)

// StopKind says why the target stopped.
type StopKind uint8

const (
	// StopStep: a Step completed (SIGTRAP).
	StopStep StopKind = iota + 1
	// StopBreakpoint: PC is at a breakpoint, whose instruction has NOT
	// executed (SIGTRAP). Also used for a BKPT instruction in the program.
	// The stub knows which breakpoints it inserted and reports swbreak or
	// hwbreak itself.
	StopBreakpoint
	// StopWatchpoint: an access hit a watchpoint; the accessing instruction
	// completed (SIGTRAP). Stop.Addr is the address that hit and Stop.Watch
	// the kind of watchpoint (0 if the target cannot tell: the stub then
	// picks the one of its watchpoints that covers Addr).
	StopWatchpoint
	// StopInterrupted: Continue's context was cancelled (gdb's ^C) (SIGINT).
	StopInterrupted
	// StopFault: the program took a fault it does not handle (or, at the
	// target's choice, any fault): Stop.Signal is SIGSEGV, SIGBUS or SIGILL,
	// Stop.Detail describes it (it is shown to the user). The target stays
	// stopped at the faulting instruction and can still be inspected.
	StopFault
	// StopExited: the program's run ended (mvTestingComplete, the machine
	// halted, a crash report was written); Stop.Code is the exit status.
	// No further Step or Continue is possible.
	StopExited
)

// BreakKind is a breakpoint type: gdb's Z0 (software) and Z1 (hardware).
// The emulator implements both the same way (no instruction is patched);
// the kind only decides the stop reason reported to gdb.
type BreakKind uint8

const (
	Software BreakKind = 0 // Z0
	Hardware BreakKind = 1 // Z1
)

// WatchKind is a watchpoint type: gdb's Z2, Z3, Z4.
type WatchKind uint8

const (
	WatchWrite  WatchKind = 2 // Z2: stop after a write to the range ("watch")
	WatchRead   WatchKind = 3 // Z3: stop after a read ("rwatch")
	WatchAccess WatchKind = 4 // Z4: stop after a read or write ("awatch")
)

// Stop describes why the target stopped.
type Stop struct {
	Kind   StopKind
	Signal Signal    // for StopFault; the other kinds have a fixed signal (see SignalOf)
	Addr   uint32    // StopWatchpoint: the data address accessed
	Watch  WatchKind // StopWatchpoint: the kind of watchpoint hit, 0 if unknown
	Code   uint8     // StopExited: exit status
	Detail string    // StopFault (and optionally others): a one-line description for the user
}

// SignalOf returns the signal gdb is told for s.
func (s Stop) SignalOf() Signal {
	switch s.Kind {
	case StopInterrupted:
		return SIGINT
	case StopFault:
		if s.Signal != 0 {
			return s.Signal
		}
		return SIGSEGV
	default:
		return SIGTRAP
	}
}

// Target is what the stub debugs: the emulated machine (package emu
// implements it) or, in tests, a fake.
//
// Goroutine rules: Serve calls every method from ONE goroutine, never
// concurrently. The only cross-goroutine signal is the interrupt: the
// goroutine reading the debugger's connection cancels the context given to
// Continue when gdb sends ^C (0x03). While a debugger is attached the target is
// stopped except inside Continue and Step, so register and memory access
// need no locking against the run. Attach and Detach bracket each debugger
// connection.
type Target interface {
	// Attach stops the target if it is running on its own and reports why
	// it is stopped (a target stopped at reset reports StopInterrupted or
	// StopStep: gdb only needs a stop). Called when a debugger connects.
	Attach() Stop
	// Detach lets the target run on its own again (returning at once; the
	// stub has already cleared its breakpoints and watchpoints). Called on
	// gdb's 'D' and when the debugger's connection is lost.
	Detach()

	// ReadRegister returns register r (r < NumRegs).
	ReadRegister(r Reg) uint32
	// WriteRegister sets register r. SP writes the active stack pointer;
	// MSP/PSP the banked ones; PC must keep bit 0 clear (the stub clears
	// it). An error (e.g. a value the register cannot hold) becomes E01.
	WriteRegister(r Reg, v uint32) error

	// ReadMemory fills b from addr as the program would read it, but
	// without side effects where the target can avoid them (no watchpoint
	// hits; peripheral registers may be read as the target sees fit). An
	// address no region or device answers is an error (the stub replies
	// E01); partial reads are not reported.
	ReadMemory(addr uint32, b []byte) error
	// WriteMemory writes b at addr, including into flash (as a debugger
	// writes through the debug port), and invalidates decoded instructions
	// there. An unmapped address is an error (E01).
	WriteMemory(addr uint32, b []byte) error

	// Step executes exactly one instruction (ignoring a breakpoint at the
	// current PC) and reports the stop: usually StopStep, or a watchpoint,
	// fault or exit it caused. Taking an exception counts as the step
	// (gdb then sees PC at the handler).
	Step() Stop
	// Continue runs until a breakpoint, watchpoint, fault or exit, or
	// until ctx is done, and reports the stop. A breakpoint at the PC
	// Continue starts from is not hit before the first instruction
	// executes. ctx is the interrupt: Serve cancels it from another
	// goroutine on gdb's ^C, and Continue must then return StopInterrupted
	// at the next instruction boundary (for the machine:
	// context.AfterFunc(ctx, cpu.RequestStop), and treat a StopRequested
	// whose ctx is not done as "keep running", so a late RequestStop is
	// harmless). A ctx already done on entry stops before any instruction.
	Continue(ctx context.Context) Stop

	// SetBreakpoint and ClearBreakpoint insert and remove an emulator
	// breakpoint at addr (bit 0 clear): gdb's software (Z0) and hardware
	// (Z1) breakpoints are both this. The stub keeps its own table and calls
	// SetBreakpoint once per address (at the first insertion of either
	// kind) and ClearBreakpoint when the last one there is removed.
	SetBreakpoint(addr uint32) error
	ClearBreakpoint(addr uint32) error
	// SetWatchpoint and ClearWatchpoint insert and remove a watchpoint on
	// the n bytes at addr (n >= 1). The stub calls them once per distinct
	// (kind, addr, n); overlapping watchpoints are the target's to merge.
	// An error (unsupported size, too many) is reported to gdb (E01), which
	// then tells the user.
	SetWatchpoint(kind WatchKind, addr, n uint32) error
	ClearWatchpoint(kind WatchKind, addr, n uint32) error

	// Reset resets the machine as a power-on reset would (registers from
	// the vector table, memory as loaded) and leaves it stopped at the
	// reset handler. gdb's "monitor reset".
	Reset() error
	// Kill ends the program's run (gdb's 'k'); the run ends as if killed.
	// Serve returns after Kill.
	Kill()
}
