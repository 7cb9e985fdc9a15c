package conformance

// Findings are the mismatches between emu/cpu and QEMU the differential
// tests found, each as a minimal reproducer whose expected result is
// QEMU's (which here is the architecture's). TestConformanceFindings keeps
// each fixed.
//
// 1. Unaligned word and halfword accesses where nothing answers, in the
// Normal-memory regions of the default memory map (Code 0x00000000-
// 0x1FFFFFFF, SRAM 0x20000000-0x3FFFFFFF, RAM 0x60000000-0x9FFFFFFF):
// with CCR.UNALIGN_TRP clear the access is allowed, so the fault is the
// BusFault of the missing memory (CFSR PRECISERR|BFARVALID = 0x8200);
// emu/cpu raises UNALIGNED (0x01000000), which a Cortex-M33 raises only
// for Device memory (ARMv8-M ARM DDI 0553, "Alignment behavior";
// Cortex-M33 TRM, "Unaligned accesses"). Found by the rawldst class
// (seed 300: "ldrsh.w r8, [r0, r9]" with r0+r9 = 0x37ffff45). Fixed in
// emu/cpu by 8929070.
func Findings() []Seq {
	var seqs []Seq
	add := func(class string, apsr uint32, r [13]uint32, lines ...string) {
		seqs = append(seqs, Seq{Class: class, Lines: lines, In: Input{R: r, APSR: apsr, Seed: uint32(len(seqs))*2 + 1}})
	}
	// Finding 1.
	for _, a := range []uint32{0x37fffff2, 0x1fffffe2, 0x60000002, 0x37ffff45} {
		r := [13]uint32{1: a}
		add("memfault", 0, r, "ldr.w r0, [r1]")
		add("memfault", 0, r, "str.w r0, [r1]")
		if a&1 != 0 {
			add("memfault", 0, r, "ldrsh.w r0, [r1]")
			add("memfault", 0, r, "strh.w r0, [r1]")
		}
	}
	return seqs
}
