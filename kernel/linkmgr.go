package kernel

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// linkManager keeps the link up while anyone wants it: it dials, says
// HELLO, waits for WELCOME (which sets the wall clock), serves frames until
// the link fails, and redials with jittered exponential backoff — after a
// failed dial and after a lost link alike — or, after the cloud said
// GOAWAY, at once (link/doc.go, "Going away"). On a virtual clock the
// waits before a redial are the host's timers (virtual.go).
func (k *Kernel) linkManager() {
	defer close(k.done)
	var report linkReporter
	b := k.newRedialBackoff()
	for {
		k.mu.Lock()
		want, closed := k.wantLinkLocked(), k.closed
		k.mu.Unlock()
		if closed {
			return
		}
		if !want {
			select {
			case <-k.wake:
			case <-k.ctx.Done():
				return
			}
			continue
		}
		c, welcome, helloUS, err := k.connect()
		if err != nil {
			d := b.next()
			k.log.Debug("link: connect failed", "err", err, "retry_in", d)
			// exec.go: the failure is recorded, and the next dial's timer
			// set, with the application parked: on a virtual clock both
			// happen at the instant the host holds for the dial's outcome.
			leave := k.enter()
			if k.ctx.Err() == nil {
				k.linkError(&report, "cannot reach the cloud: "+stableErrText(err))
			}
			wait := k.redialAfter(d, false)
			leave()
			if !wait() {
				return
			}
			continue
		}
		// exec.go: the application stands still while the link comes up
		// (and its clock, read here, is not moving).
		leave := k.enter()
		upAt := k.mono() // Options.Monotonic: tests control a link's age
		k.mu.Lock()
		if !k.wantLinkLocked() {
			k.mu.Unlock()
			leave()
			c.Close()
			continue
		}
		k.conn = c
		k.vsync.linkUp(helloUS)
		k.setWallTimeLocked(welcome.WallTimeUS)
		k.setAllStatusLocked(abi.NetworkStatusConnected)
		k.linkChangedLocked()
		k.logLinkUpLocked(c)
		k.mu.Unlock()
		k.linkUp(&report)
		leave()
		k.log.Debug("link: up", "device", k.id)
		c.KeepAlive(k.opts.PingInterval, k.opts.IdleTimeout)

		err = k.readLoop(c)
		k.log.Debug("link: down", "err", err)
		leave = k.enter()
		k.mu.Lock()
		lost := k.conn == c
		if lost {
			// A GOAWAY too: the application sees a lost link (channels
			// CONNECTIONTERMINATED, networks CONNECTING until the next).
			k.conn = nil
			c.Close()
			k.lostLocked(abi.ClosureReasonConnectionTerminated)
		}
		closed = k.closed
		k.mu.Unlock()
		age := k.mono() - upAt
		if !lost {
			// The kernel took the link down itself (the last network
			// handle was released): nothing failed, so a later request
			// reconnects at once.
			leave()
			b.reset()
			continue
		}
		if !closed {
			k.linkError(&report, "link lost: "+linkErrText(err))
		}
		// A cloud that drops every link right after WELCOME must not make
		// the device redial in a tight loop: back off as after a failed
		// dial. Only a link that stayed up a while restarts the backoff,
		// and only on such a link is GOAWAY a drain, answered by a quick
		// redial that leaves the backoff as it is (link/doc.go).
		longLived := age >= k.opts.MaxReconnectDelay
		if longLived {
			b.reset()
		}
		var ga *goAwayError
		var wait func() bool
		if longLived && errors.As(err, &ga) {
			wait = k.redialAfter(b.goAway(), true)
		} else {
			wait = k.redialAfter(b.next(), false)
		}
		leave()
		if !wait() {
			return
		}
	}
}

// redialBackoff draws the link manager's redial delays. After each failure
// the delay is drawn uniformly in [ceil/2, ceil] ("equal jitter"), and
// ceil doubles from ReconnectDelay up to MaxReconnectDelay, so devices
// that lost their links together (a cloud restart) spread their redials
// and still back off. After a GOAWAY the delay is drawn in [0,
// ReconnectDelay) and ceil is left alone. Each kernel has its own source,
// seeded from crypto/rand: kernels booted together draw different delays.
// Used only by the link manager's goroutine.
type redialBackoff struct {
	first, max time.Duration // Options.ReconnectDelay, MaxReconnectDelay
	ceil       time.Duration // the next failure's largest delay
	rng        *mrand.Rand
}

func newRedialBackoff(first, max time.Duration, seed [32]byte) *redialBackoff {
	return &redialBackoff{first: first, max: max, ceil: first, rng: mrand.New(mrand.NewChaCha8(seed))}
}

// newRedialBackoff returns the kernel's backoff, seeded from crypto/rand,
// by the test hook, or — Options.Seed, deterministic mode — from the seed
// and the device ID, so that a run redials after the same delays every
// time.
func (k *Kernel) newRedialBackoff() *redialBackoff {
	var seed [32]byte
	if h := backoffHook.Load(); h != nil && h.seed != nil {
		if s, ok := h.seed(k.id); ok {
			return newRedialBackoff(k.opts.ReconnectDelay, k.opts.MaxReconnectDelay, s)
		}
	}
	if k.opts.Seed != nil {
		seed = sha256.Sum256(append(append([]byte("mvnet redial backoff\x00"), k.opts.Seed[:]...), k.id...))
		return newRedialBackoff(k.opts.ReconnectDelay, k.opts.MaxReconnectDelay, seed)
	}
	if _, err := crand.Read(seed[:]); err != nil {
		panic(err) // crypto/rand.Read never fails (Go 1.24)
	}
	return newRedialBackoff(k.opts.ReconnectDelay, k.opts.MaxReconnectDelay, seed)
}

// next draws the delay after a failure and grows the backoff.
func (b *redialBackoff) next() time.Duration {
	lo := b.ceil / 2
	d := lo + time.Duration(b.rng.Int64N(int64(b.ceil-lo)+1))
	b.ceil = min(2*b.ceil, b.max)
	return d
}

// goAway draws the delay after a GOAWAY: in [0, ReconnectDelay).
func (b *redialBackoff) goAway() time.Duration {
	return time.Duration(b.rng.Int64N(int64(b.first)))
}

// reset restarts the backoff: the link was fine.
func (b *redialBackoff) reset() { b.ceil = b.first }

// backoffHooks let tests seed kernels' backoffs and see every delay drawn
// (export_backoff_test.go).
type backoffHooks struct {
	seed  func(deviceID string) ([32]byte, bool)
	drawn func(deviceID string, d time.Duration, goAway bool)
}

var backoffHook atomic.Pointer[backoffHooks]

// goAwayError ends a link whose cloud said GOAWAY.
type goAwayError struct{ reason string }

func (e *goAwayError) Error() string {
	if e.reason == "" {
		return "the cloud node is going away"
	}
	return "the cloud node is going away: " + e.reason
}

// connect dials the cloud and performs the HELLO/WELCOME handshake. On a
// virtual clock HELLO's now_us (returned: the new link's sync state starts
// there) is the instant the dial became due, captured on the
// application's goroutine (dialAtUS): this goroutine must not read the
// machine's clock, which it has not parked, and the instant must not
// depend on when it got here.
func (k *Kernel) connect() (*link.Conn, link.Frame, uint64, error) {
	ctx, cancel := context.WithTimeout(k.ctx, k.opts.HandshakeTimeout)
	defer cancel()
	nc, err := k.dial(ctx)
	if err != nil {
		return nil, link.Frame{}, 0, fmt.Errorf("dial: %w", err)
	}
	c := link.NewConn(nc)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	hello := link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: k.id}
	var helloUS uint64
	if k.opts.VirtualClock {
		// link/doc.go, Virtual time: the cloud's clock for this device
		// starts at (or moves to) the device's time.
		k.mu.Lock()
		helloUS = k.dialAtUS
		k.mu.Unlock()
		hello.Flags, hello.NowUS = link.HelloVirtualClock, helloUS
	}
	if err := c.Send(&hello); err != nil {
		c.Close()
		return nil, link.Frame{}, 0, fmt.Errorf("hello: %w", err)
	}
	f, err := c.Recv()
	if err != nil {
		c.Close()
		return nil, link.Frame{}, 0, fmt.Errorf("waiting for welcome: %w", err)
	}
	switch {
	case f.Type == link.FrameControl && f.Kind == link.ControlError:
		c.Close()
		return nil, link.Frame{}, 0, fmt.Errorf("cloud refused the link: %s", f.Payload)
	case f.Type != link.FrameWelcome:
		c.Close()
		return nil, link.Frame{}, 0, fmt.Errorf("expected WELCOME, got frame type %d", f.Type)
	case f.Version != link.Version:
		c.Close()
		return nil, link.Frame{}, 0, fmt.Errorf("cloud speaks link version %d, want %d", f.Version, link.Version)
	}
	if !stop() {
		// The handshake deadline fired as we finished: the conn is closed.
		return nil, link.Frame{}, 0, errors.New("handshake timed out")
	}
	return c, f, helloUS, nil
}

// readLoop serves frames from the cloud until the link fails or is replaced.
func (k *Kernel) readLoop(c *link.Conn) error {
	for {
		f, err := c.Recv()
		if err != nil && !errors.Is(err, link.ErrMalformed) {
			return err
		}
		if err == nil {
			leave := func() {}
			if touchesApplication(&f) {
				leave = k.enter()
			}
			err = k.handleFrame(c, &f)
			leave()
			if err == nil && f.Type == link.FrameControl && f.Kind == link.ControlDiag && f.Payload != nil {
				k.emit(Event{Kind: EventDiagnostic, Channel: f.Chan, Text: string(f.Payload)})
			}
		}
		if err != nil {
			if errors.Is(err, errStale) {
				return nil
			}
			var ga *goAwayError
			if errors.As(err, &ga) {
				return err // not a protocol error: no CONTROL ERROR
			}
			// link/doc.go: say why (CONTROL ERROR), then close. Flush so the
			// frame is written before the caller closes the link; bounded,
			// since a peer that broke the protocol may not be reading.
			_ = c.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlError, Payload: []byte(err.Error())})
			ctx, cancel := context.WithTimeout(k.ctx, errorFlushTimeout)
			_ = c.Flush(ctx)
			cancel()
			return err
		}
	}
}

var errStale = errors.New("link replaced")

// touchesApplication reports whether handling f may change what the
// application sees (its memory, an IRQ, an event, a later call's result),
// so that the reader must park it first (enter). PING and PONG change
// nothing of it: the reader answers them even while the machine does not
// run its queue — stopped at a debugger's breakpoint, say — so that the
// link's keep-alive holds.
func touchesApplication(f *link.Frame) bool { return !keepAlive(f) }

// keepAlive reports whether f is PING or PONG.
func keepAlive(f *link.Frame) bool {
	return f.Type == link.FrameControl && (f.Kind == link.ControlPing || f.Kind == link.ControlPong)
}

// linkErrText describes why a link that was up ended.
func linkErrText(err error) string {
	switch {
	case err == nil:
		return "closed"
	case errors.Is(err, io.EOF):
		return "the cloud closed the link"
	}
	return stableErrText(err)
}

// stableErrText is err's text without the device's local address, which
// names a fresh ephemeral port on every dial ("read tcp
// 127.0.0.1:54022->127.0.0.1:7000: connection reset by peer"): the link
// error is reported once, then on change, so the text must not change
// while the cause does not.
func stableErrText(err error) string {
	text := err.Error()
	var op *net.OpError
	if errors.As(err, &op) && op.Source != nil {
		bare := *op
		bare.Source = nil
		text = strings.Replace(text, op.Error(), bare.Error(), 1)
	}
	return text
}

// maxKeptScratch is the largest encode buffer the kernel keeps between
// calls.
const maxKeptScratch = 64 << 10

// errorFlushTimeout bounds the wait for a CONTROL ERROR to be written.
const errorFlushTimeout = time.Second

func (k *Kernel) handleFrame(c *link.Conn, f *link.Frame) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conn != c {
		return errStale
	}
	switch f.Type {
	case link.FrameData:
		return k.onDataLocked(c, f)
	case link.FrameCredit:
		return k.onCreditLocked(c, f)
	case link.FrameClose:
		if ch, ok := k.chans[f.Chan]; ok && ch.conn == c {
			// mvGetChannelClosureReason reports an MvClosureReason: a CLOSE
			// without one (NONE) or with a value outside the enum is
			// reported as UNEXPECTEDLYTERMINATED ("the reason is unknown").
			reason := abi.ClosureReason(f.Reason)
			if reason == abi.ClosureReasonNone || reason > abi.ClosureReasonUnexpectedlyTerminated {
				reason = abi.ClosureReasonUnexpectedlyTerminated
			}
			k.disconnectLocked(ch, reason, false)
		}
	case link.FrameTime:
		k.setWallTimeLocked(f.WallTimeUS)
	case link.FrameControl:
		switch f.Kind {
		case link.ControlPing:
			k.sendLocked(c, &link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
		case link.ControlError:
			return fmt.Errorf("cloud reported an error: %s", f.Payload)
		case link.ControlUpdate:
			k.updateDownloadedLocked()
		case link.ControlLogAck:
			k.logAckLocked(f.Seq)
		case link.ControlLogging:
			k.logs.disabled = !f.Logging
		case link.ControlDiag:
			if !k.diagLocked(c, f) {
				f.Payload = nil // nothing to report: the channel is gone
			}
		case link.ControlGoAway:
			return &goAwayError{reason: string(f.Payload)}
		case link.ControlSynced:
			return k.syncedLocked(f)
		}
	default:
		return fmt.Errorf("unexpected frame type %d from the cloud", f.Type)
	}
	return nil
}

// onDataLocked writes channel data into the channel's receive ring.
func (k *Kernel) onDataLocked(c *link.Conn, f *link.Frame) error {
	ch, ok := k.chans[f.Chan]
	if !ok || ch.conn != c {
		// Closed by the application while the data was in flight.
		return nil
	}
	n := uint64(len(f.Payload))
	if ch.rxWrite-ch.rxRead+n > uint64(ch.rxLen) {
		return fmt.Errorf("channel %#x: %d bytes of data beyond the receive window", ch.h, n)
	}
	switch ch.typ {
	case abi.ChannelTypeHTTP:
		return k.onHTTPDataLocked(ch, f.Payload)
	case abi.ChannelTypeMQTT:
		return k.onMQTTDataLocked(ch, f.Payload)
	case abi.ChannelTypeConfigFetch:
		return k.onConfigDataLocked(ch, f.Payload)
	}
	k.ringWriteLocked(ch, f.Payload)
	k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelDataReadable)
	return nil
}

// ringWriteLocked appends p to the receive ring, wrapping at its end.
func (k *Kernel) ringWriteLocked(ch *channel, p []byte) {
	k.ringWrite(ch.rx, ch.rxLen, ch.rxWrite, p)
	ch.rxWrite += uint64(len(p))
}

// onHTTPDataLocked collects an HTTP response in the receive ring (it always
// starts at the ring's start: one request per channel) and, once whole,
// indexes it and notifies the application.
func (k *Kernel) onHTTPDataLocked(ch *channel, p []byte) error {
	if ch.resp != nil || !ch.reqSent {
		return fmt.Errorf("channel %#x: unexpected HTTP data", ch.h)
	}
	k.collectResponseLocked(ch, p, link.HTTPResponseFixedLen, "HTTP", func(buf []byte) error {
		idx, err := link.IndexHTTPResponse(buf)
		if err == nil {
			ch.respIdx = idx
			ch.resp = &ch.respIdx
		}
		return err
	})
	return nil
}

// collectResponseLocked appends p, data of the response to a channel's one
// request, to the receive ring, where the response starts at the ring's
// start. Once it is whole, index indexes it (and keeps the index) and the
// application is notified. A length prefix below fixedLen or beyond the
// ring, or a response index rejects (logged as a malformed what response),
// disconnects the channel with UNEXPECTEDLYTERMINATED.
func (k *Kernel) collectResponseLocked(ch *channel, p []byte, fixedLen uint64, what string, index func(buf []byte) error) {
	k.ringWriteLocked(ch, p)
	if ch.rxWrite < 4 {
		return
	}
	var tb [4]byte
	_ = k.kmem.CopyIn(tb[:], ch.rx)
	total := uint64(binary.LittleEndian.Uint32(tb[:]))
	if total < fixedLen || total > uint64(ch.rxLen) {
		k.disconnectLocked(ch, abi.ClosureReasonUnexpectedlyTerminated, true)
		return
	}
	if ch.rxWrite < total {
		return
	}
	buf := k.scratchLocked(int(total))
	_ = k.kmem.CopyIn(buf, ch.rx)
	if err := index(buf); err != nil {
		k.log.Warn("malformed "+what+" response from the cloud", "channel", ch.h, "err", err)
		k.disconnectLocked(ch, abi.ClosureReasonUnexpectedlyTerminated, true)
		return
	}
	k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelDataReadable)
}

// onCreditLocked frees send-ring space the cloud has consumed.
func (k *Kernel) onCreditLocked(c *link.Conn, f *link.Frame) error {
	ch, ok := k.chans[f.Chan]
	if !ok || ch.conn != c {
		return nil
	}
	if uint64(f.Credit) > ch.txWrite-ch.txAcked {
		return fmt.Errorf("channel %#x: credit %d for %d unacknowledged bytes", ch.h, f.Credit, ch.txWrite-ch.txAcked)
	}
	ch.txAcked += uint64(f.Credit)
	switch ch.typ {
	case abi.ChannelTypeOpaqueBytes:
		k.postLocked(ch.nh, ch.tag, abi.EventTypeChannelDataWriteSpace)
	case abi.ChannelTypeMQTT:
		k.mqttCreditLocked(ch)
	}
	return nil
}

// dropLinkLocked takes the link down deliberately.
func (k *Kernel) dropLinkLocked(reason abi.ClosureReason) {
	c := k.conn
	k.conn = nil
	if c != nil {
		c.Close()
	}
	k.lostLocked(reason)
}

// lostLocked disconnects every channel (received data stays readable) and
// moves the network handles back to CONNECTING.
func (k *Kernel) lostLocked(reason abi.ClosureReason) {
	for _, ch := range k.chans {
		k.disconnectLocked(ch, reason, false)
	}
	k.setAllStatusLocked(abi.NetworkStatusConnecting)
	k.linkChangedLocked()
}

// scratchLocked returns a reusable buffer of n bytes.
func (k *Kernel) scratchLocked(n int) []byte {
	if cap(k.scratch) < n || cap(k.scratch) > maxKeptScratch && n <= maxKeptScratch {
		// Grow to fit; after a large response, shrink back so one big
		// message does not pin memory for the kernel's lifetime.
		k.scratch = make([]byte, n)
	}
	return k.scratch[:n]
}
