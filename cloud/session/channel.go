package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// channel is the cloud's state for one open channel. Its fields are guarded
// by the session's mu.
type channel struct {
	id             uint32
	typ            uint8
	rxSize, txSize uint32
	toDevice       link.Window // DATA the cloud may still send (device's rx ring)
	fromDevice     link.Window // DATA the device may still send (its tx ring)
	pending        []byte      // for the device, waiting for its credit

	// HTTP and CONFIGFETCH channels.
	reqBuf    []byte // the request so far
	requested bool   // a whole request arrived; no more DATA allowed
	owed      int    // request bytes not yet granted back (credit.go)
	cancel    context.CancelFunc
	// On a virtual clock (virtual.go): release ends the request's holds
	// on it; vt is a request's virtual deadline, if it has a timeout.
	release func()
	vt      *vtimeout

	// MQTT channels.
	mq *mqttChan
}

// stop cancels the channel's request, if any, and closes its broker
// session.
func (c *channel) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.mq != nil {
		c.mq.stop()
	}
}

func (s *Session) handleOpen(f *link.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.chans[f.Chan]; old != nil {
		// The device believes it opened a new channel, the cloud has one
		// with this handle: neither can be trusted.
		s.log.Debug("OPEN for a channel already open", "chan", f.Chan)
		s.closeChannelLocked(old, abi.ClosureReasonUnexpectedlyTerminated)
		return
	}
	s.untombLocked(f.Chan)
	if rule := s.openRuleLocked(f); rule != "" {
		s.log.Debug("OPEN refused", "chan", f.Chan, "type", f.ChanType, "rx", f.RxSize, "tx", f.TxSize, "rule", rule)
		s.tombLocked(f.Chan)
		s.send(link.Frame{Type: link.FrameClose, Chan: f.Chan, Reason: uint8(abi.ClosureReasonUnexpectedlyTerminated)})
		return
	}
	// The endpoint is not checked: the kernel refuses a non-empty one
	// (spec/abi.md: "Endpoint must be empty").
	ch := &channel{id: f.Chan, typ: f.ChanType, rxSize: f.RxSize, txSize: f.TxSize}
	ch.toDevice.Init(int(f.RxSize))
	ch.fromDevice.Init(int(f.TxSize))
	if abi.ChannelType(f.ChanType) == abi.ChannelTypeMQTT {
		if err := s.openMQTTLocked(ch); err != nil {
			s.log.Error("MQTT channel refused", "chan", f.Chan, "err", err)
			s.tombLocked(f.Chan)
			s.send(link.Frame{Type: link.FrameClose, Chan: f.Chan, Reason: uint8(abi.ClosureReasonUnexpectedlyTerminated)})
			return
		}
	}
	s.chans[f.Chan] = ch
	if s.debugging() {
		s.log.Debug("channel opened", "chan", f.Chan, "type", f.ChanType, "rx", f.RxSize, "tx", f.TxSize)
	}
}

// openRuleLocked returns the rule an OPEN breaks (see the package doc), or
// "" if the channel may open.
func (s *Session) openRuleLocked(f *link.Frame) string {
	t := abi.ChannelType(f.ChanType)
	switch {
	case t == abi.ChannelTypeOpaqueBytes:
	case t == abi.ChannelTypeHTTP && s.cfg.HTTP != nil:
	case t == abi.ChannelTypeMQTT && s.cfg.MQTT != nil:
	case t == abi.ChannelTypeConfigFetch:
	default:
		// Unknown types never.
		return "channel type not served"
	}
	ringed := t == abi.ChannelTypeHTTP || t == abi.ChannelTypeMQTT || t == abi.ChannelTypeConfigFetch
	switch {
	case f.RxSize == 0 || f.TxSize == 0:
		return "buffer sizes must not be 0"
	case f.TxSize%ChannelBufferUnit != 0:
		return fmt.Sprintf("send buffer size must be a multiple of %d", ChannelBufferUnit)
	case ringed && f.RxSize%ChannelBufferUnit != 0:
		return fmt.Sprintf("receive buffer size must be a multiple of %d on %v channels", ChannelBufferUnit, t)
	case uint64(f.RxSize) > uint64(s.cfg.MaxChannelBuffer) || uint64(f.TxSize) > uint64(s.cfg.MaxChannelBuffer):
		return fmt.Sprintf("buffer sizes must be at most %d bytes (MaxChannelBuffer)", s.cfg.MaxChannelBuffer)
	case len(s.chans) >= MaxChannels:
		return fmt.Sprintf("at most %d channels open at once", MaxChannels)
	}
	return ""
}

func (s *Session) handleData(f *link.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans[f.Chan]
	if ch == nil {
		if s.tombedLocked(f.Chan) {
			return nil
		}
		return protoErr("DATA for channel %#x, which is not open", f.Chan)
	}
	if err := ch.fromDevice.Consume(len(f.Payload)); err != nil {
		return protoErr("DATA on channel %#x: %v", f.Chan, err)
	}
	switch abi.ChannelType(ch.typ) {
	case abi.ChannelTypeOpaqueBytes:
		ch.pending = append(ch.pending, f.Payload...)
		s.flushLocked(ch)
	case abi.ChannelTypeHTTP:
		s.httpDataLocked(ch, f.Payload)
	case abi.ChannelTypeMQTT:
		s.mqttDataLocked(ch, f.Payload)
	case abi.ChannelTypeConfigFetch:
		s.configDataLocked(ch, f.Payload)
	}
	return nil
}

func (s *Session) handleCredit(f *link.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans[f.Chan]
	if ch == nil {
		if s.tombedLocked(f.Chan) {
			return nil
		}
		return protoErr("CREDIT for channel %#x, which is not open", f.Chan)
	}
	if err := ch.toDevice.Grant(int(f.Credit)); err != nil {
		return protoErr("CREDIT of %d bytes on channel %#x: %v", f.Credit, f.Chan, err)
	}
	s.flushLocked(ch)
	if ch.mq != nil {
		s.mqttCreditLocked(ch)
	}
	return nil
}

// handleClose forgets a channel the device closed; nothing is sent back.
func (s *Session) handleClose(f *link.Frame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans[f.Chan]
	if ch == nil {
		// Crossed a CLOSE from the cloud, or never opened: nothing to do.
		s.untombLocked(f.Chan)
		return
	}
	ch.stop()
	s.forgetCreditLocked(ch)
	delete(s.chans, f.Chan)
	if s.debugging() {
		s.log.Debug("channel closed by device", "chan", f.Chan, "reason", f.Reason)
	}
}

// flushLocked sends as much of ch.pending as the device's credit allows, in
// DATA frames of at most maxDataChunk bytes. On an OPAQUEBYTES (echo)
// channel the echoed bytes are then granted back to the device with CREDIT,
// so a device that never reads ends up blocking its own writes.
func (s *Session) flushLocked(ch *channel) {
	sent := 0
	for len(ch.pending) > 0 {
		n := ch.toDevice.Take(min(len(ch.pending), maxDataChunk))
		if n == 0 {
			break
		}
		// The frame keeps ch.pending[:n]; later appends only write past it.
		s.send(link.Frame{Type: link.FrameData, Chan: ch.id, Payload: ch.pending[:n:n]})
		ch.pending = ch.pending[n:]
		sent += n
	}
	if len(ch.pending) == 0 {
		ch.pending = nil
	}
	if sent > 0 && abi.ChannelType(ch.typ) == abi.ChannelTypeOpaqueBytes {
		s.grantLocked(ch, sent)
	}
}

// grantLocked gives the device n bytes of credit back.
func (s *Session) grantLocked(ch *channel, n int) {
	if err := ch.fromDevice.Grant(n); err != nil {
		// Cannot happen: the cloud grants only bytes it received.
		s.log.Error("granting credit", "chan", ch.id, "err", err)
		return
	}
	s.send(link.Frame{Type: link.FrameCredit, Chan: ch.id, Credit: uint32(n)})
}

// httpDataLocked accumulates an HTTP channel's request and starts it once
// whole. A malformed request, bytes after it, a second request, or a
// request that cannot complete within the device's send ring close the
// channel with UNEXPECTEDLYTERMINATED.
func (s *Session) httpDataLocked(ch *channel, p []byte) {
	req, n, ok, err := collectRequestLocked(s, ch, p, "HTTP", link.ParseHTTPRequest)
	if !ok {
		return
	}
	if err != nil || n != len(ch.reqBuf) {
		s.log.Debug("malformed HTTP request", "chan", ch.id, "err", err, "used", n, "have", len(ch.reqBuf))
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		return
	}
	s.observeLocked(Observation{Kind: ObserveHTTPRequest, Method: req.Method, URL: req.URL})
	// The request's own timeout, from now: Perform then needs no
	// context of its own.
	ctx := s.startRequestLocked(ch, n, time.Duration(req.TimeoutMS)*time.Millisecond)
	s.goRequest(ctx, ch, &req)
}

// collectRequestLocked appends p to the request of ch, a channel that
// carries one request (what, in logs), and parses what has arrived with
// parse. ok is false when there is nothing more to do now: the request is
// still short, or ch has been closed with UNEXPECTEDLYTERMINATED for DATA
// after the request or a request that cannot complete within the device's
// send ring. Otherwise the caller validates req, n and err.
func collectRequestLocked[R any](s *Session, ch *channel, p []byte, what string,
	parse func([]byte) (R, int, error)) (req R, n int, ok bool, err error) {
	if ch.requested {
		s.log.Debug("DATA after the "+what+" request", "chan", ch.id)
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		return req, 0, false, nil
	}
	if len(ch.reqBuf) == 0 {
		// The usual case, a request in one DATA frame: parse the frame's
		// own bytes (Recv's, not shared) instead of a copy. The cap stops
		// a later append from writing into them.
		ch.reqBuf = p[:len(p):len(p)]
	} else {
		ch.reqBuf = append(ch.reqBuf, p...)
	}
	req, n, err = parse(ch.reqBuf)
	if errors.Is(err, link.ErrShort) {
		if ch.fromDevice.Available() == 0 {
			s.log.Debug(what+" request larger than the send ring", "chan", ch.id, "have", len(ch.reqBuf))
			s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		}
		return req, n, false, err
	}
	return req, n, true, err
}

// startRequestLocked accepts ch's whole request, n bytes: it owes them
// back to the device (credit.go), holds the device's clock until the
// request's goroutine releases ch.release (virtual.go) and returns the
// context the request runs under, cancelled through ch.cancel and, if
// timeout > 0, after timeout (on a virtual clock: the device's timeout,
// or the same on the wall clock, whichever is first). The caller starts
// the request's goroutine, already counted in s.reqs.
func (s *Session) startRequestLocked(ch *channel, n int, timeout time.Duration) context.Context {
	ch.requested = true
	ch.reqBuf = nil
	s.oweCreditLocked(ch, n)
	var held *vclock.Token
	held, ch.release = s.holdToken()
	var ctx context.Context
	var cancel context.CancelFunc
	switch {
	case timeout <= 0:
		ctx, cancel = context.WithCancel(s.reqCtx)
	case s.vc == nil:
		ctx, cancel = context.WithTimeout(s.reqCtx, timeout)
	default:
		ctx, cancel = s.virtualTimeoutLocked(ch, timeout)
	}
	if held != nil {
		// The request's hold, by name, for an upstream delay to lend
		// (faults.WrapTransport).
		ctx = vclock.WithHolds(ctx, held)
	}
	ch.cancel = cancel
	s.reqs.Add(1)
	return ctx
}

// runRequest performs an HTTP channel's request and queues the response.
func (s *Session) runRequest(ctx context.Context, ch *channel, req *link.HTTPRequest) {
	defer s.reqs.Done()
	defer ch.release() // after the response is queued
	start := time.Now()
	resp, err := s.cfg.HTTP.Perform(ctx, req, ch.rxSize)
	if err != nil && ch.vt != nil {
		err = s.virtualTimeout(ch, err)
	}
	s.cfg.Metrics.HTTPRequest(abi.HTTPResult(resp.Result), time.Since(start))
	if s.debugging() {
		s.log.Debug("HTTP request done", "chan", ch.id, "method", req.Method, "url", req.URL,
			"result", resp.Result, "status", resp.StatusCode, "err", err)
	}
	enc := link.AppendHTTPResponse(make([]byte, 0, link.HTTPResponseSize(&resp)), &resp)
	// Hold the link while the CREDIT and the response are queued, so that
	// both leave in one write (credit.go); Release, deferred first, runs
	// after s.mu is unlocked and writes them in this goroutine.
	s.conn.Hold()
	defer s.conn.Release()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch.stop() // release the request's context
	if s.ended || s.chans[ch.id] != ch {
		return // closed meanwhile: the response goes nowhere
	}
	s.payCreditLocked(ch) // in the same write as what follows
	if err != nil {
		s.diagLocked(ch, "HTTP request failed", err)
	}
	if len(enc) > int(ch.rxSize) {
		// Even a bare RESPONSETOOLARGE does not fit: the ring is tiny.
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
		return
	}
	ch.pending = enc
	s.flushLocked(ch)
	s.answeredLocked(ch)
}

// answeredLocked forgets ch, a request channel (HTTP, CONFIGFETCH) whose
// response has just been queued whole: the device sends no CLOSE for it
// once it has the whole response (link/doc.go, "Channels"), and a CLOSE it
// sent before is for a channel the cloud no longer knows, which is
// ignored. A response still waiting for credit (the device's receive ring
// holds any response the cloud sends, so none does) keeps the channel.
func (s *Session) answeredLocked(ch *channel) {
	if len(ch.pending) > 0 {
		return
	}
	s.forgetCreditLocked(ch)
	delete(s.chans, ch.id)
}

// diagLocked tells the device why its channel's request or connection
// failed (CONTROL DIAG, link/doc.go), before the response that reports the
// failure, and logs it at info level: the application only sees a result
// such as REQUESTFAILED, its developer needs the reason.
func (s *Session) diagLocked(ch *channel, what string, err error) {
	reason := httpexec.Reason(err)
	// The log keeps the full error (resolved addresses included); the
	// device gets the reason, which names only what it asked for.
	s.log.Info(what, "chan", ch.id, "reason", reason, "err", err)
	s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlDiag, Chan: ch.id, Payload: []byte(reason)})
}

// closeChannelLocked closes ch from the cloud's side: cancel its request,
// forget it, remember its handle for frames that cross the CLOSE, and send
// CLOSE with reason.
func (s *Session) closeChannelLocked(ch *channel, reason abi.ClosureReason) {
	ch.stop()
	s.forgetCreditLocked(ch)
	delete(s.chans, ch.id)
	s.tombLocked(ch.id)
	s.send(link.Frame{Type: link.FrameClose, Chan: ch.id, Reason: uint8(reason)})
	s.log.Debug("channel closed by cloud", "chan", ch.id, "reason", reason)
}

func (s *Session) tombLocked(id uint32) {
	s.untombLocked(id)
	if len(s.tombs) == maxTombstones {
		s.tombs = slices.Delete(s.tombs, 0, 1)
	}
	s.tombs = append(s.tombs, id)
}

func (s *Session) untombLocked(id uint32) {
	if i := slices.Index(s.tombs, id); i >= 0 {
		s.tombs = slices.Delete(s.tombs, i, i+1)
	}
}

func (s *Session) tombedLocked(id uint32) bool {
	return slices.Contains(s.tombs, id)
}
