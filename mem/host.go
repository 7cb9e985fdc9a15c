package mem

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"runtime/debug"
	"unsafe"
)

// HostMinAddr is the lowest address Host lets the kernel touch: every
// access below 64 KiB faults without being attempted, so NULL and small
// wild pointers such as (void*)8 — a NULL structure pointer plus a field
// offset — are PARAMETERFAULT even on a system that maps page 0.
const HostMinAddr Addr = 64 << 10

// hostPage is the unit within which a fault is all-or-nothing: the MMU
// grants or refuses a whole page, so a copy that stays inside one page
// either touches every byte or faults on its first access.
const hostPage = 4096

// Host is the process's own address space as application memory: the C SDK
// passes the kernel the host virtual addresses an application hands to a
// system call, and Host reads and writes them in place.
//
// It is fault-safe. Accesses run with runtime/debug.SetPanicOnFault on the
// calling goroutine and recover the fault, so NULL, (void*)8 or an unmapped
// or read-only pointer returns a *Fault instead of killing the process. An
// access that stays inside one page is attempted directly (the MMU makes it
// all-or-nothing); a longer one is first checked against the process's
// mappings, so that — as Memory promises — a fault copies nothing. (A
// mapping changed by another thread between that check and the copy can
// still leave a longer access half done; the *Fault is returned then too.)
//
// Check answers from /proc/self/maps (Linux only: elsewhere every Check
// faults), read once and cached; a range the cache does not cover is
// re-read before it is refused, and any fault during a copy drops the
// cache. A mapping removed after it was cached is
// therefore still reported accessible until the next miss, fault or
// Invalidate — the copy that follows then faults safely.
//
// Host does not implement Protector: host memory has no write protection
// the kernel controls, so a channel's send buffer stays writable while the
// channel is open. Every address must be one the application could use:
// a wild pointer that happens to point into the Go heap is not detected.
type Host struct {
	maps hostMaps
}

// NewHost returns the current process's memory.
func NewHost() *Host { return &Host{} }

// hostPtr turns a host address into a pointer without a uintptr-to-Pointer
// conversion (which vet rightly questions for Go memory): the address is
// foreign memory the Go runtime neither allocated nor moves.
func hostPtr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// hostBytes is [a, a+n) as a byte slice. The caller has checked that the
// range does not wrap and that n fits in an int.
func hostBytes(a Addr, n uint64) []byte {
	return unsafe.Slice((*byte)(hostPtr(uintptr(a))), int(n))
}

// precheck applies the rules that need no memory access: length 0 always
// succeeds (ok false, nil), the low 64 KiB and ranges that wrap fault.
func precheck(a Addr, n uint64, write bool) (bool, error) {
	if n == 0 {
		return false, nil
	}
	if uint64(a)+n < uint64(a) || n > uint64(^uint(0)>>1) {
		return false, &Fault{Addr: a, Len: n, Write: write, Kind: Overflow}
	}
	if a < HostMinAddr {
		return false, &Fault{Addr: a, Len: n, Write: write, Kind: Unmapped}
	}
	return true, nil
}

// onePage reports whether [a, a+n) lies inside one page.
func onePage(a Addr, n uint64) bool {
	return uint64(a)/hostPage == (uint64(a)+n-1)/hostPage
}

// CopyIn implements Memory.
func (h *Host) CopyIn(dst []byte, src Addr) error {
	n := uint64(len(dst))
	if ok, err := precheck(src, n, false); !ok {
		return err
	}
	if !onePage(src, n) {
		if err := h.Check(src, n, false); err != nil {
			return err
		}
	}
	if !faultSafeCopy(dst, hostBytes(src, n)) {
		return h.fault(src, n, false)
	}
	return nil
}

// CopyOut implements Memory.
func (h *Host) CopyOut(dst Addr, src []byte) error {
	n := uint64(len(src))
	if ok, err := precheck(dst, n, true); !ok {
		return err
	}
	if !onePage(dst, n) {
		if err := h.Check(dst, n, true); err != nil {
			return err
		}
	}
	if !faultSafeCopy(hostBytes(dst, n), src) {
		return h.fault(dst, n, true)
	}
	return nil
}

// Zero implements Memory.
func (h *Host) Zero(dst Addr, n uint64) error {
	if ok, err := precheck(dst, n, true); !ok {
		return err
	}
	if !onePage(dst, n) {
		if err := h.Check(dst, n, true); err != nil {
			return err
		}
	}
	if !faultSafeClear(hostBytes(dst, n)) {
		return h.fault(dst, n, true)
	}
	return nil
}

// CopyInWord implements WordCopier: CopyIn into a buffer on the stack.
func (h *Host) CopyInWord(src Addr, size int) (uint64, error) {
	var b [8]byte
	if err := h.CopyIn(b[:wordSize(size)], src); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// CopyOutWord implements WordCopier: CopyOut from a buffer on the stack.
func (h *Host) CopyOutWord(dst Addr, v uint64, size int) error {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], v)
	return h.CopyOut(dst, b[:wordSize(size)])
}

// wordSize is a WordCopier's size, which must be 4 or 8.
func wordSize(size int) int {
	if size != 4 && size != 8 {
		panic(fmt.Sprintf("mem: word of %d bytes, want 4 or 8", size))
	}
	return size
}

// Check implements Checker from the process's mappings: every byte of
// [a, a+n) must lie in a readable mapping, and in a writable one if write.
func (h *Host) Check(a Addr, n uint64, write bool) error {
	if h.maps.hit(a, n, write) {
		return nil
	}
	return h.check(a, n, write)
}

// check is Check past the last mapping's fast path.
func (h *Host) check(a Addr, n uint64, write bool) error {
	if ok, err := precheck(a, n, write); !ok {
		return err
	}
	kind := h.maps.lookup(a, n, write)
	if kind == 0 {
		return nil
	}
	return &Fault{Addr: a, Len: n, Write: write, Kind: kind}
}

// Invalidate drops the cached mappings, e.g. after the program unmapped or
// re-protected memory it had passed to system calls before.
func (h *Host) Invalidate() { h.maps.invalidate() }

// fault builds the *Fault for an access that faulted: the mappings have
// changed since they were cached (or were never consulted), so they are
// re-read to classify it. If they now say the range is fine (it changed
// again), it is reported unmapped.
func (h *Host) fault(a Addr, n uint64, write bool) error {
	h.maps.invalidate()
	kind := h.maps.lookup(a, n, write)
	if kind == 0 {
		kind = Unmapped
	}
	return &Fault{Addr: a, Len: n, Write: write, Kind: kind}
}

// faultSafeCopy copies src to dst and reports false if a memory fault
// interrupted it. Only faults are recovered; any other panic propagates.
func faultSafeCopy(dst, src []byte) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, isFault := r.(runtime.Error); !isFault {
				panic(r)
			}
			ok = false
		}
	}()
	copy(dst, src)
	return true
}

// faultSafeClear zeroes b, reporting false on a memory fault.
func faultSafeClear(b []byte) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			if _, isFault := r.(runtime.Error); !isFault {
				panic(r)
			}
			ok = false
		}
	}()
	clear(b)
	return true
}
