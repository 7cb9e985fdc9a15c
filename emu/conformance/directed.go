package conformance

import "fmt"

// dirEdges are the operand values every directed pair is drawn from.
var dirEdges = []uint32{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x8000, 0xfffe}

// nzcv returns an APSR value with the four condition flags from bits
// 3..0 of f (N Z C V).
func nzcv(f int) uint32 { return uint32(f) << 28 }

// Directed returns the exhaustive edge cases, in a fixed order: every
// condition under every NZCV combination (IT/ITE, B<c>.N and B<c>.W),
// every register shift by the edge amounts (0, 1, 31, 32, 33, 255, 256)
// with carry in clear and set, every immediate shift edge, the
// add/subtract/compare family and saturating arithmetic over all pairs of
// edge values with carry and Q in both states, divides over all pairs
// (by zero, INT_MIN / -1), and the parallel operations over edge pairs.
func Directed() []Seq {
	var seqs []Seq
	add := func(class string, apsr uint32, r [13]uint32, lines ...string) {
		seqs = append(seqs, Seq{Class: class, Lines: lines, In: Input{R: r, APSR: apsr, Seed: uint32(len(seqs))*2 + 1}})
	}
	for ci, c := range conds {
		for f := 0; f < 16; f++ {
			add("cond", nzcv(f), [13]uint32{}, "ite "+c, "mov"+c+" r0, #1", "mov"+invCond(c)+" r0, #2")
			skip := fmt.Sprintf(".Ld%d_%d", ci, f)
			w := []string{"n", "w"}[f&1]
			add("cond", nzcv(f), [13]uint32{}, "b"+c+"."+w+" "+skip, "movs r1, #1", skip+":")
		}
	}
	vals := []uint32{0x80000001, 0xffffffff, 1, 0x7fffffff}
	for _, op := range []string{"lsls", "lsrs", "asrs", "rors"} {
		for _, amt := range []uint32{0, 1, 2, 31, 32, 33, 63, 255, 256} {
			for _, v := range vals {
				for cin := 0; cin < 2; cin++ {
					add("shift", uint32(cin)<<29, [13]uint32{1: v, 2: amt}, op+".w r0, r1, r2")
					add("shift", uint32(cin)<<29, [13]uint32{0: v, 2: amt}, op+".n r0, r2")
				}
			}
		}
	}
	for _, sh := range []string{"lsl #1", "lsl #31", "lsr #1", "lsr #31", "lsr #32", "asr #1", "asr #31", "asr #32", "ror #1", "ror #31", "rrx"} {
		for _, v := range vals {
			for cin := 0; cin < 2; cin++ {
				add("shift", uint32(cin)<<29, [13]uint32{1: v, 2: 0x12345678}, "mvns.w r0, r1, "+sh, "ands.w r3, r2, r1, "+sh, "orrs.w r4, r2, r1, "+sh)
			}
		}
	}
	for _, a := range dirEdges {
		for _, b := range dirEdges {
			for cin := 0; cin < 2; cin++ {
				r := [13]uint32{1: a, 2: b}
				for _, op := range []string{"adds.w r0, r1, r2", "adcs.w r0, r1, r2", "subs.w r0, r1, r2", "sbcs.w r0, r1, r2", "rsbs.w r0, r1, r2", "cmp.w r1, r2", "cmn.w r1, r2"} {
					add("addsub", uint32(cin)<<29, r, op)
				}
				for _, op := range []string{"qadd", "qsub", "qdadd", "qdsub"} {
					add("sat", uint32(cin)<<27, r, op+" r0, r1, r2")
				}
			}
			r := [13]uint32{1: a, 2: b}
			add("div", 0, r, "sdiv r0, r1, r2", "udiv r3, r1, r2")
			add("sat", 0, r, "ssat r0, #1, r1", "ssat r3, #32, r1, asr #31", "usat r4, #0, r2", "usat r5, #31, r2, lsl #1", "ssat16 r6, #1, r1", "usat16 r7, #15, r2")
			add("mul", 0, r, "smull r0, r3, r1, r2", "umull r4, r5, r1, r2", "smlal r0, r3, r1, r2", "smmulr r6, r1, r2", "smlabb r7, r1, r2, r1", "smlad r8, r1, r2, r2")
		}
	}
	for _, p := range []string{"s", "q", "sh", "u", "uq", "uh"} {
		for _, op := range []string{"add8", "add16", "sub8", "sub16", "asx", "sax"} {
			for _, a := range dirEdges[:5] {
				add("parallel", 0xf<<16, [13]uint32{1: a, 2: 0x7fff8001}, p+op+" r0, r1, r2", "sel r3, r1, r2")
				add("parallel", 0, [13]uint32{1: 0x80017fff, 2: a}, p+op+" r0, r1, r2", "sel r3, r1, r2")
			}
		}
	}
	return seqs
}
