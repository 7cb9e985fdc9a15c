package cloud_test

import (
	"context"
	"crypto/x509"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// TestVirtualDeviceClock: a device whose HELLO says its clock is virtual
// runs on the server's clock for it (made ahead by VirtualDeviceClock,
// found by DeviceClock in either case of the ID), and the fault injector's
// timers, the frames a latency delays and its requests' timeouts run on
// that clock, which starts at Options.Now and gives the device its wall
// time: a link-drop for 1 s refuses the HELLO at 0 and admits the
// one at 1 s; with an upstream delay of 10 s a request's 5 s timeout fails
// it at 6 s of the device's time; a latency of 2 s delays a PONG by 2 s of
// it.
func TestVirtualDeviceClock(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(web.Close)
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	s := newServerWith(t, cloud.Options{HTTP: httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:       []*x509.Certificate{web.Certificate()},
	}, Now: func() time.Time { return start }})
	id := fakedev.ID(0xab)
	upper := id[:2] + strings.ToUpper(id[2:])
	if c := s.DeviceClock(id); c != vclock.Wall {
		t.Fatalf("DeviceClock before any virtual clock: %T, want Wall", c)
	}
	v := s.VirtualDeviceClock(upper)
	if s.DeviceClock(id) != v || s.VirtualDeviceClock(id) != v {
		t.Fatal("the device's clock is not the one VirtualDeviceClock made")
	}
	if v.Now() != start {
		t.Fatalf("the clock starts at %v, want Options.Now, %v", v.Now(), start)
	}
	t.Cleanup(func() {
		if n := v.Holds(); n != 0 {
			t.Errorf("%d holds left on the device's clock", n)
		}
	})

	if _, err := s.Faults().Apply(id, faults.Spec{Kind: faults.LinkDrop, For: faults.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	d := dialVirtual(t, s)
	d.SendHello(id, 0)
	d.ExpectEnd() // refused: the link is dropped until 1 s
	d = dialVirtual(t, s)
	w := d.Hello(id, 1_000_000)
	if got := v.Now().Sub(start); got != time.Second {
		t.Fatalf("the device's clock reads %v after HELLO at 1 s", got)
	}
	if want := start.Add(time.Second).UnixMicro(); w.WallTimeUS != uint64(want) {
		t.Fatalf("WELCOME wall time %d, want the device's clock, %d", w.WallTimeUS, want)
	}
	d.FirstSync(1_000_000)

	if _, err := s.Faults().Apply(id, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: uint8(abi.ChannelTypeHTTP), RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: web.URL, TimeoutMS: 5000})})
	before, next := d.Sync(1_000_000)
	if next != 6_000_000 || len(before) != 1 || before[0].Type != link.FrameCredit {
		t.Fatalf("SYNCED at 1 s: next_us %d after %s, want 6000000 after the CREDIT", next, fakedev.Frames(before))
	}
	before, next = d.Sync(6_000_000)
	if next != link.NoDeadline {
		t.Fatalf("SYNCED at 6 s: next_us %d, want NoDeadline", next)
	}
	if len(before) < 2 || before[0].Kind != link.ControlDiag || !strings.Contains(string(before[0].Payload), "timed out") {
		t.Fatalf("at 6 s: %s, want DIAG \"timed out…\" then the response", fakedev.Frames(before))
	}
	if resp := fakedev.HTTPResponse(t, before[1:], 1); resp.Result != uint32(abi.HTTPResultRequestFailed) {
		t.Fatalf("response %+v, want REQUESTFAILED", resp)
	}

	if err := s.Faults().SetLatency(id, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: 42})
	if next := d.SyncQuiet(7_000_000); next != 8_000_000 {
		t.Fatalf("SYNCED at 7 s: next_us %d, want 8000000 (the PONG sent at 6 s, 2 s late)", next)
	}
	before, _ = d.Sync(8_000_000)
	if len(before) != 1 || before[0].Kind != link.ControlPong || before[0].Token != 42 {
		t.Fatalf("at 8 s: %s, want the PONG", fakedev.Frames(before))
	}
}

// dialVirtual opens an in-process link to s for a device on virtual time.
func dialVirtual(t *testing.T, s *cloud.Server) *fakedev.Virtual {
	t.Helper()
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return fakedev.NewVirtual(t, c)
}

// TestVirtualStore: with the cloud's store (NATS JetStream), a SYNC is
// answered after the LOGACK of a log line sent before it and after the
// response of a config fetch: both hold the device's clock until their
// answer is queued.
func TestVirtualStore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, _, _, err := st.EnsureAccount(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutConfig(ctx, store.AccountScope, "greeting", []byte("hello"), store.Upsert); err != nil {
		t.Fatal(err)
	}
	s := newServerWith(t, cloud.Options{Config: st, Logs: st})
	id := fakedev.ID(7)
	d := dialVirtual(t, s)
	d.Hello(id, 0)
	d.FirstSync(0)
	d.Send(link.Frame{Type: link.FrameLog, Seq: 1, Payload: []byte("first line")})
	before, next := d.Sync(10)
	if len(before) != 1 || before[0].Kind != link.ControlLogAck || before[0].Seq != 1 || next != link.NoDeadline {
		t.Fatalf("before SYNCED (next_us %d): %s, want LOGACK 1", next, fakedev.Frames(before))
	}
	lines, err := st.ReadLogs(ctx, id, store.LogFrom{}, 10)
	if err != nil || len(lines) != 1 {
		t.Fatalf("stored lines %+v, %v", lines, err)
	}
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 2, ChanType: uint8(abi.ChannelTypeConfigFetch), RxSize: 512, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 2, Payload: link.AppendConfigRequest(nil, &link.ConfigRequest{Keys: []link.ConfigKey{
		{Scope: uint8(abi.ConfigKeyFetchScopeAccount), Store: uint8(abi.ConfigKeyFetchStoreConfig), Key: "greeting"},
	}})})
	before, _ = d.Sync(20)
	var buf []byte
	for _, f := range before {
		if f.Type == link.FrameData && f.Chan == 2 {
			buf = append(buf, f.Payload...)
		}
	}
	resp, n, err := link.ParseConfigResponse(buf)
	if err != nil || n != len(buf) || len(resp.Items) != 1 || string(resp.Items[0].Value) != "hello" {
		t.Fatalf("before SYNCED: %s; config response %+v, %v", fakedev.Frames(before), resp, err)
	}
}
