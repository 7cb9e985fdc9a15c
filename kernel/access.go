package kernel

import (
	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// Limits from spec/abi.md ("Limits in one place"), whose one home is
// package abi (abi/limits.go): the cloud uses the same constants.
const (
	maxCentres        = abi.MaxNotificationCentres
	minNotifyBuffer   = abi.MinNotificationBuffer
	notificationSize  = abi.NotificationSize
	maxNetworkHandles = abi.MaxNetworkHandles
	maxChannels       = abi.MaxChannels
	maxOpensPerSecond = abi.MaxChannelOpensPerSecond
	channelBufferUnit = abi.ChannelBufferUnit
	maxHTTPHeaders    = abi.MaxHTTPHeaders
	deviceIDLen       = abi.DeviceIDLen
)

// The kernel's own facts of the interface.
const (
	maxUsableIRQ        = abi.NumIRQs - 1 // STM32U585: IRQn 0..124
	maxEndpointLen      = 0               // spec/abi.md: endpoint must be empty
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
// dst, through the kernel's bounce buffer: the caller holds k.mu. (A local
// array would escape to the heap on every call, passed through the
// mem.Memory interface.)
func (k *Kernel) copyWithin(dst, src mem.Addr, n uint64) error {
	b := &k.copyBuf
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
