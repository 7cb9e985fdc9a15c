package gdb

import (
	"regexp"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/emu/gdb/gdbtest"
)

// These tests drive the stub with the real gdb-multiarch (skipped when it
// is not installed, failing under CI=true).

// expectLines checks that each pattern (a regexp, matched per line) is in
// the output, in order.
func expectLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Fatalf("gdb output lacks %q (in order):\n%s", p, out)
		}
		i++
	}
}

func TestGDBRegistersMemoryBreakpointsWatchpoints(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000120] = fakeOp{store: true, addr: 0x20000010, value: 42}
	f.ops[0x8000130] = fakeOp{load: true, addr: 0x20000010}
	f.ops[0x8000140] = fakeOp{store: true, addr: 0x20000014, value: 7}
	srv := startServer(t, f)
	r := gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, Commands: []string{
		"info registers",
		"x/4x 0x20000000",
		"x/2x 0x0",
		"break *0x08000110",
		"hbreak *0x08000118",
		"continue",
		"stepi",
		"continue",
		"delete",
		"watch *(int*)0x20000010",
		"continue",
		"delete",
		"rwatch *(int*)0x20000010",
		"continue",
		"delete",
		"awatch *(int*)0x20000014",
		"continue",
		"delete",
		"set {int}0x20000000 = 0x5a5a5a5a",
		"set $r0 = 0x1234",
		"p/x $r0",
		"x/1x 0x20000000",
		"p $basepri",
		"monitor reset",
		"flushregs",
		"p/x $pc",
	}})
	expectLines(t, r.Output,
		`^r0 +0x0 `,
		`^r1 +0x1010101 `,
		`^sp +0x20001000 `,
		`^lr +0xffffffff `,
		`^pc +0x8000100 `,
		`^xpsr +0x1000000 `,
		`^msp +0x20001000 `,
		`^psp +0x20000800 `,
		`^primask +0x0 `,
		`^basepri +0x40 `,
		`^faultmask +0x0 `,
		`^control +0x0 `,
		`^0x20000000:\s+0x11111111\s+0x22222222\s+0x33333333\s+0x44444444$`,
		`Cannot access memory at address 0x0`,
		`^Breakpoint 1 at 0x8000110`,
		`^Hardware assisted breakpoint 2 at 0x8000118`,
		`^Breakpoint 1, 0x08000110 in \?\? \(\)`,
		`^0x08000112 in \?\? \(\)`,
		`^Breakpoint 2, 0x08000118 in \?\? \(\)`,
		`^Hardware watchpoint 3: \*\(int\*\)0x20000010`,
		`^Old value = 0`,
		`^New value = 42`,
		`^Hardware read watchpoint 4: \*\(int\*\)0x20000010`,
		`^Value = 42`,
		`^Hardware access \(read/write\) watchpoint 5: \*\(int\*\)0x20000014`,
		`^New value = 7`,
		`^\$1 = 0x1234`,
		`^0x20000000:\s+0x5a5a5a5a$`,
		`^\$2 = 64`,
		`reset: stopped at the reset handler`,
		`^\$3 = 0x8000100`,
		`\[Inferior 1 \(Remote target\) detached\]`,
	)
	waitChan(t, f.detached, "Detach")
	regs, breaks, watches := f.snapshot()
	if len(breaks) != 0 || watches != 0 {
		t.Fatalf("after gdb left, the target has breakpoints %v and %d watchpoints", breaks, watches)
	}
	if regs[R0] != 0x1234 {
		t.Fatalf("r0 = %#x after gdb set it to 0x1234", regs[R0])
	}
}

func TestGDBInterrupt(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{spin: true}
	srv := startServer(t, f)
	s := gdbtest.Start(t, gdbtest.Options{Addr: srv.addr, Commands: []string{
		"continue",
		"p/x $pc",
	}})
	waitChan(t, f.spinning, "the target to run")
	s.Interrupt()
	r := s.Wait()
	expectLines(t, r.Output,
		`^Program received signal SIGINT, Interrupt\.`,
		`^0x08000104 in \?\? \(\)`,
		`^\$1 = 0x8000104`,
	)
}

func TestGDBFault(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000108] = fakeOp{fault: SIGSEGV}
	srv := startServer(t, f)
	r := gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, Commands: []string{"continue", "p/x $pc"}})
	expectLines(t, r.Output,
		`fake fault at the op`,
		`^Program received signal SIGSEGV, Segmentation fault\.`,
		`^\$1 = 0x8000108`,
	)
}

func TestGDBExitAndKill(t *testing.T) {
	f := newFakeTarget()
	f.ops[0x8000104] = fakeOp{exit: true, code: 3}
	srv := startServer(t, f)
	r := gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, Commands: []string{"continue"}})
	expectLines(t, r.Output, `\[Inferior 1 \(Remote target\) exited with code 03\]`)
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve after the target exited = %v", err)
	}

	f = newFakeTarget()
	srv = startServer(t, f)
	r = gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, Commands: []string{"kill"}})
	expectLines(t, r.Output, `\[Inferior 1 \(Remote target\) killed\]`)
	waitChan(t, f.killed, "Kill")
	if err := srv.wait(t); err != nil {
		t.Fatalf("Serve after kill = %v", err)
	}
}

// TestGDBTakesTheArchitectureFromTheTarget: with no ELF and no "set
// architecture", gdb learns from target.xml that it debugs an ARMv8-M
// Mainline core.
func TestGDBTakesTheArchitectureFromTheTarget(t *testing.T) {
	srv := startServer(t, newFakeTarget())
	r := gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, Arch: "auto", Commands: []string{"show architecture", "x/i $pc"}})
	expectLines(t, r.Output,
		`The target architecture is set to "auto" \(currently "armv8-m\.main"\)\.`,
		`^=> 0x8000100:\s+nop`,
	)
}
