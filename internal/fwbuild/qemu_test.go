package fwbuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/loader"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// The test firmware checked on a reference Cortex-M33, QEMU's mps2-an505,
// so that a program misbehaving under mvnet's emulator points at the
// emulator, not at the program. The an505 has no memory at 0x08000000, so
// the programs are linked for it by a copy of fw.ld with flash and SRAM
// moved to its code and SRAM addresses (an505.ld); QEMU runs in secure
// state, which changes nothing these programs use. No system call can run
// there (the gateways are unmapped), so gdb stops the program at fw_exit,
// where its result is in r0, or at Default_Handler, where a fault ended
// up; the console (_write) is skipped, the an505 having no USART2.

// an505 are the mps2-an505 addresses that replace the spec's in fw.ld.
var an505 = strings.NewReplacer("ORIGIN = 0x08000000", "ORIGIN = 0x10000000", "ORIGIN = 0x20000000", "ORIGIN = 0x38000000")

// stop is where gdb found the program.
type stop struct {
	fn         string // fw_exit or Default_Handler
	r0         uint32
	cfsr, hfsr uint32
	sp         uint32            // the stack pointer there
	stack      map[uint32]uint32 // 64 words from sp up
	defines    []string          // the build's
}

var stackLine = regexp.MustCompile(`(?m)^0x([0-9a-f]+)(?: <[^>]*>)?:((?:\s+0x[0-9a-f]+)+)\s*$`)

var stopLine = regexp.MustCompile(`STOP pc=([0-9a-f]+) fw_exit=([0-9a-f]+) Default_Handler=([0-9a-f]+) r0=([0-9a-f]+) cfsr=([0-9a-f]+) hfsr=([0-9a-f]+)`)

// runQEMU builds program for the an505 and runs it under gdb until it
// reaches fw_exit or Default_Handler.
func runQEMU(t *testing.T, program string, defines ...string) stop {
	t.Helper()
	src, err := SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := os.ReadFile(filepath.Join(src, "common", "fw.ld"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "an505.ld")
	if err := os.WriteFile(script, []byte(an505.Replace(string(ld))), 0o644); err != nil {
		t.Fatal(err)
	}
	elf, err := Build(program, Options{Defines: defines, LinkerScript: script})
	if err != nil {
		t.Fatal(err)
	}
	cmds := filepath.Join(t.TempDir(), "cmds.gdb")
	gdbScript := fmt.Sprintf(`set pagination off
set confirm off
target remote | exec qemu-system-arm -M mps2-an505 -cpu cortex-m33 -nographic -monitor none -serial none -kernel %s -S -gdb stdio
break _write
commands
silent
return 0
continue
end
break fw_exit
break Default_Handler
continue
printf "STOP pc=%%x fw_exit=%%x Default_Handler=%%x r0=%%x cfsr=%%x hfsr=%%x\n", $pc, (unsigned)&fw_exit, (unsigned)&Default_Handler, $r0, *(unsigned*)0xE000ED28, *(unsigned*)0xE000ED2C
x/64wx $sp
kill
`, elf)
	if err := os.WriteFile(cmds, []byte(gdbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "gdb-multiarch", "-nx", "-q", "-batch", "-x", cmds, elf).CombinedOutput()
	m := stopLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("gdb did not stop the program at fw_exit or Default_Handler (%v):\n%s", err, out)
	}
	var v [6]uint32
	for i := range v {
		n, _ := strconv.ParseUint(m[1+i], 16, 32)
		v[i] = uint32(n)
	}
	s := stop{fn: fmt.Sprintf("%#x", v[0]), r0: v[3], cfsr: v[4], hfsr: v[5], stack: map[uint32]uint32{}, defines: defines}
	for _, l := range stackLine.FindAllStringSubmatch(string(out), -1) {
		at, _ := strconv.ParseUint(l[1], 16, 32)
		if s.sp == 0 {
			s.sp = uint32(at)
		}
		for i, w := range strings.Fields(l[2]) {
			n, _ := strconv.ParseUint(strings.TrimPrefix(w, "0x"), 16, 32)
			s.stack[uint32(at)+4*uint32(i)] = uint32(n)
		}
	}
	switch v[0] &^ 1 {
	case v[1] &^ 1:
		s.fn = "fw_exit"
	case v[2] &^ 1:
		s.fn = "Default_Handler"
	}
	return s
}

func requireQEMU(t *testing.T) {
	t.Helper()
	requireToolchain(t)
	tool.Require(t, "qemu-system-arm")
	tool.Require(t, "gdb-multiarch")
}

// sched's two threads both advance under SysTick and PendSV, and thread A
// reports success.
func TestQEMUSched(t *testing.T) {
	requireQEMU(t)
	t.Parallel()
	if s := runQEMU(t, "sched"); s.fn != "fw_exit" || s.r0 != 0 {
		t.Errorf("sched stopped at %s with r0 %d (cfsr %#x), want fw_exit(0)", s.fn, s.r0, s.cfsr)
	}
}

// bench computes on the M33 the checksum its host build computes.
func TestQEMUBenchMatchesHost(t *testing.T) {
	requireQEMU(t)
	tool.Require(t, "cc")
	t.Parallel()
	host, err := BuildHost("bench", Options{Defines: []string{"FW_BENCH_ROUNDS=3"}})
	if err != nil {
		t.Fatal(err)
	}
	code := 0
	if err := exec.Command(host).Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	if s := runQEMU(t, "bench", "FW_BENCH_ROUNDS=3"); s.fn != "fw_exit" || s.r0 != uint32(code) {
		t.Errorf("bench on the M33 stopped at %s with %d; the host build exits %d", s.fn, s.r0, code)
	}
}

// Each deliberate fault is the fault it says, escalated to HardFault
// (HFSR.FORCED) and ending in Default_Handler.
func TestQEMUFaults(t *testing.T) {
	requireQEMU(t)
	for _, c := range []struct {
		kind  int
		name  string
		cfsr  uint32
		trace []string // the backtrace's functions; none for a fault that stacks no frame
	}{
		{1, "undefined instruction: UFSR.UNDEFINSTR", 1 << 16, []string{"undefined_instruction", "main", "Reset_Handler"}},
		{2, "bad access: BFSR.PRECISERR|BFARVALID", 1<<9 | 1<<15, []string{"bad_access", "main", "Reset_Handler"}},
		{3, "divide by zero: UFSR.DIVBYZERO", 1 << 25, []string{"divide", "main", "Reset_Handler"}},
		{4, "stack overflow: UFSR.STKOF", 1 << 20, nil},
	} {
		t.Run(strconv.Itoa(c.kind), func(t *testing.T) {
			t.Parallel()
			s := runQEMU(t, "faults", "FW_FAULT="+strconv.Itoa(c.kind))
			if s.fn != "Default_Handler" || s.cfsr != c.cfsr || s.hfsr != 1<<30 {
				t.Errorf("fault %d (%s): stopped at %s, CFSR %#x HFSR %#x; want Default_Handler, CFSR %#x, HFSR FORCED",
					c.kind, c.name, s.fn, s.cfsr, s.hfsr, c.cfsr)
			}
			if c.trace != nil {
				checkBacktrace(t, s, c.trace)
			}
		})
	}
}

// checkBacktrace runs loader's Backtrace on the stack QEMU left: the
// exception frame at sp holds the faulting PC and LR, and the stack above
// it the callers' saved return addresses. Only function names are
// compared: offsets and clone suffixes depend on the compiler.
func checkBacktrace(t *testing.T, s stop, want []string) {
	t.Helper()
	// The same program linked at the spec's addresses has the same code
	// and symbols shifted (fw.ld and an505.ld differ only in ORIGINs):
	// move the snapshot there and use that image.
	elf, err := Build("faults", Options{Defines: s.defines})
	if err != nil {
		t.Fatal(err)
	}
	im, err := loader.Load(elf, loader.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const flashShift, sramShift = 0x10000000 - loader.FlashBase, 0x38000000 - loader.SRAMBase
	move := func(v uint32) uint32 {
		switch {
		case v-0x10000000 < loader.FlashSize:
			return v - flashShift
		case v-0x38000000 < loader.SRAMSize:
			return v - sramShift
		}
		return v
	}
	stack := map[uint32]uint32{}
	for a, w := range s.stack {
		stack[move(a)] = move(w)
	}
	s.sp = move(s.sp)
	read := func(a uint32) (uint32, bool) {
		if a >= loader.FlashBase && a+4 <= loader.FlashBase+loader.FlashSize {
			o := a - loader.FlashBase
			return uint32(im.Flash[o]) | uint32(im.Flash[o+1])<<8 | uint32(im.Flash[o+2])<<16 | uint32(im.Flash[o+3])<<24, true
		}
		w, ok := stack[a]
		return w, ok
	}
	// The exception frame: r0-r3, r12, lr, pc, xPSR; the interrupted code's
	// stack starts above it (4 more bytes when xPSR bit 9 says it was
	// realigned).
	lr, pc, xpsr := stack[s.sp+20], stack[s.sp+24], stack[s.sp+28]
	sp := s.sp + 32
	if xpsr&(1<<9) != 0 {
		sp += 4
	}
	var got []string
	for _, f := range im.Backtrace(sp, lr, pc, read) {
		name := f.Symbol
		if i := strings.IndexAny(name, "+."); i >= 0 { // no offset, no ".constprop.0" clone suffix
			name = name[:i]
		}
		got = append(got, name)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("backtrace %v, want %v (pc %#x lr %#x sp %#x)", got, want, pc, lr, sp)
	}
}
