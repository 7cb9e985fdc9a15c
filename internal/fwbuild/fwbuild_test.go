package fwbuild

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/emu/loader"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestMain points the cache at a directory of this test process unless
// the caller chose one, so tests do not share (or litter) the user's.
func TestMain(m *testing.M) {
	if os.Getenv(Env) == "" {
		dir, err := os.MkdirTemp("", "fwcache-")
		if err != nil {
			panic(err)
		}
		os.Setenv(Env, dir)
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func requireToolchain(t *testing.T) {
	t.Helper()
	tool.Require(t, Compiler)
	tool.Require(t, "arm-none-eabi-nm")
	// newlib: the nano C library of the Cortex-M33 multilib.
	out, err := exec.Command(Compiler, "-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft", "--specs=nano.specs",
		"-print-file-name=libc_nano.a").Output()
	if p := strings.TrimSpace(string(out)); err != nil || !filepath.IsAbs(p) {
		tool.Missing(t, "newlib nano for arm-none-eabi is not installed (libnewlib-arm-none-eabi; .ci/run installs it)")
	}
}

// Every program builds, and its ELF loads: the vector table's reset
// handler is Thumb code in flash named Reset_Handler, the initial stack
// pointer is the top of SRAM, and every system call the program uses is
// at its gateway address.
func TestEveryProgramBuildsAndLoads(t *testing.T) {
	requireToolchain(t)
	src, err := SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(src)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "common" {
			dirs = append(dirs, e.Name())
		}
	}
	if strings.Join(dirs, " ") != strings.Join(Programs, " ") {
		t.Errorf("programs in %s: %v; Programs lists %v", src, dirs, Programs)
	}
	for _, prog := range Programs {
		t.Run(prog, func(t *testing.T) {
			path, err := Build(prog, Options{})
			if err != nil {
				t.Fatal(err)
			}
			im, err := loader.Load(path, loader.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if im.InitialSP != loader.SRAMBase+loader.SRAMSize {
				t.Errorf("initial SP %#x, want _estack = %#x", im.InitialSP, loader.SRAMBase+loader.SRAMSize)
			}
			rh := im.ResetHandler
			if rh&1 != 1 || rh < loader.FlashBase || rh >= loader.FlashBase+loader.FlashSize {
				t.Errorf("reset handler %#x: not odd, or not in flash", rh)
			}
			if im.Entry != rh || im.Symbolize(rh) != "Reset_Handler" {
				t.Errorf("entry %#x, reset handler %#x is %q", im.Entry, rh, im.Symbolize(rh))
			}
			// HardFault and an unused IRQ go to the default handler, which spins.
			if hf := im.Vector(3); im.Symbolize(hf) != "Default_Handler" || !im.SpinsForever(hf) {
				t.Errorf("HardFault vector %#x is %q (spins: %v)", hf, im.Symbolize(hf), im.SpinsForever(hf))
			}
			if v := im.Vector(16 + 124); im.Symbolize(v) != "Default_Handler" {
				t.Errorf("IRQ 124 vector is %q", im.Symbolize(v))
			}
			if v := im.Vector(16 + 125); v != 0xFFFFFFFF && im.IsCode(v) && im.Symbolize(v) == "Default_Handler" {
				t.Errorf("the vector table has more than 16+125 entries")
			}
			checkGateways(t, path)
		})
	}
}

// checkGateways runs arm-none-eabi-nm on the ELF: every mv* symbol
// that is a system call has the gateway's address.
func checkGateways(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("arm-none-eabi-nm", path).CombinedOutput()
	if err != nil {
		t.Fatalf("arm-none-eabi-nm: %v\n%s", err, out)
	}
	found := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || !strings.HasPrefix(f[2], "mv") {
			continue
		}
		g, ok := abi.GatewayFor(f[2])
		if !ok {
			continue
		}
		addr, err := strconv.ParseUint(f[0], 16, 32)
		if err != nil || uint32(addr) != g.Addr {
			t.Errorf("nm: %s at %s, want %#08x", f[2], f[0], g.Addr)
		}
		found++
	}
	if found == 0 {
		t.Errorf("nm shows no system call in %s (every program calls mvTestingComplete)", path)
	}
}

// The cache: the same sources give the same path without a build; a
// define changes the key; a compile error shows the compiler's output.
func TestBuildCache(t *testing.T) {
	requireToolchain(t)
	a, err := Build("faults", Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build("faults", Options{})
	if err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(b)
	if a != b || !st.ModTime().Equal(st2.ModTime()) {
		t.Errorf("second build: %s (%v), first %s (%v)", b, st2.ModTime(), a, st.ModTime())
	}
	c, err := Build("faults", Options{Defines: []string{"FW_FAULT=3"}})
	if err != nil {
		t.Fatal(err)
	}
	if c == a {
		t.Error("a define does not change the cache key")
	}

	// A copy of the tree with a broken program.
	src, _ := SourceDir()
	tree := t.TempDir()
	if err := os.CopyFS(tree, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(tree, "faults", "main.c")
	if err := os.WriteFile(bad, []byte("int main(void) { return undeclared_thing; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Build("faults", Options{Source: tree})
	if err == nil || !strings.Contains(err.Error(), "undeclared_thing") || !strings.Contains(err.Error(), "error") {
		t.Errorf("broken source: %v", err)
	}
	// Fixing it builds under a new key.
	if err := os.WriteFile(bad, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Build("faults", Options{Source: tree})
	if err != nil || d == a {
		t.Errorf("fixed source: %s, %v (original %s)", d, err, a)
	}
	if _, err := Build("nosuch", Options{}); err == nil || !strings.Contains(err.Error(), `no program "nosuch"`) {
		t.Errorf("unknown program: %v", err)
	}
	if _, err := Build("../faults", Options{}); err == nil || !strings.Contains(err.Error(), "not a program name") {
		t.Errorf("path as program: %v", err)
	}
}

// The firmware's view of mv_syscalls.h under arm-none-eabi-gcc is the
// device ABI abi.Device describes: every structure's size, as the
// compiler lays it out, equals the table's.
func TestDeviceLayoutMatchesCompiler(t *testing.T) {
	requireToolchain(t)
	include, err := IncludeDir()
	if err != nil {
		t.Fatal(err)
	}
	var src bytes.Buffer
	src.WriteString("#include \"mv_syscalls.h\"\n")
	structs := abi.Device.Structs()
	for _, s := range structs {
		src.WriteString("char size_" + s.Name() + "[sizeof(struct " + s.Name() + ")];\n")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sizes.c"), src.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append(append([]string(nil), Flags[:3]...), "-fno-common", "-I", include, "-c", "sizes.c", "-o", "sizes.o")
	cmd := exec.Command(Compiler, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f, err := elf.Open(filepath.Join(dir, "sizes.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	size := map[string]uint64{}
	for _, s := range syms {
		size[strings.TrimPrefix(s.Name, "size_")] = s.Size
	}
	for _, s := range structs {
		if got, ok := size[s.Name()]; !ok || got != uint64(s.Size()) {
			t.Errorf("struct %s: arm-none-eabi-gcc %d bytes, abi.Device %d", s.Name(), got, s.Size())
		}
	}
}

// The benchmark's host build and firmware build are the same program:
// the host one runs here and exits with bench_code of the checksum.
func TestBenchHostBuild(t *testing.T) {
	requireToolchain(t)
	tool.Require(t, "cc")
	exe, err := BuildHost("bench", Options{Defines: []string{"FW_BENCH_ROUNDS=2"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(exe).Output()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var rounds int
	var sum uint32
	if _, err := fmt.Sscanf(string(out), "bench: %d rounds, checksum 0x%x", &rounds, &sum); err != nil || rounds != 2 {
		t.Fatalf("output %q: %v", out, err)
	}
	if code != int(sum&0xFF) {
		t.Errorf("exit code %d, checksum %#08x", code, sum)
	}
	if _, err := BuildHost("sched", Options{}); err == nil || !strings.Contains(err.Error(), "no host build") {
		t.Errorf("sched host build: %v", err)
	}
}
