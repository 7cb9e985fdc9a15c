package stm32

import (
	"fmt"
	"math/bits"
	"time"
)

// Timer registers and bits (RM0456, TIM2–TIM5 and TIM6/TIM7 register maps).
const (
	timCR1  = 0x00
	timDIER = 0x0C
	timSR   = 0x10
	timEGR  = 0x14
	timCNT  = 0x24
	timPSC  = 0x28
	timARR  = 0x2C

	timCEN      = 1 << 0
	timUDIS     = 1 << 1
	timURS      = 1 << 2
	timOPM      = 1 << 3
	timDIR      = 1 << 4
	timCMS      = 3 << 5
	timARPE     = 1 << 7
	timUIFREMAP = 1 << 11
	timUIE      = 1 << 0
	timUIF      = 1 << 0
	timUG       = 1 << 0
)

// tim is a timer's time base counting up on the virtual clock: CNT, PSC
// and ARR (ARR preloaded with ARPE, PSC always preloaded), CEN, OPM, UG,
// UDIS, URS, UIFREMAP, and the update event raising UIF and the interrupt
// (UIE).
// Nothing runs per tick: the counter is computed from the time since the
// last change, and the next update event is scheduled with Options.At.
// Capture/compare, down and centre-aligned counting, and the slave modes
// are stored but not modelled (traced once).
type tim struct {
	s    *SoC
	spec timSpec

	cr1, dier, sr, psc, arr uint32
	other                   map[uint32]uint32

	// The counter runs from cnt0 at t0 with the active prescaler and
	// auto-reload (pscA, arrA: the shadow registers).
	t0         time.Duration
	cnt0       uint64
	pscA, arrA uint32
	gen        uint64 // bumps on every change; a scheduled event of an older generation is stale
	pending    bool   // an update event is scheduled
}

func newTIM(s *SoC, spec timSpec) *tim {
	t := &tim{s: s, spec: spec, other: map[uint32]uint32{}}
	t.arr, t.arrA = t.mask(), t.mask()
	return t
}

// release stops the counter so an update event still scheduled does
// nothing once a reset has replaced the model.
func (t *tim) release() {
	t.cr1 = 0
	t.gen++
}

// mask is the counter's width: 32 bits for TIM2/TIM5, 16 for the others.
func (t *tim) mask() uint32 {
	if t.spec.wide {
		return 0xFFFFFFFF
	}
	return 0xFFFF
}

// running is CEN with a non-zero auto-reload: ARR = 0 blocks the counter
// (RM0456 TIMx_ARR).
func (t *tim) running() bool { return t.cr1&timCEN != 0 && t.arrA != 0 }

// ticks is how many counter clocks the prescaler gives in d.
func (t *tim) ticks(d time.Duration) uint64 {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(d), t.s.o.PClk)
	if hi >= uint64(time.Second) {
		return ^uint64(0) // beyond any counter
	}
	q, _ := bits.Div64(hi, lo, uint64(time.Second))
	return q / (uint64(t.pscA) + 1)
}

// after is the time n counter clocks take, rounded up.
func (t *tim) after(n uint64) time.Duration {
	hi, lo := bits.Mul64(n*(uint64(t.pscA)+1), uint64(time.Second))
	lo, c := bits.Add64(lo, t.s.o.PClk-1, 0)
	q, _ := bits.Div64(hi+c, lo, t.s.o.PClk)
	return time.Duration(q)
}

// counted is the number of counter clocks since t0 with the counter at
// cnt0 then: the counter value is counted mod (ARR+1).
func (t *tim) counted() uint64 {
	if !t.running() {
		return t.cnt0
	}
	return t.cnt0 + t.ticks(t.s.o.Now()-t.t0)
}

func (t *tim) period() uint64 { return uint64(t.arrA) + 1 }

func (t *tim) cnt() uint32 {
	t.catchUp()
	return uint32(t.counted() % t.period())
}

// rebase makes the current counter value the new origin (before PSC, ARR,
// CNT or CEN change).
func (t *tim) rebase(cnt uint64) {
	t.t0, t.cnt0 = t.s.o.Now(), cnt
	t.gen++
	t.pending = false
	t.schedule()
}

// catchUp applies every update event due by now (an At callback may not
// have run yet when the firmware reads the timer).
func (t *tim) catchUp() {
	for t.running() && t.counted() >= t.period() {
		// The update event came at the tick the counter wrapped (at once
		// for a counter written past ARR).
		at := t.t0
		if t.cnt0 < t.period() {
			at += t.after(t.period() - t.cnt0)
		}
		t.update(at)
	}
	t.schedule()
}

// update is the overflow event at time at: reload the shadows, raise UIF
// (unless UDIS), stop in one-pulse mode, and count on from 0.
func (t *tim) update(at time.Duration) {
	if t.cr1&timUDIS == 0 {
		t.pscA = t.psc
		if t.cr1&timARPE != 0 {
			t.arrA = t.arr
		}
		t.sr |= timUIF
	}
	t.t0, t.cnt0 = at, 0
	if t.cr1&timOPM != 0 {
		t.cr1 &^= timCEN
	}
	t.gen++
	t.pending = false
	t.irq()
}

// schedule asks for a callback at the next update event.
func (t *tim) schedule() {
	if t.pending || !t.running() || t.s.o.At == nil {
		return
	}
	at := t.t0
	if t.cnt0 < t.period() {
		at += t.after(t.period() - t.cnt0)
	}
	gen := t.gen
	t.pending = true
	t.s.o.At(at, func() {
		if t.gen != gen {
			return
		}
		t.pending = false
		t.catchUp()
	})
}

func (t *tim) irq() {
	if t.sr&timUIF != 0 && t.dier&timUIE != 0 {
		t.s.pend(t.spec.irq)
	}
}

func (t *tim) read(off uint32, size int) uint32 {
	switch off {
	case timCR1:
		t.catchUp()
		return t.cr1
	case timDIER:
		return t.dier
	case timSR:
		t.catchUp()
		return t.sr
	case timCNT:
		v := t.cnt()
		if t.cr1&timUIFREMAP != 0 && !t.spec.wide {
			v |= (t.sr & timUIF) << 31 // UIFCPY
		}
		return v
	case timPSC:
		return t.psc
	case timARR:
		return t.arr
	case timEGR:
		return 0
	}
	return t.other[off]
}

func (t *tim) write(off uint32, size int, v, mask uint32) {
	t.catchUp()
	cur := uint64(t.cnt())
	switch off {
	case timCR1:
		t.cr1 = merge(t.cr1, v, mask)
		if t.cr1&(timDIR|timCMS) != 0 {
			t.s.traceOnce("dir "+t.spec.name, "stm32: "+t.spec.name+" down or centre-aligned counting is not modelled: counting up")
		}
		t.rebase(cur)
	case timDIER:
		t.dier = merge(t.dier, v, mask)
		if t.dier&^timUIE != 0 {
			t.s.traceOnce("dier "+t.spec.name, "stm32: "+t.spec.name+" interrupts other than the update are not modelled")
		}
	case timSR:
		// rc_w0: writing 0 clears a flag, 1 leaves it.
		t.sr &= v | ^mask
	case timEGR:
		if v&mask&timUG != 0 {
			// UG: reinitialise the counter and load the shadows; the
			// update flag is raised unless URS or UDIS says otherwise.
			t.pscA, t.arrA = t.psc, t.arr
			if t.cr1&(timURS|timUDIS) == 0 {
				t.sr |= timUIF
			}
			t.rebase(0)
		}
	case timCNT:
		t.rebase(uint64(merge(uint32(cur), v, mask) & t.mask()))
	case timPSC:
		t.psc = merge(t.psc, v, mask) & 0xFFFF
	case timARR:
		t.arr = merge(t.arr, v, mask) & t.mask()
		if t.cr1&timARPE == 0 {
			t.arrA = t.arr
			t.rebase(cur)
		}
	default:
		t.other[off] = merge(t.other[off], v, mask)
		t.s.traceOnce("cc "+t.spec.name, fmt.Sprintf("stm32: %s offset %#x: registers beyond the time base (capture/compare, master/slave mode) are stored, not modelled", t.spec.name, off))
	}
	t.irq()
}
