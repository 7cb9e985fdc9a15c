package loader

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seg is one PT_LOAD segment of a synthetic ELF.
type seg struct {
	paddr, vaddr uint32
	data         []byte
	memsz        uint32 // 0: len(data)
	flags        elf.ProgFlag
}

// elfHeader fields a test may spoil.
type elfOpts struct {
	class   byte
	data    byte
	machine elf.Machine
	typ     elf.Type
}

// mkELF writes a minimal ELF32 executable: header, program headers, then
// each segment's bytes. No sections: debug/elf reads segments without
// them.
func mkELF(o elfOpts, entry uint32, segs ...seg) []byte {
	if o.class == 0 {
		o.class = byte(elf.ELFCLASS32)
	}
	if o.data == 0 {
		o.data = byte(elf.ELFDATA2LSB)
	}
	if o.machine == 0 {
		o.machine = elf.EM_ARM
	}
	if o.typ == 0 {
		o.typ = elf.ET_EXEC
	}
	const ehsize, phsize = 52, 32
	var b bytes.Buffer
	le := binary.LittleEndian
	ident := [16]byte{0x7f, 'E', 'L', 'F', o.class, o.data, 1}
	b.Write(ident[:])
	w16 := func(v uint16) { _ = binary.Write(&b, le, v) }
	w32 := func(v uint32) { _ = binary.Write(&b, le, v) }
	w16(uint16(o.typ))
	w16(uint16(o.machine))
	w32(1)
	w32(entry)
	w32(ehsize)            // phoff
	w32(0)                 // shoff
	w32(0x05000200)        // flags: EABI5, soft float
	w16(ehsize)            // ehsize
	w16(phsize)            // phentsize
	w16(uint16(len(segs))) // phnum
	w16(40)                // shentsize
	w16(0)                 // shnum
	w16(0)                 // shstrndx
	off := uint32(ehsize + phsize*len(segs))
	for _, s := range segs {
		memsz := s.memsz
		if memsz == 0 {
			memsz = uint32(len(s.data))
		}
		flags := s.flags
		if flags == 0 {
			flags = elf.PF_R | elf.PF_X
		}
		w32(uint32(elf.PT_LOAD))
		w32(off)
		w32(s.vaddr)
		w32(s.paddr)
		w32(uint32(len(s.data)))
		w32(memsz)
		w32(uint32(flags))
		w32(4)
		off += uint32(len(s.data))
	}
	for _, s := range segs {
		b.Write(s.data)
	}
	return b.Bytes()
}

// vectors returns a vector table start: initial SP, reset handler, then
// code at the reset handler (a "b ." at 0x08000008).
func vectors(sp, reset uint32) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b, sp)
	binary.LittleEndian.PutUint32(b[4:], reset)
	binary.LittleEndian.PutUint16(b[8:], 0xE7FE)  // b .
	binary.LittleEndian.PutUint16(b[10:], 0xBF00) // nop
	return b
}

func TestLoadELFPlacesSegments(t *testing.T) {
	text := vectors(0x20080000, 0x08000009)
	data := []byte{1, 2, 3, 4}
	im, err := LoadELF(mkELF(elfOpts{}, 0x08000009,
		seg{paddr: FlashBase, vaddr: FlashBase, data: text},
		seg{paddr: FlashBase + 0x100, vaddr: SRAMBase, data: data, memsz: 16, flags: elf.PF_R | elf.PF_W},
	))
	if err != nil {
		t.Fatal(err)
	}
	if im.InitialSP != 0x20080000 || im.ResetHandler != 0x08000009 || im.Entry != 0x08000009 {
		t.Errorf("SP %#x reset %#x entry %#x", im.InitialSP, im.ResetHandler, im.Entry)
	}
	if !bytes.Equal(im.Flash[:12], text) {
		t.Errorf("flash starts % x", im.Flash[:12])
	}
	// .data's initial values go to their load address in flash, not SRAM.
	if !bytes.Equal(im.Flash[0x100:0x104], data) || im.Flash[0x104] != Erased {
		t.Errorf("flash at 0x100: % x", im.Flash[0x100:0x106])
	}
	if !bytes.Equal(im.SRAM[:16], make([]byte, 16)) {
		t.Errorf("SRAM is not zero: % x", im.SRAM[:16])
	}
	if im.Flash[12] != Erased || im.Flash[len(im.Flash)-1] != Erased {
		t.Error("unprogrammed flash is not erased")
	}
	if len(im.Loaded) != 2 || im.Loaded[0] != (Span{FlashBase, 12}) || im.Loaded[1] != (Span{FlashBase + 0x100, 4}) {
		t.Errorf("Loaded = %v", im.Loaded)
	}
	if !im.IsCode(0x08000009) || im.IsCode(FlashBase+0x100) {
		t.Errorf("IsCode: text %v, data %v", im.IsCode(0x08000009), im.IsCode(FlashBase+0x100))
	}
	if !im.SpinsForever(0x08000009) || im.SpinsForever(0x0800000A) {
		t.Error("SpinsForever does not recognise b . at the reset handler, or recognises a nop")
	}
	if im.Vector(0) != 0x20080000 || im.Vector(1) != 0x08000009 {
		t.Errorf("Vector(0), Vector(1) = %#x, %#x", im.Vector(0), im.Vector(1))
	}
	r := im.Regions()
	if len(r) != 2 || r[0].Base != FlashBase || r[0].Writable || !r[0].Exec || r[1].Base != SRAMBase || !r[1].Writable ||
		&r[0].Data[0] != &im.Flash[0] || len(r[1].Data) != int(SRAMSize) {
		t.Errorf("Regions = flash %#x w=%v x=%v, SRAM %#x w=%v", r[0].Base, r[0].Writable, r[0].Exec, r[1].Base, r[1].Writable)
	}
}

func TestLoadBin(t *testing.T) {
	text := vectors(0x20080000, 0x08000009)
	dir := t.TempDir()
	path := filepath.Join(dir, "app.BIN")
	if err := os.WriteFile(path, text, 0o644); err != nil {
		t.Fatal(err)
	}
	im, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if im.ResetHandler != 0x08000009 || im.Entry != 0x08000009 || !bytes.Equal(im.Flash[:12], text) {
		t.Errorf("reset %#x entry %#x", im.ResetHandler, im.Entry)
	}
	// The same bytes under another name are read as ELF, and refused.
	other := filepath.Join(dir, "app.img")
	if err := os.WriteFile(other, text, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(other, Options{}); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("raw bytes as ELF: %v", err)
	}
	if _, err := Load(other, Options{Raw: true, LoadAddress: FlashBase}); err != nil {
		t.Errorf("Raw: %v", err)
	}
	// Loaded in SRAM, the start of flash holds no vector table.
	if _, err := LoadBin(text, SRAMBase); err == nil || !strings.Contains(err.Error(), "no vector table") {
		t.Errorf("binary in SRAM: %v", err)
	}
}

// Every malformed image is refused with an error that names the problem.
func TestLoadErrors(t *testing.T) {
	good := vectors(0x20080000, 0x08000009)
	text := seg{paddr: FlashBase, vaddr: FlashBase, data: good}
	for _, c := range []struct {
		name string
		img  []byte
		bin  uint32 // load as raw at this address when non-zero
		want string
	}{
		{"not ELF", []byte("hello, world"), 0, "not an ELF file"},
		{"64-bit", mkELF(elfOpts{class: byte(elf.ELFCLASS64)}, 0, text), 0, "not a 32-bit ELF"},
		{"big endian", mkELF(elfOpts{data: byte(elf.ELFDATA2MSB)}, 0, text), 0, "big-endian"},
		{"not ARM", mkELF(elfOpts{machine: elf.EM_RISCV}, 0, text), 0, "not an ARM ELF (machine EM_RISCV)"},
		{"relocatable", mkELF(elfOpts{typ: elf.ET_REL}, 0, text), 0, "not an executable ELF (ET_REL)"},
		{"no segment", mkELF(elfOpts{}, 0), 0, "no loadable segment"},
		{"outside", mkELF(elfOpts{}, 0, text, seg{paddr: 0x10000000, vaddr: 0x10000000, data: []byte{1}}), 0,
			"segment 1 (load address) [0x10000000, 0x10000001) is outside flash [0x08000000, 0x08100000) and SRAM [0x20000000, 0x20080000)"},
		{"bss outside", mkELF(elfOpts{}, 0, text, seg{paddr: FlashBase + 64, vaddr: 0x30000000, data: []byte{1}, memsz: 8}), 0,
			"segment 1 (zero-filled part) [0x30000001, 0x30000008) is outside flash"},
		{"larger than flash", mkELF(elfOpts{}, 0, seg{paddr: FlashBase, vaddr: FlashBase, data: append(append([]byte{}, good...), make([]byte, FlashSize)...)}), 0,
			"image larger than flash: segment 0 (load address) [0x08000000, 0x0810000c) ends 12 bytes past the end of flash (0x08100000, 1024 KiB)"},
		{"overlap", mkELF(elfOpts{}, 0, text, seg{paddr: FlashBase + 8, vaddr: FlashBase + 8, data: []byte{1, 2}}), 0,
			"segments overlap"},
		{"no vectors", mkELF(elfOpts{}, 0, seg{paddr: FlashBase + 0x200, vaddr: FlashBase + 0x200, data: good}), 0,
			"no vector table at the start of flash (0x08000000)"},
		{"even reset", mkELF(elfOpts{}, 0, seg{paddr: FlashBase, vaddr: FlashBase, data: vectors(0x20080000, 0x08000008)}), 0,
			"reset handler 0x08000008 (vector table word 1) is even: not Thumb code"},
		{"reset outside", mkELF(elfOpts{}, 0, seg{paddr: FlashBase, vaddr: FlashBase, data: vectors(0x20080000, 0x00000101)}), 0,
			"reset handler [0x00000100, 0x00000102) is outside flash"},
		{"stack outside", mkELF(elfOpts{}, 0, seg{paddr: FlashBase, vaddr: FlashBase, data: vectors(0x30000000, 0x08000009)}), 0,
			"initial stack pointer 0x30000000 (vector table word 0) is outside SRAM"},
		{"empty bin", nil, FlashBase, "empty image"},
		{"bin outside", good, 0x10000000, "raw binary [0x10000000, 0x1000000c) is outside flash"},
		{"bin too large", make([]byte, FlashSize+1), FlashBase, "image larger than flash: raw binary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.bin != 0 {
				_, err = LoadBin(c.img, c.bin)
			} else {
				_, err = LoadELF(c.img)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestLoadAddressWithELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.elf")
	if err := os.WriteFile(path, mkELF(elfOpts{}, 0, seg{paddr: FlashBase, vaddr: FlashBase, data: vectors(0x20080000, 0x08000009)}), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, Options{LoadAddress: FlashBase}); err == nil || !strings.Contains(err.Error(), "load address is for raw binaries") {
		t.Errorf("ELF with a load address: %v", err)
	}
	if _, err := Load(path, Options{}); err != nil {
		t.Error(err)
	}
}

func TestSymbolize(t *testing.T) {
	im := &Image{Symbols: []Symbol{
		{Name: "main", Addr: 0x08000100, Size: 0x40, Func: true},
		{Name: "helper", Addr: 0x08000140, Size: 0x10, Func: true},
		{Name: "marker", Addr: 0x08000200, Size: 0},
		{Name: "buffer", Addr: 0x20000000, Size: 0x100},
	}}
	for addr, want := range map[uint32]string{
		0x08000100: "main", 0x08000101: "main", 0x08000112: "main+0x12", 0x0800013f: "main+0x3e",
		0x08000140: "helper", 0x08000150: "0x08000150", 0x08000200: "marker", 0x08000202: "0x08000202",
		0x20000010: "buffer+0x10", 0x0C1FE129: "mvServerLog", 0x0C1FE128: "mvServerLog", 0x0C1FE0A0: "0x0c1fe0a0",
	} {
		if got := im.Symbolize(addr); got != want {
			t.Errorf("Symbolize(%#x) = %q, want %q", addr, got, want)
		}
	}
}

func TestBacktraceHeuristic(t *testing.T) {
	// Code: f at 0x08000100 calls g with a BL ending at 0x08000108; g at
	// 0x08000200 calls h with a BLX r3 ending at 0x08000206.
	im := &Image{Flash: make([]byte, FlashSize), Code: []Span{{FlashBase, 0x1000}}, Symbols: []Symbol{
		{Name: "f", Addr: 0x08000100, Size: 0x20, Func: true},
		{Name: "g", Addr: 0x08000200, Size: 0x20, Func: true},
		{Name: "h", Addr: 0x08000300, Size: 0x20, Func: true},
	}}
	le := binary.LittleEndian
	le.PutUint16(im.Flash[0x104:], 0xF000) // bl (first half)
	le.PutUint16(im.Flash[0x106:], 0xF87B) // bl (second half)
	le.PutUint16(im.Flash[0x204:], 0x4798) // blx r3
	le.PutUint16(im.Flash[0x10C:], 0xBF00) // nop nop: no call before 0x08000110
	le.PutUint16(im.Flash[0x10E:], 0xBF00)
	stack := map[uint32]uint32{
		0x2007FF00: 0x12345678, // data
		0x2007FF04: 0x08000111, // looks like code, but not after a call
		0x2007FF08: 0x08000207, // return into g (after blx r3)
		0x2007FF0C: 0x08000108, // even: not a return address
		0x2007FF10: 0x08000109, // return into f (after bl)
		0x2007FF14: 0x20000001, // odd but not code
	}
	read := func(a uint32) (uint32, bool) {
		if a >= FlashBase && a < FlashBase+FlashSize {
			return le.Uint32(im.Flash[a-FlashBase:]), true
		}
		if a < 0x2007FF00 || a >= 0x2007FF18 {
			return 0, false
		}
		return stack[a], true
	}
	frames := im.Backtrace(0x2007FF00, 0x08000207, 0x08000310, read)
	var got []string
	for _, f := range frames {
		got = append(got, f.String())
	}
	want := []string{
		"0x08000310 h+0x10 (pc)",
		"0x08000206 g+0x6 (lr)",
		"0x08000108 f+0x8 (stack 0x2007ff10)", // the stacked copy of lr is not repeated
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("backtrace\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// An EXC_RETURN in lr is not a frame.
	if frames := im.Backtrace(0x2007FF18, 0xFFFFFFF9, 0x08000310, read); len(frames) != 1 {
		t.Errorf("EXC_RETURN lr: %v", frames)
	}
}
