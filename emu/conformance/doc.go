// Package conformance tests emu/cpu, mvnet's Thumb-2 interpreter,
// differentially against QEMU (qemu-system-arm -M mps2-an505 -cpu
// cortex-m33).
//
// A seeded, deterministic generator (Generate) writes instruction
// sequences per encoding class (Classes: 16- and 32-bit data processing,
// shifts with edge amounts, IT blocks with every condition, multiplies,
// divides, saturating and parallel arithmetic with Q and GE, bitfields,
// extends, REV/RBIT/CLZ, every load/store addressing mode, LDM/STM,
// LDRD/STRD, exclusives, TBB/TBH, branches, writes to PC, special
// registers, SP arithmetic, recoverable faults) with random registers,
// immediates and edge values. Source renders one harness image per batch:
// a driver that, for each sequence, fills a scratch area, loads r0-r12
// and APSR from an input table, runs the sequence, and records r0-r12,
// APSR, SP and the scratch area (or, after a fault, CFSR and the faulting
// PC) in an output table, written at the end as hex over semihosting.
//
// The same ELF runs on QEMU (RunQEMU) and on emu/cpu with Regions at the
// same addresses (RunEmu); Diff compares the results field by field. The
// test prints each mismatch with objdump's disassembly of the sequence,
// its inputs and both results:
//
//	go test ./emu/conformance                                # 25 sequences per class
//	go test ./emu/conformance -run 'TestConformance$' -conformance.n 2000 -conformance.seed 7
//	go test ./emu/conformance -run 'TestConformance$' -conformance.class it,ldst
//
// The harness runs in the Secure state the AN505 boots in; the sequences
// avoid instructions whose result depends on the security state (TT, SG,
// the banked special registers beyond what the driver sets up).
package conformance
