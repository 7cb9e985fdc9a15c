package cpu

import (
	"fmt"
	"strings"
	"testing"
)

// straightLine is an endless loop of 1000 straight-line integer
// instructions (ALU with flags, shifts, immediates, stack loads/stores)
// closed by a branch back.
func straightLine() string {
	var b strings.Builder
	b.WriteString(" movs r0, #1\n movs r1, #2\n movs r2, #3\n movs r3, #4\n movs r4, #5\n movs r5, #6\n sub sp, #64\nloop:\n")
	ops := []string{
		"adds r0, r0, r1", "eors r2, r2, r0", "lsls r3, r1, #3", "add.w r4, r4, r2, lsl #2", "subs r5, r5, #7",
		"str r0, [sp, #8]", "ldr r6, [sp, #8]", "orr r1, r1, #0x100", "mov.w r7, r5, lsr #1", "and r2, r2, r4",
		"cmp r3, r5", "movw r6, #0x1234", "ldrb r7, [sp, #9]", "bic r3, r3, #0xf0", "mul r5, r5, r1",
		"strh r4, [sp, #12]", "adc r0, r0, #5", "rsb r1, r1, #100", "ubfx r6, r0, #4, #8", "str.w r2, [sp, #16]",
	}
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, " %s\n", ops[i%len(ops)])
	}
	b.WriteString(" b loop\n")
	return b.String()
}

// BenchmarkStraightLine reports the interpreter's speed on straight-line
// integer code (ns per instruction, and million instructions per second).
func BenchmarkStraightLine(b *testing.B) {
	code := assemble(b, straightLine(), flashBase)
	m := newMachine(code, flashBase)
	const chunk = 1_000_000
	m.Run(chunk) // warm the decode cache
	b.ResetTimer()
	start := m.Instructions
	for i := 0; i < b.N; i++ {
		if s := m.Run(chunk); s != StopBudget {
			b.Fatalf("stopped: %v", s)
		}
	}
	n := float64(m.Instructions - start)
	b.ReportMetric(b.Elapsed().Seconds()*1e9/n, "ns/instr")
	b.ReportMetric(n/b.Elapsed().Seconds()/1e6, "Minstr/s")
}
