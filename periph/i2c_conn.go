package periph

// I2CConn is one transaction on an I2CBus driven step by step, as a CPU's
// I2C controller registers drive it (emu/stm32): START with the address,
// bytes one at a time, repeated STARTs, STOP. Transfer is the same
// transaction given whole. Each step takes the bus for its own length, so
// a controller that never sends STOP leaves nothing locked.
type I2CConn struct {
	bus  *I2CBus
	addr uint16
	dev  I2CDevice
}

// Begin is a START with the 7-bit address addr and the R/W bit read. ok is
// whether a device acknowledged the address; the returned connection is nil
// when nobody did (no STOP reaches an absent device).
func (b *I2CBus) Begin(addr uint16, read bool) (c *I2CConn, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, present := b.devs[addr]
	if !present {
		return nil, false
	}
	c = &I2CConn{bus: b, addr: addr, dev: d}
	return c, d.Start(read)
}

// Restart is a repeated START with the same address; it returns whether the
// device acknowledged.
func (c *I2CConn) Restart(read bool) bool {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	return c.dev.Start(read)
}

// Write sends one byte; it returns ACK (true) or NACK.
func (c *I2CConn) Write(v byte) bool {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	return c.dev.Write(v)
}

// Read receives one byte from the device.
func (c *I2CConn) Read() byte {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	return c.dev.Read()
}

// Stop ends the transaction; it returns the device's model name and its
// visible state after it (Stater), as I2CResult has them.
func (c *I2CConn) Stop() (device, state string) {
	c.bus.mu.Lock()
	defer c.bus.mu.Unlock()
	c.dev.Stop()
	if s, ok := c.dev.(Stater); ok {
		state = s.State()
	}
	return c.bus.names[c.addr], state
}
