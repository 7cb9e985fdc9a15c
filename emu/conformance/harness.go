package conformance

import (
	"bytes"
	"fmt"
	"strings"
)

// The harness image's memory map. It is the MPS2-AN505's, as QEMU models
// it, seen from the Secure state the board boots in: code in SSRAM1's
// Secure alias (where QEMU's Secure VTOR points at reset), data in
// SSRAM2's. The emulated run places its Regions at the same addresses so
// that every address the sequences compute is the same on both.
const (
	CodeBase = 0x10000000
	CodeSize = 0x00400000
	RAMBase  = 0x38000000
	RAMSize  = 0x00200000

	// Scratch is the memory the load/store sequences address, compared
	// after every sequence. The stack pointer starts in its middle so
	// that pushes land below it and SP-relative loads above.
	ScratchBase  = RAMBase + 0x100
	ScratchWords = 64
	ScratchSize  = ScratchWords * 4
	ScratchSP    = ScratchBase + ScratchSize/2

	stackTop = RAMBase + RAMSize - 0x100

	cfsrAddr = 0xe000ed28 // SCB->CFSR
)

// Record layouts, in words.
const (
	inWords = 15 // r0-r12, APSR, scratch seed
	// Out: r0-r12, APSR (MRS), SP, status, scratch.
	outRegs    = 13
	outAPSR    = 13
	outSP      = 14
	outStatus  = 15
	outScratch = 16
	outWords   = outScratch + ScratchWords
)

// Status values in an output record.
const (
	statusDone    = 0x600d // the sequence ran to its end
	statusFaulted = 0xfa17 // the sequence faulted (QEMU: HardFault; emu/cpu: Hooks.Fault)
)

// Semihosting operations the harness uses (ARM "Semihosting for AArch32
// and AArch64", 2.0: SYS_WRITE0 0x04, SYS_EXIT 0x18 with
// ADP_Stopped_ApplicationExit 0x20026).
const (
	semiWrite0   = 0x04
	semiExit     = 0x18
	semiExitCode = 0x20026
	semiBKPT     = 0xab
)

// driver is the harness program around the sequences. For each sequence i
// it fills the scratch area from the sequence's seed (xorshift32), loads
// r0-r12 and APSR from the input table, sets SP to ScratchSP, and branches
// to seq_i, which ends with "b.w seq_done". seq_done saves r0-r12, APSR and
// SP into the output table, then the driver moves to the next sequence. A
// fault (QEMU: HardFault, which the handler turns into a return to
// fault_resume; emu/cpu: the test's Fault hook sets PC to fault_resume)
// records statusFaulted instead. At the end the output table is written
// as hex (one line per sequence) with SYS_WRITE0 and the program exits
// with SYS_EXIT.
const driver = `
	.syntax unified
	.cpu cortex-m33
	.thumb

	.section .vectors, "a"
	.word {{stackTop}}
	.word reset
	.rept 14
	.word hardfault
	.endr

	.bss
	.align 3
tmp:	.space 64
saved_sp:	.space 4
	.global fault_info
fault_info:	.space 8	@ CFSR, faulting PC
cur_seq:	.space 4
	.align 3
outputs:	.space {{nseq}} * {{outWords}} * 4
hexbuf:	.space {{nseq}} * ({{outWords}} * 8 + 1) + 4

	.text
	.align 2
	.global reset
	.thumb_func
reset:
	movs r4, #0
next:
	ldr r0, =nseq_value
	ldr r0, [r0]
	cmp r4, r0
	bhs finish
	ldr r0, =cur_seq
	str r4, [r0]
	@ r6 = inputs + i*inWords*4
	ldr r6, =inputs
	movw r0, #{{inWords}} * 4
	mla r6, r4, r0, r6
	@ fill the scratch area from the seed (xorshift32)
	ldr r1, [r6, #14*4]
	ldr r2, =scratch_base
	ldr r2, [r2]
	movs r3, #{{scratchWords}}
1:	eor r1, r1, r1, lsl #13
	eor r1, r1, r1, lsr #17
	eor r1, r1, r1, lsl #5
	str r1, [r2], #4
	subs r3, #1
	bne 1b
	clrex
	mov r0, sp
	ldr r1, =saved_sp
	str r0, [r1]
	ldr r0, =seq_table
	ldr lr, [r0, r4, lsl #2]
	ldr r0, [r6, #13*4]
	msr APSR_nzcvqg, r0
	ldr r0, =scratch_sp
	ldr r0, [r0]
	mov sp, r0
	ldm r6, {r0-r12}
	bx lr

	.global seq_done
seq_done:
	ldr lr, =tmp + 13*4
	stmdb lr, {r0-r12}
	mrs r0, APSR
	mov r1, sp
	ldr r2, =tmp
	str r0, [r2, #13*4]
	str r1, [r2, #14*4]
	ldr r0, =saved_sp
	ldr r0, [r0]
	mov sp, r0
	ldr r3, ={{statusDone}}
	b record

	.global fault_resume
fault_resume:
	ldr r0, =saved_sp
	ldr r0, [r0]
	mov sp, r0
	ldr r2, =tmp
	ldr r3, =fault_info
	ldr r0, [r3]
	str r0, [r2], #4	@ r0 slot: CFSR
	ldr r0, [r3, #4]
	str r0, [r2], #4	@ r1 slot: the faulting instruction's address
	movs r0, #0
	movs r1, #13
2:	str r0, [r2], #4
	subs r1, #1
	bne 2b
	ldr r2, =tmp
	ldr r3, ={{statusFaulted}}

record:	@ r2 = tmp, r3 = status
	ldr r4, =cur_seq
	ldr r4, [r4]
	ldr r5, =outputs
	movw r0, #{{outWords}} * 4
	mla r5, r4, r0, r5
	movs r1, #15
3:	ldr r0, [r2], #4
	str r0, [r5], #4
	subs r1, #1
	bne 3b
	str r3, [r5], #4
	ldr r2, =scratch_base
	ldr r2, [r2]
	movs r1, #{{scratchWords}}
4:	ldr r0, [r2], #4
	str r0, [r5], #4
	subs r1, #1
	bne 4b
	adds r4, #1
	b next

finish:	@ hex-encode outputs into hexbuf, one line per sequence
	ldr r0, =outputs
	ldr r1, =hexbuf
	ldr r2, =nseq_value
	ldr r2, [r2]
	ldr r7, =hexdigits
5:	movs r3, #{{outWords}}
6:	ldr r4, [r0], #4
	movs r5, #8
7:	lsrs r6, r4, #28
	ldrb r6, [r7, r6]
	strb r6, [r1], #1
	lsls r4, r4, #4
	subs r5, #1
	bne 7b
	subs r3, #1
	bne 6b
	movs r6, #10
	strb r6, [r1], #1
	subs r2, #1
	bne 5b
	movs r6, #0
	strb r6, [r1]
	movs r0, #{{semiWrite0}}
	ldr r1, =hexbuf
	bkpt {{semiBKPT}}
	movs r0, #{{semiExit}}
	ldr r1, ={{semiExitCode}}
	bkpt {{semiBKPT}}
	b .

	@ QEMU only: a fault in a sequence escalates to HardFault; record
	@ CFSR and the stacked PC and return to fault_resume in Thread mode
	@ with a clean xPSR.
	.thumb_func
hardfault:
	tst lr, #4
	ite eq
	mrseq r0, msp
	mrsne r0, psp
	ldr r1, ={{cfsr}}
	ldr r2, [r1]
	str r2, [r1]	@ CFSR bits are write-one-to-clear: the next fault starts clean
	ldr r3, =fault_info
	str r2, [r3]
	ldr r2, [r0, #24]
	str r2, [r3, #4]
	ldr r1, =fault_resume
	bic r1, r1, #1
	str r1, [r0, #24]
	mov r1, #0x01000000
	str r1, [r0, #28]
	bx lr

	.ltorg
	.align 2
nseq_value:	.word {{nseq}}
scratch_base:	.word {{scratchBase}}
scratch_sp:	.word {{scratchSP}}
hexdigits:	.ascii "0123456789abcdef"
`

// Source renders the harness assembly for seqs: the driver, the input
// table and one function seq_i per sequence.
func Source(seqs []Seq) string {
	r := strings.NewReplacer(
		"{{stackTop}}", hexs(stackTop),
		"{{nseq}}", fmt.Sprint(len(seqs)),
		"{{outWords}}", fmt.Sprint(outWords),
		"{{inWords}}", fmt.Sprint(inWords),
		"{{scratchWords}}", fmt.Sprint(ScratchWords),
		"{{statusDone}}", hexs(statusDone),
		"{{statusFaulted}}", hexs(statusFaulted),
		"{{semiWrite0}}", hexs(semiWrite0),
		"{{semiExit}}", hexs(semiExit),
		"{{semiExitCode}}", hexs(semiExitCode),
		"{{semiBKPT}}", hexs(semiBKPT),
		"{{scratchBase}}", hexs(ScratchBase),
		"{{scratchSP}}", hexs(ScratchSP),
		"{{cfsr}}", hexs(cfsrAddr),
	)
	var b bytes.Buffer
	b.WriteString(r.Replace(driver))
	b.WriteString("\n\t.section .rodata\n\t.align 2\ninputs:\n")
	for _, s := range seqs {
		fmt.Fprintf(&b, "\t.word")
		for i, v := range s.In.R {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s", sep, hexs(v))
		}
		fmt.Fprintf(&b, ", %s, %s\n", hexs(s.In.APSR), hexs(s.In.Seed))
	}
	b.WriteString("\t.align 2\nseq_table:\n")
	for i := range seqs {
		fmt.Fprintf(&b, "\t.word seq_%d\n", i) // a Thumb function: bit 0 is set
	}
	b.WriteString("\n\t.text\n")
	for i, s := range seqs {
		fmt.Fprintf(&b, "\t.align 2\n\t.global seq_%d\n\t.type seq_%d, %%function\nseq_%d:\n", i, i, i)
		for _, l := range s.Lines {
			if strings.HasSuffix(l, ":") || strings.HasPrefix(l, ".") {
				fmt.Fprintf(&b, "%s\n", l)
			} else {
				fmt.Fprintf(&b, "\t%s\n", l)
			}
		}
		fmt.Fprintf(&b, "\tb.w seq_done\n\t.ltorg\nseq_%d_end:\n", i)
	}
	return b.String()
}

// linkerScript places the vector table and code at CodeBase and the data
// at RAMBase.
var linkerScript = fmt.Sprintf(`
ENTRY(reset)
SECTIONS {
  . = %#x;
  .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) }
  . = %#x;
  .bss (NOLOAD) : { *(.bss*) *(COMMON) }
}
`, CodeBase, RAMBase+0x1000)

func hexs(v uint32) string { return fmt.Sprintf("%#x", v) }
