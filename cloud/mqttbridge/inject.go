package mqttbridge

import (
	"fmt"
	"strings"
)

// Injected messages.
//
// Inject hands the device a message as if the broker had sent it: it goes
// through the same path as an incoming PUBLISH (OnMessage, flow control,
// the circuit breaker), so the device sees the same items and
// notifications. The broker knows nothing of it: a QoS 1 injected message
// is never acknowledged to the broker (the device's Ack for it is
// ErrUnknownMessage, which the session ignores). The bridge keeps the
// topic filters the broker granted (SUBACK codes below 0x80, removed again
// by an UNSUBSCRIBE the broker answered) to decide whether the session
// would receive a message on a topic.

// CheckInject reports why a message on topic at qos cannot be injected
// (Inject): topic is not a topic name, or qos is not 0 or 1.
func CheckInject(topic string, qos uint8) error {
	if !ValidTopicName(topic) {
		return fmt.Errorf("mqttbridge: inject: %q is not a valid topic name", topic)
	}
	if qos > 1 {
		return fmt.Errorf("mqttbridge: inject: QoS %d (0 or 1; QoS 2 is not supported)", qos)
	}
	return nil
}

// Inject delivers a message on topic to the session if one of its granted
// subscriptions matches the topic, at the lower of qos and the
// subscription's granted QoS (MQTT 5 §3.8.4). It reports whether it was
// delivered; the error is ErrNotConnected when the session is not
// connected, or names an invalid topic or QoS (QoS 2 is not supported).
func (b *Bridge) Inject(topic string, payload []byte, qos uint8) (bool, error) {
	if err := CheckInject(topic, qos); err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st != stConnected {
		return false, ErrNotConnected
	}
	granted, ok := -1, false
	for f, q := range b.subs {
		if MatchTopic(f, topic) {
			granted, ok = max(granted, int(q)), true
		}
	}
	if !ok {
		return false, nil
	}
	q := min(qos, uint8(granted))
	p := append([]byte(nil), payload...)
	b.arrivedLocked(&inMsg{qos: q, msg: Message{ID: b.newMsgIDLocked(), Topic: topic, QoS: q, Payload: p, Size: len(p)}})
	return true, nil
}

// grantedLocked records the filters a SUBACK granted (codes 0, 1, 2).
func (b *Bridge) grantedLocked(filters []string, codes []byte) {
	if b.subs == nil {
		b.subs = make(map[string]byte)
	}
	for k, f := range filters {
		if k < len(codes) && codes[k] < 0x80 {
			b.subs[f] = codes[k]
		}
	}
}

// unsubscribedLocked forgets the filters an UNSUBACK removed (every one
// in 3.1.1, whose UNSUBACK has no codes; those answered below 0x80 in 5).
func (b *Bridge) unsubscribedLocked(filters []string, codes []byte) {
	for k, f := range filters {
		if b.version != 5 || (k < len(codes) && codes[k] < 0x80) {
			delete(b.subs, f)
		}
	}
}

// MatchTopic reports whether the topic filter matches the topic name, as
// MQTT defines it (MQTT 5 §4.7): "+" matches one level, a final "#" the
// parent level and any number below it; a filter starting with a wildcard
// does not match a topic starting with "$"; a shared subscription
// ("$share/GROUP/FILTER") matches as its FILTER.
func MatchTopic(filter, topic string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			filter = f
		}
	}
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for k, f := range fl {
		if f == "#" {
			return k == len(fl)-1
		}
		if k >= len(tl) || (f != "+" && f != tl[k]) {
			return false
		}
	}
	return len(fl) == len(tl)
}
