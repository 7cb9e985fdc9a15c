package kernel_test

import (
	"encoding/binary"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// sysParams places an MvOpenSystemNotificationParams (device layout:
// handle 0, tag 4, source 8).
func (h *harness) sysParams(nh, tag, source uint32) mem.Addr {
	h.t.Helper()
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], nh)
	binary.LittleEndian.PutUint32(b[4:], tag)
	binary.LittleEndian.PutUint32(b[8:], source)
	return h.place(b)
}

func TestOpenSystemNotificationStatuses(t *testing.T) {
	h := newHarness(t)
	c := h.newCentre(20, 4)
	net := uint32(abi.SystemNotificationSourceNetwork)
	wantStatus(t, "params unmapped", h.k.OpenSystemNotification(0x10, h.out(4)), abi.StatusParameterFault)
	wantStatus(t, "handle out in flash", h.k.OpenSystemNotification(h.sysParams(c.handle, 1, net), flashBase), abi.StatusParameterFault)
	wantStatus(t, "unknown centre", h.k.OpenSystemNotification(h.sysParams(0x1234, 1, net), h.out(4)), abi.StatusInvalidHandle)
	wantStatus(t, "unknown source", h.k.OpenSystemNotification(h.sysParams(c.handle, 1, 7), h.out(4)), abi.StatusInvalidHandle)

	hp := h.out(4)
	wantStatus(t, "open", h.k.OpenSystemNotification(h.sysParams(c.handle, 1, net), hp), abi.StatusOkay)
	if h.u32(hp) == 0 {
		t.Fatal("stream handle is zero")
	}
	wantStatus(t, "close unmapped", h.k.CloseSystemNotification(0x10), abi.StatusParameterFault)
	wantStatus(t, "close a centre's handle", h.k.CloseSystemNotification(h.handleIn(c.handle)), abi.StatusInvalidHandle)
	wantStatus(t, "close", h.k.CloseSystemNotification(hp), abi.StatusOkay)
	if h.u32(hp) != 0 {
		t.Error("close did not zero the handle")
	}
	wantStatus(t, "close again", h.k.CloseSystemNotification(h.handleIn(0x1234)), abi.StatusInvalidHandle)
}

// A NETWORK stream hears the link come up and go down, with its own tag,
// even before the application requests a network; an UPDATE stream and a
// closed stream hear nothing.
func TestSystemNotificationsFollowTheLink(t *testing.T) {
	h := newHarness(t, refusing)
	c := h.newCentre(21, 16)
	netHP, updHP := h.out(4), h.out(4)
	wantStatus(t, "open network stream", h.k.OpenSystemNotification(h.sysParams(c.handle, 0x51, uint32(abi.SystemNotificationSourceNetwork)), netHP), abi.StatusOkay)
	wantStatus(t, "open update stream", h.k.OpenSystemNotification(h.sysParams(c.handle, 0x52, uint32(abi.SystemNotificationSourceUpdate)), updHP), abi.StatusOkay)

	h.cloud.setRefuse(false)
	h.waitLink()
	c.wait(abi.EventTypeNetworkStatusChanged, 0x51)
	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	c.wait(abi.EventTypeNetworkStatusChanged, 0x51)
	if n := c.count(abi.EventTypeNetworkStatusChanged, 0x52); n != 0 {
		t.Errorf("UPDATE stream got %d records", n)
	}

	wantStatus(t, "close network stream", h.k.CloseSystemNotification(netHP), abi.StatusOkay)
	h.cloud.setRefuse(false)
	h.waitLink()
	h.cloud.sync(t)
	if n := c.count(abi.EventTypeNetworkStatusChanged, 0x51); n != 0 {
		t.Errorf("closed stream got %d records", n)
	}
}

func TestTempTriggerNotification(t *testing.T) {
	h := newHarness(t)
	c := h.newCentre(22, 4)
	wantStatus(t, "unknown centre", h.call("mvTempTriggerNotification", 0x1234, uint64(abi.EventTypeChannelDataReadable), 9), abi.StatusInvalidHandle)
	before := h.irq.count(22)
	wantStatus(t, "trigger", h.call("mvTempTriggerNotification", uint64(c.handle), uint64(abi.EventTypeChannelDataReadable), 9), abi.StatusOkay)
	n := c.wait(abi.EventTypeChannelDataReadable, 9)
	if n.Microseconds == 0 {
		t.Error("record has no timestamp")
	}
	if got := h.irq.count(22) - before; got != 1 {
		t.Errorf("%d IRQs pended, want 1", got)
	}
}

// The cloud's CONTROL UPDATE reaches UPDATE streams as UPDATEDOWNLOADED,
// and only them.
func TestUpdateAnnouncement(t *testing.T) {
	h := newHarness(t)
	c := h.newCentre(23, 8)
	h.waitLink()
	wantStatus(t, "open update stream", h.k.OpenSystemNotification(h.sysParams(c.handle, 0x61, uint32(abi.SystemNotificationSourceUpdate)), h.out(4)), abi.StatusOkay)
	wantStatus(t, "open network stream", h.k.OpenSystemNotification(h.sysParams(c.handle, 0x62, uint32(abi.SystemNotificationSourceNetwork)), h.out(4)), abi.StatusOkay)
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlUpdate, Payload: []byte("v2")})
	c.wait(abi.EventTypeUpdateDownloaded, 0x61)
	h.cloud.sync(t)
	if n := c.count(abi.EventTypeUpdateDownloaded, 0x62); n != 0 {
		t.Errorf("NETWORK stream got %d update records", n)
	}
}
