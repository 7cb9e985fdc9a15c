package stm32

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/mvnet/mvnet/periph"
)

// The HAL's I2C_TransferConfig modes and requests (stm32u5xx_hal_i2c.h).
const (
	halSoftEnd    = 0
	halReload     = i2cRELOAD
	halAutoEnd    = i2cAUTOEND
	halStartWrite = 1<<31 | i2cSTART
	halStartRead  = 1<<31 | i2cSTART | i2cRDWRN
	halNoStartStp = 0
)

var errNACK = errors.New("NACK")

// hal drives one I2C instance through its registers the way
// stm32u5xx_hal_i2c.c does.
type hal struct {
	r    *rig
	base uint32
}

func (h hal) init() {
	r, b := h.r, h.base
	r.clear(b+i2cCR1, i2cPE)
	r.w32(b+i2cTIMINGR, 0x30909DEC&0xF0FFFFFF)
	r.clear(b+i2cOAR1, 1<<15)
	r.w32(b+i2cOAR1, 1<<15)
	r.set(b+i2cCR2, i2cAUTOEND|1<<15)
	r.clear(b+i2cOAR2, 1<<15)
	r.w32(b+i2cCR1, 0)
	r.set(b+i2cCR1, i2cPE)
}

func (h hal) transferConfig(dev uint16, n int, mode, request uint32) {
	tmp := (uint32(dev)&0x3FF | uint32(n)<<16&0xFF0000 | mode | request) &^ 0x80000000
	clr := uint32(0x3FF | 0xFF0000 | i2cRELOAD | i2cAUTOEND | i2cSTART | i2cSTOP)
	clr |= i2cRDWRN & (request >> (31 - 10))
	h.r.modify(h.base+i2cCR2, clr, tmp)
}

// waitFlag is I2C_WaitOnFlagUntilTimeout with I2C_IsErrorOccurred: a NACK
// sends STOP unless AUTOEND did, waits STOPF, clears both and fails.
func (h hal) waitFlag(flag uint32, what string) error {
	r, b := h.r, h.base
	for range 1000 {
		isr := r.r32(b + i2cISR)
		if isr&i2cNACKF != 0 {
			if r.r32(b+i2cCR2)&i2cAUTOEND == 0 {
				r.set(b+i2cCR2, i2cSTOP)
			}
			r.flagSet(b+i2cISR, i2cSTOPF, "STOPF after NACK")
			r.w32(b+i2cICR, i2cNACKF)
			r.w32(b+i2cICR, i2cSTOPF)
			if r.r32(b+i2cISR)&i2cTXIS != 0 {
				r.w32(b+i2cTXDR, 0)
			}
			if r.r32(b+i2cISR)&i2cTXE == 0 {
				r.set(b+i2cISR, i2cTXE)
			}
			h.resetCR2()
			return errNACK
		}
		if isr&flag != 0 {
			return nil
		}
	}
	return fmt.Errorf("timeout waiting for %s", what)
}

func (h hal) resetCR2() {
	h.r.clear(h.base+i2cCR2, 0x3FF|1<<12|0xFF0000|i2cRELOAD|i2cRDWRN)
}

func (h hal) notBusy() {
	h.r.wait(h.base+i2cISR, "BUSY clear", func(v uint32) bool { return v&i2cBUSY == 0 })
}

func (h hal) endWithStop() error {
	if err := h.waitFlag(i2cSTOPF, "STOPF"); err != nil {
		return err
	}
	h.r.w32(h.base+i2cICR, i2cSTOPF)
	h.resetCR2()
	return nil
}

// memRead is HAL_I2C_Mem_Read with an 8-bit memory address.
func (h hal) memRead(dev uint16, mem byte, n int) ([]byte, error) {
	h.notBusy()
	h.transferConfig(dev, 1, halSoftEnd, halStartWrite)
	if err := h.waitFlag(i2cTXIS, "TXIS"); err != nil {
		return nil, err
	}
	h.r.w32(h.base+i2cTXDR, uint32(mem))
	if err := h.waitFlag(i2cTC, "TC"); err != nil {
		return nil, err
	}
	return h.receive(dev, n)
}

// receive is the read phase of HAL_I2C_Mem_Read and HAL_I2C_Master_Receive.
func (h hal) receive(dev uint16, n int) ([]byte, error) {
	chunk := func(left int) (int, uint32) {
		if left > 255 {
			return 255, halReload
		}
		return left, halAutoEnd
	}
	size, mode := chunk(n)
	h.transferConfig(dev, size, mode, halStartRead)
	var out []byte
	for len(out) < n {
		if err := h.waitFlag(i2cRXNE, "RXNE"); err != nil {
			return out, err
		}
		out = append(out, byte(h.r.r32(h.base+i2cRXDR)))
		size--
		if left := n - len(out); left != 0 && size == 0 {
			if err := h.waitFlag(i2cTCR, "TCR"); err != nil {
				return out, err
			}
			size, mode = chunk(left)
			h.transferConfig(dev, size, mode, halNoStartStp)
		}
	}
	return out, h.endWithStop()
}

// transmit is HAL_I2C_Master_Transmit (with prefix, HAL_I2C_Mem_Write's
// memory address sent first under RELOAD, then the data without a START).
func (h hal) transmit(dev uint16, prefix, data []byte) error {
	h.notBusy()
	chunk := func(left int) (int, uint32) {
		if left > 255 {
			return 255, halReload
		}
		return left, halAutoEnd
	}
	if prefix != nil {
		h.transferConfig(dev, len(prefix), halReload, halStartWrite)
		for _, b := range prefix {
			if err := h.waitFlag(i2cTXIS, "TXIS"); err != nil {
				return err
			}
			h.r.w32(h.base+i2cTXDR, uint32(b))
		}
		if err := h.waitFlag(i2cTCR, "TCR"); err != nil {
			return err
		}
		size, mode := chunk(len(data))
		h.transferConfig(dev, size, mode, halNoStartStp)
	} else {
		size, mode := chunk(len(data))
		h.transferConfig(dev, size, mode, halStartWrite)
	}
	size, _ := chunk(len(data))
	for i, b := range data {
		if err := h.waitFlag(i2cTXIS, "TXIS"); err != nil {
			return err
		}
		h.r.w32(h.base+i2cTXDR, uint32(b))
		size--
		if left := len(data) - i - 1; left != 0 && size == 0 {
			if err := h.waitFlag(i2cTCR, "TCR"); err != nil {
				return err
			}
			var mode uint32
			size, mode = chunk(left)
			h.transferConfig(dev, size, mode, halNoStartStp)
		}
	}
	return h.endWithStop()
}

// isDeviceReady is one try of HAL_I2C_IsDeviceReady.
func (h hal) isDeviceReady(dev uint16) bool {
	r, b := h.r, h.base
	h.notBusy()
	r.w32(b+i2cCR2, (uint32(dev)&0x3FF|i2cSTART|i2cAUTOEND)&^i2cRDWRN)
	r.wait(b+i2cISR, "STOPF or NACKF", func(v uint32) bool { return v&(i2cSTOPF|i2cNACKF) != 0 })
	if r.r32(b+i2cISR)&i2cNACKF == 0 {
		r.flagSet(b+i2cISR, i2cSTOPF, "STOPF")
		r.w32(b+i2cICR, i2cSTOPF)
		return true
	}
	r.flagSet(b+i2cISR, i2cSTOPF, "STOPF")
	r.w32(b+i2cICR, i2cNACKF)
	r.w32(b+i2cICR, i2cSTOPF)
	return false
}

func mcpBoard(t *testing.T, clk *clock, bus string) *periph.Board {
	t.Helper()
	b := periph.NewBoard(clk.Now)
	err := b.Place(periph.Placement{Bus: bus, Address: 0x18, Model: "mcp9808",
		Values: []periph.Point{{At: 0, Values: map[string]float64{"temperature_c": 23.5}}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// HAL_I2C_Mem_Read of the MCP9808's ambient temperature register reads
// the bytes the same model gives the host SDK's HAL (periph.I2CBus.Transfer).
func TestI2CMemReadMCP9808(t *testing.T) {
	clk := &clock{}
	r := newRigAt(t, clk, mcpBoard(t, clk, "I2C1"))
	h := hal{r, i2cTable[0].base}
	r.enableClock(i2cTable[0].clock)
	h.init()
	got, err := h.memRead(0x18<<1, periph.MCP9808RegTA, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 2)
	ref := mcpBoard(t, clk, "I2C1").I2C("I2C1").Transfer(0x18,
		periph.I2CSegment{Data: []byte{periph.MCP9808RegTA}}, periph.I2CSegment{Read: true, Data: want})
	if !ref.OK() || !bytes.Equal(got, want) {
		t.Fatalf("Mem_Read got % x, the bus model gives % x (%+v)", got, want, ref)
	}
	// 23.5 °C is 0x0178 in 1/16 °C, with the flag bits clear.
	if got[0]&0x1F != 0x01 || got[1] != 0x78 {
		t.Fatalf("T_A bytes % x, want 01 78", got)
	}
	id, err := h.memRead(0x18<<1, periph.MCP9808RegManufID, 2)
	if err != nil || !bytes.Equal(id, []byte{0x00, 0x54}) {
		t.Fatalf("manufacturer ID % x (%v), want 00 54", id, err)
	}
	if r.r32(h.base+i2cISR)&i2cBUSY != 0 {
		t.Fatal("bus still busy after the transfer")
	}
}

// An address nobody answers NACKs: IsDeviceReady fails, Mem_Read returns
// the NACK error, and the bus is free again after.
func TestI2CNack(t *testing.T) {
	clk := &clock{}
	r := newRigAt(t, clk, mcpBoard(t, clk, "I2C2"))
	h := hal{r, i2cTable[1].base}
	h.init()
	if !h.isDeviceReady(0x18 << 1) {
		t.Fatal("IsDeviceReady(0x18): the MCP9808 did not answer")
	}
	if h.isDeviceReady(0x50 << 1) {
		t.Fatal("IsDeviceReady(0x50) answered with nothing there")
	}
	if _, err := h.memRead(0x50<<1, 0, 1); !errors.Is(err, errNACK) {
		t.Fatalf("Mem_Read from an absent device: %v, want NACK", err)
	}
	if r.r32(h.base+i2cISR)&(i2cBUSY|i2cNACKF|i2cSTOPF) != 0 {
		t.Fatalf("ISR %#x after the NACK was handled, want BUSY NACKF STOPF clear", r.r32(h.base+i2cISR))
	}
	if got, err := h.memRead(0x18<<1, periph.MCP9808RegManufID, 2); err != nil || got[1] != 0x54 {
		t.Fatalf("read after a NACK: % x %v", got, err)
	}
}

// recorder is an I2C target that logs what reaches it and serves reads
// from a counter.
type recorder struct {
	log  []string
	data []byte
	next byte
}

func (d *recorder) Start(read bool) bool {
	d.log = append(d.log, fmt.Sprintf("start read=%v", read))
	return true
}
func (d *recorder) Write(b byte) bool { d.data = append(d.data, b); return true }
func (d *recorder) Read() byte        { d.next++; return d.next }
func (d *recorder) Stop()             { d.log = append(d.log, "stop") }

// HAL_I2C_Mem_Write (address under RELOAD, data continuing without a
// START) and Master_Transmit/Receive past 255 bytes (RELOAD chunks) reach
// the target as single transactions.
func TestI2CReloadTransfers(t *testing.T) {
	r := newRig(t, nil)
	dev := &recorder{}
	if err := r.board.I2C("I2C3").Attach(0x42, "recorder", dev); err != nil {
		t.Fatal(err)
	}
	h := hal{r, i2cTable[2].base}
	h.init()
	if err := h.transmit(0x42<<1, []byte{0x10}, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dev.log) != "[start read=false stop]" || !bytes.Equal(dev.data, []byte{0x10, 1, 2, 3}) {
		t.Fatalf("Mem_Write reached the target as %v % x", dev.log, dev.data)
	}
	dev.log, dev.data = nil, nil
	big := make([]byte, 600)
	for i := range big {
		big[i] = byte(i)
	}
	if err := h.transmit(0x42<<1, nil, big); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(dev.log) != "[start read=false stop]" || !bytes.Equal(dev.data, big) {
		t.Fatalf("a 600-byte transmit reached the target as %v and %d bytes", dev.log, len(dev.data))
	}
	dev.log = nil
	got, err := h.receive(0x42<<1, 300)
	if err != nil || len(got) != 300 || got[299] != byte(300%256) || fmt.Sprint(dev.log) != "[start read=true stop]" {
		t.Fatalf("300-byte receive: %d bytes (last %d), %v, log %v", len(got), got[len(got)-1], err, dev.log)
	}
}

// With TXIE, RXIE, STOPIE the event interrupt (I2C1_EV_IRQn 55) pends as
// HAL_I2C_Master_Transmit_IT's handler expects.
func TestI2CEventInterrupt(t *testing.T) {
	clk := &clock{}
	r := newRigAt(t, clk, mcpBoard(t, clk, "I2C1"))
	h := hal{r, i2cTable[0].base}
	h.init()
	h.transferConfig(0x18<<1, 1, halAutoEnd, halStartWrite)
	if r.irqCount(55) != 0 {
		t.Fatal("pended with no interrupt enabled")
	}
	r.set(h.base+i2cCR1, i2cTXIE|i2cSTOPIE|i2cNACKIE|i2cERRIE|i2cTCIE)
	if r.irqCount(55) == 0 {
		t.Fatalf("TXIS with TXIE did not pend I2C1_EV (irqs %v)", r.irqs)
	}
	r.irqs = nil
	r.w32(h.base+i2cTXDR, 0x01)
	if r.irqCount(55) == 0 || r.r32(h.base+i2cISR)&i2cSTOPF == 0 {
		t.Fatalf("the last byte with AUTOEND: STOPF and I2C1_EV expected (irqs %v)", r.irqs)
	}
	if r.irqCount(56) != 0 {
		t.Fatal("the error interrupt pended with no error")
	}
}
