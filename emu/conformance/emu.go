package conformance

import (
	"encoding/binary"
	"fmt"

	"github.com/mvnet/mvnet/emu/cpu"
)

// EmuRun is the outcome of running an image on emu/cpu.
type EmuRun struct {
	Results []Result
	// Faults are the faults the core reported, by sequence index (the
	// harness recovers from them, as the HardFault handler does on QEMU).
	Faults map[int]cpu.Fault
	// Unexpected lists every event the harness never causes (SVC, an
	// exception return, sleep, a trap, a BKPT other than semihosting):
	// each is a failure.
	Unexpected []Event
}

// Event is something the core reported during sequence Seq.
type Event struct {
	Seq  int
	What string
}

// emuHooks is the Hooks of a harness run: semihosting through BKPT 0xab
// (SYS_WRITE0, SYS_EXIT), faults recorded against the current sequence
// and resumed at fault_resume, anything else recorded as unexpected and
// the run stopped.
type emuHooks struct {
	img      *Image
	code     []byte
	ram      []byte
	out      []byte
	exited   bool
	faults   map[int]cpu.Fault
	unexpect []Event
}

func (h *emuHooks) mem(addr uint32) []byte {
	switch {
	case addr >= CodeBase && addr < CodeBase+uint32(len(h.code)):
		return h.code[addr-CodeBase:]
	case addr >= RAMBase && addr < RAMBase+uint32(len(h.ram)):
		return h.ram[addr-RAMBase:]
	}
	return nil
}

func (h *emuHooks) curSeq() int {
	return int(binary.LittleEndian.Uint32(h.mem(h.img.Syms["cur_seq"])))
}

func (h *emuHooks) bad(c *cpu.CPU, format string, args ...any) {
	h.unexpect = append(h.unexpect, Event{h.curSeq(), fmt.Sprintf(format, args...)})
	c.RequestStop()
}

func (h *emuHooks) SVC(c *cpu.CPU, imm uint8) { h.bad(c, "SVC %d at %#x", imm, c.R[15]-2) }

func (h *emuHooks) BKPT(c *cpu.CPU, imm uint8) {
	if imm != semiBKPT {
		h.bad(c, "BKPT %d at %#x", imm, c.R[15])
		return
	}
	switch c.R[0] {
	case semiWrite0:
		b := h.mem(c.R[1])
		for len(b) > 0 && b[0] != 0 {
			h.out = append(h.out, b[0])
			b = b[1:]
		}
	case semiExit:
		h.exited = true
		c.RequestStop()
	default:
		h.bad(c, "semihosting operation %#x", c.R[0])
		return
	}
	c.R[15] += 2
}

func (h *emuHooks) Fault(c *cpu.CPU, f cpu.Fault) {
	i := h.curSeq()
	if _, dup := h.faults[i]; dup {
		h.bad(c, "second fault %+v (the harness itself faulted?)", f)
		return
	}
	h.faults[i] = f
	// What the HardFault handler records on QEMU: CFSR and the PC.
	info := h.mem(h.img.Syms["fault_info"])
	binary.LittleEndian.PutUint32(info, f.Kind.CFSR())
	binary.LittleEndian.PutUint32(info[4:], f.PC)
	c.IT = 0
	c.R[15] = h.img.Syms["fault_resume"]
}

func (h *emuHooks) ExceptionReturn(c *cpu.CPU, v uint32) {
	h.bad(c, "exception return %#x at %#x", v, c.R[15])
}

func (h *emuHooks) Trap(c *cpu.CPU, pc uint32) bool {
	h.bad(c, "execution outside the code at %#x", pc)
	return true
}

func (h *emuHooks) Sleep(c *cpu.CPU, wfe bool) { h.bad(c, "WFI/WFE at %#x", c.R[15]-2) }

// RunEmu runs the image on emu/cpu with Regions where QEMU has the
// AN505's memory, from the reset vector, and returns what the harness
// wrote.
func RunEmu(img *Image) (*EmuRun, error) {
	h := &emuHooks{img: img, code: make([]byte, CodeSize), ram: make([]byte, RAMSize), faults: map[int]cpu.Fault{}}
	for _, s := range img.Segments {
		b := h.mem(s.Addr)
		if len(b) < len(s.Data) {
			return nil, fmt.Errorf("conformance: segment at %#x (%d bytes) outside the emulated memory", s.Addr, len(s.Data))
		}
		copy(b, s.Data)
	}
	c := &cpu.CPU{Hooks: h, Bus: noBus{}, Regions: []cpu.Region{
		{Base: CodeBase, Data: h.code, Exec: true, Writable: true},
		{Base: RAMBase, Data: h.ram, Writable: true},
	}}
	c.R[13] = binary.LittleEndian.Uint32(h.code[0:])
	c.R[15] = binary.LittleEndian.Uint32(h.code[4:]) &^ 1
	budget := uint64(20_000)*uint64(len(img.Seqs)) + 1_000_000
	for !h.exited && len(h.unexpect) == 0 && c.Instructions < budget {
		c.Run(budget - c.Instructions)
	}
	run := &EmuRun{Faults: h.faults, Unexpected: h.unexpect}
	if len(h.unexpect) > 0 {
		return run, nil
	}
	if !h.exited {
		return run, fmt.Errorf("conformance: emu/cpu did not reach SYS_EXIT in %d instructions (pc %#x, sequence %d)", budget, c.R[15], h.curSeq())
	}
	rs, err := parseResults(h.out, len(img.Seqs))
	run.Results = rs
	return run, err
}

// noBus answers nothing: the harness touches only its two regions.
type noBus struct{}

func (noBus) Load(addr uint32, size int) (uint32, bool)  { return 0, false }
func (noBus) Store(addr uint32, size int, v uint32) bool { return false }
