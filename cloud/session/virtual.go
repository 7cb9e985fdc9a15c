package session

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// Virtual time (link/doc.go, "Virtual time").
//
// A device whose HELLO carries link.HelloVirtualClock runs on its virtual
// clock (Config.VirtualClock): HELLO advances it to the device's now_us
// before the device is registered. Each CONTROL SYNC advances the clock
// to its now_us in the session's reader, before the reader reads the next
// frame, so that what the device sends after it is dated at that instant
// (handleSync); the session's syncer goroutine then waits until no hold is
// in force and answers CONTROL SYNCED with the device's time of the
// clock's next timer (the reader does not wait for the holds that remain
// at now_us: PING and CREDIT keep flowing).
//
// Every answer the device is owed holds the clock from the moment the
// reader reads the frame that asks for it until the answer is queued to
// the device: an HTTP request (channel.go: from startRequestLocked until
// runRequest has queued the response),
// a config fetch, each MQTT request until its result item is queued
// (mqtt.go), a CREDIT that lets the MQTT bridge offer a refused message
// again until it has, a LOG line until its LOGACK, and HELLO until the
// device has been told whether logging is enabled. A hold never waits for
// the device's credit: the device is parked until SYNCED. Holds are taken
// through Session.hold, which remembers them: the end of the session
// releases every hold it took, so a session that ends mid-request never
// leaves the device's clock stuck for its next link.
//
// The cloud knows the device's time only from HELLO and SYNC, so work a
// frame asks for starts, on the device's clock, at the time of the last
// HELLO or SYNC before the frame: the device (kernel, virtual mode) sends
// SYNC before any other frame if its time has moved since its last SYNC,
// without waiting for that SYNC's SYNCED, and the reader advances the
// clock as it reads the SYNC, so the request is timed from when it was
// sent.
//
// What the cloud times for the device runs on its clock: frames delayed
// by a latency fault (outbox.go), a request's timeout (the virtual
// deadline, with the wall deadline kept as a safety net: a request the
// wall deadline cut gets its failure at the virtual deadline), the MQTT
// close grace. A request's CREDIT is paid at once instead of after
// creditDelay (credit.go), so no timer of the cloud's own shows in
// SYNCED's next_us.

// maxSyncsQueued bounds the CONTROL SYNCs waiting for the syncer: a
// device waits for each SYNCED before it syncs again, so only a device
// breaking the protocol queues more than one.
const maxSyncsQueued = 16

// syncReq is one CONTROL SYNC for the syncer.
type syncReq struct{ seq, nowUS uint64 }

// holdSet is the holds a session has taken on its device's clock.
type holdSet struct {
	mu    sync.Mutex
	live  map[uint64]func()
	next  uint64
	ended bool
}

// noRelease is the release of a hold on the wall clock.
func noRelease() {}

// hold holds the device's clock until the returned release is called
// (once; later calls do nothing) or the session ends. On the wall clock
// it does nothing.
func (s *Session) hold() (release func()) {
	_, release = s.holdToken()
	return release
}

// holdToken is hold, also giving the hold as a vclock.Token (nil on the
// wall clock or once the session has ended) for work that lends it by
// identity (vclock.WithHolds).
func (s *Session) holdToken() (*vclock.Token, func()) {
	if s.vc == nil {
		return nil, noRelease
	}
	h := &s.holds
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ended {
		return nil, noRelease
	}
	if h.live == nil {
		h.live = make(map[uint64]func())
	}
	h.next++
	id := h.next
	tok := s.vc.HoldToken()
	h.live[id] = tok.Release
	return tok, func() {
		h.mu.Lock()
		r := h.live[id]
		delete(h.live, id)
		h.mu.Unlock()
		if r != nil {
			r()
		}
	}
}

// releaseHolds releases every hold the session still has and refuses new
// ones: the session has ended.
func (s *Session) releaseHolds() {
	h := &s.holds
	h.mu.Lock()
	h.ended = true
	live := h.live
	h.live = nil
	h.mu.Unlock()
	for _, r := range live {
		r()
	}
}

// deviceTime is the device's time now_us on its clock; ok is false if it
// is beyond what a time.Duration holds (about 292 years).
func (s *Session) deviceTime(nowUS uint64) (t time.Time, ok bool) {
	if nowUS > math.MaxInt64/uint64(time.Microsecond) {
		return time.Time{}, false
	}
	return s.vbase.Add(time.Duration(nowUS) * time.Microsecond), true
}

// deviceUS is t as the device's time in µs, rounded up (the device must
// not sync before t), never negative.
func (s *Session) deviceUS(t time.Time) uint64 {
	d := t.Sub(s.vbase)
	if d <= 0 {
		return 0
	}
	return uint64((d + time.Microsecond - 1) / time.Microsecond)
}

// attachClock puts the session on the virtual clock of device id, whose
// HELLO said now_us, and advances the clock to it: what fell due by then
// (the end of a link-drop fault, a scenario's first steps) happens before
// the device is registered.
//
// A device that booted again (its time restarts at 0) finds the clock
// where the previous boot left it: Config.VirtualClock rebases it, so its
// timers are set from its new time.
func (s *Session) attachClock(id string, nowUS uint64) error {
	if _, ok := s.deviceTime(nowUS); !ok {
		return protoErr("HELLO now_us %d is out of range", nowUS)
	}
	if s.cfg.VirtualClock != nil {
		s.vc, s.vbase = s.cfg.VirtualClock(id, nowUS)
	} else {
		s.vbase = s.cfg.Now()
		s.vc = vclock.NewVirtual(s.vbase)
	}
	s.clock = s.vc
	s.out.setClock(s.vc)
	t, _ := s.deviceTime(nowUS)
	return s.vc.AdvanceTo(s.ctx, t)
}

// handleSync advances the device's clock to a CONTROL SYNC's now_us and
// hands the SYNC to the syncer, which answers it once no hold is in force.
//
// It runs in the session's reader: the frames the device sent after the
// SYNC are read once the clock is at its now_us, so the work they ask for
// is dated then (a request's timeout, the latency of its answer), however
// long before the SYNC the device last synced.
//
// AdvanceTo waits for the holds in force before each timer it fires and
// before it reaches now_us, while the reader reads nothing; that cannot
// deadlock because no hold waits for a frame from the device — each is
// released by work that needs only the upstream, the store or the clock:
//   - an HTTP request or config fetch (startRequestLocked): released once
//     its answer is queued (runRequest, runConfigFetch), which never waits
//     for the device's credit; the request's context ends at the latest
//     with its wall-clock safety net or the session's end. An http-delay
//     wait lends the hold (faults.WrapTransport), and the deadline's hold
//     (vtimeout.take) is released with the request's;
//   - an MQTT request (mqttRequestLocked): released when the bridge's
//     result item is queued (a broker callback), or when the channel
//     stops; an mqtt-delay stream lends it while it waits on the clock;
//   - the MQTT resumed hold (mqttCreditLocked): taken with a CREDIT that
//     empties the channel's queue while a refused message waits in the
//     bridge, which Resume makes offer it again at once; released when
//     OnMessage takes or refuses it (it does not wait for further
//     credit), when the broker session ends or the channel stops;
//   - a LOG line: released with its LOGACK, queued once the store took it
//     (runLogs retries on the wall clock until then or the session ends);
//     HELLO's: released once runLogs has queued CONTROL LOGGING;
//   - a timer's own work (a scenario step, the deadline of a request): a
//     timer's callback runs in this AdvanceTo and what it holds is
//     released by a goroutine that does not read the link.
//
// A link that ends while the reader waits (Close, a fault dropping it, the
// keep-alive) ends the wait: the session then ends and releases its holds.
func (s *Session) handleSync(f *link.Frame) error {
	if s.vc == nil {
		return protoErr("CONTROL SYNC from a device whose HELLO did not say its clock is virtual")
	}
	t, ok := s.deviceTime(f.NowUS)
	if !ok {
		return protoErr("CONTROL SYNC now_us %d is out of range", f.NowUS)
	}
	if err := s.advanceReading(t); err != nil {
		return err
	}
	select {
	case s.syncs <- syncReq{seq: f.Seq, nowUS: f.NowUS}:
		return nil
	default:
		return protoErr("more than %d CONTROL SYNC unanswered", maxSyncsQueued)
	}
}

// advanceReading advances the device's clock to t for the reader, until
// the link or the session ends (the link's error then).
func (s *Session) advanceReading(t time.Time) error {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		select {
		case <-s.conn.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.vc.AdvanceTo(ctx, t); err != nil {
		if lerr := s.conn.Err(); lerr != nil {
			return s.recvErr(lerr)
		}
		return err
	}
	return nil
}

// runSyncer answers the device's SYNCs in order until ctx ends: the
// reader has advanced the clock to each one's time (handleSync); the
// syncer waits for the holds and answers. It is counted in s.reqs.
func (s *Session) runSyncer(ctx context.Context) {
	defer s.reqs.Done()
	for {
		var r syncReq
		select {
		case <-ctx.Done():
			return
		case r = <-s.syncs:
		}
		t, _ := s.deviceTime(r.nowUS) // checked by handleSync
		if s.vc.AdvanceTo(ctx, t) != nil || s.vc.WaitIdle(ctx) != nil {
			return
		}
		next := link.NoDeadline
		if at, ok := s.vc.Next(); ok {
			next = s.deviceUS(at)
		}
		s.cfg.Metrics.FrameOut(link.FrameControl)
		// Not delayed by latency: the frames still delayed are in flight.
		s.out.sendNow(link.Frame{Type: link.FrameControl, Kind: link.ControlSynced, Seq: r.seq, NextUS: next})
	}
}

// virtualTimeoutLocked is the context of ch's request on the device's
// virtual clock: it ends at the device's time now+timeout, or after
// timeout of wall time spent outside waits on the device's clock
// (vclock.WithWallNet: a safety net for an upstream that hangs: the
// request holds the clock, so the device's time cannot reach the deadline
// while it runs), or when the channel closes or the session ends.
//
// The device's deadline also holds the clock, from the instant it passes
// until the request's answer is queued (ch.release): the request may be
// waiting on the clock then, having lent its hold (an upstream delay
// fault, vclock.Sleep), and must not lose the race with the SYNC that
// reached the deadline. That hold is taken by a timer at the deadline set
// after the one that ends the context: the clock waits for holds before
// each timer, and a holder waiting for the context must see it end.
func (s *Session) virtualTimeoutLocked(ch *channel, timeout time.Duration) (context.Context, context.CancelFunc) {
	alive, cancelAlive := context.WithCancel(s.reqCtx)
	// The wall deadline under the virtual one: the virtual context then
	// reads context.DeadlineExceeded whichever ends it. It counts the
	// request's wall time in the real world only: not the waits on the
	// device's clock (an http-delay fault), whose wall length depends on
	// how fast the device syncs (rv-cloud #3).
	wall, cancelWall := vclock.WithWallNet(alive, timeout)
	ctx, cancelVirtual := vclock.WithTimeout(wall, s.vc, timeout)
	vt := &vtimeout{alive: alive, deadline: s.vc.Now().Add(timeout), held: ch.release, took: make(chan struct{})}
	stopHold := s.vc.AfterFunc(timeout, func() { vt.take(s) })
	ch.vt = vt
	ch.release = vt.finish
	return ctx, func() {
		// The timers off the device's clock.
		stopHold()
		cancelVirtual()
		cancelWall()
		cancelAlive()
	}
}

// vtimeout is the virtual deadline of a request (virtualTimeoutLocked).
type vtimeout struct {
	alive    context.Context // the request's context without its deadlines
	deadline time.Time       // on the device's clock
	held     func()          // releases the request's own hold
	took     chan struct{}   // closed when the deadline has taken its hold

	mu      sync.Mutex
	done    bool // the request's answer is queued: no hold
	release func()
}

// take holds the clock at the deadline, unless the request is answered.
func (vt *vtimeout) take(s *Session) {
	vt.mu.Lock()
	defer vt.mu.Unlock()
	if !vt.done {
		vt.release = s.hold()
		close(vt.took)
	}
}

// finish releases the request's holds: its answer is queued.
func (vt *vtimeout) finish() {
	vt.mu.Lock()
	vt.done = true
	r := vt.release
	vt.mu.Unlock()
	if r != nil {
		r()
	}
	vt.held()
}

// virtualTimeout is err, the failure of ch's request on the device's
// virtual clock, once the device's time has reached the request's
// deadline if err is its timeout: a request the wall deadline cut
// (virtualTimeoutLocked) fails, as every run sees it, exactly at the
// device's deadline. The caller holds the clock (ch.release).
func (s *Session) virtualTimeout(ch *channel, err error) error {
	vt := ch.vt
	if vt.alive.Err() != nil {
		return err // closed or ended: nobody will see it
	}
	if !s.vc.Now().Before(vt.deadline) {
		if !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return err
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		return err // failed before its deadline
	}
	// Cut by the wall deadline: the request's hold gives way to the
	// deadline's, which the clock takes as it reaches the deadline.
	vt.held()
	select {
	case <-vt.took:
	case <-vt.alive.Done():
	}
	return err
}
