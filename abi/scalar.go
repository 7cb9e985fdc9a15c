package abi

import "github.com/mvnet/mvnet/mem"

// Scalar helpers for the many calls that take a pointer to one integer
// (uint32_t *, uint64_t *, enum *). A memory that implements
// mem.WordCopier (host memory) copies the word itself; otherwise they use
// the pooled scratch buffers. Either way they do not allocate. Both ABIs
// are little-endian and their 4-byte enums are plain uint32 values here.

// ReadUint32 reads a uint32 at p.
func ReadUint32(m mem.Memory, p mem.Addr) (uint32, error) {
	if w, ok := m.(mem.WordCopier); ok {
		v, err := w.CopyInWord(p, 4)
		return uint32(v), err
	}
	s := getScratch()
	defer putScratch(s)
	if err := m.CopyIn(s[:4], p); err != nil {
		return 0, err
	}
	return le.Uint32(s[:4]), nil
}

// WriteUint32 writes v at p.
func WriteUint32(m mem.Memory, p mem.Addr, v uint32) error {
	if w, ok := m.(mem.WordCopier); ok {
		return w.CopyOutWord(p, uint64(v), 4)
	}
	s := getScratch()
	defer putScratch(s)
	le.PutUint32(s[:4], v)
	return m.CopyOut(p, s[:4])
}

// ReadUint64 reads a uint64 at p.
func ReadUint64(m mem.Memory, p mem.Addr) (uint64, error) {
	if w, ok := m.(mem.WordCopier); ok {
		v, err := w.CopyInWord(p, 8)
		return uint64(v), err
	}
	s := getScratch()
	defer putScratch(s)
	if err := m.CopyIn(s[:8], p); err != nil {
		return 0, err
	}
	return le.Uint64(s[:8]), nil
}

// WriteUint64 writes v at p.
func WriteUint64(m mem.Memory, p mem.Addr, v uint64) error {
	if w, ok := m.(mem.WordCopier); ok {
		return w.CopyOutWord(p, uint64(v), 8)
	}
	s := getScratch()
	defer putScratch(s)
	le.PutUint64(s[:8], v)
	return m.CopyOut(p, s[:8])
}
