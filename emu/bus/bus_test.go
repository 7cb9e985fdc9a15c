package bus

import (
	"strings"
	"testing"
)

type regs map[uint32]uint32

func (r regs) Load(off uint32, size int) (uint32, bool) { v, ok := r[off]; return v, ok }
func (r regs) Store(off uint32, size int, v uint32) bool {
	if _, ok := r[off]; !ok {
		return false
	}
	r[off] = v
	return true
}

func TestMap(t *testing.T) {
	var m Map
	a, b := regs{0: 1, 4: 2}, regs{0: 3}
	if err := m.Add(Mapping{Name: "b", Base: 0x4000_1000, Size: 0x400, Device: b}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Mapping{Name: "a", Base: 0x4000_0000, Size: 0x400, Device: a}); err != nil {
		t.Fatal(err)
	}
	err := m.Add(Mapping{Name: "c", Base: 0x4000_03fc, Size: 8, Device: a})
	if err == nil || !strings.Contains(err.Error(), "overlaps a") {
		t.Fatalf("overlap: %v", err)
	}
	if err := m.Add(Mapping{Name: "d", Base: 0xffff_fff0, Size: 0x20, Device: a}); err == nil {
		t.Fatal("mapping past 4 GiB accepted")
	}
	for _, c := range []struct {
		addr uint32
		v    uint32
		ok   bool
	}{{0x4000_0004, 2, true}, {0x4000_1000, 3, true}, {0x4000_0000, 1, true}, {0x4000_0800, 0, false}, {0x3fff_fffc, 0, false}, {0x4000_03fe, 0, false}} {
		v, ok := m.Load(c.addr, 4)
		if v != c.v || ok != c.ok {
			t.Errorf("Load(%#x) = %d, %v; want %d, %v", c.addr, v, ok, c.v, c.ok)
		}
	}
	if !m.Store(0x4000_1000, 4, 9) || b[0] != 9 {
		t.Fatal("store did not reach the device")
	}
	if m.Store(0x4000_1004, 4, 9) {
		t.Fatal("store to a register the device refuses succeeded")
	}
}

// popper is a device whose Load has a side effect (a FIFO pop) and whose
// Peek has none.
type popper struct{ n uint32 }

func (p *popper) Load(off uint32, size int) (uint32, bool)  { p.n++; return p.n, true }
func (p *popper) Store(off uint32, size int, v uint32) bool { return true }
func (p *popper) Peek(off uint32, size int) (uint32, bool)  { return p.n, true }

func TestPeek(t *testing.T) {
	var m Map
	p := &popper{}
	if err := m.Add(Mapping{Name: "fifo", Base: 0x4000_0000, Size: 4, Device: p}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Mapping{Name: "regs", Base: 0x4000_1000, Size: 8, Device: regs{0: 5}}); err != nil {
		t.Fatal(err)
	}
	m.Load(0x4000_0000, 4)
	for range 2 {
		if v, ok := m.Peek(0x4000_0000, 4); !ok || v != 1 {
			t.Fatalf("Peek = %d, %v; want 1 without popping", v, ok)
		}
	}
	if v, ok := m.Peek(0x4000_1000, 4); !ok || v != 5 {
		t.Fatalf("Peek of a device without Peek = %d, %v", v, ok)
	}
	if _, ok := m.Peek(0x4000_0002, 4); ok {
		t.Fatal("Peek across the end of a mapping succeeded")
	}
}
