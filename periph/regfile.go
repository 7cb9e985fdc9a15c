package periph

// RegisterFile is an I2CDevice for the usual shape of an I2C part: a
// register map behind a pointer. After START with W, the first byte sets
// the pointer and the following bytes are written to the register it
// selects, most significant byte first; after START with R, bytes are read
// from the selected register on. The pointer is kept across transactions,
// so "write the pointer, STOP, then read" works as on the parts.
//
// A model fills in the functions; only Load and Store are required.
type RegisterFile struct {
	// Pointer decodes the pointer byte into a register and whether access
	// moves on to the next register after each one (LIS3DH: bit 7 of the
	// sub-address). It returns ack=false to NACK the byte. Default: the
	// byte is the register, with Increment's increment.
	Pointer func(b byte) (reg byte, increment bool, ack bool)
	// Increment is the default for Pointer's increment.
	Increment bool
	// Size is the width of register reg in bytes, 1 to 4. Default 1.
	Size func(reg byte) int
	// Load returns register reg's value (read with the first of its bytes).
	Load func(reg byte) uint32
	// Store writes v to register reg once all its bytes have arrived; it
	// returns false to NACK the last byte (a read-only register, say).
	Store func(reg byte, v uint32) bool
	// Command, when set, is called for the first byte after START with W
	// instead of Pointer; it returns handled=true when the byte was a
	// command (HT16K33) and not a pointer, and whether to ACK it.
	Command func(b byte) (handled bool, ack bool)

	reg      byte
	inc      bool
	first    bool   // the next written byte is the pointer
	acc      uint32 // bytes of the register being written
	accN     int
	readVal  uint32
	readLeft int
}

func (f *RegisterFile) size(reg byte) int {
	if f.Size == nil {
		return 1
	}
	return f.Size(reg)
}

// Start implements I2CDevice: the device ACKs its address in both
// directions.
func (f *RegisterFile) Start(read bool) bool {
	f.first = !read
	f.accN = 0
	f.acc = 0
	f.readLeft = 0
	return true
}

// Write implements I2CDevice.
func (f *RegisterFile) Write(b byte) bool {
	if f.first {
		f.first = false
		if f.Command != nil {
			if handled, ack := f.Command(b); handled {
				return ack
			}
		}
		if f.Pointer != nil {
			reg, inc, ack := f.Pointer(b)
			if !ack {
				return false
			}
			f.reg, f.inc = reg, inc
			return true
		}
		f.reg, f.inc = b, f.Increment
		return true
	}
	f.acc = f.acc<<8 | uint32(b)
	f.accN++
	if f.accN < f.size(f.reg) {
		return true
	}
	ack := f.Store(f.reg, f.acc)
	f.acc, f.accN = 0, 0
	if f.inc {
		f.reg++
	}
	return ack
}

// Read implements I2CDevice. Reading past a register's last byte goes on
// with the next register when incrementing, else with the same one again.
func (f *RegisterFile) Read() byte {
	if f.readLeft == 0 {
		f.readVal = f.Load(f.reg)
		f.readLeft = f.size(f.reg)
	}
	f.readLeft--
	b := byte(f.readVal >> (8 * f.readLeft))
	if f.readLeft == 0 && f.inc {
		f.reg++
	}
	return b
}

// Stop implements I2CDevice.
func (f *RegisterFile) Stop() {
	f.first = false
	f.accN = 0
	f.readLeft = 0
}
