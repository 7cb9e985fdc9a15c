package stm32

import (
	"fmt"

	"github.com/mvnet/mvnet/periph"
)

// SPI registers and bits: the STM32U5's SPI ("v2": CSTART, TSIZE, EOT,
// TXP/RXP; RM0456, SPI register map).
const (
	spiCR1  = 0x00
	spiCR2  = 0x04
	spiCFG1 = 0x08
	spiCFG2 = 0x0C
	spiIER  = 0x10
	spiSR   = 0x14
	spiIFCR = 0x18
	spiTXDR = 0x20
	spiRXDR = 0x30

	spiSPE    = 1 << 0
	spiCSTART = 1 << 9
	spiHDDIR  = 1 << 11

	spiCOMMShift = 17 // CFG2 COMM: 00 full duplex, 01 transmit only, 10 receive only, 11 half duplex
	spiMASTER    = 1 << 22
	spiLSBFRST   = 1 << 23
	spiSSM       = 1 << 26
	spiSSOE      = 1 << 29

	spiRXP   = 1 << 0
	spiTXP   = 1 << 1
	spiDXP   = 1 << 2
	spiEOT   = 1 << 3
	spiTXTF  = 1 << 4
	spiTXC   = 1 << 12
	spiRXWNE = 1 << 15
	// IFCR clears EOTC TXTFC UDRC OVRC CRCEC TIFREC MODFC SUSPC.
	spiIFCRMask = 0xFF8 | 1<<11
)

// spi is the controller (master) side of an SPI peripheral driven the way
// HAL_SPI_Transmit/Receive/TransmitReceive drive it: TSIZE frames after
// CSTART, each frame written to TXDR clocked at once through the board's
// bus (periph.SPIBus) with what comes back queued for RXDR, EOT and TXTF
// once TSIZE frames have gone. The hardware NSS output (SSOE without SSM)
// selects the board's "NSS" device from CSTART to EOT; GPIO chip selects
// work through the GPIO model. Receive-only mode clocks out 0xFF. Frames
// wider than 8 bits go as bytes, most significant first unless LSBFRST.
type spi struct {
	s    *SoC
	spec spiSpec
	bus  *periph.SPIBus

	cr1, cfg1, cfg2, ier, tsize uint32
	other                       map[uint32]uint32 // CRC, UDRDR, AUTOCR: stored
	flags                       uint32            // EOT, TXTF
	txq, rxq                    []byte
	left                        int  // frames left in the transfer
	running                     bool // CSTART given, EOT not reached
	nss                         bool // hardware NSS active
}

func newSPI(s *SoC, spec spiSpec) *spi {
	return &spi{s: s, spec: spec, bus: s.o.Board.SPI(spec.name), other: map[uint32]uint32{}}
}

// release lets the hardware NSS go on a reset.
func (p *spi) release() { p.stopTransfer() }

func (p *spi) frameBytes() int { return int(p.cfg1&0x1F)/8 + 1 }

// comm is CFG2 COMM: 0 full duplex, 1 transmit only, 2 receive only; half
// duplex (3) is one of the simplex ones by CR1 HDDIR.
func (p *spi) comm() uint32 {
	c := p.cfg2 >> spiCOMMShift & 3
	if c == 3 {
		if p.cr1&spiHDDIR != 0 {
			return 1
		}
		return 2
	}
	return c
}

func (p *spi) read(off uint32, size int) uint32 {
	switch off {
	case spiCR1:
		return p.cr1
	case spiCR2:
		return p.tsize
	case spiCFG1:
		return p.cfg1
	case spiCFG2:
		return p.cfg2
	case spiIER:
		return p.ier
	case spiSR:
		return p.sr()
	case spiRXDR:
		var v uint32
		for i := 0; i < size && len(p.rxq) > 0; i++ {
			v |= uint32(p.rxq[0]) << (8 * i)
			p.rxq = p.rxq[1:]
		}
		p.pump()
		p.irq()
		return v
	case spiIFCR, spiTXDR:
		return 0
	}
	return p.other[off]
}

func (p *spi) sr() uint32 {
	v := p.flags
	fb := p.frameBytes()
	if len(p.rxq) >= fb*int(p.cfg1>>5&0xF+1) { // a packet: FTHLV+1 frames
		v |= spiRXP
	}
	if p.cr1&spiSPE != 0 && len(p.txq) < p.spec.fifo && len(p.rxq) < p.spec.fifo && (p.running || p.left > 0 || p.tsize == 0) {
		v |= spiTXP
	}
	if v&(spiRXP|spiTXP) == spiRXP|spiTXP {
		v |= spiDXP
	}
	if len(p.txq) == 0 {
		v |= spiTXC
	}
	v |= uint32(min(len(p.rxq)/fb, 3)) << 13 // RXPLVL
	if len(p.rxq) >= 4 {
		v |= spiRXWNE
	}
	return v | uint32(p.left&0xFFFF)<<16 // CTSIZE
}

func (p *spi) write(off uint32, size int, v, mask uint32) {
	defer p.irq()
	switch off {
	case spiCR1:
		was := p.cr1
		p.cr1 = merge(p.cr1, v, mask)
		switch {
		case p.cr1&spiSPE == 0:
			p.stopTransfer()
			p.txq, p.rxq = nil, nil
			p.cr1 &^= spiCSTART
		case p.cr1&spiCSTART != 0 && was&spiCSTART == 0:
			p.begin()
		}
	case spiCR2:
		p.tsize = merge(p.tsize, v, mask) & 0xFFFF
		p.left = int(p.tsize)
	case spiCFG1:
		p.cfg1 = merge(p.cfg1, v, mask)
	case spiCFG2:
		p.cfg2 = merge(p.cfg2, v, mask)
	case spiIER:
		p.ier = merge(p.ier, v, mask)
	case spiIFCR:
		p.flags &^= v & mask & spiIFCRMask
	case spiTXDR:
		if p.cr1&spiSPE == 0 {
			p.s.traceOnce("txdr "+p.spec.name, fmt.Sprintf("stm32: %s TXDR written with SPE off: dropped", p.spec.name))
			return
		}
		for i := 0; i < size; i++ {
			p.txq = append(p.txq, byte(v>>(8*(i+int(bitsOff(mask))))))
		}
		p.pump()
	case spiSR:
	default:
		p.other[off] = merge(p.other[off], v, mask)
	}
}

// bitsOff is the byte lane the first written byte sits in.
func bitsOff(mask uint32) uint32 {
	n := uint32(0)
	for mask&0xFF == 0 && n < 3 {
		mask >>= 8
		n++
	}
	return n
}

// begin is CSTART: the transfer of TSIZE frames (0: until SPE is cleared).
func (p *spi) begin() {
	if p.cfg2&spiMASTER == 0 {
		p.s.traceOnce("slave "+p.spec.name, fmt.Sprintf("stm32: %s started in slave mode, which is not modelled", p.spec.name))
		return
	}
	p.running, p.left = true, int(p.tsize)
	p.flags &^= spiEOT | spiTXTF
	if p.cfg2&spiSSOE != 0 && p.cfg2&spiSSM == 0 {
		p.nss = true
		p.bus.SetNSS(true)
	}
	p.pump()
}

// pump clocks the queued frames (or, receive only, 0xFF frames while the
// receive FIFO has room) until the transfer's TSIZE is reached.
func (p *spi) pump() {
	fb := p.frameBytes()
	for p.running && (p.tsize == 0 || p.left > 0) {
		var tx []byte
		switch {
		case p.comm() == 2:
			if len(p.rxq)+fb > p.spec.fifo {
				return
			}
			tx = make([]byte, fb)
			for i := range tx {
				tx[i] = 0xFF
			}
		case len(p.txq) >= fb:
			tx, p.txq = p.txq[:fb:fb], p.txq[fb:]
		default:
			return
		}
		rx := p.exchange(tx)
		if p.comm() != 1 {
			p.rxq = append(p.rxq, rx...)
		}
		if p.tsize != 0 {
			p.left--
			if p.left == 0 {
				p.flags |= spiEOT | spiTXTF
				p.stopTransfer()
			}
		}
	}
}

// exchange clocks one frame, held in the FIFO least significant byte first.
func (p *spi) exchange(frame []byte) []byte {
	out := make([]byte, len(frame))
	order := make([]int, len(frame))
	for i := range order {
		order[i] = len(frame) - 1 - i
		if p.cfg2&spiLSBFRST != 0 {
			order[i] = i
		}
	}
	for _, i := range order {
		var in [1]byte
		p.bus.Transfer(false, frame[i:i+1], in[:])
		out[i] = in[0]
	}
	return out
}

// stopTransfer ends the transfer: CSTART clears, NSS goes inactive.
func (p *spi) stopTransfer() {
	p.running = false
	p.cr1 &^= spiCSTART
	if p.nss {
		p.nss = false
		p.bus.SetNSS(false)
	}
}

// irq pends the SPI interrupt while an enabled event (IER bits 0–9 match
// SR bits 0–9) is set.
func (p *spi) irq() {
	if p.sr()&p.ier&0x3FF != 0 {
		p.s.pend(p.spec.irq)
	}
}
