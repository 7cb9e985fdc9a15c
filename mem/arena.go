package mem

import (
	"errors"
	"fmt"
	"sync"
)

// Default Arena layout, like an STM32U585 (the MCU of the Microvisor Nucleo
// board): 1 MiB of flash at 0x08000000 and 768 KiB of SRAM at 0x20000000.
const (
	DefaultFlashBase Addr   = 0x0800_0000
	DefaultFlashSize uint64 = 1 << 20
	DefaultSRAMBase  Addr   = 0x2000_0000
	DefaultSRAMSize  uint64 = 768 << 10
)

// addrSpace is the size of the Arena's 32-bit address space.
const addrSpace = 1 << 32

// ArenaConfig lays out an Arena. Each zero field takes its default
// (DefaultFlashBase and so on), so a region can never start at address 0.
type ArenaConfig struct {
	FlashBase Addr
	FlashSize uint64
	SRAMBase  Addr
	SRAMSize  uint64
}

// withDefaults returns c with zero fields replaced by the defaults.
func (c ArenaConfig) withDefaults() ArenaConfig {
	if c.FlashBase == 0 {
		c.FlashBase = DefaultFlashBase
	}
	if c.FlashSize == 0 {
		c.FlashSize = DefaultFlashSize
	}
	if c.SRAMBase == 0 {
		c.SRAMBase = DefaultSRAMBase
	}
	if c.SRAMSize == 0 {
		c.SRAMSize = DefaultSRAMSize
	}
	return c
}

// validate checks that both regions lie inside the 32-bit address space and
// do not overlap. It expects defaults already applied.
func (c ArenaConfig) validate() error {
	if c.FlashSize > addrSpace || uint64(c.FlashBase) > addrSpace-c.FlashSize {
		return fmt.Errorf("mem: flash %s does not fit in 32 bits", rangeString(c.FlashBase, c.FlashSize))
	}
	if c.SRAMSize > addrSpace || uint64(c.SRAMBase) > addrSpace-c.SRAMSize {
		return fmt.Errorf("mem: SRAM %s does not fit in 32 bits", rangeString(c.SRAMBase, c.SRAMSize))
	}
	if uint64(c.FlashBase) < uint64(c.SRAMBase)+c.SRAMSize && uint64(c.SRAMBase) < uint64(c.FlashBase)+c.FlashSize {
		return fmt.Errorf("mem: flash %s overlaps SRAM %s",
			rangeString(c.FlashBase, c.FlashSize), rangeString(c.SRAMBase, c.SRAMSize))
	}
	return nil
}

// region is one mapped region of an Arena.
type region struct {
	base Addr
	size uint64
	data []byte // len(data) == size; contents guarded by Arena.mu
}

// span is a range [start, start+size) of addresses.
type span struct {
	start Addr
	size  uint64
}

func (s span) end() Addr { return s.start + Addr(s.size) }

// Arena is an emulated 32-bit address space with one flash region (read-only
// to the application and to the kernel) and one SRAM region (read-write,
// with optional write-protected ranges). It implements Memory and Protector
// and is safe for concurrent use.
type Arena struct {
	cfg   ArenaConfig // immutable after NewArena
	flash region      // the region headers are immutable; contents under mu
	sram  region

	mu        sync.RWMutex
	protected []protRange     // write-protected ranges in SRAM; a handful at most
	onProtect ProtectWatcher  // told of changes to protected; nil: nobody
	free      []span          // SRAM free list, sorted by start, coalesced
	allocated map[Addr]uint64 // live Alloc blocks: address → size
	flashUsed uint64          // bytes of flash handed out by LoadFlash
	crash     *Crash          // the first application crash, or nil
}

var (
	_ Memory    = (*Arena)(nil)
	_ Protector = (*Arena)(nil)
)

// NewArena returns an Arena laid out by cfg (zero fields take defaults),
// with all memory zeroed and all of SRAM free for Alloc.
func NewArena(cfg ArenaConfig) (*Arena, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	a := &Arena{
		cfg:       cfg,
		flash:     region{base: cfg.FlashBase, size: cfg.FlashSize, data: make([]byte, cfg.FlashSize)},
		sram:      region{base: cfg.SRAMBase, size: cfg.SRAMSize, data: make([]byte, cfg.SRAMSize)},
		free:      []span{{cfg.SRAMBase, cfg.SRAMSize}},
		allocated: make(map[Addr]uint64),
	}
	return a, nil
}

// Config returns the Arena's layout, with defaults filled in.
func (a *Arena) Config() ArenaConfig { return a.cfg }

// slice returns the bytes of [p, p+n) for an access, or the kind of fault.
// n must be nonzero. write selects write rules; privileged ignores write
// protection. The caller holds mu (read lock suffices).
func (a *Arena) slice(p Addr, n uint64, write, privileged bool) ([]byte, FaultKind) {
	if uint64(p) > addrSpace || n > addrSpace-uint64(p) {
		return nil, Overflow
	}
	r := &a.sram
	if p < r.base || uint64(p-r.base) >= r.size {
		r = &a.flash
		if p < r.base || uint64(p-r.base) >= r.size {
			return nil, Unmapped
		}
	}
	off := uint64(p - r.base)
	if n > r.size-off {
		return nil, Unmapped
	}
	if write {
		if r == &a.flash {
			return nil, ReadOnly
		}
		if !privileged {
			for _, s := range a.protected {
				if p < s.end() && s.start < p+Addr(n) {
					return nil, Protected
				}
			}
		}
	}
	return r.data[off : off+n : off+n], 0
}

// Check implements Checker: it reports, without touching memory, whether the
// application may read (or, with write, write) every byte of [p, p+n).
func (a *Arena) Check(p Addr, n uint64, write bool) error {
	if n == 0 {
		return nil
	}
	a.mu.RLock()
	_, k := a.slice(p, n, write, false)
	a.mu.RUnlock()
	if k != 0 {
		return &Fault{Addr: p, Len: n, Write: write, Kind: k}
	}
	return nil
}

// CopyIn implements Memory.
func (a *Arena) CopyIn(dst []byte, src Addr) error {
	n := uint64(len(dst))
	if n == 0 {
		return nil
	}
	a.mu.RLock()
	b, k := a.slice(src, n, false, false)
	if k == 0 {
		copy(dst, b)
	}
	a.mu.RUnlock()
	if k != 0 {
		return &Fault{Addr: src, Len: n, Kind: k}
	}
	return nil
}

// CopyOut implements Memory: a write into a protected range faults.
func (a *Arena) CopyOut(dst Addr, src []byte) error {
	return a.copyOut(dst, src, false)
}

// Zero implements Memory: a write into a protected range faults.
func (a *Arena) Zero(dst Addr, n uint64) error {
	return a.zero(dst, n, false)
}

func (a *Arena) copyOut(dst Addr, src []byte, privileged bool) error {
	n := uint64(len(src))
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	b, k := a.slice(dst, n, true, privileged)
	if k == 0 {
		copy(b, src)
	}
	a.mu.Unlock()
	if k != 0 {
		return &Fault{Addr: dst, Len: n, Write: true, Kind: k}
	}
	return nil
}

func (a *Arena) zero(dst Addr, n uint64, privileged bool) error {
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	b, k := a.slice(dst, n, true, privileged)
	if k == 0 {
		clear(b)
	}
	a.mu.Unlock()
	if k != 0 {
		return &Fault{Addr: dst, Len: n, Write: true, Kind: k}
	}
	return nil
}

// Store is the application's own write of src at dst. A write into a
// write-protected range, into flash, into unmapped memory or past the end of
// the address space is an application crash: Store writes nothing, records
// the crash (the first one is kept, see Crashed) and returns it as a *Crash.
// A Store of 0 bytes always succeeds.
func (a *Arena) Store(dst Addr, src []byte) error {
	n := uint64(len(src))
	if n == 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b, k := a.slice(dst, n, true, false)
	if k != 0 {
		return a.recordCrash(dst, n, "store to "+crashWhat(k))
	}
	copy(b, src)
	return nil
}

// Load is the application's own read of len(dst) bytes at src. A read of
// unmapped memory (or past the end of the address space) is an application
// crash, recorded and returned like Store's.
func (a *Arena) Load(dst []byte, src Addr) error {
	n := uint64(len(dst))
	if n == 0 {
		return nil
	}
	a.mu.RLock()
	b, k := a.slice(src, n, false, false)
	if k == 0 {
		copy(dst, b)
		a.mu.RUnlock()
		return nil
	}
	a.mu.RUnlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.recordCrash(src, n, "load from "+crashWhat(k))
}

func crashWhat(k FaultKind) string {
	switch k {
	case ReadOnly:
		return "flash"
	case Protected:
		return "write-protected memory"
	case Overflow:
		return "a range past the end of the address space"
	}
	return "unmapped memory"
}

// recordCrash returns a new *Crash and keeps it if it is the first. The
// caller holds mu for writing.
func (a *Arena) recordCrash(p Addr, n uint64, reason string) *Crash {
	c := &Crash{Addr: p, Len: n, Reason: reason}
	if a.crash == nil {
		first := *c
		a.crash = &first
	}
	return c
}

// Crashed returns (a copy of) the first application crash, or nil.
func (a *Arena) Crashed() *Crash {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.crash == nil {
		return nil
	}
	c := *a.crash
	return &c
}

// Bytes returns a copy of the n bytes at p. It is meant for tests; it fails
// with a *Fault wherever CopyIn would.
func (a *Arena) Bytes(p Addr, n uint64) ([]byte, error) {
	if n == 0 {
		return []byte{}, nil
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	b, k := a.slice(p, n, false, false)
	if k != 0 {
		return nil, &Fault{Addr: p, Len: n, Kind: k}
	}
	return append([]byte(nil), b...), nil
}

// Protect implements Protector: [p, p+n) becomes read-only for the
// application (CopyOut, Zero and Store fault or crash there) until Unprotect.
func (a *Arena) Protect(p Addr, n uint64) error { return a.ProtectAs(p, n, "") }

// ProtectAs implements LabelledProtector: Protect, naming what the range
// holds for crash reports (e.g. "open channel's send buffer").
func (a *Arena) ProtectAs(p Addr, n uint64, what string) error {
	if n == 0 {
		return errors.New("mem: protect: empty range")
	}
	s := span{p, n}
	if !a.inSRAM(p, n) {
		return fmt.Errorf("mem: protect %s: not inside SRAM", rangeString(p, n))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, q := range a.protected {
		if s.start < q.end() && q.start < s.end() {
			return fmt.Errorf("mem: protect %s: overlaps protected %s", rangeString(p, n), rangeString(q.start, q.size))
		}
	}
	a.protected = append(a.protected, protRange{s, what})
	if a.onProtect != nil {
		a.onProtect(p, n, what, true)
	}
	return nil
}

// Unprotect implements Protector: it removes the protected range [p, p+n),
// which must be exactly a range given to Protect.
func (a *Arena) Unprotect(p Addr, n uint64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, q := range a.protected {
		if q.start == p && q.size == n {
			a.protected = append(a.protected[:i], a.protected[i+1:]...)
			if a.onProtect != nil {
				a.onProtect(p, n, q.what, false)
			}
			return nil
		}
	}
	return fmt.Errorf("mem: unprotect %s: not a protected range", rangeString(p, n))
}

// Privileged implements Protector.
func (a *Arena) Privileged() Memory { return privileged{a} }

// inSRAM reports whether [p, p+n) lies wholly in SRAM.
func (a *Arena) inSRAM(p Addr, n uint64) bool {
	r := &a.sram
	return p >= r.base && uint64(p-r.base) <= r.size && n <= r.size-uint64(p-r.base)
}

// privileged is the kernel's own view of an Arena: writes ignore protection.
type privileged struct{ a *Arena }

func (v privileged) CopyIn(dst []byte, src Addr) error  { return v.a.CopyIn(dst, src) }
func (v privileged) CopyOut(dst Addr, src []byte) error { return v.a.copyOut(dst, src, true) }
func (v privileged) Zero(dst Addr, n uint64) error      { return v.a.zero(dst, n, true) }
