package periph

import "testing"

func TestHT16K33(t *testing.T) {
	b := NewI2CBus("I2C1")
	d := NewHT16K33()
	if err := b.Attach(0x70, "ht16k33", d); err != nil {
		t.Fatal(err)
	}
	send := func(bytes ...byte) {
		t.Helper()
		if r := b.Transfer(0x70, I2CSegment{Data: bytes}); !r.OK() {
			t.Fatalf("% x: %+v", bytes, r)
		}
	}
	if got := d.State(); got != "off dim=16/16 ram=0000 0000 0000 0000 0000 0000 0000 0000" {
		t.Errorf("power-up state %q", got)
	}
	// The sample projects' start-up: system on, display on, full brightness.
	send(0x21)
	send(0x81)
	send(0xEF)
	if !d.Lit() || d.Blink != 0 || d.Dimming != 15 {
		t.Errorf("after 0x21 0x81 0xEF: %+v", d)
	}
	// A 17-byte draw: pointer 0, then 16 RAM bytes.
	frame := []byte{0x00, 0x3F, 0, 0x06, 0, 0, 0, 0x5B, 0, 0x4F, 0, 0, 0, 0, 0, 0, 0}
	send(frame...)
	if got := d.State(); got != "on dim=16/16 ram=3f00 0600 0000 5b00 4f00 0000 0000 0000" {
		t.Errorf("state %q", got)
	}
	// Pointer wraps after 0x0F.
	send(0x0F, 0xAA, 0xBB)
	if d.RAM[15] != 0xAA || d.RAM[0] != 0xBB {
		t.Errorf("wrap: RAM % x", d.RAM)
	}
	// RAM reads back from the pointer.
	buf := make([]byte, 3)
	if r := b.Transfer(0x70, I2CSegment{Data: []byte{0x02}}, I2CSegment{Read: true, Data: buf}); !r.OK() || buf[0] != 0x06 || buf[2] != 0x00 {
		t.Errorf("read back % x %+v", buf, r)
	}
	// Blink 1 Hz, dimming 1/16, standby.
	send(0x85)
	send(0xE0)
	send(0x20)
	if got := d.State(); got != "off (oscillator off) blink=1Hz dim=1/16 ram=bb00 0600 0000 5b00 4f00 0000 0000 00aa" {
		t.Errorf("state %q", got)
	}
	// Key RAM reads 0.
	if r := b.Transfer(0x70, I2CSegment{Data: []byte{0x40}}, I2CSegment{Read: true, Data: buf}); !r.OK() || buf[0] != 0 {
		t.Errorf("key data % x", buf)
	}
}
