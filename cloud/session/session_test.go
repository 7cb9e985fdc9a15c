package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

const (
	opaque = uint8(abi.ChannelTypeOpaqueBytes)
	httpCh = uint8(abi.ChannelTypeHTTP)
)

// run is a session under test with its device.
type run struct {
	dev  *fakedev.Device
	sess *session.Session
	errc chan error // Run's result
}

func start(t *testing.T, cfg session.Config) *run {
	t.Helper()
	device, cloudEnd := link.Pipe()
	r := &run{dev: fakedev.New(t, device), sess: session.New(cloudEnd, cfg), errc: make(chan error, 1)}
	go func() { r.errc <- r.sess.Run(context.Background()) }()
	t.Cleanup(func() {
		r.sess.Close()
		r.wait(t)
	})
	return r
}

// wait returns Run's result.
func (r *run) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.errc <- err // for the next caller
		return err
	case <-time.After(fakedev.Wait):
		t.Fatal("session did not end")
	}
	return nil
}

func hello(t *testing.T, cfg session.Config) *run {
	t.Helper()
	r := start(t, cfg)
	r.dev.Hello(fakedev.ID(1))
	return r
}

func wantProtocolError(t *testing.T, r *run, substr string) {
	t.Helper()
	text := r.dev.ExpectError()
	if !strings.Contains(text, substr) {
		t.Fatalf("CONTROL ERROR %q does not mention %q", text, substr)
	}
	if err := r.wait(t); err == nil || !strings.Contains(err.Error(), substr) {
		t.Fatalf("Run returned %v, want an error mentioning %q", err, substr)
	}
}

func TestHelloWelcome(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 123456000, time.UTC)
	var got []string
	r := start(t, session.Config{
		Now: func() time.Time { return now },
		Register: func(id string, s *session.Session) (func(), error) {
			got = append(got, id)
			return nil, nil
		},
	})
	w := r.dev.Hello(fakedev.ID(7))
	if w.WallTimeUS != uint64(now.UnixMicro()) {
		t.Fatalf("WELCOME wall time %d, want %d", w.WallTimeUS, now.UnixMicro())
	}
	if len(got) != 1 || got[0] != fakedev.ID(7) || r.sess.DeviceID() != fakedev.ID(7) {
		t.Fatalf("registered %q, DeviceID %q", got, r.sess.DeviceID())
	}
}

func TestBadHello(t *testing.T) {
	tests := []struct {
		name  string
		f     link.Frame
		error string
	}{
		{"not hello", link.Frame{Type: link.FrameOpen, Chan: 1}, "want HELLO"},
		{"version", link.Frame{Type: link.FrameHello, Version: 2, DeviceID: fakedev.ID(1)}, "version 2"},
		{"prefix", link.Frame{Type: link.FrameHello, Version: 1, DeviceID: "XX" + fakedev.ID(1)[2:]}, "must start with UV"},
		{"hex", link.Frame{Type: link.FrameHello, Version: 1, DeviceID: "UV" + strings.Repeat("g", 32)}, "not a hex digit"},
		{"ping first", link.Frame{Type: link.FrameControl, Kind: link.ControlPing}, "want HELLO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := start(t, session.Config{})
			r.dev.Send(tt.f)
			wantProtocolError(t, r, tt.error)
		})
	}
}

func TestHelloTimeout(t *testing.T) {
	r := start(t, session.Config{HelloTimeout: 50 * time.Millisecond})
	r.dev.ExpectEnd()
	if err := r.wait(t); err == nil || !strings.Contains(err.Error(), "no HELLO") {
		t.Fatalf("Run returned %v", err)
	}
}

func TestRegisterRefuses(t *testing.T) {
	r := start(t, session.Config{Register: func(string, *session.Session) (func(), error) {
		return nil, errors.New("dropped")
	}})
	r.dev.Send(link.Frame{Type: link.FrameHello, Version: 1, DeviceID: fakedev.ID(1)})
	r.dev.ExpectEnd() // no WELCOME, no ERROR
	if err := r.wait(t); !errors.Is(err, session.ErrRefused) {
		t.Fatalf("Run returned %v, want ErrRefused", err)
	}
}

func TestUnregisterAtEnd(t *testing.T) {
	unregistered := make(chan struct{})
	r := start(t, session.Config{Register: func(string, *session.Session) (func(), error) {
		return func() { close(unregistered) }, nil
	}})
	r.dev.Hello(fakedev.ID(1))
	r.sess.Close()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run after Close returned %v", err)
	}
	<-unregistered
	r.dev.ExpectEnd()
}

func TestDeviceHangsUp(t *testing.T) {
	device, cloudEnd := link.Pipe()
	s := session.New(cloudEnd, session.Config{})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	dev := fakedev.New(t, device)
	dev.Hello(fakedev.ID(1))
	device.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
	case <-time.After(fakedev.Wait):
		t.Fatal("session did not end")
	}
}

func TestPingPong(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: 0xfeedface})
	f := r.dev.Expect(link.FrameControl)
	if f.Kind != link.ControlPong || f.Token != 0xfeedface {
		t.Fatalf("got %+v", f)
	}
	r.dev.Send(link.Frame{Type: link.FrameLog, Seq: 1, Payload: []byte("hello")})
	r.dev.SyncQuiet()
}

func TestEchoWithBackpressure(t *testing.T) {
	r := hello(t, session.Config{})
	d := r.dev
	const ch = 0x1234
	d.Open(ch, opaque, 8, 16) // cloud may send 8, device may send 16
	in := []byte("0123456789abcdef")
	d.Data(ch, in[:10])
	d.Data(ch, in[10:])
	// The cloud echoes what the device's ring has room for and grants
	// that much credit back; the rest waits in the cloud.
	got := d.Sync()
	if len(got) != 2 || got[0].Type != link.FrameData || string(got[0].Payload) != "01234567" ||
		got[1].Type != link.FrameCredit || got[1].Credit != 8 {
		t.Fatalf("frames %+v", got)
	}
	// The device may send 8 more; the cloud cannot echo them yet.
	d.Data(ch, []byte("ABCDEFGH"))
	d.SyncQuiet()
	if info := r.sess.Info(); len(info.Channels) != 1 || info.Channels[0] != (session.ChannelInfo{Chan: ch, Type: opaque, RxSize: 8, TxSize: 16}) {
		t.Fatalf("Info %+v", info)
	}
	// The device reads gradually: each CREDIT lets that much more out,
	// and the cloud grants the echoed bytes back.
	echoed := append([]byte(nil), got[0].Payload...)
	for len(echoed) < 24 {
		d.Credit(ch, 3)
		got := d.Sync()
		n := min(3, 24-len(echoed))
		if len(got) != 2 || got[0].Type != link.FrameData || len(got[0].Payload) != n ||
			got[1].Type != link.FrameCredit || got[1].Credit != uint32(n) {
			t.Fatalf("after CREDIT 3 with %d echoed: frames %+v", len(echoed), got)
		}
		echoed = append(echoed, got[0].Payload...)
	}
	if want := "0123456789abcdefABCDEFGH"; string(echoed) != want {
		t.Fatalf("echoed %q, want %q", echoed, want)
	}
}

func TestDeviceThatNeverReadsRunsOutOfCredit(t *testing.T) {
	r := hello(t, session.Config{})
	d := r.dev
	const ch = 9
	d.Open(ch, opaque, 4, 8)
	d.Data(ch, []byte("12345678"))
	if got := d.Sync(); len(got) != 2 || string(got[0].Payload) != "1234" || got[1].Credit != 4 {
		t.Fatalf("frames %+v", got)
	}
	d.Data(ch, []byte("abcd")) // held: the device's ring is full
	d.SyncQuiet()
	// The device has no credit left: sending is a protocol error.
	d.Data(ch, []byte("x"))
	wantProtocolError(t, r, "credit")
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		do    func(d *fakedev.Device)
		error string
	}{
		{"DATA unknown channel", func(d *fakedev.Device) { d.Data(5, []byte("x")) }, "not open"},
		{"CREDIT unknown channel", func(d *fakedev.Device) { d.Credit(5, 1) }, "not open"},
		{"DATA beyond credit", func(d *fakedev.Device) {
			d.Open(5, opaque, 512, 512)
			d.Data(5, make([]byte, 513))
		}, "credit"},
		{"CREDIT beyond window", func(d *fakedev.Device) {
			d.Open(5, opaque, 512, 512)
			d.Credit(5, 1)
		}, "credit"},
		{"second HELLO", func(d *fakedev.Device) {
			d.Send(link.Frame{Type: link.FrameHello, Version: 1, DeviceID: fakedev.ID(1)})
		}, "HELLO"},
		{"TIME from device", func(d *fakedev.Device) { d.Send(link.Frame{Type: link.FrameTime}) }, "TIME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := hello(t, session.Config{})
			tt.do(r.dev)
			wantProtocolError(t, r, tt.error)
		})
	}
}

func TestDeviceCloseIsSilent(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Open(1, opaque, 512, 512)
	r.dev.Close(1, uint8(abi.ClosureReasonClosedByApplication))
	r.dev.Close(99, uint8(abi.ClosureReasonClosedByApplication)) // unknown: ignored
	r.dev.SyncQuiet()
	if info := r.sess.Info(); len(info.Channels) != 0 {
		t.Fatalf("channels %+v after CLOSE", info.Channels)
	}
	// The handle may be used again.
	r.dev.Open(1, opaque, 512, 512)
	r.dev.Data(1, []byte("hi"))
	if got := r.dev.Sync(); len(got) != 2 || string(got[0].Payload) != "hi" {
		t.Fatalf("frames %+v", got)
	}
}

func TestOpenRefused(t *testing.T) {
	r := hello(t, session.Config{}) // no HTTP executor: HTTP refused too
	for _, typ := range []uint8{uint8(abi.ChannelTypeMQTT), uint8(abi.ChannelTypeConfigFetch), 77, httpCh} {
		r.dev.Open(3, typ, 512, 512)
		f := r.dev.Expect(link.FrameClose)
		if f.Chan != 3 || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
			t.Fatalf("type %d: got %+v", typ, f)
		}
		// DATA that crossed the CLOSE is ignored, not a protocol error.
		r.dev.Data(3, []byte("late"))
		r.dev.SyncQuiet()
	}
}

func TestDuplicateOpen(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Open(3, opaque, 512, 512)
	r.dev.Open(3, opaque, 512, 512)
	f := r.dev.Expect(link.FrameClose)
	if f.Chan != 3 || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v", f)
	}
	if info := r.sess.Info(); len(info.Channels) != 0 {
		t.Fatalf("channels %+v", info.Channels)
	}
}

func TestCloseChannelFromCloud(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Open(3, opaque, 4, 512)
	r.dev.Data(3, []byte("12345678")) // 4 bytes wait in the cloud
	r.dev.Sync()
	if err := r.sess.CloseChannel(3, abi.ClosureReasonChannelResetByServer); err != nil {
		t.Fatal(err)
	}
	f := r.dev.Expect(link.FrameClose)
	if f.Chan != 3 || f.Reason != uint8(abi.ClosureReasonChannelResetByServer) {
		t.Fatalf("got %+v", f)
	}
	// Frames that crossed the CLOSE are ignored; the waiting bytes are gone.
	r.dev.Credit(3, 4)
	r.dev.Data(3, []byte("x"))
	r.dev.SyncQuiet()
	if err := r.sess.CloseChannel(3, abi.ClosureReasonChannelClosedByServer); !errors.Is(err, faults.ErrUnknownChannel) {
		t.Fatalf("second CloseChannel: %v", err)
	}
}

// waitFor waits for ch to close, failing the test after fakedev.Wait.
func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(fakedev.Wait):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// slow is a Faults with a fixed latency for every device.
type slow time.Duration

func (d slow) Latency(string) time.Duration { return time.Duration(d) }

func TestLatencyKeepsOrder(t *testing.T) {
	const lat = 100 * time.Millisecond
	start := time.Now()
	r := hello(t, session.Config{Faults: slow(lat)})
	if el := time.Since(start); el < lat {
		t.Fatalf("WELCOME after %v, want at least %v", el, lat)
	}
	r.dev.Open(1, opaque, 512, 512)
	r.dev.Open(2, opaque, 512, 512)
	r.dev.SyncQuiet()
	for i := range 20 {
		r.dev.Data(1, []byte{byte(i)})
	}
	start = time.Now()
	got := r.dev.Sync()
	if el := time.Since(start); el < lat {
		t.Fatalf("frames after %v, want at least %v", el, lat)
	}
	if len(got) != 40 {
		t.Fatalf("%d frames, want 20 DATA + 20 CREDIT", len(got))
	}
	for i := range 20 {
		if f := got[2*i]; f.Type != link.FrameData || f.Payload[0] != byte(i) || got[2*i+1].Type != link.FrameCredit {
			t.Fatalf("frames %d, %d: %+v %+v", 2*i, 2*i+1, f, got[2*i+1])
		}
	}
	if err := r.sess.CloseChannel(2, abi.ClosureReasonChannelClosedByServer); err != nil {
		t.Fatal(err)
	}
	if f := r.dev.Expect(link.FrameClose); f.Chan != 2 {
		t.Fatalf("got %+v", f)
	}
}
