package cloud_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

const opaque = uint8(abi.ChannelTypeOpaqueBytes)

func newServer(t *testing.T) *cloud.Server {
	t.Helper()
	return newServerWith(t, cloud.Options{})
}

// newServerWith starts a server with o, shut down at the end of the test.
func newServerWith(t *testing.T, o cloud.Options) *cloud.Server {
	t.Helper()
	s, err := cloud.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Ready():
	default:
		t.Fatal("Ready not closed after Start")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), fakedev.Wait)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, s *cloud.Server) *fakedev.Device {
	t.Helper()
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return fakedev.New(t, c)
}

// connect dials and says HELLO as device n.
func connect(t *testing.T, s *cloud.Server, n int) *fakedev.Device {
	t.Helper()
	d := dial(t, s)
	d.Hello(fakedev.ID(n))
	return d
}

// eventually polls cond until it holds or fakedev.Wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Within(t, fakedev.Wait, what, cond)
}

func TestNewValidates(t *testing.T) {
	_, err := cloud.New(cloud.Options{HTTP: httpexec.Options{Resolve: []string{"example.com:443"}}})
	if err == nil || !strings.Contains(err.Error(), `"example.com:443"`) {
		t.Fatalf("New: %v, want an error naming the bad Resolve entry", err)
	}
	for _, m := range []cloud.MQTTOptions{{ConnectTimeout: -1}, {BreakerRate: -1}, {BreakerBacklog: -1}, {BreakerBytes: -1}} {
		if _, err := cloud.New(cloud.Options{MQTT: m}); err == nil || !strings.Contains(err.Error(), "MQTT") {
			t.Errorf("New with MQTT options %+v: %v, want an error", m, err)
		}
	}
}

func TestLifecycle(t *testing.T) {
	s, err := cloud.New(cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dial(context.Background()); !errors.Is(err, cloud.ErrNotStarted) {
		t.Fatalf("Dial before Start: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}
	d1 := connect(t, s, 1)
	d2 := connect(t, s, 2)
	d2.Open(1, opaque, 512, 512)
	d2.SyncQuiet()
	ctx, cancel := context.WithTimeout(context.Background(), fakedev.Wait)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	d1.ExpectEnd()
	d2.ExpectEnd()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := s.Dial(context.Background()); !errors.Is(err, cloud.ErrShutdown) {
		t.Fatalf("Dial after Shutdown: %v", err)
	}
	if len(s.Devices()) != 0 {
		t.Fatalf("devices after Shutdown: %+v", s.Devices())
	}
	if err := s.Start(context.Background()); err == nil {
		t.Fatal("Start after Shutdown succeeded")
	}
}

func TestShutdownRespectsContext(t *testing.T) {
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Already cancelled: Shutdown still starts closing, and reports ctx's
	// error unless everything had ended already.
	if err := s.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestDevices(t *testing.T) {
	s := newServer(t)
	d2 := connect(t, s, 2)
	d1 := connect(t, s, 1)
	d1.Open(7, opaque, 1024, 512)
	d1.Open(3, opaque, 512, 1024)
	d1.SyncQuiet()
	d2.SyncQuiet()
	got := s.Devices()
	want := []cloud.DeviceInfo{
		{DeviceID: fakedev.ID(1), Channels: []cloud.ChannelInfo{{Chan: 3, Type: opaque, RxSize: 512, TxSize: 1024}, {Chan: 7, Type: opaque, RxSize: 1024, TxSize: 512}}},
		{DeviceID: fakedev.ID(2)},
	}
	if len(got) != 2 || got[0].DeviceID != want[0].DeviceID || got[1].DeviceID != want[1].DeviceID ||
		len(got[0].Channels) != 2 || got[0].Channels[0] != want[0].Channels[0] || got[0].Channels[1] != want[0].Channels[1] ||
		len(got[1].Channels) != 0 {
		t.Fatalf("Devices() = %+v, want %+v", got, want)
	}
}

func TestNewHelloReplacesOldLink(t *testing.T) {
	s := newServer(t)
	old := connect(t, s, 1)
	old.Open(1, opaque, 512, 512)
	old.SyncQuiet()
	fresh := connect(t, s, 1)
	old.ExpectEnd()
	fresh.SyncQuiet()
	devs := s.Devices()
	if len(devs) != 1 || len(devs[0].Channels) != 0 {
		t.Fatalf("Devices() = %+v", devs)
	}
}

func TestServeConnReturnsProtocolError(t *testing.T) {
	s := newServer(t)
	device, cloudEnd := link.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- s.ServeConn(cloudEnd) }()
	d := fakedev.New(t, device)
	d.Send(link.Frame{Type: link.FrameOpen})
	d.ExpectError()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "want HELLO") {
			t.Fatalf("ServeConn returned %v", err)
		}
	case <-time.After(fakedev.Wait):
		t.Fatal("ServeConn did not return")
	}
}

func TestFaultDropLink(t *testing.T) {
	s := newServer(t)
	f := s.Faults()
	d := connect(t, s, 1)
	d.Open(1, opaque, 512, 512)
	d.SyncQuiet()
	if err := f.DropLink(fakedev.ID(1)); err != nil {
		t.Fatal(err)
	}
	d.ExpectEnd()
	eventually(t, "the device to be gone", func() bool { return len(s.Devices()) == 0 })
	// Reconnects are closed before WELCOME.
	for range 2 {
		d = dial(t, s)
		d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
		d.ExpectEnd()
	}
	// Other devices are not affected.
	connect(t, s, 2).SyncQuiet()
	if err := f.RestoreLink(fakedev.ID(1)); err != nil {
		t.Fatal(err)
	}
	connect(t, s, 1).SyncQuiet()
	// Dropping a device that is not connected refuses its first link.
	if err := f.DropLink(fakedev.ID(3)); err != nil {
		t.Fatal(err)
	}
	d = dial(t, s)
	d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(3)})
	d.ExpectEnd()
	if err := f.DropLink("UV123"); err == nil {
		t.Fatal("DropLink accepted a malformed device ID")
	}
}

func TestFaultCloseAndResetChannel(t *testing.T) {
	s := newServer(t)
	f := s.Faults()
	d := connect(t, s, 1)
	d.Open(1, opaque, 512, 512)
	d.Open(2, opaque, 512, 512)
	d.SyncQuiet()
	for _, c := range []struct {
		ch     uint32
		do     func(string, uint32) error
		reason abi.ClosureReason
	}{
		{1, f.CloseChannel, abi.ClosureReasonChannelClosedByServer},
		{2, f.ResetChannel, abi.ClosureReasonChannelResetByServer},
	} {
		if err := c.do(fakedev.ID(1), c.ch); err != nil {
			t.Fatal(err)
		}
		fr := d.Expect(link.FrameClose)
		if fr.Chan != c.ch || fr.Reason != uint8(c.reason) {
			t.Fatalf("got %+v, want CLOSE %d reason %d", fr, c.ch, c.reason)
		}
		if err := c.do(fakedev.ID(1), c.ch); !errors.Is(err, faults.ErrUnknownChannel) {
			t.Fatalf("again: %v, want ErrUnknownChannel", err)
		}
	}
	d.SyncQuiet() // the link is still up
	if devs := s.Devices(); len(devs) != 1 || len(devs[0].Channels) != 0 {
		t.Fatalf("Devices() = %+v", devs)
	}
	if err := f.CloseChannel(fakedev.ID(9), 1); !errors.Is(err, faults.ErrNotConnected) {
		t.Fatalf("unknown device: %v, want ErrNotConnected", err)
	}
	if err := f.ResetChannel("nonsense", 1); err == nil {
		t.Fatal("ResetChannel accepted a malformed device ID")
	}
}

func TestFaultLatency(t *testing.T) {
	s := newServer(t)
	f := s.Faults()
	d := connect(t, s, 1)
	const lat = 150 * time.Millisecond
	if err := f.SetLatency(fakedev.ID(1), lat); err != nil {
		t.Fatal(err)
	}
	d.Open(1, opaque, 512, 512)
	start := time.Now()
	d.Data(1, []byte("abc"))
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: 1})
	// Order is kept: DATA, CREDIT, PONG, all delayed.
	if fr := d.Expect(link.FrameData); string(fr.Payload) != "abc" {
		t.Fatalf("got %+v", fr)
	}
	if el := time.Since(start); el < lat {
		t.Fatalf("first frame after %v, want at least %v", el, lat)
	}
	d.Expect(link.FrameCredit)
	if fr := d.Expect(link.FrameControl); fr.Kind != link.ControlPong {
		t.Fatalf("got %+v", fr)
	}
	// Clearing it: frames come without the delay again. A latency longer
	// than fakedev.Wait, set and cleared, would make the PONG miss that
	// deadline if the clearing did not take: no upper bound on time needed.
	if err := f.SetLatency(fakedev.ID(1), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.SetLatency(fakedev.ID(1), 0); err != nil {
		t.Fatal(err)
	}
	d.SyncQuiet()
	if err := f.SetLatency(fakedev.ID(1), -time.Second); err == nil {
		t.Fatal("negative latency accepted")
	}
	// Latency set while not connected applies to the next link, WELCOME
	// included.
	if err := f.SetLatency(fakedev.ID(2), lat); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	connect(t, s, 2)
	if el := time.Since(start); el < lat {
		t.Fatalf("WELCOME after %v, want at least %v", el, lat)
	}
}

func TestMaxChannelBufferOption(t *testing.T) {
	for _, bad := range []int{-512, 1, 100, 513, 1000} {
		if _, err := cloud.New(cloud.Options{MaxChannelBuffer: bad}); err == nil || !strings.Contains(err.Error(), "MaxChannelBuffer") {
			t.Fatalf("MaxChannelBuffer %d: New returned %v", bad, err)
		}
	}
	for _, tt := range []struct {
		max    int
		ok, no uint32 // a buffer size accepted and one refused
	}{
		{0, 1 << 20, 1<<20 + 512}, // the default, 1 MiB
		{512, 512, 1024},
		{4096, 4096, 4608},
		{8 << 20, 8 << 20, 8<<20 + 512},
	} {
		s, err := cloud.New(cloud.Options{MaxChannelBuffer: tt.max})
		if err != nil {
			t.Fatalf("MaxChannelBuffer %d: %v", tt.max, err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		d := connect(t, s, 1)
		d.Open(1, opaque, tt.ok, tt.ok)
		d.Open(2, opaque, 512, tt.no)
		d.Open(3, opaque, tt.no, 512)
		for _, ch := range []uint32{2, 3} {
			if f := d.Expect(link.FrameClose); f.Chan != ch || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
				t.Fatalf("MaxChannelBuffer %d: got %+v, want CLOSE %d UNEXPECTEDLYTERMINATED", tt.max, f, ch)
			}
		}
		d.SyncQuiet()
		if devs := s.Devices(); len(devs) != 1 || len(devs[0].Channels) != 1 || devs[0].Channels[0].TxSize != tt.ok {
			t.Fatalf("MaxChannelBuffer %d: Devices() = %+v", tt.max, devs)
		}
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
