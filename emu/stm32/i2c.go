package stm32

import (
	"fmt"

	"github.com/mvnet/mvnet/periph"
)

// I2C registers and bits (RM0456, I2C register map).
const (
	i2cCR1     = 0x00
	i2cCR2     = 0x04
	i2cOAR1    = 0x08
	i2cOAR2    = 0x0C
	i2cTIMINGR = 0x10
	i2cTIMEOUT = 0x14
	i2cISR     = 0x18
	i2cICR     = 0x1C
	i2cPECR    = 0x20
	i2cRXDR    = 0x24
	i2cTXDR    = 0x28

	i2cPE     = 1 << 0
	i2cTXIE   = 1 << 1
	i2cRXIE   = 1 << 2
	i2cNACKIE = 1 << 4
	i2cSTOPIE = 1 << 5
	i2cTCIE   = 1 << 6
	i2cERRIE  = 1 << 7

	i2cRDWRN   = 1 << 10
	i2cADD10   = 1 << 11
	i2cSTART   = 1 << 13
	i2cSTOP    = 1 << 14
	i2cRELOAD  = 1 << 24
	i2cAUTOEND = 1 << 25

	i2cTXE   = 1 << 0
	i2cTXIS  = 1 << 1
	i2cRXNE  = 1 << 2
	i2cNACKF = 1 << 4
	i2cSTOPF = 1 << 5
	i2cTC    = 1 << 6
	i2cTCR   = 1 << 7
	i2cBERR  = 1 << 8
	i2cARLO  = 1 << 9
	i2cOVR   = 1 << 10
	i2cBUSY  = 1 << 15
	i2cDIR   = 1 << 16

	// ICR clears: ADDRCF NACKCF STOPCF BERRCF ARLOCF OVRCF PECCF TIMOUTCF ALERTCF.
	i2cICRMask = 1<<3 | i2cNACKF | i2cSTOPF | i2cBERR | i2cARLO | i2cOVR | 1<<11 | 1<<12 | 1<<13
)

// i2c is the controller (master) side of an I2C peripheral driven the way
// HAL_I2C_Master_Transmit/Receive, HAL_I2C_Mem_Read/Write and
// HAL_I2C_IsDeviceReady drive it: a START in CR2 addresses SADD on the
// board's bus, NBYTES bytes move through TXDR/RXDR (TXIS/RXNE), the end of
// the count raises TC, TCR (RELOAD) or sends STOP (AUTOEND, STOPF), and a
// NACK raises NACKF (then STOP with AUTOEND). Bytes move at once; the
// target (slave) mode is not modelled.
type i2c struct {
	s    *SoC
	spec i2cSpec
	bus  *periph.I2CBus

	cr1, cr2, oar1, oar2, timingr, timeout uint32
	isr                                    uint32 // flags other than TXE
	rxdr                                   byte
	conn                                   *periph.I2CConn
	left                                   int // bytes left in this NBYTES chunk
	rd                                     bool
}

func newI2C(s *SoC, spec i2cSpec) *i2c {
	return &i2c{s: s, spec: spec, bus: s.o.Board.I2C(spec.name)}
}

// release ends a transaction a reset interrupts.
func (c *i2c) release() { c.disable() }

func (c *i2c) read(off uint32, size int) uint32 {
	switch off {
	case i2cCR1:
		return c.cr1
	case i2cCR2:
		return c.cr2
	case i2cOAR1:
		return c.oar1
	case i2cOAR2:
		return c.oar2
	case i2cTIMINGR:
		return c.timingr
	case i2cTIMEOUT:
		return c.timeout
	case i2cISR:
		return c.isr | i2cTXE
	case i2cRXDR:
		v := c.rxdr
		if c.isr&i2cRXNE != 0 {
			c.isr &^= i2cRXNE
			c.left--
			c.next()
			c.irq()
		}
		return uint32(v)
	}
	return 0
}

func (c *i2c) write(off uint32, size int, v, mask uint32) {
	defer c.irq()
	switch off {
	case i2cCR1:
		c.cr1 = merge(c.cr1, v, mask)
		if c.cr1&i2cPE == 0 {
			c.disable()
		}
	case i2cCR2:
		c.writeCR2(merge(c.cr2, v, mask))
	case i2cOAR1:
		c.oar1 = merge(c.oar1, v, mask)
	case i2cOAR2:
		c.oar2 = merge(c.oar2, v, mask)
	case i2cTIMINGR:
		c.timingr = merge(c.timingr, v, mask)
	case i2cTIMEOUT:
		c.timeout = merge(c.timeout, v, mask)
	case i2cISR:
		// Software may set TXE to flush TXDR (I2C_Flush_TXDR): nothing is
		// ever held there.
	case i2cICR:
		c.isr &^= v & mask & i2cICRMask
	case i2cTXDR:
		c.transmit(byte(v & mask))
	}
}

// disable is PE cleared: the peripheral resets its state machine and flags
// (RM0456 I2C software reset).
func (c *i2c) disable() {
	if c.conn != nil {
		c.conn.Stop()
		c.conn = nil
	}
	c.isr, c.left = 0, 0
	c.cr2 &^= i2cSTART | i2cSTOP
}

func (c *i2c) nbytes() int { return int(c.cr2 >> 16 & 0xFF) }

func (c *i2c) writeCR2(v uint32) {
	c.cr2 = v &^ (i2cSTART | i2cSTOP) // both clear themselves once acted on
	if c.cr1&i2cPE == 0 {
		return
	}
	switch {
	case v&i2cSTART != 0:
		c.start(v&i2cRDWRN != 0)
	case v&i2cSTOP != 0:
		c.stop()
	case c.isr&i2cTCR != 0 && v>>16&0xFF != 0:
		// RELOAD continuation: a non-zero NBYTES written while TCR is set
		// clears it and moves the next chunk (HAL's I2C_TransferConfig
		// with I2C_NO_STARTSTOP).
		c.isr &^= i2cTCR
		c.left = c.nbytes()
		c.next()
	}
}

// start is a START (or a repeated START when a transaction is open) to
// SADD in direction read.
func (c *i2c) start(read bool) {
	c.isr &^= i2cTC | i2cTCR | i2cTXIS | i2cRXNE | i2cNACKF
	if c.cr2&i2cADD10 != 0 {
		c.s.traceOnce("add10 "+c.spec.name, fmt.Sprintf("stm32: %s 10-bit addressing is not modelled: addressed as NACK", c.spec.name))
		c.nack()
		return
	}
	addr := uint16(c.cr2>>1) & 0x7F
	ok := false
	if c.conn != nil {
		ok = c.conn.Restart(read)
	} else {
		c.conn, ok = c.bus.Begin(addr, read)
	}
	c.isr |= i2cBUSY
	if read {
		c.isr |= i2cDIR
	} else {
		c.isr &^= i2cDIR
	}
	if !ok {
		c.nack()
		return
	}
	c.rd, c.left = read, c.nbytes()
	c.next()
}

// next moves the transfer on: the next byte to receive into RXDR, TXIS for
// the next byte to send, or the end of the chunk.
func (c *i2c) next() {
	if c.conn == nil {
		return
	}
	if c.left > 0 {
		if c.rd {
			c.rxdr = c.conn.Read()
			c.isr |= i2cRXNE
		} else {
			c.isr |= i2cTXIS
		}
		return
	}
	switch {
	case c.cr2&i2cRELOAD != 0:
		c.isr |= i2cTCR
	case c.cr2&i2cAUTOEND != 0:
		c.stop()
	default:
		c.isr |= i2cTC
	}
}

func (c *i2c) transmit(b byte) {
	if c.conn == nil || c.rd || c.isr&i2cTXIS == 0 {
		c.s.traceOnce("txdr "+c.spec.name, fmt.Sprintf("stm32: %s TXDR written with no byte requested (TXIS clear): dropped", c.spec.name))
		return
	}
	c.isr &^= i2cTXIS
	if !c.conn.Write(b) {
		c.nack()
		return
	}
	c.left--
	c.next()
}

// nack is a NACK from the target: NACKF, then STOP when AUTOEND is set
// (else the HAL sends it through CR2 STOP).
func (c *i2c) nack() {
	c.isr |= i2cNACKF
	c.isr &^= i2cTXIS
	if c.cr2&i2cAUTOEND != 0 {
		c.stop()
	}
}

// stop is STOP on the bus: STOPF, the bus free.
func (c *i2c) stop() {
	if c.conn != nil {
		c.conn.Stop()
		c.conn = nil
	}
	c.isr &^= i2cBUSY | i2cTXIS | i2cTC | i2cTCR
	c.isr |= i2cSTOPF
	c.left = 0
}

// irq pends the event interrupt while an enabled event is set, and the
// error interrupt for the error flags (never raised: no bus errors,
// arbitration losses or overruns happen here).
func (c *i2c) irq() {
	e, cr := c.isr, c.cr1
	if e&i2cTXIS != 0 && cr&i2cTXIE != 0 || e&i2cRXNE != 0 && cr&i2cRXIE != 0 ||
		e&i2cNACKF != 0 && cr&i2cNACKIE != 0 || e&i2cSTOPF != 0 && cr&i2cSTOPIE != 0 ||
		e&(i2cTC|i2cTCR) != 0 && cr&i2cTCIE != 0 {
		c.s.pend(c.spec.ev)
	}
	if e&(i2cBERR|i2cARLO|i2cOVR) != 0 && cr&i2cERRIE != 0 {
		c.s.pend(c.spec.er)
	}
}
