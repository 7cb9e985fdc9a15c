package session_test

import (
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// syncThen sends CONTROL SYNC at nowUS with seq and, at once (without
// waiting for its SYNCED, as the kernel does), an HTTP request on channel
// 1 to url with timeout.
func syncThen(d *fakedev.Virtual, seq, nowUS uint64, url string, timeoutMS uint32) {
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: seq, NowUS: nowUS})
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: url, TimeoutMS: timeoutMS})})
}

// syncedAfter returns the frames before the SYNCED of seq and, as the
// device has sent something since that SYNC, those before the SYNCED of
// another SYNC at the same time nowUS, with that SYNCED's next_us. The
// first SYNCED answers what came before its SYNC: the cloud may send it
// before it has read the request that follows; the second comes after
// the request's answer, or says when it is due.
func syncedAfter(t *testing.T, d *fakedev.Virtual, seq, nowUS uint64) ([]link.Frame, uint64) {
	t.Helper()
	var before []link.Frame
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlSynced {
			if f.Seq != seq {
				t.Fatalf("SYNCED seq %d, want %d", f.Seq, seq)
			}
			break
		}
		before = append(before, f)
	}
	more, next := d.Sync(nowUS)
	return append(before, more...), next
}

// TestVirtualSyncDatesWhatFollows: a request sent right after a SYNC at
// 10 s, without waiting for its SYNCED, is dated 10 s, not at the SYNC
// before (2 s): with a latency of 2 s its response has not come by the
// SYNCEDs at 10 s, which say 12 s, and comes with the SYNC at 12 s.
func TestVirtualSyncDatesWhatFollows(t *testing.T) {
	r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
		w.Write([]byte("ok"))
	}, session.Config{Faults: slow(2 * time.Second)})
	d := r.dev
	if next := d.SyncQuiet(0); next != 2_000_000 {
		t.Fatalf("SYNCED at 0: next_us %d, want 2000000 (LOGGING delayed by 2 s)", next)
	}
	if before, next := d.Sync(2_000_000); len(before) != 1 || before[0].Kind != link.ControlLogging || next != link.NoDeadline {
		t.Fatalf("at 2 s: %s, next_us %d; want LOGGING, NoDeadline", fakedev.Frames(before), next)
	}
	syncThen(d, 3, 10_000_000, srv.URL, 5000)
	before, next := syncedAfter(t, d, 3, 10_000_000)
	if len(before) != 0 || next != 12_000_000 {
		t.Fatalf("SYNCED at 10 s after %s, next_us %d; want nothing before it, next_us 12000000", fakedev.Frames(before), next)
	}
	before, next = d.Sync(12_000_000)
	if next != link.NoDeadline || len(before) < 2 || before[0].Type != link.FrameCredit {
		t.Fatalf("at 12 s: %s, next_us %d; want CREDIT then the response, NoDeadline", fakedev.Frames(before), next)
	}
	if resp := fakedev.HTTPResponse(t, before[1:], 1); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "ok" {
		t.Fatalf("response %+v", resp)
	}
}

// TestVirtualSyncDatesTimeout: the timeout of a request sent right after
// a SYNC at 10 s runs from 10 s: its upstream never answers, the
// SYNCEDs at 10 s say 10 s + the timeout, and the failure comes with the
// SYNC there.
func TestVirtualSyncDatesTimeout(t *testing.T) {
	r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
		<-req.Context().Done()
		abort() // no response: one racing the client's cancellation could be taken
	}, session.Config{})
	d := r.dev
	d.FirstSync(0)
	syncThen(d, 2, 10_000_000, srv.URL, 5000)
	before, next := syncedAfter(t, d, 2, 10_000_000)
	if next != 15_000_000 || len(before) != 1 || before[0].Type != link.FrameCredit {
		if len(before) > 1 && before[len(before)-1].Type == link.FrameData {
			t.Logf("response: %+v", fakedev.HTTPResponse(t, before[1:], 1))
		}
		t.Fatalf("SYNCED at 10 s after %s, next_us %d; want only the CREDIT, next_us 15000000", fakedev.Frames(before), next)
	}
	before, next = d.Sync(15_000_000)
	if next != link.NoDeadline || len(before) < 2 || before[0].Kind != link.ControlDiag || !strings.Contains(string(before[0].Payload), "timed out") {
		t.Fatalf("at 15 s: %s, next_us %d; want DIAG \"timed out…\" then the response, NoDeadline", fakedev.Frames(before), next)
	}
	if resp := fakedev.HTTPResponse(t, before[1:], 1); resp.Result != uint32(abi.HTTPResultRequestFailed) {
		t.Fatalf("response %+v, want REQUESTFAILED", resp)
	}
}

// TestVirtualDelayNotOnWallNet: a request whose answer an http-delay
// fault holds back 2 s of the device's time succeeds at 2 s however much
// wall time passes before the device gets there (rv-cloud #3): the
// request's wall safety net (its timeout, 5 s) does not count the wait on
// the device's clock. The test lets 5.5 s of wall time pass on purpose:
// that is the stimulus, not a wait for an event.
func TestVirtualDelayNotOnWallNet(t *testing.T) {
	inj := faults.New(nil)
	t.Cleanup(inj.Close)
	var clk atomic.Pointer[vclock.Virtual]
	inj.SetClocks(func(string) vclock.Clock { return clk.Load() })
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	e, err := httpexec.New(httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:       []*x509.Certificate{srv.Certificate()},
		WrapTransport: inj.WrapTransport,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	r := startVirtual(t, session.Config{HTTP: e})
	clk.Store(r.clock)
	if _, err := inj.Apply(fakedev.ID(1), faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	d := r.dev
	d.Hello(fakedev.ID(1), 0)
	d.FirstSync(0)
	start := time.Now()
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000})})
	if before, next := d.Sync(0); next != 2_000_000 || len(before) != 1 || before[0].Type != link.FrameCredit {
		t.Fatalf("at 0: %s, next_us %d; want the CREDIT, next_us 2000000", fakedev.Frames(before), next)
	}
	<-time.After(5500*time.Millisecond - time.Since(start))
	before, next := d.Sync(2_000_000)
	if next != link.NoDeadline {
		t.Fatalf("SYNCED at 2 s: next_us %d, want NoDeadline", next)
	}
	if resp := fakedev.HTTPResponse(t, before, 1); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "ok" {
		t.Fatalf("at 2 s: %s, response %+v; want OK \"ok\"", fakedev.Frames(before), resp)
	}
}
