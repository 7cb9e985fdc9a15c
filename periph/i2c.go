package periph

import (
	"fmt"
	"sort"
	"sync"
)

// I2CDevice is a target on an I2C bus, driven byte by byte as the
// controller drives the wires. The bus calls it only for transactions
// addressed to it, and never concurrently.
type I2CDevice interface {
	// Start is a START or repeated START with this device's address; read
	// is the R/W bit. It returns whether the device ACKs its address.
	Start(read bool) bool
	// Write is a byte from the controller; it returns ACK (true) or NACK.
	Write(b byte) bool
	// Read returns the next byte the device drives onto the bus.
	Read() byte
	// Stop is the STOP that ends the transaction.
	Stop()
}

// I2CSegment is one part of a transaction, after a START or repeated
// START: a write of Data, or a read that fills Data (len(Data) bytes).
type I2CSegment struct {
	Read bool
	Data []byte
}

// I2CResult is what the controller saw.
type I2CResult struct {
	// AddrNACK: nobody acknowledged the address (an absent device, or
	// one that refused it) in segment Segment.
	AddrNACK bool
	// DataNACK: the device refused a written byte; Written bytes of that
	// segment were acknowledged before it.
	DataNACK bool
	// Segment is the segment the transaction stopped in when it did.
	Segment int
	// Written is the number of bytes written and acknowledged, over all
	// the write segments that ran.
	Written int
	// Device is the model's name ("" when absent).
	Device string
	// State is the device's visible state after the transaction when it
	// is a Stater, else "".
	State string
}

// OK reports whether every address and byte was acknowledged.
func (r I2CResult) OK() bool { return !r.AddrNACK && !r.DataNACK }

// MinI2CAddr and MaxI2CAddr bound the 7-bit addresses a device may use: the
// I2C specification (UM10204, table 4) reserves 0x00–0x07 and 0x78–0x7F.
const (
	MinI2CAddr = 0x08
	MaxI2CAddr = 0x77
)

// I2CBus is one I2C bus (I2C1 …) and the devices on it.
type I2CBus struct {
	Name string

	mu    sync.Mutex // serialises transactions, as the bus wires do
	devs  map[uint16]I2CDevice
	names map[uint16]string
}

// NewI2CBus returns an empty bus.
func NewI2CBus(name string) *I2CBus {
	return &I2CBus{Name: name, devs: map[uint16]I2CDevice{}, names: map[uint16]string{}}
}

// Attach places d at the 7-bit address addr under the model name model.
func (b *I2CBus) Attach(addr uint16, model string, d I2CDevice) error {
	if addr < MinI2CAddr || addr > MaxI2CAddr {
		return fmt.Errorf("address 0x%02x is not a 7-bit device address (0x%02x–0x%02x)", addr, MinI2CAddr, MaxI2CAddr)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.devs[addr]; ok {
		return fmt.Errorf("%s already has %s at 0x%02x", b.Name, b.names[addr], addr)
	}
	b.devs[addr] = d
	b.names[addr] = model
	return nil
}

// Device returns the device at addr, if any.
func (b *I2CBus) Device(addr uint16) (I2CDevice, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.devs[addr]
	return d, ok
}

// Addresses lists the occupied addresses in order.
func (b *I2CBus) Addresses() []uint16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]uint16, 0, len(b.devs))
	for a := range b.devs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Transfer runs one transaction with the device at the 7-bit address addr:
// START, each segment after its own (repeated) START, then STOP. A read
// segment's Data is filled with the bytes read. On a NACK the controller
// stops, as the STM32 I2C peripheral does (it then generates STOP), and
// later segments are not run; read bytes not received are left as they
// were. An empty transaction (no segments) is an address probe with W
// (HAL_I2C_IsDeviceReady).
func (b *I2CBus) Transfer(addr uint16, segs ...I2CSegment) (r I2CResult) {
	if len(segs) == 0 {
		segs = []I2CSegment{{}}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.devs[addr]
	if !ok {
		r.AddrNACK = true
		return r
	}
	r.Device = b.names[addr]
	defer func() {
		d.Stop()
		if s, ok := d.(Stater); ok {
			r.State = s.State()
		}
	}()
	for i, s := range segs {
		r.Segment = i
		if !d.Start(s.Read) {
			r.AddrNACK = true
			return r
		}
		if s.Read {
			for k := range s.Data {
				s.Data[k] = d.Read()
			}
			continue
		}
		for k, c := range s.Data {
			if !d.Write(c) {
				r.DataNACK = true
				r.Written += k
				return r
			}
		}
		r.Written += len(s.Data)
	}
	return r
}
