package conformance

import (
	"fmt"
	"strings"
)

// Diff compares QEMU's result q with emu/cpu's e for seq and returns one
// line per differing field ("" when they agree). Registers, APSR (flags,
// Q, GE), SP and whether the sequence faulted (and then CFSR and the
// faulting instruction's address) are always compared; the
// scratch memory when the sequence accesses memory and neither faulted
// (a fault's exception stacking on QEMU writes below SP).
func Diff(seq *Seq, q, e *Result) string {
	var b strings.Builder
	if q.Status != e.Status {
		fmt.Fprintf(&b, "  status: qemu %s, emu %s\n", statusName(q.Status), statusName(e.Status))
		return b.String()
	}
	if q.Faulted() {
		// The harness records CFSR in r0 and the faulting PC in r1.
		if q.R[0] != e.R[0] {
			fmt.Fprintf(&b, "  fault CFSR: qemu %#08x, emu %#08x\n", q.R[0], e.R[0])
		}
		if q.R[1] != e.R[1] {
			fmt.Fprintf(&b, "  fault PC: qemu %#08x, emu %#08x\n", q.R[1], e.R[1])
		}
		return b.String()
	}
	for i := range q.R {
		if q.R[i] != e.R[i] {
			fmt.Fprintf(&b, "  r%d: qemu %#08x, emu %#08x\n", i, q.R[i], e.R[i])
		}
	}
	if q.APSR != e.APSR {
		fmt.Fprintf(&b, "  APSR: qemu %#08x (%s), emu %#08x (%s)\n", q.APSR, FlagString(q.APSR), e.APSR, FlagString(e.APSR))
	}
	if q.SP != e.SP {
		fmt.Fprintf(&b, "  sp: qemu %#08x, emu %#08x\n", q.SP, e.SP)
	}
	if seq.Mem {
		for i := range q.Scratch {
			if q.Scratch[i] != e.Scratch[i] {
				fmt.Fprintf(&b, "  mem[%#08x]: qemu %#08x, emu %#08x\n", ScratchBase+4*i, q.Scratch[i], e.Scratch[i])
			}
		}
	}
	return b.String()
}

func statusName(s uint32) string {
	switch s {
	case statusDone:
		return "completed"
	case statusFaulted:
		return "faulted"
	}
	return fmt.Sprintf("%#x (corrupt record)", s)
}

// FlagString renders APSR as "NZCVQ GE=xxxx" with '-' for clear flags.
func FlagString(apsr uint32) string {
	var b []byte
	for i, f := range "NZCVQ" {
		if apsr&(1<<(31-i)) != 0 {
			b = append(b, byte(f))
		} else {
			b = append(b, '-')
		}
	}
	return fmt.Sprintf("%s GE=%04b", b, apsr>>16&0xf)
}

// FormatInput renders a sequence's inputs for a mismatch report.
func FormatInput(in Input) string {
	var b strings.Builder
	for i, v := range in.R {
		fmt.Fprintf(&b, "r%d=%#x ", i, v)
	}
	fmt.Fprintf(&b, "APSR=%#08x (%s) sp=%#x scratch-seed=%#x", in.APSR, FlagString(in.APSR), ScratchSP, in.Seed)
	return b.String()
}
