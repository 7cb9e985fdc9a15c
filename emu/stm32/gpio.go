package stm32

import (
	"fmt"

	"github.com/mvnet/mvnet/periph"
)

// GPIO registers (RM0456, GPIO register map).
const (
	gpioMODER   = 0x00
	gpioOTYPER  = 0x04
	gpioOSPEEDR = 0x08
	gpioPUPDR   = 0x0C
	gpioIDR     = 0x10
	gpioODR     = 0x14
	gpioBSRR    = 0x18
	gpioLCKR    = 0x1C
	gpioAFRL    = 0x20
	gpioAFRH    = 0x24
	gpioBRR     = 0x28
)

// gpio is one port (GPIOA … GPIOI). Outputs the application drives reach
// the board (periph.Board.SetPin: SPI chip selects, "led" models) and the
// trace; IDR reads output pins back and input pins from the board's
// timelines (pull-up or pull-down when the board does not drive them).
type gpio struct {
	s    *SoC
	port int
	name string
	regs [11]uint32
	// in holds the levels the board drives onto input pins; driven marks
	// which pins it drives.
	in, driven uint16
	// shown holds the output levels the trace has reported (an undriven
	// pin counts as 0).
	shown  uint16
	locked bool // LCKR: the configuration is frozen
}

func newGPIO(s *SoC, port int) *gpio {
	g := &gpio{s: s, port: port, name: fmt.Sprintf("GPIO%c", 'A'+port)}
	// Reset values (RM0456): every pin analog, except the debug pins of
	// ports A and B.
	g.regs[gpioMODER/4] = 0xFFFFFFFF
	switch port {
	case 0:
		g.regs[gpioMODER/4] = 0xABFFFFFF
		g.regs[gpioOSPEEDR/4] = 0x0C000000
		g.regs[gpioPUPDR/4] = 0x64000000
	case 1:
		g.regs[gpioMODER/4] = 0xFFFFFEBF
		g.regs[gpioOSPEEDR/4] = 0x000000C0
		g.regs[gpioPUPDR/4] = 0x00000100
	}
	return g
}

func (g *gpio) mode(pin int) uint32 { return g.regs[gpioMODER/4] >> (2 * pin) & 3 }

func (g *gpio) read(off uint32, size int) uint32 {
	switch off {
	case gpioIDR:
		return g.idr()
	case gpioBSRR, gpioBRR:
		return 0 // write-only
	}
	if off/4 < uint32(len(g.regs)) {
		return g.regs[off/4]
	}
	return 0
}

func (g *gpio) write(off uint32, size int, v, mask uint32) {
	if off/4 >= uint32(len(g.regs)) {
		return
	}
	switch off {
	case gpioIDR:
		return
	case gpioODR:
		g.setODR(merge(g.regs[gpioODR/4], v, mask)&0xFFFF, uint16(v&mask))
	case gpioBSRR:
		set, reset := uint16(v&mask), uint16((v&mask)>>16)
		// BS wins over BR for the same pin (RM0456 GPIOx_BSRR).
		odr := uint16(g.regs[gpioODR/4])&^reset | set
		g.setODR(uint32(odr), set|reset)
	case gpioBRR:
		r := uint16(v & mask)
		g.setODR(g.regs[gpioODR/4]&^uint32(r), r)
	case gpioLCKR:
		// The lock key sequence (LCKK written 1, 0, 1) freezes the
		// configuration; accept the write and freeze once LCKK is set.
		g.regs[gpioLCKR/4] = merge(g.regs[gpioLCKR/4], v, mask) & 0x1FFFF
		g.locked = g.regs[gpioLCKR/4]&(1<<16) != 0
	case gpioMODER, gpioOTYPER, gpioOSPEEDR, gpioPUPDR, gpioAFRL, gpioAFRH:
		if g.locked {
			g.s.traceOnce("lck "+g.name, fmt.Sprintf("stm32: %s configuration write after LCKR lock (accepted; the device would ignore locked pins)", g.name))
		}
		var wasOut uint16
		for pin := range 16 {
			if g.mode(pin) == 1 {
				wasOut |= 1 << pin
			}
		}
		g.regs[off/4] = merge(g.regs[off/4], v, mask)
		if off == gpioMODER {
			// A pin that becomes an output drives its ODR level from now.
			var nowOut uint16
			for pin := range 16 {
				if g.mode(pin) == 1 {
					nowOut |= 1 << pin
				}
			}
			g.setODR(g.regs[gpioODR/4], nowOut&^wasOut)
		}
	default:
		g.regs[off/4] = merge(g.regs[off/4], v, mask)
	}
}

// setODR stores odr and tells the board about the output pins touched: the
// board hears every level driven, changed or not (periph.PinDevice), the
// trace only the changes (from 0 for a pin that starts driving).
func (g *gpio) setODR(odr uint32, touched uint16) {
	g.regs[gpioODR/4] = odr
	for pin := range 16 {
		if touched&(1<<pin) == 0 || g.mode(pin) != 1 {
			continue
		}
		level := int(odr >> pin & 1)
		name := periph.PinName(g.port, pin)
		r := g.s.o.Board.SetPin(name, level)
		if int(g.shown>>pin&1) != level {
			g.shown ^= 1 << pin
			line := fmt.Sprintf("stm32: %s = %d", name, level)
			if r.Device != "" {
				line += fmt.Sprintf(" (%s %s)", r.Device, r.State)
			}
			g.s.trace(line)
		}
	}
}

// idr is what the pins read: an output pin its driven level, an input or
// alternate-function pin the board's level, else its pull (PUPDR 01 up,
// 10 down, floating reads 0); an analog pin reads 0.
func (g *gpio) idr() uint32 {
	g.s.pollInputs(false)
	odr := g.regs[gpioODR/4]
	var v uint32
	for pin := range 16 {
		bit := uint32(0)
		switch g.mode(pin) {
		case 1:
			bit = odr >> pin & 1
		case 0, 2:
			bit = g.inputLevel(pin)
		}
		v |= bit << pin
	}
	return v
}

// inputLevel is what an input pin reads: the board's level, else its pull.
func (g *gpio) inputLevel(pin int) uint32 {
	if g.driven&(1<<pin) != 0 {
		return uint32(g.in>>pin) & 1
	}
	if g.regs[gpioPUPDR/4]>>(2*pin)&3 == 1 {
		return 1
	}
	return 0
}

// pollInputs takes the levels the board has put on input pins by now
// (periph.Board.NextInput, on the board's clock), once per virtual instant
// unless force; a change is an edge for EXTI. All ports share the board's
// one stream of levels.
func (s *SoC) pollInputs(force bool) {
	b := s.o.Board
	now := s.o.Now()
	if (s.inputsAt == now && !force) || s.inputsDone || !b.DrivesInputs() {
		return
	}
	s.inputsAt = now
	// Ask the board when its next level is due first: NextInput waits on
	// timers even when told not to wait, too slow for firmware that polls
	// IDR in a loop.
	if at, ok := b.NextInputAt(); !ok || at > now {
		s.inputsDone = !ok
		return
	}
	for {
		c, ok, done := b.NextInput(0)
		if done {
			s.inputsDone = true
		}
		if !ok {
			return
		}
		port, pin, valid := periph.PinNumbers(c.Pin)
		if !valid {
			continue
		}
		// A pin's first level is the one it had all along (the board
		// drives it from the start): only later changes are edges.
		g := s.gpios[port]
		was, old := g.driven&(1<<pin) != 0, g.inputLevel(pin)
		g.driven |= 1 << pin
		g.in = g.in&^(1<<pin) | uint16(c.Level&1)<<pin
		if nw := g.inputLevel(pin); was && nw != old {
			s.exti.edge(port, pin, nw == 1)
		}
	}
}
