package emu

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/emu/gdb"
	"github.com/mvnet/mvnet/emu/gdb/gdbtest"
)

// TestGDBEndToEnd debugs the context-switch program with gdb-multiarch
// through the stub and the machine's adapter: the image waits at reset,
// a breakpoint by name, registers of the m-profile (control, psp, xpsr),
// a stepi, a write watchpoint hit by PendSV (gdb then steps once more, as
// for an ARM target's DWT, so it shows the next instruction), SysTick's
// CSR read twice
// (a debugger read does not clear COUNTFLAG), then detach lets the run
// finish.
func TestGDBEndToEnd(t *testing.T) {
	img, syms, elf := assembleELF(t, contextSwitch)
	a := newAsmMachine(t, img, Options{Paused: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- gdb.Serve(ctx, ln, a.Debugger()) }()
	done, _ := startRun(t, a)

	res := gdbtest.Run(t, gdbtest.Options{Addr: ln.Addr().String(), ELF: elf, Commands: []string{
		"p/x $pc",
		"break *task_b",
		"continue",
		"p/x $pc",
		"p $control",
		"p/x $sp == $psp",
		"stepi",
		"p/x $pc",
		"delete",
		"watch *(int *)0x20000108",
		"continue",
		"delete",
		"x/wx 0xE000E010",
		"x/wx 0xE000E010",
		"detach",
	}})
	out := res.Output
	for _, want := range []string{
		fmt.Sprintf("$1 = %#x", syms["reset"]),
		"Breakpoint 1, ",
		fmt.Sprintf("$2 = %#x", syms["task_b"]),
		"$3 = 2",
		"$4 = 0x1",
		fmt.Sprintf("$5 = %#x", syms["task_b"]+2),
		"Old value = 1",
		"New value = 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("gdb output lacks %q:\n%s", want, out)
		}
	}
	csr := regexp.MustCompile(`0xe000e010:\s+0x([0-9a-f]+)`).FindAllStringSubmatch(out, -1)
	if len(csr) != 2 || csr[0][1] != csr[1][1] || !strings.HasPrefix(csr[0][1], "0001") {
		t.Errorf("SYST_CSR through gdb: %v (COUNTFLAG must read set both times)\n%s", csr, out)
	}
	if err := waitRun(t, done); err != nil || a.result != 100 {
		t.Fatalf("after detach: %v, result %d\n%s", err, a.result, out)
	}
	cancel()
	<-served
}
