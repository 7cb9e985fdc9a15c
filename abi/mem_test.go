package abi_test

import "github.com/mvnet/mvnet/mem"

// flatMem is application memory for the tests: len(b) bytes mapped at base,
// nothing else. Every access outside faults with a fresh *mem.Fault, kept
// in last so tests can check that the codecs return it unchanged.
type flatMem struct {
	base mem.Addr
	b    []byte
	last error
}

func newFlatMem(base mem.Addr, n int) *flatMem { return &flatMem{base: base, b: make([]byte, n)} }

func (f *flatMem) span(a mem.Addr, n uint64, write bool) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	end := uint64(a) + n
	if end < uint64(a) || a < f.base || end > uint64(f.base)+uint64(len(f.b)) {
		kind := mem.Unmapped
		if end < uint64(a) {
			kind = mem.Overflow
		}
		f.last = &mem.Fault{Addr: a, Len: n, Write: write, Kind: kind}
		return nil, f.last
	}
	return f.b[a-f.base : end-uint64(f.base)], nil
}

func (f *flatMem) CopyIn(dst []byte, src mem.Addr) error {
	s, err := f.span(src, uint64(len(dst)), false)
	if err != nil {
		return err
	}
	copy(dst, s)
	return nil
}

func (f *flatMem) CopyOut(dst mem.Addr, src []byte) error {
	s, err := f.span(dst, uint64(len(src)), true)
	if err != nil {
		return err
	}
	copy(s, src)
	return nil
}

func (f *flatMem) Zero(dst mem.Addr, n uint64) error {
	s, err := f.span(dst, n, true)
	if err != nil {
		return err
	}
	clear(s)
	return nil
}

// at returns the mapped bytes from a on.
func (f *flatMem) at(a mem.Addr) []byte { return f.b[a-f.base:] }
