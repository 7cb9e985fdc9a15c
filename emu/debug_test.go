package emu

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/gdb"
)

// startRun runs the machine on its own goroutine; the returned channel
// yields Run's error.
func startRun(t *testing.T, a *asmMachine) (<-chan error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(cancel)
	return done, cancel
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// TestDebugger drives the gdb.Target adapter over the context-switch
// program: attach at reset, breakpoint, step, watchpoint, registers,
// memory (a debugger read of SYST_CSR leaves COUNTFLAG set), an
// interrupted Continue, and detach letting the run finish.
func TestDebugger(t *testing.T) {
	img, syms := assemble(t, contextSwitch)
	a := newAsmMachine(t, img, Options{Paused: true})
	done, _ := startRun(t, a)
	tg := a.Debugger()
	if s := tg.Attach(); s.Kind != gdb.StopInterrupted {
		t.Fatalf("attach: %+v", s)
	}
	if pc := tg.ReadRegister(gdb.PC); pc != syms["reset"] {
		t.Fatalf("pc at attach %#x, want reset %#x", pc, syms["reset"])
	}
	if sp := tg.ReadRegister(gdb.MSP); sp != 0x20010000 {
		t.Fatalf("msp %#x", sp)
	}

	if err := tg.SetBreakpoint(syms["task_b"]); err != nil {
		t.Fatal(err)
	}
	if s := tg.Continue(context.Background()); s.Kind != gdb.StopBreakpoint || tg.ReadRegister(gdb.PC) != syms["task_b"] {
		t.Fatalf("continue to task_b: %+v pc %#x", s, tg.ReadRegister(gdb.PC))
	}
	if c := tg.ReadRegister(gdb.CONTROL); c != 2 || tg.ReadRegister(gdb.SP) != tg.ReadRegister(gdb.PSP) {
		t.Fatalf("task B: control %d sp %#x psp %#x", c, tg.ReadRegister(gdb.SP), tg.ReadRegister(gdb.PSP))
	}
	if s := tg.Step(); s.Kind != gdb.StopStep || tg.ReadRegister(gdb.PC) != syms["task_b"]+2 {
		t.Fatalf("step: %+v pc %#x", s, tg.ReadRegister(gdb.PC))
	}
	if err := tg.ClearBreakpoint(syms["task_b"]); err != nil {
		t.Fatal(err)
	}
	if err := tg.WriteRegister(gdb.R7, 0xabcd); err != nil || tg.ReadRegister(gdb.R7) != 0xabcd {
		t.Fatalf("write r7: %v", err)
	}

	if err := tg.SetWatchpoint(gdb.WatchWrite, 0x20000108, 4); err != nil {
		t.Fatal(err)
	}
	s := tg.Continue(context.Background())
	if s.Kind != gdb.StopWatchpoint || s.Addr != 0x20000108 || tg.ReadRegister(gdb.XPSR)&0x1ff != excPendSV {
		t.Fatalf("watch: %+v xpsr %#x", s, tg.ReadRegister(gdb.XPSR))
	}
	if err := tg.ClearWatchpoint(gdb.WatchWrite, 0x20000108, 4); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	for range 2 {
		if err := tg.ReadMemory(0xE000E010, b); err != nil || b[2]&1 == 0 {
			t.Fatalf("SYST_CSR through the debugger: %v %x (COUNTFLAG should stay set)", err, b)
		}
	}
	if err := tg.ReadMemory(0x20000108, b); err != nil || b[0] != 2 { // the first switch led to task_b
		t.Fatalf("switch count %v %x", err, b)
	}
	if err := tg.ReadMemory(0x7000_0000, b); err == nil {
		t.Fatal("read of unmapped memory succeeded")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := tg.ReadRegister(gdb.PC)
	if s := tg.Continue(ctx); s.Kind != gdb.StopInterrupted || tg.ReadRegister(gdb.PC) != before {
		t.Fatalf("continue with a done context: %+v", s)
	}
	// Keep the program running (the switch count far from 100) until the
	// interrupt, which comes once virtual time has moved on.
	if err := tg.WriteMemory(0x20000108, []byte{0, 0, 0, 0x80}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	// The ^C comes from a virtual timer 2 ms on (set on the machine
	// goroutine, the machine stopped for the debugger).
	a.dbgDo(func() { a.At(a.Now()+2*time.Millisecond, cancel) }, false)
	if s := tg.Continue(ctx); s.Kind != gdb.StopInterrupted {
		t.Fatalf("interrupted continue: %+v", s)
	}
	if err := tg.WriteMemory(0x20000108, []byte{99, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	tg.Detach()
	if err := waitRun(t, done); err != nil || a.result != 100 {
		t.Fatalf("after detach: %v, result %d", err, a.result)
	}
	if s := tg.Continue(context.Background()); s.Kind != gdb.StopExited {
		t.Fatalf("continue after the run ended: %+v", s)
	}
}

// TestDebuggerFaultAndExit: an unhandled fault stops the debugger with
// SIGBUS at the faulting instruction; after detach the run ends with the
// crash. A program that finishes under Continue reports StopExited.
func TestDebuggerFaultAndExit(t *testing.T) {
	img, syms := assemble(t, badStore)
	a := newAsmMachine(t, img, Options{Paused: true})
	done, _ := startRun(t, a)
	tg := a.Debugger()
	tg.Attach()
	s := tg.Continue(context.Background())
	if s.Kind != gdb.StopFault || s.Signal != gdb.SIGBUS || tg.ReadRegister(gdb.PC) != syms["bad"] {
		t.Fatalf("fault stop %+v pc %#x", s, tg.ReadRegister(gdb.PC))
	}
	tg.Detach()
	var k *Crash
	if err := waitRun(t, done); !errors.As(err, &k) {
		t.Fatalf("Run after detach = %v, want the crash", err)
	}

	img, _ = assemble(t, contextSwitch)
	a = newAsmMachine(t, img, Options{Paused: true})
	done, _ = startRun(t, a)
	tg = a.Debugger()
	tg.Attach()
	if s := tg.Continue(context.Background()); s.Kind != gdb.StopExited || s.Code != 0 {
		t.Fatalf("continue to the end: %+v", s)
	}
	if err := waitRun(t, done); err != nil {
		t.Fatal(err)
	}

	a = newAsmMachine(t, img, Options{Paused: true})
	done, _ = startRun(t, a)
	tg = a.Debugger()
	tg.Attach()
	tg.Kill()
	if err := waitRun(t, done); !errors.Is(err, ErrKilled) {
		t.Fatalf("after kill: %v", err)
	}
}

// TestDebuggerResetKeepsLoadedFlash: the debugger's reset restores SRAM
// and registers as loaded, but flash the debugger programmed (gdb's
// load) stays programmed.
func TestDebuggerResetKeepsLoadedFlash(t *testing.T) {
	img, syms := assemble(t, contextSwitch)
	a := newAsmMachine(t, img, Options{Paused: true})
	done, _ := startRun(t, a)
	tg := a.Debugger()
	tg.Attach()
	if err := tg.WriteMemory(0x0800_f000, []byte{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	if err := tg.WriteMemory(0x2000_0100, []byte{9, 9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	if err := tg.WriteRegister(gdb.R5, 77); err != nil {
		t.Fatal(err)
	}
	if err := tg.Reset(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	if err := tg.ReadMemory(0x0800_f000, b); err != nil || b[3] != 4 {
		t.Fatalf("flash after reset %v %x", err, b)
	}
	if err := tg.ReadMemory(0x2000_0100, b); err != nil || b[0] != 0 {
		t.Fatalf("SRAM after reset %v %x", err, b)
	}
	if tg.ReadRegister(gdb.R5) != 0 || tg.ReadRegister(gdb.PC) != syms["reset"] || tg.ReadRegister(gdb.MSP) != 0x20010000 {
		t.Fatal("registers not reset")
	}
	tg.Detach()
	if err := waitRun(t, done); err != nil || a.result != 100 {
		t.Fatalf("run after reset and detach: %v, %d", err, a.result)
	}
}

type codedExit int

func (c codedExit) Error() string { return "exit" }
func (c codedExit) ExitCode() int { return int(c) }

// TestDebuggerExitCode: gdb is told the image's own exit status, not 1
// for every non-zero one.
func TestDebuggerExitCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want uint8
	}{
		{nil, 0},
		{errors.New("crash"), 1},
		{codedExit(3), 3},
		{fmt.Errorf("run: %w", codedExit(42)), 42},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
