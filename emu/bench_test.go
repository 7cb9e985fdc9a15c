package emu

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
)

// loopProgram counts in r0 forever; with TICK set, SysTick interrupts it
// every TICK+1 cycles (the handler only returns); with CALL set, every
// iteration makes a system call (a trap at mvNoOp's gateway).
const loopProgram = `
	.thumb_func
reset:
	.if TICK
	ldr r0, =0xE000E014
	ldr r1, =TICK
	str r1, [r0]
	str r1, [r0, #4]
	movs r1, #7
	str r1, [r0, #-4]
	.endif
	movs r0, #0
1:	adds r0, #1
	adds r1, r0, #3
	eors r1, r0
	.if CALL
	ldr r2, =0x0C1FE0D9
	blx r2
	.endif
	b 1b

	.thumb_func
systick_handler:
	bx lr
`

const benchInstructions = 20_000_000

func benchImage(b *testing.B, tick, call int) []byte {
	img, _ := assemble(b, fmt.Sprintf(".equ TICK, %d\n.equ CALL, %d\n%s", tick, call, loopProgram))
	return img
}

// runMachine runs img on a machine for n cycles of virtual time.
func runMachine(b *testing.B, img []byte, n uint64) *Machine {
	a := newAsmMachine(b, img, Options{})
	a.o.Trap = func(c *cpu.CPU, pc uint32) bool { c.R[0], c.R[15] = 0, c.R[14]&^1; return true }
	a.atCycle(n, func(m *Machine) { m.Halt(nil) })
	if err := a.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
	return a.Machine
}

// BenchmarkMachine reports emulated instructions per second through the
// machine's run loop (quanta, timers, exception checks), alone and with
// SysTick interrupting at 1 kHz, beside the bare core running the same
// loop in the same iterations (interleaved, so load on the host hits both
// alike), with the ratios; and the cost of a trapped system call through
// the machine (Trap, sync point, quantum break).
func BenchmarkMachine(b *testing.B) {
	plain, ticked, calls := benchImage(b, 0, 0), benchImage(b, 159_999, 0), benchImage(b, 0, 1)
	var core, mach, tick, trap time.Duration
	var iterations uint64
	for range b.N {
		a := newAsmMachine(b, plain, Options{})
		start := time.Now()
		a.cpu.Run(benchInstructions)
		core += time.Since(start)

		start = time.Now()
		runMachine(b, plain, benchInstructions)
		mach += time.Since(start)

		start = time.Now()
		runMachine(b, ticked, benchInstructions)
		tick += time.Since(start)

		start = time.Now()
		m := runMachine(b, calls, benchInstructions/10)
		trap += time.Since(start)
		iterations += m.cpu.Instructions / 6 // 6 instructions per iteration, one of them the trap
	}
	mips := func(d time.Duration) float64 { return float64(b.N) * benchInstructions / d.Seconds() / 1e6 }
	b.ReportMetric(mips(core), "core-MIPS")
	b.ReportMetric(mips(mach), "machine-MIPS")
	b.ReportMetric(mips(tick), "systick-MIPS")
	b.ReportMetric(float64(core)/float64(mach), "machine/core")
	b.ReportMetric(float64(core)/float64(tick), "systick/core")
	b.ReportMetric(float64(trap.Nanoseconds())/float64(iterations), "ns/trap-iteration")
	b.ReportMetric(0, "ns/op")
}
