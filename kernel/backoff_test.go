package kernel_test

// The link manager's redial delays (linkmgr.go, link/doc.go "Going away"):
// equal jitter after failures, a quick redial after GOAWAY, and what the
// application sees when a cloud node drains.

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

// TestRedialBackoffEqualJitter: after the n-th failure in a row the delay
// is drawn in [c/2, c] with c = min(first·2ⁿ, max); a GOAWAY draws in
// [0, first) and leaves c alone; Reset starts again at first.
func TestRedialBackoffEqualJitter(t *testing.T) {
	const first, maxDelay = 10 * time.Millisecond, 80 * time.Millisecond
	seed := [32]byte{1, 2, 3}
	b := kernel.NewBackoff(first, maxDelay, &seed)
	ceil := first
	atMax := map[time.Duration]bool{}
	for i := range 40 {
		d := b.Next()
		if d < ceil/2 || d > ceil {
			t.Fatalf("failure %d: delay %v not in [%v, %v]", i, d, ceil/2, ceil)
		}
		if ceil == maxDelay {
			atMax[d] = true
		}
		if i == 5 {
			// A GOAWAY between failures neither grows nor resets the
			// backoff.
			if g := b.GoAway(); g < 0 || g >= first {
				t.Fatalf("GOAWAY delay %v not in [0, %v)", g, first)
			}
		}
		ceil = min(2*ceil, maxDelay)
	}
	if len(atMax) < 10 {
		t.Fatalf("36 delays at the cap take %d distinct values: no jitter", len(atMax))
	}
	b.Reset()
	if d := b.Next(); d < first/2 || d > first {
		t.Fatalf("after Reset: delay %v not in [%v, %v]", d, first/2, first)
	}
	goAways := map[time.Duration]bool{}
	for range 100 {
		g := b.GoAway()
		if g < 0 || g >= first {
			t.Fatalf("GOAWAY delay %v not in [0, %v)", g, first)
		}
		goAways[g] = true
	}
	if len(goAways) < 50 {
		t.Fatalf("100 GOAWAY delays take %d distinct values", len(goAways))
	}

	// The same seed draws the same delays; kernels seed from crypto/rand,
	// so two of them draw different ones.
	draw := func(b kernel.Backoff) []time.Duration {
		var ds []time.Duration
		for range 8 {
			ds = append(ds, b.Next())
		}
		return ds
	}
	if a, c := draw(kernel.NewBackoff(first, maxDelay, &seed)), draw(kernel.NewBackoff(first, maxDelay, &seed)); !slices.Equal(a, c) {
		t.Fatalf("one seed, two sequences: %v and %v", a, c)
	}
	if a, c := draw(kernel.NewBackoff(first, maxDelay, nil)), draw(kernel.NewBackoff(first, maxDelay, nil)); slices.Equal(a, c) {
		t.Fatalf("two kernels drew the same delays %v", a)
	}
}

// drawRecorder records the delays kernels wait before redialling, through
// kernel.SetBackoffHooks, for the devices of one test.
type drawRecorder struct {
	mu    sync.Mutex
	draws map[string][]draw
}

type draw struct {
	d      time.Duration
	goAway bool
}

func recordDraws(t *testing.T) *drawRecorder {
	r := &drawRecorder{draws: make(map[string][]draw)}
	restore := kernel.SetBackoffHooks(nil, func(id string, d time.Duration, goAway bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.draws[id] = append(r.draws[id], draw{d, goAway})
	})
	t.Cleanup(restore)
	return r
}

func (r *drawRecorder) of(id string) []draw {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.draws[id])
}

// eventLog records a kernel's Options.OnEvent.
type eventLog struct {
	mu     sync.Mutex
	events []kernel.Event
}

func (l *eventLog) add(e kernel.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// has reports whether an event of kind whose text contains text came
// after one of kind after (0: any position).
func (l *eventLog) has(kind kernel.EventKind, text string, after kernel.EventKind) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := after == 0
	for _, e := range l.events {
		if e.Kind == after {
			seen = true
		}
		if seen && e.Kind == kind && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}

func startCloud(t *testing.T) *cloud.Server {
	t.Helper()
	s, err := cloud.New(cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

func connectedTo(s *cloud.Server, id string) bool {
	for _, d := range s.Devices() {
		if d.DeviceID == id {
			return true
		}
	}
	return false
}

// device boots a harness kernel as device id, dialling with dial,
// reporting events to log.
func device(t *testing.T, id string, dial func(context.Context) (net.Conn, error), first, maxDelay time.Duration, log *eventLog) *harness {
	h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) {
		o.DeviceID, o.Dial, o.OnEvent = id, dial, log.add
		o.ReconnectDelay, o.MaxReconnectDelay = first, maxDelay
	})
	h.id = id
	return h
}

// TestCloudRestartSpreadsRedials: devices whose cloud restarts all come
// back, and the delays they drew before redialling follow the jittered
// backoff and differ from device to device.
func TestCloudRestartSpreadsRedials(t *testing.T) {
	const n, first, maxDelay = 6, 40 * time.Millisecond, 320 * time.Millisecond
	draws := recordDraws(t)
	var cur atomic.Pointer[cloud.Server]
	cur.Store(startCloud(t))
	dial := func(ctx context.Context) (net.Conn, error) {
		if s := cur.Load(); s != nil {
			return s.Dial(ctx)
		}
		return nil, errors.New("connection refused: the cloud is restarting")
	}
	ids := make([]string, n)
	logs := make([]*eventLog, n)
	nets := make([]uint32, n)
	hs := make([]*harness, n)
	for i := range n {
		ids[i], logs[i] = kernel.NewDeviceID(), &eventLog{}
		hs[i] = device(t, ids[i], dial, first, maxDelay, logs[i])
		_, nets[i] = hs[i].ready()
	}
	old := cur.Swap(nil)
	if err := old.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		eventually(t, "link lost on device "+ids[i], func() bool { return logs[i].has(kernel.EventLinkError, "link lost", 0) })
	}
	restarted := startCloud(t)
	cur.Store(restarted)
	for i := range n {
		eventually(t, "link up again on device "+ids[i], func() bool {
			return logs[i].has(kernel.EventLinkUp, "", kernel.EventLinkError) && connectedTo(restarted, ids[i])
		})
		hs[i].waitStatus(nets[i], abi.NetworkStatusConnected)
	}

	var firsts []time.Duration
	for _, id := range ids {
		ds := draws.of(id)
		if len(ds) == 0 {
			t.Fatalf("device %s redialled without a delay", id)
		}
		ceil := first
		for j, d := range ds {
			if d.goAway || d.d < ceil/2 || d.d > ceil {
				t.Fatalf("device %s, redial %d: %+v, want a delay in [%v, %v]", id, j, d, ceil/2, ceil)
			}
			ceil = min(2*ceil, maxDelay)
		}
		firsts = append(firsts, ds[0].d)
	}
	// Six uniform draws in a 20 ms range all within 1 ms of each other:
	// probability about 6·20⁻⁵.
	if spread := slices.Max(firsts) - slices.Min(firsts); spread < time.Millisecond {
		t.Fatalf("first redial delays %v spread over %v only: no jitter across devices", firsts, spread)
	}
	t.Logf("first redial delays after the restart: %v", firsts)
}

// TestGoAwayMovesTheDevice: a draining cloud's GOAWAY makes the device
// drop the link as if it were lost — the application sees the same
// notifications: channels not connected (CONNECTIONTERMINATED), networks
// CONNECTING then CONNECTED — and redial at once, below ReconnectDelay,
// onto the other cloud its dial offers (the draining one refuses).
func TestGoAwayMovesTheDevice(t *testing.T) {
	const first, maxDelay = 200 * time.Millisecond, time.Second
	draws := recordDraws(t)
	a, b := startCloud(t), startCloud(t)
	var onB atomic.Int32
	dial := func(ctx context.Context) (net.Conn, error) {
		c, err := a.Dial(ctx)
		if err == nil {
			return c, nil
		}
		onB.Add(1)
		return b.Dial(ctx)
	}
	log := &eventLog{}
	id := kernel.NewDeviceID()
	h := device(t, id, dial, first, maxDelay, log)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x77)
	eventually(t, "device on cloud A", func() bool { return connectedTo(a, id) })
	c.forget()
	// The link has been up longer than MaxReconnectDelay: GOAWAY is a
	// drain, not a flapping cloud.
	h.clk.advance(maxDelay)

	drained := make(chan error, 1)
	go func() { drained <- a.Drain(context.Background()) }()
	c.wait(abi.EventTypeChannelNotConnected, 0x77)
	c.wait(abi.EventTypeNetworkStatusChanged, 0x4E7) // CONNECTING
	c.wait(abi.EventTypeNetworkStatusChanged, 0x4E7) // CONNECTED, on B
	h.waitStatus(nw, abi.NetworkStatusConnected)
	if r := h.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("channel closure reason %v, want CONNECTIONTERMINATED (as for a lost link)", r)
	}
	eventually(t, "device on cloud B", func() bool { return connectedTo(b, id) })
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if connectedTo(a, id) || onB.Load() == 0 {
		t.Fatalf("device still on A (dials to B: %d)", onB.Load())
	}
	if !log.has(kernel.EventLinkError, "link lost: the cloud node is going away", 0) || !log.has(kernel.EventLinkUp, "", kernel.EventLinkError) {
		t.Fatalf("events %+v: want the link lost to a GOAWAY, then up", log.events)
	}
	ds := draws.of(id)
	if len(ds) != 1 || !ds[0].goAway || ds[0].d < 0 || ds[0].d >= first {
		t.Fatalf("redial delays %+v: want one GOAWAY delay in [0, %v)", ds, first)
	}
	wantStatus(t, "write on the old channel", h.k.WriteChannel(ch.handle, h.place([]byte("x")), 1, h.out(4)), abi.StatusChannelClosed)
	h.closeChannel(ch)
}

// TestGoAwayOnAYoungLinkBacksOff: a GOAWAY on a link younger than
// MaxReconnectDelay counts as a failure, as a link dropped right after
// WELCOME does: the device backs off, so a cloud that keeps saying GOAWAY
// cannot make it redial in a tight loop.
func TestGoAwayOnAYoungLinkBacksOff(t *testing.T) {
	const first, maxDelay = 2 * time.Millisecond, time.Hour
	draws := recordDraws(t)
	log := &eventLog{}
	h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) {
		o.OnEvent = log.add
		o.ReconnectDelay, o.MaxReconnectDelay = first, maxDelay
	})
	for i := range 3 {
		h.waitLink()
		eventually(t, "the cloud's link", h.cloud.up)
		h.cloud.send(t, goAwayFrame("draining"))
		eventually(t, "redial after GOAWAY", func() bool { return h.cloud.linkCount() == i+2 })
	}
	ds := draws.of(h.id)
	ceil := first
	for j, d := range ds {
		if d.goAway || d.d < ceil/2 || d.d > ceil {
			t.Fatalf("redial %d: %+v, want a backoff delay in [%v, %v]", j, d, ceil/2, ceil)
		}
		ceil *= 2
	}
	if len(ds) != 3 {
		t.Fatalf("%d redial delays, want 3", len(ds))
	}
	if !log.has(kernel.EventLinkError, "going away: draining", 0) {
		t.Fatalf("events %+v", log.events)
	}
}

func goAwayFrame(reason string) link.Frame {
	return link.Frame{Type: link.FrameControl, Kind: link.ControlGoAway, Payload: []byte(reason)}
}

// TestGoAwayNotifiesAsALostLink: what the application sees when the cloud
// says GOAWAY — notification records, closure reasons, network statuses,
// host events — is exactly what it sees when the link is lost.
func TestGoAwayNotifiesAsALostLink(t *testing.T) {
	type seen struct {
		records []abi.Notification
		reason  abi.ClosureReason
		events  []kernel.EventKind
	}
	run := func(end func(h *harness)) seen {
		log := &eventLog{}
		h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) { o.OnEvent = log.add })
		c, nw := h.ready()
		ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x31)
		c.forget()
		h.clk.advance(time.Hour) // a long-lived link
		end(h)
		eventually(t, "a second link", func() bool { return h.cloud.linkCount() == 2 })
		h.waitStatus(nw, abi.NetworkStatusConnected)
		c.drain()
		var s seen
		for _, r := range c.log {
			r.Microseconds = 0
			s.records = append(s.records, r)
		}
		s.reason = h.closureReason(ch)
		log.mu.Lock()
		for _, e := range log.events {
			s.events = append(s.events, e.Kind)
		}
		log.mu.Unlock()
		return s
	}
	lost := run(func(h *harness) { h.cloud.drop(t) })
	goAway := run(func(h *harness) { h.cloud.send(t, goAwayFrame("draining")) })
	if lost.reason != abi.ClosureReasonConnectionTerminated || goAway.reason != lost.reason {
		t.Fatalf("closure reasons: lost link %v, GOAWAY %v", lost.reason, goAway.reason)
	}
	if !slices.Equal(goAway.records, lost.records) || len(lost.records) != 3 {
		t.Fatalf("notifications after GOAWAY %+v, after a lost link %+v", goAway.records, lost.records)
	}
	if !slices.Equal(goAway.events, lost.events) {
		t.Fatalf("host events after GOAWAY %v, after a lost link %v", goAway.events, lost.events)
	}
}
