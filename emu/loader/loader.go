// Package loader reads a firmware image — an ELF32 little-endian ARM
// executable, or a raw binary with a load address — into the flash and
// SRAM of the application's memory map (spec/firmware.md), and keeps its
// symbols for crash reports (Symbolize, Backtrace).
//
// An ELF's PT_LOAD segments are placed by physical address (the load
// address, LMA), as a flash programmer writes them: .data's initial values
// land in flash and the startup code copies them to SRAM. The part of a
// segment beyond its file size (.bss) is zeroed at its virtual address
// when that is in SRAM. Images are validated before anything runs: every
// error names what is wrong and where.
package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/emu/cpu"
)

// spec/firmware.md: the memory an application image uses.
const (
	FlashBase uint32 = 0x08000000
	FlashSize uint32 = 1024 << 10
	SRAMBase  uint32 = 0x20000000
	SRAMSize  uint32 = 512 << 10
)

// Erased is the value of flash no segment programmed, as on the device.
const Erased = 0xFF

// Options adjust Load.
type Options struct {
	// Raw loads the file as a raw binary even without a .bin name.
	Raw bool
	// LoadAddress is where a raw binary goes (default FlashBase). An ELF
	// says where it goes itself, and a LoadAddress with one is an error.
	LoadAddress uint32
}

// Symbol is a function or data object of the ELF's symbol table.
type Symbol struct {
	Name string
	Addr uint32 // for a function, its first instruction (the Thumb bit cleared)
	Size uint32
	Func bool
	Weak bool // a weak definition (e.g. a handler aliasing Default_Handler)
}

// Span is an address range [Addr, Addr+Size).
type Span struct {
	Addr, Size uint32
}

// Contains reports whether a lies in the span.
func (s Span) Contains(a uint32) bool { return a-s.Addr < s.Size }

// Image is a loaded firmware image.
type Image struct {
	Flash []byte // FlashSize bytes at FlashBase; unprogrammed bytes are Erased
	SRAM  []byte // SRAMSize bytes at SRAMBase
	// Entry is the ELF's entry point (the Thumb bit set), or the reset
	// handler of a raw binary.
	Entry uint32
	// InitialSP and ResetHandler are words 0 and 1 of the vector table at
	// the start of flash: what a reset loads into MSP and PC (the Thumb
	// bit set).
	InitialSP, ResetHandler uint32
	Loaded                  []Span   // the ranges the image wrote, by load address, in order
	Code                    []Span   // executable ranges (ELF: PF_X segments by load address; raw: everything loaded)
	Symbols                 []Symbol // sorted by address
}

// Load reads the image at path: a raw binary when its name ends in .bin
// (case-insensitive) or o.Raw is set, an ELF otherwise.
func Load(path string, o Options) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var im *Image
	if o.Raw || strings.EqualFold(fileExt(path), ".bin") {
		addr := o.LoadAddress
		if addr == 0 {
			addr = FlashBase
		}
		im, err = LoadBin(data, addr)
	} else {
		if o.LoadAddress != 0 {
			return nil, fmt.Errorf("%s: a load address is for raw binaries (.bin); an ELF places itself", path)
		}
		im, err = LoadELF(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

func fileExt(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 && !strings.ContainsAny(path[i:], `/\`) {
		return path[i:]
	}
	return ""
}

func newImage() *Image {
	im := &Image{Flash: make([]byte, FlashSize), SRAM: make([]byte, SRAMSize)}
	for i := range im.Flash {
		im.Flash[i] = Erased
	}
	return im
}

// region returns the memory holding [addr, addr+n) and the offset of addr
// in it, or an error naming the range.
func (im *Image) region(addr, n uint32, what string) ([]byte, uint32, error) {
	end := uint64(addr) + uint64(n)
	switch {
	case addr >= FlashBase && end <= uint64(FlashBase)+uint64(FlashSize):
		return im.Flash, addr - FlashBase, nil
	case addr >= SRAMBase && end <= uint64(SRAMBase)+uint64(SRAMSize):
		return im.SRAM, addr - SRAMBase, nil
	case addr >= FlashBase && addr < FlashBase+FlashSize:
		return nil, 0, fmt.Errorf("image larger than flash: %s [%#08x, %#08x) ends %d bytes past the end of flash (%#08x, %d KiB)",
			what, addr, end, end-uint64(FlashBase+FlashSize), FlashBase+FlashSize, FlashSize>>10)
	default:
		return nil, 0, fmt.Errorf("%s [%#08x, %#08x) is outside flash [%#08x, %#08x) and SRAM [%#08x, %#08x)",
			what, addr, end, FlashBase, FlashBase+FlashSize, SRAMBase, SRAMBase+SRAMSize)
	}
}

// LoadBin places a raw binary at addr (in flash or SRAM).
func LoadBin(data []byte, addr uint32) (*Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty image: no bytes to load")
	}
	if uint64(len(data)) > uint64(FlashSize)+uint64(SRAMSize) {
		return nil, fmt.Errorf("image larger than flash: %d bytes, flash is %d KiB", len(data), FlashSize>>10)
	}
	im := newImage()
	mem, off, err := im.region(addr, uint32(len(data)), "raw binary")
	if err != nil {
		return nil, err
	}
	copy(mem[off:], data)
	span := Span{addr, uint32(len(data))}
	im.Loaded = []Span{span}
	im.Code = []Span{span}
	if err := im.readVectors(); err != nil {
		return nil, err
	}
	im.Entry = im.ResetHandler
	return im, nil
}

// LoadELF places an ELF executable's loadable segments.
func LoadELF(data []byte) (*Image, error) {
	if len(data) < 4 || !bytes.Equal(data[:4], []byte(elf.ELFMAG)) {
		return nil, errors.New("not an ELF file (no \\x7fELF magic); load a raw binary with a .bin name and a load address")
	}
	if len(data) > elf.EI_DATA {
		if c := elf.Class(data[elf.EI_CLASS]); c != elf.ELFCLASS32 {
			return nil, fmt.Errorf("not a 32-bit ELF (%v): the application is built for Cortex-M33", c)
		}
		if d := elf.Data(data[elf.EI_DATA]); d != elf.ELFDATA2LSB {
			return nil, fmt.Errorf("big-endian ELF (%v): Cortex-M33 applications are little-endian", d)
		}
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("malformed ELF: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_ARM {
		return nil, fmt.Errorf("not an ARM ELF (machine %v): build with arm-none-eabi-gcc -mcpu=cortex-m33 -mthumb", f.Machine)
	}
	if f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("not an executable ELF (%v): link the application first", f.Type)
	}
	im := newImage()
	im.Entry = uint32(f.Entry)
	for i, p := range f.Progs {
		if p.Type != elf.PT_LOAD || p.Memsz == 0 {
			continue
		}
		what := fmt.Sprintf("segment %d", i)
		if p.Filesz > 0 {
			mem, off, err := im.region(uint32(p.Paddr), uint32(p.Filesz), what+" (load address)")
			if err != nil {
				return nil, err
			}
			if _, err := p.ReadAt(mem[off:off+uint32(p.Filesz)], 0); err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			span := Span{uint32(p.Paddr), uint32(p.Filesz)}
			im.Loaded = append(im.Loaded, span)
			if p.Flags&elf.PF_X != 0 {
				im.Code = append(im.Code, span)
			}
		}
		if p.Memsz > p.Filesz { // .bss: zero where it runs, when that is SRAM
			zaddr, zn := uint32(p.Vaddr+p.Filesz), uint32(p.Memsz-p.Filesz)
			mem, off, err := im.region(zaddr, zn, what+" (zero-filled part)")
			if err != nil {
				return nil, err
			}
			if zaddr >= SRAMBase {
				clear(mem[off : off+zn])
			}
		}
	}
	if len(im.Loaded) == 0 {
		return nil, errors.New("no loadable segment (PT_LOAD with file contents): nothing to run")
	}
	sort.Slice(im.Loaded, func(i, j int) bool { return im.Loaded[i].Addr < im.Loaded[j].Addr })
	for i := 1; i < len(im.Loaded); i++ {
		a, b := im.Loaded[i-1], im.Loaded[i]
		if uint64(a.Addr)+uint64(a.Size) > uint64(b.Addr) {
			return nil, fmt.Errorf("segments overlap at load addresses [%#08x, %#08x) and [%#08x, %#08x)",
				a.Addr, a.Addr+a.Size, b.Addr, b.Addr+b.Size)
		}
	}
	if err := im.readVectors(); err != nil {
		return nil, err
	}
	im.readSymbols(f)
	return im, nil
}

// readVectors checks and reads words 0 and 1 of the vector table at the
// start of flash.
func (im *Image) readVectors() error {
	covered := false
	for _, s := range im.Loaded {
		if s.Addr <= FlashBase && uint64(s.Addr)+uint64(s.Size) >= uint64(FlashBase)+8 {
			covered = true
		}
	}
	if !covered {
		return fmt.Errorf("no vector table at the start of flash (%#08x): the image must begin there with the initial stack pointer and the reset handler", FlashBase)
	}
	im.InitialSP = binary.LittleEndian.Uint32(im.Flash[0:])
	im.ResetHandler = binary.LittleEndian.Uint32(im.Flash[4:])
	if sp := im.InitialSP; sp < SRAMBase || sp > SRAMBase+SRAMSize {
		return fmt.Errorf("initial stack pointer %#08x (vector table word 0) is outside SRAM [%#08x, %#08x]", sp, SRAMBase, SRAMBase+SRAMSize)
	}
	rh := im.ResetHandler
	if rh&1 == 0 {
		return fmt.Errorf("reset handler %#08x (vector table word 1) is even: not Thumb code, which is all a Cortex-M33 runs", rh)
	}
	if _, _, err := im.region(rh&^1, 2, "reset handler"); err != nil {
		return err
	}
	return nil
}

// readSymbols keeps the sized functions and objects, sorted by address.
func (im *Image) readSymbols(f *elf.File) {
	syms, err := f.Symbols()
	if err != nil {
		return // stripped: addresses stay unnamed
	}
	for _, s := range syms {
		t := elf.ST_TYPE(s.Info)
		if (t != elf.STT_FUNC && t != elf.STT_OBJECT) || s.Name == "" || s.Section == elf.SHN_UNDEF {
			continue
		}
		sym := Symbol{Name: s.Name, Addr: uint32(s.Value), Size: uint32(s.Size), Func: t == elf.STT_FUNC,
			Weak: elf.ST_BIND(s.Info) == elf.STB_WEAK}
		if sym.Func {
			sym.Addr &^= 1
		}
		im.Symbols = append(im.Symbols, sym)
	}
	sortSymbols(im.Symbols)
}

// sortSymbols orders symbols by address; at one address (aliases) a strong
// definition comes before weak ones, then by name, so that Lookup names
// an alias group by its one strong symbol (Default_Handler, not one of the
// 140 weak handler names aliasing it).
func sortSymbols(syms []Symbol) {
	sort.Slice(syms, func(i, j int) bool {
		a, b := syms[i], syms[j]
		if a.Addr != b.Addr {
			return a.Addr < b.Addr
		}
		if a.Weak != b.Weak {
			return !a.Weak
		}
		return a.Name < b.Name
	})
}

// Lookup returns the symbol containing addr (the Thumb bit ignored) and
// addr's offset in it: the one starting nearest below addr, the first in
// sortSymbols order among aliases. A symbol without a size contains only
// its own address.
func (im *Image) Lookup(addr uint32) (Symbol, uint32, bool) {
	a := addr &^ 1
	i := sort.Search(len(im.Symbols), func(i int) bool { return im.Symbols[i].Addr > a })
	for j := i - 1; j >= 0 && j >= i-maxNested; j-- {
		s := im.Symbols[j]
		if a != s.Addr && a-s.Addr >= s.Size {
			continue
		}
		for j > 0 && im.Symbols[j-1].Addr == s.Addr { // the preferred alias
			j--
		}
		s = im.Symbols[j]
		return s, a - s.Addr, true
	}
	return Symbol{}, 0, false
}

// maxNested bounds how many symbols below addr Lookup tries: a small
// object inside a function's range, or a zero-size label, may sit between
// addr and the symbol containing it.
const maxNested = 8

// SymbolNamed returns the symbol called name (the first, if aliases
// share it).
func (im *Image) SymbolNamed(name string) (Symbol, bool) {
	for _, s := range im.Symbols {
		if s.Name == name {
			return s, true
		}
	}
	return Symbol{}, false
}

// Symbolize names addr for a crash report: "func+0x12", "func" at its
// start, a system call's name at its gateway ("mvServerLog"), or the bare
// address "0x08001234" when no symbol covers it.
func (im *Image) Symbolize(addr uint32) string {
	if s, off, ok := im.Lookup(addr); ok {
		if off == 0 {
			return s.Name
		}
		return fmt.Sprintf("%s+%#x", s.Name, off)
	}
	if g, ok := abi.GatewayAt(addr); ok {
		return g.Name
	}
	return fmt.Sprintf("%#08x", addr)
}

// IsCode reports whether addr lies in an executable part of the image.
func (im *Image) IsCode(addr uint32) bool {
	for _, s := range im.Code {
		if s.Contains(addr &^ 1) {
			return true
		}
	}
	return false
}

// Vector returns entry n of the vector table at the start of flash (0 the
// initial stack pointer, 1 reset, 3 HardFault, 16+k IRQ k).
func (im *Image) Vector(n int) uint32 {
	if n < 0 || 4*n+4 > len(im.Flash) {
		return 0
	}
	return binary.LittleEndian.Uint32(im.Flash[4*n:])
}

// SpinsForever reports whether the code at addr (the Thumb bit ignored)
// is a branch to itself ("b ." in 16 or 32 bits): the body of a default
// exception handler such as startup code's Default_Handler. The machine
// treats a fault taken to such a handler as unhandled.
func (im *Image) SpinsForever(addr uint32) bool {
	a := addr &^ 1
	if a < FlashBase || a+4 > FlashBase+FlashSize {
		return false
	}
	hw1 := binary.LittleEndian.Uint16(im.Flash[a-FlashBase:])
	hw2 := binary.LittleEndian.Uint16(im.Flash[a-FlashBase+2:])
	return hw1 == 0xE7FE || (hw1 == 0xF7FF && hw2 == 0xBFFE)
}

// Regions returns flash and SRAM as the core's fast-path regions over the
// image's memory (not copies): flash executable and read-only, SRAM
// executable and writable.
func (im *Image) Regions() []cpu.Region {
	return []cpu.Region{
		{Base: FlashBase, Data: im.Flash, Exec: true},
		{Base: SRAMBase, Data: im.SRAM, Exec: true, Writable: true},
	}
}
