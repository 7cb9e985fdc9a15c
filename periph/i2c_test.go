package periph

import "testing"

func TestI2CAbsentAddressNACKs(t *testing.T) {
	b := NewI2CBus("I2C1")
	buf := []byte{0xAA, 0xBB}
	r := b.Transfer(0x18, I2CSegment{Data: []byte{5}}, I2CSegment{Read: true, Data: buf})
	if !r.AddrNACK || r.OK() || r.Device != "" || r.Written != 0 {
		t.Errorf("absent device: %+v, want an address NACK", r)
	}
	if buf[0] != 0xAA || buf[1] != 0xBB {
		t.Errorf("a NACKed read changed the buffer: % x", buf)
	}
	if r := b.Transfer(0x18); !r.AddrNACK {
		t.Errorf("probe of an empty bus: %+v", r)
	}
}

func TestI2CAttachChecks(t *testing.T) {
	b := NewI2CBus("I2C2")
	m := NewMCP9808(func() float64 { return 0 })
	for _, a := range []uint16{0x00, 0x07, 0x78, 0x7F, 0x80} {
		if err := b.Attach(a, "mcp9808", m); err == nil {
			t.Errorf("Attach at reserved/invalid 0x%02x succeeded", a)
		}
	}
	if err := b.Attach(0x18, "mcp9808", m); err != nil {
		t.Fatal(err)
	}
	if err := b.Attach(0x18, "mcp9808", m); err == nil {
		t.Error("second device at 0x18 accepted")
	}
	if got := b.Addresses(); len(got) != 1 || got[0] != 0x18 {
		t.Errorf("Addresses = %v", got)
	}
	if r := b.Transfer(0x18); !r.OK() || r.Device != "mcp9808" {
		t.Errorf("probe of a present device: %+v", r)
	}
}

// nackAfter refuses the n+1th data byte of a write.
type nackAfter struct {
	n, seen int
	stops   int
}

func (d *nackAfter) Start(read bool) bool { d.seen = 0; return !read }
func (d *nackAfter) Write(byte) bool      { d.seen++; return d.seen <= d.n }
func (d *nackAfter) Read() byte           { return 0 }
func (d *nackAfter) Stop()                { d.stops++ }

func TestI2CDataNACKStopsTheTransaction(t *testing.T) {
	b := NewI2CBus("I2C1")
	d := &nackAfter{n: 2}
	if err := b.Attach(0x20, "x", d); err != nil {
		t.Fatal(err)
	}
	r := b.Transfer(0x20, I2CSegment{Data: []byte{1, 2, 3, 4}})
	if !r.DataNACK || r.Written != 2 || r.AddrNACK {
		t.Errorf("write NACKed at byte 3: %+v, want DataNACK after 2 bytes", r)
	}
	// The device refuses reads: the repeated START's address is NACKed.
	r = b.Transfer(0x20, I2CSegment{Data: []byte{1}}, I2CSegment{Read: true, Data: make([]byte, 1)})
	if !r.AddrNACK || r.Segment != 1 || r.Written != 1 {
		t.Errorf("read refused: %+v, want an address NACK in segment 1", r)
	}
	if d.stops != 2 {
		t.Errorf("device saw %d STOPs, want 2", d.stops)
	}
}
