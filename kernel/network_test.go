package kernel_test

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// reasons calls mvGetNetworkReasons.
func (h *harness) reasons() (abi.NetworkReason, uint32) {
	h.t.Helper()
	r, n := h.out(4), h.out(4)
	wantStatus(h.t, "mvGetNetworkReasons", h.k.GetNetworkReasons(r, n), abi.StatusOkay)
	return abi.NetworkReason(h.u32(r)), h.u32(n)
}

func TestNetworkReasonsBeforeFirstRequest(t *testing.T) {
	h := newHarness(t, refusing)
	// Before any request and before the cloud set the time.
	r, n := h.reasons()
	if want := abi.NetworkReasonNeverUsedNetworkAPI | abi.NetworkReasonRTCNotSet; r != want || n != 0 {
		t.Fatalf("reasons %v, count %d; want %v, 0", r, n, want)
	}
	// Microvisor brings the link up for itself; the WELCOME sets the clock.
	h.cloud.setRefuse(false)
	h.waitLink()
	eventually(t, "RTCNOTSET cleared", func() bool {
		r, _ := h.reasons()
		return r == abi.NetworkReasonNeverUsedNetworkAPI
	})
	c := h.newCentre(1, 8)
	nw, hp := h.requestNetwork(c, 1)
	if r, n := h.reasons(); r != abi.NetworkReasonUsingNetwork || n != 1 {
		t.Fatalf("after a request: reasons %v, count %d; want USINGNETWORK, 1", r, n)
	}
	h.waitStatus(nw, abi.NetworkStatusConnected)
	wantStatus(t, "release", h.k.ReleaseNetwork(hp), abi.StatusOkay)
	// NEVERUSEDNETWORKAPI does not come back once the API was used.
	if r, n := h.reasons(); r != abi.NetworkReasonNotConnecting || n != 0 {
		t.Fatalf("after release: reasons %v, count %d; want NOTCONNECTING, 0", r, n)
	}
}

func TestGetNetworkReasonsFaults(t *testing.T) {
	h := newHarness(t)
	for _, b := range badWritePtrs {
		r, n := h.out(4), h.out(4)
		wantStatus(t, "reasons "+b.name, h.k.GetNetworkReasons(b.addr, n), abi.StatusParameterFault)
		wantStatus(t, "count "+b.name, h.k.GetNetworkReasons(r, b.addr), abi.StatusParameterFault)
		if h.u32(r) != sentinel || h.u32(n) != sentinel {
			t.Fatalf("%s: PARAMETERFAULT wrote an output", b.name)
		}
	}
	r, n := h.out(4), h.out(4)
	wantStatus(t, "via Call", h.call("mvGetNetworkReasons", uint64(r), uint64(n)), abi.StatusOkay)
	if h.u32(n) != 0 || h.u32(r)&uint32(abi.NetworkReasonNeverUsedNetworkAPI) == 0 {
		t.Fatalf("reasons %#x count %d", h.u32(r), h.u32(n))
	}
}

func TestRequestNetworkStatuses(t *testing.T) {
	h := newHarness(t)
	c := h.newCentre(1, 64)
	closed := h.newCentre(2, 4)
	wantStatus(t, "close centre", h.k.CloseNotifications(h.handleIn(closed.handle)), abi.StatusOkay)
	other, _ := h.requestNetwork(c, 9)

	type tc struct {
		name      string
		params    mem.Addr // 0: write version/nh below to fresh memory
		version   uint32
		nh        uint32
		handleOut mem.Addr // 0: fresh
		want      abi.Status
	}
	var cases []tc
	for _, b := range badReadPtrs {
		if b.addr != 0 {
			cases = append(cases, tc{name: "params " + b.name, params: b.addr, want: abi.StatusParameterFault})
		}
	}
	for _, b := range badWritePtrs {
		if b.addr != 0 {
			cases = append(cases, tc{name: "handle " + b.name, version: 1, nh: c.handle, handleOut: b.addr, want: abi.StatusParameterFault})
		}
	}
	cases = append(cases,
		tc{name: "params runs off SRAM", params: sramEnd - 8, want: abi.StatusParameterFault},
		tc{name: "notification handle 0", version: 1, nh: 0, want: abi.StatusParameterFault},
		tc{name: "notification handle random", version: 1, nh: 0x5EED, want: abi.StatusParameterFault},
		tc{name: "notification handle is a network's", version: 1, nh: other, want: abi.StatusParameterFault},
		tc{name: "closed notification centre", version: 1, nh: closed.handle, want: abi.StatusParameterFault},
		tc{name: "bad handle ptr and version 2", version: 2, nh: c.handle, handleOut: 0x10, want: abi.StatusParameterFault},
		tc{name: "version 0", version: 0, nh: c.handle, want: abi.StatusUnsupportedStructureVersion},
		tc{name: "version 2", version: 2, nh: c.handle, want: abi.StatusUnsupportedStructureVersion},
		// The v1 fields mean nothing in another version.
		tc{name: "version 2, bad centre", version: 2, nh: 0, want: abi.StatusUnsupportedStructureVersion},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hp := tc.handleOut
			if hp == 0 {
				hp = h.out(4)
			}
			var st abi.Status
			if tc.params != 0 {
				st = h.k.RequestNetwork(tc.params, hp)
			} else {
				st = h.requestRaw(tc.version, tc.nh, 7, hp)
			}
			wantStatus(t, "mvRequestNetwork", st, tc.want)
			if tc.handleOut == 0 && h.u32(hp) != sentinel {
				t.Fatal("a failed request wrote a handle")
			}
		})
	}
	if _, n := h.reasons(); n != 1 {
		t.Fatalf("%d handles after failed requests, want 1", n)
	}
	// Through the table with raw words.
	pp := h.alloc(12, 4)
	_ = abi.Device.WriteRequestNetworkParams(h.a, pp, abi.RequestNetworkParams{Version: 1, NotificationHandle: c.handle, NotificationTag: 3})
	hp := h.out(4)
	wantStatus(t, "via Call", h.call("mvRequestNetwork", uint64(pp), uint64(hp)), abi.StatusOkay)
}

func TestRequestNetworkNotifiesConnectingThenConnected(t *testing.T) {
	t.Run("link already up", func(t *testing.T) {
		h := newHarness(t)
		h.waitLink() // Microvisor's own use of the link
		c := h.newCentre(5, 8)
		nw, _ := h.requestNetwork(c, 0xBEEF)
		// Both changes are notified with the request's tag, in order.
		if n := c.count(abi.EventTypeNetworkStatusChanged, 0xBEEF); n != 2 {
			t.Fatalf("%d NETWORKSTATUSCHANGED records, want 2 (CONNECTING, CONNECTED)", n)
		}
		if h.networkStatus(nw) != abi.NetworkStatusConnected {
			t.Fatal("not CONNECTED")
		}
		if got := h.irq.count(5); got != 2 {
			t.Fatalf("%d IRQs, want 2", got)
		}
	})
	t.Run("link comes up later", func(t *testing.T) {
		h := newHarness(t, refusing)
		c := h.newCentre(5, 8)
		nw, _ := h.requestNetwork(c, 0xF00D)
		c.wait(abi.EventTypeNetworkStatusChanged, 0xF00D)
		if st := h.networkStatus(nw); st != abi.NetworkStatusConnecting {
			t.Fatalf("status %v while the cloud refuses, want CONNECTING", st)
		}
		if n := c.count(abi.EventTypeNetworkStatusChanged, 0xF00D); n != 0 {
			t.Fatalf("%d extra records while connecting", n)
		}
		h.cloud.setRefuse(false)
		c.wait(abi.EventTypeNetworkStatusChanged, 0xF00D)
		if st := h.networkStatus(nw); st != abi.NetworkStatusConnected {
			t.Fatalf("status %v after the link came up, want CONNECTED", st)
		}
	})
}

func TestNetworkHandleLimit(t *testing.T) {
	h := newHarness(t)
	c := h.newCentre(1, 2) // records overrun; only the handles matter here
	seen := map[uint32]mem.Addr{}
	for range 128 {
		nw, hp := h.requestNetwork(c, 0)
		if _, dup := seen[nw]; dup || nw == c.handle {
			t.Fatalf("handle %#x given twice", nw)
		}
		seen[nw] = hp
	}
	hp := h.out(4)
	wantStatus(t, "129th handle", h.requestRaw(1, c.handle, 0, hp), abi.StatusParameterFault)
	if h.u32(hp) != sentinel {
		t.Fatal("the 129th request wrote a handle")
	}
	if r, n := h.reasons(); n != 128 || r&abi.NetworkReasonUsingNetwork == 0 {
		t.Fatalf("reasons %v count %d", r, n)
	}
	for _, p := range seen {
		wantStatus(t, "release one", h.k.ReleaseNetwork(p), abi.StatusOkay)
		break
	}
	wantStatus(t, "after a release", h.requestRaw(1, c.handle, 0, hp), abi.StatusOkay)
}

func TestReleaseNetworkStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	for _, b := range badWritePtrs {
		if b.name != "flash" {
			wantStatus(t, "handle ptr "+b.name, h.k.ReleaseNetwork(b.addr), abi.StatusParameterFault)
		}
	}
	// A valid handle the kernel cannot zero: PARAMETERFAULT, still held.
	wantStatus(t, "handle in flash", h.k.ReleaseNetwork(h.flashHandle(nw)), abi.StatusParameterFault)
	if h.networkStatus(nw) != abi.NetworkStatusConnected {
		t.Fatal("the network was released by a faulting call")
	}

	gone, gp := h.requestNetwork(c, 1)
	wantStatus(t, "release", h.call("mvReleaseNetwork", uint64(gp)), abi.StatusOkay)
	if h.u32(gp) != 0 {
		t.Fatalf("released handle not zeroed: %#x", h.u32(gp))
	}
	for name, v := range map[string]uint32{
		"zero": 0, "random": 0xDEAD_BEEF, "centre handle": c.handle, "released": gone,
	} {
		p := h.handleIn(v)
		wantStatus(t, name, h.k.ReleaseNetwork(p), abi.StatusInvalidHandle)
		if h.u32(p) != v {
			t.Fatalf("%s: INVALIDHANDLE changed the stored handle", name)
		}
	}
	if _, n := h.reasons(); n != 1 {
		t.Fatalf("%d handles, want 1", n)
	}
}

func TestReleaseNetworkLinkLifetime(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	// Before the application first uses the API, Microvisor keeps the link:
	// a stray release changes nothing.
	wantStatus(t, "release before first use", h.k.ReleaseNetwork(h.handleIn(0x77)), abi.StatusInvalidHandle)
	if !h.k.LinkUp() || h.cloud.linkCount() != 1 {
		t.Fatal("the link went down before the application used the network API")
	}

	c := h.newCentre(1, 32)
	a, ap := h.requestNetwork(c, 0xA)
	b, bp := h.requestNetwork(c, 0xB)
	if h.cloud.linkCount() != 1 {
		t.Fatal("a request redialled an up link")
	}
	wantStatus(t, "release a", h.k.ReleaseNetwork(ap), abi.StatusOkay)
	if !h.k.LinkUp() || h.networkStatus(b) != abi.NetworkStatusConnected {
		t.Fatal("the link went down with a handle still held")
	}
	wantStatus(t, "status of released", h.k.GetNetworkStatus(a, h.out(4)), abi.StatusInvalidHandle)
	wantStatus(t, "release b", h.k.ReleaseNetwork(bp), abi.StatusOkay)
	eventually(t, "link down after the last release", func() bool { return !h.k.LinkUp() && !h.cloud.up() })
	if r, n := h.reasons(); r&abi.NetworkReasonUsingNetwork != 0 || n != 0 {
		t.Fatalf("reasons %v count %d after the last release", r, n)
	}

	// A new request brings it back.
	nw, _ := h.requestNetwork(c, 0xC)
	h.waitStatus(nw, abi.NetworkStatusConnected)
	if h.cloud.linkCount() != 2 {
		t.Fatalf("%d handshakes, want 2", h.cloud.linkCount())
	}
}

func TestGetNetworkStatusStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	gone, gp := h.requestNetwork(c, 1)
	wantStatus(t, "release", h.k.ReleaseNetwork(gp), abi.StatusOkay)

	for _, b := range badWritePtrs {
		wantStatus(t, "out "+b.name, h.k.GetNetworkStatus(nw, b.addr), abi.StatusParameterFault)
		// Pointer first, then the handle.
		wantStatus(t, "out "+b.name+", bad handle", h.k.GetNetworkStatus(0, b.addr), abi.StatusParameterFault)
	}
	for name, v := range map[string]uint32{
		"zero": 0, "random": 0x0BAD_F00D, "centre handle": c.handle, "released": gone,
	} {
		out := h.out(4)
		wantStatus(t, name, h.k.GetNetworkStatus(v, out), abi.StatusInvalidHandle)
		if h.u32(out) != sentinel {
			t.Fatalf("%s: INVALIDHANDLE wrote the output", name)
		}
	}
	out := h.out(4)
	wantStatus(t, "via Call", h.call("mvGetNetworkStatus", uint64(nw), uint64(out)), abi.StatusOkay)
	if abi.NetworkStatus(h.u32(out)) != abi.NetworkStatusConnected {
		t.Fatalf("status %v", abi.NetworkStatus(h.u32(out)))
	}
}

// TestRequestAfterReleaseReconnectsAtOnce: releasing the last handle takes
// the link down deliberately; that is no failure, so a later request must
// not wait out a reconnect backoff. With an hour-long backoff, only an
// immediate redial can pass.
func TestRequestAfterReleaseReconnectsAtOnce(t *testing.T) {
	h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) {
		o.ReconnectDelay = time.Hour
		o.MaxReconnectDelay = time.Hour
	})
	c := h.newCentre(7, 8)
	for round := range 4 {
		nw, hp := h.requestNetwork(c, uint32(round))
		h.waitStatus(nw, abi.NetworkStatusConnected)
		wantStatus(t, "release", h.k.ReleaseNetwork(hp), abi.StatusOkay)
		eventually(t, "link down after release", func() bool { return !h.k.LinkUp() })
	}
}

// TestHandleByValueWiderThan32Bits: on the 64-bit host ABI handles are
// pointer-sized; a value with high bits set is not a live handle, even if
// its low 32 bits are.
func TestHandleByValueWiderThan32Bits(t *testing.T) {
	h := newHarness(t)
	_, nw := h.ready()
	out := h.out(4)
	wantStatus(t, "live handle", h.call("mvGetNetworkStatus", uint64(nw), uint64(out)), abi.StatusOkay)
	wantStatus(t, "handle with high bits", h.call("mvGetNetworkStatus", uint64(nw)|1<<32, uint64(out)), abi.StatusInvalidHandle)
}
