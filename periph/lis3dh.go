package periph

import (
	"math"
	"time"
)

// LIS3DH registers (ST DocID17530, section 7).
const (
	LIS3DHRegStatusAux = 0x07
	LIS3DHRegWhoAmI    = 0x0F // reads 0x33
	LIS3DHRegCtrl0     = 0x1E
	LIS3DHRegTempCfg   = 0x1F
	LIS3DHRegCtrl1     = 0x20 // ODR3:0, LPen, Zen, Yen, Xen
	LIS3DHRegCtrl2     = 0x21
	LIS3DHRegCtrl3     = 0x22
	LIS3DHRegCtrl4     = 0x23 // BDU, BLE, FS1:0, HR, ST1:0, SIM
	LIS3DHRegCtrl5     = 0x24 // BOOT, FIFO_EN, …
	LIS3DHRegCtrl6     = 0x25
	LIS3DHRegReference = 0x26
	LIS3DHRegStatus    = 0x27 // ZYXOR … ZYXDA, ZDA, YDA, XDA
	LIS3DHRegOutXL     = 0x28 // OUT_X_L … OUT_Z_H: 0x28 … 0x2D
	LIS3DHRegActDur    = 0x3F // the last register

	LIS3DHWhoAmI = 0x33
)

// lis3dhODR is the output data rate of CTRL_REG1's ODR field in Hz (9: 1.344
// kHz in normal and high-resolution modes, 5.376 kHz in low-power mode).
var lis3dhODR = [16]float64{0, 1, 10, 25, 50, 100, 200, 400, 1600, 1344}

// LIS3DH is ST's LIS3DH 3-axis accelerometer, on I2C (a sub-address whose
// bit 7 asks for auto-increment) or SPI (R/W in bit 7, auto-increment in
// bit 6 of the first byte). Acceleration, in g, comes from Accel.
// Samples are taken at the output data rate of CTRL_REG1 on the board's
// clock, the first at the moment the rate is set; OUT_X/Y/Z hold the
// newest one, left-justified 16-bit two's complement with 8 (low-power),
// 10 (normal) or 12 (high-resolution) bits per CTRL_REG1 LPen and CTRL_REG4
// HR, scaled to CTRL_REG4's full scale.
type LIS3DH struct {
	RegisterFile
	// Accel returns the acceleration on each axis in g.
	Accel func() (x, y, z float64)
	// Now is the board's clock (nil: time since NewLIS3DH).
	Now func() time.Duration

	regs   [0x40]byte
	out    [3]int16
	sample int64         // index of the newest sample taken (−1: none)
	read   int64         // index of the sample last read out
	base   int64         // samples taken before the current rate was set
	since  time.Duration // board time at which the current rate was set
	hiWait bool          // BDU: the H byte of the sample being read is pending

	spiState int // 0: command byte next, 1: data
	spiRead  bool
	spiInc   bool
	spiReg   byte
}

// NewLIS3DH returns an accelerometer in its power-up state (power-down
// mode, all axes enabled) reading accel on the clock now.
func NewLIS3DH(accel func() (x, y, z float64), now func() time.Duration) *LIS3DH {
	if now == nil {
		start := time.Now()
		now = func() time.Duration { return time.Since(start) }
	}
	d := &LIS3DH{Accel: accel, Now: now}
	d.reset()
	d.RegisterFile = RegisterFile{
		Pointer: func(b byte) (byte, bool, bool) { return b & 0x7F, b&0x80 != 0, true },
		Load:    func(reg byte) uint32 { return uint32(d.load(reg)) },
		Store:   func(reg byte, v uint32) bool { d.store(reg, byte(v)); return true },
	}
	return d
}

// reset is the power-up state: DocID17530 table 17's defaults.
func (d *LIS3DH) reset() {
	d.regs = [0x40]byte{}
	d.regs[LIS3DHRegCtrl0] = 0x10
	d.regs[LIS3DHRegCtrl1] = 0x07
	d.sample, d.read, d.base = -1, -1, 0
}

// odr is the output data rate in Hz of the current mode (0: power-down).
func (d *LIS3DH) odr() float64 {
	field := d.regs[LIS3DHRegCtrl1] >> 4
	if field == 9 && d.bits() == 8 {
		return 5376 // low-power mode's 5.376 kHz
	}
	return lis3dhODR[field]
}

// bits is the output resolution of the operating mode.
func (d *LIS3DH) bits() uint {
	switch {
	case d.regs[LIS3DHRegCtrl1]&0x08 != 0: // LPen
		return 8
	case d.regs[LIS3DHRegCtrl4]&0x08 != 0: // HR
		return 12
	}
	return 10
}

// sensitivity in mg per digit at full scale FS and the mode's bits
// (DocID17530 table 4).
func (d *LIS3DH) sensitivity() float64 {
	hr := [4]float64{1, 2, 4, 12} // 12-bit: ±2, ±4, ±8, ±16 g
	fs := (d.regs[LIS3DHRegCtrl4] >> 4) & 3
	return hr[fs] * float64(int(1)<<(12-d.bits()))
}

// update takes the samples due by now.
func (d *LIS3DH) update() {
	odr := d.odr()
	if odr == 0 {
		return // power-down: the outputs keep their last sample
	}
	// Samples are numbered on from the moment the rate was set, so a
	// lower rate continues at once rather than waiting for the old
	// rate's count to be reached.
	idx := d.base + int64((d.Now()-d.since).Seconds()*odr)
	if idx <= d.sample || d.hiWait {
		return
	}
	d.sample = idx
	x, y, z := d.Accel()
	n := d.bits()
	lim := float64(int(1)<<(n-1)) - 1
	for i, g := range []float64{x, y, z} {
		v := math.Round(g * 1000 / d.sensitivity())
		v = math.Max(-lim-1, math.Min(lim, v))
		d.out[i] = int16(v) << (16 - n)
	}
}

func (d *LIS3DH) load(reg byte) byte {
	switch {
	case reg == LIS3DHRegWhoAmI:
		return LIS3DHWhoAmI
	case reg == LIS3DHRegStatus:
		d.update()
		var s byte
		if d.sample > d.read {
			s |= d.regs[LIS3DHRegCtrl1]&0x07 | 0x08 // xDA for enabled axes, ZYXDA
		}
		if d.sample > d.read+1 {
			s |= (d.regs[LIS3DHRegCtrl1]&0x07)<<4 | 0x80 // overrun
		}
		return s
	case reg >= LIS3DHRegOutXL && reg <= LIS3DHRegOutXL+5:
		if !d.hiWait {
			d.update()
		}
		v := uint16(d.out[(reg-LIS3DHRegOutXL)/2])
		high := (reg-LIS3DHRegOutXL)%2 == 1
		if d.regs[LIS3DHRegCtrl4]&0x40 != 0 { // BLE: MSB at the lower address
			high = !high
		}
		// BDU: no new sample between the reads of an axis's two bytes.
		d.hiWait = d.regs[LIS3DHRegCtrl4]&0x80 != 0 && (reg-LIS3DHRegOutXL)%2 == 0
		if (reg-LIS3DHRegOutXL)%2 == 1 {
			d.read = d.sample
		}
		if high {
			return byte(v >> 8)
		}
		return byte(v)
	case reg < byte(len(d.regs)):
		return d.regs[reg]
	}
	return 0
}

// store writes a register; WHO_AM_I, the status and output registers are
// read-only and keep their values.
func (d *LIS3DH) store(reg, v byte) {
	switch {
	case reg == LIS3DHRegWhoAmI, reg == LIS3DHRegStatus, reg == LIS3DHRegStatusAux,
		reg >= LIS3DHRegOutXL && reg <= LIS3DHRegOutXL+5, reg >= byte(len(d.regs)):
	case reg == LIS3DHRegCtrl5:
		// BOOT reloads the trimming values (not modelled) and clears
		// itself; it leaves the control registers alone (DocID17530,
		// CTRL_REG5 description).
		d.regs[reg] = v &^ 0x80
	case reg == LIS3DHRegCtrl1:
		old := d.odr()
		d.update() // the samples due at the old rate
		d.regs[reg] = v
		if d.odr() != old {
			d.base, d.since = d.sample+1, d.Now()
		}
	default:
		d.regs[reg] = v
	}
}

// Select implements SPIDevice: a new command byte follows.
func (d *LIS3DH) Select() { d.spiState = 0 }

// Exchange implements SPIDevice (DocID17530 6.2: bit 7 R/W, bit 6 M/S
// auto-increment, bits 5:0 the address).
func (d *LIS3DH) Exchange(b byte) byte {
	if d.spiState == 0 {
		d.spiState = 1
		d.spiRead, d.spiInc, d.spiReg = b&0x80 != 0, b&0x40 != 0, b&0x3F
		return 0xFF
	}
	var out byte = 0xFF
	if d.spiRead {
		out = d.load(d.spiReg)
	} else {
		d.store(d.spiReg, b)
	}
	if d.spiInc {
		d.spiReg = (d.spiReg + 1) & 0x3F
	}
	return out
}

// Deselect implements SPIDevice.
func (d *LIS3DH) Deselect() { d.spiState = 0; d.hiWait = false }

// Stop implements I2CDevice, ending a BDU hold as well.
func (d *LIS3DH) Stop() { d.RegisterFile.Stop(); d.hiWait = false }

func init() {
	MustRegister(Model{
		Name:      "lis3dh",
		Summary:   "ST LIS3DH 3-axis accelerometer (I2C or SPI)",
		Inputs:    map[string]float64{"accel_x_g": 0, "accel_y_g": 0, "accel_z_g": 1},
		Addresses: []uint16{0x18, 0x19},
		NewI2C:    func(e Env) I2CDevice { return newLIS3DH(e) },
		NewSPI:    func(e Env) SPIDevice { return newLIS3DH(e) },
	})
}

func newLIS3DH(e Env) *LIS3DH {
	return NewLIS3DH(func() (x, y, z float64) {
		return e.Input("accel_x_g"), e.Input("accel_y_g"), e.Input("accel_z_g")
	}, e.Now)
}
