package stm32

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// BenchmarkRegisterRead is one register read through the bus map: a USART
// ISR poll of the kind HAL wait loops spin on, a plain stored register
// (GPIOA MODER) as the baseline of the same path, and an IDR poll on a
// board that drives an input pin (the virtual clock moving on between
// reads, as it does in a polling loop).
func BenchmarkRegisterRead(b *testing.B) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	if err := board.DriveInput("PC13", []periph.Level{{At: 0, Level: 1}, {At: time.Hour, Level: 0}}); err != nil {
		b.Fatal(err)
	}
	r := newRigAt(b, clk, board)
	r.enableClock(usartTable[1].clock)
	r.enableClock(clockGate{rccAHB2ENR1, 0})
	r.enableClock(clockGate{rccAHB2ENR1, 2})
	b.Run("USART_ISR", func(b *testing.B) {
		for b.Loop() {
			r.m.Load(usartTable[1].base+usartISR, 4)
		}
	})
	b.Run("GPIO_MODER", func(b *testing.B) {
		for b.Loop() {
			r.m.Load(gpioBase+gpioMODER, 4)
		}
	})
	b.Run("GPIO_IDR_board", func(b *testing.B) {
		for b.Loop() {
			clk.now += time.Microsecond
			r.m.Load(gpioBase+2*blockSize+gpioIDR, 4)
		}
	})
}
