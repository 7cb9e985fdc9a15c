package stm32

import (
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// HAL_GPIO_Init then HAL_GPIO_WritePin/TogglePin on an LED the board
// places on PA5, and HAL_GPIO_ReadPin on inputs the board drives.
func TestGPIOOutputsAndInputs(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	if err := board.WatchPin("PA5", "led"); err != nil {
		t.Fatal(err)
	}
	if err := board.DriveInput("PC13", []periph.Level{{At: 0, Level: 1}, {At: 2 * time.Millisecond, Level: 0}}); err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	r.enableClock(clockGate{rccAHB2ENR1, 0})
	r.enableClock(clockGate{rccAHB2ENR1, 2})
	a, c := uint32(gpioBase), uint32(gpioBase+0x800)

	r.modify(a+gpioMODER, 3<<10, 1<<10) // PA5 output
	r.w32(a+gpioBSRR, 1<<5)             // HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET)
	if got := r.tracesWith("PA5"); len(got) != 1 || !strings.Contains(got[0], "PA5 = 1 (led on)") {
		t.Fatalf("traces %q, want one line \"PA5 = 1 (led on)\"", got)
	}
	if r.r32(a+gpioIDR)&(1<<5) == 0 || r.r32(a+gpioODR) != 1<<5 {
		t.Fatalf("IDR %#x ODR %#x: PA5 should read back high", r.r32(a+gpioIDR), r.r32(a+gpioODR))
	}
	r.w32(a+gpioBSRR, 1<<5) // the same level again: the board hears it, the trace does not
	r.w32(a+gpioBRR, 1<<5)  // HAL_GPIO_WritePin(…, GPIO_PIN_RESET)
	if got := r.tracesWith("PA5"); len(got) != 2 || !strings.Contains(got[1], "PA5 = 0 (led off)") {
		t.Fatalf("traces %q, want a second line \"PA5 = 0 (led off)\"", got)
	}
	odr := r.r32(a + gpioODR)
	r.w32(a+gpioBSRR, (odr&(1<<5))<<16|^odr&(1<<5)) // HAL_GPIO_TogglePin
	if r.r32(a+gpioODR)&(1<<5) == 0 {
		t.Fatal("toggle did not set PA5")
	}
	r.w32(a+gpioBSRR, 1<<8)             // PA8 high while still analog: drives nothing yet
	r.modify(a+gpioMODER, 3<<16, 1<<16) // PA8 output: now it drives its ODR level
	if got := r.tracesWith("PA8"); len(got) != 1 || !strings.Contains(got[0], "PA8 = 1") {
		t.Fatalf("traces %q, want PA8 = 1 once PA8 became an output", got)
	}
	r.modify(a+gpioMODER, 3<<12, 0) // PA6 input, floating
	r.w32(a+gpioBSRR, 1<<6)         // an output level on an input pin drives nothing
	if n := len(r.tracesWith("PA6")); n != 0 {
		t.Fatalf("PA6 (input) traced as driven: %q", r.traces)
	}

	r.modify(c+gpioMODER, 3<<26, 0)   // PC13 input
	r.modify(c+gpioMODER, 3<<2, 0)    // PC1 input
	r.modify(c+gpioPUPDR, 3<<2, 1<<2) // PC1 pull-up
	if v := r.r32(c + gpioIDR); v&(1<<13) == 0 || v&(1<<1) == 0 {
		t.Fatalf("IDR %#x at 0 ms: want PC13 (board) and PC1 (pull-up) high", v)
	}
	clk.advance(2 * time.Millisecond)
	if v := r.r32(c + gpioIDR); v&(1<<13) != 0 {
		t.Fatalf("IDR %#x at 2 ms: want PC13 low, as the board's timeline says", v)
	}
}
