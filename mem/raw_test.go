package mem_test

import (
	"testing"

	"github.com/mvnet/mvnet/mem"
)

// The firmware layout is spec/firmware.md's, and Raw's slices are the
// Arena's own storage: a byte stored through one is seen by the other.
func TestFirmwareArenaRaw(t *testing.T) {
	a, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	flash, sram := a.Raw()
	if flash.Base != 0x0800_0000 || len(flash.Data) != 1<<20 {
		t.Fatalf("flash %#x+%#x, want 0x08000000+1 MiB", flash.Base, len(flash.Data))
	}
	if sram.Base != 0x2000_0000 || len(sram.Data) != 512<<10 {
		t.Fatalf("SRAM %#x+%#x, want 0x20000000+512 KiB", sram.Base, len(sram.Data))
	}
	sram.Data[0x7FFFF] = 0x5A // the byte below _estack (0x20080000)
	if b, err := a.Bytes(0x2007_FFFF, 1); err != nil || b[0] != 0x5A {
		t.Fatalf("Arena reads %v, %v after a raw store", b, err)
	}
	if err := a.CopyOut(0x2000_0010, []byte{7}); err != nil || sram.Data[0x10] != 7 {
		t.Fatalf("raw slice does not see CopyOut (%v)", err)
	}
	flash.Data[4] = 0x99
	if b, _ := a.Bytes(0x0800_0004, 1); b[0] != 0x99 {
		t.Fatal("flash slice is not the Arena's")
	}
	if _, err := a.Bytes(0x2008_0000, 1); err == nil {
		t.Fatal("0x20080000 is past the spec's SRAM")
	}
}
