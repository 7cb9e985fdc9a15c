package kernel_test

// The harness drives the kernel the way a device application does: every
// argument is an address in an emulated Arena, structures are marshalled
// with abi.Device, and outputs are decoded from the Arena afterwards. The
// cloud is a scripted fake on the far end of a link.Pipe, so each test
// decides exactly which frames the kernel sees.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// Addresses of the default Arena layout.
const (
	flashBase = mem.DefaultFlashBase
	sramBase  = mem.DefaultSRAMBase
	sramEnd   = mem.DefaultSRAMBase + mem.Addr(mem.DefaultSRAMSize)
)

// welcomeWallUS is the wall time the fake cloud sends in WELCOME.
const welcomeWallUS = 1_750_000_000_000_000

// sentinel fills outputs that a failing call must not write.
const sentinel = 0xA5A5A5A5

// waitFor is how long a poll waits before failing the test.
const waitFor = 5 * time.Second

// namedAddr is a bad pointer with the reason it is bad.
type namedAddr struct {
	name string
	addr mem.Addr
}

// badReadPtrs are addresses no access of 2 bytes or more may read.
var badReadPtrs = []namedAddr{
	{"null", 0},
	{"unmapped", 0x10},
	{"offEndOfSRAM", sramEnd - 1},
	{"wrapsAt4G", 0xFFFF_FFFF},
}

// badWritePtrs are addresses no access of 2 bytes or more may write.
var badWritePtrs = append([]namedAddr{{"flash", flashBase}}, badReadPtrs...)

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Within(t, waitFor, what, cond)
}

// irqRecorder is an InterruptController that counts Pend calls per IRQ.
type irqRecorder struct {
	mu sync.Mutex
	n  map[uint32]int
}

func (r *irqRecorder) Pend(irq uint32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = make(map[uint32]int)
	}
	r.n[irq]++
}

func (r *irqRecorder) count(irq uint32) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[irq]
}

// fakeClock is the kernel's injected monotonic clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Duration      { return time.Duration(c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeCloud is a scripted cloud: it answers HELLO with WELCOME, records
// every frame it receives and lets the test send frames, drop the link and
// refuse connections.
type fakeCloud struct {
	mu               sync.Mutex
	refuse           bool   // Dial fails
	silent           bool   // HELLO is never answered
	dropAfterWelcome bool   // the link is closed right after WELCOME
	autoCredit       bool   // DATA from the device is credited back at once
	wallUS           uint64 // WallTimeUS of WELCOME
	dials            int
	links            int          // handshakes completed
	hellos           []link.Frame // HELLO frames received
	frames           []link.Frame // frames received after WELCOME, from every link
	cur              *link.Conn   // the link the kernel is using, nil while down
	all              []*link.Conn
	nextToken        atomic.Uint64
	credits          map[uint32]uint64 // CREDIT bytes received per channel
	// synced, if set, answers each CONTROL SYNC (after it is recorded):
	// it returns SYNCED's next_us, or false to leave the SYNC unanswered.
	synced func(sync link.Frame) (nextUS uint64, ok bool)
}

func newFakeCloud() *fakeCloud {
	return &fakeCloud{wallUS: welcomeWallUS, credits: make(map[uint32]uint64)}
}

// Dial is kernel.Options.Dial.
func (fc *fakeCloud) Dial(ctx context.Context) (net.Conn, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.dials++
	if fc.refuse {
		return nil, errors.New("fake cloud: connection refused")
	}
	dev, cl := link.Pipe()
	c := link.NewConn(cl)
	fc.all = append(fc.all, c)
	go fc.serve(c)
	return dev, nil
}

func (fc *fakeCloud) serve(c *link.Conn) {
	defer c.Close()
	f, err := c.Recv()
	if err != nil || f.Type != link.FrameHello {
		return
	}
	fc.mu.Lock()
	fc.hellos = append(fc.hellos, f)
	if fc.silent {
		fc.mu.Unlock()
		<-c.Done()
		return
	}
	fc.cur = c
	fc.links++
	wall := fc.wallUS
	fc.mu.Unlock()
	_ = c.Send(&link.Frame{Type: link.FrameWelcome, Version: link.Version, WallTimeUS: wall})
	fc.mu.Lock()
	flap := fc.dropAfterWelcome
	fc.mu.Unlock()
	if flap {
		_ = c.Flush(context.Background())
		c.Close()
	}
	for {
		f, err := c.Recv()
		if err != nil {
			break
		}
		fc.mu.Lock()
		auto := fc.autoCredit && fc.cur == c
		fc.mu.Unlock()
		if auto && f.Type == link.FrameData {
			// Credit before recording the frame: a test that has seen the
			// frame knows the credit is queued ahead of what it sends next.
			_ = c.Send(&link.Frame{Type: link.FrameCredit, Chan: f.Chan, Credit: uint32(len(f.Payload))})
		}
		fc.mu.Lock()
		fc.frames = append(fc.frames, f)
		if f.Type == link.FrameCredit {
			fc.credits[f.Chan] += uint64(f.Credit)
		}
		synced := fc.synced
		fc.mu.Unlock()
		if synced != nil && f.Type == link.FrameControl && f.Kind == link.ControlSync {
			if next, ok := synced(f); ok {
				_ = c.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: f.Seq, NextUS: next})
			}
		}
	}
	fc.mu.Lock()
	if fc.cur == c {
		fc.cur = nil
	}
	fc.mu.Unlock()
}

func (fc *fakeCloud) setRefuse(v bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.refuse = v
}

func (fc *fakeCloud) setAutoCredit(v bool) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.autoCredit = v
}

func (fc *fakeCloud) up() bool {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.cur != nil
}

func (fc *fakeCloud) linkCount() int {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.links
}

// send sends f on the current link.
func (fc *fakeCloud) send(t testing.TB, f link.Frame) {
	t.Helper()
	fc.mu.Lock()
	c := fc.cur
	fc.mu.Unlock()
	if c == nil {
		t.Fatalf("fake cloud: no link to send %v on", f.Type)
	}
	if err := c.Send(&f); err != nil {
		t.Fatalf("fake cloud: send %v: %v", f.Type, err)
	}
}

// trySend sends f on the current link if there is one (for goroutines).
func (fc *fakeCloud) trySend(f link.Frame) error {
	fc.mu.Lock()
	c := fc.cur
	fc.mu.Unlock()
	if c == nil {
		return errors.New("no link")
	}
	return c.Send(&f)
}

func (fc *fakeCloud) sendData(t testing.TB, ch uint32, p []byte) {
	t.Helper()
	fc.send(t, link.Frame{Type: link.FrameData, Chan: ch, Payload: p})
}

// sync waits until the kernel has handled every frame sent before it: it
// sends PING and waits for the PONG, which the kernel sends in order.
func (fc *fakeCloud) sync(t testing.TB) {
	t.Helper()
	token := fc.nextToken.Add(1)
	fc.send(t, link.Frame{Type: link.FrameControl, Kind: link.ControlPing, Token: token})
	fc.waitFrame(t, "PONG", func(f link.Frame) bool {
		return f.Type == link.FrameControl && f.Kind == link.ControlPong && f.Token == token
	})
}

// drop closes the current link, as a network failure would.
func (fc *fakeCloud) drop(t testing.TB) {
	t.Helper()
	fc.mu.Lock()
	c := fc.cur
	fc.cur = nil
	fc.mu.Unlock()
	if c == nil {
		t.Fatal("fake cloud: no link to drop")
	}
	c.Close()
}

func (fc *fakeCloud) closeAll() {
	fc.mu.Lock()
	all := fc.all
	fc.refuse = true
	fc.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}

// received returns the frames received so far that match pred.
func (fc *fakeCloud) received(pred func(link.Frame) bool) []link.Frame {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out []link.Frame
	for _, f := range fc.frames {
		if pred(f) {
			out = append(out, f)
		}
	}
	return out
}

func frameIs(typ link.FrameType, ch uint32) func(link.Frame) bool {
	return func(f link.Frame) bool { return f.Type == typ && f.Chan == ch }
}

// waitFrame waits for a received frame matching pred and returns the first.
func (fc *fakeCloud) waitFrame(t testing.TB, what string, pred func(link.Frame) bool) link.Frame {
	t.Helper()
	var got []link.Frame
	eventually(t, what, func() bool { got = fc.received(pred); return len(got) > 0 })
	return got[0]
}

// data returns every DATA payload received on channel ch, concatenated.
func (fc *fakeCloud) data(ch uint32) []byte {
	var b []byte
	for _, f := range fc.received(frameIs(link.FrameData, ch)) {
		b = append(b, f.Payload...)
	}
	return b
}

// credit returns the bytes the device has credited back on channel ch.
func (fc *fakeCloud) credit(ch uint32) uint64 {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	return fc.credits[ch]
}

// harness is one booted kernel with its memory, interrupts, clock and cloud.
type harness struct {
	t     *testing.T
	a     *mem.Arena
	k     *kernel.Kernel
	irq   *irqRecorder
	clk   *fakeClock
	cloud *fakeCloud
	id    string
}

// harnessOpt adjusts the fake cloud or the kernel's options before boot.
type harnessOpt func(*fakeCloud, *kernel.Options)

// refusing: the cloud refuses connections until setRefuse(false).
func refusing(fc *fakeCloud, _ *kernel.Options) { fc.refuse = true }

// newHarness boots a kernel.
func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	a, err := mem.NewArena(mem.ArenaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, a: a, irq: &irqRecorder{}, clk: &fakeClock{}, cloud: newFakeCloud(),
		id: "UV0123456789abcdef0123456789abcdef"}
	h.clk.advance(time.Second) // stamps are non-zero
	o := kernel.Options{
		Memory: a, ABI: abi.Device, IRQ: h.irq, DeviceID: h.id, Dial: h.cloud.Dial,
		Monotonic: h.clk.now, ReconnectDelay: time.Millisecond, MaxReconnectDelay: 5 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
	}
	for _, f := range opts {
		f(h.cloud, &o)
	}
	h.k, err = kernel.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.k.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.k.Close()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := h.k.Wait(ctx); err != nil {
			t.Errorf("kernel did not stop: %v", err)
		}
		h.cloud.closeAll()
	})
	return h
}

// waitLink waits until the kernel's link is up.
func (h *harness) waitLink() {
	h.t.Helper()
	eventually(h.t, "link up", h.k.LinkUp)
}

// ---- application memory ----

func (h *harness) alloc(n, align uint64) mem.Addr {
	h.t.Helper()
	p, err := h.a.Alloc(n, align)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// out allocates n bytes filled with the sentinel.
func (h *harness) out(n uint64) mem.Addr {
	h.t.Helper()
	p := h.alloc(n, 8)
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xA5
	}
	h.store(p, b)
	return p
}

func (h *harness) store(p mem.Addr, b []byte) {
	h.t.Helper()
	if err := h.a.Store(p, b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) bytes(p mem.Addr, n uint64) []byte {
	h.t.Helper()
	b, err := h.a.Bytes(p, n)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) u32(p mem.Addr) uint32 { return binary.LittleEndian.Uint32(h.bytes(p, 4)) }
func (h *harness) u64(p mem.Addr) uint64 { return binary.LittleEndian.Uint64(h.bytes(p, 8)) }

func (h *harness) put32(p mem.Addr, v uint32) {
	h.t.Helper()
	h.store(p, binary.LittleEndian.AppendUint32(nil, v))
}

// place copies b into fresh SRAM and returns its address.
func (h *harness) place(b []byte) mem.Addr {
	h.t.Helper()
	p := h.alloc(uint64(max(len(b), 1)), 4)
	h.store(p, b)
	return p
}

func (h *harness) str(s string) abi.SizedString {
	return abi.SizedString{Data: h.place([]byte(s)), Length: uint32(len(s))}
}

// handleIn places a handle in SRAM for the calls that take MvXHandle *.
func (h *harness) handleIn(v uint32) mem.Addr {
	h.t.Helper()
	p := h.alloc(4, 4)
	h.put32(p, v)
	return p
}

// flashHandle places a handle in flash: readable, not writable.
func (h *harness) flashHandle(v uint32) mem.Addr {
	h.t.Helper()
	p, err := h.a.LoadFlash(binary.LittleEndian.AppendUint32(nil, v), 4)
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) call(name string, args ...uint64) abi.Status {
	h.t.Helper()
	st, err := h.k.Call(name, args...)
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

func wantStatus(t testing.TB, what string, got, want abi.Status) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %v, want %v", what, got, want)
	}
}

// ---- notification centres ----

// centre is the application's view of a notification centre: it consumes
// records in ring order, clearing each one's event type as an ISR would.
type centre struct {
	h      *harness
	handle uint32
	irq    uint32
	buf    mem.Addr
	slots  uint32
	next   uint32
	log    []abi.Notification // consumed, not yet claimed by wait
}

func (h *harness) setupRaw(irq uint32, buf mem.Addr, size uint32, handleOut mem.Addr) abi.Status {
	h.t.Helper()
	sp := h.alloc(12, 4)
	if err := abi.Device.WriteNotificationSetup(h.a, sp, abi.NotificationSetup{IRQ: irq, Buffer: buf, BufferSize: size}); err != nil {
		h.t.Fatal(err)
	}
	return h.k.SetupNotifications(sp, handleOut)
}

// newCentre sets up a centre of slots records on irq.
func (h *harness) newCentre(irq, slots uint32) *centre {
	h.t.Helper()
	buf := h.alloc(uint64(slots)*16, 16)
	hp := h.out(4)
	wantStatus(h.t, "mvSetupNotifications", h.setupRaw(irq, buf, slots*16, hp), abi.StatusOkay)
	c := &centre{h: h, handle: h.u32(hp), irq: irq, buf: buf, slots: slots}
	if c.handle == 0 {
		h.t.Fatal("notification handle is zero")
	}
	return c
}

// record reads slot i without consuming it.
func (c *centre) record(i uint32) abi.Notification {
	return abi.DecodeNotification(c.h.bytes(c.buf+mem.Addr(i*16), 16))
}

// drain consumes every record the kernel has written since the last drain.
func (c *centre) drain() {
	for {
		n := c.record(c.next)
		if n.EventType == abi.EventTypeNoEvent {
			return
		}
		c.log = append(c.log, n)
		c.h.store(c.buf+mem.Addr(c.next*16+8), make([]byte, 4))
		c.next = (c.next + 1) % c.slots
	}
}

// wait waits for a record of event ev with tag and claims it.
func (c *centre) wait(ev abi.EventType, tag uint32) abi.Notification {
	c.h.t.Helper()
	var got abi.Notification
	eventually(c.h.t, fmt.Sprintf("%v notification with tag %#x", ev, tag), func() bool {
		c.drain()
		for i, n := range c.log {
			if n.EventType == ev && n.Tag == tag {
				got = n
				c.log = append(c.log[:i], c.log[i+1:]...)
				return true
			}
		}
		return false
	})
	return got
}

// count drains and counts unclaimed records of event ev with tag.
func (c *centre) count(ev abi.EventType, tag uint32) int {
	c.drain()
	n := 0
	for _, r := range c.log {
		if r.EventType == ev && r.Tag == tag {
			n++
		}
	}
	return n
}

// forget drops unclaimed records.
func (c *centre) forget() { c.drain(); c.log = nil }

// ---- networks ----

func (h *harness) requestRaw(version, nh, tag uint32, handleOut mem.Addr) abi.Status {
	h.t.Helper()
	pp := h.alloc(12, 4)
	if err := abi.Device.WriteRequestNetworkParams(h.a, pp, abi.RequestNetworkParams{Version: version, NotificationHandle: nh, NotificationTag: tag}); err != nil {
		h.t.Fatal(err)
	}
	return h.k.RequestNetwork(pp, handleOut)
}

// requestNetwork requests a network and returns its handle and where the
// handle is stored.
func (h *harness) requestNetwork(c *centre, tag uint32) (uint32, mem.Addr) {
	h.t.Helper()
	hp := h.out(4)
	wantStatus(h.t, "mvRequestNetwork", h.requestRaw(1, c.handle, tag, hp), abi.StatusOkay)
	nw := h.u32(hp)
	if nw == 0 {
		h.t.Fatal("network handle is zero")
	}
	return nw, hp
}

func (h *harness) networkStatus(nw uint32) abi.NetworkStatus {
	h.t.Helper()
	p := h.out(4)
	wantStatus(h.t, "mvGetNetworkStatus", h.k.GetNetworkStatus(nw, p), abi.StatusOkay)
	return abi.NetworkStatus(h.u32(p))
}

func (h *harness) waitStatus(nw uint32, st abi.NetworkStatus) {
	h.t.Helper()
	eventually(h.t, fmt.Sprintf("network %#x %v", nw, st), func() bool { return h.networkStatus(nw) == st })
}

// ready returns a centre and a connected network on it.
func (h *harness) ready() (*centre, uint32) {
	h.t.Helper()
	c := h.newCentre(40, 64)
	nw, _ := h.requestNetwork(c, 0x4E7)
	h.waitStatus(nw, abi.NetworkStatusConnected)
	return c, nw
}

// ---- channels ----

// channel is an open channel as the application sees it.
type channel struct {
	handle       uint32
	hp           mem.Addr // where the handle is stored
	rx, tx       mem.Addr
	rxLen, txLen uint32
	tag          uint32
}

// chanParams returns valid open parameters with fresh, aligned buffers.
func (h *harness) chanParams(c *centre, nw uint32, typ abi.ChannelType, rxLen, txLen, tag uint32) abi.OpenChannelParams {
	h.t.Helper()
	return abi.OpenChannelParams{
		Version: 1, NotificationHandle: c.handle, NotificationTag: tag, NetworkHandle: nw,
		ReceiveBuffer: h.alloc(uint64(max(rxLen, 1)), 512), ReceiveBufferLen: rxLen,
		SendBuffer: h.alloc(uint64(max(txLen, 1)), 512), SendBufferLen: txLen,
		ChannelType: typ,
	}
}

func (h *harness) openRaw(p abi.OpenChannelParams, handleOut mem.Addr) abi.Status {
	h.t.Helper()
	pp := h.alloc(44, 4)
	if err := abi.Device.WriteOpenChannelParams(h.a, pp, p); err != nil {
		h.t.Fatal(err)
	}
	return h.k.OpenChannel(pp, handleOut)
}

func (h *harness) openWith(p abi.OpenChannelParams) *channel {
	h.t.Helper()
	hp := h.out(4)
	wantStatus(h.t, "mvOpenChannel", h.openRaw(p, hp), abi.StatusOkay)
	ch := &channel{handle: h.u32(hp), hp: hp, rx: p.ReceiveBuffer, tx: p.SendBuffer,
		rxLen: p.ReceiveBufferLen, txLen: p.SendBufferLen, tag: p.NotificationTag}
	if ch.handle == 0 {
		h.t.Fatal("channel handle is zero")
	}
	return ch
}

func (h *harness) open(c *centre, nw uint32, typ abi.ChannelType, rxLen, txLen, tag uint32) *channel {
	h.t.Helper()
	return h.openWith(h.chanParams(c, nw, typ, rxLen, txLen, tag))
}

func (h *harness) closeChannel(ch *channel) {
	h.t.Helper()
	wantStatus(h.t, "mvCloseChannel", h.k.CloseChannel(ch.hp), abi.StatusOkay)
}

func (h *harness) closureReason(ch *channel) abi.ClosureReason {
	h.t.Helper()
	p := h.out(4)
	wantStatus(h.t, "mvGetChannelClosureReason", h.k.GetChannelClosureReason(ch.handle, p), abi.StatusOkay)
	return abi.ClosureReason(h.u32(p))
}
