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
	locked     bool // LCKR: the configuration is frozen
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
		g.regs[off/4] = merge(g.regs[off/4], v, mask)
	default:
		g.regs[off/4] = merge(g.regs[off/4], v, mask)
	}
}

// setODR stores odr and tells the board about the output pins touched: the
// board hears every level driven, changed or not (periph.PinDevice), the
// trace only the changes.
func (g *gpio) setODR(odr uint32, touched uint16) {
	old := g.regs[gpioODR/4]
	g.regs[gpioODR/4] = odr
	for pin := range 16 {
		if touched&(1<<pin) == 0 || g.mode(pin) != 1 {
			continue
		}
		level := int(odr >> pin & 1)
		name := periph.PinName(g.port, pin)
		r := g.s.o.Board.SetPin(name, level)
		if int(old>>pin&1) != level {
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
	g.pollInputs()
	odr := g.regs[gpioODR/4]
	pupd := g.regs[gpioPUPDR/4]
	var v uint32
	for pin := range 16 {
		var bit uint32
		switch g.mode(pin) {
		case 1:
			bit = odr >> pin & 1
		case 0, 2:
			switch {
			case g.driven&(1<<pin) != 0:
				bit = uint32(g.in>>pin) & 1
			case pupd>>(2*pin)&3 == 1:
				bit = 1
			}
		}
		v |= bit << pin
	}
	return v
}

// pollInputs takes the levels the board has put on input pins by now
// (periph.Board.NextInput, on the board's clock). All ports share the
// board's one stream, so a level for another port is handed to it.
func (g *gpio) pollInputs() {
	b := g.s.o.Board
	now := g.s.o.Now()
	if g.s.inputsAt == now || g.s.inputsDone || !b.DrivesInputs() {
		return
	}
	g.s.inputsAt = now
	for {
		c, ok, done := b.NextInput(0)
		if done {
			g.s.inputsDone = true
		}
		if !ok {
			return
		}
		port, pin, valid := periph.PinNumbers(c.Pin)
		if !valid {
			continue
		}
		p := g.s.gpios[port]
		p.driven |= 1 << pin
		p.in = p.in&^(1<<pin) | uint16(c.Level&1)<<pin
	}
}
