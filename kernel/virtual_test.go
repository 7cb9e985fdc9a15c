package kernel_test

// A kernel on a virtual clock (kernel/virtual.go; link/doc.go, "Virtual
// time"): HELLO's flag and time, SYNC only when something was sent or
// next_us is reached, SYNCED applied through Exec, and redial timers on
// the host's clock.

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

// hostTimers is the host's virtual clock for Options.AfterFunc: it records
// the timers the kernel asks for; the test fires them.
type hostTimers struct {
	mu     sync.Mutex
	now    func() time.Duration
	timers []hostTimer
}

type hostTimer struct {
	d, at time.Duration // as asked, and Monotonic()+d
	f     func()
	fired bool
}

func (ht *hostTimers) afterFunc(d time.Duration, f func()) {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	ht.timers = append(ht.timers, hostTimer{d: d, at: ht.now() + d, f: f})
}

// asked returns the durations of every timer asked for so far.
func (ht *hostTimers) asked() []time.Duration {
	ht.mu.Lock()
	defer ht.mu.Unlock()
	var ds []time.Duration
	for _, t := range ht.timers {
		ds = append(ds, t.d)
	}
	return ds
}

// fireNext fires the earliest timer not fired yet, as the host would when
// its clock reaches it, and returns its instant.
func (ht *hostTimers) fireNext(t *testing.T) time.Duration {
	t.Helper()
	ht.mu.Lock()
	i := -1
	for j, tm := range ht.timers {
		if !tm.fired && (i < 0 || tm.at < ht.timers[i].at) {
			i = j
		}
	}
	if i < 0 {
		ht.mu.Unlock()
		t.Fatal("no timer to fire")
	}
	ht.timers[i].fired = true
	tm := ht.timers[i]
	ht.mu.Unlock()
	tm.f()
	return tm.at
}

// virtual boots the kernel on a virtual clock whose timers ht records
// (and with Exec q, if not nil); the cloud answers SYNC with next.
func virtual(ht *hostTimers, q *execQueue, next func(link.Frame) (uint64, bool)) harnessOpt {
	return func(fc *fakeCloud, o *kernel.Options) {
		ht.now = o.Monotonic
		o.VirtualClock = true
		o.AfterFunc = ht.afterFunc
		if q != nil {
			o.Exec = q.exec
		}
		fc.synced = next
	}
}

// noDeadline answers every SYNC: nothing due.
func noDeadline(link.Frame) (uint64, bool) { return link.NoDeadline, true }

func isSync(f link.Frame) bool { return f.Type == link.FrameControl && f.Kind == link.ControlSync }

// TestVirtualHelloCarriesTheFlagAndTheTime: HELLO says the clock is
// virtual, with the device's time since boot; a kernel on the wall
// clock sends the flagless HELLO.
func TestVirtualHelloCarriesTheFlagAndTheTime(t *testing.T) {
	ht := &hostTimers{}
	h := newHarness(t, virtual(ht, nil, noDeadline))
	h.waitLink()
	h.cloud.mu.Lock()
	hello := h.cloud.hellos[0]
	h.cloud.mu.Unlock()
	if hello.Flags != link.HelloVirtualClock || hello.NowUS != uint64(h.clk.now()/time.Microsecond) {
		t.Fatalf("HELLO flags %d now_us %d; want %d and %d", hello.Flags, hello.NowUS, link.HelloVirtualClock, h.clk.now()/time.Microsecond)
	}

	w := newHarness(t)
	w.waitLink()
	w.cloud.mu.Lock()
	hello = w.cloud.hellos[0]
	w.cloud.mu.Unlock()
	if hello.Flags != 0 || hello.NowUS != 0 {
		t.Fatalf("wall-clock HELLO flags %d now_us %d; want none", hello.Flags, hello.NowUS)
	}
	if w.k.Sync() {
		t.Fatal("a kernel on the wall clock syncs")
	}
}

// TestVirtualSyncOnlyWhenSomethingWasSent: the first sync point of a link
// syncs (HELLO was sent); after that, system calls that send nothing
// (a tight loop of mvGetMicroseconds) cost no SYNC, and a request does.
func TestVirtualSyncOnlyWhenSomethingWasSent(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, noDeadline))
	q.settle(t, h.k) // the dial, then the link's first SYNC
	if !h.k.LinkUp() {
		t.Fatal("settled, but the link is not up")
	}
	syncs := h.cloud.received(isSync)
	if len(syncs) != 1 || syncs[0].Seq != 1 || syncs[0].NowUS != uint64(h.clk.now()/time.Microsecond) {
		t.Fatalf("SYNCs after the link came up: %+v; want one, seq 1, now_us %d", syncs, h.clk.now()/time.Microsecond)
	}
	out := h.out(8)
	for range 100 {
		h.clk.advance(time.Microsecond)
		wantStatus(t, "mvGetMicroseconds", h.k.GetMicroseconds(out), abi.StatusOkay)
		if h.k.Sync() {
			t.Fatal("a sync point with nothing sent sends SYNC")
		}
	}
	h.cloud.sync(t) // PING/PONG: not a reason to sync either
	if h.k.Sync() {
		t.Fatal("a PONG made the kernel sync")
	}

	c := h.newCentre(40, 64)
	nw, _ := h.requestNetwork(c, 0x4E7)
	q.settle(t, h.k)
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x81)
	wantStatus(t, "mvSendHttpRequest", h.send(ch, getReq), abi.StatusOkay)
	q.settle(t, h.k)
	// Seq 2 dated the OPEN (time moved since seq 1); seq 3 followed the
	// request at the sync point.
	syncs = h.cloud.received(isSync)
	if len(syncs) != 3 || syncs[2].Seq != 3 {
		t.Fatalf("SYNCs after a request: %+v; want three, the last seq 3", syncs)
	}
	// The SYNC follows the request's frames on the link.
	h.cloud.mu.Lock()
	frames := slices.Clone(h.cloud.frames)
	h.cloud.mu.Unlock()
	last := frames[len(frames)-1]
	if !isSync(last) {
		t.Fatalf("the last frame is %v, not the SYNC", last.Type)
	}
	if h.k.Sync() {
		t.Fatal("synced, yet the next sync point syncs again")
	}
}

// answeredByHand boots a kernel on a virtual clock whose SYNCs the test
// answers: each SYNC arrives on answer, and synced sends its SYNCED with
// next_us. The link is up and its first SYNC answered when it returns.
func answeredByHand(t *testing.T, ht *hostTimers, q *execQueue) (h *harness, answer chan link.Frame, synced func(f link.Frame, next uint64)) {
	t.Helper()
	answer = make(chan link.Frame, 8)
	h = newHarness(t, virtual(ht, q, func(f link.Frame) (uint64, bool) {
		answer <- f
		return 0, false // the test answers
	}))
	synced = func(f link.Frame, next uint64) {
		h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: f.Seq, NextUS: next})
	}
	// Boot: the dial, then the first SYNC, answered by hand.
	eventually(t, "the link up through Exec", func() bool { q.drain(); return !h.k.Dialing() })
	if !h.k.Sync() {
		t.Fatal("the link's first sync point does not sync")
	}
	synced(<-answer, link.NoDeadline)
	q.settle(t, h.k)
	return h, answer, synced
}

// TestVirtualSyncedOnlyThroughExec: the host waits while the SYNC is
// outstanding, and the SYNCED counts only once the host has run the Exec
// queue — after everything the cloud sent before it, here the response.
func TestVirtualSyncedOnlyThroughExec(t *testing.T) {
	ht, q := &hostTimers{}, newExecQueue()
	h, answer, synced := answeredByHand(t, ht, q)

	c := h.newCentre(40, 64)
	nw, _ := h.requestNetwork(c, 0x4E7)
	q.settle(t, h.k)
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x81)
	wantStatus(t, "mvSendHttpRequest", h.send(ch, getReq), abi.StatusOkay)
	if !h.k.Sync() {
		t.Fatal("a sync point after a request does not sync")
	}
	f := <-answer
	h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{StatusCode: 200, Result: uint32(abi.HTTPResultOK)}))
	synced(f, link.NoDeadline)
	eventually(t, "the response and SYNCED queued through Exec", func() bool { return q.pending() > 0 })
	for range 3 {
		if !h.k.Sync() {
			t.Fatal("SYNCED counted before the host ran the queue")
		}
	}
	q.settle(t, h.k)
	if n := c.count(abi.EventTypeChannelDataReadable, 0x81); n != 1 {
		t.Fatalf("after the SYNCED: %d readable records; want the response's", n)
	}
	if got := len(h.cloud.received(isSync)); got != 2 {
		t.Fatalf("%d SYNCs; want 2", got)
	}
}

// TestVirtualSyncAtNextUS: SYNCED's next_us becomes a host timer, and once
// the clock reaches it the sync point syncs though nothing was sent.
func TestVirtualSyncAtNextUS(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	var next uint64
	h := newHarness(t, virtual(ht, q, func(f link.Frame) (uint64, bool) {
		if f.Seq == 1 {
			next = f.NowUS + 2500
			return next, true
		}
		return link.NoDeadline, true
	}))
	q.settle(t, h.k)
	if ds := ht.asked(); !slices.Equal(ds, []time.Duration{2500 * time.Microsecond}) {
		t.Fatalf("timers asked for %v; want one of 2.5ms (next_us)", ds)
	}
	h.clk.advance(time.Millisecond)
	if h.k.Sync() {
		t.Fatal("synced before next_us")
	}
	h.clk.advance(1500 * time.Microsecond)
	if at := ht.fireNext(t); at != h.clk.now() {
		t.Fatalf("the timer is at %v; the clock at %v", at, h.clk.now())
	}
	q.settle(t, h.k)
	syncs := h.cloud.received(isSync)
	if len(syncs) != 2 || syncs[1].NowUS != next {
		t.Fatalf("SYNCs %+v; want a second at now_us %d", syncs, next)
	}
}

// TestVirtualSyncedWithoutSyncIsAProtocolError: SYNCED that answers no
// SYNC breaks the protocol: the kernel says so and drops the link.
func TestVirtualSyncedWithoutSyncIsAProtocolError(t *testing.T) {
	ht := &hostTimers{}
	h := newHarness(t, virtual(ht, nil, noDeadline))
	h.waitLink()
	eventually(t, "the first SYNC answered", func() bool { return !h.k.Sync() })
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: 77, NextUS: link.NoDeadline})
	h.cloud.waitFrame(t, "CONTROL ERROR", func(f link.Frame) bool {
		return f.Type == link.FrameControl && f.Kind == link.ControlError && string(f.Payload) == "CONTROL SYNCED 77 answers no SYNC"
	})
}

// TestVirtualLostLinkEndsTheSync: a link lost while a SYNC is outstanding
// ends the host's wait once the loss is applied.
func TestVirtualLostLinkEndsTheSync(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, func(link.Frame) (uint64, bool) { return 0, false }))
	eventually(t, "the link up through Exec", func() bool { q.drain(); return !h.k.Dialing() })
	if !h.k.Sync() {
		t.Fatal("the link's first sync point does not sync")
	}
	h.cloud.waitFrame(t, "SYNC", isSync)
	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	eventually(t, "the loss queued through Exec", func() bool { return q.pending() > 0 })
	if !h.k.Sync() {
		t.Fatal("the wait ended before the loss was applied")
	}
	q.drain()
	if h.k.Sync() {
		t.Fatal("still waiting for SYNCED on a lost link")
	}
}

// TestVirtualRedialTimers: the waits before a redial are the host's
// timers, asked for at exactly the backoff's delays, with the dial's
// outcome; a dial happens only once its timer fires (none on the wall
// clock), and while it runs the host sees Dialing until the outcome —
// the failure, with the next timer already asked for — is applied.
func TestVirtualRedialTimers(t *testing.T) {
	var mu sync.Mutex
	var drawn []time.Duration
	id := "UV0123456789abcdef0123456789abcdef"
	restore := kernel.SetBackoffHooks(nil, func(dev string, d time.Duration, _ bool) {
		if dev == id {
			mu.Lock()
			drawn = append(drawn, d)
			mu.Unlock()
		}
	})
	defer restore()
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, refusing, virtual(ht, q, noDeadline), func(_ *fakeCloud, o *kernel.Options) {
		o.ReconnectDelay, o.MaxReconnectDelay = time.Second, 8*time.Second
		o.Seed = &[32]byte{9}
	})
	dials := func() int { h.cloud.mu.Lock(); defer h.cloud.mu.Unlock(); return h.cloud.dials }
	for n := 1; n <= 5; n++ {
		if !h.k.Dialing() {
			t.Fatalf("dial %d: not Dialing before its outcome", n)
		}
		eventually(t, "the failure queued through Exec", func() bool { return q.pending() > 0 })
		if len(ht.asked()) != n-1 {
			t.Fatalf("dial %d: a timer asked for before the outcome was applied", n)
		}
		q.settle(t, h.k)
		if h.k.Dialing() || len(ht.asked()) != n || dials() != n {
			t.Fatalf("after dial %d's outcome: Dialing %v, %d timers, %d dials; want false, %d, %d", n, h.k.Dialing(), len(ht.asked()), dials(), n, n)
		}
		if n == 5 {
			h.cloud.setRefuse(false) // the cloud comes back for the sixth
		}
		ht.fireNext(t)
	}
	mu.Lock()
	want := slices.Clone(drawn[:5])
	mu.Unlock()
	if got := ht.asked(); !slices.Equal(got, want) {
		t.Fatalf("timers asked for %v; backoff drew %v", got, want)
	}
	for i, d := range want {
		ceil := min(time.Second<<i, 8*time.Second)
		if d < ceil/2 || d > ceil {
			t.Fatalf("delay %d: %v not in [%v, %v]", i, d, ceil/2, ceil)
		}
	}

	// Options.Seed seeds the backoff: another boot draws the same delays.
	ht2 := &hostTimers{}
	q2 := newExecQueue()
	h2 := newHarness(t, refusing, virtual(ht2, q2, noDeadline), func(_ *fakeCloud, o *kernel.Options) {
		o.ReconnectDelay, o.MaxReconnectDelay = time.Second, 8*time.Second
		o.Seed = &[32]byte{9}
	})
	for range 5 {
		q2.settle(t, h2.k)
		ht2.fireNext(t)
	}
	q2.settle(t, h2.k)
	if got := ht2.asked()[:5]; !slices.Equal(got, want) {
		t.Fatalf("same seed, delays %v and %v", got, want)
	}

	// The sixth dial, due at the fifth timer, brings the link up.
	q.settle(t, h.k)
	if !h.k.LinkUp() {
		t.Fatal("the dial after the cloud came back did not bring the link up")
	}
}

// TestVirtualGoAwayRedialTimer: after a GOAWAY on a link that was up a
// while (on the virtual clock), the short redial wait is a host timer too,
// asked for with the lost link applied.
func TestVirtualGoAwayRedialTimer(t *testing.T) {
	var mu sync.Mutex
	var goAways []time.Duration
	id := "UV0123456789abcdef0123456789abcdef"
	restore := kernel.SetBackoffHooks(nil, func(dev string, d time.Duration, goAway bool) {
		if dev == id && goAway {
			mu.Lock()
			goAways = append(goAways, d)
			mu.Unlock()
		}
	})
	defer restore()
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, noDeadline), func(_ *fakeCloud, o *kernel.Options) {
		o.ReconnectDelay, o.MaxReconnectDelay = 100*time.Millisecond, time.Second
	})
	q.settle(t, h.k)
	h.clk.advance(time.Second) // the link is long-lived: GOAWAY is a drain
	h.cloud.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlGoAway, Payload: []byte("draining")})
	eventually(t, "the GOAWAY queued through Exec", func() bool { return q.pending() > 0 })
	q.settle(t, h.k)
	if h.k.LinkUp() {
		t.Fatal("the link is still up after GOAWAY")
	}
	mu.Lock()
	want := slices.Clone(goAways)
	mu.Unlock()
	if got := ht.asked(); len(want) != 1 || !slices.Equal(got, want) || want[0] >= 100*time.Millisecond {
		t.Fatalf("timers asked for %v; GOAWAY delays drawn %v (want one, below the first reconnect delay)", got, want)
	}
	ht.fireNext(t)
	q.settle(t, h.k)
	if !h.k.LinkUp() {
		t.Fatal("no link after the GOAWAY's redial timer fired")
	}
}

// TestVirtualFramesDatedBySync: a frame sent when the device's time has
// moved since the last SYNC is preceded on the link by SYNC at the
// device's instant (the cloud then handles it at that instant), without
// waiting for its SYNCED; frames at an instant already synced add no SYNC;
// the sync point after the call waits for the latest SYNC, and a SYNCED
// for an older one updates next_us but does not end that wait.
func TestVirtualFramesDatedBySync(t *testing.T) {
	ht, q := &hostTimers{}, newExecQueue()
	h, answer, synced := answeredByHand(t, ht, q)
	c := h.newCentre(40, 64)
	nw, _ := h.requestNetwork(c, 0x4E7)
	q.settle(t, h.k)
	base := h.k.SyncsSent()

	h.clk.advance(10 * time.Second)
	at := uint64(h.clk.now() / time.Microsecond)
	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x81)
	wantStatus(t, "mvSendHttpRequest", h.send(ch, getReq), abi.StatusOkay)
	if n := h.k.SyncsSent(); n != base+1 {
		t.Fatalf("%d SYNCs sent by the calls; want 1 (before the OPEN; none before the DATA at the same instant)", n-base)
	}
	dated := <-answer
	if dated.Seq != base+1 || dated.NowUS != at {
		t.Fatalf("SYNC before the OPEN: seq %d now_us %d; want %d and %d", dated.Seq, dated.NowUS, base+1, at)
	}
	h.cloud.waitFrame(t, "the request's DATA", frameIs(link.FrameData, ch.handle))
	h.cloud.mu.Lock()
	frames := slices.Clone(h.cloud.frames)
	h.cloud.mu.Unlock()
	i := slices.IndexFunc(frames, frameIs(link.FrameOpen, ch.handle))
	if i < 1 || !isSync(frames[i-1]) || frames[i-1].Seq != dated.Seq || isSync(frames[i+1]) {
		t.Fatalf("frames %v: want the SYNC right before the OPEN, and none between OPEN and DATA", frames)
	}

	// The sync point: the request was sent after SYNC base+1, so it sends
	// another (same instant) and waits for that one.
	if !h.k.Sync() {
		t.Fatal("the sync point after a request does not wait")
	}
	latest := <-answer
	if latest.Seq != base+2 || latest.NowUS != at {
		t.Fatalf("the sync point's SYNC: seq %d now_us %d; want %d and %d", latest.Seq, latest.NowUS, base+2, at)
	}
	synced(dated, at+5000) // the older SYNC's answer: next_us, not the end
	eventually(t, "the older SYNCED queued through Exec", func() bool { return q.pending() > 0 })
	q.drain()
	if !h.k.Sync() {
		t.Fatal("a SYNCED for an older SYNC ended the wait for the latest")
	}
	if ds := ht.asked(); len(ds) != 1 || ds[0] != 5*time.Millisecond {
		t.Fatalf("timers asked for %v; want the older SYNCED's next_us, 5ms on", ds)
	}
	synced(latest, link.NoDeadline)
	q.settle(t, h.k)
	if n := h.k.SyncsSent(); n != base+2 {
		t.Fatalf("%d SYNCs sent; want 2", n-base)
	}
	// Nothing sent, time not moved: nothing to sync.
	if h.k.Sync() || h.k.SyncsSent() != base+2 {
		t.Fatal("a sync point with nothing to sync sent SYNC")
	}
}

// TestVirtualRequestAfterReleaseIsADialDue: the last handle's release
// takes the link down; a network requested at once is a dial due at that
// instant (Dialing), before the link manager has wound the old link up —
// so the host holds its time for it — and HELLO carries that instant, not
// the clock as the link manager reads it later.
func TestVirtualRequestAfterReleaseIsADialDue(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, noDeadline))
	q.settle(t, h.k)
	c := h.newCentre(40, 64)
	_, hp := h.requestNetwork(c, 1)
	q.settle(t, h.k)
	h.clk.advance(time.Second)
	wantStatus(t, "release", h.k.ReleaseNetwork(hp), abi.StatusOkay)
	if h.k.Dialing() {
		t.Fatal("Dialing with no network wanted")
	}
	h.clk.advance(time.Millisecond)
	at := uint64(h.clk.now() / time.Microsecond)
	h.requestNetwork(c, 2)
	if !h.k.Dialing() {
		t.Fatal("a network requested right after the release: no dial due")
	}
	h.clk.advance(time.Millisecond) // the link manager dials later
	q.settle(t, h.k)
	if !h.k.LinkUp() {
		t.Fatal("settled, but the link is not up")
	}
	h.cloud.mu.Lock()
	hellos := slices.Clone(h.cloud.hellos)
	h.cloud.mu.Unlock()
	if len(hellos) != 2 || hellos[1].NowUS != at {
		t.Fatalf("HELLOs %+v; want a second at now_us %d (the request's instant)", hellos, at)
	}
}

// TestVirtualDialingFromTheRequest: with the link down because nobody
// wanted it, mvRequestNetwork makes the dial due at once — the host sees
// Dialing as the call returns, not whenever the link manager wakes — so
// it holds its time for the outcome from that very call.
func TestVirtualDialingFromTheRequest(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, noDeadline))
	q.settle(t, h.k)
	c := h.newCentre(40, 64)
	_, hp := h.requestNetwork(c, 0x4E7)
	q.settle(t, h.k)
	wantStatus(t, "mvReleaseNetwork", h.k.ReleaseNetwork(hp), abi.StatusOkay)
	q.settle(t, h.k)
	if h.k.LinkUp() || h.k.Dialing() {
		t.Fatal("the link is still up, or dialling, with no network wanted")
	}
	for range 3 {
		nw, hp := h.requestNetwork(c, 0x4E8)
		if !h.k.Dialing() {
			t.Fatal("mvRequestNetwork returned without the dial due")
		}
		q.settle(t, h.k)
		if !h.k.LinkUp() || h.networkStatus(nw) != abi.NetworkStatusConnected {
			t.Fatal("settled after the request, but the link is not up")
		}
		wantStatus(t, "mvReleaseNetwork", h.k.ReleaseNetwork(hp), abi.StatusOkay)
		q.settle(t, h.k)
	}
}

// TestVirtualRequestAfterAnIdleBackoffIsADialDue: a redial timer that
// fires while no network is wanted dials nothing; a network requested
// later is a dial due at once (Dialing), its HELLO dated at the request.
func TestVirtualRequestAfterAnIdleBackoffIsADialDue(t *testing.T) {
	ht := &hostTimers{}
	q := newExecQueue()
	h := newHarness(t, virtual(ht, q, noDeadline))
	q.settle(t, h.k)
	c := h.newCentre(40, 64)
	_, hp := h.requestNetwork(c, 1)
	q.settle(t, h.k)
	h.cloud.drop(t)
	eventually(t, "the loss queued through Exec", func() bool { return q.pending() > 0 })
	q.settle(t, h.k)
	if h.k.LinkUp() || h.k.Dialing() || len(ht.asked()) != 1 {
		t.Fatalf("after the loss: link up %v, Dialing %v, timers %v; want down, waiting on one timer", h.k.LinkUp(), h.k.Dialing(), ht.asked())
	}
	wantStatus(t, "release", h.k.ReleaseNetwork(hp), abi.StatusOkay)
	h.clk.advance(time.Second)
	ht.fireNext(t)
	q.settle(t, h.k)
	if h.k.Dialing() || h.k.LinkUp() {
		t.Fatal("the redial timer fired with no network wanted, and the kernel dials")
	}
	h.clk.advance(time.Millisecond)
	at := uint64(h.clk.now() / time.Microsecond)
	h.requestNetwork(c, 2)
	if !h.k.Dialing() {
		t.Fatal("a network requested after the idle timer: no dial due")
	}
	q.settle(t, h.k)
	h.cloud.mu.Lock()
	hellos := slices.Clone(h.cloud.hellos)
	h.cloud.mu.Unlock()
	if !h.k.LinkUp() || len(hellos) != 2 || hellos[1].NowUS != at {
		t.Fatalf("link up %v, HELLOs %+v; want a second at now_us %d", h.k.LinkUp(), hellos, at)
	}
}
