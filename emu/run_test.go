package emu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
)

// spinThenCall spins 100000 times over the word at FLAG, counting the
// iterations that saw it non-zero, then makes a system call (a trap at
// 0x0C1FE0D9, mvNoOp's gateway), then reads FLAG again and finishes
// with r0 = early*2 + (FLAG after the call != 0).
const spinThenCall = `
	.equ FLAG, 0x20000700
	.thumb_func
reset:
	ldr r4, =FLAG
	ldr r5, =100000
	movs r6, #0
1:	ldr r0, [r4]
	cmp r0, #0
	it ne
	addne r6, r6, #1
	subs r5, #1
	bne 1b
	ldr r1, =0x0C1FE0D9
	blx r1
	ldr r0, [r4]
	cmp r0, #0
	it ne
	movne r0, #1
	add r0, r0, r6, lsl #1
	b done
`

// TestDeterministicDelivery: in deterministic mode work queued through
// Exec is applied only at a sync point — after a system call, once
// Settle has returned — never while the firmware runs, however early it
// was queued. Settle's error ends the run.
func TestDeterministicDelivery(t *testing.T) {
	img, _ := assemble(t, spinThenCall)
	var a *asmMachine
	replied := make(chan struct{})
	settles := 0
	a = newAsmMachine(t, img, Options{Settle: func(ctx context.Context, _ <-chan func()) error {
		settles++
		select {
		case <-replied:
			return nil
		case <-ctx.Done():
			return ctx.Err()
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
	// Queued before the run starts, from another goroutine, after which
	// the "reply" is complete.
	go func() {
		a.Exec(func() {
			r, _ := a.region(0x20000700, 4)
			r.Data[0x700] = 1
		})
		close(replied)
	}()
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	if a.result != 1 || settles == 0 {
		t.Fatalf("result %d (want 1: never seen early, seen after the call), settles %d", a.result, settles)
	}

	errBroken := errors.New("kernel gone")
	a = newAsmMachine(t, img, Options{Settle: func(context.Context, <-chan func()) error { return errBroken }})
	trap = a.o.Trap
	a.o.Trap = func(c *cpu.CPU, pc uint32) bool { c.R[15] = c.R[14] &^ 1; return pc == 0x0C1FE0D8 || trap(c, pc) }
	if err := a.run(t); !errors.Is(err, errBroken) {
		t.Fatalf("Run with a failing Settle = %v", err)
	}
}

// TestRealtime: realtime mode applies Exec work while the firmware runs
// (a loop that never makes a system call sees it) and paces virtual time
// so it never runs ahead of the wall clock by more than the slack.
func TestRealtime(t *testing.T) {
	img, _ := assemble(t, waitFlag)
	a := newAsmMachine(t, img, Options{Realtime: true})
	ready := make(chan struct{})
	a.At(20*time.Millisecond, func() { close(ready) })
	go func() {
		<-ready
		a.Exec(func() {
			r, _ := a.region(0x20000700, 4)
			r.Data[0x700] = 7
		})
	}()
	start := time.Now()
	if err := a.run(t); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	if a.result != 7 {
		t.Fatalf("result %d", a.result)
	}
	if v := a.Now(); v < 20*time.Millisecond || v > wall+paceSlack {
		t.Fatalf("virtual time %v after %v of wall time: not paced", v, wall)
	}

	// A sleeping core waits for the wall clock to reach its next timer
	// (ticks of 1 ms here, so an unpaced run would be far ahead).
	img, _ = assemble(t, strings.Replace(sleeper, "=15999", "=159999", 1))
	a = newAsmMachine(t, img, Options{Realtime: true})
	start = time.Now()
	if err := a.run(t); err != nil || a.result != 10 {
		t.Fatalf("sleeper: %v, %d ticks", err, a.result)
	}
	if wall, v := time.Since(start), a.Now(); v < 10*time.Millisecond || v > wall+paceSlack {
		t.Fatalf("sleeper: virtual time %v after %v of wall time", v, wall)
	}
}

// TestSyncEvery: a firmware that spins without system calls or sleep sees
// Exec work in deterministic mode only with Options.SyncEvery, at a
// multiple of the period.
func TestSyncEvery(t *testing.T) {
	img, _ := assemble(t, waitFlag)
	for _, every := range []time.Duration{0, 100 * time.Microsecond} {
		a := newAsmMachine(t, img, Options{SyncEvery: every})
		a.Exec(func() {
			r, _ := a.region(0x20000700, 4)
			r.Data[0x700] = 9
		})
		ctx, cancel := context.WithCancel(context.Background())
		a.At(time.Millisecond, cancel) // give up after 1 ms of virtual time
		err := a.Run(ctx)
		cancel()
		switch {
		case every == 0 && (err == nil || a.result != 0):
			t.Fatalf("without SyncEvery the spinning firmware saw Exec work: %v, %d", err, a.result)
		case every != 0 && (err != nil || a.result != 9 || a.Now() < every || a.Now() > every+time.Microsecond):
			t.Fatalf("with SyncEvery %v: %v, result %d at %v", every, err, a.result, a.Now())
		}
	}
}
