package mqttbridge

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/mvnet/mvnet/abi"
)

// event is a Result or Lost waiting for the dispatcher.
type event struct {
	seq    uint64
	result *Result
	lost   *Lost
}

// inMsg is an incoming message: waiting for OnMessage (in msgs), waiting
// for its acknowledgement (in unacked, QoS ≥ 1), or both.
type inMsg struct {
	seq     uint64 // dispatch order, shared with events
	msg     Message
	pid     uint16
	qos     byte
	acked   bool // Ack called (or Oversize): PUBACK once it reaches the head
	counted bool // in the circuit breaker's excess count
	// release is the stream's release for the packet (PacketHolder),
	// called once OnMessage has been offered it, or it is dropped.
	release func()
}

// released calls m's release, once.
func (m *inMsg) released() {
	if r := m.release; r != nil {
		m.release = nil
		r()
	}
}

// resultLocked queues r for OnResult.
func (b *Bridge) resultLocked(r Result) {
	b.postLocked(event{result: &r})
}

func (b *Bridge) postLocked(e event) {
	if b.closed {
		return
	}
	b.seq++
	e.seq = b.seq
	b.events = append(b.events, e)
	b.dcond.Signal()
}

// dispatch calls the callbacks, one at a time, in the order things
// happened; messages refused by OnMessage wait (with those after them)
// until Resume, results and Lost do not. It runs until Close.
func (b *Bridge) dispatch() {
	for {
		b.mu.Lock()
		for !b.closed && len(b.events) == 0 && (len(b.msgs) == 0 || b.blocked) {
			b.dcond.Wait()
		}
		if b.closed {
			b.mu.Unlock()
			return
		}
		var ev event
		var m *inMsg
		if len(b.events) > 0 && (len(b.msgs) == 0 || b.blocked || b.events[0].seq < b.msgs[0].seq) {
			ev = b.events[0]
			b.events[0] = event{}
			b.events = b.events[1:]
		} else {
			m = b.msgs[0]
		}
		gen := b.resumeGen
		b.mu.Unlock()

		switch {
		case m != nil:
			ok := b.o.OnMessage == nil || b.o.OnMessage(m.msg)
			b.mu.Lock()
			b.offeredLocked(m, ok, gen)
			m.released() // handed on, or waiting for the device's room
			b.mu.Unlock()
		case ev.result != nil:
			if b.o.OnResult != nil {
				b.o.OnResult(*ev.result)
			}
		case ev.lost != nil:
			// Messages received before the loss went first unless OnMessage
			// was refusing them; those are dropped now.
			b.mu.Lock()
			b.dropWaitingLocked()
			b.mu.Unlock()
			if b.o.OnLost != nil {
				b.o.OnLost(*ev.lost)
			}
		}
	}
}

// offeredLocked records OnMessage's answer for m, offered when Resume had
// been called gen times.
func (b *Bridge) offeredLocked(m *inMsg, ok bool, gen uint64) {
	if len(b.msgs) == 0 || b.msgs[0] != m {
		return // discarded meanwhile: the connection ended
	}
	now := time.Now()
	if ok {
		b.msgs[0] = nil
		b.msgs = b.msgs[1:]
		b.waitingBytes -= len(m.msg.Payload)
		b.leakLocked(now)
		if m.counted {
			b.excess = max(0, b.excess-1)
		}
		return
	}
	if gen != b.resumeGen {
		return // Resume came while OnMessage was refusing: offer it again
	}
	b.blocked = true
	if b.st != stConnected {
		return
	}
	// Everything waiting now waits for the device.
	b.leakLocked(now)
	for _, w := range b.msgs {
		if !w.counted {
			w.counted = true
			b.excess++
		}
	}
	b.checkBreakerLocked()
}

// Resume tells the bridge OnMessage may accept messages again (the device's
// receive ring has room): the oldest waiting message is offered again. It
// reports whether a message waits, so OnMessage will be called (unless
// Close comes first, or the end of the connection drops it: then OnLost is
// called); false when none does (Disconnect or the end of the connection
// dropped those refused).
func (b *Bridge) Resume() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resumeGen++
	if b.blocked {
		b.blocked = false
		b.dcond.Signal()
	}
	return !b.closed && len(b.msgs) > 0
}

// arrivedLocked queues a new incoming message for OnMessage.
func (b *Bridge) arrivedLocked(m *inMsg) {
	b.seq++
	m.seq = b.seq
	b.msgs = append(b.msgs, m)
	b.waitingBytes += len(m.msg.Payload)
	if b.blocked {
		b.leakLocked(time.Now())
		m.counted = true
		b.excess++
	}
	b.dcond.Signal()
	b.checkBreakerLocked()
}

// leakLocked lets the excess count leak BreakerRate per second up to now.
func (b *Bridge) leakLocked(now time.Time) {
	if !b.excessAt.IsZero() {
		b.excess = max(0, b.excess-b.o.BreakerRate*now.Sub(b.excessAt).Seconds())
	}
	b.excessAt = now
}

// checkBreakerLocked trips the circuit breaker if the device has fallen
// too far behind (see the package doc).
func (b *Bridge) checkBreakerLocked() {
	if b.excess <= float64(b.o.BreakerBacklog) && b.waitingBytes <= b.o.BreakerBytes {
		return
	}
	err := fmt.Errorf("%w (%d messages, %d bytes waiting; excess %.0f > %d or bytes > %d)",
		ErrCircuitBreaker, len(b.msgs), b.waitingBytes, b.excess, b.o.BreakerBacklog, b.o.BreakerBytes)
	b.log.Info("MQTT circuit breaker tripped", "err", err)
	st := abi.MQTTRequestStateConnectionCircuitBreaker
	b.endLocked(st, &Lost{State: st, Err: err})
}

// endLocked ends the broker connection: requests still waiting complete
// with state st and lost (if any) is reported last. Messages received are
// still offered to OnMessage before lost, except when the circuit breaker
// trips: then they are dropped. No acknowledgement can be sent any more.
func (b *Bridge) endLocked(st abi.MQTTRequestState, lost *Lost) {
	if b.st == stEnded {
		return
	}
	err := ErrNotConnected
	if lost != nil && lost.Err != nil {
		err = lost.Err
	}
	b.failRequestsLocked(st, err, true)
	if st == abi.MQTTRequestStateConnectionCircuitBreaker {
		b.dropWaitingLocked()
	}
	b.forgetAcksLocked()
	b.finishLocked()
	if lost != nil {
		b.postLocked(event{lost: lost})
	}
}

// finishLocked marks the connection over and closes it.
func (b *Bridge) finishLocked() {
	if b.st == stEnded {
		return
	}
	b.st = stEnded
	close(b.endCh)
	if b.conn != nil {
		_ = b.conn.Close()
	}
	b.out, b.writing = nil, nil
	b.wcond.Broadcast()
}

// failRequestsLocked completes every request waiting for the broker — and
// with writer, those waiting to be written too — with state st, in the
// order they were made.
func (b *Bridge) failRequestsLocked(st abi.MQTTRequestState, err error, writer bool) {
	var reqs []*request
	for _, r := range b.pending {
		reqs = append(reqs, r)
	}
	reqs = append(reqs, b.queued...)
	if writer {
		for _, p := range slices.Concat(b.writing, b.out) {
			if p.req != nil {
				reqs = append(reqs, p.req)
			}
		}
		b.out, b.writing = nil, nil
	}
	clear(b.pending)
	b.queued, b.inflight = nil, 0
	slices.SortFunc(reqs, func(x, y *request) int { return cmp.Compare(x.seq, y.seq) })
	for _, r := range reqs {
		rst := st
		if r.kind == KindDisconnect {
			rst = abi.MQTTRequestStateNotConnected
		}
		b.resultLocked(Result{Kind: r.kind, Corr: r.corr, State: rst, Err: err})
	}
}

// dropWaitingLocked drops the messages waiting for OnMessage.
func (b *Bridge) dropWaitingLocked() {
	if n := len(b.msgs); n > 0 {
		b.log.Debug("dropping MQTT messages the device has not taken", "messages", n, "bytes", b.waitingBytes)
	}
	releaseMsgs(b.msgs)
	b.msgs, b.waitingBytes, b.blocked = nil, 0, false
}

// forgetAcksLocked forgets the acknowledgements still owed: they can no
// longer be sent.
func (b *Bridge) forgetAcksLocked() {
	b.unacked = nil
	clear(b.byID)
}

// releaseMsgs calls the releases of msgs (dropped).
func releaseMsgs(msgs []*inMsg) {
	for _, m := range msgs {
		m.released()
	}
}
