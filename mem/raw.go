package mem

// Firmware memory map (spec/firmware.md, "Memory an application image
// uses"): the STM32U585's non-secure flash and the SRAM an application
// image is linked for.
const (
	FirmwareFlashBase Addr   = 0x0800_0000
	FirmwareFlashSize uint64 = 1024 << 10
	FirmwareSRAMBase  Addr   = 0x2000_0000
	FirmwareSRAMSize  uint64 = 512 << 10 // _estack = 0x20080000
)

// FirmwareArenaConfig lays an Arena out as spec/firmware.md's memory map,
// for running an application image on the CPU emulator (emu/).
func FirmwareArenaConfig() ArenaConfig {
	return ArenaConfig{FlashBase: FirmwareFlashBase, FlashSize: FirmwareFlashSize,
		SRAMBase: FirmwareSRAMBase, SRAMSize: FirmwareSRAMSize}
}

// RawRegion is one of an Arena's regions as the CPU emulator sees it: its
// base address and its bytes, the Arena's own storage.
type RawRegion struct {
	Base Addr
	Data []byte
}

// Raw returns the Arena's flash and SRAM storage for a CPU emulator, which
// loads and stores through these slices directly, without the Arena's lock
// (emu/cpu.Region; the loader writes the image into flash the same way).
//
// The rule that makes this safe: once Raw has been called, the goroutine
// running the CPU owns the Arena's contents. Every other access — the
// kernel's system calls, which the emulator runs on that goroutine from a
// trap, and the kernel's asynchronous deliveries, which go through
// kernel.Options.Exec and run while that goroutine is parked — happens
// while the CPU stands still, so the Arena's lock is never needed against
// the CPU.
//
// Raw access bypasses the Arena's checks: write protection (a channel's
// send buffer while it is open, the server log buffer) applies to the
// CPU's stores only through WatchProtect, which the emulator uses to make
// them fault as on the device; flash is read-only to the CPU only if the
// emulator maps it so.
func (a *Arena) Raw() (flash, sram RawRegion) {
	return RawRegion{a.flash.base, a.flash.data}, RawRegion{a.sram.base, a.sram.data}
}
