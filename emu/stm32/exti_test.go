package stm32

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// HAL_GPIO_Init with GPIO_MODE_IT_RISING_FALLING on PC13 (a button the
// board presses at 2 ms and releases at 4 ms): each edge sets the line's
// pending bit and pends EXTI13_IRQn (24) at its time on the virtual clock;
// HAL_GPIO_EXTI_IRQHandler's write clears it.
func TestEXTIEdgesFromBoard(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	err := board.DriveInput("PC13", []periph.Level{{At: 0, Level: 1}, {At: 2 * time.Millisecond, Level: 0}, {At: 4 * time.Millisecond, Level: 1}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	c := uint32(gpioBase + 2*blockSize)
	r.modify(c+gpioMODER, 3<<26, 0)                  // PC13 input
	r.modify(extiBase+extiEXTICR1+12, 0xFF<<8, 2<<8) // line 13 follows port C
	r.set(extiBase+extiRTSR1, 1<<13)
	r.set(extiBase+extiFTSR1, 1<<13)
	r.set(extiBase+extiIMR1, 1<<13)
	clk.advance(1900 * time.Microsecond)
	if r.irqCount(24) != 0 || r.r32(c+gpioIDR)&(1<<13) == 0 {
		t.Fatalf("before the press: %d EXTI13 interrupts, IDR %#x; want none and PC13 high", r.irqCount(24), r.r32(c+gpioIDR))
	}
	clk.advance(2100 * time.Microsecond)
	if r.irqCount(24) != 1 || r.r32(extiBase+extiFPR1) != 1<<13 || r.r32(extiBase+extiRPR1) != 0 {
		t.Fatalf("after the press: %d interrupts, FPR1 %#x RPR1 %#x; want 1, bit 13, 0",
			r.irqCount(24), r.r32(extiBase+extiFPR1), r.r32(extiBase+extiRPR1))
	}
	r.w32(extiBase+extiFPR1, 1<<13)
	if r.r32(extiBase+extiFPR1) != 0 {
		t.Fatal("FPR1 not cleared by writing 1")
	}
	clk.advance(5 * time.Millisecond)
	if r.irqCount(24) != 2 || r.r32(extiBase+extiRPR1) != 1<<13 {
		t.Fatalf("after the release: %d interrupts, RPR1 %#x; want 2 and bit 13", r.irqCount(24), r.r32(extiBase+extiRPR1))
	}
	if len(clk.timers) != 0 {
		t.Fatalf("%d timers left after the board's last input", len(clk.timers))
	}
	r.w32(extiBase+extiSWIER1, 1<<13) // software trigger
	if r.irqCount(24) != 3 {
		t.Fatal("SWIER1 did not pend the line's interrupt")
	}
}

// An edge on a pin of another port than the line's EXTICR selects, or on
// a line not enabled for that edge, raises nothing.
func TestEXTIFollowsSelectedPort(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	if err := board.DriveInput("PA13", []periph.Level{{At: 0, Level: 0}, {At: time.Millisecond, Level: 1}}); err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	r.modify(gpioBase+gpioMODER, 3<<26, 0)
	r.modify(extiBase+extiEXTICR1+12, 0xFF<<8, 2<<8) // line 13 on port C, not A
	r.set(extiBase+extiRTSR1, 1<<13)
	r.set(extiBase+extiIMR1, 1<<13)
	clk.advance(2 * time.Millisecond)
	if r.irqCount(24) != 0 || r.r32(extiBase+extiRPR1) != 0 {
		t.Fatal("an edge on PA13 raised line 13, which follows port C")
	}
	if r.r32(gpioBase+gpioIDR)&(1<<13) == 0 {
		t.Fatal("PA13 did not rise: the edge never reached the model")
	}
}
