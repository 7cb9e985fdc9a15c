package test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// Faults injected in the cloud (cloud/faults) as the device sees them.

// TestFaultLinkDroppedMidRequest: the link drops while the server is still
// working on a request. The channel loses its connection, the network goes
// back to CONNECTING, and once the link is restored a new channel works.
func TestFaultLinkDroppedMidRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	id := v.d.ID()
	ch, tag := v.openHTTP(4096)
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 10000})
	e.block.waitEntered(t, v.ctx)

	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatalf("DropLink: %v", err)
	}
	restored := false
	t.Cleanup(func() {
		if !restored {
			_ = e.cloud.Faults().RestoreLink(id)
		}
	})

	v.waitEvent(tag, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s, want CONNECTIONTERMINATED", r)
	}
	// The cloud gave up the request in flight.
	e.block.waitCancelled(t)
	if _, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusChannelClosed {
		t.Errorf("mvReadHttpResponseData on the dropped channel: %s, want CHANNELCLOSED", st)
	}
	if _, st, _ := v.d.ReadHTTPResponseBody(ch, 0, 16); st != abi.StatusChannelClosed {
		t.Errorf("mvReadHttpResponseBody on the dropped channel: %s, want CHANNELCLOSED", st)
	}
	// spec/abi.md orders CHANNELCLOSED before REQUESTALREADYSENT.
	if st, _ := v.d.SendHTTPRequest(ch, get(e.url("/hello"))); st != abi.StatusChannelClosed {
		t.Errorf("mvSendHttpRequest on the dropped channel: %s, want CHANNELCLOSED", st)
	}
	v.waitNetStatus(abi.NetworkStatusConnecting)

	// While the link is refused, no channel can be opened.
	if _, _, st := v.tryOpen(abi.ChannelTypeHTTP, 4096, 1024); st != abi.StatusNetworkNotConnected {
		t.Errorf("mvOpenChannel while the link is dropped: %s, want NETWORKNOTCONNECTED", st)
	}
	// The device keeps redialling and the cloud keeps refusing it.
	if v.netStatus() != abi.NetworkStatusConnecting {
		t.Errorf("network status while dropped: %s, want CONNECTING", v.netStatus())
	}

	if err := e.cloud.Faults().RestoreLink(id); err != nil {
		t.Fatalf("RestoreLink: %v", err)
	}
	restored = true
	v.waitNetStatus(abi.NetworkStatusConnected)
	if devs := e.cloud.Devices(); len(devs) != 1 || devs[0].DeviceID != id || len(devs[0].Channels) != 0 {
		t.Errorf("after RestoreLink the cloud lists %+v, want only %s with no channels", devs, id)
	}
	if st := v.d.CloseChannel(ch); st != abi.StatusOkay {
		t.Errorf("closing the dropped channel: %s", st)
	}

	ch2, data := v.do(get(e.url("/hello")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("after RestoreLink: result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	if b := v.body(ch2, data.BodyLength); string(b) != "hello, device" {
		t.Errorf("after RestoreLink: body %q", b)
	}
}

// TestFaultServerClosesChannel: CloseChannel and ResetChannel from the
// cloud end a channel whose request is in flight, with their reasons.
func TestFaultServerClosesChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name   string
		inject func(id string, ch uint32) error
		want   abi.ClosureReason
	}{
		{"close", e.cloud.Faults().CloseChannel, abi.ClosureReasonChannelClosedByServer},
		{"reset", e.cloud.Faults().ResetChannel, abi.ClosureReasonChannelResetByServer},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := e.newDev(t)
			ch, tag := v.openHTTP(4096)
			v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 10000})
			e.block.waitEntered(t, v.ctx)
			if err := c.inject(v.d.ID(), ch.Handle); err != nil {
				t.Fatalf("injecting %s: %v", c.name, err)
			}
			v.waitEvent(tag, abi.EventTypeChannelNotConnected)
			if r := v.closureReason(ch); r != c.want {
				t.Errorf("closure reason %s, want %s", r, c.want)
			}
			e.block.waitCancelled(t)
			if _, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusChannelClosed {
				t.Errorf("mvReadHttpResponseData: %s, want CHANNELCLOSED", st)
			}
			// Only that channel is affected: the network stays up and a
			// new channel works.
			if s := v.netStatus(); s != abi.NetworkStatusConnected {
				t.Errorf("network status %s, want CONNECTED", s)
			}
			if _, data := v.do(get(e.url("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
				t.Errorf("next request: result %s status %d, want OK 200", data.Result, data.StatusCode)
			}
			// The cloud no longer knows the closed channel.
			if err := c.inject(v.d.ID(), ch.Handle); !errors.Is(err, faults.ErrUnknownChannel) {
				t.Errorf("injecting %s again on the closed channel: %v, want ErrUnknownChannel", c.name, err)
			}
		})
	}
}

// TestFaultServerClosesOpaqueChannel: the same on a byte-stream channel.
func TestFaultServerClosesOpaqueChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.open(abi.ChannelTypeOpaqueBytes, 512, 512)
	// The cloud learns of the channel asynchronously.
	eventually(t, "the cloud lists the channel", func() bool { return cloudHasChannel(e, v.d.ID(), ch.Handle) })
	if err := e.cloud.Faults().ResetChannel(v.d.ID(), ch.Handle); err != nil {
		t.Fatalf("ResetChannel: %v", err)
	}
	v.waitEvent(tag, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonChannelResetByServer {
		t.Errorf("closure reason %s, want CHANNELRESETBYSERVER", r)
	}
	if _, st, _ := v.d.WriteChannel(ch, []byte("x")); st != abi.StatusChannelClosed {
		t.Errorf("mvWriteChannel after the reset: %s, want CHANNELCLOSED", st)
	}
	if _, st := v.d.ReadChannel(ch); st != abi.StatusChannelClosed {
		t.Errorf("mvReadChannel after the reset: %s, want CHANNELCLOSED", st)
	}
}

func cloudHasChannel(e *env, id string, h uint32) bool {
	for _, d := range e.cloud.Devices() {
		if d.DeviceID == id {
			return slices.ContainsFunc(d.Channels, func(c cloud.ChannelInfo) bool { return c.Chan == h })
		}
	}
	return false
}

// TestFaultLatency: with latency set, the response arrives no sooner than
// the latency after the request.
func TestFaultLatency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const latency = 300 * time.Millisecond
	if err := e.cloud.Faults().SetLatency(v.d.ID(), latency); err != nil {
		t.Fatalf("SetLatency: %v", err)
	}
	t.Cleanup(func() { _ = e.cloud.Faults().SetLatency(v.d.ID(), 0) })
	ch, tag := v.openHTTP(4096)
	start := time.Now()
	v.send(ch, get(e.url("/hello")))
	data := v.waitResponse(ch, tag)
	elapsed := time.Since(start)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	if elapsed < latency {
		t.Errorf("response after %v, want at least the %v latency", elapsed, latency)
	}
	if b := v.body(ch, data.BodyLength); string(b) != "hello, device" {
		t.Errorf("body %q", b)
	}

	// Cleared, the next response is not delayed by it (generously: well
	// under the latency would be flaky on a loaded machine, so only check
	// that it still works).
	if err := e.cloud.Faults().SetLatency(v.d.ID(), 0); err != nil {
		t.Fatalf("SetLatency(0): %v", err)
	}
	if _, data := v.do(get(e.url("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("after clearing latency: result %s status %d", data.Result, data.StatusCode)
	}
}

// TestFaultResponseReadableAfterLinkDrop: a response already received stays
// readable after the link drops.
func TestFaultResponseReadableAfterLinkDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	id := v.d.ID()
	ch, data := v.do(get(e.url("/hello")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	hs := v.headers(ch, data.NumHeaders)

	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatalf("DropLink: %v", err)
	}
	t.Cleanup(func() { _ = e.cloud.Faults().RestoreLink(id) })
	v.waitEvent(v.nextTag-1, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s, want CONNECTIONTERMINATED", r)
	}

	again, st := v.d.ReadHTTPResponseData(ch)
	if st != abi.StatusOkay || again != data {
		t.Fatalf("mvReadHttpResponseData after the drop: %+v %s, want %+v OKAY", again, st, data)
	}
	if got := v.headers(ch, again.NumHeaders); !slices.Equal(got, hs) {
		t.Errorf("headers after the drop %q, want %q", got, hs)
	}
	if b := v.body(ch, again.BodyLength); string(b) != "hello, device" {
		t.Errorf("body after the drop %q", b)
	}
	if st, _ := v.d.SendHTTPRequest(ch, get(e.url("/hello"))); st != abi.StatusChannelClosed {
		t.Errorf("mvSendHttpRequest after the drop: %s, want CHANNELCLOSED", st)
	}
}

// TestFaultOpaqueDataReadableAfterLinkDrop: bytes received on a byte-stream
// channel stay readable after the link drops; once they are consumed the
// channel reports CHANNELCLOSED.
func TestFaultOpaqueDataReadableAfterLinkDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	id := v.d.ID()
	ch, tag := v.open(abi.ChannelTypeOpaqueBytes, 512, 512)
	msg := []byte("kept across the drop")
	if _, st, err := v.d.WriteChannel(ch, msg); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvWriteChannel: %s %v", st, err)
	}
	// Wait until the whole echo is in the receive ring, without consuming.
	var got []byte
	eventually(t, "the echo has arrived", func() bool {
		b, st := v.d.ReadChannel(ch)
		got = b
		return st == abi.StatusOkay && len(b) == len(msg)
	})
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}

	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatalf("DropLink: %v", err)
	}
	t.Cleanup(func() { _ = e.cloud.Faults().RestoreLink(id) })
	v.waitEvent(tag, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s, want CONNECTIONTERMINATED", r)
	}
	if _, st, _ := v.d.WriteChannel(ch, []byte("x")); st != abi.StatusChannelClosed {
		t.Errorf("mvWriteChannel after the drop: %s, want CHANNELCLOSED", st)
	}
	b, st := v.d.ReadChannel(ch)
	if st != abi.StatusOkay || !bytes.Equal(b, msg) {
		t.Fatalf("mvReadChannel after the drop: %q %s, want %q OKAY", b, st, msg)
	}
	if st := v.d.ReadChannelComplete(ch, uint32(len(b))); st != abi.StatusOkay {
		t.Fatalf("mvReadChannelComplete after the drop: %s", st)
	}
	if _, st := v.d.ReadChannel(ch); st != abi.StatusChannelClosed {
		t.Errorf("mvReadChannel with nothing left after the drop: %s, want CHANNELCLOSED", st)
	}
}

// TestFaultDropLinkBeforeBoot: a device whose link is dropped before it
// first connects stays CONNECTING, redialling, until RestoreLink.
func TestFaultDropLinkBeforeBoot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "UV00112233445566778899aabbccddeeff"
	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatalf("DropLink: %v", err)
	}
	var dials atomic.Int32
	d := testenv.NewDevice(t, e.cloud, device.Options{DeviceID: id, Dial: func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		return e.cloud.Dial(ctx)
	}})
	c, st, err := d.SetupNotifications(irq, 16)
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvSetupNotifications: %s %v", st, err)
	}
	h, st := d.RequestNetwork(c, netTag)
	if st != abi.StatusOkay {
		t.Fatalf("mvRequestNetwork: %s", st)
	}
	v := &dev{t: t, e: e, d: d, n: &device.Net{Centre: c, Handle: h}, ctx: testenv.Context(t, 45*time.Second), nextTag: 0x100}

	// Several refused attempts later, still CONNECTING.
	eventually(t, "the device has redialled", func() bool { return dials.Load() >= 3 })
	if s := v.netStatus(); s != abi.NetworkStatusConnecting {
		t.Fatalf("network status while the link is dropped: %s, want CONNECTING", s)
	}
	if len(e.cloud.Devices()) != 0 {
		t.Errorf("the cloud lists %v while the device's link is dropped", e.cloud.Devices())
	}

	if err := e.cloud.Faults().RestoreLink(id); err != nil {
		t.Fatalf("RestoreLink: %v", err)
	}
	v.waitNetStatus(abi.NetworkStatusConnected)
	if _, data := v.do(get(e.url("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("after RestoreLink: result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
}

// TestCloudShutdown: when the cloud shuts down, the device's channels lose
// their connection and the network goes back to CONNECTING.
func TestCloudShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.openHTTP(4096)
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 10000})
	e.block.waitEntered(t, v.ctx)

	ctx, cancel := context.WithTimeout(v.ctx, waitLimit)
	defer cancel()
	if err := e.cloud.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	v.waitEvent(tag, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s, want CONNECTIONTERMINATED", r)
	}
	e.block.waitCancelled(t)
	if _, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusChannelClosed {
		t.Errorf("mvReadHttpResponseData: %s, want CHANNELCLOSED", st)
	}
	v.waitNetStatus(abi.NetworkStatusConnecting)
}

// TestFaultLatencyBeforeConnect: latency set before the device first
// connects delays its WELCOME, and stays in force across a new link.
func TestFaultLatencyBeforeConnect(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const id = "UV0123456789abcdef0123456789abcdef"
	const latency = 200 * time.Millisecond
	if err := e.cloud.Faults().SetLatency(id, latency); err != nil {
		t.Fatalf("SetLatency: %v", err)
	}
	start := time.Now()
	d := testenv.NewDevice(t, e.cloud, device.Options{DeviceID: id})
	ctx := testenv.Context(t, 45*time.Second)
	n, err := d.Connect(ctx, irq)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("connected after %v, want at least the %v latency", elapsed, latency)
	}
	v := &dev{t: t, e: e, d: d, n: n, ctx: ctx, nextTag: 0x100}

	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatalf("DropLink: %v", err)
	}
	v.waitNetStatus(abi.NetworkStatusConnecting)
	if err := e.cloud.Faults().RestoreLink(id); err != nil {
		t.Fatalf("RestoreLink: %v", err)
	}
	v.waitNetStatus(abi.NetworkStatusConnected)
	ch, tag := v.openHTTP(4096)
	start = time.Now()
	v.send(ch, get(e.url("/hello")))
	data := v.waitResponse(ch, tag)
	if elapsed := time.Since(start); elapsed < latency {
		t.Errorf("response on the new link after %v, want at least the %v latency", elapsed, latency)
	}
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
}

// TestAnnounceUpdate: the cloud's AnnounceUpdate reaches the application's
// UPDATE system notification stream as UPDATEDOWNLOADED; a NETWORK stream
// hears the link drop and come back.
func TestAnnounceUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const updTag, netTag = 0x7701, 0x7702
	upd, st := v.d.OpenSystemNotification(v.n.Centre, updTag, abi.SystemNotificationSourceUpdate)
	if st != abi.StatusOkay {
		t.Fatalf("mvOpenSystemNotification(UPDATE): %s", st)
	}
	if _, st := v.d.OpenSystemNotification(v.n.Centre, netTag, abi.SystemNotificationSourceNetwork); st != abi.StatusOkay {
		t.Fatalf("mvOpenSystemNotification(NETWORK): %s", st)
	}
	if err := e.cloud.Faults().AnnounceUpdate(v.d.ID(), "v2"); err != nil {
		t.Fatal(err)
	}
	v.waitEvent(updTag, abi.EventTypeUpdateDownloaded)

	if err := e.cloud.Faults().DropLink(v.d.ID()); err != nil {
		t.Fatal(err)
	}
	v.waitEvent(netTag, abi.EventTypeNetworkStatusChanged)
	if err := e.cloud.Faults().RestoreLink(v.d.ID()); err != nil {
		t.Fatal(err)
	}
	v.waitEvent(netTag, abi.EventTypeNetworkStatusChanged)
	if st := v.d.CloseSystemNotification(upd); st != abi.StatusOkay {
		t.Fatalf("mvCloseSystemNotification: %s", st)
	}
}
