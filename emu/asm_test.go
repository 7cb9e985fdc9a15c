package emu

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// The machine's tests in Thumb assembly: small programs with their own
// vector table, assembled with arm-none-eabi-as and run on the machine.

// asmPrelude is the vector table and the helpers every program shares.
// A handler a program does not define is the "b ." default handler,
// which the machine reports as unhandled. done (r0 = result) reaches
// the trap address 0x0C1FE1B9 (mvTestingComplete's gateway), which the
// tests' Trap turns into Halt.
const asmPrelude = `
	.syntax unified
	.cpu cortex-m33
	.thumb
	.section .text
	.global vectors
vectors:
	.word 0x20010000
	.word reset
	.word nmi_handler
	.word hardfault_handler
	.word memmanage_handler
	.word busfault_handler
	.word usagefault_handler
	.word 0, 0, 0, 0
	.word svc_handler
	.word 0, 0
	.word pendsv_handler
	.word systick_handler
	.word irq0_handler
	.word irq1_handler
	.word irq2_handler
	.word irq3_handler

	.thumb_func
default_handler:
	b .

	.thumb_func
done:
	ldr r1, =0x0C1FE1B9
	blx r1
	b .
`

const trapDone = 0x0C1FE1B8

// badStore stores to 0x60000004, where nothing answers, at label bad.
const badStore = `
	.thumb_func
reset:
	ldr r3, =0x60000004
bad:
	str r0, [r3]
	b .
`

// waitFlag spins until the word at 0x20000700 is not zero and finishes
// with it, without system calls or sleep.
const waitFlag = `
	.thumb_func
reset:
	ldr r4, =0x20000700
1:	ldr r0, [r4]
	cmp r0, #0
	beq 1b
	b done
`

// handlerNames are the vector table's handlers; those a program does not
// define are set to default_handler.
var handlerNames = []string{"nmi_handler", "hardfault_handler", "memmanage_handler", "busfault_handler",
	"usagefault_handler", "svc_handler", "pendsv_handler", "systick_handler",
	"irq0_handler", "irq1_handler", "irq2_handler", "irq3_handler"}

// assemble builds src (after the prelude) into a flash image at
// 0x08000000, and returns it with the program's symbols.
func assemble(t testing.TB, src string) ([]byte, map[string]uint32) {
	t.Helper()
	img, syms, _ := assembleELF(t, src)
	return img, syms
}

// assembleELF is assemble that also returns the ELF file's path (for
// gdb's symbols).
func assembleELF(t testing.TB, src string) ([]byte, map[string]uint32, string) {
	t.Helper()
	as := tool.Require(t, "arm-none-eabi-as")
	ld := tool.Require(t, "arm-none-eabi-ld")
	objcopy := tool.Require(t, "arm-none-eabi-objcopy")
	nm := tool.Require(t, "arm-none-eabi-nm")
	dir := t.TempDir()
	s, o, elf, bin := filepath.Join(dir, "p.s"), filepath.Join(dir, "p.o"), filepath.Join(dir, "p.elf"), filepath.Join(dir, "p.bin")
	text := asmPrelude + src + "\n"
	for _, h := range handlerNames {
		if !strings.Contains(src, "\n"+h+":") {
			text += "\t.thumb_set " + h + ", default_handler\n"
		}
	}
	if err := os.WriteFile(s, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range [][]string{
		{as, "-mcpu=cortex-m33", "-mthumb", "-o", o, s},
		{ld, "-Ttext=0x08000000", "-e", "vectors", "-o", elf, o},
		{objcopy, "-O", "binary", elf, bin},
	} {
		if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd, err, out)
		}
	}
	img, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nm, elf).Output()
	if err != nil {
		t.Fatal(err)
	}
	syms := map[string]uint32{}
	for _, line := range strings.Split(string(out), "\n") {
		var addr uint32
		var kind, name string
		if n, _ := fmt.Sscanf(line, "%x %s %s", &addr, &kind, &name); n == 3 {
			syms[name] = addr &^ 1
		}
	}
	return img, syms, elf
}

// asmMachine is a machine running an assembled program, whose done
// halts the run with the result in r0 recorded.
type asmMachine struct {
	*Machine
	result uint32
	dones  int
}

func newAsmMachine(t testing.TB, img []byte, o Options) *asmMachine {
	t.Helper()
	flash, sram := make([]byte, 1<<20), make([]byte, 512<<10)
	copy(flash, img)
	a := &asmMachine{}
	o.Regions = []cpu.Region{
		{Base: flashBase, Data: flash, Exec: true},
		{Base: sramBase, Data: sram, Exec: true, Writable: true},
	}
	o.Trap = func(c *cpu.CPU, pc uint32) bool {
		if pc != trapDone {
			return false
		}
		a.result, a.dones = c.R[0], a.dones+1
		c.R[15] = c.R[14] &^ 1
		a.Halt(nil)
		return true
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	a.Machine = m
	return a
}

// run runs the machine until it halts (or 10 s of wall time pass).
func (a *asmMachine) run(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("run did not end: %v (pc %#x)", err, a.cpu.R[15])
	}
	return err
}

func (a *asmMachine) word(t *testing.T, addr uint32) uint32 {
	t.Helper()
	r, ok := a.region(addr, 4)
	if !ok {
		t.Fatalf("no memory at %#x", addr)
	}
	return binary.LittleEndian.Uint32(r.Data[addr-r.Base:])
}
