package cpu

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// Test memory map: flash-like code at flashBase (executable, read-only),
// SRAM at ramBase (executable, writable), a device answering at devBase.
const (
	flashBase = 0x0800_0000
	ramBase   = 0x2000_0000
	ramSize   = 0x1_0000
	dataBase  = 0x3000_0000 // a region that is not executable
	devBase   = 0x4000_0000
)

// hooks records what the core handed to the machine. BKPT stops the run
// (the tests end their snippets with one), a fault stops it too.
type hooks struct {
	bkpt    int
	svc     []uint8
	faults  []Fault
	excRet  []uint32
	sleeps  []bool
	traps   []uint32
	trapOK  bool
	onFault func(c *CPU, f Fault)
}

func (h *hooks) SVC(c *CPU, imm uint8) { h.svc = append(h.svc, imm) }
func (h *hooks) BKPT(c *CPU, imm uint8) {
	h.bkpt++
	c.RequestStop()
}
func (h *hooks) Fault(c *CPU, f Fault) {
	h.faults = append(h.faults, f)
	if h.onFault != nil {
		h.onFault(c, f)
		return
	}
	c.RequestStop()
}
func (h *hooks) ExceptionReturn(c *CPU, v uint32) {
	h.excRet = append(h.excRet, v)
	c.RequestStop()
}
func (h *hooks) Trap(c *CPU, pc uint32) bool {
	h.traps = append(h.traps, pc)
	if h.trapOK {
		c.R[0] = pc
		c.R[15] = c.R[14] &^ 1
		return true
	}
	return false
}
func (h *hooks) Sleep(c *CPU, wfe bool) { h.sleeps = append(h.sleeps, wfe) }

// dev is a bus device: 16 words of registers at devBase.
type dev struct {
	regs  [16]uint32
	loads int
}

func (d *dev) Load(addr uint32, size int) (uint32, bool) {
	if addr < devBase || addr >= devBase+64 {
		return 0, false
	}
	d.loads++
	return d.regs[(addr-devBase)/4] >> (8 * (addr & 3)), true
}

func (d *dev) Store(addr uint32, size int, v uint32) bool {
	if addr < devBase || addr >= devBase+64 {
		return false
	}
	d.regs[(addr-devBase)/4] = v
	return true
}

type machine struct {
	*CPU
	h     *hooks
	flash []byte
	ram   []byte
	dev   *dev
}

// newMachine places code at base (flashBase or ramBase).
func newMachine(code []byte, base uint32) *machine {
	m := &machine{h: &hooks{}, flash: make([]byte, 0x28_0000), ram: make([]byte, ramSize), dev: &dev{}}
	if base == flashBase {
		copy(m.flash, code)
	} else {
		copy(m.ram, code)
	}
	m.CPU = &CPU{Hooks: m.h, Bus: m.dev, Regions: []Region{
		{Base: flashBase, Data: m.flash, Exec: true},
		{Base: ramBase, Data: m.ram, Exec: true, Writable: true},
		{Base: dataBase, Data: make([]byte, 0x1000), Writable: true},
	}}
	m.R[13] = ramBase + ramSize
	m.R[15] = base
	return m
}

// run runs until the snippet's BKPT (or a fault) and fails the test on a
// fault unless the test expects one.
func (m *machine) run(t *testing.T) {
	t.Helper()
	for i := 0; m.h.bkpt == 0 && len(m.h.faults) == 0 && len(m.h.excRet) == 0; i++ {
		// instructions that may unmask an exception stop the run too
		if s := m.Run(10_000_000); s != StopRequested || i > 100 {
			t.Fatalf("Run = %v at pc %#x, want the BKPT stop", s, m.R[15])
		}
	}
}

var asmCache sync.Map // source hash -> []byte

// assemble assembles Thumb-2 source for Cortex-M33 linked at base and
// returns the raw image.
func assemble(t testing.TB, src string, base uint32) []byte {
	t.Helper()
	return build(t, "s", ".syntax unified\n.cpu cortex-m33\n.thumb\n.text\n.global _start\n_start:\n"+src+"\n", base)
}

// compileC builds freestanding C code (with a _start calling main and
// ending in BKPT) with gcc at opt, soft float, linked at base (the
// image's start is its entry point).
func compileC(t testing.TB, src, opt string, base uint32) []byte {
	t.Helper()
	return build(t, "c"+opt, src, base)
}

// compileNewlib is compileC linked against newlib-nano (printf with
// floating point, qsort, malloc ...).
func compileNewlib(t testing.TB, src, opt string, base uint32) []byte {
	t.Helper()
	return build(t, "n"+opt, src, base)
}

// build returns the raw image; its entry point is its start.
func build(t testing.TB, kind, src string, base uint32) []byte {
	t.Helper()
	key := sha256.Sum256([]byte(kind + "\x00" + src + "\x00" + hex.EncodeToString([]byte{byte(base >> 24)})))
	if v, ok := asmCache.Load(key); ok {
		return v.([]byte)
	}
	dir := t.TempDir()
	elfPath := filepath.Join(dir, "a.elf")
	var cmds [][]string
	link := "-Wl,-Ttext=0x" + hex.EncodeToString([]byte{byte(base >> 24), byte(base >> 16), byte(base >> 8), byte(base)})
	if kind == "s" {
		as := tool.Require(t, "arm-none-eabi-as")
		ld := tool.Require(t, "arm-none-eabi-ld")
		write(t, filepath.Join(dir, "a.s"), src)
		cmds = [][]string{
			{as, "-mcpu=cortex-m33", "-mthumb", "-o", filepath.Join(dir, "a.o"), filepath.Join(dir, "a.s")},
			{ld, "-Ttext=0x" + link[len("-Wl,-Ttext=0x"):], "-e", "_start", "-o", elfPath, filepath.Join(dir, "a.o")},
		}
	} else {
		gcc := tool.Require(t, "arm-none-eabi-gcc")
		libs := []string{"-nostdlib", "-ffreestanding"}
		if kind[0] == 'n' { // with newlib (nano) and its stubs
			libs = []string{"--specs=nano.specs", "--specs=nosys.specs", "-u", "_printf_float"}
		}
		write(t, filepath.Join(dir, "a.c"), src)
		write(t, filepath.Join(dir, "start.s"), ".syntax unified\n.thumb\n.section .text.unlikely.start\n.global _start\n.thumb_func\n_start:\n bl main\n bkpt #0\n")
		args := append([]string{"-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft", kind[1:], "-nostartfiles"}, libs...)
		args = append(args, link, "-Wl,-e,_start", "-o", elfPath, filepath.Join(dir, "start.s"), filepath.Join(dir, "a.c"), "-lgcc")
		cmds = [][]string{append([]string{gcc}, args...)}
	}
	objcopy := tool.Require(t, "arm-none-eabi-objcopy")
	bin := filepath.Join(dir, "a.bin")
	cmds = append(cmds, []string{objcopy, "-O", "binary", elfPath, bin})
	for _, c := range cmds {
		out, err := exec.Command(c[0], c[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s\nsource:\n%s", strings.Join(c, " "), err, out, src)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(elfPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if uint32(f.Entry)&^1 != base {
		t.Fatalf("entry %#x is not the image start %#x", f.Entry, base)
	}
	asmCache.Store(key, b)
	return b
}

func write(t testing.TB, name, s string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runAsm assembles src at flashBase, runs it to its final BKPT and
// returns the machine.
func runAsm(t *testing.T, src string) *machine {
	t.Helper()
	m := newMachine(assemble(t, src+"\n bkpt #0\n", flashBase), flashBase)
	m.run(t)
	if len(m.h.faults) != 0 {
		t.Fatalf("faults %+v", m.h.faults)
	}
	return m
}

// flags renders NZCVQ for messages.
func (m *machine) flags() string {
	s := ""
	for i, f := range []bool{m.N, m.Z, m.C, m.V, m.Q} {
		if f {
			s += string("NZCVQ"[i])
		} else {
			s += "-"
		}
	}
	return s
}
