package session

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/link"
)

// MQTT channels.
//
// Each MQTT channel gets one mqttbridge.Bridge: one broker session held on
// the device's behalf. The device's requests (link/mqtt_doc.go) arrive as
// DATA, are parsed as they complete and become bridge calls; their bytes
// are granted back to the device as CREDIT once handed to the bridge
// (held back while more than the receive ring's size of responses waits
// for the device: see mqttGrantLocked). A malformed request, or one that
// cannot complete within the device's send ring, closes the channel with
// UNEXPECTEDLYTERMINATED (the kernel never sends either).
//
// What the bridge reports becomes readable items, written to the device as
// DATA within its credit, in the order the bridge reports them:
//
//   - Results (responses) never wait in the bridge: they queue in the
//     session until the device's receive ring has room. Their number is
//     bounded by the kernel's limits on requests in flight, and for a
//     device that ignores those by the credit the session holds back.
//   - Messages are taken from the bridge only when nothing else waits for
//     the device and the whole item fits the credit now; otherwise the
//     bridge keeps them (OnMessage refuses) and is told to offer them again
//     (Resume) when the device returns credit. Messages thus wait in the
//     bridge, where its circuit breaker sees the backlog.
//   - A message whose item cannot fit the device's whole receive ring — its
//     payload is over the ring's size (the bridge then discards it unread,
//     MaxPayload), or topic and payload together are — becomes an
//     MQTTMessageLost item (reason DEVICERECEIVEBUFFERTOOSMALL, its topic
//     and payload length). A QoS 1 one is acknowledged to the broker by the
//     cloud, since the application never learns its ID. (A topic so long
//     that even the lost-message item would not fit the ring is reported
//     empty.)
//
// The end of the broker session (the bridge's Lost) ends the channel: the
// requests the broker had not answered complete first (NOTCONNECTED, or
// CONNECTIONCIRCUITBREAKER when the circuit breaker cut the session), then
// a DISCONNECTRESPONSE item carries the news (request_state NOTCONNECTED or
// CONNECTIONCIRCUITBREAKER, disconnect_code the reason code of a v5
// DISCONNECT from the broker, else 0), then CLOSE with a reason telling
// what happened:
//
//   - CHANNELCLOSEDBYSERVER: the broker closed the connection (an orderly
//     TCP close, or a v5 DISCONNECT);
//   - CONNECTIONTERMINATED: the connection to the broker failed (reset,
//     keepalive timeout, network error);
//   - CHANNELRESETBYSERVER: the cloud's circuit breaker cut the session.
//
// The CLOSE waits until those items have reached the device (the kernel
// completes requests still waiting at CLOSE as NOTCONNECTED, so a
// CONNECTIONCIRCUITBREAKER must arrive first), but at most
// MQTTConfig.CloseGrace: a device that does not read its receive ring
// gets the CLOSE regardless.
//
// A channel the device closes, or the end of the link, closes the bridge
// abruptly: no DISCONNECT is sent, so the broker publishes the will. A
// failed connect (or one the broker refused) and a completed disconnect
// leave the channel open; the kernel answers later requests itself.

// MQTTConfig configures MQTT channels.
type MQTTConfig struct {
	// Dial connects to brokers. The cloud passes its outbound policy's
	// dialer (httpexec.Executor.DialContext). Default: a plain net.Dialer,
	// no policy.
	Dial mqttbridge.DialFunc
	// Connect, if set, opens broker streams instead of
	// mqttbridge.DialConnector(Dial) (the cloud's fault injection and
	// recording layers).
	Connect mqttbridge.Connector
	// ConnectTimeout bounds a connect: dial, TLS handshake and CONNACK.
	// Default (0) mqttbridge.DefaultConnectTimeout, 30 s.
	ConnectTimeout time.Duration
	// BreakerRate, BreakerBacklog and BreakerBytes configure each
	// bridge's circuit breaker (package mqttbridge): a device may fall
	// behind by BreakerBacklog messages, and beyond that by BreakerRate
	// messages a second, and no more than BreakerBytes of payload may wait
	// for it. Defaults (0): 10 a second, 100 messages, 4 MiB.
	BreakerRate    float64
	BreakerBacklog int
	BreakerBytes   int
	// CloseGrace bounds how long the CLOSE that ends a channel whose broker
	// session ended waits for the device to make room for the responses
	// before it. Default (0) DefaultMQTTCloseGrace.
	CloseGrace time.Duration
	// Plaintext makes a connect without tls_credentials plain TCP
	// (mqttbridge.Options.Plaintext); default TLS.
	Plaintext bool
	// RootCAs verify brokers when a connect names no CA (the cloud passes
	// the system roots plus its extra CAs). Nil: the system roots.
	RootCAs *x509.CertPool
}

// DefaultMQTTCloseGrace is MQTTConfig.CloseGrace's default.
const DefaultMQTTCloseGrace = 10 * time.Second

// mqttChan is the MQTT state of a channel, guarded by the session's mu.
type mqttChan struct {
	b       *mqttbridge.Bridge
	reqBuf  []byte // the start of a request still arriving
	owed    int    // request bytes taken but not yet granted back
	asked   int    // requests handed to the bridge, not yet answered
	blocked bool   // OnMessage refused a message: Resume on credit
	lost    bool   // the broker session ended: CLOSE once pending drains
	reason  abi.ClosureReason
	timer   func() bool // stops the CloseGrace timer, on the device's clock
	stopped bool        // the channel is gone: ignore callbacks
	// Holds on a virtual device clock (virtual.go): one per request
	// handed to the bridge until its result is queued, and resumed from
	// a CREDIT that let the bridge offer a refused message again until it
	// has (OnMessage, or the messages dropped).
	holds   []func()
	resumed func()
}

// stop closes the bridge (abruptly: the broker publishes the will).
func (mq *mqttChan) stop() {
	mq.stopped = true
	if mq.timer != nil {
		mq.timer()
	}
	mq.b.Close()
	for _, r := range mq.holds {
		r()
	}
	mq.holds = nil
	mq.offered()
}

// answered releases the hold of one request handed to the bridge: its
// result is queued.
func (mq *mqttChan) answered() {
	if len(mq.holds) > 0 {
		mq.holds[0]()
		mq.holds = mq.holds[1:]
	}
}

// offered releases the hold of the CREDIT that resumed the bridge.
func (mq *mqttChan) offered() {
	if mq.resumed != nil {
		mq.resumed()
		mq.resumed = nil
	}
}

// openMQTTLocked gives a newly opened MQTT channel its bridge.
func (s *Session) openMQTTLocked(ch *channel) error {
	c := s.cfg.MQTT
	o := mqttbridge.Options{
		Dial:           c.Dial,
		Connect:        c.Connect,
		Context:        devctx.With(context.Background(), s.DeviceID()),
		Logger:         s.log.With("chan", ch.id),
		ConnectTimeout: c.ConnectTimeout,
		// Larger payloads cannot fit the receive ring: the bridge need
		// not keep them.
		MaxPayload:     int(ch.rxSize),
		BreakerRate:    c.BreakerRate,
		BreakerBacklog: c.BreakerBacklog,
		BreakerBytes:   c.BreakerBytes,
		Plaintext:      c.Plaintext,
		RootCAs:        c.RootCAs,
		OnResult:       func(r mqttbridge.Result) { s.mqttResult(ch, r) },
		OnMessage:      func(m mqttbridge.Message) bool { return s.mqttMessage(ch, m) },
		OnLost:         func(l mqttbridge.Lost) { s.mqttLost(ch, l) },
	}
	b, err := mqttbridge.New(o)
	if err != nil {
		return err
	}
	ch.mq = &mqttChan{b: b}
	return nil
}

// liveLocked reports whether ch is still the session's open MQTT channel.
func (s *Session) liveLocked(ch *channel) bool {
	return !s.ended && !ch.mq.stopped && s.chans[ch.id] == ch
}

// mqttDataLocked takes request bytes from the device.
func (s *Session) mqttDataLocked(ch *channel, p []byte) {
	mq := ch.mq
	mq.reqBuf = append(mq.reqBuf, p...)
	used := 0
	for used < len(mq.reqBuf) {
		req, n, err := link.ParseMQTTRequest(mq.reqBuf[used:])
		if errors.Is(err, link.ErrShort) {
			break
		}
		if err != nil {
			s.log.Debug("malformed MQTT request", "chan", ch.id, "err", err)
			s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
			return
		}
		s.mqttRequestLocked(ch, req)
		used += n
		if s.chans[ch.id] != ch {
			return // closed meanwhile
		}
	}
	if used > 0 {
		rest := copy(mq.reqBuf, mq.reqBuf[used:])
		mq.reqBuf = mq.reqBuf[:rest]
		mq.owed += used
		s.mqttGrantLocked(ch)
	}
	// Bytes of a request still arriving are never granted back: if they
	// fill the whole send ring, the request cannot complete.
	if len(mq.reqBuf) >= int(ch.txSize) {
		s.log.Debug("MQTT request larger than the send ring", "chan", ch.id, "have", len(mq.reqBuf))
		s.closeChannelLocked(ch, abi.ClosureReasonUnexpectedlyTerminated)
	}
}

// maxMQTTUnanswered is how many requests a device may have waiting for the
// bridge's answer before the cloud stops granting its send ring back. The
// kernel's limits keep it under 20 (a connect, a subscribe or unsubscribe,
// 16 publishes, a disconnect).
const maxMQTTUnanswered = 64

// mqttGrantLocked grants the device the send-ring bytes of the requests
// handed to the bridge — unless more than the receive ring's size of
// responses waits for the device's credit, or more than maxMQTTUnanswered
// requests wait for their answers. The kernel's limits on requests in
// flight keep a device well under both; one that ignores them is held to
// what its send ring holds, so the cloud's memory stays bounded.
func (s *Session) mqttGrantLocked(ch *channel) {
	mq := ch.mq
	if mq.owed == 0 || len(ch.pending) > int(ch.rxSize) || mq.asked > maxMQTTUnanswered {
		return
	}
	s.grantLocked(ch, mq.owed)
	mq.owed = 0
}

// mqttRequestLocked hands one request to the bridge. Every method but
// Close returns at once; answers come through the callbacks.
func (s *Session) mqttRequestLocked(ch *channel, req link.MQTTRequest) {
	b := ch.mq.b
	s.observeMQTTLocked(req)
	if req.Kind() != link.MQTTAck {
		ch.mq.asked++ // answered exactly once, by a Result
		if s.vc != nil {
			ch.mq.holds = append(ch.mq.holds, s.hold())
		}
	}
	switch r := req.(type) {
	case *link.MQTTConnectRequest:
		b.Connect(connectParams(r))
	case *link.MQTTSubscribeRequest:
		subs := make([]mqttbridge.Subscription, len(r.Subscriptions))
		for i, sub := range r.Subscriptions {
			subs[i] = mqttbridge.Subscription(sub)
		}
		b.Subscribe(r.CorrelationID, subs)
	case *link.MQTTUnsubscribeRequest:
		b.Unsubscribe(r.CorrelationID, r.Topics)
	case *link.MQTTPublishRequest:
		b.Publish(r.CorrelationID, r.Topic, r.Payload, r.QoS, r.Retain)
	case *link.MQTTAckRequest:
		if err := b.Ack(r.MessageID); err != nil {
			// Acknowledged after the session ended, twice, or for a
			// message that needs none: nothing to send.
			s.log.Debug("MQTT acknowledgement not sent", "chan", ch.id, "message_id", r.MessageID, "err", err)
		}
	case *link.MQTTDisconnectRequest:
		b.Disconnect()
		// The messages waiting are dropped: none to resume.
		ch.mq.blocked = false
		ch.mq.offered()
	}
}

// connectParams converts a connect request. Its byte fields alias the
// request buffer, which is reused: they are copied, since the bridge keeps
// them while it connects.
func connectParams(r *link.MQTTConnectRequest) mqttbridge.ConnectParams {
	p := mqttbridge.ConnectParams{
		Version:    abi.MQTTProtocolVersion(r.Protocol),
		Host:       r.Host,
		Port:       r.Port,
		ClientID:   r.ClientID,
		Keepalive:  r.Keepalive,
		CleanStart: r.CleanStart,
		Auth:       abi.MQTTAuthenticationMethod(r.Auth),
		Username:   r.Username,
		Password:   bytes.Clone(r.Password),
	}
	if w := r.Will; w != nil {
		p.Will = &mqttbridge.Will{Topic: w.Topic, Payload: bytes.Clone(w.Payload), QoS: w.QoS, Retain: w.Retain}
	}
	if t := r.TLS; t != nil {
		clone := func(certs [][]byte) [][]byte {
			if certs == nil {
				return nil
			}
			out := make([][]byte, len(certs))
			for i, c := range certs {
				out[i] = bytes.Clone(c)
			}
			return out
		}
		p.TLS = &mqttbridge.Credentials{CACerts: clone(t.CACerts), ClientCerts: clone(t.ClientCerts), Key: bytes.Clone(t.Key)}
	}
	return p
}

// queueItemLocked queues it for the device and sends what the credit
// allows.
func (s *Session) queueItemLocked(ch *channel, it link.MQTTItem) {
	ch.pending = it.Append(ch.pending)
	s.flushLocked(ch)
}

// mqttResult is the bridge's OnResult: the response item for the device.
func (s *Session) mqttResult(ch *channel, r mqttbridge.Result) {
	s.cfg.Metrics.MQTTResult(r.Kind, r.State)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked(ch) {
		return
	}
	// Released once the item is queued (or there is none to queue).
	defer ch.mq.answered()
	ch.mq.asked = max(ch.mq.asked-1, 0)
	if r.Err != nil {
		s.log.Debug("MQTT request failed", "chan", ch.id, "kind", r.Kind, "correlation_id", r.Corr, "state", r.State, "err", r.Err)
		if r.Kind == mqttbridge.KindConnect {
			s.diagLocked(ch, "MQTT connect failed", r.Err)
		}
	}
	state := uint32(r.State)
	if len(r.Reasons) > link.MQTTMaxElements {
		// A broker answering more topics than a request can have (8):
		// the item cannot say so many.
		s.log.Warn("MQTT broker sent too many reason codes", "chan", ch.id, "kind", r.Kind, "codes", len(r.Reasons))
		r.Reasons = r.Reasons[:link.MQTTMaxElements]
	}
	var it link.MQTTItem
	switch r.Kind {
	case mqttbridge.KindConnect:
		it = &link.MQTTConnectResponseItem{RequestState: state, ReasonCode: r.Reason}
	case mqttbridge.KindSubscribe:
		it = &link.MQTTSubscribeResponseItem{RequestState: state, CorrelationID: r.Corr, ReasonCodes: r.Reasons}
	case mqttbridge.KindUnsubscribe:
		it = &link.MQTTUnsubscribeResponseItem{RequestState: state, CorrelationID: r.Corr, ReasonCodes: r.Reasons}
	case mqttbridge.KindPublish:
		it = &link.MQTTPublishResponseItem{RequestState: state, CorrelationID: r.Corr, ReasonCode: r.Reason}
	case mqttbridge.KindDisconnect:
		it = &link.MQTTDisconnectResponseItem{RequestState: state}
	default:
		s.log.Error("unknown MQTT result", "chan", ch.id, "kind", r.Kind)
		return
	}
	s.queueItemLocked(ch, it)
	if !s.mqttMaybeCloseLocked(ch) {
		s.mqttGrantLocked(ch)
	}
}

// mqttMessage is the bridge's OnMessage: the message (or lost-message)
// item for the device if it fits the device's credit now; otherwise false,
// and the bridge keeps the message until Resume.
func (s *Session) mqttMessage(ch *channel, m mqttbridge.Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked(ch) {
		return true // gone: nobody will take it
	}
	mq := ch.mq
	defer mq.offered() // taken or refused: answered at once either way
	var it link.MQTTItem = &link.MQTTMessageItem{MessageID: m.ID, Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain}
	lost := m.Oversize || it.Size() > int(ch.rxSize)
	if lost {
		li := &link.MQTTMessageLostItem{Reason: uint32(abi.MQTTLostMessageReasonDeviceReceiveBufferTooSmall), Topic: m.Topic, MessageLen: uint32(m.Size)}
		if li.Size() > int(ch.rxSize) {
			li.Topic = ""
		}
		it = li
	}
	if len(ch.pending) > 0 || ch.toDevice.Available() < it.Size() {
		mq.blocked = true
		return false
	}
	s.queueItemLocked(ch, it)
	s.cfg.Metrics.MQTTMessage()
	if lost && !m.Oversize && m.QoS > 0 {
		// The application never sees its ID (an Oversize one the bridge
		// has acknowledged itself).
		if err := mq.b.Ack(m.ID); err != nil {
			s.log.Debug("acknowledging a lost MQTT message", "chan", ch.id, "message_id", m.ID, "err", err)
		}
	}
	if lost {
		s.log.Debug("MQTT message too large for the receive buffer", "chan", ch.id, "topic", m.Topic, "size", m.Size, "rx", ch.rxSize)
	}
	return true
}

// mqttLost is the bridge's OnLost: the broker session ended. The news
// follows the failed requests' responses; CLOSE follows the news.
func (s *Session) mqttLost(ch *channel, l mqttbridge.Lost) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked(ch) {
		return
	}
	mq := ch.mq
	// Messages not taken are dropped: none to resume.
	mq.blocked = false
	mq.offered()
	switch {
	case l.State == abi.MQTTRequestStateConnectionCircuitBreaker:
		mq.reason = abi.ClosureReasonChannelResetByServer
	case l.ServerClosed:
		mq.reason = abi.ClosureReasonChannelClosedByServer
	default:
		mq.reason = abi.ClosureReasonConnectionTerminated
	}
	s.log.Debug("MQTT broker session ended", "chan", ch.id, "state", l.State, "server_closed", l.ServerClosed,
		"reason", l.Reason, "closure", mq.reason, "err", l.Err)
	mq.lost = true
	s.queueItemLocked(ch, &link.MQTTDisconnectResponseItem{RequestState: uint32(l.State), DisconnectCode: uint32(l.Reason)})
	if !s.mqttMaybeCloseLocked(ch) {
		grace := s.cfg.MQTT.CloseGrace
		if grace <= 0 {
			grace = DefaultMQTTCloseGrace
		}
		mq.timer = s.clock.AfterFunc(grace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.liveLocked(ch) {
				s.log.Debug("MQTT channel closed before the device read its responses", "chan", ch.id, "waiting", len(ch.pending))
				s.closeChannelLocked(ch, mq.reason)
			}
		})
	}
}

// mqttMaybeCloseLocked closes a channel whose broker session ended once
// everything queued for the device has been sent. It reports whether it
// closed the channel.
func (s *Session) mqttMaybeCloseLocked(ch *channel) bool {
	if !ch.mq.lost || len(ch.pending) > 0 {
		return false
	}
	s.closeChannelLocked(ch, ch.mq.reason)
	return true
}

// mqttCreditLocked follows the device returning credit: a channel whose
// session ended may close now, and refused messages are offered again.
func (s *Session) mqttCreditLocked(ch *channel) {
	mq := ch.mq
	if s.mqttMaybeCloseLocked(ch) {
		return
	}
	s.mqttGrantLocked(ch)
	if mq.blocked && len(ch.pending) == 0 {
		mq.blocked = false
		// Held only while a message will be offered (OnMessage needs
		// s.mu, so the hold is in place before it runs): a hold nothing
		// would release would stop the device's clock for good.
		if mq.b.Resume() && mq.resumed == nil {
			mq.resumed = s.hold()
		}
	}
}

// mqttWaiting is how many incoming messages wait in the bridge for the
// device.
func (c *channel) mqttWaiting() int {
	if c.mq == nil {
		return 0
	}
	return c.mq.b.Stats().Waiting
}

// InjectMQTT hands a message on topic to the session's connected MQTT
// channels whose granted subscriptions match it, as if their brokers had
// sent it (mqttbridge's Bridge.Inject: same items, same notifications; the
// broker never hears of it, so a QoS 1 one is not acknowledged upstream).
// It returns how many channels it reached; an invalid topic or QoS is an
// error.
func (s *Session) InjectMQTT(topic string, payload []byte, qos uint8) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, ch := range s.chans {
		if ch.mq == nil || !s.liveLocked(ch) {
			continue
		}
		ok, err := ch.mq.b.Inject(topic, payload, qos)
		if err != nil && !errors.Is(err, mqttbridge.ErrNotConnected) {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}
