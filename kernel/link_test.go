package kernel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

func TestHelloIdentifiesTheDevice(t *testing.T) {
	h := newHarness(t)
	h.waitLink()
	h.cloud.mu.Lock()
	hello := h.cloud.hellos[0]
	h.cloud.mu.Unlock()
	if hello.DeviceID != h.id || hello.Version != link.Version {
		t.Fatalf("HELLO %+v", hello)
	}
}

// TestLinkLoss: losing the link posts CHANNELNOTCONNECTED to every open
// channel, moves every network to CONNECTING, and reconnecting brings the
// networks back to CONNECTED; the old channels stay disconnected.
func TestLinkLoss(t *testing.T) {
	h := newHarness(t)
	c1 := h.newCentre(10, 32)
	c2 := h.newCentre(11, 32)
	n1, _ := h.requestNetwork(c1, 0x1001)
	n2, _ := h.requestNetwork(c2, 0x2002)
	h.waitStatus(n1, abi.NetworkStatusConnected)
	h.waitStatus(n2, abi.NetworkStatusConnected)
	opaque := h.open(c1, n1, abi.ChannelTypeOpaqueBytes, 512, 512, 0x1101)
	httpCh := h.open(c2, n2, abi.ChannelTypeHTTP, 512, 512, 0x2202)
	other := h.open(c2, n1, abi.ChannelTypeOpaqueBytes, 512, 512, 0x2203)
	c1.forget()
	c2.forget()
	irq10, irq11 := h.irq.count(10), h.irq.count(11)

	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	c1.wait(abi.EventTypeChannelNotConnected, 0x1101)
	c2.wait(abi.EventTypeChannelNotConnected, 0x2202)
	c2.wait(abi.EventTypeChannelNotConnected, 0x2203)
	c1.wait(abi.EventTypeNetworkStatusChanged, 0x1001)
	c2.wait(abi.EventTypeNetworkStatusChanged, 0x2002)
	for _, nw := range []uint32{n1, n2} {
		if st := h.networkStatus(nw); st != abi.NetworkStatusConnecting {
			t.Fatalf("network %#x: %v after the link dropped, want CONNECTING", nw, st)
		}
	}
	for _, ch := range []*channel{opaque, httpCh, other} {
		if r := h.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
			t.Fatalf("channel %#x: reason %v, want CONNECTIONTERMINATED", ch.handle, r)
		}
	}
	// Exactly one record, and one IRQ, per change.
	if d := h.irq.count(10) - irq10; d != 2 {
		t.Fatalf("centre 10: %d IRQs, want 2 (channel, network)", d)
	}
	if d := h.irq.count(11) - irq11; d != 3 {
		t.Fatalf("centre 11: %d IRQs, want 3 (two channels, network)", d)
	}
	p := h.chanParams(c1, n1, abi.ChannelTypeHTTP, 512, 512, 1)
	wantStatus(t, "open while down", h.openRaw(p, h.out(4)), abi.StatusNetworkNotConnected)
	if r, n := h.reasons(); r&abi.NetworkReasonUsingNetwork == 0 || n != 2 {
		t.Fatalf("reasons %v, count %d while reconnecting", r, n)
	}

	h.cloud.setRefuse(false)
	c1.wait(abi.EventTypeNetworkStatusChanged, 0x1001)
	c2.wait(abi.EventTypeNetworkStatusChanged, 0x2002)
	h.waitStatus(n1, abi.NetworkStatusConnected)
	h.waitStatus(n2, abi.NetworkStatusConnected)

	// Old channels stay disconnected; new ones open on the new link.
	wantStatus(t, "write on an old channel", h.k.WriteChannel(opaque.handle, h.place([]byte("x")), 1, h.out(4)), abi.StatusChannelClosed)
	wantStatus(t, "send on an old channel", h.send(httpCh, getReq), abi.StatusChannelClosed)
	fresh := h.openWith(p)
	h.cloud.waitFrame(t, "OPEN on the new link", frameIs(link.FrameOpen, fresh.handle))
	// Frames for the old channels on the new link are ignored.
	h.cloud.sendData(t, opaque.handle, []byte("stale"))
	h.cloud.sync(t)
	wantStatus(t, "read old channel", h.k.ReadChannel(opaque.handle, h.out(4), h.out(4)), abi.StatusChannelClosed)
	if h.cloud.linkCount() != 2 {
		t.Fatalf("%d links, want 2", h.cloud.linkCount())
	}
	h.closeChannel(opaque)
	h.closeChannel(httpCh)
	h.closeChannel(other)
}

// TestLinkProtocolError: a cloud that breaks flow control loses the link;
// the kernel reconnects.
func TestLinkProtocolError(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 16, 512, 0x31)
	h.cloud.sendData(t, ch.handle, make([]byte, 17)) // beyond the 16-byte window
	c.wait(abi.EventTypeChannelNotConnected, 0x31)
	if r := h.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("reason %v", r)
	}
	// link/doc.go: the side that sees a protocol error says why (CONTROL
	// ERROR) before it closes.
	h.cloud.waitFrame(t, "CONTROL ERROR", func(f link.Frame) bool {
		return f.Type == link.FrameControl && f.Kind == link.ControlError
	})
	eventually(t, "reconnect", func() bool { return h.cloud.linkCount() == 2 })
	h.waitStatus(nw, abi.NetworkStatusConnected)
	// An unexpected CREDIT is a protocol error too.
	ch2 := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 16, 512, 0x32)
	h.cloud.send(t, link.Frame{Type: link.FrameCredit, Chan: ch2.handle, Credit: 1})
	c.wait(abi.EventTypeChannelNotConnected, 0x32)
	eventually(t, "reconnect", func() bool { return h.cloud.linkCount() == 3 })
}

// TestFlappingLinkBacksOff: a cloud that drops every link right after
// WELCOME is redialled with backoff, not in a tight loop.
func TestFlappingLinkBacksOff(t *testing.T) {
	h := newHarness(t, refusing) // ReconnectDelay 1 ms, MaxReconnectDelay 5 ms
	h.cloud.mu.Lock()
	h.cloud.refuse = false
	h.cloud.dropAfterWelcome = true
	h.cloud.mu.Unlock()
	eventually(t, "a first link", func() bool { return h.cloud.linkCount() > 0 })
	// Every redial after a dropped link waits at least ReconnectDelay
	// (1 ms; more as the backoff grows), so n more links take at least
	// n−1 ms: a lower bound on time that a loaded machine only exceeds. A
	// tight loop makes them in a fraction of that.
	start, t0 := h.cloud.linkCount(), time.Now()
	eventually(t, "50 more links", func() bool { return h.cloud.linkCount()-start >= 50 })
	n := h.cloud.linkCount() - start
	if took := time.Since(t0); took < time.Duration(n-1)*time.Millisecond {
		t.Fatalf("%d links in %v: the kernel redials a flapping cloud without backoff", n, took)
	}
	// A link that stays up is used as usual.
	h.cloud.mu.Lock()
	h.cloud.dropAfterWelcome = false
	h.cloud.mu.Unlock()
	c := h.newCentre(1, 32)
	nw, _ := h.requestNetwork(c, 1)
	h.waitStatus(nw, abi.NetworkStatusConnected)
}

func TestKernelLifecycle(t *testing.T) {
	a, err := mem.NewArena(mem.ArenaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	irq := &irqRecorder{}
	for name, o := range map[string]kernel.Options{
		"no memory":  {IRQ: irq},
		"no IRQ":     {Memory: a},
		"short ID":   {Memory: a, IRQ: irq, DeviceID: "UV1234"},
		"not UV":     {Memory: a, IRQ: irq, DeviceID: "XX0123456789abcdef0123456789abcdef"},
		"not hex":    {Memory: a, IRQ: irq, DeviceID: "UV0123456789abcdef0123456789abcdeg"},
		"35 char ID": {Memory: a, IRQ: irq, DeviceID: "UV0123456789abcdef0123456789abcdef0"},
		"nothing":    {},
	} {
		if _, err := kernel.New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if err := kernel.ValidateDeviceID(kernel.NewDeviceID()); err != nil {
		t.Fatalf("a new device ID is invalid: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	// Closed before it started: Wait returns, Start refuses.
	k, err := kernel.New(kernel.Options{Memory: a, IRQ: irq})
	if err != nil {
		t.Fatal(err)
	}
	if k.DeviceID() == "" || k.ABI() != abi.Device {
		t.Fatalf("defaults: ID %q, ABI %v", k.DeviceID(), k.ABI().Name())
	}
	_ = k.Close()
	if err := k.Wait(ctx); err != nil {
		t.Fatalf("Wait after Close without Start: %v", err)
	}
	if err := k.Start(); !errors.Is(err, kernel.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	// Started twice: the second is refused (it used to start a second
	// link manager, which panicked closing done twice).
	k2, err := kernel.New(kernel.Options{Memory: a, IRQ: irq})
	if err != nil {
		t.Fatal(err)
	}
	if err := k2.Start(); err != nil {
		t.Fatal(err)
	}
	if err := k2.Start(); !errors.Is(err, kernel.ErrStarted) {
		t.Fatalf("second Start: %v", err)
	}
	_ = k2.Close()
	_ = k2.Close()
	if err := k2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestNoNotificationsAfterClose: Close takes the link down without posting
// anything.
func TestNoNotificationsAfterClose(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 1)
	c.forget()
	before := h.irq.count(c.irq)
	_ = h.k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := h.k.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if h.irq.count(c.irq) != before || c.count(abi.EventTypeChannelNotConnected, 1) != 0 {
		t.Fatal("notifications after Close")
	}
	if h.k.LinkUp() {
		t.Fatal("link up after Close")
	}
}

// TestNoCloud: without Options.Dial the network never comes up.
func TestNoCloud(t *testing.T) {
	a, err := mem.NewArena(mem.ArenaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, a: a, irq: &irqRecorder{}, clk: &fakeClock{}, cloud: newFakeCloud()}
	h.k, err = kernel.New(kernel.Options{Memory: a, IRQ: h.irq, Monotonic: h.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = h.k.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		_ = h.k.Wait(ctx)
	}()
	if r, n := h.reasons(); r != abi.NetworkReasonNeverUsedNetworkAPI|abi.NetworkReasonRTCNotSet || n != 0 {
		t.Fatalf("reasons %v count %d", r, n)
	}
	c := h.newCentre(1, 8)
	nw, _ := h.requestNetwork(c, 1)
	if st := h.networkStatus(nw); st != abi.NetworkStatusConnecting {
		t.Fatalf("status %v, want CONNECTING", st)
	}
	wantStatus(t, "open", h.openRaw(h.chanParams(c, nw, abi.ChannelTypeHTTP, 512, 512, 1), h.out(4)), abi.StatusNetworkNotConnected)
	wantStatus(t, "wall time", h.k.GetWallTime(h.out(8)), abi.StatusTimeNotSet)
	if h.k.LinkUp() {
		t.Fatal("link up without a cloud")
	}
}

// TestSilentCloudTimesOut: a cloud that never answers HELLO does not hang
// the kernel; it gives up after HandshakeTimeout and redials.
func TestSilentCloudTimesOut(t *testing.T) {
	h := newHarness(t, func(fc *fakeCloud, o *kernel.Options) {
		fc.silent = true
		o.HandshakeTimeout = 20 * time.Millisecond
	})
	eventually(t, "a redial after the handshake timed out", func() bool {
		h.cloud.mu.Lock()
		defer h.cloud.mu.Unlock()
		return len(h.cloud.hellos) >= 2
	})
	wantStatus(t, "wall time", h.k.GetWallTime(h.out(8)), abi.StatusTimeNotSet)
	// Once the cloud answers, the link comes up.
	h.cloud.mu.Lock()
	h.cloud.silent = false
	h.cloud.mu.Unlock()
	h.waitLink()
	eventually(t, "wall time", func() bool { return h.k.GetWallTime(h.out(8)) == abi.StatusOkay })
}
