package kernel_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// TestOpenChannelStatuses covers every status of mvOpenChannel that does
// not need a special network state, each with the checks that come before
// it passing, plus pairs of faults showing the order of spec/abi.md.
func TestOpenChannelStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	released, rp := h.requestNetwork(c, 2)
	wantStatus(t, "release", h.k.ReleaseNetwork(rp), abi.StatusOkay)
	closedCentre := h.newCentre(3, 2)
	wantStatus(t, "close centre", h.k.CloseNotifications(h.handleIn(closedCentre.handle)), abi.StatusOkay)
	open := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1) // its send buffer is protected

	type tc struct {
		name string
		mod  func(p *abi.OpenChannelParams)
		want abi.Status
	}
	bad := func(f func(p *abi.OpenChannelParams, a mem.Addr)) []func(*abi.OpenChannelParams) {
		var out []func(*abi.OpenChannelParams)
		for _, b := range badWritePtrs {
			out = append(out, func(p *abi.OpenChannelParams) { f(p, b.addr) })
		}
		return out
	}
	var cases []tc
	for i, m := range bad(func(p *abi.OpenChannelParams, a mem.Addr) { p.ReceiveBuffer = a }) {
		cases = append(cases, tc{"rx buffer " + badWritePtrs[i].name, m, abi.StatusParameterFault})
	}
	for i, m := range bad(func(p *abi.OpenChannelParams, a mem.Addr) { p.SendBuffer = a }) {
		cases = append(cases, tc{"tx buffer " + badWritePtrs[i].name, m, abi.StatusParameterFault})
	}
	for _, b := range badReadPtrs {
		cases = append(cases, tc{"endpoint " + b.name, func(p *abi.OpenChannelParams) {
			p.Endpoint = abi.SizedString{Data: b.addr, Length: 4}
		}, abi.StatusParameterFault})
	}
	P := func(f func(p *abi.OpenChannelParams)) func(*abi.OpenChannelParams) { return f }
	cases = append(cases,
		tc{"rx runs off SRAM", P(func(p *abi.OpenChannelParams) { p.ReceiveBuffer = sramEnd - 512; p.ReceiveBufferLen = 1024 }), abi.StatusParameterFault},
		tc{"tx runs off SRAM", P(func(p *abi.OpenChannelParams) { p.SendBuffer = sramEnd - 512; p.SendBufferLen = 1024 }), abi.StatusParameterFault},
		tc{"tx is another channel's send buffer", P(func(p *abi.OpenChannelParams) { p.SendBuffer = open.tx }), abi.StatusParameterFault},
		tc{"rx is another channel's send buffer", P(func(p *abi.OpenChannelParams) { p.ReceiveBuffer = open.tx }), abi.StatusParameterFault},
		tc{"version 2 (judgment: no UNSUPPORTEDSTRUCTUREVERSION listed)", P(func(p *abi.OpenChannelParams) { p.Version = 2 }), abi.StatusParameterFault},
		tc{"bad rx and bad notification handle", P(func(p *abi.OpenChannelParams) { p.ReceiveBuffer = 0x10; p.NotificationHandle = 0 }), abi.StatusParameterFault},

		tc{"notification handle 0", P(func(p *abi.OpenChannelParams) { p.NotificationHandle = 0 }), abi.StatusInvalidHandle},
		tc{"notification handle random", P(func(p *abi.OpenChannelParams) { p.NotificationHandle = 0x4242 }), abi.StatusInvalidHandle},
		tc{"notification handle is a network's", P(func(p *abi.OpenChannelParams) { p.NotificationHandle = nw }), abi.StatusInvalidHandle},
		tc{"closed notification centre", P(func(p *abi.OpenChannelParams) { p.NotificationHandle = closedCentre.handle }), abi.StatusInvalidHandle},
		tc{"network handle 0", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = 0 }), abi.StatusInvalidHandle},
		tc{"network handle random", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = 0x4343 }), abi.StatusInvalidHandle},
		tc{"network handle is a centre's", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = c.handle }), abi.StatusInvalidHandle},
		tc{"network handle is a channel's", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = open.handle }), abi.StatusInvalidHandle},
		tc{"released network", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = released }), abi.StatusInvalidHandle},
		tc{"bad handle and misaligned", P(func(p *abi.OpenChannelParams) { p.NetworkHandle = 0; p.SendBuffer += 4; p.SendBufferLen = 500 }), abi.StatusInvalidHandle},

		tc{"HTTP tx misaligned", P(func(p *abi.OpenChannelParams) { p.SendBuffer += 16; p.SendBufferLen = 256 }), abi.StatusInvalidBufferAlignment},
		tc{"HTTP rx misaligned", P(func(p *abi.OpenChannelParams) { p.ReceiveBuffer += 16; p.ReceiveBufferLen = 256 }), abi.StatusInvalidBufferAlignment},
		tc{"opaque tx misaligned", P(func(p *abi.OpenChannelParams) {
			p.ChannelType = abi.ChannelTypeOpaqueBytes
			p.SendBuffer += 256
			p.SendBufferLen = 256
		}), abi.StatusInvalidBufferAlignment},
		tc{"MQTT rx misaligned", P(func(p *abi.OpenChannelParams) {
			p.ChannelType = abi.ChannelTypeMQTT
			p.ReceiveBuffer += 8
			p.ReceiveBufferLen = 512
		}), abi.StatusInvalidBufferAlignment},
		tc{"misaligned and bad size", P(func(p *abi.OpenChannelParams) { p.SendBuffer += 8; p.SendBufferLen = 100 }), abi.StatusInvalidBufferAlignment},

		tc{"tx length 0", P(func(p *abi.OpenChannelParams) { p.SendBufferLen = 0 }), abi.StatusInvalidBufferSize},
		tc{"tx length 100", P(func(p *abi.OpenChannelParams) { p.SendBufferLen = 100 }), abi.StatusInvalidBufferSize},
		tc{"tx length 1000", P(func(p *abi.OpenChannelParams) { p.SendBufferLen = 1000 }), abi.StatusInvalidBufferSize},
		tc{"HTTP rx length 700", P(func(p *abi.OpenChannelParams) { p.ReceiveBufferLen = 700 }), abi.StatusInvalidBufferSize},
		tc{"HTTP rx length 0", P(func(p *abi.OpenChannelParams) { p.ReceiveBufferLen = 0 }), abi.StatusInvalidBufferSize},
		tc{"opaque rx length 0", P(func(p *abi.OpenChannelParams) { p.ChannelType = abi.ChannelTypeOpaqueBytes; p.ReceiveBufferLen = 0 }), abi.StatusInvalidBufferSize},
		tc{"bad size and endpoint", P(func(p *abi.OpenChannelParams) { p.SendBufferLen = 100; p.Endpoint = h.str("x") }), abi.StatusInvalidBufferSize},

		tc{"endpoint not empty", P(func(p *abi.OpenChannelParams) { p.Endpoint = h.str("my-endpoint") }), abi.StatusUnknownChannelEndpoint},
		tc{"endpoint in flash", P(func(p *abi.OpenChannelParams) {
			fp, _ := h.a.LoadFlash([]byte("ep"), 1)
			p.Endpoint = abi.SizedString{Data: fp, Length: 2}
		}), abi.StatusUnknownChannelEndpoint},
		tc{"endpoint and unknown type", P(func(p *abi.OpenChannelParams) { p.Endpoint = h.str("x"); p.ChannelType = 9 }), abi.StatusUnknownChannelEndpoint},

		tc{"type 4", P(func(p *abi.OpenChannelParams) { p.ChannelType = 4 }), abi.StatusUnknownChannelType},
		tc{"type 0xFFFFFFFF", P(func(p *abi.OpenChannelParams) { p.ChannelType = 0xFFFFFFFF }), abi.StatusUnknownChannelType},

		tc{"CONFIGFETCH rx misaligned", P(func(p *abi.OpenChannelParams) {
			p.ChannelType = abi.ChannelTypeConfigFetch
			p.ReceiveBuffer += 8
			p.ReceiveBufferLen = 512
		}), abi.StatusInvalidBufferAlignment},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := h.chanParams(c, nw, abi.ChannelTypeHTTP, 1024, 512, 5)
			tc.mod(&p)
			hp := h.out(4)
			wantStatus(t, "mvOpenChannel", h.openRaw(p, hp), tc.want)
			if h.u32(hp) != sentinel {
				t.Fatal("a failed open wrote a handle")
			}
		})
	}
	h.cloud.sync(t)
	if n := len(h.cloud.received(func(f link.Frame) bool { return f.Type == link.FrameOpen })); n != 1 {
		t.Fatalf("the cloud saw %d OPEN frames, want 1 (failed opens send none)", n)
	}

	// Pointer faults of the call's own arguments.
	good := h.alloc(44, 4)
	_ = abi.Device.WriteOpenChannelParams(h.a, good, h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 5))
	for _, b := range badReadPtrs {
		wantStatus(t, "params "+b.name, h.k.OpenChannel(b.addr, h.out(4)), abi.StatusParameterFault)
	}
	wantStatus(t, "params run off SRAM", h.k.OpenChannel(sramEnd-40, h.out(4)), abi.StatusParameterFault)
	for _, b := range badWritePtrs {
		wantStatus(t, "handle "+b.name, h.k.OpenChannel(good, b.addr), abi.StatusParameterFault)
	}
	// The handle pointer inside the send buffer about to be protected.
	p := h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 5)
	wantStatus(t, "handle in own send buffer", h.openRaw(p, p.SendBuffer), abi.StatusParameterFault)
	if h.a.Check(p.SendBuffer, 512, true) != nil {
		t.Fatal("a failed open left the send buffer protected")
	}

	// What succeeds: opaque receive buffers need no alignment or size unit.
	p = h.chanParams(c, nw, abi.ChannelTypeOpaqueBytes, 800, 512, 5)
	p.ReceiveBuffer += 3
	p.ReceiveBufferLen = 777
	h.openWith(p)
	pp := h.alloc(44, 4)
	_ = abi.Device.WriteOpenChannelParams(h.a, pp, h.chanParams(c, nw, abi.ChannelTypeHTTP, 1536, 1024, 5))
	hp := h.out(4)
	wantStatus(t, "via Call", h.call("mvOpenChannel", uint64(pp), uint64(hp)), abi.StatusOkay)
	o := h.cloud.waitFrame(t, "OPEN", frameIs(link.FrameOpen, h.u32(hp)))
	if o.ChanType != uint8(abi.ChannelTypeHTTP) || o.RxSize != 1536 || o.TxSize != 1024 || len(o.Endpoint) != 0 {
		t.Fatalf("OPEN frame %+v", o)
	}
}

func TestOpenChannelNetworkNotConnected(t *testing.T) {
	h := newHarness(t, refusing)
	c := h.newCentre(1, 16)
	nw, _ := h.requestNetwork(c, 1)
	p := h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	hp := h.out(4)
	wantStatus(t, "while connecting", h.openRaw(p, hp), abi.StatusNetworkNotConnected)
	// Earlier checks still come first.
	p.ChannelType = 7
	wantStatus(t, "unknown type while connecting", h.openRaw(p, hp), abi.StatusUnknownChannelType)
	p.ChannelType = abi.ChannelTypeMQTT
	wantStatus(t, "MQTT while connecting", h.openRaw(p, hp), abi.StatusNetworkNotConnected)

	h.cloud.setRefuse(false)
	h.waitStatus(nw, abi.NetworkStatusConnected)
	p.ChannelType = abi.ChannelTypeHTTP
	wantStatus(t, "once connected", h.openRaw(p, hp), abi.StatusOkay)
}

func TestOpenChannelRateLimited(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	params := h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	// Eight opens (and closes) within the same instant are allowed.
	for i := range 8 {
		ch := h.openWith(params)
		h.closeChannel(ch)
		if i == 3 {
			h.clk.advance(100 * time.Millisecond) // the window starts at the first
		}
	}
	hp := h.out(4)
	wantStatus(t, "9th open within a second", h.openRaw(params, hp), abi.StatusRateLimited)
	if h.u32(hp) != sentinel {
		t.Fatal("RATELIMITED wrote a handle")
	}
	params.ChannelType = abi.ChannelTypeConfigFetch
	wantStatus(t, "9th open, CONFIGFETCH", h.openRaw(params, hp), abi.StatusRateLimited)
	params.ChannelType = abi.ChannelTypeHTTP
	h.clk.advance(899 * time.Millisecond)
	wantStatus(t, "999 ms after the first", h.openRaw(params, hp), abi.StatusRateLimited)
	h.clk.advance(time.Millisecond)
	wantStatus(t, "a second after the first", h.openRaw(params, hp), abi.StatusOkay)
	h.closeChannel(&channel{hp: hp})
	// Opens 2–4 were 100 ms before the 5th; the oldest in the window is
	// now the 2nd (at t0), so one more is allowed only after t0+1 s, which
	// has passed; the next is limited by the 5th (t0+100 ms).
	for range 3 {
		wantStatus(t, "within the new window", h.openRaw(params, hp), abi.StatusOkay)
		h.closeChannel(&channel{hp: hp})
	}
	wantStatus(t, "limited by the 5th open", h.openRaw(params, hp), abi.StatusRateLimited)
	h.clk.advance(100 * time.Millisecond)
	wantStatus(t, "a second after the 5th", h.openRaw(params, hp), abi.StatusOkay)
}

func TestOpenChannelTooManyChannels(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	var chans []*channel
	for range 4 {
		chans = append(chans, h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 1))
	}
	p := h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	hp := h.out(4)
	wantStatus(t, "5th channel", h.openRaw(p, hp), abi.StatusTooManyChannels)
	if h.u32(hp) != sentinel {
		t.Fatal("TOOMANYCHANNELS wrote a handle")
	}
	p.ChannelType = abi.ChannelTypeConfigFetch
	wantStatus(t, "5th, CONFIGFETCH", h.openRaw(p, hp), abi.StatusTooManyChannels)
	p.ChannelType = abi.ChannelTypeMQTT
	wantStatus(t, "5th, MQTT", h.openRaw(p, hp), abi.StatusTooManyChannels)
	p.ChannelType = abi.ChannelTypeHTTP

	// A disconnected channel still counts until the application closes it.
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: chans[0].handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 1)
	wantStatus(t, "5th with one disconnected", h.openRaw(p, hp), abi.StatusTooManyChannels)
	h.closeChannel(chans[0])
	wantStatus(t, "after a close", h.openRaw(p, hp), abi.StatusOkay)
}

func TestSendBufferProtection(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 1024, 1)

	var crash *mem.Crash
	if err := h.a.Store(ch.tx+100, []byte{1}); !errors.As(err, &crash) {
		t.Fatalf("application store into the open send buffer: %v, want *mem.Crash", err)
	}
	if err := h.a.Store(ch.rx+100, []byte{1}); err != nil {
		t.Fatalf("store into the receive buffer: %v", err)
	}
	// The kernel itself fills it.
	data := h.place([]byte("hello, cloud"))
	wantStatus(t, "write", h.k.WriteChannel(ch.handle, data, 12, h.out(4)), abi.StatusOkay)
	if got := string(h.bytes(ch.tx, 12)); got != "hello, cloud" {
		t.Fatalf("send ring holds %q", got)
	}
	// Other syscalls may not write into it either.
	wantStatus(t, "output into a send buffer", h.k.GetMicroseconds(ch.tx+8), abi.StatusParameterFault)

	h.closeChannel(ch)
	if h.u32(ch.hp) != 0 {
		t.Fatal("channel handle not zeroed")
	}
	for i, b := range h.bytes(ch.tx, 1024) {
		if b != 0 {
			t.Fatalf("send buffer byte %d = %#x after close, want zeroed", i, b)
		}
	}
	if err := h.a.Store(ch.tx+100, []byte{1}); err != nil {
		t.Fatalf("store after close: %v, want the protection removed", err)
	}
	// The same memory can back a new channel.
	p := h.chanParams(c, nw, abi.ChannelTypeOpaqueBytes, 512, 1024, 1)
	p.SendBuffer = ch.tx
	h.openWith(p)
}

func TestCloseChannelStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	for _, b := range badWritePtrs {
		if b.name != "flash" {
			wantStatus(t, "handle ptr "+b.name, h.k.CloseChannel(b.addr), abi.StatusParameterFault)
		}
	}
	wantStatus(t, "handle in flash", h.k.CloseChannel(h.flashHandle(ch.handle)), abi.StatusParameterFault)
	if h.closureReason(ch) != abi.ClosureReasonNone {
		t.Fatal("a faulting close closed the channel")
	}

	gone := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 2)
	wantStatus(t, "close via Call", h.call("mvCloseChannel", uint64(gone.hp)), abi.StatusOkay)
	if h.u32(gone.hp) != 0 {
		t.Fatal("handle not zeroed")
	}
	cl := h.cloud.waitFrame(t, "CLOSE", frameIs(link.FrameClose, gone.handle))
	if cl.Reason != uint8(abi.ClosureReasonClosedByApplication) {
		t.Fatalf("CLOSE reason %d, want CLOSEDBYAPPLICATION", cl.Reason)
	}
	for name, v := range map[string]uint32{
		"zero": 0, "random": 0x1357_9BDF, "network handle": nw, "centre handle": c.handle, "closed channel": gone.handle,
	} {
		p := h.handleIn(v)
		wantStatus(t, name, h.k.CloseChannel(p), abi.StatusInvalidHandle)
		if h.u32(p) != v {
			t.Fatalf("%s: INVALIDHANDLE changed the stored handle", name)
		}
	}
	wantStatus(t, "closure reason of a closed channel", h.k.GetChannelClosureReason(gone.handle, h.out(4)), abi.StatusInvalidHandle)
	wantStatus(t, "write on a closed channel", h.k.WriteChannel(gone.handle, h.place([]byte("x")), 1, h.out(4)), abi.StatusInvalidHandle)

	// Closing a channel the cloud already closed sends nothing more.
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 1)
	h.closeChannel(ch)
	h.cloud.sync(t)
	if n := len(h.cloud.received(frameIs(link.FrameClose, ch.handle))); n != 0 {
		t.Fatalf("%d CLOSE frames for a channel the cloud closed", n)
	}
}

func TestChannelClosureReasons(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x11)
	for _, b := range badWritePtrs {
		wantStatus(t, "out "+b.name, h.k.GetChannelClosureReason(ch.handle, b.addr), abi.StatusParameterFault)
		wantStatus(t, "out "+b.name+", bad handle", h.k.GetChannelClosureReason(0, b.addr), abi.StatusParameterFault)
	}
	for name, v := range map[string]uint32{"zero": 0, "random": 0x2468, "network": nw, "centre": c.handle} {
		out := h.out(4)
		wantStatus(t, name, h.k.GetChannelClosureReason(v, out), abi.StatusInvalidHandle)
		if h.u32(out) != sentinel {
			t.Fatalf("%s: INVALIDHANDLE wrote the output", name)
		}
	}
	out := h.out(4)
	wantStatus(t, "via Call", h.call("mvGetChannelClosureReason", uint64(ch.handle), uint64(out)), abi.StatusOkay)
	if abi.ClosureReason(h.u32(out)) != abi.ClosureReasonNone {
		t.Fatalf("reason %v while open, want NONE", abi.ClosureReason(h.u32(out)))
	}
	h.closeChannel(ch)

	byServer := func(wire, want abi.ClosureReason) {
		t.Helper()
		h.clk.advance(time.Second) // stay under the open rate limit
		ch := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0x22)
		h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(wire)})
		c.wait(abi.EventTypeChannelNotConnected, 0x22)
		if got := h.closureReason(ch); got != want {
			t.Fatalf("cloud CLOSE %v: reason %v, want %v", wire, got, want)
		}
		h.closeChannel(ch)
	}
	byServer(abi.ClosureReasonChannelClosedByServer, abi.ClosureReasonChannelClosedByServer)
	byServer(abi.ClosureReasonChannelResetByServer, abi.ClosureReasonChannelResetByServer)
	// Judgment: a CLOSE without a reason is reported as UNEXPECTEDLYTERMINATED.
	byServer(abi.ClosureReasonNone, abi.ClosureReasonUnexpectedlyTerminated)
	// A value outside MvClosureReason is never passed to the application.
	byServer(42, abi.ClosureReasonUnexpectedlyTerminated)
	byServer(abi.ClosureReasonUnexpectedlyTerminated, abi.ClosureReasonUnexpectedlyTerminated)

	// Releasing the channel's network: NETWORKDISCONNECTED, and the cloud
	// is told. A channel on another network is untouched.
	nw2, nw2p := h.requestNetwork(c, 0x33)
	h.waitStatus(nw2, abi.NetworkStatusConnected)
	onNw2 := h.open(c, nw2, abi.ChannelTypeOpaqueBytes, 512, 512, 0x44)
	onNw := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x55)
	wantStatus(t, "release", h.k.ReleaseNetwork(nw2p), abi.StatusOkay)
	c.wait(abi.EventTypeChannelNotConnected, 0x44)
	if got := h.closureReason(onNw2); got != abi.ClosureReasonNetworkDisconnected {
		t.Fatalf("after releasing its network: %v, want NETWORKDISCONNECTED", got)
	}
	if f := h.cloud.waitFrame(t, "CLOSE", frameIs(link.FrameClose, onNw2.handle)); f.Reason != uint8(abi.ClosureReasonNetworkDisconnected) {
		t.Fatalf("CLOSE reason %d", f.Reason)
	}
	if got := h.closureReason(onNw); got != abi.ClosureReasonNone {
		t.Fatalf("channel on the other network: %v", got)
	}
	// The link dropping: CONNECTIONTERMINATED.
	h.cloud.drop(t)
	c.wait(abi.EventTypeChannelNotConnected, 0x55)
	if got := h.closureReason(onNw); got != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("after the link dropped: %v, want CONNECTIONTERMINATED", got)
	}
	if got := h.closureReason(onNw2); got != abi.ClosureReasonNetworkDisconnected {
		t.Fatalf("an earlier reason changed: %v", got)
	}
}

// TestOpenChannelNoRateLimitOption: Options.NoOpenRateLimit (benchmarks
// only) lifts the eight-per-second limit and nothing else.
func TestOpenChannelNoRateLimitOption(t *testing.T) {
	h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) { o.NoOpenRateLimit = true })
	c, nw := h.ready()
	params := h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	for range 20 {
		h.closeChannel(h.openWith(params))
	}
	var open []*channel
	for range 4 {
		open = append(open, h.openWith(params))
		params = h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	}
	wantStatus(t, "5th", h.openRaw(params, h.out(4)), abi.StatusTooManyChannels)
}

// TestOpenChannelOverlappingBuffers: the kernel writes into every ring it
// is given, so a channel's rings may not overlap each other, another
// channel's rings or a notification ring (PARAMETERFAULT: the memory is not
// the application's to hand over), and a notification ring may not overlap
// a channel's (BUFFERALREADYINUSE).
func TestOpenChannelOverlappingBuffers(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 1024, 512, 1)

	own := h.chanParams(c, nw, abi.ChannelTypeHTTP, 1024, 512, 2)
	own.SendBuffer = own.ReceiveBuffer + 512 // inside its own receive ring
	wantStatus(t, "rx overlaps own tx", h.openRaw(own, h.out(4)), abi.StatusParameterFault)

	shared := h.chanParams(c, nw, abi.ChannelTypeHTTP, 1024, 512, 3)
	shared.ReceiveBuffer = other.rx
	wantStatus(t, "rx shared with another channel's rx", h.openRaw(shared, h.out(4)), abi.StatusParameterFault)

	ring := h.chanParams(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 4)
	ring.ReceiveBuffer = c.buf
	wantStatus(t, "rx over a notification ring", h.openRaw(ring, h.out(4)), abi.StatusParameterFault)

	wantStatus(t, "notification ring over a channel's rx",
		h.setupRaw(60, other.rx, 64, h.out(4)), abi.StatusBufferAlreadyInUse)

	// Once the other channel is closed its memory is free again.
	h.closeChannel(other)
	h.openWith(shared)
}

// TestCloseAnsweredChannelSendsNoClose: the cloud forgets an HTTP or
// CONFIGFETCH channel once it has sent the whole response (link/doc.go,
// "Channels"), so closing such a channel sends no CLOSE; closing one whose
// response has not arrived does.
func TestCloseAnsweredChannelSendsNoClose(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	httpDone := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 1)
	wantStatus(t, "send", h.send(httpDone, getReq), abi.StatusOkay)
	h.cloud.sendData(t, httpDone.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{StatusCode: 200}))
	c.wait(abi.EventTypeChannelDataReadable, 1)
	cfgDone := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 2)
	wantStatus(t, "fetch", h.fetch(cfgDone, acctCfg("a")), abi.StatusOkay)
	h.cloud.sendData(t, cfgDone.handle, link.AppendConfigResponse(nil, &link.ConfigResponse{Items: []link.ConfigItem{{Value: []byte("v")}}}))
	c.wait(abi.EventTypeChannelDataReadable, 2)
	// Half a response is not a response.
	httpHalf := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 3)
	wantStatus(t, "send", h.send(httpHalf, getReq), abi.StatusOkay)
	h.cloud.sendData(t, httpHalf.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{StatusCode: 200})[:10])
	h.cloud.sync(t) // the half is in the ring
	cfgWaiting := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 4)
	wantStatus(t, "fetch", h.fetch(cfgWaiting, acctCfg("a")), abi.StatusOkay)

	for _, ch := range []*channel{httpDone, cfgDone, httpHalf, cfgWaiting} {
		h.closeChannel(ch)
	}
	h.cloud.sync(t) // a CLOSE would have been queued before the PONG
	var closed []uint32
	for _, f := range h.cloud.received(func(f link.Frame) bool { return f.Type == link.FrameClose }) {
		if f.Reason != uint8(abi.ClosureReasonClosedByApplication) {
			t.Errorf("CLOSE %+v, want reason CLOSEDBYAPPLICATION", f)
		}
		closed = append(closed, f.Chan)
	}
	if want := []uint32{httpHalf.handle, cfgWaiting.handle}; !slices.Equal(closed, want) {
		t.Fatalf("CLOSE sent for %#x, want %#x (only the channels without their whole response)", closed, want)
	}
}
