package emu

import (
	"context"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/emu/gdb"
)

// TestDebuggerWhileSettling: while a system call settles (Settle waits
// for the outside world, e.g. mvRequestNetwork on a link that is down),
// the debugger is still served: it attaches, reads registers, and a ^C
// interrupts its Continue — all before Settle returns. A Step waits for
// the settle to end (it runs the core).
func TestDebuggerWhileSettling(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0x0C1FE0D9
	blx r1
after:
	movs r0, #0x42
	b done
`)
	entered, release := make(chan struct{}), make(chan struct{})
	calls := 0
	a := newAsmMachine(t, img, Options{Settle: func(ctx context.Context, serve <-chan func()) error {
		if calls++; calls > 1 {
			return nil // done's call
		}
		close(entered)
		for {
			select {
			case <-release:
				return nil
			case f := <-serve:
				f()
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}})
	trap := a.o.Trap
	a.o.Trap = func(c *cpu.CPU, pc uint32) bool {
		if pc == 0x0C1FE0D8 {
			c.R[0], c.R[15] = 0, c.R[14]&^1
			return true
		}
		return trap(c, pc)
	}
	done, _ := startRun(t, a)
	<-entered

	tg := attachWhileSettling(t, a, syms["after"], "while settling")

	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan gdb.Stop, 1)
	go func() { stopped <- tg.Continue(ctx) }()
	cancel() // gdb's ^C
	select {
	case s := <-stopped:
		if s.Kind != gdb.StopInterrupted {
			t.Fatalf("^C while settling: %+v", s)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("^C did not interrupt Continue while Settle waited")
	}

	stepped := make(chan gdb.Stop, 1)
	go func() { stepped <- tg.Step() }()
	// The step is received by Settle and held for the run loop; a read
	// queued after it is served while Settle still waits.
	if v := tg.ReadRegister(gdb.R0); v != 0 {
		t.Fatalf("r0 %#x", v)
	}
	select {
	case s := <-stepped:
		t.Fatalf("Step ran inside the system call: %+v", s)
	default:
	}
	close(release)
	select {
	case s := <-stepped:
		if s.Kind != gdb.StopStep || tg.ReadRegister(gdb.R0) != 0x42 {
			t.Fatalf("step after the settle: %+v, r0 %#x", s, tg.ReadRegister(gdb.R0))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the Step held during the settle never ran")
	}
	tg.Detach()
	if err := waitRun(t, done); err != nil || a.result != 0x42 {
		t.Fatalf("run: %v result %#x", err, a.result)
	}
}

// TestKillWhileSettling: a debugger's kill (Halt) ends a system call's
// settle, which may be waiting for a reply that never comes.
func TestKillWhileSettling(t *testing.T) {
	img, _ := assemble(t, `
	.thumb_func
reset:
	ldr r1, =0x0C1FE0D9
	blx r1
	b done
`)
	entered := make(chan struct{})
	a := newAsmMachine(t, img, Options{Settle: servingUntilHalt(entered)})
	trap := a.o.Trap
	a.o.Trap = func(c *cpu.CPU, pc uint32) bool {
		if pc == 0x0C1FE0D8 {
			c.R[0], c.R[15] = 0, c.R[14]&^1
			return true
		}
		return trap(c, pc)
	}
	done, _ := startRun(t, a)
	<-entered
	tg := a.Debugger()
	tg.Attach()
	tg.Kill()
	if err := waitRun(t, done); err != ErrKilled {
		t.Fatalf("run after a kill while settling: %v, want ErrKilled", err)
	}
}

// TestSyncPointAtATimer: a sync point made at a timer (SyncPoint from a
// function given to At — the kernel's virtual timers) is one as after a
// system call: the debugger is served while Settle waits, and a kill
// (Halt) ends the wait.
func TestSyncPointAtATimer(t *testing.T) {
	img, syms := assemble(t, `
	.thumb_func
reset:
	b reset
`)
	entered := make(chan struct{})
	a := newAsmMachine(t, img, Options{Settle: servingUntilHalt(entered)})
	a.At(time.Millisecond, a.SyncPoint)
	done, _ := startRun(t, a)
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no sync point at the timer")
	}
	tg := attachWhileSettling(t, a, syms["reset"], "at the timer's sync point")
	tg.Kill()
	if err := waitRun(t, done); err != ErrKilled {
		t.Fatalf("run after a kill at the timer's sync point: %v, want ErrKilled", err)
	}
}

// servingUntilHalt is an Options.Settle that closes entered, then serves
// the debugger's requests until its context ends (Halt).
func servingUntilHalt(entered chan struct{}) func(ctx context.Context, serve <-chan func()) error {
	return func(ctx context.Context, serve <-chan func()) error {
		close(entered)
		for {
			select {
			case f := <-serve:
				f()
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// attachWhileSettling attaches a debugger to a machine waiting in Settle
// and reads PC, which must be pc: Settle serves it (where: when).
func attachWhileSettling(t *testing.T, a *asmMachine, pc uint32, where string) gdb.Target {
	t.Helper()
	tg := a.Debugger()
	served := make(chan uint32, 1)
	go func() {
		tg.Attach()
		served <- tg.ReadRegister(gdb.PC)
	}()
	select {
	case got := <-served:
		if got != pc {
			t.Fatalf("PC read %s %#x, want %#x", where, got, pc)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("the debugger was not served %s", where)
	}
	return tg
}
