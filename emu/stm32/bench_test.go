package stm32

import "testing"

// BenchmarkRegisterRead is one ISR poll of the kind HAL wait loops spin on
// (USART2 ISR through the bus map), beside a plain stored register (GPIOA
// MODER) as the baseline of the same path.
func BenchmarkRegisterRead(b *testing.B) {
	r := newRig(b, nil)
	r.enableClock(usartTable[1].clock)
	r.enableClock(clockGate{rccAHB2ENR1, 0})
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
}
