package kernel_test

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// flashCopy places n bytes of SRAM at p into flash (as a const object of
// the application would be) and returns the flash address.
func (h *harness) flashCopy(p mem.Addr, n uint64) mem.Addr {
	h.t.Helper()
	f, err := h.a.LoadFlash(h.bytes(p, n), 4)
	if err != nil {
		h.t.Fatal(err)
	}
	return f
}

// TestInputsMayBeInFlash: inputs are only read, so const structures and
// strings in flash are as good as SRAM; outputs there are PARAMETERFAULT.
func TestInputsMayBeInFlash(t *testing.T) {
	h := newHarness(t)

	sp := h.alloc(12, 4)
	_ = abi.Device.WriteNotificationSetup(h.a, sp, abi.NotificationSetup{IRQ: 9, Buffer: h.alloc(64, 16), BufferSize: 64})
	hp := h.out(4)
	wantStatus(t, "setup in flash", h.k.SetupNotifications(h.flashCopy(sp, 12), hp), abi.StatusOkay)
	c := &centre{h: h, handle: h.u32(hp), irq: 9, slots: 4}

	pp := h.alloc(12, 4)
	_ = abi.Device.WriteRequestNetworkParams(h.a, pp, abi.RequestNetworkParams{Version: 1, NotificationHandle: c.handle, NotificationTag: 1})
	wantStatus(t, "network params in flash", h.k.RequestNetwork(h.flashCopy(pp, 12), hp), abi.StatusOkay)
	nw := h.u32(hp)
	h.waitStatus(nw, abi.NetworkStatusConnected)
	wantStatus(t, "status of a handle stored in flash", h.k.GetNetworkStatus(h.u32(h.flashHandle(nw)), h.out(4)), abi.StatusOkay)

	op := h.alloc(44, 4)
	_ = abi.Device.WriteOpenChannelParams(h.a, op, h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 2))
	wantStatus(t, "channel params in flash", h.k.OpenChannel(h.flashCopy(op, 44), hp), abi.StatusOkay)
	ch := h.u32(hp)

	// The request structure, its header array and every string in flash.
	req := link.HTTPRequest{Method: "PUT", URL: "https://example.com/x", Headers: []string{"A: b"}, Body: []byte("body"), TimeoutMS: 6000}
	v := h.httpRequest(req)
	v.Method.Data = h.flashCopy(v.Method.Data, uint64(v.Method.Length))
	v.URL.Data = h.flashCopy(v.URL.Data, uint64(v.URL.Length))
	v.Body.Data = h.flashCopy(v.Body.Data, uint64(v.Body.Length))
	hf, _ := h.a.LoadFlash([]byte("A: b"), 1)
	_ = abi.Device.WriteHTTPHeaders(h.a, v.Headers, []abi.HTTPHeader{{Length: 4, Data: hf}})
	v.Headers = h.flashCopy(v.Headers, 8)
	rp := h.writeRequest(v)
	wantStatus(t, "request in flash", h.k.SendHTTPRequest(ch, h.flashCopy(rp, 36)), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch)) == link.HTTPRequestSize(&req) })
	if got, _, err := link.ParseHTTPRequest(h.cloud.data(ch)); err != nil || got.URL != req.URL || got.Headers[0] != "A: b" || string(got.Body) != "body" {
		t.Fatalf("cloud decodes %+v, %v", got, err)
	}
}
