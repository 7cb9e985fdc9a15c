package cpu

// inst is one decoded instruction: what the interpreter's dispatch loop
// switches on. Fields not used by an op are zero. Addresses that depend
// only on the instruction's own address (branch targets, literal
// addresses, ADR) are resolved at decode time into imm.
type inst struct {
	op   uint8 // opXXX; opNone = not decoded yet
	size uint8 // 2 or 4 bytes
	cond uint8 // condition of B<c> (condAL otherwise)
	s    uint8 // sets flags: sNever, sOutIT (16-bit forms: only outside an IT block), sAlways
	rd   uint8
	rn   uint8
	rm   uint8
	ra   uint8
	sh   uint8 // shift type (shXXX) of the register operand, or a sub-kind
	amt  uint8 // shift amount, or a second sub-kind
	x    uint8 // addressing mode bits (xPre, xWB, xAdd ...) or carry-from-immediate
	imm  uint32
}

const condAL = 14

const (
	sNever  = 0
	sOutIT  = 1
	sAlways = 2
)

// Shift types of a register operand (DecodeImmShift already applied:
// LSR/ASR #0 mean 32, ROR #0 is RRX).
const (
	shNone = iota // LSL #0
	shLSL
	shLSR
	shASR
	shROR
	shRRX
)

// Load/store types (sh of the generic load/store ops).
const (
	ltW = iota
	ltB
	ltH
	ltSB
	ltSH
)

// Addressing mode bits (x of the generic load/store, LDRD/STRD, LDM/STM).
const (
	xPre  = 1 << 0 // index before the access
	xWB   = 1 << 1 // write the address back to Rn
	xReg  = 1 << 2 // offset is R[rm] << amt (else imm)
	xLit  = 1 << 3 // address base is the literal pool: imm holds Align(PC,4)
	xSub  = 1 << 4 // subtract the offset
	xImmC = 1 << 5 // data processing immediate: carry = imm<31> (ThumbExpandImm_C rotated)
)

// Op kinds. The interpreter's hot switch holds the ones before opSlow;
// the rest run in execSlow.
const (
	opNone  = iota
	opBreak // a breakpoint is set here: Run stops (Step lifts it while it steps)
	// data processing, immediate operand
	opANDi
	opBICi
	opORRi
	opORNi
	opEORi
	opADDi
	opADCi
	opSUBi
	opSBCi
	opRSBi
	opMOVi
	opMVNi
	opTSTi
	opTEQi
	opCMPi
	opCMNi
	// data processing, (shifted) register operand
	opANDr
	opBICr
	opORRr
	opORNr
	opEORr
	opADDr
	opADCr
	opSUBr
	opSBCr
	opRSBr
	opMOVr
	opMVNr
	opTSTr
	opTEQr
	opCMPr
	opCMNr
	opSHR // Rd = Rn shifted (sh) by Rm<7:0>
	opMUL
	opMLA
	opMLS
	opUDIV
	opSDIV
	opUMULL
	opSMULL
	opUMLAL
	opSMLAL
	opMOVT
	opUBFX
	opSBFX
	opBFI
	opEXT // SXTB/SXTH/UXTB/UXTH (sh=kind) with rotation amt, + Rn unless rn==15
	// loads and stores: address R[rn]+imm
	opLDRi
	opLDRBi
	opLDRHi
	opLDRSBi
	opLDRSHi
	opSTRi
	opSTRBi
	opSTRHi
	// address R[rn]+(R[rm]<<amt)
	opLDRr
	opLDRBr
	opLDRHr
	opLDRSBr
	opLDRSHr
	opSTRr
	opSTRBr
	opSTRHr
	opLDRlit // LDR Rt, [literal imm]
	opLD     // generic load (sh = type, x = mode); Rt may be PC
	opST     // generic store
	opLDM    // LDMIA (imm = register list, x&xWB)
	opLDMDB
	opSTM
	opSTMDB
	opLDRD
	opSTRD
	// branches
	opB
	opBL
	opBX
	opBLX
	opCBZ
	opCBNZ
	opTBB
	opTBH
	opADDpc // ADD PC, Rm (16-bit)
	opMOVpc // MOV PC, Rm (16-bit)
	opIT
	opNOP
	opSlow // marker: ops after this run in execSlow
	opSVC
	opBKPT
	opUDF
	opNoCP
	opWFI
	opWFE
	opSEV
	opCPS
	opMRS
	opMSR
	opISB
	opCLREX
	opLDREX // sh = type (ltW/ltB/ltH), imm = offset
	opSTREX
	opLDA // LDA/LDAB/LDAH (sh = type)
	opSTL
	opTT
	opCLZ
	opRBIT
	opREV
	opREV16
	opREVSH
	opSEL
	opQADD
	opQSUB
	opQDADD
	opQDSUB
	opSSAT // imm = saturate to, sh/amt = shift of Rn
	opUSAT
	opSSAT16
	opUSAT16
	opBFC
	opPKH    // PKHBT (sh=shLSL/none) or PKHTB (sh=shASR)
	opPAR    // parallel add/sub: sh = prefix (parS..parUH), amt = operation (parADD8..)
	opEXT16  // SXTB16/UXTB16 (sh=0/1) with rotation amt, + Rn unless rn==15
	opSMULxy // amt bit0 = M (top of Rm), bit1 = N (top of Rn)
	opSMLAxy
	opSMULW // amt bit0 = M
	opSMLAW
	opSMUAD // amt bit0 = X (swap halves of Rm)
	opSMUSD
	opSMLAD
	opSMLSD
	opSMMUL // amt bit0 = R (round)
	opSMMLA
	opSMMLS
	opUSADA8 // ra == 15: USAD8
	opSMLALxy
	opSMLALD
	opSMLSLD
	opUMAAL
	opCount
)

// Parallel add/subtract prefixes and operations (opPAR).
const (
	parS = iota
	parQ
	parSH
	parU
	parUQ
	parUH
)

const (
	parADD8 = iota
	parADD16
	parSUB8
	parSUB16
	parASX
	parSAX
)
