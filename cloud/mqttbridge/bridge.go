// Package mqttbridge holds one MQTT broker session on behalf of one device
// MQTT channel: the cloud side of Microvisor's mvMqtt* calls (seed 004, "How
// to Issue MQTT Requests Under Microvisor"). The session layer drives it
// with a typed API and relays what it reports to the device.
//
// # Protocol
//
// MQTT 3.1.1 and 5, chosen per connect. Packets are encoded and decoded by
// the packets package of github.com/mochi-mqtt/server/v2, which speaks both
// versions; the client state machine is this package's: CONNECT/CONNACK,
// SUBSCRIBE/SUBACK, UNSUBSCRIBE/UNSUBACK, PUBLISH at QoS 0 and 1 with packet
// IDs and PUBACK, incoming PUBLISH, PINGREQ/PINGRESP and DISCONNECT. QoS 2 is
// not supported (seed 004: "Microvisor's MQTT implementation does not
// support QoS level 2"): a subscribe, publish or will asking for it is
// answered INVALIDPARAMETERS without contacting the broker. A broker that
// nevertheless delivers at QoS 2 (to a persistent session an earlier client
// subscribed at QoS 2) is served at-least-once: PUBREC once acknowledged,
// PUBCOMP for its PUBREL.
//
// v5 details: a connect with clean_start 0 asks for a session that outlives
// the connection (Session Expiry Interval Options.SessionExpiry, default
// "never", which is what a 3.1.1 persistent session is); subscription
// options nl, rap and rh are sent as given (3.1.1 has no such options and
// ignores them); the broker's Receive Maximum bounds the QoS 1 publishes in
// flight (more wait in the bridge, in order); its Server Keep Alive replaces
// the requested keepalive; a publish over its Maximum QoS, Maximum Packet
// Size or retain support is INVALIDPARAMETERS rather than a protocol error
// that would cost the connection. Topic aliases are never used. QoS 0
// publishes do not wait behind QoS 1 publishes held for a Receive Maximum
// slot: MQTT orders messages per QoS level, and so does Mosquitto.
//
// Topic names and filters are checked before anything is sent (UTF-8
// without NUL, at most 65535 bytes, wildcards only where MQTT allows them;
// no-local not on a shared subscription): a broker answers a malformed one
// by closing the connection, which would end the whole session.
//
// # Requests and results
//
// Every request is answered exactly once, asynchronously, by a Result passed
// to Options.OnResult, in the order things happen: the connect result
// before any message, a SUBACK's result before the retained messages that
// follow it. Results carry the broker's reason codes unchanged: CONNACK (a
// 3.1.1 return code 1–5 as its value, a v5 reason code as it is), one per
// topic for SUBACK and UNSUBACK (3.1.1 UNSUBACK has none: 0 per topic), PUBACK
// (0 in 3.1.1). A QoS 0 publish completes once written to the broker
// connection.
//
// Connect outcomes: invalid parameters or credentials → INVALIDPARAMETERS; a
// DNS failure → NXDOMAIN; the broker's certificate from an authority not in
// the CA chain (or the broker refusing the client certificate's authority)
// → UNKNOWNCA; an expired certificate, the broker's or (as the broker
// reports it) the client's → CERTIFICATEEXPIRED; anything else that stops
// the connection before CONNACK — refused by the outbound policy, connection
// refused, TLS failure, timeout (Options.ConnectTimeout), a broker that
// closes or speaks nonsense — → SOCKETERROR. Otherwise REQUESTCOMPLETED with
// the CONNACK's code; a non-zero code means the broker refused and the
// bridge is not connected. One connect per bridge (a channel gets one):
// another is ALREADYCONNECTED. Requests while not connected are
// NOTCONNECTED.
//
// # TLS
//
// Every connection is TLS 1.2 or later to the host the device named unless
// Options.Plaintext is set and the connect carries no credentials. The
// production service "requires TLS on all connections", trusting a public
// CA list when the application names no CA (issue 9); seed 004 describes
// the plain TCP a connect without credentials gets from a local broker,
// which is therefore an explicit opt-in (Options.Plaintext). The CA chain
// (DER certificates; none means Options.RootCAs: the system roots plus the
// cloud's extra CAs) verifies the broker, and a client certificate chain
// (DER) with its key — PKCS#8, PKCS#1 (RSA) or SEC1 (EC), all DER — is
// presented if given. At most 8 certificates per chain (spec/abi.md,
// "certificates per chain (MQTT)").
//
// A connect without credentials whose TLS handshake fails (a plain-TCP
// broker, an untrusted certificate) is SOCKETERROR — the application named
// no CA, so UNKNOWNCA ("an unknown certificate authority was specified",
// seed 004) does not apply — and its error names the plaintext opt-in.
//
// # Incoming messages and acknowledgements
//
// Each incoming PUBLISH becomes a Message with a bridge-assigned ID (unique
// per bridge, from 1), handed to Options.OnMessage. QoS 1 messages must be
// acknowledged with Ack(ID), in any order; PUBACKs go to the broker strictly
// in the order the messages arrived, as MQTT requires (MQTT 3.1.1 §4.6, 5.0
// §4.6): an acknowledged message waits behind an earlier unacknowledged one.
// A message whose payload exceeds Options.MaxPayload is not kept: it is
// delivered with Oversize set, its Size and no payload (the session reports
// it as lost), and the bridge acknowledges it itself.
//
// # Flow control and the circuit breaker
//
// OnMessage may refuse a message for now (the device's receive ring is
// full): it then waits in the bridge with those behind it until the caller
// calls Resume, when delivery is retried. Results are never held up behind
// refused messages. The circuit breaker bounds what waits: each message that
// has to wait because the device is not taking messages (one arriving while
// OnMessage refuses, or waiting when it starts to refuse) adds one to an
// excess count, each of them taken removes one, and the count leaks
// BreakerRate per second (default 10). When it exceeds BreakerBacklog
// (default 100), or the waiting messages' payloads exceed BreakerBytes
// (default 4 MiB) whatever the count, messages are arriving faster than
// the device drains them: the bridge drops the broker connection (without
// DISCONNECT, so the broker publishes the will), discards what waits,
// completes waiting requests with CONNECTIONCIRCUITBREAKER and reports Lost
// with that state. In short, a device may fall behind by BreakerBacklog
// messages, and beyond that by BreakerRate messages a second.
//
// # Losing the connection
//
// When the broker connection ends other than by Disconnect or Close — the
// broker closes it, sends a v5 DISCONNECT, stops answering PINGREQ, or the
// network fails — every waiting request completes NOTCONNECTED, messages
// received before the end are still offered to OnMessage (those it is
// refusing when the end is reported are dropped; acknowledging any of them
// is ErrNotConnected, and a persistent session gets its QoS 1 ones again on
// the next connection), and then OnLost reports whether the broker closed
// it (ServerClosed, with a v5 DISCONNECT's reason code) or the connection
// failed. Keepalive: the bridge sends PINGREQ when it has written
// nothing, or heard nothing, for the keepalive interval, and gives the
// broker PingTimeout (default: the interval, at most 30 s) to answer —
// not counting the time a stream holds the answer back on a device's
// virtual clock (PacketHolder).
//
// Disconnect ends the session gracefully: waiting requests complete
// NOTCONNECTED, messages not yet taken are dropped, DISCONNECT is written
// (the broker discards the will), and the disconnect's Result follows.
// Close ends it abruptly, as when the device's link drops: the connection
// is closed without DISCONNECT, so the broker publishes the will, and no
// callback starts after Close returns.
//
// # Outbound policy
//
// The bridge dials through Options.Dial. The cloud passes a dialer that
// applies its outbound policy (loopback, private and link-local brokers
// only when allow-listed, Resolve overrides); the default, a plain
// net.Dialer, applies none.
//
// # Callbacks
//
// OnResult, OnMessage and OnLost are called one at a time, from one
// goroutine per bridge, never with the bridge's lock held: they may call the
// bridge's methods. Every method but Close returns without waiting for the
// broker.
//
// # Wiring to an MQTT channel
//
// The link's MQTT channel messages (link/mqtt_doc.go) map onto the API:
// MQTTConnect → Connect (its keepalive is a u16 of seconds), MQTTSubscribe
// → Subscribe, MQTTUnsubscribe → Unsubscribe, MQTTPublish → Publish,
// MQTTAck → Ack, MQTTDisconnect → Disconnect; a Result becomes the
// matching response item, a Message an MQTTMessage item (or an
// MQTTMessageLost item if it is Oversize or does not fit the receive ring —
// the caller then Acks a QoS 1 one itself unless Oversize, since the
// application never sees its ID), OnMessage returns false while the
// channel's credit cannot take the item and Resume is called when credit
// returns; Lost is the news of a disconnect (its State, ServerClosed for
// the closure reason). Close when the channel closes or the link drops.
// Subscription, Will and Credentials have the fields of link's
// MQTTSubscription, MQTTWill and MQTTTLS, in order, so they convert
// directly.
package mqttbridge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
)

// Defaults for Options.
const (
	DefaultConnectTimeout = 30 * time.Second
	DefaultMaxPayload     = 1 << 20
	DefaultBreakerRate    = 10.0
	DefaultBreakerBacklog = 100
	DefaultBreakerBytes   = 4 << 20
	// DefaultSessionExpiry (v5 Session Expiry Interval, seconds) means the
	// session never expires.
	DefaultSessionExpiry = 0xFFFFFFFF
	// MaxChainCerts is the most certificates per chain
	// (spec/abi.md: "certificates per chain (MQTT) | 8").
	MaxChainCerts = 8
	// maxPingTimeout caps the default PingTimeout.
	maxPingTimeout = 30 * time.Second
)

// DialFunc opens a network connection, like net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Connector opens the stream a broker session's MQTT packets travel over:
// it connects to addr ("host:port") and, when conf is not nil, completes a
// TLS handshake with it over that connection. The bridge then writes
// CONNECT and reads CONNACK on the stream it returns. A failed TLS
// handshake is returned as a *HandshakeError (the bridge reports a failed
// implicit-TLS connect differently, see ImplicitTLSError). Layers wrapped
// around the default (Options.Connect) see every broker connection of the
// cloud: fault injection, recording and replay (package scenario).
type Connector func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error)

// HandshakeError is a Connector's failed TLS handshake.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS handshake: " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// DialConnector is the default Connector: dial, then the TLS handshake if
// conf is set. A nil dial is a plain net.Dialer.
func DialConnector(dial DialFunc) Connector {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		conn, err := dial(ctx, "tcp", addr)
		if err != nil || conf == nil {
			return conn, err
		}
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return nil, &HandshakeError{Err: err}
		}
		return tc, nil
	}
}

// Options configure a Bridge.
type Options struct {
	// Dial connects to the broker. Default: a plain net.Dialer, no outbound
	// policy; the cloud passes its policed dialer. Unused when Connect is
	// set.
	Dial DialFunc
	// Connect opens the broker stream (dial and TLS). Default
	// DialConnector(Dial).
	Connect Connector
	// Context is the parent of the contexts the bridge connects with (it
	// may carry the device's ID, package devctx). Default
	// context.Background().
	Context context.Context
	// OnResult receives the answer to every request. Optional.
	OnResult func(Result)
	// OnMessage receives incoming messages in arrival order. It returns
	// false to refuse a message for now: the message and those after it
	// wait until Resume. Nil accepts (and drops) every message.
	OnMessage func(Message) bool
	// OnLost is called once if the broker connection ends other than by
	// Disconnect or Close, after the results of the requests it failed.
	// Optional.
	OnLost func(Lost)
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// ConnectTimeout bounds a connect: dial, TLS handshake and CONNACK.
	// Default 30 s.
	ConnectTimeout time.Duration
	// PingTimeout is how long the broker has to answer PINGREQ before the
	// connection counts as dead. Default: the keepalive interval, at most
	// 30 s.
	PingTimeout time.Duration
	// MaxPayload is the largest payload kept for the device; larger
	// messages are delivered Oversize, without payload. Default 1 MiB (the
	// session's largest receive buffer).
	MaxPayload int
	// SessionExpiry is the v5 Session Expiry Interval, in seconds, sent when
	// clean_start is 0. Default DefaultSessionExpiry (never).
	SessionExpiry uint32
	// BreakerRate, BreakerBacklog and BreakerBytes configure the circuit
	// breaker (see the package doc). Defaults 10 messages a second, 100
	// messages, 4 MiB.
	BreakerRate    float64
	BreakerBacklog int
	BreakerBytes   int
	// Plaintext makes a connect without credentials plain TCP, for local
	// brokers (seed 004). Default false: it is TLS verified against
	// RootCAs, as on the production service (see "TLS" in the package doc).
	Plaintext bool
	// RootCAs verify the broker when a connect names no CA certificate.
	// Nil: the system roots.
	RootCAs *x509.CertPool
}

// ConnectParams are a connect request's parameters (MvMqttConnectRequest).
type ConnectParams struct {
	Version    abi.MQTTProtocolVersion
	Host       string
	Port       uint16
	ClientID   string
	Keepalive  uint16 // seconds; 0 turns keepalive off
	CleanStart bool
	// Auth is NONE or USERNAMEPASSWORD; Username and Password are sent only
	// with USERNAMEPASSWORD.
	Auth     abi.MQTTAuthenticationMethod
	Username string
	Password []byte
	Will     *Will        // optional
	TLS      *Credentials // optional; nil: no client certificate, Options.RootCAs (or plain TCP with Options.Plaintext)
}

// Will is a connect's will message (MvMqttWill).
type Will struct {
	Topic   string
	Payload []byte
	QoS     uint8
	Retain  bool
}

// Credentials are the TLS credentials of a connect (MvTlsCredentials), all
// DER.
type Credentials struct {
	CACerts     [][]byte // certificates that may sign the broker's chain; none: Options.RootCAs
	ClientCerts [][]byte // the client's chain, leaf first; none: no client certificate
	Key         []byte   // the client key: PKCS#8, PKCS#1 or SEC1
}

// Subscription is one topic filter of a subscribe request
// (MvMqttSubscription). NoLocal, RetainAsPublished and RetainHandling are
// v5 options.
type Subscription struct {
	Topic             string
	QoS               uint8
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    uint8 // 0, 1 or 2
}

// Kind names the request a Result answers.
type Kind uint8

// Request kinds.
const (
	KindConnect Kind = iota + 1
	KindSubscribe
	KindUnsubscribe
	KindPublish
	KindDisconnect
)

func (k Kind) String() string {
	switch k {
	case KindConnect:
		return "connect"
	case KindSubscribe:
		return "subscribe"
	case KindUnsubscribe:
		return "unsubscribe"
	case KindPublish:
		return "publish"
	case KindDisconnect:
		return "disconnect"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Result answers one request.
type Result struct {
	Kind  Kind
	Corr  uint32 // the request's correlation ID (subscribe, unsubscribe, publish)
	State abi.MQTTRequestState
	// Reason is the CONNACK code (connect) or PUBACK reason (publish).
	Reason uint32
	// Reasons are the SUBACK or UNSUBACK codes, one per topic in request
	// order, when State is REQUESTCOMPLETED.
	Reasons []uint8
	// Err says why State is not REQUESTCOMPLETED, for logs.
	Err error
}

// Message is an incoming message.
type Message struct {
	ID     uint32 // acknowledge QoS 1 messages with Ack(ID)
	Topic  string
	QoS    uint8
	Retain bool
	// Payload is the message's payload; nil when Oversize.
	Payload []byte
	// Size is the payload's length as the broker sent it.
	Size int
	// Oversize: the payload exceeded Options.MaxPayload and was discarded;
	// the bridge has acknowledged the message itself.
	Oversize bool
}

// Lost reports the end of the broker connection.
type Lost struct {
	// State is NOTCONNECTED, or CONNECTIONCIRCUITBREAKER when the circuit
	// breaker dropped the connection.
	State abi.MQTTRequestState
	// ServerClosed: the broker ended the connection (a v5 DISCONNECT, or
	// an orderly close). Otherwise the connection failed, or the cloud
	// dropped it (circuit breaker).
	ServerClosed bool
	// Reason is the v5 DISCONNECT's reason code, 0 without one.
	Reason uint8
	// Err describes what happened.
	Err error
}

// Stats are counters for diagnostics and tests.
type Stats struct {
	Waiting      int // messages waiting for OnMessage
	WaitingBytes int // their payload bytes
	Unacked      int // QoS 1 messages whose PUBACK has not been sent
	Inflight     int // requests waiting for the broker
}

// Errors from Ack and in Results and Lost.
var (
	ErrUnknownMessage = errors.New("mqttbridge: no QoS 1 message with that ID awaits acknowledgement")
	ErrNotConnected   = errors.New("mqttbridge: not connected to the broker")
	ErrCircuitBreaker = errors.New("mqttbridge: circuit breaker: messages arrive faster than the device takes them")
	ErrClosed         = errors.New("mqttbridge: bridge closed")
)

// state is where the bridge is in its one connection's life.
type state uint8

const (
	stIdle          state = iota // no connect yet
	stConnecting                 // dial, handshake, CONNACK
	stConnected                  // session up
	stDisconnecting              // DISCONNECT queued
	stEnded                      // over, one way or another
)

// Bridge holds one broker session. Its methods are safe for concurrent use.
type Bridge struct {
	o       Options
	log     *slog.Logger
	wg      sync.WaitGroup // connect, reader, writer and keepalive goroutines
	closeCh chan struct{}  // closed by Close
	endCh   chan struct{}  // closed when the connection ends

	mu      sync.Mutex
	dcond   *sync.Cond // dispatcher: events, messages, Resume, Close
	wcond   *sync.Cond // writer: packets queued, end, Close
	st      state
	closed  bool
	cancel  context.CancelFunc // the connect in progress
	conn    net.Conn
	version byte // 4 (3.1.1) or 5
	limits  brokerLimits

	// Requests waiting for the broker, by packet ID; queued QoS 1
	// publishes waiting for a Receive Maximum slot.
	pending  map[uint16]*request
	queued   []*request
	inflight int // QoS 1 publishes in pending
	nextPID  uint16
	reqSeq   uint64

	// The writer's queue and the batch it is writing.
	out     []outPacket
	writing []outPacket

	// Keepalive.
	keepalive time.Duration
	pingWait  time.Duration
	lastWrite time.Time
	lastRead  time.Time
	pingSent  time.Time // zero: no PINGREQ outstanding

	// Incoming messages.
	nextMsgID uint32
	unacked   []*inMsg        // QoS ≥ 1, arrival order, until their PUBACK is queued
	subs      map[string]byte // granted topic filters → QoS (Inject)
	byID      map[uint32]*inMsg

	// Dispatch.
	seq          uint64
	events       []event
	msgs         []*inMsg // waiting for OnMessage
	waitingBytes int
	blocked      bool   // OnMessage refused; wait for Resume
	resumeGen    uint64 // counts Resume calls
	excess       float64
	excessAt     time.Time
}

// brokerLimits are what a v5 CONNACK announced.
type brokerLimits struct {
	receiveMax int  // QoS 1 publishes in flight
	maxQoS     byte // 0, 1 or 2
	noRetain   bool // retained messages not supported
	maxPacket  int  // largest packet the broker takes; 0: no limit
}

// New returns a bridge configured by o. It does nothing until Connect.
// Call Close when done with it (the device's channel closed): it stops the
// bridge's goroutines.
func New(o Options) (*Bridge, error) {
	switch {
	case o.ConnectTimeout < 0:
		return nil, fmt.Errorf("mqttbridge: ConnectTimeout %v is negative", o.ConnectTimeout)
	case o.PingTimeout < 0:
		return nil, fmt.Errorf("mqttbridge: PingTimeout %v is negative", o.PingTimeout)
	case o.MaxPayload < 0:
		return nil, fmt.Errorf("mqttbridge: MaxPayload %d is negative", o.MaxPayload)
	case o.BreakerRate < 0:
		return nil, fmt.Errorf("mqttbridge: BreakerRate %v is negative", o.BreakerRate)
	case o.BreakerBacklog < 0:
		return nil, fmt.Errorf("mqttbridge: BreakerBacklog %d is negative", o.BreakerBacklog)
	case o.BreakerBytes < 0:
		return nil, fmt.Errorf("mqttbridge: BreakerBytes %d is negative", o.BreakerBytes)
	}
	if o.Connect == nil {
		o.Connect = DialConnector(o.Dial) // a nil Dial: a plain net.Dialer
	}
	if o.Context == nil {
		o.Context = context.Background()
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.MaxPayload == 0 {
		o.MaxPayload = DefaultMaxPayload
	}
	if o.SessionExpiry == 0 {
		o.SessionExpiry = DefaultSessionExpiry
	}
	if o.BreakerRate == 0 {
		o.BreakerRate = DefaultBreakerRate
	}
	if o.BreakerBacklog == 0 {
		o.BreakerBacklog = DefaultBreakerBacklog
	}
	if o.BreakerBytes == 0 {
		o.BreakerBytes = DefaultBreakerBytes
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{
		o:       o,
		log:     log,
		closeCh: make(chan struct{}),
		endCh:   make(chan struct{}),
		pending: make(map[uint16]*request),
		byID:    make(map[uint32]*inMsg),
	}
	b.dcond = sync.NewCond(&b.mu)
	b.wcond = sync.NewCond(&b.mu)
	go b.dispatch()
	return b, nil
}

// Close ends the bridge at once: a connect in progress is abandoned, the
// broker connection is closed without DISCONNECT (the broker publishes the
// will), nothing more is reported. Close waits for the bridge's goroutines
// except a callback already running, so it may be called from a callback.
// Closing twice does nothing.
func (b *Bridge) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.wg.Wait()
		return
	}
	b.closed = true
	close(b.closeCh)
	if b.cancel != nil {
		b.cancel()
	}
	if b.st != stEnded {
		b.st = stEnded
		close(b.endCh)
	}
	if b.conn != nil {
		_ = b.conn.Close()
	}
	releaseMsgs(b.msgs)
	b.events, b.msgs, b.out, b.writing, b.queued = nil, nil, nil, nil, nil
	clear(b.pending)
	b.dcond.Broadcast()
	b.wcond.Broadcast()
	b.mu.Unlock()
	b.wg.Wait()
}

// Stats returns the bridge's counters.
func (b *Bridge) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{
		Waiting:      len(b.msgs),
		WaitingBytes: b.waitingBytes,
		Unacked:      len(b.unacked),
		Inflight:     len(b.pending) + len(b.queued),
	}
}
