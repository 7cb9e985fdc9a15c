package stm32

import "fmt"

// EXTI registers (RM0456, EXTI register map) and interrupt numbers
// (stm32u585xx.h: EXTI0_IRQn = 11 … EXTI15_IRQn = 26).
const (
	extiRTSR1   = 0x00
	extiFTSR1   = 0x04
	extiSWIER1  = 0x08
	extiRPR1    = 0x0C
	extiFPR1    = 0x10
	extiEXTICR1 = 0x60 // EXTICR1…EXTICR4: the port of lines 0–15, a byte each
	extiIMR1    = 0x80

	exti0IRQ = 11
)

// exti turns edges on the GPIO inputs the board drives into the pending
// bits (RPR1/FPR1) and interrupts of lines 0–15, as HAL_GPIO_Init's
// GPIO_MODE_IT_* and HAL_GPIO_EXTI_IRQHandler use them: EXTICR picks the
// port of each line, RTSR1/FTSR1 the edges, IMR1 the interrupt. SWIER1
// raises a line by software. Events (EMR1) and the lines above 15 are
// stored, not modelled. While an interrupt line waits for an edge, the
// board's next input change is scheduled on the virtual clock.
type exti struct {
	s       *SoC
	regs    map[uint32]uint32
	polling bool
}

func newEXTI(s *SoC) *exti { return &exti{s: s, regs: map[uint32]uint32{}} }

func (e *exti) read(off uint32, size int) uint32 { return e.regs[off] }

func (e *exti) write(off uint32, size int, v, mask uint32) {
	v &= mask
	switch off {
	case extiRPR1, extiFPR1:
		e.regs[off] &^= v // write 1 to clear
		return
	case extiSWIER1:
		for line := range uint32(16) {
			if v&(1<<line) != 0 {
				e.regs[extiRPR1] |= 1 << line
				e.raise(line)
			}
		}
		return
	}
	e.regs[off] = merge(e.regs[off], v, mask)
	switch off {
	case extiRTSR1, extiFTSR1, extiIMR1, extiEXTICR1, extiEXTICR1 + 4, extiEXTICR1 + 8, extiEXTICR1 + 12:
		e.s.scheduleInputs()
	default:
		e.s.traceOnce(fmt.Sprintf("exti %#x", off), fmt.Sprintf("stm32: EXTI offset %#x stored, not modelled", off))
	}
}

// edge is a level change on GPIO port's pin: its line's pending bit and
// interrupt when the line follows that port and edge.
func (e *exti) edge(port, pin int, rising bool) {
	line := uint32(pin)
	if int(e.regs[extiEXTICR1+4*(line/4)]>>(8*(line%4))&0xFF) != port {
		return
	}
	switch {
	case rising && e.regs[extiRTSR1]&(1<<line) != 0:
		e.regs[extiRPR1] |= 1 << line
	case !rising && e.regs[extiFTSR1]&(1<<line) != 0:
		e.regs[extiFPR1] |= 1 << line
	default:
		return
	}
	e.raise(line)
}

func (e *exti) raise(line uint32) {
	if e.regs[extiIMR1]&(1<<line) != 0 {
		e.s.pend(exti0IRQ + line)
	}
}

// waiting reports whether some line's interrupt waits for an edge.
func (e *exti) waiting() bool {
	return e.regs[extiIMR1]&(e.regs[extiRTSR1]|e.regs[extiFTSR1])&0xFFFF != 0
}

// scheduleInputs arranges for the board's next input change to be taken
// when it comes, while an EXTI line waits for one.
func (s *SoC) scheduleInputs() {
	e := s.exti
	if e.polling || s.o.At == nil || !e.waiting() || s.inputsDone {
		return
	}
	at, ok := s.o.Board.NextInputAt()
	if !ok {
		return
	}
	e.polling = true
	s.o.At(max(at, s.o.Now()), func() {
		e.polling = false
		s.pollInputs(true)
		s.scheduleInputs()
	})
}
