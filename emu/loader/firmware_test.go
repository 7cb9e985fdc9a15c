package loader

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/mvnet/mvnet/internal/fwbuild"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// buildFirmware builds one of the test programs (emu/testdata/fw) into a
// cache of this test process, unless MVNET_FWCACHE names one.
func buildFirmware(t *testing.T, program string, defines ...string) string {
	t.Helper()
	tool.Require(t, fwbuild.Compiler)
	if os.Getenv(fwbuild.Env) == "" {
		t.Setenv(fwbuild.Env, t.TempDir())
	}
	path, err := fwbuild.Build(program, fwbuild.Options{Defines: defines})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// A real image: the handlers a program defines are in the vector table
// under their names, the rest are Default_Handler; the words the startup
// code copies to SRAM are in flash at _sidata; objects have their sizes.
func TestLoadTestFirmware(t *testing.T) {
	im, err := Load(buildFirmware(t, "sched"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n, want := range map[int]string{1: "Reset_Handler", 2: "Default_Handler", 3: "Default_Handler",
		14: "PendSV_Handler", 15: "SysTick_Handler", 16 + 51: "TIM8_BRK_IRQHandler", 16 + 52: "Default_Handler"} {
		if got := im.Symbolize(im.Vector(n)); got != want {
			t.Errorf("vector %d is %q, want %q", n, got, want)
		}
	}
	if im.SpinsForever(im.Vector(15)) || !im.SpinsForever(im.Vector(3)) {
		t.Error("SpinsForever: SysTick_Handler spins, or Default_Handler does not")
	}
	threads, ok := im.SymbolNamed("threads")
	if !ok || threads.Func || threads.Size != 16 || threads.Addr < SRAMBase || threads.Addr >= SRAMBase+SRAMSize {
		t.Errorf("threads = %+v, %v; want an 16-byte object in SRAM", threads, ok)
	}
	if s, ok := im.SymbolNamed("main"); !ok || !s.Func || s.Addr&1 != 0 || !im.IsCode(s.Addr) {
		t.Errorf("main = %+v, %v", s, ok)
	}

	// faults' fw_fault_kind is initialised data: its value is in flash, in
	// the .data load image the startup code copies to SRAM.
	im, err = Load(buildFirmware(t, "faults", "FW_FAULT=3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	kind, ok := im.SymbolNamed("fw_fault_kind")
	if !ok || kind.Size != 4 {
		t.Fatalf("fw_fault_kind = %+v, %v", kind, ok)
	}
	sdata, _ := im.SymbolNamed("_sdata") // a NOTYPE symbol: not kept
	if sdata.Name != "" {
		t.Errorf("_sdata kept as a symbol: %+v", sdata)
	}
	found := false
	for _, s := range im.Loaded {
		if s.Addr >= FlashBase && s.Addr < FlashBase+FlashSize && !im.IsCode(s.Addr) {
			// the .data image: a word 3 in it (fw_fault_kind)
			for off := uint32(0); off+4 <= s.Size; off += 4 {
				if binary.LittleEndian.Uint32(im.Flash[s.Addr-FlashBase+off:]) == 3 {
					found = true
				}
			}
		}
	}
	if !found {
		t.Errorf("no .data load image holding fw_fault_kind = 3 in flash; loaded %v, code %v", im.Loaded, im.Code)
	}
}
