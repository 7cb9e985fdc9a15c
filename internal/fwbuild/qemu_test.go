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
}

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
	s := stop{fn: fmt.Sprintf("%#x", v[0]), r0: v[3], cfsr: v[4], hfsr: v[5]}
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
		kind int
		name string
		cfsr uint32
	}{
		{1, "undefined instruction: UFSR.UNDEFINSTR", 1 << 16},
		{2, "bad access: BFSR.PRECISERR|BFARVALID", 1<<9 | 1<<15},
		{3, "divide by zero: UFSR.DIVBYZERO", 1 << 25},
		{4, "stack overflow: UFSR.STKOF", 1 << 20},
	} {
		t.Run(strconv.Itoa(c.kind), func(t *testing.T) {
			t.Parallel()
			s := runQEMU(t, "faults", "FW_FAULT="+strconv.Itoa(c.kind))
			if s.fn != "Default_Handler" || s.cfsr != c.cfsr || s.hfsr != 1<<30 {
				t.Errorf("fault %d (%s): stopped at %s, CFSR %#x HFSR %#x; want Default_Handler, CFSR %#x, HFSR FORCED",
					c.kind, c.name, s.fn, s.cfsr, s.hfsr, c.cfsr)
			}
		})
	}
}
