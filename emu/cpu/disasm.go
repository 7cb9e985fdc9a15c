package cpu

import (
	"fmt"
	"math/bits"
)

// Disassemble renders the instruction whose halfwords are hw1, hw2 (hw2
// is ignored for a 16-bit one) for crash reports and traces: the
// mnemonic and operands of the common forms, ".inst 0x..." otherwise.
// Branch targets are relative to an instruction at address 0.
func Disassemble(hw1, hw2 uint16) (text string, size int) {
	in := decode(0, hw1, hw2)
	size = int(in.size)
	raw := fmt.Sprintf(".inst 0x%04x", hw1)
	if size == 4 {
		raw = fmt.Sprintf(".inst.w 0x%04x%04x", hw1, hw2)
	}
	return disasm(&in, raw), size
}

var regNames = [16]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"}

var condNames = [16]string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "", ""}

var shNames = [6]string{"", "lsl", "lsr", "asr", "ror", "rrx"}

var dpNames = map[uint8]string{
	opANDi: "and", opBICi: "bic", opORRi: "orr", opORNi: "orn", opEORi: "eor", opADDi: "add", opADCi: "adc",
	opSUBi: "sub", opSBCi: "sbc", opRSBi: "rsb", opMOVi: "mov", opMVNi: "mvn", opTSTi: "tst", opTEQi: "teq",
	opCMPi: "cmp", opCMNi: "cmn",
}

var opNames = map[uint8]string{
	opMUL: "mul", opMLA: "mla", opMLS: "mls", opUDIV: "udiv", opSDIV: "sdiv", opUMULL: "umull", opSMULL: "smull",
	opUMLAL: "umlal", opSMLAL: "smlal", opMOVT: "movt", opUBFX: "ubfx", opBFI: "bfi", opSBFX: "sbfx", opBFC: "bfc",
	opLDRi: "ldr", opLDRBi: "ldrb", opLDRHi: "ldrh", opLDRSBi: "ldrsb", opLDRSHi: "ldrsh",
	opSTRi: "str", opSTRBi: "strb", opSTRHi: "strh", opLDM: "ldmia", opLDMDB: "ldmdb", opSTM: "stmia",
	opSTMDB: "stmdb", opLDRD: "ldrd", opSTRD: "strd", opBL: "bl", opBX: "bx", opBLX: "blx", opCBZ: "cbz",
	opCBNZ: "cbnz", opTBB: "tbb", opTBH: "tbh", opIT: "it", opNOP: "nop", opSVC: "svc", opBKPT: "bkpt",
	opUDF: "udf", opWFI: "wfi", opWFE: "wfe", opSEV: "sev", opCPS: "cps", opMRS: "mrs", opMSR: "msr", opISB: "isb",
	opCLREX: "clrex", opLDREX: "ldrex", opSTREX: "strex", opLDA: "lda", opSTL: "stl", opTT: "tt",
	opCLZ: "clz", opRBIT: "rbit", opREV: "rev", opREV16: "rev16", opREVSH: "revsh", opSEL: "sel",
	opQADD: "qadd", opQSUB: "qsub", opQDADD: "qdadd", opQDSUB: "qdsub", opSSAT: "ssat", opUSAT: "usat",
	opSSAT16: "ssat16", opUSAT16: "usat16", opPKH: "pkh", opPAR: "parallel", opEXT16: "xtb16",
	opSMULxy: "smul", opSMLAxy: "smla", opSMULW: "smulw", opSMLAW: "smlaw", opSMUAD: "smuad",
	opSMUSD: "smusd", opSMLAD: "smlad", opSMLSD: "smlsd", opSMMUL: "smmul", opSMMLA: "smmla",
	opSMMLS: "smmls", opUSADA8: "usada8", opSMLALxy: "smlal", opSMLALD: "smlald", opSMLSLD: "smlsld",
	opUMAAL: "umaal", opSHR: "shift",
}

func reglist(l uint32) string {
	s := "{"
	for i := 0; i < 16; i++ {
		if l>>i&1 != 0 {
			if len(s) > 1 {
				s += ", "
			}
			s += regNames[i]
		}
	}
	return s + "}"
}

func disasm(in *inst, raw string) string {
	r := func(n uint8) string { return regNames[n&15] }
	sfx := ""
	if in.s == sAlways || in.s == sOutIT {
		sfx = "s"
	}
	shift := func() string {
		if in.sh == shNone {
			return ""
		}
		if in.sh == shRRX {
			return ", rrx"
		}
		return fmt.Sprintf(", %s #%d", shNames[in.sh], in.amt)
	}
	switch {
	case in.op >= opANDi && in.op <= opCMNi:
		n := dpNames[in.op]
		switch in.op {
		case opMOVi, opMVNi:
			return fmt.Sprintf("%s%s %s, #%#x", n, sfx, r(in.rd), in.imm)
		case opTSTi, opTEQi, opCMPi, opCMNi:
			return fmt.Sprintf("%s %s, #%#x", n, r(in.rn), in.imm)
		}
		return fmt.Sprintf("%s%s %s, %s, #%#x", n, sfx, r(in.rd), r(in.rn), in.imm)
	case in.op >= opANDr && in.op <= opCMNr:
		n := dpNames[in.op-regOps]
		switch in.op {
		case opMOVr, opMVNr:
			return fmt.Sprintf("%s%s %s, %s%s", n, sfx, r(in.rd), r(in.rm), shift())
		case opTSTr, opTEQr, opCMPr, opCMNr:
			return fmt.Sprintf("%s %s, %s%s", n, r(in.rn), r(in.rm), shift())
		}
		return fmt.Sprintf("%s%s %s, %s, %s%s", n, sfx, r(in.rd), r(in.rn), r(in.rm), shift())
	case in.op >= opLDRi && in.op <= opSTRHi:
		return fmt.Sprintf("%s %s, [%s, #%d]", opNames[in.op], r(in.rd), r(in.rn), int32(in.imm))
	case in.op >= opLDRr && in.op <= opSTRHr:
		return fmt.Sprintf("%s %s, [%s, %s, lsl #%d]", opNames[in.op-regLdSt], r(in.rd), r(in.rn), r(in.rm), in.amt)
	case in.op == opLDRlit:
		return fmt.Sprintf("ldr %s, [%#x]", r(in.rd), in.imm)
	case in.op == opLD || in.op == opST:
		n := [5]string{"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh"}[in.sh]
		if in.op == opST {
			n = "st" + n[2:]
		}
		return fmt.Sprintf("%s %s, %s", n, r(in.rd), addrMode(in))
	case in.op == opLDRD || in.op == opSTRD:
		return fmt.Sprintf("%s %s, %s, %s", opNames[in.op], r(in.rd), r(in.ra), addrMode(in))
	case in.op == opIT:
		mask, first := in.imm&15, in.imm>>4
		suffix := ""
		for i := 3; i > bits.TrailingZeros32(mask); i-- {
			if mask>>i&1 == first&1 {
				suffix += "t"
			} else {
				suffix += "e"
			}
		}
		return fmt.Sprintf("it%s %s", suffix, condNames[first])
	case in.op == opLDM && in.rn == 13 && in.x&xWB != 0:
		return "pop " + reglist(in.imm)
	case in.op == opSTMDB && in.rn == 13 && in.x&xWB != 0:
		return "push " + reglist(in.imm)
	case in.op >= opLDM && in.op <= opSTMDB:
		wb := ""
		if in.x&xWB != 0 {
			wb = "!"
		}
		return fmt.Sprintf("%s %s%s, %s", opNames[in.op], r(in.rn), wb, reglist(in.imm))
	case in.op == opB:
		return fmt.Sprintf("b%s %#x", condNames[in.cond], in.imm)
	case in.op == opBL:
		return fmt.Sprintf("bl %#x", in.imm)
	case in.op == opBX || in.op == opBLX:
		return fmt.Sprintf("%s %s", opNames[in.op], r(in.rm))
	case in.op == opCBZ || in.op == opCBNZ:
		return fmt.Sprintf("%s %s, %#x", opNames[in.op], r(in.rn), in.imm)
	case in.op == opADDpc:
		return "add pc, " + r(in.rm)
	case in.op == opMOVpc:
		return "mov pc, " + r(in.rm)
	case in.op == opSVC || in.op == opBKPT || in.op == opUDF:
		return fmt.Sprintf("%s #%d", opNames[in.op], in.imm)
	case in.op == opMUL || in.op == opUDIV || in.op == opSDIV:
		return fmt.Sprintf("%s %s, %s, %s", opNames[in.op], r(in.rd), r(in.rn), r(in.rm))
	case in.op == opMOVT:
		return fmt.Sprintf("movt %s, #%#x", r(in.rd), in.imm)
	case in.op == opNoCP:
		return raw + " ; coprocessor"
	}
	if n, ok := opNames[in.op]; ok {
		return n + " ; " + raw
	}
	return raw
}

// addrMode renders the address of a generic load/store or LDRD/STRD.
func addrMode(in *inst) string {
	if in.x&xLit != 0 {
		return fmt.Sprintf("[%#x]", in.imm)
	}
	rn := regNames[in.rn&15]
	off := fmt.Sprintf("#%d", in.imm)
	if in.x&xSub != 0 {
		off = fmt.Sprintf("#-%d", in.imm)
	}
	if in.x&xReg != 0 {
		off = fmt.Sprintf("%s, lsl #%d", regNames[in.rm&15], in.amt)
	}
	switch {
	case in.x&xPre == 0:
		return fmt.Sprintf("[%s], %s", rn, off)
	case in.x&xWB != 0:
		return fmt.Sprintf("[%s, %s]!", rn, off)
	}
	return fmt.Sprintf("[%s, %s]", rn, off)
}
