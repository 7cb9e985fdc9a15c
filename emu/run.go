package emu

import (
	"context"
	"errors"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/emu/gdb"
)

// quantum bounds one call into the core (65536 instructions, 0.4 ms of
// virtual time at 160 MHz): how late Halt, a cancelled context, a
// debugger's interrupt and, in realtime mode, Exec work can be noticed.
// Timers never wait for a quantum: a quantum ends at the next timer.
const quantum = 1 << 16

// paceSlack is how far virtual time may run ahead of the wall clock in
// realtime mode before the run loop sleeps.
const paceSlack = 2 * time.Millisecond

// ErrKilled is Run's error after a debugger killed the run.
var ErrKilled = errors.New("emu: run killed by the debugger")

// Run executes the firmware until ctx ends (ctx's error), Halt is called
// (Halt's error), or the firmware crashes (a *Crash). Run's goroutine is
// the machine goroutine. After ctx ended, Run may be called again to
// continue; after Halt or a crash it returns the same result at once.
func (m *Machine) Run(ctx context.Context) error {
	m.ctx = ctx
	stop := context.AfterFunc(ctx, func() { m.kick(); m.signal() })
	defer stop()
	m.dbg.begin()
	defer m.dbg.end(m)
	m.anchor()
	for {
		if end, err := m.boundary(ctx); end {
			return err
		}
		if m.dbg.paused {
			m.serveDebug(ctx)
			continue
		}
		if m.sleeping {
			if !m.wakes() {
				m.idle(ctx)
				continue
			}
			m.awaken()
		}
		m.checkPending()
		if m.crash != nil || m.sleeping {
			continue
		}
		if m.dbg.stepFirst {
			// Continue: off a breakpoint at PC before running.
			m.dbg.stepFirst = false
			m.quantumEnd = m.cycles() + 1
			m.coreStopped(m.cpu.Step())
			m.quantumEnd = 0
			continue
		}
		now := m.cycles()
		budget := uint64(quantum)
		if at, ok := m.nextTimer(); ok {
			if at <= now {
				continue
			}
			budget = min(budget, at-now)
		}
		if every := m.syncCycles; every != 0 {
			if now >= m.nextSync {
				m.nextSync = (now/every + 1) * every
				if m.drainExec() {
					continue // the work may have pended an interrupt
				}
			}
			budget = min(budget, m.nextSync-now)
		}
		m.quantumEnd = now + budget
		st := m.cpu.Run(budget)
		m.quantumEnd = 0
		m.coreStopped(st)
		if m.o.Realtime {
			m.pace(ctx)
		}
	}
}

// boundary does the work due between two quanta: the end conditions,
// a requested reset, queued interrupts, realtime Exec work, due timers and
// the debugger's requests. end means Run returns err.
func (m *Machine) boundary(ctx context.Context) (end bool, err error) {
	m.published.Store(m.cycles())
	if err := ctx.Err(); err != nil {
		return true, m.dbg.exited(m, err)
	}
	if halted, err := m.haltState(); halted {
		return true, m.dbg.exited(m, err)
	}
	if m.crash != nil {
		if !m.dbg.attached {
			return true, m.crash
		}
		m.dbg.faulted(m)
	}
	if m.resetRequested {
		if err := m.Reset(); err != nil {
			return true, err
		}
		if m.o.OnReset != nil {
			m.o.OnReset()
		}
	}
	m.takeIRQs()
	if m.o.Realtime && !m.dbg.paused {
		m.drainExec() // not while a debugger holds the machine
	}
	m.fireTimers()
	m.dbg.poll(m)
	return false, nil
}

// coreStopped handles why the core returned.
func (m *Machine) coreStopped(st cpu.Stop) {
	switch st {
	case cpu.StopBreakpoint:
		m.dbg.hit(m, gdb.StopBreakpoint, 0)
	case cpu.StopWatchpoint:
		m.dbg.hit(m, gdb.StopWatchpoint, m.cpu.WatchAddr)
	}
	// StopBudget and StopRequested: the next boundary looks at timers,
	// pending exceptions and requests.
}

// idle is a sleeping core with nothing to wake it. Deterministic mode
// applies queued Exec work (a sync point), then jumps virtual time to the
// next timer, or waits for work from outside if there is none. Realtime
// mode waits for the wall clock to reach the next timer, or for work.
func (m *Machine) idle(ctx context.Context) {
	m.drainExec()
	if m.wakes() {
		return
	}
	at, ok := m.nextTimer()
	if !m.o.Realtime && ok {
		if now := m.cycles(); at > now {
			m.skipped += at - now
		}
		return
	}
	var tc <-chan time.Time
	if ok {
		wait := time.Until(m.wallOf(at))
		if wait <= 0 {
			m.catchUp(at)
			return
		}
		t := time.NewTimer(wait)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
	case <-m.wake:
	case f := <-m.dbg.req:
		f()
	case <-tc:
	}
	if m.o.Realtime {
		m.catchUp(at)
	}
}

// Realtime pacing: virtual time tracks the wall clock from an anchor
// (reset when Run starts or a debugger resumes the machine).

func (m *Machine) anchor() {
	m.wallStart, m.cycStart = time.Now(), m.cycles()
}

// wallOf is the wall time at which the virtual clock reaches cycle cyc.
func (m *Machine) wallOf(cyc uint64) time.Time {
	if cyc < m.cycStart {
		return m.wallStart
	}
	return m.wallStart.Add(m.durationOf(cyc - m.cycStart))
}

// catchUp advances a sleeping core's clock to the wall clock, at most to
// cycle limit (the next timer; 0: no limit).
func (m *Machine) catchUp(limit uint64) {
	target := m.cycStart + m.cyclesOf(time.Since(m.wallStart))
	if limit != 0 && target > limit {
		target = limit
	}
	if now := m.cycles(); target > now {
		m.skipped += target - now
	}
}

// pace sleeps while virtual time runs ahead of the wall clock.
func (m *Machine) pace(ctx context.Context) {
	ahead := time.Until(m.wallOf(m.cycles()))
	if ahead < paceSlack {
		return
	}
	t := time.NewTimer(ahead)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-m.wake:
		m.signal() // leave it for the boundary to see
	}
}

// Trap is the cpu.Hooks method for execution outside every executable
// region: Options.Trap (a system call), then, in deterministic mode, the
// sync point: Settle, and the Exec work it let in.
func (m *Machine) Trap(c *cpu.CPU, pc uint32) bool {
	if m.o.Trap == nil || !m.o.Trap(c, pc) {
		return false
	}
	m.SyncPoint()
	return true
}

// SyncPoint makes a deterministic sync point: Options.Settle, with a
// context Halt cancels (a debugger's kill, mvTestingComplete) and the
// debugger's requests served while it waits, then the Exec work it let
// in. Each system call makes one (Trap); a function given to At calls it
// for a sync point at a timer (the kernel's virtual timers). Call it on
// the machine goroutine. In realtime mode it does nothing.
func (m *Machine) SyncPoint() {
	if m.o.Realtime {
		return
	}
	if m.o.Settle != nil {
		if err := m.settle(); err != nil {
			m.Halt(err)
		}
		if m.dbg.attached {
			m.kick() // a request Settle served may have stopped the machine
		}
	}
	if m.drainExec() {
		m.kick() // the work may have pended an interrupt or set a timer
	}
}

// settle calls Options.Settle with a context Halt cancels (a debugger's
// kill, or mvTestingComplete from elsewhere, ends a wait for a reply that
// may never come) and the debugger's requests to serve.
func (m *Machine) settle() error {
	ctx := m.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.mu.Lock()
	if m.halted {
		cancel()
	}
	m.settleStop = cancel
	m.mu.Unlock()
	m.settling = true
	err := m.o.Settle(ctx, m.dbg.req)
	m.settling = false
	m.mu.Lock()
	m.settleStop = nil
	m.mu.Unlock()
	return err
}
