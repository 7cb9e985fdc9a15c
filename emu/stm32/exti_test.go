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

// The MCP9808's alert output wired to PB11 (a board file's "pins"): the
// firmware sets T_CRIT and T_UPPER and enables the alert over I2C
// (HAL_I2C_Mem_Write),
// the temperature rises past it at 50 ms, and the falling edge of the
// active-low alert pends EXTI11_IRQn (22) when the board next samples the
// line (every 30 ms: at 60 ms).
func TestEXTIFromMCP9808Alert(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	err := board.Place(periph.Placement{Bus: "I2C1", Address: 0x18, Model: "mcp9808",
		Pins: map[string]string{"alert": "PB11"},
		Values: []periph.Point{
			{At: 0, Values: map[string]float64{"temperature_c": 20}},
			{At: 50 * time.Millisecond, Values: map[string]float64{"temperature_c": 30}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	h := hal{r, i2cTable[0].base}
	h.init()
	if err := h.transmit(0x18<<1, []byte{periph.MCP9808RegTCrit}, []byte{0x06, 0x40}); err != nil { // 100 °C
		t.Fatal(err)
	}
	if err := h.transmit(0x18<<1, []byte{periph.MCP9808RegTUpper}, []byte{0x01, 0x90}); err != nil { // 25 °C
		t.Fatal(err)
	}
	if err := h.transmit(0x18<<1, []byte{periph.MCP9808RegConfig}, []byte{0x00, 0x08}); err != nil { // Alert Cnt, comparator, active low
		t.Fatal(err)
	}
	b := uint32(gpioBase + blockSize)
	r.modify(b+gpioMODER, 3<<22, 0)                   // PB11 input
	r.modify(extiBase+extiEXTICR1+8, 0xFF<<24, 1<<24) // line 11 follows port B
	r.set(extiBase+extiFTSR1, 1<<11)
	r.set(extiBase+extiIMR1, 1<<11)
	clk.advance(55 * time.Millisecond)
	if r.irqCount(22) != 0 {
		t.Fatal("EXTI11 before the board sampled the alert")
	}
	clk.advance(65 * time.Millisecond)
	if r.irqCount(22) != 1 || r.r32(extiBase+extiFPR1) != 1<<11 || r.r32(b+gpioIDR)&(1<<11) != 0 {
		t.Fatalf("at 65 ms: %d EXTI11 interrupts, FPR1 %#x, IDR %#x; want 1, bit 11, PB11 low",
			r.irqCount(22), r.r32(extiBase+extiFPR1), r.r32(b+gpioIDR))
	}
}
