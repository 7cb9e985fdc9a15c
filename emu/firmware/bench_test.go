package firmware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/emu"
	"github.com/mvnet/mvnet/internal/fwbuild"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// runImage runs an image through Run, as `mvnet __emulate` does (no
// trace, output discarded), and returns its status, the instructions it
// retired and the wall time from the machine's creation (the image loaded,
// the process and the peripherals built) to the end of the run.
func runImage(tb testing.TB, image string, loadAddress uint32) (int, uint64, time.Duration) {
	code, instr, wall, _ := runImageCPU(tb, image, loadAddress)
	return code, instr, wall
}

// runImageCPU is runImage, also returning the CPU time of the machine's
// thread (Run's goroutine, locked to it): a figure a loaded host does not
// distort as much as the wall time.
func runImageCPU(tb testing.TB, image string, loadAddress uint32) (int, uint64, time.Duration, time.Duration) {
	tb.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var m *emu.Machine
	var start time.Time
	var cpu0 time.Duration
	testHookMachine = func(mm *emu.Machine) { m, start, cpu0 = mm, time.Now(), threadCPU(tb) }
	defer func() { testHookMachine = nil }()
	code, err := Run(context.Background(), Options{Image: image, LoadAddress: loadAddress,
		Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard})
	wall, cpu := time.Since(start), threadCPU(tb)-cpu0
	if err != nil {
		tb.Fatal(err)
	}
	return code, m.CPU().Instructions, wall, cpu
}

// threadCPU is the calling thread's CPU time (user and system).
func threadCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

// hostBench runs the host-built bench program: its time per round, from
// two runs with different round counts so that the cost of starting a
// process cancels, and its status for the given rounds (bench_code of the
// checksum, which the emulated run must match).
func hostBench(b *testing.B, rounds int) (perRound time.Duration, code int) {
	run := func(rounds int) (time.Duration, int) {
		exe, err := fwbuild.BuildHost("bench", fwbuild.Options{Defines: []string{fmt.Sprintf("FW_BENCH_ROUNDS=%d", rounds)}})
		if err != nil {
			b.Fatal(err)
		}
		best, code := time.Duration(1<<62), 0
		for range 3 {
			start := time.Now()
			var exit *exec.ExitError
			out, err := exec.Command(exe).CombinedOutput()
			switch {
			case errors.As(err, &exit):
				code = exit.ExitCode()
			case err != nil:
				b.Fatalf("host bench: %v\n%s", err, out)
			}
			best = min(best, time.Since(start))
		}
		return best, code
	}
	base, code := run(rounds)
	long, _ := run(rounds + 20000)
	return max(long-base, time.Nanosecond) / 20000, code
}

// BenchmarkFirmware runs the bench program (straight-line integer code,
// about 44,000 instructions a round) on the emulator and reports the
// emulated instructions per second and how many times slower a round is
// than the same C built for the host, measured in the same run:
//
//	go test ./emu/firmware -run '^$' -bench Firmware -benchtime 20x
func BenchmarkFirmware(b *testing.B) {
	tool.Require(b, fwbuild.Compiler)
	const rounds = 200
	elf, err := fwbuild.Build("bench", fwbuild.Options{Defines: []string{fmt.Sprintf("FW_BENCH_ROUNDS=%d", rounds)}})
	if err != nil {
		b.Fatal(err)
	}
	host, want := hostBench(b, rounds)
	var instr uint64
	var wall, cpu time.Duration
	b.ResetTimer()
	for range b.N {
		code, n, d, c := runImageCPU(b, elf, 0)
		if code != want {
			b.Fatalf("bench exited %d, the host build %d: the checksums differ", code, want)
		}
		instr += n
		wall += d
		cpu += c
	}
	b.ReportMetric(float64(instr)/wall.Seconds()/1e6, "Minstr/s")
	b.ReportMetric(float64(instr)/cpu.Seconds()/1e6, "Minstr/cpu-s")
	b.ReportMetric(float64(wall/time.Duration(b.N)/rounds)/float64(host), "x-host-time")
}

// trapImage writes a raw image that calls mvNoOp n times through its
// gateway (BLX), then mvTestingComplete(0): the cost of a system call
// trap — dispatch through the process's table and Settle — and little
// else.
func trapImage(tb testing.TB, n uint32) string {
	tb.Helper()
	noop, _ := abi.GatewayFor("mvNoOp")
	done, _ := abi.GatewayFor("mvTestingComplete")
	return rawImage(tb, 0x60, map[int][]uint16{0x40: {
		0x4C04, // 0x40 ldr r4, [pc, #16]  → 0x54: mvNoOp
		0x4E05, // 0x42 ldr r6, [pc, #20]  → 0x58: n
		0x47A0, // 0x44 blx r4
		0x3E01, // 0x46 subs r6, #1
		0xD1FC, // 0x48 bne 0x44
		0x4C04, // 0x4A ldr r4, [pc, #16]  → 0x5C: mvTestingComplete
		0x2000, // 0x4C movs r0, #0
		0x47A0, // 0x4E blx r4
		0xE7FE, // 0x50 b .
		0xBF00, // 0x52 nop
	}}, map[int]uint32{
		0x00: 0x2008_0000, // initial SP: _estack
		0x04: 0x0800_0041, // Reset_Handler at 0x40, Thumb
		0x54: noop.Addr,
		0x58: n,
		0x5C: done.Addr,
	})
}

// kernelTrapImage writes a raw image that calls the kernel-served call
// n times with r0 = 0x20000000 (a word of SRAM), then
// mvTestingComplete(0). Its first call starts the kernel (and the link),
// so every call after it goes through the kernel and a Settle that asks
// it what it awaits — the cost trapImage's mvNoOp, served before any
// kernel exists, leaves out.
func kernelTrapImage(tb testing.TB, call string, n uint32) string {
	tb.Helper()
	fn, ok := abi.GatewayFor(call)
	if !ok {
		tb.Fatalf("no gateway %s", call)
	}
	done, _ := abi.GatewayFor("mvTestingComplete")
	return rawImage(tb, 0x64, map[int][]uint16{0x40: {
		0x4C04, // 0x40 ldr r4, [pc, #16]  → 0x54: the call
		0x4E05, // 0x42 ldr r6, [pc, #20]  → 0x58: n
		0x4806, // 0x44 ldr r0, [pc, #24]  → 0x60: 0x20000000
		0x47A0, // 0x46 blx r4
		0x3E01, // 0x48 subs r6, #1
		0xD1FB, // 0x4A bne 0x44
		0x4C03, // 0x4C ldr r4, [pc, #12]  → 0x5C: mvTestingComplete
		0x2000, // 0x4E movs r0, #0
		0x47A0, // 0x50 blx r4
		0xE7FE, // 0x52 b .
	}}, map[int]uint32{
		0x00: 0x2008_0000, // initial SP: _estack
		0x04: 0x0800_0041, // Reset_Handler at 0x40, Thumb
		0x54: fn.Addr,
		0x58: n,
		0x5C: done.Addr,
		0x60: 0x2000_0000,
	})
}

// BenchmarkFirmwareTrap reports the cost of one system call from the
// image: trap, dispatch by number, the call and Settle — for mvNoOp
// (served before the kernel starts: Settle returns at once) and for
// mvGetWallTime (served by the running kernel, Settle asking it what it
// awaits).
func BenchmarkFirmwareTrap(b *testing.B) {
	for _, c := range []struct {
		name  string
		image func(n uint32) string
	}{
		{"mvNoOp", func(n uint32) string { return trapImage(b, n) }},
		{"kernel", func(n uint32) string { return kernelTrapImage(b, "mvGetWallTime", n) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			image := c.image(uint32(b.N))
			b.ResetTimer()
			code, _, d := runImage(b, image, 0x0800_0000)
			if code != 0 {
				b.Fatalf("exit %d", code)
			}
			// "kernel" includes the kernel's start (its link comes up
			// at the first call, some 0.1 s): run with -benchtime=100000x
			// or more for a per-call figure.
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "ns/syscall")
		})

	}
}

// The trap image runs: every call returns to the loop, and the run ends
// with mvTestingComplete(0) after n calls (4 instructions each: blx, the
// call at the gateway, subs, bne).
func TestTrapImageRuns(t *testing.T) {
	code, instr, _ := runImage(t, trapImage(t, 1000), 0x0800_0000)
	if code != 0 || instr < 4000 || instr > 4100 {
		t.Fatalf("exit %d after %d instructions; want 0 after about 4000", code, instr)
	}
}

// The kernel trap image runs to its end: the first call starts the kernel
// and its link (the process's own cloud), the rest are served by it.
func TestKernelTrapImageRuns(t *testing.T) {
	code, instr, _ := runImage(t, kernelTrapImage(t, "mvGetWallTime", 100), 0x0800_0000)
	if code != 0 || instr < 500 || instr > 600 {
		t.Fatalf("exit %d after %d instructions; want 0 after about 500", code, instr)
	}
}
