package stm32

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mvnet/mvnet/periph"
)

// spiDev is an SPI target that logs selections and answers each byte with
// its complement.
type spiDev struct {
	log []string
	got []byte
}

func (d *spiDev) Select()   { d.log = append(d.log, "select") }
func (d *spiDev) Deselect() { d.log = append(d.log, "deselect") }
func (d *spiDev) Exchange(b byte) byte {
	d.got = append(d.got, b)
	return ^b
}

// spiHAL drives one SPI instance the way stm32u5xx_hal_spi.c does (8-bit
// frames, FIFO threshold 1 frame).
type spiHAL struct {
	r    *rig
	base uint32
}

// init is HAL_SPI_Init for a master with the hardware NSS output (or
// software NSS), 8-bit data.
func (h spiHAL) init(hardNSS bool) {
	r, b := h.r, h.base
	r.clear(b+spiCR1, spiSPE)
	cfg2 := uint32(spiMASTER)
	if hardNSS {
		cfg2 |= spiSSOE
	} else {
		cfg2 |= spiSSM
	}
	r.w32(b+spiCFG1, 7|3<<28) // DSIZE 8 bits, MBR /16
	r.w32(b+spiCFG2, cfg2)
}

// comm is SPI_2LINES / SPI_2LINES_TX / SPI_2LINES_RX: CFG2 COMM.
func (h spiHAL) comm(c uint32) { h.r.modify(h.base+spiCFG2, 3<<spiCOMMShift, c<<spiCOMMShift) }

func (h spiHAL) start(n int) {
	h.r.modify(h.base+spiCR2, 0xFFFF, uint32(n))
	h.r.set(h.base+spiCR1, spiSPE)
	h.r.set(h.base+spiCR1, spiCSTART)
}

// close is SPI_CloseTransfer after waiting EOT.
func (h spiHAL) close() {
	r, b := h.r, h.base
	r.flagSet(b+spiSR, spiEOT, "EOT")
	r.set(b+spiIFCR, spiEOT|spiTXTF)
	r.clear(b+spiCR1, spiSPE)
	r.clear(b+spiIER, 0x3FF)
}

func (h spiHAL) transmitReceive(tx []byte) []byte {
	r, b := h.r, h.base
	h.comm(0)
	h.start(len(tx))
	var rx []byte
	sent := 0
	for sent < len(tx) || len(rx) < len(tx) {
		sr := r.r32(b + spiSR)
		if sr&spiTXP != 0 && sent < len(tx) {
			r.store(b+spiTXDR, 1, uint32(tx[sent]))
			sent++
		}
		if sr&spiRXP != 0 && len(rx) < len(tx) {
			rx = append(rx, byte(r.load(b+spiRXDR, 1)))
		}
	}
	h.close()
	return rx
}

func (h spiHAL) receive(n int) []byte {
	h.comm(2)
	h.start(n)
	var rx []byte
	for len(rx) < n {
		if h.r.r32(h.base+spiSR)&spiRXP != 0 {
			rx = append(rx, byte(h.r.load(h.base+spiRXDR, 1)))
		}
	}
	h.close()
	return rx
}

// HAL_SPI_TransmitReceive with the hardware NSS output: one selection for
// the whole transfer, every byte clocked through the board's device.
func TestSPITransmitReceiveHardNSS(t *testing.T) {
	r := newRig(t, nil)
	dev := &spiDev{}
	if err := r.board.SPI("SPI1").Attach("NSS", "dev", dev); err != nil {
		t.Fatal(err)
	}
	h := spiHAL{r, spiTable[0].base}
	r.enableClock(spiTable[0].clock)
	h.init(true)
	rx := h.transmitReceive([]byte{0x9F, 0x00, 0x55})
	if !bytes.Equal(rx, []byte{0x60, 0xFF, 0xAA}) || !bytes.Equal(dev.got, []byte{0x9F, 0x00, 0x55}) {
		t.Fatalf("sent % x received % x; want received 60 ff aa", dev.got, rx)
	}
	if fmt.Sprint(dev.log) != "[select deselect]" {
		t.Fatalf("NSS: %v, want one selection for the transfer", dev.log)
	}
	dev.got, dev.log = nil, nil
	rx = h.receive(2) // receive only: the master clocks 0xFF out
	if !bytes.Equal(rx, []byte{0, 0}) || !bytes.Equal(dev.got, []byte{0xFF, 0xFF}) || fmt.Sprint(dev.log) != "[select deselect]" {
		t.Fatalf("receive: rx % x, device got % x, NSS %v", rx, dev.got, dev.log)
	}
}

// A LIS3DH the board places behind a GPIO chip select (PA4) is selected
// through the GPIO model and answers WHO_AM_I over the SPI model.
func TestSPIGPIOChipSelect(t *testing.T) {
	clk := &clock{}
	board := periph.NewBoard(clk.Now)
	if err := board.Place(periph.Placement{Bus: "SPI2", CS: "PA4", Model: "lis3dh"}); err != nil {
		t.Fatal(err)
	}
	r := newRigAt(t, clk, board)
	h := spiHAL{r, spiTable[1].base}
	h.init(false)
	a := uint32(gpioBase)
	r.modify(a+gpioMODER, 3<<8, 1<<8) // PA4 output
	r.w32(a+gpioBSRR, 1<<4)           // deselected
	r.w32(a+gpioBSRR, 1<<(16+4))      // HAL_GPIO_WritePin(GPIOA, GPIO_PIN_4, RESET): select
	rx := h.transmitReceive([]byte{0x80 | 0x0F, 0})
	r.w32(a+gpioBSRR, 1<<4)
	if rx[1] != 0x33 {
		t.Fatalf("LIS3DH WHO_AM_I read % x, want 0x33 in the second byte", rx)
	}
}

// 32-bit and 16-bit TXDR writes pack four and two 8-bit frames (the HAL
// does so with a FIFO threshold above 3 and 1 frames).
func TestSPIPacking(t *testing.T) {
	r := newRig(t, nil)
	dev := &spiDev{}
	if err := r.board.SPI("SPI3").Attach("NSS", "dev", dev); err != nil {
		t.Fatal(err)
	}
	h := spiHAL{r, spiTable[2].base}
	h.init(true)
	h.comm(1) // transmit only
	h.start(6)
	r.store(h.base+spiTXDR, 4, 0x04030201)
	r.store(h.base+spiTXDR, 2, 0x0605)
	if r.r32(h.base+spiSR)&spiRXP != 0 {
		t.Fatal("transmit-only left data to receive")
	}
	h.close()
	if !bytes.Equal(dev.got, []byte{1, 2, 3, 4, 5, 6}) || fmt.Sprint(dev.log) != "[select deselect]" {
		t.Fatalf("device got % x with NSS %v, want 01 02 03 04 05 06 in one selection", dev.got, dev.log)
	}
}

// With EOTIE the SPI2 interrupt (60) pends at the end of the transfer.
func TestSPIInterrupt(t *testing.T) {
	r := newRig(t, nil)
	h := spiHAL{r, spiTable[1].base}
	h.init(false)
	h.comm(0)
	h.start(1)
	r.set(h.base+spiIER, 1<<3) // EOTIE
	if r.irqCount(60) != 0 {
		t.Fatal("pended before the end of the transfer")
	}
	r.store(h.base+spiTXDR, 1, 0xAB)
	if r.irqCount(60) == 0 {
		t.Fatalf("EOT with EOTIE did not pend SPI2_IRQn 60 (irqs %v)", r.irqs)
	}
	if v := r.load(h.base+spiRXDR, 1); v != 0xFF {
		t.Fatalf("nothing selected: read %#x, want 0xff (idle MISO)", v)
	}
}

// Half duplex (COMM 11) receives with HDDIR clear, as SPI_1LINE_RX sets it
// up, and transmits with HDDIR set (SPI_1LINE_TX).
func TestSPIHalfDuplex(t *testing.T) {
	r := newRig(t, nil)
	dev := &spiDev{}
	if err := r.board.SPI("SPI1").Attach("NSS", "dev", dev); err != nil {
		t.Fatal(err)
	}
	h := spiHAL{r, spiTable[0].base}
	h.init(true)
	h.comm(3)
	r.clear(h.base+spiCR1, spiHDDIR)
	h.start(1)
	r.flagSet(h.base+spiSR, spiRXP, "RXP")
	if v := r.load(h.base+spiRXDR, 1); v != 0 || !bytes.Equal(dev.got, []byte{0xFF}) {
		t.Fatalf("half-duplex receive read %#x, device got % x; want 0 and ff", v, dev.got)
	}
	h.close()
	r.set(h.base+spiCR1, spiHDDIR)
	h.start(1)
	r.store(h.base+spiTXDR, 1, 0x42)
	if r.r32(h.base+spiSR)&spiRXP != 0 || !bytes.Equal(dev.got, []byte{0xFF, 0x42}) {
		t.Fatalf("half-duplex transmit: device got % x, RXP %v", dev.got, r.r32(h.base+spiSR)&spiRXP != 0)
	}
	h.close()
}
