package conformance

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

var (
	flagN     = flag.Int("conformance.n", 25, "generated sequences per encoding class")
	flagSeed  = flag.Int64("conformance.seed", 1, "generator seed")
	flagClass = flag.String("conformance.class", "", "comma-separated encoding classes to generate (default: all)")
)

// batchSize bounds one harness image (one QEMU start): the output table
// and its hex rendering must fit the AN505's SSRAM2.
const batchSize = 800

func tools(t *testing.T) Tools {
	return Tools{
		AS:      tool.Require(t, "arm-none-eabi-as"),
		LD:      tool.Require(t, "arm-none-eabi-ld"),
		Objdump: tool.Path("arm-none-eabi-objdump"),
		QEMU:    tool.Require(t, "qemu-system-arm"),
	}
}

// differential runs seqs on QEMU and on emu/cpu and reports every
// difference; it returns the number of mismatching sequences.
// label names where the sequences came from in mismatch reports. It
// returns the number of mismatching sequences and, per class, the number
// of sequences, of those that faulted and of those that changed
// registers or flags.
func differential(t *testing.T, tl Tools, label string, seqs []Seq) (int, map[string][3]int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bad := 0
	stats := map[string][3]int{}
	defer func() {
		var cs []string
		for c := range stats {
			cs = append(cs, c)
		}
		sort.Strings(cs)
		for _, c := range cs {
			st := stats[c]
			t.Logf("%-9s %4d sequences, %3d faulted, %4d changed registers or flags", c, st[0], st[1], st[2])
		}
	}()
	for start := 0; start < len(seqs); start += batchSize {
		batch := seqs[start:min(start+batchSize, len(seqs))]
		img, err := Build(ctx, tl, t.TempDir(), batch)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := RunQEMU(ctx, tl.QEMU, img)
		if err != nil {
			t.Fatal(err)
		}
		er, err := RunEmu(img)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range er.Unexpected {
			t.Errorf("emu/cpu: unexpected event in sequence %d (class %s): %s\n%s\n  inputs: %s", start+u.Seq, batch[u.Seq].Class,
				u.What, img.Disassemble(ctx, tl.Objdump, u.Seq), FormatInput(batch[u.Seq].In))
		}
		if len(er.Unexpected) > 0 {
			t.FailNow()
		}
		for i := range batch {
			st := stats[batch[i].Class]
			st[0]++
			if qs[i].Faulted() {
				st[1]++
			} else if qs[i].R != batch[i].In.R || qs[i].APSR != batch[i].In.APSR {
				st[2]++
			}
			stats[batch[i].Class] = st
			d := Diff(&batch[i], &qs[i], &er.Results[i])
			if d == "" {
				continue
			}
			bad++
			if f, ok := er.Faults[i]; ok {
				d += fmt.Sprintf("  emu fault: %+v\n", f)
			}
			t.Errorf("mismatch in %s sequence %d (class %s):\n%s\n  inputs: %s\n%s", label, start+i, batch[i].Class,
				img.Disassemble(ctx, tl.Objdump, i), FormatInput(batch[i].In), d)
		}
	}
	return bad, stats
}

// TestConformance runs generated sequences of every encoding class on
// QEMU (mps2-an505, cortex-m33) and on emu/cpu and compares registers,
// flags, SP, faults and the scratch memory. -conformance.n, .seed and
// .class choose the run.
func TestConformance(t *testing.T) {
	tl := tools(t)
	var only []string
	if *flagClass != "" {
		only = strings.Split(*flagClass, ",")
	}
	nc := len(Classes())
	if len(only) > 0 {
		nc = len(only)
	}
	seqs, err := Generate(*flagSeed, *flagN*nc, only)
	if err != nil {
		t.Fatal(err)
	}
	bad, stats := differential(t, tl, fmt.Sprintf("generated (seed %d)", *flagSeed), seqs)
	for c, st := range stats {
		// A generated class whose sequences all fault (but the fault
		// class) or all leave the state as it was tests little: its
		// generator is broken.
		if st[0] >= 10 && c != "fault" && (st[1] == st[0] || st[1]+st[2] == 0) {
			t.Errorf("class %s: %d sequences, %d faulted, %d changed anything", c, st[0], st[1], st[2])
		}
	}
	if bad > 0 {
		t.Logf("%d of %d sequences differ (seed %d)", bad, len(seqs), *flagSeed)
	}
}

// TestConformanceDirected runs the exhaustive edge cases (Directed):
// every condition under every flag combination, shifts by the edge
// amounts with both carries, arithmetic over all pairs of edge values.
func TestConformanceDirected(t *testing.T) {
	differential(t, tools(t), "directed", Directed())
}

// TestConformanceFindings runs the reproducers of the mismatches found so
// far (Findings), so that each stays fixed.
func TestConformanceFindings(t *testing.T) {
	differential(t, tools(t), "finding", Findings())
}

func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate(7, 300, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Generate(7, 300, nil)
	c, _ := Generate(8, 300, nil)
	if Source(a) != Source(b) {
		t.Fatal("the same seed gave different sequences")
	}
	if Source(a) == Source(c) {
		t.Fatal("different seeds gave the same sequences")
	}
	seen := map[string]bool{}
	for _, s := range a {
		seen[s.Class] = true
	}
	var missing []string
	for _, c := range Classes() {
		if !seen[c] {
			missing = append(missing, c)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("classes never generated: %v", missing)
	}
	if _, err := Generate(1, 1, []string{"nonesuch"}); err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Fatalf("unknown class: err = %v, want one naming it", err)
	}
}

func TestParseResults(t *testing.T) {
	line := strings.Repeat("0000000a", outWords)
	rs, err := parseResults([]byte("qemu noise\n"+line+"\r\n"+line+"\n"), 2)
	if err != nil || len(rs) != 2 || rs[1].R[12] != 10 || rs[0].Scratch[ScratchWords-1] != 10 {
		t.Fatalf("parseResults = %v, %v", rs, err)
	}
	if _, err := parseResults([]byte(line+"\n"), 2); err == nil {
		t.Fatal("a missing line was not reported")
	}
}

// The comparison can fail: the emulated copy of the image gets SUBS where
// QEMU runs ADDS, and a store of a different register; both must show.
func TestDifferentialDetectsADifference(t *testing.T) {
	tl := tools(t)
	seqs := []Seq{
		{Class: "self", Lines: []string{"adds.n r0, r1, r2"}, In: Input{R: [13]uint32{1: 5, 2: 7}, Seed: 1}},
		{Class: "self", Lines: []string{"str.n r3, [r4]"}, In: Input{R: [13]uint32{3: 0x1234, 4: ScratchBase + 8}, Seed: 3}, Mem: true},
	}
	ctx := context.Background()
	img, err := Build(ctx, tl, t.TempDir(), seqs)
	if err != nil {
		t.Fatal(err)
	}
	qs, err := RunQEMU(ctx, tl.QEMU, img)
	if err != nil {
		t.Fatal(err)
	}
	patch := func(sym string, hw uint16) {
		a := img.Syms[sym]
		for _, s := range img.Segments {
			if a >= s.Addr && a+2 <= s.Addr+uint32(len(s.Data)) {
				s.Data[a-s.Addr], s.Data[a-s.Addr+1] = byte(hw), byte(hw>>8)
				return
			}
		}
		t.Fatalf("no %s in the image", sym)
	}
	patch("seq_0", 0x1a88) // subs r0, r1, r2 (ARMv8-M ARM, SUB (register) T1)
	patch("seq_1", 0x6025) // str r5, [r4]
	er, err := RunEmu(img)
	if err != nil {
		t.Fatal(err)
	}
	d0, d1 := Diff(&seqs[0], &qs[0], &er.Results[0]), Diff(&seqs[1], &qs[1], &er.Results[1])
	if !strings.Contains(d0, "r0: qemu 0x0000000c, emu 0xfffffffe") || !strings.Contains(d0, "APSR") {
		t.Errorf("ADDS against SUBS: diff %q", d0)
	}
	if !strings.Contains(d1, "mem[0x38000108]: qemu 0x00001234, emu 0x00000000") {
		t.Errorf("STR of another register: diff %q", d1)
	}
}

// Where QEMU departs from the architecture the differential test cannot
// judge, so emu/cpu is held to the architecture directly (and the
// generator avoids these encodings):
//   - an unaligned LDR/STR to Device memory (the Peripheral region
//     0x40000000-0x5FFFFFFF, the System region from 0xE0000000) is an
//     UNALIGNED UsageFault on a Cortex-M33 (Cortex-M33 TRM, "Unaligned
//     accesses": not permitted in Device memory); QEMU 7.2 performs it
//     (mps2-an505: LDR at 0x40000001 and 0xE000ED02 complete);
//   - SETEND (0xb650, 0xb658) does not exist in ARMv8-M: 1011 0110 010x
//     is unallocated in the miscellaneous 16-bit table, so UNDEFINED; QEMU
//     7.2 executes it (its SETEND check admits every ARMv6+ core);
//   - HLT (1011 1010 10 imm6) does not exist in ARMv8-M either (UNDEFINED),
//     but QEMU 7.2 with semihosting enabled takes HLT #0x3c (0xbabc) as a
//     semihosting call on an M-profile core too (r0 = 0x37 aborted QEMU:
//     "Unsupported SemiHosting SWI 0x37"); M-profile semihosting is BKPT
//     0xab only.
func TestWhereQEMUDeparts(t *testing.T) {
	tl := tools(t)
	type want struct {
		seq  Seq
		kind cpu.FaultKind
	}
	var cases []want
	for _, a := range []uint32{0x40000001, 0x4ffffff2, 0xe000ed02} {
		for _, l := range []string{"ldr.w r0, [r1]", "str.w r0, [r1]"} {
			cases = append(cases, want{Seq{Class: "device", Lines: []string{l}, In: Input{R: [13]uint32{1: a}, Seed: 1}}, cpu.FaultUnaligned})
		}
	}
	for _, hw := range []string{"0xb650", "0xb658", "0xbabc", "0xba80"} {
		cases = append(cases, want{Seq{Class: "setend", Lines: []string{".inst.n " + hw}, In: Input{Seed: 1}}, cpu.FaultUndefined})
	}
	var seqs []Seq
	for _, c := range cases {
		seqs = append(seqs, c.seq)
	}
	img, err := Build(context.Background(), tl, t.TempDir(), seqs)
	if err != nil {
		t.Fatal(err)
	}
	er, err := RunEmu(img)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if f, ok := er.Faults[i]; !ok || f.Kind != c.kind {
			t.Errorf("%s with r1=%#x: fault %+v (faulted %v), want kind %d", c.seq.Lines[0], c.seq.In.R[1], f, ok, c.kind)
		}
	}
}
