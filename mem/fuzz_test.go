package mem

import (
	"bytes"
	"errors"
	"math/bits"
	"testing"
)

// fuzzLayouts are small arenas whose edges random inputs hit often: regions
// adjacent to each other, and SRAM ending exactly at the top of the address
// space. Each has one protected range in SRAM.
var fuzzLayouts = []struct {
	cfg    ArenaConfig
	window Addr // addresses are folded into [window, window+0x4000) half the time
	prot   span
}{
	{ArenaConfig{FlashBase: 0x1000, FlashSize: 0x1000, SRAMBase: 0x2000, SRAMSize: 0x1000}, 0, span{0x2400, 0x100}},
	{ArenaConfig{FlashBase: 0x1000, FlashSize: 0x800, SRAMBase: 0xFFFF_F000, SRAMSize: 0x1000}, 0xFFFF_C000, span{0xFFFF_FF00, 0x100}},
}

// fuzzExpect computes, independently of the Arena, the outcome of an access:
// 0 for success or the kind of fault, and for success which region (0 flash,
// 1 SRAM) and the offset in it.
func fuzzExpect(cfg ArenaConfig, prot span, addr, n uint64, write, privileged bool) (kind FaultKind, reg int, off uint64) {
	if n == 0 {
		return 0, -1, 0
	}
	end, carry := bits.Add64(addr, n, 0)
	if carry != 0 || end > 1<<32 {
		return Overflow, -1, 0
	}
	regions := [2][2]uint64{
		{uint64(cfg.FlashBase), uint64(cfg.FlashBase) + cfg.FlashSize},
		{uint64(cfg.SRAMBase), uint64(cfg.SRAMBase) + cfg.SRAMSize},
	}
	reg = -1
	for i, r := range regions {
		if addr >= r[0] && end <= r[1] {
			reg, off = i, addr-r[0]
		}
	}
	switch {
	case reg < 0:
		return Unmapped, -1, 0
	case write && reg == 0:
		return ReadOnly, -1, 0
	case write && !privileged && addr < uint64(prot.start)+prot.size && uint64(prot.start) < end:
		return Protected, -1, 0
	}
	return 0, reg, off
}

// FuzzArenaAccess checks that CopyIn, CopyOut, Zero (plain and privileged),
// Store, Load and Bytes never panic, fault exactly when the range is not
// wholly inside one mapped region (or is a forbidden write), and change
// memory exactly as a simple model says.
func FuzzArenaAccess(f *testing.F) {
	f.Add(uint64(0x2000), uint64(4), uint8(1))
	f.Add(uint64(0x2FFF), uint64(1), uint8(0))
	f.Add(uint64(0x2FFF), uint64(2), uint8(2))
	f.Add(uint64(0x1FFF), uint64(2), uint8(0x80))
	f.Add(uint64(0x1000), uint64(1), uint8(1))
	f.Add(uint64(0x23FF), uint64(2), uint8(1))
	f.Add(uint64(0x23FF), uint64(2), uint8(3))
	f.Add(uint64(0xFFFF_FFFF), uint64(1), uint8(0x41))
	f.Add(uint64(0xFFFF_FFFF), uint64(2), uint8(0x42))
	f.Add(uint64(0xFFFF_F000), uint64(0x1000), uint8(0x44))
	f.Add(uint64(0x2000), ^uint64(0), uint8(2))
	f.Add(^uint64(0), uint64(1), uint8(0))
	f.Add(uint64(0), uint64(0), uint8(5))
	f.Add(uint64(0x2400), uint64(1), uint8(5))
	f.Add(uint64(0x12345), uint64(0x1234), uint8(0xC6))
	f.Fuzz(func(t *testing.T, addr, n uint64, op uint8) {
		l := fuzzLayouts[op>>6&1]
		if op&0x80 != 0 {
			addr = uint64(l.window) + addr%0x4000
			n %= 0x1100
		}
		a, err := NewArena(l.cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Fill both regions with a pattern and keep a model of them.
		model := [2][]byte{make([]byte, l.cfg.FlashSize), make([]byte, l.cfg.SRAMSize)}
		for i := range model {
			for j := range model[i] {
				model[i][j] = byte(j*7 + i + 1)
			}
		}
		if p, err := a.LoadFlash(model[0], 1); err != nil || p != l.cfg.FlashBase {
			t.Fatalf("LoadFlash = %v, %v", p, err)
		}
		if err := a.Privileged().CopyOut(l.cfg.SRAMBase, model[1]); err != nil {
			t.Fatal(err)
		}
		if err := a.Protect(l.prot.start, l.prot.size); err != nil {
			t.Fatal(err)
		}

		const maxBuf = 1 << 16 // CopyIn/CopyOut need a real buffer
		p := Addr(addr)
		src := bytes.Repeat([]byte{0xEE}, int(min(n, maxBuf)))
		var (
			gotErr        error
			write, priv   bool
			crash, zeroOp bool
			readDst       []byte
		)
		switch op & 7 {
		case 0, 7:
			if n > maxBuf {
				return
			}
			readDst = bytes.Repeat([]byte{0x55}, int(n))
			gotErr = a.CopyIn(readDst, p)
		case 1:
			if n > maxBuf {
				return
			}
			write, gotErr = true, a.CopyOut(p, src)
		case 2:
			write, zeroOp, gotErr = true, true, a.Zero(p, n)
		case 3:
			if n > maxBuf {
				return
			}
			write, priv, gotErr = true, true, a.Privileged().CopyOut(p, src)
		case 4:
			write, priv, zeroOp, gotErr = true, true, true, a.Privileged().Zero(p, n)
		case 5:
			if n > maxBuf {
				return
			}
			write, crash, gotErr = true, true, a.Store(p, src)
		case 6:
			if n > maxBuf {
				return
			}
			readDst = bytes.Repeat([]byte{0x55}, int(n))
			crash, gotErr = true, a.Load(readDst, p)
			if gotErr == nil {
				// Bytes follows the same read rules.
				b, err := a.Bytes(p, n)
				if err != nil || !bytes.Equal(b, readDst) {
					t.Fatalf("Bytes disagrees with Load: %v", err)
				}
			}
		}
		want, reg, off := fuzzExpect(l.cfg, l.prot, addr, n, write, priv)

		switch {
		case want == 0 && gotErr != nil:
			t.Fatalf("op %d at %#x+%d: unexpected error %v", op&7, addr, n, gotErr)
		case want != 0 && gotErr == nil:
			t.Fatalf("op %d at %#x+%d: succeeded, want fault %v", op&7, addr, n, want)
		case want != 0 && crash:
			var c *Crash
			if !errors.As(gotErr, &c) || c.Addr != p || c.Len != n {
				t.Fatalf("op %d at %#x+%d: %v, want *Crash", op&7, addr, n, gotErr)
			}
			if a.Crashed() == nil {
				t.Fatal("crash not recorded")
			}
		case want != 0:
			var f *Fault
			if !errors.As(gotErr, &f) {
				t.Fatalf("op %d at %#x+%d: %v (%T), want *Fault", op&7, addr, n, gotErr, gotErr)
			}
			if f.Kind != want || f.Addr != p || f.Len != n || f.Write != write {
				t.Fatalf("op %d at %#x+%d: fault %+v, want kind %v write %v", op&7, addr, n, *f, want, write)
			}
			_ = f.Error()
		}
		if !crash && a.Crashed() != nil {
			t.Fatal("kernel access recorded a crash")
		}

		// Apply the expected effect to the model and compare everything.
		if want == 0 && reg >= 0 {
			m := model[reg][off : off+n]
			switch {
			case readDst != nil:
				if !bytes.Equal(readDst, m) {
					t.Fatalf("read %#x+%d: got %x, want %x", addr, n, readDst, m)
				}
			case zeroOp:
				clear(m)
			case write:
				copy(m, src)
			}
		} else if readDst != nil && !bytes.Equal(readDst, bytes.Repeat([]byte{0x55}, len(readDst))) {
			t.Fatal("faulting read wrote its destination")
		}
		for i, base := range []Addr{l.cfg.FlashBase, l.cfg.SRAMBase} {
			b, err := a.Bytes(base, uint64(len(model[i])))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, model[i]) {
				t.Fatalf("op %d at %#x+%d: region %d differs from the model", op&7, addr, n, i)
			}
		}
	})
}
