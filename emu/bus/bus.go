// Package bus maps the emulated Cortex-M33's address space outside flash
// and SRAM (peripherals, the system control space) to devices: a Map is
// the slow path (cpu.Bus) of the core.
package bus

import (
	"fmt"
	"sort"
)

// Device is a block of memory-mapped registers. off is the offset from
// the device's base; size is 1, 2 or 4 bytes. A false ok is a bus error
// (the core takes a BusFault).
type Device interface {
	Load(off uint32, size int) (v uint32, ok bool)
	Store(off uint32, size int, v uint32) (ok bool)
}

// Mapping places a Device at [Base, Base+Size).
type Mapping struct {
	Name   string
	Base   uint32
	Size   uint32
	Device Device
}

func (m Mapping) end() uint64 { return uint64(m.Base) + uint64(m.Size) }

// Map is a set of non-overlapping mappings. The zero Map is empty. A Map
// is built before the machine runs and not changed while it runs; it is
// used from the core's goroutine only (it remembers the last mapping hit).
type Map struct {
	ms []Mapping // sorted by Base
	// last is the index of the mapping that answered last: peripheral
	// accesses come in runs to one device.
	last int
}

// Add places a device; overlapping an existing mapping or wrapping past
// 4 GiB is an error naming both.
func (m *Map) Add(mp Mapping) error {
	if mp.Size == 0 || mp.end() > 1<<32 {
		return fmt.Errorf("bus: %s at %#08x size %#x does not fit the address space", mp.Name, mp.Base, mp.Size)
	}
	for _, o := range m.ms {
		if uint64(mp.Base) < o.end() && uint64(o.Base) < mp.end() {
			return fmt.Errorf("bus: %s at %#08x-%#08x overlaps %s at %#08x-%#08x",
				mp.Name, mp.Base, mp.end()-1, o.Name, o.Base, o.end()-1)
		}
	}
	m.ms = append(m.ms, mp)
	sort.Slice(m.ms, func(i, j int) bool { return m.ms[i].Base < m.ms[j].Base })
	m.last = 0
	return nil
}

// Mappings returns the mappings in address order.
func (m *Map) Mappings() []Mapping { return append([]Mapping(nil), m.ms...) }

// Find returns the mapping that holds addr.
func (m *Map) Find(addr uint32) (Mapping, bool) {
	i, ok := m.find(addr)
	if !ok {
		return Mapping{}, false
	}
	return m.ms[i], true
}

func (m *Map) find(addr uint32) (int, bool) {
	if m.last < len(m.ms) {
		if mp := m.ms[m.last]; addr >= mp.Base && uint64(addr) < mp.end() {
			return m.last, true
		}
	}
	i := sort.Search(len(m.ms), func(i int) bool { return m.ms[i].end() > uint64(addr) })
	if i == len(m.ms) || addr < m.ms[i].Base {
		return 0, false
	}
	m.last = i
	return i, true
}

// Load reads size bytes at addr from the device mapped there. An access
// that crosses the end of a mapping is a bus error.
func (m *Map) Load(addr uint32, size int) (uint32, bool) {
	i, ok := m.find(addr)
	if !ok || uint64(addr)+uint64(size) > m.ms[i].end() {
		return 0, false
	}
	mp := m.ms[i]
	return mp.Device.Load(addr-mp.Base, size)
}

// Store writes size bytes at addr to the device mapped there.
func (m *Map) Store(addr uint32, size int, v uint32) bool {
	i, ok := m.find(addr)
	if !ok || uint64(addr)+uint64(size) > m.ms[i].end() {
		return false
	}
	mp := m.ms[i]
	return mp.Device.Store(addr-mp.Base, size, v)
}

// Peeker is a Device that can read a register without the side effects
// of a Load (a status flag cleared by reading, a receive FIFO popped): a
// debugger's memory reads use it.
type Peeker interface {
	Peek(off uint32, size int) (v uint32, ok bool)
}

// Peek reads size bytes at addr for a debugger: through the device's
// Peek if it has one, else its Load.
func (m *Map) Peek(addr uint32, size int) (uint32, bool) {
	i, ok := m.find(addr)
	if !ok || uint64(addr)+uint64(size) > m.ms[i].end() {
		return 0, false
	}
	mp := m.ms[i]
	if p, ok := mp.Device.(Peeker); ok {
		return p.Peek(addr-mp.Base, size)
	}
	return mp.Device.Load(addr-mp.Base, size)
}
