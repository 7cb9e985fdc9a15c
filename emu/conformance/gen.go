package conformance

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
)

// Seq is one generated instruction sequence with its inputs.
type Seq struct {
	Class string
	Lines []string // assembly (unified syntax); labels end with ':'
	In    Input
	// Mem says the sequence touches the scratch area: only then is the
	// scratch memory compared.
	Mem bool
}

// Input is the architectural state a sequence starts from.
type Input struct {
	R    [13]uint32
	APSR uint32 // N Z C V Q (bits 31-27) and GE (bits 19-16)
	Seed uint32 // the scratch area's xorshift32 seed (never 0)
}

// edges are the values the generator favours: the boundaries of signed
// and unsigned arithmetic, of halfwords and bytes, and shift amounts.
var edges = []uint32{
	0, 1, 2, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffe,
	0x7fff, 0x8000, 0xffff, 0x10000, 0xffff8000, 0x7f, 0x80, 0xff, 0x100,
	0xffffff80, 31, 32, 33, 0x55555555, 0xaaaaaaaa, 0x7f7f7f7f, 0x80808080,
	0x00ff00ff, 0xff00ff00, 0x7fff8000, 0x80007fff,
}

// shiftAmounts are the register shift amounts at and around the edges
// (only the bottom byte counts).
var shiftAmounts = []uint32{0, 1, 2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 255, 256, 257, 0xffffff20}

// conds are the condition codes; invCond maps each to its inverse.
var conds = []string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le"}

func invCond(c string) string {
	for i, x := range conds {
		if x == c {
			return conds[i^1]
		}
	}
	panic("no condition " + c)
}

// gen holds one sequence under construction.
type gen struct {
	r     *rand.Rand
	lines []string
	in    Input
	used  map[int]bool // registers given a role (not to be reused)
	mem   bool
	label int
}

func (g *gen) emit(format string, args ...any) {
	g.lines = append(g.lines, fmt.Sprintf(format, args...))
}

// value returns an edge value half of the time, otherwise a random one
// (sometimes small).
func (g *gen) value() uint32 {
	switch g.r.Intn(6) {
	case 0, 1, 2:
		return edges[g.r.Intn(len(edges))]
	case 3:
		return uint32(g.r.Intn(256))
	default:
		return g.r.Uint32()
	}
}

func (g *gen) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }

// reg returns a register from r0-r12 (r0-r7 when low) not given a role
// yet, and marks it used.
func (g *gen) reg(low bool) int {
	n := 13
	if low {
		n = 8
	}
	for {
		r := g.r.Intn(n)
		if !g.used[r] {
			g.used[r] = true
			return r
		}
	}
}

// any returns any register of r0-r12 (r0-r7 when low), used or not: for
// operands that may alias.
func (g *gen) any(low bool) int {
	if low {
		return g.r.Intn(8)
	}
	return g.r.Intn(13)
}

func (g *gen) set(r int, v uint32) { g.in.R[r] = v }

// local returns a fresh label name local to the sequence.
func (g *gen) local() string {
	g.label++
	return fmt.Sprintf(".L%%s_%d", g.label)
}

// sfx returns "s" with probability 1/2: the flag-setting form.
func (g *gen) sfx() string {
	if g.r.Intn(2) == 0 {
		return "s"
	}
	return ""
}

// A class generates one sequence body into g.
type class struct {
	name string
	fn   func(g *gen)
}

// Classes returns the names of the encoding classes, sorted.
func Classes() []string {
	var ns []string
	for _, c := range classes {
		ns = append(ns, c.name)
	}
	sort.Strings(ns)
	return ns
}

// Generate returns n sequences from seed, cycling through the classes
// named in only (all when empty). The same seed, n and classes give the
// same sequences.
func Generate(seed int64, n int, only []string) ([]Seq, error) {
	var cs []class
	for _, c := range classes {
		if len(only) == 0 || contains(only, c.name) {
			cs = append(cs, c)
		}
	}
	for _, o := range only {
		found := false
		for _, c := range classes {
			found = found || c.name == o
		}
		if !found {
			return nil, fmt.Errorf("conformance: no class %q (classes: %s)", o, strings.Join(Classes(), ", "))
		}
	}
	r := rand.New(rand.NewSource(seed))
	seqs := make([]Seq, 0, n)
	for i := 0; i < n; i++ {
		c := cs[i%len(cs)]
		g := &gen{r: r, used: map[int]bool{}}
		for j := range g.in.R {
			g.in.R[j] = g.value()
		}
		g.in.APSR = uint32(r.Intn(32))<<27 | uint32(r.Intn(16))<<16
		g.in.Seed = r.Uint32() | 1
		c.fn(g)
		// Labels: make them unique per sequence.
		for k, l := range g.lines {
			g.lines[k] = strings.ReplaceAll(l, "%s", fmt.Sprint(i))
		}
		seqs = append(seqs, Seq{Class: c.name, Lines: g.lines, In: g.in, Mem: g.mem})
	}
	return seqs, nil
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// modImm returns a constant encodable as a Thumb-2 modified immediate
// (ThumbExpandImm, ARMv8-M ARM C1.4.2 "Modified immediate constants"),
// every form: plain byte, the three replicated patterns, and rotated.
func (g *gen) modImm() uint32 {
	b := uint32(g.r.Intn(255) + 1)
	switch g.r.Intn(5) {
	case 0:
		return b
	case 1:
		return b | b<<16
	case 2:
		return b<<8 | b<<24
	case 3:
		return b | b<<8 | b<<16 | b<<24
	default:
		v := uint32(0x80 | g.r.Intn(128))
		rot := uint(8 + g.r.Intn(24))
		return v>>rot | v<<(32-rot)
	}
}

// shiftOp returns an immediate shift suffix for a shifted-register
// operand (", lsl #n" ...), favouring the edge amounts, or "" for none.
func (g *gen) shiftOp() string {
	switch g.r.Intn(6) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf(", lsl #%d", g.pickInt(1, 2, 16, 31, g.r.Intn(31)+1))
	case 2:
		return fmt.Sprintf(", lsr #%d", g.pickInt(1, 16, 31, 32, g.r.Intn(32)+1))
	case 3:
		return fmt.Sprintf(", asr #%d", g.pickInt(1, 16, 31, 32, g.r.Intn(32)+1))
	case 4:
		return fmt.Sprintf(", ror #%d", g.pickInt(1, 8, 16, 31, g.r.Intn(31)+1))
	default:
		return ", rrx"
	}
}

func (g *gen) pickInt(xs ...int) int { return xs[g.r.Intn(len(xs))] }

func rn(r int) string { return fmt.Sprintf("r%d", r) }
