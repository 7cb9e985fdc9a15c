package emu

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/emu/gdb"
)

// The debugger adapter: Machine.Debugger returns the gdb.Target the GDB
// stub drives. Every Target method runs its work on the machine goroutine
// (a request the run loop serves at its next boundary, or at once while it
// is stopped for the debugger); when no Run is serving, the work runs on
// the caller's goroutine, serialized against a Run starting.

type debugState struct {
	// Machine goroutine.
	attached  bool
	paused    bool
	cont      chan gdb.Stop // the Continue waiting for the next stop
	contCtx   context.Context
	stepFirst bool      // Continue starts by stepping off a breakpoint at PC
	noted     *gdb.Stop // a stop seen inside an instruction or quantum
	watches   map[[2]uint32]gdb.WatchKind

	req chan func() // debugger requests for the machine goroutine
	// later are requests that run the core (Step), received while a
	// system call settles (Options.Settle serves requests, inside the
	// Trap hook): they wait for the next boundary.
	later []func()

	// mu guards serving, ran, ended and started against a Run beginning
	// or ending.
	mu      sync.Mutex
	serving bool
	ran     bool
	ended   chan struct{} // closed when the serving Run returns
	started chan struct{} // closed when a Run first serves
}

func (d *debugState) init(paused bool) {
	d.paused = paused
	d.req = make(chan func())
	d.started = make(chan struct{})
	d.watches = map[[2]uint32]gdb.WatchKind{}
}

// begin marks a Run serving debugger requests.
func (d *debugState) begin() {
	d.mu.Lock()
	if !d.ran {
		close(d.started)
	}
	d.serving, d.ran = true, true
	d.ended = make(chan struct{})
	d.mu.Unlock()
}

// end marks the Run gone; a Continue still waiting is told the run exited.
func (d *debugState) end(m *Machine) {
	if d.cont != nil {
		d.cont <- gdb.Stop{Kind: gdb.StopExited, Code: 1}
		d.cont = nil
	}
	d.mu.Lock()
	d.serving = false
	close(d.ended)
	d.mu.Unlock()
}

// exited reports the end of the run to a waiting Continue and returns err.
// The exit code is err's ExitCode when it has one (a Halt with the
// image's mvTestingComplete status), else 1 for any error and 0 for none.
func (d *debugState) exited(m *Machine, err error) error {
	if d.cont != nil {
		d.cont <- gdb.Stop{Kind: gdb.StopExited, Code: exitCode(err)}
		d.cont = nil
	}
	return err
}

// exitCode is the status a debugger is told for a run that ended with err.
func exitCode(err error) uint8 {
	var c interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &c):
		return uint8(c.ExitCode())
	}
	return 1
}

// note records a stop for the debugger if one is attached; false means
// nobody is debugging.
func (d *debugState) note(m *Machine, s gdb.Stop) bool {
	if !d.attached {
		return false
	}
	if d.noted == nil {
		d.noted = &s
	}
	m.kick()
	return true
}

// debugStop is BKPT's question: does a debugger take this stop?
func (m *Machine) debugStop(k gdb.StopKind) bool { return m.dbg.note(m, gdb.Stop{Kind: k}) }

// hit is a breakpoint or watchpoint the core stopped at.
func (d *debugState) hit(m *Machine, k gdb.StopKind, addr uint32) {
	d.note(m, gdb.Stop{Kind: k, Addr: addr})
}

// faulted turns a crash into a fault stop while a debugger is attached:
// the state stays at the faulting instruction for inspection.
func (d *debugState) faulted(m *Machine) {
	k := m.crash
	m.crash = nil
	sig := gdb.SIGSEGV
	switch {
	case k.CFSR&0xFF00 != 0:
		sig = gdb.SIGBUS
	case k.CFSR&0xFFFF0000 != 0:
		sig = gdb.SIGILL
	}
	d.note(m, gdb.Stop{Kind: gdb.StopFault, Signal: sig, Detail: k.Reason})
}

// poll serves queued requests without blocking and delivers a noted stop
// or an interrupt to the waiting Continue.
func (d *debugState) poll(m *Machine) {
	if !m.settling {
		for len(d.later) > 0 {
			f := d.later[0]
			d.later = d.later[1:]
			f()
		}
	}
	for served := true; served; {
		select {
		case f := <-d.req:
			f()
		default:
			served = false
		}
	}
	if d.cont != nil && d.noted == nil && d.contCtx.Err() != nil {
		d.noted = &gdb.Stop{Kind: gdb.StopInterrupted}
	}
	if d.noted != nil {
		if d.cont != nil {
			d.cont <- *d.noted
			d.cont = nil
		}
		d.noted = nil
		d.paused = d.attached
	}
}

// serveDebug waits, stopped, for a debugger's request, the end of the
// run, or a Halt.
func (m *Machine) serveDebug(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-m.wake:
	case f := <-m.dbg.req:
		f()
	}
}

// dbgDo runs fn on the machine goroutine and waits for it. needRun: fn
// lets the firmware run (Continue, Step), which needs a Run: it waits for
// the first Run to start, and returns false if Run has come and gone.
func (m *Machine) dbgDo(fn func(), needRun bool) bool { return m.dbgSend(fn, needRun, false) }

// dbgSend is dbgDo; runsCore: fn executes instructions (Step), so when
// it is received while a system call settles (inside the core's Trap
// hook) it is held until the next run-loop boundary.
func (m *Machine) dbgSend(fn func(), needRun, runsCore bool) bool {
	d := &m.dbg
	for {
		d.mu.Lock()
		if !d.serving {
			if needRun && d.ran {
				d.mu.Unlock()
				return false
			}
			if !needRun {
				fn()
				d.mu.Unlock()
				return true
			}
			started := d.started
			d.mu.Unlock()
			<-started
			continue
		}
		ended := d.ended
		d.mu.Unlock()
		done := make(chan struct{})
		run := func() { fn(); close(done) }
		req := run
		if runsCore {
			req = func() {
				if m.settling {
					d.later = append(d.later, run) // the core is inside a Trap hook
					return
				}
				run()
			}
		}
		m.kick()
		select {
		case d.req <- req:
			<-done
			return true
		case <-ended:
		}
	}
}

// Debugger returns the gdb.Target for the GDB stub.
func (m *Machine) Debugger() gdb.Target { return target{m} }

type target struct{ m *Machine }

func (t target) Attach() gdb.Stop {
	t.m.dbgDo(func() { t.m.dbg.attached, t.m.dbg.paused = true, true }, false)
	return gdb.Stop{Kind: gdb.StopInterrupted}
}

func (t target) Detach() {
	t.m.dbgDo(func() {
		d := &t.m.dbg
		d.attached, d.paused, d.noted = false, false, nil
		t.m.anchor()
	}, false)
}

func (t target) ReadRegister(r gdb.Reg) uint32 {
	var v uint32
	t.m.dbgDo(func() { v = t.m.readReg(r) }, false)
	return v
}

func (m *Machine) readReg(r gdb.Reg) uint32 {
	c := &m.cpu
	switch {
	case r <= gdb.PC:
		return c.R[r]
	case r == gdb.XPSR:
		return c.XPSR()
	case r == gdb.MSP:
		return c.MSP()
	case r == gdb.PSP:
		return c.PSP()
	case r == gdb.PRIMASK:
		return uint32(b2i(c.PRIMASK))
	case r == gdb.BASEPRI:
		return uint32(c.BASEPRI)
	case r == gdb.FAULTMASK:
		return uint32(b2i(c.FAULTMASK))
	case r == gdb.CONTROL:
		return uint32(c.CONTROL)
	}
	return 0
}

func (t target) WriteRegister(r gdb.Reg, v uint32) error {
	var err error
	t.m.dbgDo(func() {
		c := &t.m.cpu
		switch {
		case r == gdb.PC:
			c.R[15] = v &^ 1
		case r <= gdb.LR:
			c.R[r] = v
		case r == gdb.XPSR:
			c.SetXPSR(v) // IPSR follows the exception state, not the debugger
		case r == gdb.MSP:
			c.SetMSP(v)
		case r == gdb.PSP:
			c.SetPSP(v)
		case r == gdb.PRIMASK:
			c.PRIMASK = v&1 != 0
		case r == gdb.BASEPRI:
			c.SetBASEPRI(uint8(v))
		case r == gdb.FAULTMASK:
			c.FAULTMASK = v&1 != 0
		case r == gdb.CONTROL:
			c.SetMode(c.IPSR, uint8(v)&(cpu.ControlNPRIV|cpu.ControlSPSEL))
		default:
			err = fmt.Errorf("emu: no register %d", r)
		}
		t.m.kick()
	}, false)
	return err
}

func (t target) ReadMemory(addr uint32, b []byte) error {
	var err error
	t.m.dbgDo(func() { err = t.m.debugRead(addr, b) }, false)
	return err
}

func (t target) WriteMemory(addr uint32, b []byte) error {
	var err error
	t.m.dbgDo(func() { err = t.m.debugWrite(addr, b) }, false)
	return err
}

// debugRead reads memory as the debugger sees it: regions directly,
// devices through their side-effect-free Peek where they have one.
func (m *Machine) debugRead(addr uint32, b []byte) error {
	m.debugAccess = true
	defer func() { m.debugAccess = false }()
	for i := 0; i < len(b); {
		a := addr + uint32(i)
		if r, ok := m.region(a, 1); ok {
			i += copy(b[i:], r.Data[a-r.Base:])
			continue
		}
		size := 1
		if a%4 == 0 && len(b)-i >= 4 {
			size = 4
		}
		v, ok := m.bus.Peek(a, size)
		if !ok {
			return fmt.Errorf("emu: nothing answers a read at %#08x", a)
		}
		for k := 0; k < size; k++ {
			b[i+k] = byte(v >> (8 * k))
		}
		i += size
	}
	return nil
}

// imageOf returns the reset image of region r.
func (m *Machine) imageOf(r *cpu.Region) []byte {
	for i := range m.cpu.Regions {
		if &m.cpu.Regions[i] == r {
			return m.image[i]
		}
	}
	return nil
}

// debugWrite writes memory as a debug probe does, flash included, and
// invalidates decoded instructions there.
func (m *Machine) debugWrite(addr uint32, b []byte) error {
	m.debugAccess = true
	defer func() { m.debugAccess = false }()
	for i := 0; i < len(b); {
		a := addr + uint32(i)
		if r, ok := m.region(a, 1); ok {
			n := copy(r.Data[a-r.Base:], b[i:])
			m.cpu.InvalidateCode(a, uint32(n))
			if !r.Writable {
				// Flash programmed through the debug port (gdb's load)
				// is what a later reset finds there.
				copy(m.imageOf(r)[a-r.Base:], b[i:i+n])
			}
			i += n
			continue
		}
		size := 1
		if a%4 == 0 && len(b)-i >= 4 {
			size = 4
		}
		var v uint32
		for k := 0; k < size; k++ {
			v |= uint32(b[i+k]) << (8 * k)
		}
		if !m.bus.Store(a, size, v) {
			return fmt.Errorf("emu: nothing answers a write at %#08x", a)
		}
		i += size
	}
	return nil
}

func (t target) Step() gdb.Stop {
	s := gdb.Stop{Kind: gdb.StopExited, Code: 1}
	t.m.dbgSend(func() { s = t.m.debugStep() }, true, true)
	return s
}

// debugStep executes one instruction, or takes the exception that is due
// (which counts as the step), on the machine goroutine.
func (m *Machine) debugStep() gdb.Stop {
	m.takeIRQs()
	m.fireTimers()
	if m.sleeping {
		if !m.wakes() {
			if at, ok := m.nextTimer(); ok && at > m.cycles() {
				m.skipped += at - m.cycles()
				m.fireTimers()
			}
		}
		if !m.wakes() {
			return gdb.Stop{Kind: gdb.StopStep}
		}
		m.awaken()
	}
	before := m.entries
	m.checkPending()
	if m.entries == before && m.crash == nil {
		m.quantumEnd = m.cycles() + 1
		st := m.cpu.Step()
		m.quantumEnd = 0
		if st == cpu.StopWatchpoint {
			m.dbg.hit(m, gdb.StopWatchpoint, m.cpu.WatchAddr)
		}
		m.fireTimers()
	}
	if m.crash != nil {
		m.dbg.faulted(m)
	}
	if halted, _ := m.haltState(); halted {
		return gdb.Stop{Kind: gdb.StopExited}
	}
	if n := m.dbg.noted; n != nil {
		m.dbg.noted = nil
		return *n
	}
	return gdb.Stop{Kind: gdb.StopStep}
}

func (t target) Continue(ctx context.Context) gdb.Stop {
	m := t.m
	reply := make(chan gdb.Stop, 1)
	ok := m.dbgDo(func() {
		d := &m.dbg
		d.paused, d.cont, d.contCtx, d.stepFirst, d.noted = false, reply, ctx, true, nil
		m.anchor()
	}, true)
	if !ok {
		return gdb.Stop{Kind: gdb.StopExited, Code: 1}
	}
	stop := context.AfterFunc(ctx, func() {
		m.kick()
		m.signal()
		// A system call settling serves requests, not m.wake: the
		// interrupt reaches the waiting Continue through one.
		go m.dbgDo(func() { m.dbg.poll(m) }, false)
	})
	defer stop()
	return <-reply
}

func (t target) SetBreakpoint(addr uint32) error {
	t.m.dbgDo(func() { t.m.cpu.SetBreakpoint(addr &^ 1) }, false)
	return nil
}

func (t target) ClearBreakpoint(addr uint32) error {
	t.m.dbgDo(func() { t.m.cpu.ClearBreakpoint(addr &^ 1) }, false)
	return nil
}

// watchBits: bit 0 write, bit 1 read, as the kinds on one range combine.
func watchBits(k gdb.WatchKind) gdb.WatchKind {
	switch k {
	case gdb.WatchWrite:
		return 1
	case gdb.WatchRead:
		return 2
	}
	return 3
}

func (t target) SetWatchpoint(kind gdb.WatchKind, addr, n uint32) error {
	return t.watch(kind, addr, n, true)
}

func (t target) ClearWatchpoint(kind gdb.WatchKind, addr, n uint32) error {
	return t.watch(kind, addr, n, false)
}

func (t target) watch(kind gdb.WatchKind, addr, n uint32, set bool) error {
	if n == 0 {
		return fmt.Errorf("emu: empty watchpoint at %#08x", addr)
	}
	t.m.dbgDo(func() {
		m := t.m
		key := [2]uint32{addr, n}
		was := m.dbg.watches[key]
		now := was
		if set {
			now |= watchBits(kind)
		} else {
			now &^= watchBits(kind)
		}
		if was != 0 {
			m.cpu.ClearWatchpoint(addr, n)
		}
		if now == 0 {
			delete(m.dbg.watches, key)
			return
		}
		m.dbg.watches[key] = now
		m.cpu.SetWatchpoint(addr, n, now&2 != 0, now&1 != 0)
	}, false)
	return nil
}

func (t target) Reset() error {
	var err error
	t.m.dbgSend(func() { // not inside a system call's Trap hook: held for the run loop
		m := t.m
		m.restoreImage()
		err = m.Reset()
		m.crash, m.dbg.noted = nil, nil
		if m.o.OnReset != nil {
			m.o.OnReset()
		}
	}, false, true)
	return err
}

func (t target) Kill() {
	t.m.Halt(ErrKilled)
	t.m.dbgDo(func() { t.m.dbg.paused = false }, false)
}
