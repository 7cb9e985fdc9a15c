package gdb

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/mvnet/mvnet/emu/gdb/gdbtest"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// elfProgram is compiled for the Cortex-M33 so that gdb debugs with symbols
// and line information: add's breakpoint lies after its prologue, and the
// backtrace unwinds through the frame main called it from.
const elfProgram = `volatile int counter;
int add(int a, int b) { return a + b; }
int main(void) {
	for (;;) { counter = add(counter, 1); }
}
__attribute__((naked)) void _start(void) { __asm volatile("b main"); }
`

// buildELF compiles elfProgram with arm-none-eabi-gcc, text in flash at
// 0x08000000 (add first) and data in SRAM at 0x20000000.
func buildELF(t *testing.T) string {
	t.Helper()
	gcc := tool.Require(t, "arm-none-eabi-gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(src, []byte(elfProgram), 0o644); err != nil {
		t.Fatal(err)
	}
	elf := filepath.Join(dir, "prog.elf")
	out, err := exec.Command(gcc, "-mcpu=cortex-m33", "-mthumb", "-g", "-O0", "-nostdlib", "-nostartfiles",
		"-Wl,-Ttext=0x08000000", "-Wl,-Tbss=0x20000000", "-Wl,--entry=_start", "-o", elf, src).CombinedOutput()
	if err != nil {
		t.Fatalf("arm-none-eabi-gcc: %v\n%s", err, out)
	}
	return elf
}

// TestGDBWithELF: gdb loads the image into the target (X packets), checks
// it (qCRC), breaks on a function by name, shows its arguments and a
// backtrace, and disassembles at PC. The fake target does not execute
// instructions: the registers and stack are set to what add's prologue
// leaves, called from main with counter = 41.
func TestGDBWithELF(t *testing.T) {
	elf := buildELF(t)
	f := newFakeTarget()
	clear(f.regions[0].b)
	f.regs[SP] = 0x20000fe8
	f.regs[R7] = 0x20000fe8 // add: push {r7}; sub sp, #12; add r7, sp, #0
	f.regs[LR] = 0x0800002b // back into main, after the bl (Thumb bit set)
	stack := f.regions[1].b
	put := func(addr, v uint32) { binary.LittleEndian.PutUint32(stack[addr-fakeSRAM:], v) }
	put(0x20000fe8, 1)          // b
	put(0x20000fec, 41)         // a
	put(0x20000ff4, 0x20000ff8) // add's saved r7 = main's frame
	put(0x20000ff8, 0)          // main's saved r7
	put(0x20000ffc, 0xffffffff) // main's saved lr
	put(0x20000000, 41)         // counter
	srv := startServer(t, f)
	r := gdbtest.Run(t, gdbtest.Options{Addr: srv.addr, ELF: elf, Commands: []string{
		"load",
		"compare-sections",
		"set $pc = 0x08000000",
		"break add",
		"continue",
		"bt",
		"p a + b",
		"p counter",
		"x/2i $pc",
		"info symbol $pc",
	}})
	expectLines(t, r.Output,
		`^Loading section \.text, size 0x[0-9a-f]+ lma 0x8000000`,
		`^Start address 0x0*8000038`,
		`^Section \.text, range 0x8000000 -- 0x[0-9a-f]+: matched\.`,
		`^Breakpoint 1 at 0x800000a: file .*prog\.c, line 2\.`,
		`^Breakpoint 1, add \(a=41, b=1\) at .*prog\.c:2`,
		`^#0  add \(a=41, b=1\) at .*prog\.c:2`,
		`^#1  0x0800002a in main \(\) at .*prog\.c:4`,
		`^\$1 = 42`,
		`^\$2 = 41`,
		`^=> 0x800000a <add\+10>:\s+ldr\s+r2, \[r7, #4\]`,
		`^add \+ 10 in section \.text`,
	)
}

func TestCRCMatchesGDB(t *testing.T) {
	// libiberty's xcrc32 of "123456789" from 0xffffffff (CRC-32/MPEG-2).
	if got := crc32MSB(0xffffffff, []byte("123456789")); got != 0x0376e6e7 {
		t.Fatalf("crc = %#08x, want 0x0376e6e7", got)
	}
}
