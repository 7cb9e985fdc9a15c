package emu

import (
	"fmt"
	"strings"

	"github.com/mvnet/mvnet/emu/cpu"
)

// Crash is the error Run returns when the firmware takes a fault it does
// not handle: a lockup (a fault HardFault could not take), or an exception
// whose handler is a default handler (see Options.Unhandled). It holds the
// state at the faulting instruction, before any exception entry.
type Crash struct {
	Reason    string
	Exception int    // the exception that was not handled (3: HardFault)
	PC        uint32 // the faulting instruction (the return address the exception would stack)
	Instr     string // its disassembly, "" if it could not be read
	R         [16]uint32
	XPSR      uint32
	MSP, PSP  uint32
	PRIMASK   bool
	FAULTMASK bool
	BASEPRI   uint8
	CONTROL   uint8
	CFSR      uint32
	HFSR      uint32
	MMFAR     uint32 // valid when CFSR.MMARVALID
	BFAR      uint32 // valid when CFSR.BFARVALID
	// Backtrace is the frames, one line each: Options.Backtrace's, or
	// PC, LR and the words on the active stack (up to 64) that look like
	// return addresses into an executable region (bit 0 set) — a
	// heuristic, not an unwind.
	Backtrace []string
	// Instructions is the instruction count at the crash.
	Instructions uint64

	symbolize func(addr uint32) string
}

// crashNow records a crash in the current state, the faulting
// instruction at pc, and stops the core.
func (m *Machine) crashNow(n int, pc uint32, reason string) {
	if m.crash != nil {
		return
	}
	c := &m.cpu
	if m.faultNote != "" {
		reason += " (the fault: " + m.faultNote + ")"
	}
	k := &Crash{
		Reason: reason, Exception: n, PC: pc, R: c.R, XPSR: c.XPSR(),
		MSP: c.MSP(), PSP: c.PSP(), PRIMASK: c.PRIMASK, FAULTMASK: c.FAULTMASK,
		BASEPRI: c.BASEPRI, CONTROL: c.CONTROL, CFSR: m.cfsr, HFSR: m.hfsr,
		MMFAR: m.mmfar, BFAR: m.bfar, Instructions: c.Instructions, symbolize: m.o.Symbolize,
	}
	k.R[15] = pc
	if hw1, ok := m.load16(pc &^ 1); ok {
		hw2, _ := m.load16(pc&^1 + 2)
		k.Instr, _ = cpu.Disassemble(hw1, hw2)
	}
	k.Backtrace = m.backtrace(k, c.R[13], c.R[14], pc)
	m.crash = k
	m.kick()
}

// backtrace lists the crashed program's frames.
func (m *Machine) backtrace(k *Crash, sp, lr, pc uint32) []string {
	if m.o.Backtrace != nil {
		return m.o.Backtrace(sp, lr, pc, m.load32)
	}
	lines := []string{k.sym(pc) + " (pc)"}
	if lr>>24 != 0xFF {
		lines = append(lines, k.sym(lr&^1)+" (lr)")
	}
	for i := uint32(0); i < 64; i++ {
		w, ok := m.load32(sp + 4*i)
		if !ok {
			break
		}
		if r, ok := m.region(w&^1, 2); ok && r.Exec && w&1 == 1 && w != lr {
			lines = append(lines, fmt.Sprintf("%s (stack %#08x)", k.sym(w&^1), sp+4*i))
		}
	}
	return lines
}

// bitName names one bit of a status register.
type bitName struct {
	bit  uint32
	name string
}

// cfsrNames decodes CFSR bits (ARMv8-M ARM: MMFSR, BFSR, UFSR).
var cfsrNames = []bitName{
	{cfsrIAccViol, "IACCVIOL (instruction fetch from a non-executable address)"},
	{cfsrDAccViol, "DACCVIOL (data access violation)"},
	{cfsrMUnstkErr, "MUNSTKERR"}, {cfsrMStkErr, "MSTKERR (stacking for exception entry)"},
	{cfsrMMARValid, "MMARVALID"},
	{cfsrIBusErr, "IBUSERR (instruction fetch bus error)"},
	{cfsrPreciseErr, "PRECISERR (data bus error)"}, {cfsrImprecise, "IMPRECISERR"},
	{cfsrUnstkErr, "UNSTKERR (unstacking for exception return)"},
	{cfsrStkErr, "STKERR (stacking for exception entry)"}, {cfsrBFARValid, "BFARVALID"},
	{cfsrUndefInstr, "UNDEFINSTR (undefined instruction)"},
	{cfsrInvState, "INVSTATE (Thumb bit clear)"},
	{cfsrInvPC, "INVPC (bad EXC_RETURN)"}, {cfsrNoCP, "NOCP (coprocessor/FPU instruction)"},
	{cfsrStkOf, "STKOF (stack limit)"}, {cfsrUnaligned, "UNALIGNED"},
	{cfsrDivByZero, "DIVBYZERO"},
}

var hfsrNames = []bitName{
	{hfsrVectTbl, "VECTTBL (vector table read)"},
	{hfsrForced, "FORCED (escalated from a configurable fault)"},
	{hfsrDebugEvt, "DEBUGEVT (BKPT with no debugger)"},
}

// DecodeCFSR names the bits set in a CFSR value.
func DecodeCFSR(v uint32) []string { return decodeBits(v, cfsrNames) }

// DecodeHFSR names the bits set in an HFSR value.
func DecodeHFSR(v uint32) []string { return decodeBits(v, hfsrNames) }

func decodeBits(v uint32, names []bitName) []string {
	var s []string
	for _, b := range names {
		if v&b.bit != 0 {
			s = append(s, b.name)
		}
	}
	return s
}

func (k *Crash) sym(addr uint32) string {
	if k.symbolize != nil {
		if s := k.symbolize(addr); s != "" {
			return fmt.Sprintf("%#08x %s", addr, s)
		}
	}
	return fmt.Sprintf("%#08x", addr)
}

// Error is the one-line summary.
func (k *Crash) Error() string {
	return fmt.Sprintf("firmware crashed: %s at %s", k.Reason, k.sym(k.PC))
}

// Report is the full crash report the run prints: the reason, the
// faulting instruction, the fault status decoded, the fault address, the
// registers and the backtrace.
func (k *Crash) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "firmware crash: %s\n", k.Reason)
	fmt.Fprintf(&b, "  exception:   %d (%s)\n", k.Exception, excName(k.Exception))
	fmt.Fprintf(&b, "  instruction: %s", k.sym(k.PC))
	if k.Instr != "" {
		fmt.Fprintf(&b, ": %s", k.Instr)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  CFSR %#08x %s\n", k.CFSR, strings.Join(DecodeCFSR(k.CFSR), ", "))
	fmt.Fprintf(&b, "  HFSR %#08x %s\n", k.HFSR, strings.Join(DecodeHFSR(k.HFSR), ", "))
	if k.CFSR&cfsrMMARValid != 0 {
		fmt.Fprintf(&b, "  fault address (MMFAR): %#08x\n", k.MMFAR)
	}
	if k.CFSR&cfsrBFARValid != 0 {
		fmt.Fprintf(&b, "  fault address (BFAR): %#08x\n", k.BFAR)
	}
	for i := 0; i < 16; i += 4 {
		fmt.Fprintf(&b, "  r%-2d %08x  r%-2d %08x  r%-2d %08x  r%-2d %08x\n",
			i, k.R[i], i+1, k.R[i+1], i+2, k.R[i+2], i+3, k.R[i+3])
	}
	fmt.Fprintf(&b, "  xpsr %08x  msp %08x  psp %08x  primask %d  basepri %#02x  faultmask %d  control %#x\n",
		k.XPSR, k.MSP, k.PSP, b2i(k.PRIMASK), k.BASEPRI, b2i(k.FAULTMASK), k.CONTROL)
	fmt.Fprintf(&b, "  instructions retired: %d\n", k.Instructions)
	b.WriteString("  backtrace:\n")
	for _, f := range k.Backtrace {
		fmt.Fprintf(&b, "    %s\n", f)
	}
	return b.String()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}
