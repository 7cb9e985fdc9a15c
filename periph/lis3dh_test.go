package periph

import (
	"testing"
	"time"
)

func lisBus(t *testing.T, addr uint16) (*I2CBus, *clock, *[3]float64) {
	b := NewI2CBus("I2C1")
	ck := &clock{}
	g := &[3]float64{0, 0, 1}
	if err := b.Attach(addr, "lis3dh", NewLIS3DH(func() (x, y, z float64) { return g[0], g[1], g[2] }, ck.now)); err != nil {
		t.Fatal(err)
	}
	return b, ck, g
}

func write8(t *testing.T, b *I2CBus, addr uint16, reg, v byte) {
	t.Helper()
	if r := b.Transfer(addr, I2CSegment{Data: []byte{reg, v}}); !r.OK() {
		t.Fatalf("write 0x%02x: %+v", reg, r)
	}
}

func memRead(t *testing.T, b *I2CBus, addr uint16, sub byte, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if r := b.Transfer(addr, I2CSegment{Data: []byte{sub}}, I2CSegment{Read: true, Data: buf}); !r.OK() {
		t.Fatalf("read 0x%02x: %+v", sub, r)
	}
	return buf
}

func TestLIS3DHIdentityAndDefaults(t *testing.T) {
	for _, a := range []uint16{0x18, 0x19} {
		b, _, _ := lisBus(t, a)
		if got := memRead(t, b, a, LIS3DHRegWhoAmI, 1)[0]; got != 0x33 {
			t.Errorf("0x%02x WHO_AM_I = 0x%02x, want 0x33", a, got)
		}
		if got := memRead(t, b, a, LIS3DHRegCtrl1, 1)[0]; got != 0x07 {
			t.Errorf("CTRL_REG1 at power-up = 0x%02x, want 0x07", got)
		}
		write8(t, b, a, LIS3DHRegWhoAmI, 0x00)
		if got := memRead(t, b, a, LIS3DHRegWhoAmI, 1)[0]; got != 0x33 {
			t.Errorf("WHO_AM_I after a write = 0x%02x", got)
		}
	}
	if _, err := ParseBoard("b", []byte(`{"version":1,"devices":[{"bus":"I2C1","address":"0x1a","model":"lis3dh"}]}`), nil); err == nil {
		t.Error("lis3dh at 0x1a accepted (SA0 gives 0x18 or 0x19)")
	}
}

func axes(v []byte) [3]int16 {
	return [3]int16{int16(uint16(v[1])<<8 | uint16(v[0])), int16(uint16(v[3])<<8 | uint16(v[2])), int16(uint16(v[5])<<8 | uint16(v[4]))}
}

func TestLIS3DHOutputScaling(t *testing.T) {
	for _, c := range []struct {
		name    string
		ctrl1   byte // ODR 100 Hz (0x5_), axes on
		ctrl4   byte
		x, y, z float64
		want    [3]int16
	}{
		{"normal ±2g", 0x57, 0x00, 0, -0.5, 1, [3]int16{0, -125 << 6, 250 << 6}},
		{"high-res ±2g", 0x57, 0x08, 0.001, -1, 1, [3]int16{1 << 4, -1000 << 4, 1000 << 4}},
		{"low-power ±2g", 0x5F, 0x00, 0.016, 0, 1, [3]int16{1 << 8, 0, 63 << 8}},
		{"high-res ±16g", 0x57, 0x38, 0, 0, 1, [3]int16{0, 0, 83 << 4}},
		{"normal ±4g clamps", 0x57, 0x10, 9, -9, 0, [3]int16{511 << 6, -512 << 6, 0}},
	} {
		b, ck, g := lisBus(t, 0x19)
		g[0], g[1], g[2] = c.x, c.y, c.z
		write8(t, b, 0x19, LIS3DHRegCtrl4, c.ctrl4)
		write8(t, b, 0x19, LIS3DHRegCtrl1, c.ctrl1)
		ck.t = 15 * time.Millisecond
		if got := axes(memRead(t, b, 0x19, LIS3DHRegOutXL|0x80, 6)); got != c.want {
			t.Errorf("%s: OUT = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestLIS3DHAutoIncrementAndStatus(t *testing.T) {
	b, ck, g := lisBus(t, 0x18)
	if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st != 0 {
		t.Errorf("STATUS in power-down = 0x%02x, want 0", st)
	}
	write8(t, b, 0x18, LIS3DHRegCtrl1, 0x57) // 100 Hz
	ck.t = 5 * time.Millisecond              // sample 0
	if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st != 0x0F {
		t.Errorf("STATUS with a new sample = 0x%02x, want ZYXDA|ZDA|YDA|XDA", st)
	}
	// Without bit 7 of the sub-address the pointer stays on OUT_X_L.
	if v := memRead(t, b, 0x18, LIS3DHRegOutXL, 3); v[0] != v[1] || v[1] != v[2] {
		t.Errorf("reads without auto-increment differ: % x", v)
	}
	v := memRead(t, b, 0x18, LIS3DHRegOutXL|0x80, 6)
	if got := axes(v); got != [3]int16{0, 0, 250 << 6} {
		t.Errorf("OUT = %v", got)
	}
	if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st != 0 {
		t.Errorf("STATUS after reading the sample = 0x%02x, want 0", st)
	}
	// The input moves, but the next sample is due only at 10 ms.
	g[2] = -1
	if got := axes(memRead(t, b, 0x18, LIS3DHRegOutXL|0x80, 6)); got[2] != 250<<6 {
		t.Errorf("OUT_Z changed between samples: %v", got)
	}
	ck.t = 35 * time.Millisecond // three samples later: overrun
	if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st != 0xFF {
		t.Errorf("STATUS after missed samples = 0x%02x, want overrun and data bits", st)
	}
	if got := axes(memRead(t, b, 0x18, LIS3DHRegOutXL|0x80, 6)); got[2] != -250<<6 {
		t.Errorf("OUT_Z after the next sample = %v", got)
	}
}

// BOOT (CTRL_REG5 bit 7) reloads the trimming values only: the control
// registers keep what was written, and the bit clears itself.
func TestLIS3DHBootKeepsControlRegisters(t *testing.T) {
	b, _, _ := lisBus(t, 0x18)
	write8(t, b, 0x18, LIS3DHRegCtrl1, 0x57)
	write8(t, b, 0x18, LIS3DHRegCtrl4, 0x88)      // BDU, HR
	write8(t, b, 0x18, LIS3DHRegCtrl5, 0x80|0x40) // BOOT, FIFO_EN
	if got := memRead(t, b, 0x18, LIS3DHRegCtrl1, 1)[0]; got != 0x57 {
		t.Errorf("CTRL_REG1 after BOOT = 0x%02x, want 0x57 kept", got)
	}
	if got := memRead(t, b, 0x18, LIS3DHRegCtrl4, 1)[0]; got != 0x88 {
		t.Errorf("CTRL_REG4 after BOOT = 0x%02x, want 0x88 kept", got)
	}
	if got := memRead(t, b, 0x18, LIS3DHRegCtrl5, 1)[0]; got != 0x40 {
		t.Errorf("CTRL_REG5 after BOOT = 0x%02x, want 0x40 (BOOT self-cleared, FIFO_EN kept)", got)
	}
}

// Lowering the data rate after a while at a high one: samples go on at the
// new rate from the moment it is set.
func TestLIS3DHLowerRateKeepsSampling(t *testing.T) {
	b, ck, g := lisBus(t, 0x18)
	write8(t, b, 0x18, LIS3DHRegCtrl1, 0x77) // 400 Hz
	ck.t = 10 * time.Second
	memRead(t, b, 0x18, LIS3DHRegOutXL|0x80, 6) // read sample 4000
	write8(t, b, 0x18, LIS3DHRegCtrl1, 0x17)    // 1 Hz
	for i := 1; i <= 3; i++ {
		g[2] = float64(1 - 2*(i%2)) // a new input for each sample: −1, +1, −1
		want := int16(g[2]*250) << 6
		ck.t = 10*time.Second + time.Duration(i)*time.Second
		if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st&0x08 == 0 {
			t.Fatalf("%d s after lowering the rate to 1 Hz: STATUS 0x%02x lacks ZYXDA", i, st)
		}
		if got := axes(memRead(t, b, 0x18, LIS3DHRegOutXL|0x80, 6)); got[2] != want {
			t.Fatalf("%d s after lowering the rate: OUT_Z %d, want the new input's %d", i, got[2], want)
		}
		ck.t += 500 * time.Millisecond // half a period: no new sample
		if st := memRead(t, b, 0x18, LIS3DHRegStatus, 1)[0]; st&0x08 != 0 {
			t.Fatalf("half a 1 Hz period later: STATUS 0x%02x has ZYXDA", st)
		}
	}
}

func TestLIS3DHOverSPI(t *testing.T) {
	ck := &clock{t: 15 * time.Millisecond}
	d := NewLIS3DH(func() (x, y, z float64) { return 0, 0, 1 }, ck.now)
	b := NewSPIBus("SPI1")
	if err := b.Attach("pa4", "lis3dh", d); err != nil {
		t.Fatal(err)
	}
	// Nothing selected: MISO idles high.
	rx := make([]byte, 2)
	if r := b.Transfer(false, []byte{0x8F, 0}, rx); r.Device != "" || rx[1] != 0xFF {
		t.Errorf("unselected: %+v % x", r, rx)
	}
	b.SetPin("PA4", 0)
	if r := b.Transfer(false, []byte{0x8F, 0}, rx); r.Device != "lis3dh" || r.CS != "PA4" || rx[1] != 0x33 {
		t.Errorf("WHO_AM_I over SPI: %+v % x", r, rx)
	}
	b.SetPin("PA4", 1)
	b.SetPin("PA4", 0)
	b.Transfer(false, []byte{0x20, 0x57}, nil) // write CTRL_REG1
	b.SetPin("PA4", 1)
	b.SetPin("PA4", 0)
	rx = make([]byte, 7)
	b.Transfer(false, []byte{0xC0 | LIS3DHRegOutXL, 0, 0, 0, 0, 0, 0}, rx) // read, auto-increment
	b.SetPin("PA4", 1)
	if got := axes(rx[1:]); got != [3]int16{0, 0, 250 << 6} {
		t.Errorf("OUT over SPI = %v (% x)", got, rx)
	}
	if !b.HasPin("PA4") || b.HasPin("PA5") {
		t.Error("HasPin")
	}
}
