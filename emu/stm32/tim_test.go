package stm32

import (
	"strings"
	"testing"
	"time"
)

// timBaseInit is HAL_TIM_Base_Init (TIM_Base_SetConfig): CR1, ARR, PSC, UG
// to load the prescaler, and UIF cleared again.
func timBaseInit(r *rig, base, psc, arr uint32, arpe bool) {
	r.t.Helper()
	cr1 := r.r32(base + timCR1)
	cr1 &^= timDIR | timCMS | timARPE | 3<<8
	if arpe {
		cr1 |= timARPE
	}
	r.w32(base+timCR1, cr1)
	r.w32(base+timARR, arr)
	r.w32(base+timPSC, psc)
	r.w32(base+timEGR, timUG)
	if r.r32(base+timSR)&timUIF != 0 {
		r.clear(base+timSR, timUIF)
	}
}

// TIM6 at 10 kHz (PSC 15999 at 160 MHz) with ARR 9 overflows every 1 ms:
// CNT follows the virtual clock and each update pends TIM6_IRQn (49), with
// nothing done between updates.
func TestTIMUpdateInterrupt(t *testing.T) {
	r := newRig(t, nil)
	spec := timTable[4]
	base := spec.base
	r.enableClock(spec.clock)
	timBaseInit(r, base, 15999, 9, true)
	if r.r32(base+timSR) != 0 || r.r32(base+timCNT) != 0 {
		t.Fatalf("after init: SR %#x CNT %d, want 0 0", r.r32(base+timSR), r.r32(base+timCNT))
	}
	r.set(base+timDIER, timUIE) // HAL_TIM_Base_Start_IT
	r.set(base+timCR1, timCEN)
	r.clk.advance(500 * time.Microsecond)
	if c := r.r32(base + timCNT); c != 5 {
		t.Fatalf("CNT %d at 0.5 ms, want 5", c)
	}
	if r.irqCount(49) != 0 {
		t.Fatal("an update before the first overflow")
	}
	r.clk.advance(1000 * time.Microsecond)
	if r.irqCount(49) != 1 || r.r32(base+timSR)&timUIF == 0 {
		t.Fatalf("at 1 ms: %d TIM6 interrupts, SR %#x; want 1 and UIF", r.irqCount(49), r.r32(base+timSR))
	}
	r.w32(base+timSR, ^uint32(timUIF)) // __HAL_TIM_CLEAR_IT(UPDATE)
	if r.r32(base+timSR)&timUIF != 0 {
		t.Fatal("UIF not cleared by writing 0")
	}
	r.clk.advance(4500 * time.Microsecond)
	if n := r.irqCount(49); n != 4 {
		t.Fatalf("%d TIM6 interrupts by 4.5 ms, want 4", n)
	}
	if len(r.clk.timers) != 1 {
		t.Fatalf("%d timers scheduled, want only the next update", len(r.clk.timers))
	}
	if c := r.r32(base + timCNT); c != 5 {
		t.Fatalf("CNT %d at 4.5 ms, want 5", c)
	}
	r.w32(base+timSR, ^uint32(timUIF)) // the handler clears UIF, which ends the request
	r.clear(base+timCR1, timCEN)       // HAL_TIM_Base_Stop_IT
	r.clk.advance(10 * time.Millisecond)
	if n := r.irqCount(49); n != 4 || r.r32(base+timCNT) != 5 {
		t.Fatalf("stopped timer: %d interrupts, CNT %d; want 4 and 5 frozen", n, r.r32(base+timCNT))
	}
}

// ARR preloaded with ARPE takes effect at the next update; without ARPE at
// once. One-pulse mode stops at the update. A timer read before its At
// callback ran is brought up to date (a 32-bit TIM2 here).
func TestTIMPreloadOnePulseAndCatchUp(t *testing.T) {
	r := newRig(t, nil)
	base := timTable[0].base             // TIM2
	timBaseInit(r, base, 159, 999, true) // 1 MHz, 1 ms
	r.set(base+timCR1, timCEN)
	r.w32(base+timARR, 1999) // preloaded: the first period stays 1 ms
	r.clk.advance(1000 * time.Microsecond)
	if r.r32(base+timSR)&timUIF == 0 || r.r32(base+timCNT) != 0 {
		t.Fatalf("at 1 ms: SR %#x CNT %d, want UIF and 0", r.r32(base+timSR), r.r32(base+timCNT))
	}
	r.clk.advance(2500 * time.Microsecond)
	if c := r.r32(base + timCNT); c != 1500 {
		t.Fatalf("CNT %d at 2.5 ms, want 1500 (the 2 ms period applies after the update)", c)
	}
	r.clear(base+timCR1, timARPE)
	r.w32(base+timARR, 99999) // not preloaded: at once
	r.clk.advance(3500 * time.Microsecond)
	if c := r.r32(base + timCNT); c != 2500 {
		t.Fatalf("CNT %d at 3.5 ms, want 2500", c)
	}

	r6 := newRig(t, nil)
	b7 := timTable[5].base // TIM7
	r6.soc.o.At = nil      // no scheduler: reads catch up
	timBaseInit(r6, b7, 0, 159, false)
	r6.set(b7+timCR1, timCEN|timOPM)
	r6.clk.now = 2 * time.Microsecond
	if r6.r32(b7+timSR)&timUIF == 0 || r6.r32(b7+timCR1)&timCEN != 0 {
		t.Fatalf("one pulse after 1 µs: SR %#x CR1 %#x, want UIF and CEN clear", r6.r32(b7+timSR), r6.r32(b7+timCR1))
	}
	r6.w32(b7+0x18, 1) // CCMR1 on a basic timer: stored, traced once
	if got := r6.tracesWith("TIM7 offset 0x18"); len(got) != 1 || !strings.Contains(got[0], "stored, not modelled") {
		t.Fatalf("traces %q, want one saying TIM7's offset 0x18 is stored, not modelled", r6.traces)
	}
	r6.set(b7+timCR1, timUIFREMAP)
	if r6.r32(b7+timCNT)>>31 != 1 {
		t.Fatal("UIFREMAP: CNT bit 31 does not copy UIF")
	}
}

// ARR = 0 blocks the counter: no update, no scheduled work.
func TestTIMZeroARRBlocks(t *testing.T) {
	r := newRig(t, nil)
	base := timTable[2].base // TIM3
	timBaseInit(r, base, 0, 0, false)
	r.set(base+timDIER, timUIE)
	r.set(base+timCR1, timCEN)
	r.clk.advance(time.Millisecond)
	if r.r32(base+timCNT) != 0 || r.r32(base+timSR) != 0 || len(r.clk.timers) != 0 || r.irqCount(timTable[2].irq) != 0 {
		t.Fatalf("ARR 0: CNT %d SR %#x, %d timers, %d interrupts; want a blocked counter",
			r.r32(base+timCNT), r.r32(base+timSR), len(r.clk.timers), r.irqCount(timTable[2].irq))
	}
}
