package mqttbridge

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
)

// request is a request the broker has yet to answer, or one waiting to be
// written.
type request struct {
	kind Kind
	corr uint32
	seq  uint64 // issue order, to fail requests in order
	pid  uint16
	n    int // topics, for a 3.1.1 UNSUBACK
	// filters are a subscribe's or unsubscribe's topic filters (inject.go).
	filters []string
	pk      *packets.Packet // a QoS 1 publish waiting for a Receive Maximum slot
}

// outPacket is an encoded packet for the writer.
type outPacket struct {
	b   []byte
	req *request // a QoS 0 publish or the disconnect: completes when written
}

// Subscribe subscribes to subs; the Result (KindSubscribe, corr) carries
// the SUBACK's codes, one per subscription.
func (b *Bridge) Subscribe(corr uint32, subs []Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fail := func(st abi.MQTTRequestState, err error) {
		b.resultLocked(Result{Kind: KindSubscribe, Corr: corr, State: st, Err: err})
	}
	if err := b.checkSubscriptions(subs); err != nil {
		fail(abi.MQTTRequestStateInvalidParameters, err)
		return
	}
	if b.st != stConnected {
		fail(abi.MQTTRequestStateNotConnected, ErrNotConnected)
		return
	}
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, // MQTT §3.8.1: flags 0010
		ProtocolVersion: b.version,
	}
	var filters []string
	for _, s := range subs {
		filters = append(filters, s.Topic)
		pk.Filters = append(pk.Filters, packets.Subscription{
			Filter:            s.Topic,
			Qos:               s.QoS,
			NoLocal:           s.NoLocal,
			RetainAsPublished: s.RetainAsPublished,
			RetainHandling:    s.RetainHandling,
		})
	}
	b.sendAckedLocked(&request{kind: KindSubscribe, corr: corr, n: len(subs), filters: filters}, pk)
}

// checkSubscriptions validates a subscribe request's subscriptions.
func (b *Bridge) checkSubscriptions(subs []Subscription) error {
	if len(subs) == 0 {
		return errors.New("mqttbridge: subscribe: no subscriptions")
	}
	for i, s := range subs {
		switch {
		case !ValidFilter(s.Topic):
			return fmt.Errorf("mqttbridge: subscribe: topic filter %d (%q) is not valid", i, s.Topic)
		case s.QoS > 1:
			return fmt.Errorf("mqttbridge: subscribe: topic filter %d: QoS %d (QoS 2 is not supported)", i, s.QoS)
		case s.RetainHandling > 2:
			return fmt.Errorf("mqttbridge: subscribe: topic filter %d: retain handling %d (0, 1 or 2)", i, s.RetainHandling)
		case s.NoLocal && strings.HasPrefix(s.Topic, "$share/"):
			return fmt.Errorf("mqttbridge: subscribe: topic filter %d: no-local on a shared subscription (MQTT 5 §3.8.3.1)", i)
		}
	}
	return nil
}

// Unsubscribe unsubscribes from topics; the Result (KindUnsubscribe, corr)
// carries the UNSUBACK's codes, one per topic (zeros in 3.1.1, whose
// UNSUBACK has none).
func (b *Bridge) Unsubscribe(corr uint32, topics []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fail := func(st abi.MQTTRequestState, err error) {
		b.resultLocked(Result{Kind: KindUnsubscribe, Corr: corr, State: st, Err: err})
	}
	if len(topics) == 0 {
		fail(abi.MQTTRequestStateInvalidParameters, errors.New("mqttbridge: unsubscribe: no topics"))
		return
	}
	for i, t := range topics {
		if !ValidFilter(t) {
			fail(abi.MQTTRequestStateInvalidParameters, fmt.Errorf("mqttbridge: unsubscribe: topic filter %d (%q) is not valid", i, t))
			return
		}
	}
	if b.st != stConnected {
		fail(abi.MQTTRequestStateNotConnected, ErrNotConnected)
		return
	}
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Unsubscribe, Qos: 1}, // MQTT §3.10.1: flags 0010
		ProtocolVersion: b.version,
	}
	for _, t := range topics {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: t})
	}
	b.sendAckedLocked(&request{kind: KindUnsubscribe, corr: corr, n: len(topics), filters: topics}, pk)
}

// sendAckedLocked gives r a packet ID and queues pk, whose ack completes r.
func (b *Bridge) sendAckedLocked(r *request, pk *packets.Packet) {
	pid := b.allocPIDLocked()
	if pid == 0 {
		b.resultLocked(Result{Kind: r.kind, Corr: r.corr, State: abi.MQTTRequestStateNotConnected,
			Err: errors.New("mqttbridge: all 65535 packet IDs are in use")})
		return
	}
	pk.PacketID, r.pid = pid, pid
	raw, err := encode(pk)
	if err != nil {
		b.resultLocked(Result{Kind: r.kind, Corr: r.corr, State: abi.MQTTRequestStateInvalidParameters, Err: err})
		return
	}
	if b.limits.maxPacket > 0 && len(raw) > b.limits.maxPacket {
		b.resultLocked(Result{Kind: r.kind, Corr: r.corr, State: abi.MQTTRequestStateInvalidParameters,
			Err: fmt.Errorf("mqttbridge: %v packet of %d bytes exceeds the broker's Maximum Packet Size %d", r.kind, len(raw), b.limits.maxPacket)})
		return
	}
	if r.seq == 0 {
		b.reqSeq++
		r.seq = b.reqSeq
	}
	b.pending[pid] = r
	if r.kind == KindPublish {
		b.inflight++
	}
	b.queueLocked(outPacket{b: raw})
}

// allocPIDLocked returns a packet ID no request is using, 0 if none is free.
func (b *Bridge) allocPIDLocked() uint16 {
	for range 0xFFFF {
		b.nextPID++
		if b.nextPID == 0 {
			b.nextPID = 1
		}
		if _, used := b.pending[b.nextPID]; !used {
			return b.nextPID
		}
	}
	return 0
}

// Publish publishes payload to topic at qos (0 or 1). The Result
// (KindPublish, corr) comes when the broker acknowledges a QoS 1 message
// (Reason: the PUBACK's reason code) or once a QoS 0 message is written.
// payload may be reused when Publish returns.
func (b *Bridge) Publish(corr uint32, topic string, payload []byte, qos uint8, retain bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fail := func(st abi.MQTTRequestState, err error) {
		b.resultLocked(Result{Kind: KindPublish, Corr: corr, State: st, Err: err})
	}
	switch {
	case !ValidTopicName(topic):
		fail(abi.MQTTRequestStateInvalidParameters, fmt.Errorf("mqttbridge: publish: topic %q is not a valid topic name", topic))
		return
	case qos > 1:
		fail(abi.MQTTRequestStateInvalidParameters, fmt.Errorf("mqttbridge: publish: QoS %d (QoS 2 is not supported)", qos))
		return
	case b.st != stConnected:
		fail(abi.MQTTRequestStateNotConnected, ErrNotConnected)
		return
	case qos > b.limits.maxQoS:
		fail(abi.MQTTRequestStateInvalidParameters, fmt.Errorf("mqttbridge: publish: QoS %d exceeds the broker's Maximum QoS %d", qos, b.limits.maxQoS))
		return
	case retain && b.limits.noRetain:
		fail(abi.MQTTRequestStateInvalidParameters, errors.New("mqttbridge: publish: the broker does not support retained messages"))
		return
	}
	pk := &packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Publish, Qos: qos, Retain: retain},
		ProtocolVersion: b.version,
		TopicName:       topic,
		Payload:         payload,
	}
	b.reqSeq++
	r := &request{kind: KindPublish, corr: corr, seq: b.reqSeq}
	if qos == 0 {
		raw, err := encode(pk)
		if err == nil && b.limits.maxPacket > 0 && len(raw) > b.limits.maxPacket {
			err = fmt.Errorf("mqttbridge: publish of %d bytes exceeds the broker's Maximum Packet Size %d", len(raw), b.limits.maxPacket)
		}
		if err != nil {
			fail(abi.MQTTRequestStateInvalidParameters, err)
			return
		}
		b.queueLocked(outPacket{b: raw, req: r})
		return
	}
	if b.inflight >= b.limits.receiveMax || len(b.queued) > 0 {
		// MQTT 5 §4.9: no more QoS 1 publishes in flight than the broker's
		// Receive Maximum; the rest wait, in order.
		pk.Payload = bytes.Clone(payload)
		r.pk = pk
		b.queued = append(b.queued, r)
		return
	}
	b.sendAckedLocked(r, pk)
}

// sendQueuedLocked sends queued QoS 1 publishes while there is room.
func (b *Bridge) sendQueuedLocked() {
	for len(b.queued) > 0 && b.inflight < b.limits.receiveMax && b.st == stConnected {
		r := b.queued[0]
		b.queued[0] = nil
		b.queued = b.queued[1:]
		pk := r.pk
		r.pk = nil
		b.sendAckedLocked(r, pk)
	}
}

// Ack acknowledges the QoS 1 message id. Its PUBACK is sent once every
// earlier QoS 1 message has been acknowledged too. Acknowledging a message
// twice before its PUBACK is sent does nothing more.
func (b *Bridge) Ack(id uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != stConnected {
		return ErrNotConnected
	}
	m := b.byID[id]
	if m == nil {
		return ErrUnknownMessage
	}
	m.acked = true
	b.flushAcksLocked()
	return nil
}

// flushAcksLocked queues the PUBACKs (PUBRECs at QoS 2) of the acknowledged
// messages at the head of the arrival order (MQTT 3.1.1 §4.6, 5.0 §4.6).
func (b *Bridge) flushAcksLocked() {
	for len(b.unacked) > 0 && b.unacked[0].acked {
		m := b.unacked[0]
		b.unacked[0] = nil
		b.unacked = b.unacked[1:]
		delete(b.byID, m.msg.ID)
		typ := packets.Puback
		if m.qos == 2 {
			typ = packets.Pubrec
		}
		b.queueControlLocked(typ, m.pid)
	}
}

// queueControlLocked queues a packet that is only a type and a packet ID
// (PUBACK, PUBREC, PUBCOMP), or only a type (PINGREQ).
func (b *Bridge) queueControlLocked(typ byte, pid uint16) {
	raw, err := encode(&packets.Packet{FixedHeader: packets.FixedHeader{Type: typ}, PacketID: pid, ProtocolVersion: b.version})
	if err != nil {
		b.log.Error("encoding MQTT control packet", "type", packetName(typ), "err", err)
		return
	}
	b.queueLocked(outPacket{b: raw})
}

// queueLocked hands p to the writer.
func (b *Bridge) queueLocked(p outPacket) {
	b.out = append(b.out, p)
	b.wcond.Signal()
}

// Disconnect ends the session gracefully: waiting requests complete
// NOTCONNECTED, messages not yet taken are dropped, DISCONNECT is written
// and the connection closed; then the Result (KindDisconnect) is
// REQUESTCOMPLETED, or NOTCONNECTED if there was no connection or it failed
// first.
func (b *Bridge) Disconnect() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != stConnected {
		b.resultLocked(Result{Kind: KindDisconnect, State: abi.MQTTRequestStateNotConnected, Err: ErrNotConnected})
		return
	}
	b.failRequestsLocked(abi.MQTTRequestStateNotConnected, errors.New("mqttbridge: disconnected at the device's request"), false)
	b.dropWaitingLocked()
	b.forgetAcksLocked()
	b.st = stDisconnecting
	pk := &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: b.version}
	raw, _ := encode(pk) // reason 0, normal disconnection: the broker discards the will
	b.reqSeq++
	b.queueLocked(outPacket{b: raw, req: &request{kind: KindDisconnect, seq: b.reqSeq}})
}

// validString reports whether s may be an MQTT UTF-8 string (MQTT 5
// §1.5.4): at most 65535 bytes of UTF-8 without NUL.
func validString(s string) bool {
	return len(s) <= 0xFFFF && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// ValidTopicName reports whether t may be published to: not empty, valid
// UTF-8 without NUL, no wildcards (MQTT 5 §4.7).
func ValidTopicName(t string) bool {
	return t != "" && validString(t) && !strings.ContainsAny(t, "+#")
}

// validFilter reports whether f is a valid topic filter: '#' only as the
// whole last level, '+' only as a whole level (MQTT 5 §4.7.1).
// ValidFilter reports whether f is a valid MQTT topic filter: not empty,
// valid UTF-8 without NUL, + and # whole levels, # only the last
// (MQTT 3.1.1 §4.7.1).
func ValidFilter(f string) bool {
	if f == "" || !validString(f) {
		return false
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return false
		}
		if strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}
