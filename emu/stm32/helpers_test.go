package stm32

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/emu/bus"
	"github.com/mvnet/mvnet/periph"
)

// clock is a virtual clock the test moves by hand.
type clock struct {
	now    time.Duration
	timers []timer
	seq    int
}

type timer struct {
	at  time.Duration
	seq int
	fn  func()
}

func (c *clock) Now() time.Duration { return c.now }

func (c *clock) At(t time.Duration, fn func()) {
	c.seq++
	c.timers = append(c.timers, timer{t, c.seq, fn})
}

// advance moves time to t, running each timer due on the way at its time.
func (c *clock) advance(t time.Duration) {
	for {
		sort.Slice(c.timers, func(i, j int) bool {
			if c.timers[i].at != c.timers[j].at {
				return c.timers[i].at < c.timers[j].at
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		if len(c.timers) == 0 || c.timers[0].at > t {
			break
		}
		tm := c.timers[0]
		c.timers = c.timers[1:]
		if tm.at > c.now {
			c.now = tm.at
		}
		tm.fn()
	}
	c.now = t
}

// rig is a SoC on a bus with a hand-moved clock, recording what it
// reports.
type rig struct {
	t      testing.TB
	clk    *clock
	board  *periph.Board
	soc    *SoC
	m      bus.Map
	traces []string
	irqs   []uint32
	out    map[string][]byte
}

func newRig(t testing.TB, board *periph.Board) *rig {
	t.Helper()
	return newRigAt(t, &clock{}, board)
}

// newRigAt is newRig on clk, the clock board was made with.
func newRigAt(t testing.TB, clk *clock, board *periph.Board) *rig {
	t.Helper()
	r := &rig{t: t, clk: clk, out: map[string][]byte{}}
	if board == nil {
		board = periph.NewBoard(r.clk.Now)
	}
	r.board = board
	soc, err := New(Options{
		Board:   board,
		PendIRQ: func(n uint32) { r.irqs = append(r.irqs, n) },
		Now:     r.clk.Now,
		At:      r.clk.At,
		Out:     func(name string, b []byte) { r.out[name] = append(r.out[name], b...) },
		Trace:   func(line string) { r.traces = append(r.traces, line) },
	})
	if err != nil {
		t.Fatal(err)
	}
	r.soc = soc
	for _, mp := range soc.Mappings() {
		if err := r.m.Add(mp); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rig) load(addr uint32, size int) uint32 {
	r.t.Helper()
	v, ok := r.m.Load(addr, size)
	if !ok {
		r.t.Fatalf("bus error reading %#08x", addr)
	}
	return v
}

func (r *rig) store(addr uint32, size int, v uint32) {
	r.t.Helper()
	if !r.m.Store(addr, size, v) {
		r.t.Fatalf("bus error writing %#08x", addr)
	}
}

func (r *rig) r32(addr uint32) uint32    { r.t.Helper(); return r.load(addr, 4) }
func (r *rig) w32(addr uint32, v uint32) { r.t.Helper(); r.store(addr, 4, v) }

// set and clear are the HAL's SET_BIT and CLEAR_BIT.
func (r *rig) set(addr, bits uint32)   { r.t.Helper(); r.w32(addr, r.r32(addr)|bits) }
func (r *rig) clear(addr, bits uint32) { r.t.Helper(); r.w32(addr, r.r32(addr)&^bits) }

// modify is MODIFY_REG.
func (r *rig) modify(addr, clearMask, setMask uint32) {
	r.t.Helper()
	r.w32(addr, r.r32(addr)&^clearMask|setMask)
}

// wait polls a register until cond holds, as the HAL's wait-on-flag loops
// do, failing after a bound the HAL's timeout would have hit.
func (r *rig) wait(addr uint32, what string, cond func(uint32) bool) uint32 {
	r.t.Helper()
	for range 1000 {
		if v := r.r32(addr); cond(v) {
			return v
		}
	}
	r.t.Fatalf("timed out waiting for %s at %#08x", what, addr)
	return 0
}

func (r *rig) flagSet(addr, bit uint32, what string) {
	r.t.Helper()
	r.wait(addr, what, func(v uint32) bool { return v&bit != 0 })
}

func (r *rig) tracesWith(sub string) []string {
	var out []string
	for _, l := range r.traces {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

func (r *rig) irqCount(n uint32) int {
	c := 0
	for _, x := range r.irqs {
		if x == n {
			c++
		}
	}
	return c
}

// enableClock is __HAL_RCC_xxx_CLK_ENABLE: set the bit, read it back.
func (r *rig) enableClock(g clockGate) {
	r.t.Helper()
	r.set(rccBase+g.reg, 1<<g.bit)
	if r.r32(rccBase+g.reg)&(1<<g.bit) == 0 {
		r.t.Fatalf("RCC %s bit %d does not read back", rccRegName(g.reg), g.bit)
	}
}
