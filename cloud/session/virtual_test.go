package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// vt0 is the test clocks' start: the device's time 0.
var vt0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// vrun is a session under test on a virtual device clock.
type vrun struct {
	dev   *fakedev.Virtual
	sess  *session.Session
	clock *vclock.Virtual
	errc  chan error
}

// startVirtual runs a session with cfg whose device clock is a fresh
// virtual clock reading vt0. The session is closed at the end of the test, which
// then checks that it left no hold on the clock.
func startVirtual(t *testing.T, cfg session.Config) *vrun {
	t.Helper()
	v := vclock.NewVirtual(vt0)
	cfg.VirtualClock = func(string, uint64) (*vclock.Virtual, time.Time) { return v, vt0 }
	device, cloudEnd := link.Pipe()
	r := &vrun{sess: session.New(cloudEnd, cfg), clock: v, errc: make(chan error, 1)}
	d := fakedev.NewVirtual(t, device)
	r.dev = d
	go func() { r.errc <- r.sess.Run(context.Background()) }()
	t.Cleanup(func() {
		r.sess.Close()
		r.wait(t)
		_ = d.Conn.Close()
		if n := v.Holds(); n != 0 {
			t.Errorf("the session left %d holds on the device's clock", n)
		}
	})
	return r
}

// wait returns Run's result.
func (r *vrun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errc:
		r.errc <- err
		return err
	case <-time.After(fakedev.Wait):
		t.Fatal("session did not end")
	}
	return nil
}

// TestVirtualHelloAndSync: HELLO sets the device's clock to its time (and
// WELCOME gives that time as the wall time), each SYNC advances it and
// SYNCED says when the clock's next timer is due, in µs rounded up; with
// no timer, NoDeadline. The first SYNCED comes after the device has been
// told whether logging is enabled.
func TestVirtualHelloAndSync(t *testing.T) {
	r := startVirtual(t, session.Config{Now: func() time.Time { return vt0.Add(time.Hour) }})
	w := r.dev.Hello(fakedev.ID(1), 5000)
	if got := r.clock.Now().Sub(vt0); got != 5*time.Millisecond {
		t.Fatalf("after HELLO the clock reads %v, want 5ms", got)
	}
	if want := vt0.Add(5 * time.Millisecond).UnixMicro(); w.WallTimeUS != uint64(want) {
		t.Fatalf("WELCOME wall time %d, want the device's clock, %d", w.WallTimeUS, want)
	}
	before, next := r.dev.Sync(5000)
	if len(before) != 1 || before[0].Kind != link.ControlLogging {
		t.Fatalf("before the first SYNCED: %s, want CONTROL LOGGING", fakedev.Frames(before))
	}
	if next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d, want NoDeadline", next)
	}
	var fired atomic.Int64
	r.clock.AfterFunc(15*time.Millisecond+500, func() { fired.Store(int64(r.clock.Now().Sub(vt0))) })
	if next := r.dev.SyncQuiet(10000); next != 20001 {
		t.Fatalf("SYNCED next_us %d, want 20001 (a timer at 20.0005 ms, rounded up)", next)
	}
	if fired.Load() != 0 || r.clock.Now().Sub(vt0) != 10*time.Millisecond {
		t.Fatalf("after SYNC at 10 ms: clock %v, timer fired at %v", r.clock.Now().Sub(vt0), time.Duration(fired.Load()))
	}
	if next := r.dev.SyncQuiet(20001); next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d, want NoDeadline", next)
	}
	if got := time.Duration(fired.Load()); got != 20*time.Millisecond+500 {
		t.Fatalf("timer fired at %v, want 20.0005ms", got)
	}
}

// TestVirtualHelloAdvancesBeforeRegister: what falls due by HELLO's time
// (the end of a link-drop fault) happens before the device is admitted.
func TestVirtualHelloAdvancesBeforeRegister(t *testing.T) {
	var dropped atomic.Bool
	dropped.Store(true)
	var v *vclock.Virtual
	r := startVirtual(t, session.Config{Register: func(string, *session.Session) (func(), error) {
		if dropped.Load() {
			t.Error("Register before the link-drop's end at 1 s, with HELLO at 2 s")
		}
		return nil, nil
	}})
	v = r.clock
	v.AfterFunc(time.Second, func() { dropped.Store(false) })
	r.dev.Hello(fakedev.ID(1), 2_000_000)
	if got := v.Now().Sub(vt0); got != 2*time.Second {
		t.Fatalf("clock %v, want 2s", got)
	}
}

// TestSyncProtocolErrors: SYNC from a device whose HELLO did not say its
// clock is virtual, and SYNCED from any device, end the link with CONTROL
// ERROR naming the problem.
func TestSyncProtocolErrors(t *testing.T) {
	t.Run("SYNC on the wall clock", func(t *testing.T) {
		r := hello(t, session.Config{})
		r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: 0})
		wantProtocolError(t, r, "CONTROL SYNC from a device whose HELLO did not say its clock is virtual")
	})
	t.Run("SYNCED from the device", func(t *testing.T) {
		r := startVirtual(t, session.Config{})
		r.dev.Hello(fakedev.ID(1), 0)
		r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: 1, NextUS: 0})
		if text := r.dev.ExpectError(); !strings.Contains(text, "kind 10 is the cloud's to send") {
			t.Fatalf("CONTROL ERROR %q", text)
		}
	})
	t.Run("SYNC out of range", func(t *testing.T) {
		r := startVirtual(t, session.Config{})
		r.dev.Hello(fakedev.ID(1), 0)
		r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: link.NoDeadline})
		if text := r.dev.ExpectError(); !strings.Contains(text, "now_us") || !strings.Contains(text, "out of range") {
			t.Fatalf("CONTROL ERROR %q", text)
		}
	})
}

// virtualHTTP starts a local TLS server with h and a session on a virtual
// device clock whose executor may reach it; the device has said HELLO at
// time 0.
func virtualHTTP(t *testing.T, h http.HandlerFunc, cfg session.Config) (*vrun, *httptest.Server) {
	t.Helper()
	srv, e := upstream(t, h)
	cfg.HTTP = e
	r := startVirtual(t, cfg)
	r.dev.Hello(fakedev.ID(1), 0)
	return r, srv
}

// TestVirtualSyncedAfterHTTPResponse: a SYNC that follows an HTTP request
// is answered after the request's response, however long the upstream
// takes in wall time: the request holds the device's clock.
func TestVirtualSyncedAfterHTTPResponse(t *testing.T) {
	started, answer := make(chan struct{}), make(chan struct{})
	r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
		close(started)
		<-answer
		w.Write([]byte("late"))
	}, session.Config{})
	d := r.dev
	d.FirstSync(0)
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000})})
	waitFor(t, started, "the upstream request")
	d.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: 1000})
	// The upstream has not answered: only the request's CREDIT may come,
	// and the clock stays short of the SYNC's time (the reader advancing
	// it waits for the request's hold).
	if f := d.Next(); f.Type != link.FrameCredit {
		t.Fatalf("%v %+v before the upstream answered", f.Type, f)
	}
	if now := r.clock.Now(); !now.Equal(vt0) {
		t.Fatalf("the clock reads %v before the upstream answered, want 0", now.Sub(vt0))
	}
	close(answer)
	var before []link.Frame
	for {
		f := d.Next()
		if f.Type == link.FrameControl && f.Kind == link.ControlSynced {
			if f.Seq != 1 || f.NextUS != link.NoDeadline {
				t.Fatalf("SYNCED %+v, want seq 1, NoDeadline (the request's timeout is cancelled)", f)
			}
			break
		}
		before = append(before, f)
	}
	if resp := fakedev.HTTPResponse(t, before, 1); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "late" {
		t.Fatalf("response %+v", resp)
	}
}

// TestVirtualLatency: with a latency of 2 s, frames for the device wait
// for its time to reach their due time: the SYNC at 0 gets none of them
// and next_us 2 s; the SYNC at 2 s gets them all, in order, before its
// SYNCED. WELCOME and SYNCED themselves are not delayed.
func TestVirtualLatency(t *testing.T) {
	r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
		w.Write([]byte("ok"))
	}, session.Config{Faults: slow(2 * time.Second)})
	d := r.dev
	if next := d.SyncQuiet(0); next != 2_000_000 {
		t.Fatalf("SYNCED next_us %d, want 2000000 (LOGGING delayed by 2 s)", next)
	}
	if next := d.SyncQuiet(500_000); next != 2_000_000 {
		t.Fatalf("SYNCED at 0.5 s: next_us %d, want 2000000", next)
	}
	// The request arrives at 0.5 s: its CREDIT and response are due at
	// 2.5 s.
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000})})
	if next := d.SyncQuiet(500_000); next != 2_000_000 {
		t.Fatalf("SYNCED after the request: next_us %d, want 2000000", next)
	}
	before, next := d.Sync(2_000_000)
	if next != 2_500_000 {
		t.Fatalf("SYNCED at 2 s: next_us %d, want 2500000", next)
	}
	if len(before) != 1 || before[0].Kind != link.ControlLogging {
		t.Fatalf("at 2 s: %s, want LOGGING", fakedev.Frames(before))
	}
	before, next = d.Sync(2_500_000)
	if next != link.NoDeadline {
		t.Fatalf("SYNCED at 2.5 s: next_us %d, want NoDeadline", next)
	}
	if len(before) < 2 || before[0].Type != link.FrameCredit {
		t.Fatalf("at 2.5 s: %s, want CREDIT then the response", fakedev.Frames(before))
	}
	if resp := fakedev.HTTPResponse(t, before[1:], 1); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "ok" {
		t.Fatalf("response %+v", resp)
	}
}

// TestVirtualHTTPTimeout: a request whose upstream never answers fails at
// its timeout on the device's clock: the SYNC at 0 says next_us 5 s (the least timeout there is) (the
// wall deadline cut the request, its failure waits for the device's), the
// SYNC at 5 s gets REQUESTFAILED with the reason "timed out".
func TestVirtualHTTPTimeout(t *testing.T) {
	r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
		<-req.Context().Done()
		abort() // no response: one racing the client's cancellation could be taken
	}, session.Config{})
	d := r.dev
	d.FirstSync(0)
	d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
	d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000})})
	before, next := d.Sync(0)
	if next != 5_000_000 {
		t.Fatalf("SYNCED at 0: next_us %d, want 5000000", next)
	}
	if len(before) != 1 || before[0].Type != link.FrameCredit {
		t.Fatalf("at 0: %s, want only the CREDIT", fakedev.Frames(before))
	}
	before, next = d.Sync(4_999_999)
	if next != 5_000_000 || len(before) != 0 {
		t.Fatalf("SYNCED at 4.999999 s: next_us %d after %s, want 5000000 after nothing", next, fakedev.Frames(before))
	}
	before, next = d.Sync(5_000_000)
	if next != link.NoDeadline {
		t.Fatalf("SYNCED at 5 s: next_us %d, want NoDeadline", next)
	}
	if len(before) < 2 || before[0].Kind != link.ControlDiag || !strings.Contains(string(before[0].Payload), "timed out") {
		t.Fatalf("at 5 s: %s, want DIAG \"timed out…\" then the response", fakedev.Frames(before))
	}
	if resp := fakedev.HTTPResponse(t, before[1:], 1); resp.Result != uint32(abi.HTTPResultRequestFailed) {
		t.Fatalf("response %+v, want REQUESTFAILED", resp)
	}
}

// TestVirtualNoHoldLeak: a session that ends with work in flight — an
// upstream request, a log line the store refuses — leaves no hold on the
// device's clock, whether it is closed or the device hangs up.
func TestVirtualNoHoldLeak(t *testing.T) {
	for _, how := range []string{"closed", "device hung up"} {
		t.Run(how, func(t *testing.T) {
			started := make(chan struct{})
			var once sync.Once
			st := newMemStore()
			st.failLogs = 1 << 30 // never stored
			r, srv := virtualHTTP(t, func(w http.ResponseWriter, req *http.Request) {
				once.Do(func() { close(started) })
				<-req.Context().Done()
			}, session.Config{Logs: st})
			d := r.dev
			d.Send(link.Frame{Type: link.FrameOpen, Chan: 1, ChanType: httpCh, RxSize: 1024, TxSize: 512})
			d.Send(link.Frame{Type: link.FrameData, Chan: 1, Payload: link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000})})
			d.Send(link.Frame{Type: link.FrameLog, Seq: 1, Payload: []byte("never stored")})
			waitFor(t, started, "the upstream request")
			// The request's hold, and the log line's once the session has
			// read it.
			poll.Until(t, "2 holds on the device's clock", func() bool { return r.clock.Holds() >= 2 })
			if how == "closed" {
				r.sess.Close()
			} else {
				_ = d.Conn.Close()
			}
			r.wait(t)
			if n := r.clock.Holds(); n != 0 {
				t.Fatalf("%d holds after the session ended", n)
			}
		})
	}
}

// TestVirtualLogAck: a SYNC after a LOG line is answered after its LOGACK,
// however long the store takes.
func TestVirtualLogAck(t *testing.T) {
	st := newMemStore()
	r := startVirtual(t, session.Config{Logs: st})
	d := r.dev
	d.Hello(fakedev.ID(1), 0)
	d.FirstSync(0)
	st.mu.Lock()
	st.failLogs = 3 // retried with backoff: 350 ms of wall time
	st.mu.Unlock()
	d.Send(link.Frame{Type: link.FrameLog, Seq: 1, Payload: []byte("a line")})
	before, next := d.Sync(10)
	if len(before) != 1 || before[0].Kind != link.ControlLogAck || before[0].Seq != 1 || next != link.NoDeadline {
		t.Fatalf("before SYNCED (next_us %d): %s, want LOGACK 1", next, fakedev.Frames(before))
	}
}
