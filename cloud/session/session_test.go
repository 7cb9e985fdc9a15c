package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
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
	return startWith(t, cfg, nil)
}

// startWith is start with set, if not nil, called on the session before
// it runs.
func startWith(t *testing.T, cfg session.Config, set func(*session.Session)) *run {
	t.Helper()
	device, cloudEnd := link.Pipe()
	r := &run{dev: fakedev.New(t, device), sess: session.New(cloudEnd, cfg), errc: make(chan error, 1)}
	if set != nil {
		set(r.sess)
	}
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
	return helloWith(t, cfg, nil)
}

// helloWith is hello with set, if not nil, called on the session before it
// runs.
func helloWith(t *testing.T, cfg session.Config, set func(*session.Session)) *run {
	t.Helper()
	r := startWith(t, cfg, set)
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
		{"version", link.Frame{Type: link.FrameHello, Version: link.Version + 1, DeviceID: fakedev.ID(1)}, fmt.Sprintf("version %d", link.Version+1)},
		{"old version", link.Frame{Type: link.FrameHello, Version: 1, DeviceID: fakedev.ID(1)}, "version 1 not supported"},
		{"prefix", link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: "XX" + fakedev.ID(1)[2:]}, "must start with UV"},
		{"hex", link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: "UV" + strings.Repeat("g", 32)}, "not a hex digit"},
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
	r.dev.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
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
	d.Open(ch, opaque, 512, 1024) // cloud may send 512, device may send 1024
	in := make([]byte, 1536)
	for i := range in {
		in[i] = byte(i * 7)
	}
	d.Data(ch, in[:600])
	d.Data(ch, in[600:1024])
	// The cloud echoes what the device's ring has room for and grants
	// that much credit back; the rest waits in the cloud.
	got := d.Sync()
	if len(got) != 2 || got[0].Type != link.FrameData || !bytes.Equal(got[0].Payload, in[:512]) ||
		got[1].Type != link.FrameCredit || got[1].Credit != 512 {
		t.Fatalf("frames %+v", got)
	}
	// The device may send 512 more; the cloud cannot echo them yet.
	d.Data(ch, in[1024:])
	d.SyncQuiet()
	if info := r.sess.Info(); len(info.Channels) != 1 || info.Channels[0] != (session.ChannelInfo{Chan: ch, Type: opaque, RxSize: 512, TxSize: 1024}) {
		t.Fatalf("Info %+v", info)
	}
	// The device reads gradually: each CREDIT lets that much more out,
	// and the cloud grants the echoed bytes back.
	echoed := append([]byte(nil), got[0].Payload...)
	for len(echoed) < len(in) {
		d.Credit(ch, 200)
		got := d.Sync()
		n := min(200, len(in)-len(echoed))
		if len(got) != 2 || got[0].Type != link.FrameData || len(got[0].Payload) != n ||
			got[1].Type != link.FrameCredit || got[1].Credit != uint32(n) {
			t.Fatalf("after CREDIT 200 with %d echoed: frames %+v", len(echoed), got)
		}
		echoed = append(echoed, got[0].Payload...)
	}
	if !bytes.Equal(echoed, in) {
		t.Fatal("echoed bytes differ from those sent")
	}
}

// TestEchoBufferBoundedBySendWindow shows what bounds the bytes an echo
// channel holds for a device that never reads: the device may send only
// its send buffer's worth before credit comes back, and the cloud grants
// back only what it has echoed, so the cloud never holds more than TxSize;
// a device that sends beyond its credit is cut off.
func TestEchoBufferBoundedBySendWindow(t *testing.T) {
	r := hello(t, session.Config{})
	d := r.dev
	const ch, rx, tx = 9, 512, 4096
	d.Open(ch, opaque, rx, tx)
	d.Data(ch, make([]byte, tx)) // the whole window at once
	if got := d.Sync(); len(got) != 2 || len(got[0].Payload) != rx || got[1].Credit != rx {
		t.Fatalf("frames %+v", got)
	}
	d.Data(ch, make([]byte, rx)) // the credit that came back; the device's ring is full
	d.SyncQuiet()
	if n := r.sess.Pending(ch); n != tx {
		t.Fatalf("cloud holds %d bytes, want %d (the send window)", n, tx)
	}
	// The device has no credit left: one more byte is a protocol error.
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
			d.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
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
	for _, typ := range []uint8{uint8(abi.ChannelTypeMQTT), 77, httpCh} {
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

func (slow) WallTime(_ string, now time.Time) (time.Time, bool) { return now, true }

func (slow) ServerLoggingDisabled(string) bool { return false }

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

// logBuf collects a session's log for tests.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuf) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// wantRefused expects the cloud to answer OPEN for ch with CLOSE
// UNEXPECTEDLYTERMINATED, to ignore DATA that crossed it, and to keep the
// link up.
func wantRefused(t *testing.T, r *run, ch uint32) {
	t.Helper()
	f := r.dev.Expect(link.FrameClose)
	if f.Chan != ch || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v, want CLOSE %#x UNEXPECTEDLYTERMINATED", f, ch)
	}
	r.dev.Data(ch, []byte("late"))
	r.dev.SyncQuiet()
	for _, c := range r.sess.Info().Channels {
		if c.Chan == ch {
			t.Fatalf("refused channel %#x is open: %+v", ch, c)
		}
	}
}

func TestOpenRules(t *testing.T) {
	const MiB = 1 << 20
	tests := []struct {
		name   string
		max    int // Config.MaxChannelBuffer
		typ    uint8
		rx, tx uint32
		rule   string // "" if the OPEN is accepted
	}{
		{"opaque rx 0", 0, opaque, 0, 512, "must not be 0"},
		{"opaque tx 0", 0, opaque, 512, 0, "must not be 0"},
		{"HTTP rx 0", 0, httpCh, 0, 512, "must not be 0"},
		{"tx 100", 0, opaque, 512, 100, "send buffer size must be a multiple of 512"},
		{"tx 1000", 0, httpCh, 512, 1000, "send buffer size must be a multiple of 512"},
		{"HTTP rx 700", 0, httpCh, 700, 512, "receive buffer size must be a multiple of 512"},
		{"opaque rx 700", 0, opaque, 700, 512, ""}, // only HTTP/MQTT receive buffers are in units
		{"opaque rx 1", 0, opaque, 1, 512, ""},
		{"default max", 0, httpCh, MiB, MiB, ""},
		{"rx over default max", 0, httpCh, MiB + 512, 512, "at most 1048576 bytes"},
		{"tx over default max", 0, opaque, 512, MiB + 512, "at most 1048576 bytes"},
		{"tx 1 GiB", 0, opaque, 512, 1 << 30, "at most"},
		{"rx 4 GiB-1", 0, opaque, 1<<32 - 1, 512, "at most"},
		{"HTTP rx 4 GiB-512", 0, httpCh, 1<<32 - 512, 512, "at most"},
		{"custom max", 4096, httpCh, 4096, 4096, ""},
		{"over custom max", 4096, httpCh, 4096 + 512, 512, "at most 4096 bytes"},
		{"MQTT", 0, uint8(abi.ChannelTypeMQTT), 512, 512, "type not served"},
	}
	e, err := httpexec.New(httpexec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuf
			r := hello(t, session.Config{HTTP: e, Logger: log.logger(), MaxChannelBuffer: tt.max})
			r.dev.Open(5, tt.typ, tt.rx, tt.tx)
			if tt.rule == "" {
				r.dev.SyncQuiet()
				info := r.sess.Info()
				if want := (session.ChannelInfo{Chan: 5, Type: tt.typ, RxSize: tt.rx, TxSize: tt.tx}); len(info.Channels) != 1 || info.Channels[0] != want {
					t.Fatalf("Info %+v, want %+v", info.Channels, want)
				}
				return
			}
			wantRefused(t, r, 5)
			if l := log.String(); !strings.Contains(l, "OPEN refused") || !strings.Contains(l, tt.rule) {
				t.Fatalf("log does not name the rule %q:\n%s", tt.rule, l)
			}
			// The refusal costs the device that channel only.
			r.dev.Open(6, opaque, 512, 512)
			r.dev.Data(6, []byte("hi"))
			if got := r.dev.Sync(); len(got) != 2 || string(got[0].Payload) != "hi" {
				t.Fatalf("frames %+v", got)
			}
		})
	}
}

func TestAtMostFourChannels(t *testing.T) {
	var log logBuf
	r := hello(t, session.Config{Logger: log.logger()})
	d := r.dev
	// What a review's raw client did: eight channels at once. Four open.
	for ch := uint32(1); ch <= 8; ch++ {
		d.Open(ch, opaque, 512, 512)
	}
	for ch := uint32(5); ch <= 8; ch++ {
		f := d.Expect(link.FrameClose)
		if f.Chan != ch || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
			t.Fatalf("got %+v, want CLOSE %d UNEXPECTEDLYTERMINATED", f, ch)
		}
	}
	d.SyncQuiet()
	if n := len(r.sess.Info().Channels); n != session.MaxChannels {
		t.Fatalf("%d channels open, want %d", n, session.MaxChannels)
	}
	if l := log.String(); !strings.Contains(l, "at most 4 channels open at once") {
		t.Fatalf("log does not name the rule:\n%s", l)
	}
	d.Open(9, opaque, 512, 512)
	wantRefused(t, r, 9)
	// Every way a channel goes away frees its place: the device closes one,
	// the cloud closes one, the device re-opens a handle (which closes it).
	d.Close(1, uint8(abi.ClosureReasonClosedByApplication))
	d.Open(5, opaque, 512, 512)
	d.SyncQuiet()
	if err := r.sess.CloseChannel(2, abi.ClosureReasonChannelClosedByServer); err != nil {
		t.Fatal(err)
	}
	d.Expect(link.FrameClose)
	d.Open(6, opaque, 512, 512)
	d.SyncQuiet()
	d.Open(3, opaque, 512, 512) // already open: closed
	if f := d.Expect(link.FrameClose); f.Chan != 3 {
		t.Fatalf("got %+v", f)
	}
	d.Open(7, opaque, 512, 512)
	d.SyncQuiet()
	var open []uint32
	for _, c := range r.sess.Info().Channels {
		open = append(open, c.Chan)
	}
	if !slices.Equal(open, []uint32{4, 5, 6, 7}) {
		t.Fatalf("open channels %v, want [4 5 6 7]", open)
	}
	d.Open(8, opaque, 512, 512)
	wantRefused(t, r, 8)
	// They all still work.
	for _, ch := range open {
		d.Data(ch, []byte{byte(ch)})
		if got := d.Sync(); len(got) != 2 || got[0].Chan != ch || got[0].Payload[0] != byte(ch) {
			t.Fatalf("channel %d: frames %+v", ch, got)
		}
	}
}

// TestKeepAlive: the session PINGs a quiet device again and again; one that
// answers keeps its link, one that falls silent (a stalled transport) loses
// it with the keep-alive's timeout.
func TestKeepAlive(t *testing.T) {
	t.Run("answering", func(t *testing.T) {
		// The timeout is far above the test's length: no PONG has to beat
		// it on a loaded machine ("silent" shows the timeout firing;
		// link.TestKeepAlivePingsAndSurvivesAnsweringPeer that a PONG
		// restarts the idle clock).
		r := start(t, session.Config{PingInterval: 5 * time.Millisecond, IdleTimeout: time.Hour})
		r.dev.Hello(fakedev.ID(1))
		var last uint64
		for range 24 { // PINGs, each answered
			f := r.dev.Next()
			if f.Type != link.FrameControl || f.Kind != link.ControlPing || f.Token <= last {
				t.Fatalf("got %+v, want a PING with a new token", f)
			}
			last = f.Token
			r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
		}
		select {
		case err := <-r.errc:
			r.errc <- err
			t.Fatalf("the link ended (%v) although the device answered every PING", err)
		default:
		}
	})
	t.Run("silent", func(t *testing.T) {
		r := start(t, session.Config{PingInterval: 5 * time.Millisecond, IdleTimeout: 40 * time.Millisecond})
		r.dev.Hello(fakedev.ID(1))
		// The device now neither answers nor sends anything.
		if err := r.wait(t); !errors.Is(err, link.ErrTimeout) {
			t.Fatalf("Run returned %v, want the keep-alive timeout", err)
		}
	})
}
