package cpu

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// straightLineOps is the body of the benchmark loop: straight-line
// integer instructions (ALU with flags, shifts, immediates, stack loads
// and stores).
var straightLineOps = []string{
	"adds r0, r0, r1", "eors r2, r2, r0", "lsls r3, r1, #3", "add.w r4, r4, r2, lsl #2", "subs r5, r5, #7",
	"str r0, [sp, #8]", "ldr r6, [sp, #8]", "orr r1, r1, #0x100", "mov.w r7, r5, lsr #1", "and r2, r2, r4",
	"cmp r3, r5", "movw r6, #0x1234", "ldrb r7, [sp, #9]", "bic r3, r3, #0xf0", "mul r5, r5, r1",
	"strh r4, [sp, #12]", "adc r0, r0, #5", "rsb r1, r1, #100", "ubfx r6, r0, #4, #8", "str.w r2, [sp, #16]",
}

// straightLine is an endless loop of 1000 of those instructions closed by
// a branch back.
func straightLine() string {
	var b strings.Builder
	b.WriteString(" movs r0, #1\n movs r1, #2\n movs r2, #3\n movs r3, #4\n movs r4, #5\n movs r5, #6\n sub sp, #64\nloop:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, " %s\n", straightLineOps[i%len(straightLineOps)])
	}
	b.WriteString(" b loop\n")
	return b.String()
}

// BenchmarkStraightLine reports the interpreter's speed on straight-line
// integer code: ns per emulated instruction and million instructions per
// second, by wall time and by the thread's CPU time, and the ratio to the same
// operations compiled natively by Go (host-built) in the same run.
func BenchmarkStraightLine(b *testing.B) {
	code := assemble(b, straightLine(), flashBase)
	m := newMachine(code, flashBase)
	const chunk = 1_000_000
	m.Run(chunk) // warm the decode cache
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	start, cpu0 := m.Instructions, threadCPU()
	for i := 0; i < b.N; i++ {
		if s := m.Run(chunk); s != StopBudget {
			b.Fatalf("stopped: %v", s)
		}
	}
	cpu := threadCPU() - cpu0
	wall := b.Elapsed()
	b.StopTimer()
	n := float64(m.Instructions - start)
	// The same operations natively, as many of them, timed the same way.
	nat0 := threadCPU()
	sink = native(int(n) / len(straightLineOps))
	nat := threadCPU() - nat0
	b.ReportMetric(wall.Seconds()*1e9/n, "ns/instr")
	b.ReportMetric(n/wall.Seconds()/1e6, "Minstr/s")
	b.ReportMetric(cpu.Seconds()*1e9/n, "cpu-ns/instr")
	b.ReportMetric(n/cpu.Seconds()/1e6, "Minstr/cpu-s")
	if nat > 0 {
		b.ReportMetric(cpu.Seconds()/nat.Seconds(), "x-native")
	}
}

var sink uint32

// native performs straightLineOps' data flow in Go, rounds times.
func native(rounds int) uint32 {
	var r [8]uint32
	var mem [16]uint32
	r[0], r[1], r[2], r[3], r[4], r[5] = 1, 2, 3, 4, 5, 6
	var c uint32
	for i := 0; i < rounds; i++ {
		s := uint64(r[0]) + uint64(r[1])
		r[0], c = uint32(s), uint32(s>>32)
		r[2] ^= r[0]
		r[3] = r[1] << 3
		r[4] += r[2] << 2
		r[5] -= 7
		mem[2] = r[0]
		r[6] = mem[2]
		r[1] |= 0x100
		r[7] = r[5] >> 1
		r[2] &= r[4]
		if r[3] >= r[5] {
			c = 1
		}
		r[6] = 0x1234
		r[7] = mem[2] >> 8 & 0xff
		r[3] &^= 0xf0
		r[5] *= r[1]
		mem[3] = r[4] & 0xffff
		r[0] += 5 + c
		r[1] = 100 - r[1]
		r[6] = r[0] >> 4 & 0xff
		mem[4] = r[2]
	}
	return r[0] ^ r[1] ^ r[2] ^ r[3] ^ r[4] ^ r[5] ^ r[6] ^ r[7] ^ mem[3] ^ mem[4]
}

// BenchmarkCompiledC reports the speed on gcc -O2 code (loops, calls,
// loads and stores, 64-bit division in libgcc): the TestCompiledC
// program, run again and again.
func BenchmarkCompiledC(b *testing.B) {
	img := compileC(b, "#define EXPECT_CRC "+itoa(crcOf())+"u\n"+cProgram, "-O2", ramBase)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m := newMachine(img, ramBase)
	m.Run(10_000_000) // decode
	b.ResetTimer()
	n0, c0 := m.Instructions, threadCPU()
	for i := 0; i < b.N; i++ {
		// Run the program again on the same machine (decoded code stays).
		m.R = [16]uint32{13: ramBase + ramSize, 15: ramBase}
		m.h.bkpt = 0
		m.Run(10_000_000)
		if m.h.bkpt != 1 || m.R[0] != 0x600d {
			b.Fatalf("program failed: r0 %#x", m.R[0])
		}
	}
	cpu, n := threadCPU()-c0, m.Instructions-n0
	b.ReportMetric(cpu.Seconds()*1e9/float64(n), "cpu-ns/instr")
	b.ReportMetric(float64(n)/cpu.Seconds()/1e6, "Minstr/cpu-s")
	b.ReportMetric(float64(n)/float64(b.N), "instr/op")
}

// BenchmarkTrap reports the core's share of a system call: a BLX to a
// secure-gateway address, the Trap hook (which only returns to LR) and
// the loop around it; ns per call in thread CPU time.
func BenchmarkTrap(b *testing.B) {
	m := newMachine(assemble(b, " ldr r3, =0x0C1FE0D9\nloop: blx r3\n b loop", flashBase), flashBase)
	m.h.trapOK = true
	m.Run(100)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	m.h.traps = m.h.traps[:0]
	c0 := threadCPU()
	for i := 0; i < b.N; i++ {
		m.Run(3 * 1000) // 1000 calls: blx, trap, b
		m.h.traps = m.h.traps[:0]
	}
	b.ReportMetric(float64(threadCPU()-c0)/float64(b.N*1000), "cpu-ns/call")
}
