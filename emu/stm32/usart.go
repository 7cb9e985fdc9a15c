package stm32

import (
	"fmt"

	"github.com/mvnet/mvnet/periph"
)

// U(S)ART registers and bits (RM0456, USART register map; the LPUART has
// the same layout).
const (
	usartCR1   = 0x00
	usartCR2   = 0x04
	usartCR3   = 0x08
	usartBRR   = 0x0C
	usartRQR   = 0x18
	usartISR   = 0x1C
	usartICR   = 0x20
	usartRDR   = 0x24
	usartTDR   = 0x28
	usartPRESC = 0x2C

	cr1UE     = 1 << 0
	cr1RE     = 1 << 2
	cr1TE     = 1 << 3
	cr1IDLEIE = 1 << 4
	cr1RXNEIE = 1 << 5 // RXFNEIE with the FIFO on
	cr1TCIE   = 1 << 6
	cr1TXEIE  = 1 << 7 // TXFNFIE with the FIFO on
	cr1OVER8  = 1 << 15
	cr1FIFOEN = 1 << 29
	cr3EIE    = 1 << 0

	isrORE   = 1 << 3
	isrIDLE  = 1 << 4
	isrRXNE  = 1 << 5
	isrTC    = 1 << 6
	isrTXE   = 1 << 7
	isrTEACK = 1 << 21
	isrREACK = 1 << 22
	isrTXFE  = 1 << 23

	rqrRXFRQ = 1 << 3
)

// usartPresc is the kernel clock divider PRESC selects (RM0456 USART_PRESC).
var usartPresc = [16]uint64{1, 2, 4, 6, 8, 10, 12, 16, 32, 64, 128, 256, 256, 256, 256, 256}

// usart transmits at once: every byte written to TDR goes to Options.Out
// and to the board's UART peer, and TXE/TC read set again immediately.
// Received bytes come from the board's UART port (text timelines and
// peers), one in RDR at a time; with RXNEIE on, the arrival of timeline
// text is scheduled on the virtual clock so it raises the IRQ then. IDLE
// is set when RDR is read and nothing more has arrived.
type usart struct {
	s    *SoC
	spec usartSpec
	port *periph.UARTPort

	cr1, cr2, cr3, brr, presc uint32
	other                     map[uint32]uint32 // GTPR, RTOR, AUTOCR: stored
	flags                     uint32            // TC, ORE, IDLE
	rdr                       byte
	rxne                      bool
	polling                   bool // a receive poll is scheduled
}

func newUSART(s *SoC, spec usartSpec) *usart {
	return &usart{s: s, spec: spec, port: s.o.Board.UART(spec.name), flags: isrTC, other: map[uint32]uint32{}}
}

// release disables the U(S)ART so a receive look still scheduled takes
// nothing once a reset has replaced the model.
func (u *usart) release() { u.cr1 = 0 }

func (u *usart) read(off uint32, size int) uint32 {
	defer u.irq()
	switch off {
	case usartCR1:
		return u.cr1
	case usartCR2:
		return u.cr2
	case usartCR3:
		return u.cr3
	case usartBRR:
		return u.brr
	case usartPRESC:
		return u.presc
	case usartISR:
		u.receive()
		return u.isr()
	case usartRDR:
		u.receive()
		v := uint32(u.rdr)
		if u.rxne {
			u.rxne = false
			u.receive()
			if !u.rxne {
				// Nothing follows the byte just taken: the line goes
				// idle (RM0456 USART IDLE: a frame time of idle after a
				// reception), which ends HAL_UARTEx_ReceiveToIdle.
				u.flags |= isrIDLE
			}
			u.schedule()
		}
		return v
	case usartRQR, usartICR, usartTDR:
		return 0
	}
	return u.other[off]
}

func (u *usart) isr() uint32 {
	v := u.flags | isrTXE
	if u.rxne {
		v |= isrRXNE
	}
	if u.cr1&cr1UE != 0 {
		if u.cr1&cr1TE != 0 {
			v |= isrTEACK
		}
		if u.cr1&cr1RE != 0 {
			v |= isrREACK
		}
	}
	if u.cr1&cr1FIFOEN != 0 {
		v |= isrTXFE
	}
	return v
}

func (u *usart) write(off uint32, size int, v, mask uint32) {
	defer u.irq()
	switch off {
	case usartCR1:
		was := u.cr1
		u.cr1 = merge(u.cr1, v, mask)
		if u.cr1&cr1UE != 0 && was&cr1UE == 0 {
			u.s.traceOnce(fmt.Sprintf("baud %s %d", u.spec.name, u.brr), fmt.Sprintf("stm32: %s enabled at %s", u.spec.name, u.baudText()))
		}
		u.schedule()
	case usartCR2:
		u.cr2 = merge(u.cr2, v, mask)
	case usartCR3:
		u.cr3 = merge(u.cr3, v, mask)
	case usartBRR:
		u.brr = merge(u.brr, v, mask) & 0xFFFFF
	case usartPRESC:
		u.presc = merge(u.presc, v, mask) & 0xF
	case usartRQR:
		if v&mask&rqrRXFRQ != 0 {
			u.rxne = false
		}
	case usartICR:
		// PECF FECF NECF ORECF IDLECF … TCCF: write 1 to clear.
		u.flags &^= v & mask & (isrORE | isrIDLE | isrTC)
	case usartTDR:
		u.transmit(byte(v & mask))
	case usartISR, usartRDR:
	default:
		u.other[off] = merge(u.other[off], v, mask)
	}
}

func (u *usart) transmit(b byte) {
	if u.cr1&(cr1UE|cr1TE) != cr1UE|cr1TE {
		u.s.traceOnce("tdr "+u.spec.name, fmt.Sprintf("stm32: %s TDR written with UE or TE off: byte dropped", u.spec.name))
		return
	}
	if u.s.o.Out != nil {
		u.s.o.Out(u.spec.name, []byte{b})
	}
	if u.port != nil {
		u.port.Transmit([]byte{b})
		u.receive() // a peer may have answered at once
	}
	u.flags |= isrTC
}

// receive moves the next received byte into RDR when it is free; one
// arriving while RDR is full waits (the model does not overrun).
func (u *usart) receive() {
	if u.rxne || u.port == nil || u.cr1&(cr1UE|cr1RE) != cr1UE|cr1RE {
		return
	}
	var b [1]byte
	if u.port.Poll(b[:]) == 1 {
		u.rdr, u.rxne = b[0], true
	}
}

// irq pends the U(S)ART's interrupt while an enabled event is set.
func (u *usart) irq() {
	isr := u.isr()
	c := u.cr1
	if isr&isrTXE != 0 && c&cr1TXEIE != 0 || isr&isrTC != 0 && c&cr1TCIE != 0 ||
		isr&isrRXNE != 0 && c&cr1RXNEIE != 0 || isr&isrIDLE != 0 && c&cr1IDLEIE != 0 ||
		isr&isrORE != 0 && (c&cr1RXNEIE != 0 || u.cr3&cr3EIE != 0) {
		u.s.pend(u.spec.irq)
	}
}

// schedule arranges for the receive side to be looked at when the board's
// next timeline text arrives, while RXNEIE waits for a byte and RDR is
// free. Nothing is scheduled otherwise: an idle UART never keeps the
// virtual clock from sleeping. (Bytes a peer model sends in answer to a
// transmitted one are taken right after the transmit.)
func (u *usart) schedule() {
	if u.polling || u.rxne || u.port == nil || u.s.o.At == nil || u.cr1&(cr1UE|cr1RE|cr1RXNEIE) != cr1UE|cr1RE|cr1RXNEIE {
		return
	}
	at, ok := u.port.NextText()
	if !ok {
		return
	}
	u.polling = true
	u.s.o.At(max(at, u.s.o.Now()), func() {
		u.polling = false
		u.receive()
		u.irq()
		u.schedule()
	})
}

// baud is the line rate BRR and PRESC give (RM0456: USART fck/USARTDIV
// with oversampling by 16, 2·fck/USARTDIV by 8; LPUART 256·fck/LPUARTDIV);
// 0 when BRR is unset.
func (u *usart) baud() uint64 {
	fck := u.s.o.PClk / usartPresc[u.presc&0xF]
	div := uint64(u.brr)
	switch {
	case div == 0:
		return 0
	case u.spec.lp:
		return 256 * fck / div
	case u.cr1&cr1OVER8 != 0:
		div = div&^0xF | (div&7)<<1
		return 2 * fck / div
	}
	return fck / div
}

func (u *usart) baudText() string {
	if b := u.baud(); b != 0 {
		return fmt.Sprintf("%d baud (BRR %#x)", b, u.brr)
	}
	return "no baud rate (BRR 0)"
}
