// Package emu is mvnet's emulated STM32U585 as a Microvisor application
// sees it: a Cortex-M33 core (package cpu) in the non-secure state without
// an FPU, its exception model (NVIC, SCB, SysTick, fault escalation,
// lockup), the system control space at 0xE000E000, the peripherals it is
// given (package stm32) on the bus, a virtual clock driven by the
// instructions retired, and the run loop that ties them together —
// deterministic by default, paced to the wall clock with Realtime.
//
// Goroutines: the goroutine that calls Run is the machine goroutine; it is
// the only one touching CPU state, memory and device state. Hooks, device
// accesses, Options.Trap, Options.Settle, Exec and At functions run on it.
// Other goroutines use the doors that are safe for them: PendIRQ, Exec,
// Halt, Published, and the debugger adapter (Debugger).
package emu

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/emu/bus"
	"github.com/mvnet/mvnet/emu/cpu"
)

// Options configure a Machine.
type Options struct {
	// Regions are the memories the core reads directly: flash (Exec, not
	// Writable) first, then SRAM (Exec, Writable). The vector table is at
	// the base of the first region (VTOR's reset value).
	Regions []cpu.Region
	// Peripherals are the memory-mapped devices (0x40000000-0x5FFFFFFF,
	// from package stm32); the system control space and the rest of the
	// private peripheral bus are the machine's own.
	Peripherals []bus.Mapping
	// Trap runs a system call when execution reaches an address outside
	// every executable region (Microvisor's secure-gateway entry points):
	// it returns true if it handled pc (R0 set, PC = LR), false to have the
	// core take the instruction-fetch fault.
	Trap func(c *cpu.CPU, pc uint32) bool
	// Hz is the virtual clock's frequency (one instruction = one cycle);
	// 0 means DefaultHz.
	Hz uint64
	// Realtime paces virtual time to the wall clock and applies Exec work
	// as soon as it comes; the default is deterministic.
	Realtime bool
	// Settle, in deterministic mode, is called after each handled Trap
	// and returns once the outside world has answered whatever the system
	// call started (the answers are queued through Exec, and applied when
	// Settle returns). An error ends the run with that error. While it
	// waits, Settle must also receive from serve and call every function
	// that comes (on its own goroutine, the machine goroutine): they are
	// the debugger's requests (register and memory access, attach, ^C),
	// which would otherwise wait for as long as the system call settles.
	// ctx ends with Run's context and when Halt is called (a debugger's
	// kill included).
	Settle func(ctx context.Context, serve <-chan func()) error
	// Unhandled reports whether exception exc's handler (its address, bit
	// 0 clear) is a default handler that means "not handled": taking it
	// ends the run with a *Crash. Handlers that branch to themselves are
	// always treated so. The loader marks its symbol table's
	// Default_Handler here.
	Unhandled func(exc int, handler uint32) bool
	// Symbolize names a code address for crash reports ("main+0x12"), or
	// returns "".
	Symbolize func(addr uint32) string
	// Backtrace lists a crashed program's frames, one line each, from its
	// PC, LR and stack pointer, reading memory through read (the loader's
	// symbol-aware unwinder). Nil: the crash report lists PC, LR and the
	// stack words that look like return addresses.
	Backtrace func(sp, lr, pc uint32, read func(addr uint32) (uint32, bool)) []string
	// OnReset runs on the machine goroutine after a reset the firmware
	// requested (AIRCR.SYSRESETREQ) has reset the core: peripherals reset
	// here. Without it the reset happens all the same.
	OnReset func()
	// SyncEvery, in deterministic mode, adds a sync point (queued Exec
	// work applied) every SyncEvery of virtual time while the core runs,
	// for firmware that neither sleeps nor makes system calls (an RTOS
	// idle task that spins): events nobody asked for then land at the
	// first such point after they arrive instead of never. 0: only the
	// system calls and sleep are sync points.
	SyncEvery time.Duration
	// Trace receives one line for the first access to each system
	// register the machine accepts without modelling (the MPU, CPACR,
	// ACTLR, debug and trace registers ...). Nil: no trace.
	Trace func(line string)
	// Paused starts Run stopped, waiting for a debugger to attach and
	// continue (gdb's usual "halted at reset").
	Paused bool
}

// Machine is an emulated Cortex-M33 with its system control space,
// peripherals and virtual clock.
type Machine struct {
	o   Options
	hz  uint64
	cpu cpu.CPU
	bus bus.Map

	// Exception state (ARMv8-M ARM, the exception model): indexed by exception number.
	prio       [numExc]uint8
	pending    [numExc]bool
	active     [numExc]bool
	irqEnabled [NumIRQs]bool
	prigroup   uint8
	shcsr      uint32 // the enable bits; active/pending live above
	vtor       uint32
	scr, ccr   uint32
	demcr      uint32
	dwtCtrl    uint32
	cyccnt     uint32 // DWT_CYCCNT at cycBase
	cycBase    uint64
	cfsr, hfsr uint32
	mmfar      uint32
	bfar       uint32
	systick    systick

	// Run-loop state (machine goroutine).
	resetRequested bool
	sleeping       bool
	sleepWFE       bool
	settling       bool // inside Options.Settle (debugger requests served there must not run the core)
	debugAccess    bool // a debugger access: SCS privilege checks pass
	traced         map[uint32]bool
	crash          *Crash
	faultNote      string // what caused the fault being raised, for a crash's reason ("" none)
	ctx            context.Context
	skipped        uint64 // cycles jumped over while asleep
	quantumEnd     uint64 // cycle the running quantum ends at
	timers         timerHeap
	timerSeq       uint64
	entries        uint64 // exceptions taken (for tests and traces)
	returns        uint64
	chains         uint64
	published      atomic.Uint64 // cycles at the last boundary, for Published
	wallStart      time.Time     // realtime pacing anchor: wall clock ...
	cycStart       uint64        // ... and virtual clock at the anchor
	image          [][]byte      // the regions as given to New (a debugger's reset restores them)
	dbg            debugState
	syncCycles     uint64 // Options.SyncEvery in cycles (0: off)
	nextSync       uint64

	// mu guards the doors other goroutines use.
	mu      sync.Mutex
	execQ   []func()
	halted  bool
	haltErr error
	irqQ    []uint32
	// settleStop ends the running Options.Settle (Halt); nil outside it.
	settleStop context.CancelFunc
	wake       chan struct{} // capacity 1: something for a waiting run loop
}

// New validates o and builds a machine in its reset state.
func New(o Options) (*Machine, error) {
	if len(o.Regions) == 0 {
		return nil, errors.New("emu: no memory regions (flash with the vector table first)")
	}
	for i, r := range o.Regions {
		if len(r.Data) == 0 || uint64(r.Base)+uint64(len(r.Data)) > 1<<32 {
			return nil, fmt.Errorf("emu: region %d at %#08x (size %#x) does not fit the address space", i, r.Base, len(r.Data))
		}
		for _, q := range o.Regions[:i] {
			if uint64(r.Base) < uint64(q.Base)+uint64(len(q.Data)) && uint64(q.Base) < uint64(r.Base)+uint64(len(r.Data)) {
				return nil, fmt.Errorf("emu: region at %#08x overlaps region at %#08x", r.Base, q.Base)
			}
		}
	}
	m := &Machine{o: o, hz: o.Hz, wake: make(chan struct{}, 1)}
	if m.hz == 0 {
		m.hz = DefaultHz
	}
	if o.SyncEvery < 0 {
		return nil, fmt.Errorf("emu: SyncEvery %v is negative", o.SyncEvery)
	}
	if !o.Realtime {
		m.syncCycles = m.cyclesOf(o.SyncEvery)
		m.nextSync = m.syncCycles
	}
	for _, mp := range o.Peripherals {
		if mp.Base >= ppbBase {
			return nil, fmt.Errorf("emu: peripheral %s at %#08x is in the system region (0xE0000000-), which the machine models itself", mp.Name, mp.Base)
		}
		if err := m.bus.Add(mp); err != nil {
			return nil, fmt.Errorf("emu: %w", err)
		}
	}
	for _, mp := range []bus.Mapping{
		{Name: "PPB", Base: ppbBase, Size: dwtBase - ppbBase, Device: razwi{m, ppbBase}},
		{Name: "DWT", Base: dwtBase, Size: dwtSize, Device: dwt{m}},
		{Name: "PPB", Base: dwtBase + dwtSize, Size: scsBase - dwtBase - dwtSize, Device: razwi{m, dwtBase + dwtSize}},
		{Name: "SCS", Base: scsBase, Size: scsSize, Device: scs{m}},
		{Name: "PPB", Base: scsBase + scsSize, Size: ppbEnd - scsBase - scsSize, Device: razwi{m, scsBase + scsSize}},
	} {
		if err := m.bus.Add(mp); err != nil {
			return nil, fmt.Errorf("emu: %w", err)
		}
	}
	for _, r := range o.Regions {
		m.image = append(m.image, append([]byte(nil), r.Data...))
	}
	c := &m.cpu
	c.Regions = o.Regions
	c.Bus = &m.bus
	c.Hooks = m
	c.PrioMask = prioMask
	m.dbg.init(o.Paused)
	if err := m.Reset(); err != nil {
		return nil, err
	}
	return m, nil
}

// CPU returns the core. Use it on the machine goroutine only.
func (m *Machine) CPU() *cpu.CPU { return &m.cpu }

// Reset resets the core and the system control space as a power-on reset
// does: MSP from word 0 and PC from word 1 of the vector table at the
// base of the first region, Thread mode, privileged, on MSP, nothing
// pending or active. Memory, peripherals and the virtual clock keep
// their state.
func (m *Machine) Reset() error {
	c := &m.cpu
	table := m.o.Regions[0].Base
	sp, ok1 := m.load32(table)
	pc, ok2 := m.load32(table + 4)
	if !ok1 || !ok2 {
		return fmt.Errorf("emu: no vector table at %#08x", table)
	}
	if pc&1 == 0 {
		return fmt.Errorf("emu: reset vector %#08x is not a Thumb address (bit 0 clear)", pc)
	}
	m.systick.reset(m)
	m.prio, m.pending, m.active, m.irqEnabled = [numExc]uint8{}, [numExc]bool{}, [numExc]bool{}, [NumIRQs]bool{}
	m.prigroup, m.shcsr, m.scr, m.ccr, m.demcr = 0, 0, 0, ccrReset, 0
	m.dwtCtrl, m.cyccnt = 0, 0
	m.cfsr, m.hfsr, m.mmfar, m.bfar = 0, 0, 0, 0
	m.vtor = table
	m.sleeping, m.cpu.Event, m.resetRequested = false, false, false

	instr := c.Instructions
	c.R = [16]uint32{}
	c.N, c.Z, c.C, c.V, c.Q, c.GE, c.IT = false, false, false, false, false, 0, 0
	c.PRIMASK, c.FAULTMASK, c.BASEPRI = false, false, 0
	c.IPSR, c.CONTROL, c.OtherSP, c.MSPLIM, c.PSPLIM = 0, 0, 0, 0, 0
	c.Instructions = instr
	c.R[13] = sp &^ 3
	c.R[14] = 0xFFFFFFFF // ARMv8-M ARM TakeReset: LR is UNKNOWN; all ones is what silicon shows
	c.R[15] = pc &^ 1
	m.ccrChanged()
	return nil
}

// kick makes the core stop at the next instruction boundary so the run
// loop re-evaluates pending exceptions, timers and requests.
func (m *Machine) kick() { m.cpu.RequestStop() }

// signal wakes a run loop waiting for outside work.
func (m *Machine) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// PendIRQ pends external interrupt n (exception 16+n), from any
// goroutine; on the machine goroutine it takes effect at the next
// instruction boundary. In deterministic mode, callers outside the
// machine goroutine go through Exec so the pend lands at a sync point.
func (m *Machine) PendIRQ(n uint32) {
	m.mu.Lock()
	m.irqQ = append(m.irqQ, n)
	m.mu.Unlock()
	m.kick()
	m.signal()
}

// Exec runs fn on the machine goroutine between instructions, from any
// goroutine, without blocking: at the next sync point in deterministic
// mode (after a system call has settled, or while the core sleeps), as
// soon as the current quantum ends in realtime mode.
func (m *Machine) Exec(fn func()) {
	m.mu.Lock()
	m.execQ = append(m.execQ, fn)
	m.mu.Unlock()
	if m.o.Realtime {
		m.kick()
	}
	m.signal()
}

// Halt ends Run with err (nil: a clean exit), from any goroutine. The
// first Halt wins.
func (m *Machine) Halt(err error) {
	m.mu.Lock()
	if !m.halted {
		m.halted, m.haltErr = true, err
	}
	if m.settleStop != nil {
		m.settleStop() // a system call's settle ends too
	}
	m.mu.Unlock()
	m.kick()
	m.signal()
}

// takeIRQs moves the interrupts PendIRQ queued into the NVIC.
func (m *Machine) takeIRQs() {
	m.mu.Lock()
	q := m.irqQ
	m.irqQ = nil
	m.mu.Unlock()
	for _, n := range q {
		if n < NumIRQs {
			m.pend(excExternal + int(n))
		}
	}
}

// drainExec runs the queued Exec work (and what it queues in turn) and
// reports whether there was any.
func (m *Machine) drainExec() bool {
	ran := false
	for {
		m.mu.Lock()
		q := m.execQ
		m.execQ = nil
		m.mu.Unlock()
		if len(q) == 0 {
			break
		}
		ran = true
		for _, fn := range q {
			fn()
		}
	}
	m.takeIRQs()
	return ran
}

// haltState returns whether Halt was called and its error.
func (m *Machine) haltState() (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.halted, m.haltErr
}

// ccrChanged tells the core the trap and ignore enables in CCR.
func (m *Machine) ccrChanged() {
	m.cpu.DivByZeroTrap = m.ccr&ccrDiv0Trp != 0
	m.cpu.UnalignedTrap = m.ccr&ccrUnalignTrp != 0
	m.cpu.BusFaultIgnoreNeg = m.ccr&ccrBFHFNMIGN != 0
	m.cpu.StackLimitIgnoreNeg = m.ccr&ccrStkOfHFNMIGN != 0
}

// region returns the region holding [addr, addr+n).
func (m *Machine) region(addr uint32, n uint32) (*cpu.Region, bool) {
	for i := range m.cpu.Regions {
		r := &m.cpu.Regions[i]
		if addr >= r.Base && uint64(addr-r.Base)+uint64(n) <= uint64(len(r.Data)) {
			return r, true
		}
	}
	return nil, false
}

// load32 reads a word as the processor would for exception entry and
// return: a region, else the bus.
func (m *Machine) load32(addr uint32) (uint32, bool) {
	if r, ok := m.region(addr, 4); ok {
		return binary.LittleEndian.Uint32(r.Data[addr-r.Base:]), true
	}
	return m.bus.Load(addr, 4)
}

func (m *Machine) load16(addr uint32) (uint16, bool) {
	if r, ok := m.region(addr, 2); ok {
		return binary.LittleEndian.Uint16(r.Data[addr-r.Base:]), true
	}
	v, ok := m.bus.Load(addr, 2)
	return uint16(v), ok
}

// store32 writes a word (stacking): writable regions and the bus.
func (m *Machine) store32(addr, v uint32) bool {
	if r, ok := m.region(addr, 4); ok {
		if !r.Writable {
			return false
		}
		binary.LittleEndian.PutUint32(r.Data[addr-r.Base:], v)
		if r.Exec {
			m.cpu.InvalidateCode(addr, 4)
		}
		return true
	}
	return m.bus.Store(addr, 4, v)
}

// restoreImage puts the regions back as they were given to New.
func (m *Machine) restoreImage() {
	for i, r := range m.cpu.Regions {
		copy(r.Data, m.image[i])
		m.cpu.InvalidateCode(r.Base, uint32(len(r.Data)))
	}
}

// razwi is a block of registers that read as zero and ignore writes
// (the parts of the private peripheral bus not modelled), traced once
// per register.
type razwi struct {
	m    *Machine
	base uint32
}

func (r razwi) Load(off uint32, size int) (uint32, bool) {
	r.m.unmodelled(r.base+off&^3, false, 0)
	return 0, true
}

func (r razwi) Store(off uint32, size int, v uint32) bool {
	r.m.unmodelled(r.base+off&^3, true, v)
	return true
}

// Peek reads as zero without tracing.
func (razwi) Peek(off uint32, size int) (uint32, bool) { return 0, true }
