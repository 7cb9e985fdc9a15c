package mem

import (
	"fmt"
	"slices"
	"sort"
)

// alignUp rounds p up to a multiple of align (a power of two). ok is false
// if the result does not fit in 64 bits.
func alignUp(p, align uint64) (q uint64, ok bool) {
	q = (p + align - 1) &^ (align - 1)
	return q, q >= p
}

func checkAlign(align uint64) error {
	if align == 0 || align&(align-1) != 0 {
		return fmt.Errorf("mem: alignment %d is not a power of two", align)
	}
	return nil
}

// Alloc returns the address of size bytes of zeroed SRAM aligned to align (a
// power of two, at least 1; the address itself is a multiple of align). A
// size of 0 is allocated as 1 byte, so every live block has a distinct
// address. Alloc fails when no free block is large enough. Allocation is
// first fit over a free list sorted by address.
//
// Allocation and write protection are independent, as on a device: freeing a
// block does not unprotect it.
func (a *Arena) Alloc(size, align uint64) (Addr, error) {
	if err := checkAlign(align); err != nil {
		return 0, err
	}
	if size == 0 {
		size = 1
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, f := range a.free {
		start, ok := alignUp(uint64(f.start), align)
		if !ok {
			continue
		}
		pad := start - uint64(f.start)
		if pad > f.size || f.size-pad < size {
			continue
		}
		// Split f into [pad][block][rest]; keep the non-empty free parts
		// (in place: no allocation per call).
		var buf [2]span
		parts := buf[:0]
		if pad > 0 {
			parts = append(parts, span{f.start, pad})
		}
		if rest := f.size - pad - size; rest > 0 {
			parts = append(parts, span{Addr(start + size), rest})
		}
		a.free = slices.Replace(a.free, i, i+1, parts...)
		p := Addr(start)
		a.allocated[p] = size
		off := uint64(p - a.sram.base)
		clear(a.sram.data[off : off+size])
		return p, nil
	}
	return 0, fmt.Errorf("mem: out of memory: no free block of %d bytes aligned to %d", size, align)
}

// Free returns a block obtained from Alloc. It fails if p is not the address
// of a live block. Adjacent free blocks are coalesced.
func (a *Arena) Free(p Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	size, ok := a.allocated[p]
	if !ok {
		return fmt.Errorf("mem: free %s: not an allocated block", p)
	}
	delete(a.allocated, p)
	s := span{p, size}
	i := sort.Search(len(a.free), func(i int) bool { return a.free[i].start > p })
	// Coalesce with the next block, then with the previous one.
	if i < len(a.free) && s.end() == a.free[i].start {
		s.size += a.free[i].size
		a.free = append(a.free[:i], a.free[i+1:]...)
	}
	if i > 0 && a.free[i-1].end() == s.start {
		a.free[i-1].size += s.size
		return nil
	}
	a.free = append(a.free, span{})
	copy(a.free[i+1:], a.free[i:])
	a.free[i] = s
	return nil
}

// LoadFlash places data in flash, at the next free address aligned to align
// (a power of two), and returns that address. It is for setting up an
// application's read-only data (string constants, certificates) before it
// runs; flash is never freed. Empty data takes one byte, so every call gets
// a distinct address.
func (a *Arena) LoadFlash(data []byte, align uint64) (Addr, error) {
	if err := checkAlign(align); err != nil {
		return 0, err
	}
	size := max(uint64(len(data)), 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	r := &a.flash
	start, ok := alignUp(uint64(r.base)+a.flashUsed, align)
	if !ok || start-uint64(r.base) > r.size || size > r.size-(start-uint64(r.base)) {
		return 0, fmt.Errorf("mem: flash full: no room for %d bytes aligned to %d", len(data), align)
	}
	off := start - uint64(r.base)
	copy(r.data[off:], data)
	a.flashUsed = off + size
	return Addr(start), nil
}
