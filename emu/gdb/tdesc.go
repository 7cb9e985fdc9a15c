package gdb

import (
	"fmt"
	"strings"
)

// regNames are the register names of the target description, indexed by
// Reg. gdb's ARM support requires the names of the features it knows:
// org.gnu.gdb.arm.m-profile (r0-r12, sp, lr, pc, xpsr) makes it treat the
// target as M-profile (Thumb only, M exception frames), and
// org.gnu.gdb.arm.m-system (msp, psp) lets it unwind through exception
// frames on either stack. primask, basepri, faultmask and control have no
// feature gdb knows, so they travel in one of ours, with no group so that
// "info registers" lists them beside the core registers ("p $primask").
var regNames = [NumRegs]string{
	"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12",
	"sp", "lr", "pc", "xpsr",
	"msp", "psp",
	"primask", "basepri", "faultmask", "control",
}

// targetXML is the description served through qXfer:features:read. The
// architecture is the Cortex-M33's (bfd's name for ARMv8-M Mainline), so
// gdb disassembles it right even without an ELF. Every
// register carries its number (regnum) so the 'g' packet and 'p'/'P' use
// Reg's numbering; gdb maps names, not numbers, to its own registers.
var targetXML = renderTargetXML()

func renderTargetXML() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>armv8-m.main</architecture>
`)
	feature := func(name string, from, to Reg) {
		fmt.Fprintf(&b, "<feature name=%q>\n", name)
		for r := from; r <= to; r++ {
			typ := "uint32"
			switch r {
			case SP, MSP, PSP:
				typ = "data_ptr"
			case PC:
				typ = "code_ptr"
			case LR, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, R11, R12:
				typ = "int"
			}
			fmt.Fprintf(&b, "<reg name=%q bitsize=\"32\" regnum=\"%d\" type=%q/>\n", regNames[r], r, typ)
		}
		b.WriteString("</feature>\n")
	}
	feature("org.gnu.gdb.arm.m-profile", R0, XPSR)
	feature("org.gnu.gdb.arm.m-system", MSP, PSP)
	feature("org.mvnet.arm.m-special", PRIMASK, CONTROL)
	b.WriteString("</target>\n")
	return b.String()
}
