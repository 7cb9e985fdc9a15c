package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// Limits from spec/abi.md ("Limits in one place").
const (
	maxCentres          = 32  // notification centres at once
	minNotifyBuffer     = 32  // bytes
	notificationSize    = 16  // sizeof(struct MvNotification)
	maxNetworkHandles   = 128 // network handles at once
	maxChannels         = 4   // channels open at once
	maxOpensPerSecond   = 8   // channel opens within any one second
	channelBufferUnit   = 512 // channel buffers: multiples of 512, 512-aligned
	maxHTTPHeaders      = 32
	deviceIDLen         = 34
	maxUsableIRQ        = 124 // STM32U585: IRQn 0..124
	maxEndpointLen      = 0   // spec/abi.md: endpoint must be empty
	networkParamVersion = 1
)

// checkW reports whether [p, p+n) is writable by the application.
func (k *Kernel) checkW(p mem.Addr, n uint64) bool {
	if c, ok := k.mem.(mem.Checker); ok {
		return c.Check(p, n, true) == nil
	}
	// Without a checker, probe readability; writability is then found
	// by the write itself.
	return k.probe(p, n)
}

// checkR reports whether [p, p+n) is readable by the application.
func (k *Kernel) checkR(p mem.Addr, n uint64) bool {
	if c, ok := k.mem.(mem.Checker); ok {
		return c.Check(p, n, false) == nil
	}
	return k.probe(p, n)
}

func (k *Kernel) probe(p mem.Addr, n uint64) bool {
	var b [64]byte
	for n > 0 {
		c := min(n, uint64(len(b)))
		if k.mem.CopyIn(b[:c], p) != nil {
			return false
		}
		p += mem.Addr(c)
		n -= c
	}
	return true
}

func (k *Kernel) put32(p mem.Addr, v uint32) error { return abi.WriteUint32(k.mem, p, v) }

func (k *Kernel) put64(p mem.Addr, v uint64) error { return abi.WriteUint64(k.mem, p, v) }

// copyWithin copies n bytes from kernel-readable src to the application's
// dst, through a bounded buffer.
func (k *Kernel) copyWithin(dst, src mem.Addr, n uint64) error {
	var b [512]byte
	for n > 0 {
		c := min(n, uint64(len(b)))
		if err := k.kmem.CopyIn(b[:c], src); err != nil {
			return err
		}
		if err := k.mem.CopyOut(dst, b[:c]); err != nil {
			return err
		}
		src += mem.Addr(c)
		dst += mem.Addr(c)
		n -= c
	}
	return nil
}

// rangesOverlap reports whether [a, a+an) and [b, b+bn) share a byte.
func rangesOverlap(a mem.Addr, an uint64, b mem.Addr, bn uint64) bool {
	return uint64(a) < uint64(b)+bn && uint64(b) < uint64(a)+an
}
