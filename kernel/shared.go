package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// The one home of the mechanisms several system calls share: copying
// across a ring's wrap, telling whether a buffer overlaps one the kernel
// already writes into, closing a handle through a pointer, and reading a
// 4-byte attribute of a live handle.

// ringPieces calls f for the one or two pieces that n bytes at position
// pos of a stream (counted from its start, or an offset below size) occupy
// in a ring of size bytes at base, wrapping at its end: f gets the piece's
// address, how many bytes came before it, and its length.
func ringPieces(base mem.Addr, size uint32, pos, n uint64, f func(a mem.Addr, done, n uint64) error) error {
	off := pos % uint64(size)
	first := min(n, uint64(size)-off)
	if err := f(base+mem.Addr(off), 0, first); err != nil {
		return err
	}
	if first < n {
		return f(base, first, n-first)
	}
	return nil
}

// ringWrite writes p into the ring at base at position pos, through the
// kernel's privileged view (a send ring is write-protected from the
// application, not from the kernel).
func (k *Kernel) ringWrite(base mem.Addr, size uint32, pos uint64, p []byte) {
	_ = ringPieces(base, size, pos, uint64(len(p)), func(a mem.Addr, done, n uint64) error {
		return k.kmem.CopyOut(a, p[done:done+n])
	})
}

// ringRead reads len(dst) bytes of the ring at base from position pos.
func (k *Kernel) ringRead(base mem.Addr, size uint32, pos uint64, dst []byte) {
	_ = ringPieces(base, size, pos, uint64(len(dst)), func(a mem.Addr, done, n uint64) error {
		return k.kmem.CopyIn(dst[done:done+n], a)
	})
}

// ringCopyOut copies n bytes of the ring at base from position pos to the
// application's dst.
func (k *Kernel) ringCopyOut(base mem.Addr, size uint32, pos uint64, dst mem.Addr, n uint64) error {
	return ringPieces(base, size, pos, n, func(a mem.Addr, done, n uint64) error {
		return k.copyWithin(dst+mem.Addr(done), a, n)
	})
}

// rangesOverlap reports whether [a, a+an) and [b, b+bn) share a byte.
func rangesOverlap(a mem.Addr, an uint64, b mem.Addr, bn uint64) bool {
	return uint64(a) < uint64(b)+bn && uint64(b) < uint64(a)+an
}

// bufferInUseLocked reports whether [p, p+n) overlaps a buffer the kernel
// writes into: a channel's receive or send ring, a notification ring or
// the server log buffer. Sharing one would corrupt one with the other.
func (k *Kernel) bufferInUseLocked(p mem.Addr, n uint64) bool {
	for _, ch := range k.chans {
		if rangesOverlap(p, n, ch.rx, uint64(ch.rxLen)) || rangesOverlap(p, n, ch.tx, uint64(ch.txLen)) {
			return true
		}
	}
	for _, c := range k.centres {
		if rangesOverlap(p, n, c.buf, uint64(c.size)) {
			return true
		}
	}
	return k.logs.init && rangesOverlap(p, n, k.logs.buf, uint64(k.logs.size))
}

// closeHandle is the sequence of every call that closes or releases a
// handle through a pointer (mvCloseNotifications, mvReleaseNetwork,
// mvCloseChannel, mvCloseSystemNotification). spec/abi.md: PARAMETERFAULT
// (the pointer cannot be read and written), INVALIDHANDLE (no live handle
// of this kind); then zero is written through the pointer ("Closing/
// releasing a resource writes zero through the caller's pointer"), the
// handle leaves live and is freed, and release (if not nil) undoes the
// rest, all under the kernel's lock.
func closeHandle[T any](k *Kernel, handlePtr mem.Addr, live map[uint32]T, release func(h uint32, v T)) abi.Status {
	h, err := k.abi.ReadHandle(k.mem, handlePtr)
	if err != nil || !k.checkW(handlePtr, uint64(k.abi.HandleSize())) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := live[h]
	if !ok {
		return abi.StatusInvalidHandle
	}
	if k.abi.WriteHandle(k.mem, handlePtr, 0) != nil {
		return abi.StatusParameterFault
	}
	delete(live, h)
	k.freeHandleLocked(h)
	if release != nil {
		release(h, v)
	}
	return abi.StatusOkay
}

// readAttr is the sequence of the calls that write a 4-byte attribute of a
// live handle (mvGetNetworkStatus, mvGetChannelClosureReason).
// spec/abi.md: PARAMETERFAULT (out not writable), INVALIDHANDLE (no live
// handle of this kind); get runs under the kernel's lock.
func readAttr[T any](k *Kernel, h uint32, out mem.Addr, live map[uint32]T, get func(T) uint32) abi.Status {
	if !k.checkW(out, 4) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	v, ok := live[h]
	var x uint32
	if ok {
		x = get(v)
	}
	k.mu.Unlock()
	if !ok {
		return abi.StatusInvalidHandle
	}
	if k.put32(out, x) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}
