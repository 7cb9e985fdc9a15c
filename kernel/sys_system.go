package kernel

import (
	"encoding/binary"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// System notifications (mvOpenSystemNotification): system-wide events sent
// to a notification centre. A NETWORK stream gets NETWORKSTATUSCHANGED, with
// the stream's tag, whenever the device's link to the cloud comes up or goes
// down — including the link Microvisor keeps before the application requests
// a network. An UPDATE stream gets UPDATEDOWNLOADED when the cloud announces
// a downloaded application update (CONTROL UPDATE on the link; the cloud's
// fault injector sends one on demand, since mvnet performs no real
// over-the-air updates).

// sysStream is one open system notification stream.
type sysStream struct {
	nh     uint32
	tag    uint32
	source abi.SystemNotificationSource
}

// OpenSystemNotification is mvOpenSystemNotification: PARAMETERFAULT
// (params or handle), INVALIDHANDLE (the notification handle, or a source
// that is neither NETWORK nor UPDATE).
func (k *Kernel) OpenSystemNotification(params, handleOut mem.Addr) abi.Status {
	l := k.abi.Struct("MvOpenSystemNotificationParams")
	var arr [32]byte
	buf := arr[:l.Size()]
	if k.mem.CopyIn(buf, params) != nil || !k.checkW(handleOut, uint64(k.abi.HandleSize())) {
		return abi.StatusParameterFault
	}
	s := sysStream{
		nh:     k.handleIn(buf[l.Offset("notification_handle"):]),
		tag:    binary.LittleEndian.Uint32(buf[l.Offset("notification_tag"):]),
		source: abi.SystemNotificationSource(binary.LittleEndian.Uint32(buf[l.Offset("notification_source"):])),
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.centres[s.nh]; !ok {
		return abi.StatusInvalidHandle
	}
	if s.source != abi.SystemNotificationSourceNetwork && s.source != abi.SystemNotificationSourceUpdate {
		return abi.StatusInvalidHandle
	}
	h := k.newHandleLocked()
	if k.abi.WriteHandle(k.mem, handleOut, h) != nil {
		k.freeHandleLocked(h)
		return abi.StatusParameterFault
	}
	k.streams[h] = &s
	return abi.StatusOkay
}

// CloseSystemNotification is mvCloseSystemNotification: PARAMETERFAULT,
// INVALIDHANDLE. Writes zero through the pointer.
func (k *Kernel) CloseSystemNotification(handlePtr mem.Addr) abi.Status {
	return closeHandle(k, handlePtr, k.streams, nil)
}

// TempTriggerNotification is mvTempTriggerNotification: posts a record with
// the given event type and tag to a centre, so applications can test their
// interrupt handlers. INVALIDHANDLE for a handle that is not a live centre.
func (k *Kernel) TempTriggerNotification(nh uint32, ev abi.EventType, tag uint32) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.centres[nh]; !ok {
		return abi.StatusInvalidHandle
	}
	k.postLocked(nh, tag, ev)
	return abi.StatusOkay
}

// linkChangedLocked tells NETWORK system notification streams that the
// link came up or went down.
func (k *Kernel) linkChangedLocked() {
	for _, s := range k.streams {
		if s.source == abi.SystemNotificationSourceNetwork {
			k.postLocked(s.nh, s.tag, abi.EventTypeNetworkStatusChanged)
		}
	}
}

// updateDownloadedLocked tells UPDATE system notification streams that the
// cloud has announced a downloaded application update.
func (k *Kernel) updateDownloadedLocked() {
	k.updated = true
	for _, s := range k.streams {
		if s.source == abi.SystemNotificationSourceUpdate {
			k.postLocked(s.nh, s.tag, abi.EventTypeUpdateDownloaded)
		}
	}
}

// handleIn decodes a pointer-sized handle from a structure's bytes; a value
// that does not fit 32 bits is never a live handle.
func (k *Kernel) handleIn(b []byte) uint32 {
	if k.abi.HandleSize() == 8 {
		return hnd(binary.LittleEndian.Uint64(b))
	}
	return binary.LittleEndian.Uint32(b)
}
