// Package mem is application memory as the kernel sees it.
//
// The kernel never holds an application pointer as a Go pointer: every read
// and write of application memory goes through the Memory interface, which
// takes a typed address (Addr) and returns a *Fault when any byte of the range
// is inaccessible. Nothing is copied when an access faults, so a system call
// that sees a fault has not changed application memory.
//
// Arena is the emulated 32-bit address space of a Microvisor device: one
// read-only flash region and one read-write SRAM region, everything else
// unmapped (address 0 is never mapped, so a NULL pointer always faults). It
// also implements Protector, the write protection the kernel puts on a
// channel's send buffer while the channel is open (spec/abi.md,
// mvOpenChannel), and it distinguishes the kernel's accesses on the
// application's behalf (CopyIn, CopyOut, Zero: a bad address is a *Fault the
// kernel turns into PARAMETERFAULT) from the application's own accesses
// (Load, Store: a bad address is an application crash, *Crash).
//
// # Rules common to every access
//
//   - An access of length 0 always succeeds, at any address, and touches
//     nothing.
//   - An access whose end, addr+len, lies beyond 2^32 (the top of the 32-bit
//     address space) faults with Kind Overflow, whatever is mapped.
//   - Otherwise the access succeeds only if [addr, addr+len) lies wholly
//     inside one mapped region; a range that touches unmapped memory, or spans
//     two regions, faults with Kind Unmapped.
//   - A write (CopyOut, Zero) wholly inside flash faults with Kind ReadOnly; a
//     write inside SRAM that overlaps a protected range faults with Kind
//     Protected, except through Privileged().
package mem

import "fmt"

// Addr is an application address. In an Arena addresses are 32-bit; the type
// is 64 bits wide so that host memory (the C SDK) can use the same interface.
type Addr uint64

// String formats the address in hex, e.g. 0x20000000.
func (a Addr) String() string { return fmt.Sprintf("%#08x", uint64(a)) }

// FaultKind says why an access faulted.
type FaultKind int

// The kinds of fault. The zero FaultKind is not a fault.
const (
	// Unmapped: some byte of the range is outside every mapped region, or
	// the range spans two regions.
	Unmapped FaultKind = iota + 1
	// ReadOnly: a write into flash.
	ReadOnly
	// Protected: a write overlapping a write-protected range.
	Protected
	// Overflow: addr+len is past the end of the address space.
	Overflow
)

// String names the kind, e.g. "unmapped".
func (k FaultKind) String() string {
	switch k {
	case Unmapped:
		return "unmapped"
	case ReadOnly:
		return "read-only"
	case Protected:
		return "write-protected"
	case Overflow:
		return "wraps past the end of the address space"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a failed access to application memory by the kernel. The kernel
// reports it to the application as PARAMETERFAULT (or LATEFAULT).
type Fault struct {
	Addr  Addr   // the first address of the access
	Len   uint64 // the length of the access in bytes
	Write bool   // the access was a write
	Kind  FaultKind
}

// Error names the access, its range and the kind of fault, e.g.
// "mem: write of 4 bytes at [0x08000000, 0x08000004): read-only".
func (f *Fault) Error() string {
	op := "read"
	if f.Write {
		op = "write"
	}
	return fmt.Sprintf("mem: %s of %d bytes at %s: %s", op, f.Len, rangeString(f.Addr, f.Len), f.Kind)
}

// Crash is an application crash caused by the application's own access to
// its memory, e.g. a store into a write-protected range.
type Crash struct {
	Addr   Addr   // the first address of the access
	Len    uint64 // the length of the access in bytes
	Reason string // what happened, e.g. "store to write-protected memory"
}

// Error describes the crash.
func (c *Crash) Error() string {
	return fmt.Sprintf("mem: application crash: %s at %s (%d bytes)", c.Reason, rangeString(c.Addr, c.Len), c.Len)
}

// rangeString formats [a, a+n); the end may exceed 32 or even 64 bits.
func rangeString(a Addr, n uint64) string {
	end := uint64(a) + n
	if end < uint64(a) {
		return fmt.Sprintf("[%s, 2^64+%#x)", a, end)
	}
	return fmt.Sprintf("[%s, %s)", a, Addr(end))
}

// Memory is application memory as the kernel accesses it on the
// application's behalf. Implementations are safe for concurrent use.
type Memory interface {
	// CopyIn reads len(dst) bytes of application memory at src into dst.
	// It returns a *Fault, and copies nothing, if any byte of
	// [src, src+len(dst)) is inaccessible.
	CopyIn(dst []byte, src Addr) error
	// CopyOut writes src into application memory at dst. Unmapped memory,
	// flash and write-protected ranges give a *Fault; nothing is written
	// then.
	CopyOut(dst Addr, src []byte) error
	// Zero writes n zero bytes at dst, by the same rules as CopyOut.
	Zero(dst Addr, n uint64) error
}

// WordCopier is implemented by memories that copy one little-endian word
// (size 4 or 8 bytes) in or out without a buffer from the caller, by the
// same rules as CopyIn and CopyOut. abi's scalar helpers use it when the
// memory has it: a slice passed through the Memory interface escapes to the
// heap, so without it every 4-byte result needs a pooled buffer — a cost
// the cheapest system calls feel (docs/performance.md, the C SDK).
type WordCopier interface {
	CopyInWord(src Addr, size int) (uint64, error)
	CopyOutWord(dst Addr, v uint64, size int) error
}

// Protector is implemented by memories that support write protection (the
// Arena does; host memory does not).
type Protector interface {
	// Protect makes [a, a+n) read-only for the application. It fails if
	// n is 0, the range is not wholly in SRAM, or it overlaps a range that
	// is already protected.
	Protect(a Addr, n uint64) error
	// Unprotect removes exactly a range previously given to Protect.
	Unprotect(a Addr, n uint64) error
	// Privileged returns a view for the kernel's own writes (e.g. into a
	// channel's protected send ring): it ignores write protection and still
	// faults on unmapped memory and flash.
	Privileged() Memory
}

// Checker is implemented by memories that can tell whether a range is
// accessible without touching it. The kernel uses it to report
// PARAMETERFAULT before a call changes any state, as spec/abi.md orders.
type Checker interface {
	Check(a Addr, n uint64, write bool) error
}
