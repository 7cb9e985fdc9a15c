package periph

import (
	"fmt"
	"strings"
)

// HT16K33 is Holtek's HT16K33 RAM-mapped LED controller (16×8 matrix,
// 7/14-segment backpacks). After its address with W, the first byte is a
// command (Holtek HT16K33 datasheet, command summary):
//
//	0x00–0x0F  display RAM address pointer; the bytes that follow are
//	           written to RAM from there, the pointer wrapping after 0x0F
//	0x20/0x21  system setup: oscillator off (standby) / on
//	0x40–0x45  key data address pointer (reads 0: no keys pressed)
//	0x60       INT flag address pointer (reads 0)
//	0x80–0x87  display setup: bit 0 display on, bits 2:1 blink
//	           (off, 2 Hz, 1 Hz, 0.5 Hz)
//	0xA0–0xA3  ROW/INT set (stored)
//	0xE0–0xEF  dimming: duty (n+1)/16
//
// Reads return bytes from the last pointer set. Its visible state (State)
// goes into the trace after each transaction.
type HT16K33 struct {
	RAM     [16]byte
	Osc     bool // system oscillator on
	On      bool // display on
	Blink   int  // 0 off, 1 2 Hz, 2 1 Hz, 3 0.5 Hz
	Dimming int  // 0…15: duty (Dimming+1)/16
	RowInt  byte

	first bool
	area  byte // 0x00 RAM, 0x40 key data, 0x60 INT flag
	ptr   byte
}

// NewHT16K33 returns a controller in its power-up state: oscillator and
// display off, full duty, RAM clear.
func NewHT16K33() *HT16K33 { return &HT16K33{Dimming: 15} }

// Start implements I2CDevice.
func (d *HT16K33) Start(read bool) bool { d.first = !read; return true }

// Write implements I2CDevice.
func (d *HT16K33) Write(b byte) bool {
	if !d.first {
		if d.area == 0x00 {
			d.RAM[d.ptr&0x0F] = b
			d.ptr = (d.ptr + 1) & 0x0F
		}
		return true
	}
	d.first = false
	switch {
	case b <= 0x0F:
		d.area, d.ptr = 0x00, b
	case b&0xFE == 0x20:
		d.Osc = b&1 != 0
	case b >= 0x40 && b <= 0x45:
		d.area, d.ptr = 0x40, b&0x0F
	case b == 0x60:
		d.area, d.ptr = 0x60, 0
	case b&0xF8 == 0x80:
		d.On, d.Blink = b&1 != 0, int(b>>1)&3
	case b&0xFC == 0xA0:
		d.RowInt = b & 3
	case b&0xF0 == 0xE0:
		d.Dimming = int(b & 0x0F)
	}
	return true
}

// Read implements I2CDevice.
func (d *HT16K33) Read() byte {
	if d.area != 0x00 {
		return 0
	}
	v := d.RAM[d.ptr&0x0F]
	d.ptr = (d.ptr + 1) & 0x0F
	return v
}

// Stop implements I2CDevice.
func (d *HT16K33) Stop() { d.first = false }

// Lit reports whether the LEDs show: oscillator and display on.
func (d *HT16K33) Lit() bool { return d.Osc && d.On }

// State implements Stater: "on" or "off" (with the oscillator's state
// when it is what keeps the display dark), blink, dimming and the RAM as
// eight 16-bit rows, e.g. "on dim=16/16 ram=3f00 0600 0000 …".
func (d *HT16K33) State() string {
	var b strings.Builder
	switch {
	case d.Lit():
		b.WriteString("on")
	case d.On:
		b.WriteString("off (oscillator off)")
	default:
		b.WriteString("off")
	}
	if d.Blink != 0 {
		fmt.Fprintf(&b, " blink=%s", [...]string{"", "2Hz", "1Hz", "0.5Hz"}[d.Blink])
	}
	fmt.Fprintf(&b, " dim=%d/16 ram=", d.Dimming+1)
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02x%02x", d.RAM[i], d.RAM[i+1])
	}
	return b.String()
}

func init() {
	MustRegister(Model{
		Name:      "ht16k33",
		Summary:   "Holtek HT16K33 LED matrix / 7-segment driver (I2C)",
		Addresses: []uint16{0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77},
		NewI2C:    func(Env) I2CDevice { return NewHT16K33() },
	})
}
