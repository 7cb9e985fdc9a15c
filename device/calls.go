package device

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// The typed calls below mirror the system calls one to one. Each returns the
// kernel's status; output values are meaningful only when it is OKAY. An
// error is returned only when the device API itself failed (for example it
// ran out of application memory for the arguments).

func (d *Device) loadU32(p mem.Addr) uint32 {
	var b [4]byte
	_ = d.Arena.Load(b[:], p)
	return binary.LittleEndian.Uint32(b[:])
}

func (d *Device) loadU64(p mem.Addr) uint64 {
	var b [8]byte
	_ = d.Arena.Load(b[:], p)
	return binary.LittleEndian.Uint64(b[:])
}

// GetMicroseconds is mvGetMicroseconds.
func (d *Device) GetMicroseconds() (uint64, abi.Status) {
	var v uint64
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		st := d.call("mvGetMicroseconds", func() abi.Status { return d.Kernel.GetMicroseconds(p) }, func() string { return fmt.Sprintf("µs=%d", d.loadU64(p)) }, nil)
		v = d.loadU64(p)
		return st
	})
	return v, st
}

// GetWallTime is mvGetWallTime: µs since the Unix epoch.
func (d *Device) GetWallTime() (uint64, abi.Status) {
	var v uint64
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		st := d.call("mvGetWallTime", func() abi.Status { return d.Kernel.GetWallTime(p) }, func() string {
			return fmt.Sprintf("wall=%s", time.UnixMicro(int64(d.loadU64(p))).UTC().Format(time.RFC3339Nano))
		}, nil)
		v = d.loadU64(p)
		return st
	})
	return v, st
}

// GetDeviceID is mvGetDeviceId with a 34-byte buffer.
func (d *Device) GetDeviceID() (string, abi.Status) {
	var id string
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(34)
		st := d.call("mvGetDeviceId", func() abi.Status { return d.Kernel.GetDeviceID(p, 34) }, func() string { b, _ := d.Arena.Bytes(p, 34); return "id=" + string(b) }, func() string { return "length=34" })
		b := make([]byte, 34)
		_ = d.Arena.Load(b, p)
		id = string(b)
		return st
	})
	return id, st
}

// RequestNetwork is mvRequestNetwork (version 1) with notifications to c.
func (d *Device) RequestNetwork(c *Centre, tag uint32) (uint32, abi.Status) {
	var h uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		params := s.alloc(uint64(d.ABI.Struct("MvRequestNetworkParams").Size()))
		out := s.alloc(8)
		_ = d.ABI.WriteRequestNetworkParams(d.Arena, params, abi.RequestNetworkParams{Version: 1, NotificationHandle: c.Handle, NotificationTag: tag})
		st := d.call("mvRequestNetwork", func() abi.Status { return d.Kernel.RequestNetwork(params, out) }, func() string { return d.handleAt(out) },
			func() string { return fmt.Sprintf("notification=%#x tag=%#x", c.Handle, tag) })
		h, _ = d.ABI.ReadHandle(d.Arena, out)
		return st
	})
	return h, st
}

// ReleaseNetwork is mvReleaseNetwork.
func (d *Device) ReleaseNetwork(h uint32) abi.Status {
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		_ = d.ABI.WriteHandle(d.Arena, p, h)
		return d.call("mvReleaseNetwork", func() abi.Status { return d.Kernel.ReleaseNetwork(p) }, nil, func() string { return fmt.Sprintf("handle=%#x", h) })
	})
	return st
}

// GetNetworkStatus is mvGetNetworkStatus.
func (d *Device) GetNetworkStatus(h uint32) (abi.NetworkStatus, abi.Status) {
	var v uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(4)
		st := d.call("mvGetNetworkStatus", func() abi.Status { return d.Kernel.GetNetworkStatus(h, p) }, func() string { return "status=" + abi.NetworkStatus(d.loadU32(p)).String() }, func() string { return fmt.Sprintf("handle=%#x", h) })
		v = d.loadU32(p)
		return st
	})
	return abi.NetworkStatus(v), st
}

// GetNetworkReasons is mvGetNetworkReasons.
func (d *Device) GetNetworkReasons() (abi.NetworkReason, uint32, abi.Status) {
	var r, n uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		rp, np := s.alloc(4), s.alloc(4)
		st := d.call("mvGetNetworkReasons", func() abi.Status { return d.Kernel.GetNetworkReasons(rp, np) }, func() string {
			return fmt.Sprintf("reasons=%s handles=%d", abi.NetworkReason(d.loadU32(rp)), d.loadU32(np))
		}, nil)
		r, n = d.loadU32(rp), d.loadU32(np)
		return st
	})
	return abi.NetworkReason(r), n, st
}

// ChannelConfig describes a channel for OpenChannel. Buffer sizes must be
// multiples of 512; OpenChannel allocates them 512-byte aligned.
type ChannelConfig struct {
	Centre  *Centre
	Tag     uint32
	Network uint32
	Type    abi.ChannelType
	RxSize  uint32
	TxSize  uint32
}

// Channel is an open channel and its buffers in application memory.
type Channel struct {
	Handle uint32
	Type   abi.ChannelType
	Rx, Tx mem.Addr
	RxSize uint32
	TxSize uint32
}

// OpenChannel allocates 512-byte-aligned buffers and calls mvOpenChannel.
func (d *Device) OpenChannel(cfg ChannelConfig) (*Channel, abi.Status, error) {
	rx, err := d.Arena.Alloc(uint64(cfg.RxSize), 512)
	if err != nil {
		return nil, 0, err
	}
	tx, err := d.Arena.Alloc(uint64(cfg.TxSize), 512)
	if err != nil {
		_ = d.Arena.Free(rx)
		return nil, 0, err
	}
	ch := &Channel{Type: cfg.Type, Rx: rx, Tx: tx, RxSize: cfg.RxSize, TxSize: cfg.TxSize}
	st, err := d.with(func(s *scratch) abi.Status {
		params := s.alloc(uint64(d.ABI.Struct("MvOpenChannelParams").Size()))
		out := s.alloc(8)
		_ = d.ABI.WriteOpenChannelParams(d.Arena, params, abi.OpenChannelParams{
			Version: 1, NotificationHandle: cfg.Centre.Handle, NotificationTag: cfg.Tag, NetworkHandle: cfg.Network,
			ReceiveBuffer: rx, ReceiveBufferLen: cfg.RxSize, SendBuffer: tx, SendBufferLen: cfg.TxSize, ChannelType: cfg.Type,
		})
		st := d.call("mvOpenChannel", func() abi.Status { return d.Kernel.OpenChannel(params, out) }, func() string { return d.handleAt(out) },
			func() string {
				return fmt.Sprintf("type=%s network=%#x rx=%d tx=%d tag=%#x", cfg.Type, cfg.Network, cfg.RxSize, cfg.TxSize, cfg.Tag)
			})
		ch.Handle, _ = d.ABI.ReadHandle(d.Arena, out)
		return st
	})
	if err != nil || st != abi.StatusOkay {
		_ = d.Arena.Free(rx)
		_ = d.Arena.Free(tx)
		return nil, st, err
	}
	return ch, st, nil
}

// CloseChannel is mvCloseChannel; the buffers are freed once it succeeds.
func (d *Device) CloseChannel(ch *Channel) abi.Status {
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		_ = d.ABI.WriteHandle(d.Arena, p, ch.Handle)
		return d.call("mvCloseChannel", func() abi.Status { return d.Kernel.CloseChannel(p) }, nil, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
	})
	if st == abi.StatusOkay {
		_ = d.Arena.Free(ch.Rx)
		_ = d.Arena.Free(ch.Tx)
	}
	return st
}

// GetChannelClosureReason is mvGetChannelClosureReason.
func (d *Device) GetChannelClosureReason(ch *Channel) (abi.ClosureReason, abi.Status) {
	var v uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(4)
		st := d.call("mvGetChannelClosureReason", func() abi.Status { return d.Kernel.GetChannelClosureReason(ch.Handle, p) }, func() string { return "reason=" + abi.ClosureReason(d.loadU32(p)).String() }, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v = d.loadU32(p)
		return st
	})
	return abi.ClosureReason(v), st
}

// ReadChannel is mvReadChannel; it returns a copy of the readable bytes the
// kernel pointed at.
func (d *Device) ReadChannel(ch *Channel) ([]byte, abi.Status) {
	var out []byte
	st, _ := d.with(func(s *scratch) abi.Status {
		pp, lp := s.alloc(8), s.alloc(4)
		st := d.call("mvReadChannel", func() abi.Status { return d.Kernel.ReadChannel(ch.Handle, pp, lp) }, func() string { return fmt.Sprintf("ptr=%#x length=%d", d.loadU32(pp), d.loadU32(lp)) }, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		if st == abi.StatusOkay {
			ptr := mem.Addr(d.loadU32(pp))
			out = make([]byte, d.loadU32(lp))
			_ = d.Arena.Load(out, ptr)
		}
		return st
	})
	return out, st
}

// ReadChannelComplete is mvReadChannelComplete.
func (d *Device) ReadChannelComplete(ch *Channel, consumed uint32) abi.Status {
	return d.call("mvReadChannelComplete", func() abi.Status { return d.Kernel.ReadChannelComplete(ch.Handle, consumed) }, nil,
		func() string { return fmt.Sprintf("handle=%#x consumed=%d", ch.Handle, consumed) })
}

// WriteChannel is mvWriteChannel; it returns the free space reported.
func (d *Device) WriteChannel(ch *Channel, data []byte) (uint32, abi.Status, error) {
	var avail uint32
	st, err := d.with(func(s *scratch) abi.Status {
		p, out := s.bytes(data), s.alloc(4)
		st := d.call("mvWriteChannel", func() abi.Status { return d.Kernel.WriteChannel(ch.Handle, p, uint32(len(data)), out) }, func() string { return fmt.Sprintf("available=%d", d.loadU32(out)) },
			func() string { return fmt.Sprintf("handle=%#x length=%d", ch.Handle, len(data)) })
		avail = d.loadU32(out)
		return st
	})
	return avail, st, err
}

// WriteChannelStream is mvWriteChannelStream; it returns how much was
// written.
func (d *Device) WriteChannelStream(ch *Channel, data []byte) (uint32, abi.Status, error) {
	var n uint32
	st, err := d.with(func(s *scratch) abi.Status {
		p, out := s.bytes(data), s.alloc(4)
		st := d.call("mvWriteChannelStream", func() abi.Status { return d.Kernel.WriteChannelStream(ch.Handle, p, uint32(len(data)), out) }, func() string { return fmt.Sprintf("written=%d", d.loadU32(out)) },
			func() string { return fmt.Sprintf("handle=%#x length=%d", ch.Handle, len(data)) })
		n = d.loadU32(out)
		return st
	})
	return n, st, err
}

// handleAt describes the handle the kernel wrote at p.
func (d *Device) handleAt(p mem.Addr) string {
	h, _ := d.ABI.ReadHandle(d.Arena, p)
	return fmt.Sprintf("handle=%#x", h)
}

// OpenSystemNotification is mvOpenSystemNotification: system-wide events of
// source (NETWORK: link changes; UPDATE: downloaded updates) posted to c with
// tag. It returns the stream's handle.
func (d *Device) OpenSystemNotification(c *Centre, tag uint32, source abi.SystemNotificationSource) (uint32, abi.Status) {
	var h uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		l := d.ABI.Struct("MvOpenSystemNotificationParams")
		params, out := s.alloc(uint64(l.Size())), s.alloc(8)
		_ = d.ABI.WriteHandle(d.Arena, params+mem.Addr(l.Offset("notification_handle")), c.Handle)
		_ = abi.WriteUint32(d.Arena, params+mem.Addr(l.Offset("notification_tag")), tag)
		_ = abi.WriteUint32(d.Arena, params+mem.Addr(l.Offset("notification_source")), uint32(source))
		st := d.call("mvOpenSystemNotification", func() abi.Status { return d.Kernel.OpenSystemNotification(params, out) },
			func() string { return d.handleAt(out) }, func() string { return fmt.Sprintf("notification=%#x tag=%#x source=%s", c.Handle, tag, source) })
		h, _ = d.ABI.ReadHandle(d.Arena, out)
		return st
	})
	return h, st
}

// CloseSystemNotification is mvCloseSystemNotification.
func (d *Device) CloseSystemNotification(h uint32) abi.Status {
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(8)
		_ = d.ABI.WriteHandle(d.Arena, p, h)
		return d.call("mvCloseSystemNotification", func() abi.Status { return d.Kernel.CloseSystemNotification(p) }, nil, func() string { return fmt.Sprintf("handle=%#x", h) })
	})
	return st
}
