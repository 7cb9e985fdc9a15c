package kernel

import (
	"encoding/binary"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// centre is a notification centre: a ring of 16-byte MvNotification records
// in application memory and the IRQ pended for each record.
type centre struct {
	h        uint32
	irq      uint32
	buf      mem.Addr
	size     uint32
	slots    uint32
	next     uint32 // the slot the next record goes into
	posted   uint64 // records written
	overruns uint64 // unconsumed records overwritten (diagnostic only)
}

// SetupNotifications is mvSetupNotifications. spec/abi.md order:
// PARAMETERFAULT (setup, handle, or buffer not writable), INVALIDBUFFERSIZE
// (under 32 bytes or not a multiple of 16), BUFFERALREADYINUSE,
// INVALIDINTERRUPT, TOOMANYNOTIFICATIONBUFFERS (32 centres).
func (k *Kernel) SetupNotifications(setup, handleOut mem.Addr) abi.Status {
	s, err := k.abi.ReadNotificationSetup(k.mem, setup)
	if err != nil || !k.checkW(handleOut, uint64(k.abi.HandleSize())) {
		return abi.StatusParameterFault
	}
	if !k.checkW(s.Buffer, uint64(s.BufferSize)) {
		return abi.StatusParameterFault
	}
	if s.BufferSize < minNotifyBuffer || s.BufferSize%notificationSize != 0 {
		return abi.StatusInvalidBufferSize
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// A channel's rings and the log buffer are in use by the kernel too.
	if k.bufferInUseLocked(s.Buffer, uint64(s.BufferSize)) {
		return abi.StatusBufferAlreadyInUse
	}
	if s.IRQ > maxUsableIRQ {
		return abi.StatusInvalidInterrupt
	}
	for _, c := range k.centres {
		if c.irq == s.IRQ {
			return abi.StatusInvalidInterrupt
		}
	}
	if len(k.centres) >= maxCentres {
		return abi.StatusTooManyNotificationBuffers
	}
	h := k.newHandleLocked()
	if k.abi.WriteHandle(k.mem, handleOut, h) != nil {
		k.freeHandleLocked(h)
		return abi.StatusParameterFault
	}
	slots := s.BufferSize / notificationSize
	k.centres[h] = &centre{h: h, irq: s.IRQ, buf: s.Buffer, size: s.BufferSize, slots: slots}
	return abi.StatusOkay
}

// CloseNotifications is mvCloseNotifications: PARAMETERFAULT,
// INVALIDHANDLE. No IRQ is pended for the centre after it returns; the
// handle is zeroed through the pointer.
func (k *Kernel) CloseNotifications(handlePtr mem.Addr) abi.Status {
	return closeHandle(k, handlePtr, k.centres, nil)
}

// postLocked writes one notification into the centre's next slot and pends
// its IRQ once. The microseconds and tag are written before the event type,
// so a handler that sees the event type sees a whole record. A slot holding a
// record this centre wrote and the application has not cleared (event type
// still non-zero) is counted as an overrun. Posting to a closed centre is
// silently dropped: the application closed it.
func (k *Kernel) postLocked(nh, tag uint32, ev abi.EventType) {
	c, ok := k.centres[nh]
	if !ok || k.closed {
		return
	}
	slot := c.buf + mem.Addr(c.next*notificationSize)
	if c.posted >= uint64(c.slots) { // the ring has wrapped: this slot holds one of ours
		var et [4]byte
		if k.kmem.CopyIn(et[:], slot+8) == nil && binary.LittleEndian.Uint32(et[:]) != uint32(abi.EventTypeNoEvent) {
			c.overruns++
		}
	}
	rec := &k.noteBuf
	abi.EncodeNotification(rec, abi.Notification{Microseconds: k.micros(), EventType: ev, Tag: tag})
	// Stamp and tag first, then the event type.
	if k.kmem.CopyOut(slot, rec[0:8]) != nil || k.kmem.CopyOut(slot+12, rec[12:16]) != nil ||
		k.kmem.CopyOut(slot+8, rec[8:12]) != nil {
		k.log.Warn("notification buffer no longer writable", "centre", nh)
		return
	}
	c.next = (c.next + 1) % c.slots
	c.posted++
	k.irq.Pend(c.irq)
}

// NotificationStats reports, for a live centre, how many records have been
// written and how many unconsumed records were overwritten.
func (k *Kernel) NotificationStats(h uint32) (posted, overruns uint64, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.centres[h]
	if !ok {
		return 0, 0, false
	}
	return c.posted, c.overruns, true
}
