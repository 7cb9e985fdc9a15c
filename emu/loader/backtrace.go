package loader

import "fmt"

// Frame is one line of a crash report's backtrace.
type Frame struct {
	PC     uint32 // the instruction (frame 0) or the return address (the Thumb bit cleared)
	Symbol string // im.Symbolize(PC)
	// From says where the address was found: "pc", "lr", or "stack
	// 0x2007ff40" for a word read from the stack at that address.
	From string
}

func (f Frame) String() string { return fmt.Sprintf("%#08x %s (%s)", f.PC, f.Symbol, f.From) }

// Reader reads an aligned 32-bit word of the faulting machine's memory;
// ok is false where nothing is mapped.
type Reader func(addr uint32) (v uint32, ok bool)

// Backtrace limits.
const (
	maxFrames     = 16
	maxStackWords = 2048 // how far up the stack the scan looks: 8 KiB, fw.ld's minimum stack
)

// Backtrace lists the frames of a stopped program from its PC, LR and
// stack pointer.
//
// It is a heuristic: without unwind tables it cannot know where each frame
// saved its return address, so after PC and LR it scans the stack upwards
// from sp for words that look like return addresses — odd (Thumb), inside
// the image's code, and just after a BL or BLX instruction. A stale return
// address left in a dead stack slot can appear as a frame, and a frame
// that keeps its return address only in LR (a leaf, or a tail call) is
// found only as the LR line. LR holding an EXC_RETURN value (0xFFxxxxxx:
// the fault came from an exception handler) is skipped.
func (im *Image) Backtrace(sp, lr, pc uint32, read Reader) []Frame {
	frames := []Frame{{PC: pc &^ 1, Symbol: im.Symbolize(pc), From: "pc"}}
	last := uint32(0)
	if lr>>24 != 0xFF && im.IsCode(lr) {
		ret := lr &^ 1
		frames = append(frames, Frame{PC: ret, Symbol: im.Symbolize(ret), From: "lr"})
		last = ret
	}
	for i := uint32(0); i < maxStackWords && len(frames) < maxFrames; i++ {
		at := sp&^3 + 4*i
		if at < sp { // wrapped around the top of the address space
			break
		}
		w, ok := read(at)
		if !ok {
			break // the top of SRAM, or a stack pointer gone wild
		}
		if w&1 == 0 || !im.IsCode(w) || w&^1 == last {
			continue
		}
		ret := w &^ 1
		if !afterCall(ret, read) {
			continue
		}
		frames = append(frames, Frame{PC: ret, Symbol: im.Symbolize(ret), From: fmt.Sprintf("stack %#08x", at)})
		last = ret
	}
	return frames
}

// afterCall reports whether the instruction before ret is a call: a
// 32-bit BL or BLX (immediate) ending at ret, or a 16-bit BLX register.
func afterCall(ret uint32, read Reader) bool {
	if ret < 4 {
		return false
	}
	hw := func(a uint32) (uint16, bool) {
		w, ok := read(a &^ 3)
		if !ok {
			return 0, false
		}
		return uint16(w >> (8 * (a & 2))), true
	}
	if h, ok := hw(ret - 2); ok && h&0xFF87 == 0x4780 { // BLX Rm
		return true
	}
	h1, ok1 := hw(ret - 4)
	h2, ok2 := hw(ret - 2)
	// BL: 11110 S imm10, 11 J1 1 J2 imm11; BLX (immediate): 11110 ..., 11 J1 0 J2 ...
	return ok1 && ok2 && h1&0xF800 == 0xF000 && h2&0xC000 == 0xC000
}
