package kernel_test

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

// execQueue stands in for the emulator's machine: Options.Exec queues, and
// the test goroutine — the application's — runs the queue when it chooses.
type execQueue struct {
	kernel.ExecQueue
	ready chan struct{} // a push since the last wait
}

func newExecQueue() *execQueue { return &execQueue{ready: make(chan struct{}, 1)} }

func (q *execQueue) exec(fn func()) {
	q.Push(fn)
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *execQueue) pending() int { return q.Len() }

func (q *execQueue) drain() { q.Drain() }

// settle is the machine's sync point (kernel/virtual.go): run the queue
// while a dial's outcome is not applied, and while a SYNC is outstanding.
func (q *execQueue) settle(t *testing.T, k *kernel.Kernel) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		q.drain()
		if !k.Dialing() && !k.Sync() {
			return
		}
		select {
		case <-q.ready:
		case <-deadline:
			t.Fatal("the sync point never ended: a dial's outcome or a SYNCED not applied")
		}
	}
}

// With Options.Exec, what the cloud sends reaches application memory and
// the IRQ only when the application's goroutine runs the queue; Dialing
// holds until the dial's outcome is applied, so that after settle the link
// is up without polling.
func TestExecDefersChangesUntilTheApplicationRunsThem(t *testing.T) {
	q := newExecQueue()
	h := newHarness(t, func(fc *fakeCloud, o *kernel.Options) { o.Exec = q.exec })
	if !h.k.Dialing() {
		t.Fatal("at boot the kernel must be dialling the link it wants")
	}
	q.settle(t, h.k)
	if !h.k.LinkUp() {
		t.Fatal("settled, but the link is not up")
	}

	c := h.newCentre(40, 64)
	nw, _ := h.requestNetwork(c, 0x4E7)
	q.settle(t, h.k)
	if st := h.networkStatus(nw); st != abi.NetworkStatusConnected {
		t.Fatalf("network %v after settle, want CONNECTED", st)
	}
	c.forget()

	ch := h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x81)
	wantStatus(t, "mvSendHttpRequest", h.send(ch, getReq), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool { return len(h.cloud.data(ch.handle)) > 0 })
	irqs := h.irq.count(40)
	h.cloud.sendData(t, ch.handle, link.AppendHTTPResponse(nil, &link.HTTPResponse{StatusCode: 200, Result: uint32(abi.HTTPResultOK)}))
	eventually(t, "the response queued through Exec", func() bool { return q.pending() > 0 })
	if n := c.count(abi.EventTypeChannelDataReadable, 0x81); n != 0 || h.irq.count(40) != irqs {
		t.Fatalf("before the queue ran: %d records, %d IRQs; want none", n, h.irq.count(40)-irqs)
	}
	q.settle(t, h.k)
	if n := c.count(abi.EventTypeChannelDataReadable, 0x81); n != 1 || h.irq.count(40) != irqs+1 {
		t.Fatalf("after settle: %d records, %d IRQs; want 1 each", n, h.irq.count(40)-irqs)
	}
	if d := h.responseData(ch); d.StatusCode != 200 {
		t.Fatalf("response status %d", d.StatusCode)
	}

	// A lost link disconnects the channel only through the queue too.
	h.closeChannel(ch)
	ch = h.open(c, nw, abi.ChannelTypeHTTP, 1024, 512, 0x82)
	h.cloud.drop(t)
	eventually(t, "the loss queued through Exec", func() bool { return q.pending() > 0 })
	if h.closureReason(ch) != abi.ClosureReasonNone {
		t.Fatal("the channel was disconnected before the queue ran")
	}
	q.drain()
	if r := h.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("closure reason %v after the queue ran", r)
	}
}

// Options.Seed makes the kernel's handles repeat from run to run.
func TestSeedRepeatsHandles(t *testing.T) {
	handles := func(seed *[32]byte) [2]uint32 {
		h := newHarness(t, func(_ *fakeCloud, o *kernel.Options) { o.Seed = seed })
		c := h.newCentre(40, 8)
		nw, _ := h.requestNetwork(c, 1)
		return [2]uint32{c.handle, nw}
	}
	s1, s2 := &[32]byte{1}, &[32]byte{2}
	a, b, other := handles(s1), handles(s1), handles(s2)
	if a != b {
		t.Fatalf("same seed, handles %x and %x", a, b)
	}
	if a == other {
		t.Fatalf("different seeds, same handles %x", a)
	}
}

// With Options.Exec, OnEvent is told only while the application is parked:
// the host's record of a link error falls between instructions too.
func TestExecParksTheApplicationForEvents(t *testing.T) {
	q := newExecQueue()
	events := make(chan kernel.Event, 8)
	_ = newHarness(t, refusing, func(_ *fakeCloud, o *kernel.Options) {
		o.Exec = q.exec
		o.OnEvent = func(e kernel.Event) { events <- e }
	})
	eventually(t, "the link error queued through Exec", func() bool { return q.pending() > 0 })
	if len(events) != 0 {
		t.Fatal("OnEvent was told before the application was parked")
	}
	q.drain()
	select {
	case e := <-events:
		if e.Kind != kernel.EventLinkError {
			t.Fatalf("event %v", e.Kind)
		}
	case <-time.After(waitFor):
		t.Fatal("no event after the queue ran")
	}
}

// A machine that runs no queued work (stopped at a debugger's breakpoint)
// still has its link answered: PING gets its PONG without parking the
// application, so the keep-alive holds.
func TestPingAnsweredWhileTheApplicationIsHeld(t *testing.T) {
	q := newExecQueue()
	h := newHarness(t, func(fc *fakeCloud, o *kernel.Options) { o.Exec = q.exec })
	q.settle(t, h.k)
	if !h.k.LinkUp() {
		t.Fatal("settled, but the link is not up")
	}
	// From here on nobody runs the queue.
	for range 3 {
		h.cloud.sync(t) // PING → PONG
	}
	if n := q.pending(); n != 0 {
		t.Fatalf("%d functions queued for PING", n)
	}
}
