package mem

import (
	"bytes"
	"testing"
)

func TestAllocAlignment(t *testing.T) {
	a := newTestArena(t, ArenaConfig{SRAMBase: 0x2000_0004, SRAMSize: 64 << 10})
	for _, align := range []uint64{1, 2, 4, 8, 16, 512, 4096} {
		p, err := a.Alloc(10, align)
		if err != nil {
			t.Fatalf("Alloc(10, %d): %v", align, err)
		}
		if uint64(p)%align != 0 {
			t.Errorf("Alloc(10, %d) = %v, not aligned", align, p)
		}
		if p < 0x2000_0004 || p+10 > 0x2000_0004+64<<10 {
			t.Errorf("Alloc(10, %d) = %v, outside SRAM", align, p)
		}
	}
	for _, align := range []uint64{0, 3, 12, 1<<63 + 1} {
		if _, err := a.Alloc(1, align); err == nil {
			t.Errorf("Alloc(1, %d) succeeded", align)
		}
	}
	// An alignment no address in SRAM satisfies fails cleanly.
	if _, err := a.Alloc(1, 1<<63); err == nil {
		t.Error("Alloc(1, 1<<63) succeeded")
	}
}

func TestAllocDistinctAndZeroed(t *testing.T) {
	a := newTestArena(t, ArenaConfig{SRAMSize: 4096})
	p, err := a.Alloc(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	q, err := a.Alloc(0, 1)
	if err != nil || q == p {
		t.Fatalf("two zero-size blocks: %v, %v (%v)", p, q, err)
	}
	r, _ := a.Alloc(64, 8)
	if err := a.CopyOut(r, bytes.Repeat([]byte{0xFF}, 64)); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(r); err != nil {
		t.Fatal(err)
	}
	r2, err := a.Alloc(64, 8)
	if err != nil || r2 != r {
		t.Fatalf("Alloc after Free = %v, %v; want reuse of %v", r2, err, r)
	}
	b, _ := a.Bytes(r2, 64)
	if !bytes.Equal(b, make([]byte, 64)) {
		t.Fatalf("reused block not zeroed: %x", b)
	}
}

func TestAllocExhaustionAndCoalescing(t *testing.T) {
	const size = 4096
	a := newTestArena(t, ArenaConfig{SRAMSize: size})
	var blocks []Addr
	for {
		p, err := a.Alloc(512, 512)
		if err != nil {
			break
		}
		blocks = append(blocks, p)
	}
	if len(blocks) != size/512 {
		t.Fatalf("allocated %d blocks of 512, want %d", len(blocks), size/512)
	}
	if _, err := a.Alloc(1, 1); err == nil {
		t.Fatal("Alloc in full SRAM succeeded")
	}
	// Free in an order that exercises coalescing with the previous block,
	// the next block and both.
	for _, i := range []int{1, 3, 2, 0, 6, 4, 7, 5} {
		if err := a.Free(blocks[i]); err != nil {
			t.Fatalf("Free(%v): %v", blocks[i], err)
		}
	}
	if len(a.free) != 1 || a.free[0] != (span{0x2000_0000, size}) {
		t.Fatalf("free list after freeing everything = %v", a.free)
	}
	p, err := a.Alloc(size, 1)
	if err != nil || p != 0x2000_0000 {
		t.Fatalf("Alloc of all SRAM = %v, %v", p, err)
	}
	if err := a.Free(p); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Alloc(size+1, 1); err == nil {
		t.Fatal("Alloc larger than SRAM succeeded")
	}
}

func TestAllocAlignmentPadStaysFree(t *testing.T) {
	a := newTestArena(t, ArenaConfig{SRAMSize: 4096})
	small, _ := a.Alloc(8, 1) // 0x20000000
	big, err := a.Alloc(512, 512)
	if err != nil || big != 0x2000_0200 {
		t.Fatalf("Alloc(512, 512) = %v, %v", big, err)
	}
	// The padding between small and big is still usable.
	pad, err := a.Alloc(400, 1)
	if err != nil || pad != small+8 {
		t.Fatalf("Alloc into the padding = %v, %v; want %v", pad, err, small+8)
	}
}

func TestFreeErrors(t *testing.T) {
	a := newTestArena(t, ArenaConfig{SRAMSize: 4096})
	p, _ := a.Alloc(16, 16)
	if err := a.Free(p + 1); err == nil {
		t.Error("Free of an interior address succeeded")
	}
	if err := a.Free(0x0800_0000); err == nil {
		t.Error("Free of a flash address succeeded")
	}
	if err := a.Free(p); err != nil {
		t.Fatal(err)
	}
	if err := a.Free(p); err == nil {
		t.Error("double Free succeeded")
	}
}

// TestAllocFreeAllocs: allocating and freeing a block costs no Go
// allocation once the arena's bookkeeping has grown (issue 11: every
// channel's buffers allocated a slice for the split free block).
func TestAllocFreeAllocs(t *testing.T) {
	a := newTestArena(t, ArenaConfig{SRAMSize: 64 << 10})
	// Free blocks: a 4 KiB hole, then the rest of SRAM; each Alloc below
	// splits the hole, with free blocks after it.
	var blocks [3]Addr
	for i := range blocks {
		p, err := a.Alloc(4<<10, 16)
		if err != nil {
			t.Fatal(err)
		}
		blocks[i] = p
	}
	if err := a.Free(blocks[1]); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		p, err := a.Alloc(512, 512)
		if err != nil {
			t.Fatal(err)
		}
		if p < blocks[1] || p >= blocks[2] {
			t.Fatalf("block at %s, not in the hole", p)
		}
		if err := a.Free(p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per Alloc and Free, want 0", allocs)
	}
}
