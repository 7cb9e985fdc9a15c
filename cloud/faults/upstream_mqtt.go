package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/vclock"
)

// ErrNoBrokerSession: mqtt-disconnect found no live broker stream of the
// device (matching its host).
var ErrNoBrokerSession = errors.New("no live broker session")

// CONNACK codes of mqtt-refuse. The default is "not authorized" (MQTT
// 3.1.1 §3.2.2.3, return code 5; MQTT 5 §3.2.2.2, reason code 0x87). A
// refusal is 1–5 in MQTT 3.1.1 and 0x80 or above in MQTT 5.
const (
	refuseV311    = 5
	refuseV5      = 0x87
	MaxRefuseV311 = 5    // the highest MQTT 3.1.1 refusal (return code)
	MinRefuseV5   = 0x80 // the lowest MQTT 5 refusal (reason code)
)

// refuseV5For maps MQTT 3.1.1 refusals to the MQTT 5 reason codes of the
// same meaning (MQTT 5 §3.2.2.2): unacceptable protocol version,
// identifier rejected, server unavailable, bad user name or password, not
// authorized. refuseV311For is the other way.
var (
	refuseV5For   = map[byte]byte{1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87}
	refuseV311For = map[byte]byte{0x84: 1, 0x85: 2, 0x88: 3, 0x86: 4, 0x87: 5}
)

// maxRefuserConnect bounds the CONNECT the refuser reads (the bridge's is
// far smaller: client ID, will, credentials); a larger one is not answered.
const maxRefuserConnect = 1 << 20

// refuseCode is the CONNACK code refusing a CONNECT of version v with the
// fault's code (0: the default), and a note when code is not a refusal in
// v and was mapped (the same meaning, else "not authorized").
func refuseCode(code int, v byte) (rc byte, note string) {
	v5 := v == 5
	switch {
	case code == 0 && v5:
		return refuseV5, ""
	case code == 0:
		return refuseV311, ""
	case v5 && code >= MinRefuseV5, !v5 && code <= MaxRefuseV311:
		return byte(code), ""
	}
	table, dflt, name := refuseV311For, byte(refuseV311), "3.1.1"
	if v5 {
		table, dflt, name = refuseV5For, refuseV5, "5"
	}
	rc, ok := table[byte(code)]
	if !ok {
		rc = dflt
	}
	return rc, fmt.Sprintf("mqtt-refuse reason-code %#x is no refusal in MQTT %s: sent %#x", code, name, rc)
}

func init() {
	starters[MQTTDisconnect] = starter{start: func(i *Injector, a *active) (func(), error) {
		if n := cutStreams(i, a.f.Device, &a.f.Spec); n == 0 {
			return nil, fmt.Errorf("device %s: %w", a.f.Device, ErrNoBrokerSession)
		}
		return nil, nil
	}}
}

// WrapConnect returns a connector that opens broker streams with base
// except where an upstream fault in force for the connect's device
// (devctx.ID of its context) and broker host says otherwise:
//
//   - dns-failure: the host does not resolve (*net.DNSError, not found);
//     the bridge reports NXDOMAIN;
//   - mqtt-refuse: the connect gets a CONNACK refusing it with ReasonCode
//     (default 5, not authorized, in 3.1.1; 0x87 in 5) from a stream made
//     up in the cloud; no broker is contacted;
//
// and the streams it opens stay under the device's faults while they live:
//
//   - mqtt-disconnect cuts them: reading and writing fail with a
//     connection reset and the broker connection is closed without
//     DISCONNECT (the broker publishes the will);
//   - mqtt-delay holds each PUBLISH from the broker on a matching topic
//     Delay before the bridge reads it, and mqtt-drop drops it (with
//     probability Loss, default 1, from the fault's Seed). The stream
//     keeps its order: a held PUBLISH holds every packet behind it
//     (SUBACKs, PUBACKs, PINGRESP), so on the wall clock a delay longer
//     than the keepalive's ping timeout ends the session (on a device's
//     virtual clock the bridge does not count the wait: Holding). A
//     dropped message never reaches the bridge, which therefore never
//     acknowledges a QoS 1 one: the broker redelivers it only on the next
//     connection of a persistent session, and counts it against its
//     in-flight window meanwhile.
//
// Faults applied while a stream is open apply to it from then on;
// mqtt-refuse and dns-failure apply to the next connect.
func (i *Injector) WrapConnect(base mqttbridge.Connector) mqttbridge.Connector {
	return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		dev := devctx.ID(ctx)
		if dev == "" {
			return base(ctx, addr, conf)
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		host = strings.ToLower(host)
		dns, refuse := i.connectPlan(dev, host)
		switch {
		case dns:
			return nil, dnsError(host)
		case refuse != nil:
			return i.refuser(ctx, dev, refuse.ReasonCode), nil
		}
		conn, err := base(ctx, addr, conf)
		if err != nil {
			return nil, err
		}
		s := &stream{Conn: conn, i: i, dev: dev, host: host, br: bufio.NewReaderSize(conn, 16<<10)}
		s.ctx, s.cancel = context.WithCancel(context.Background())
		register(s)
		if st, ok := conn.(mqttbridge.TLSStater); ok { // a *tls.Conn or a layer over one
			return &tlsStream{s, st}, nil
		}
		return s, nil
	}
}

// connectPlan reports whether the device's faults make host fail to
// resolve, or refuse connects to it (the oldest matching mqtt-refuse).
func (i *Injector) connectPlan(dev, host string) (dns bool, refuse *Spec) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, a := range i.faultsOf(dev) {
		s := &a.f.Spec
		switch {
		case s.Kind == DNSFailure && hostMatches(s, host):
			dns = true
		case s.Kind == MQTTRefuse && hostMatches(s, host) && refuse == nil:
			refuse = s
		}
	}
	return dns, refuse
}

// publishPlan says what the device's faults do to a PUBLISH on topic from
// host: drop it, or hold it for delay (the delays of matching faults add
// up).
func (i *Injector) publishPlan(dev, host, topic string) (drop bool, delay time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, a := range i.faultsOf(dev) {
		s := &a.f.Spec
		if (s.Kind != MQTTDrop && s.Kind != MQTTDelay) || !hostMatches(s, host) ||
			(s.Topic != "" && !mqttbridge.MatchTopic(s.Topic, topic)) {
			continue
		}
		if s.Kind == MQTTDelay {
			delay += time.Duration(s.Delay)
			continue
		}
		loss := s.Loss
		if loss == 0 {
			loss = 1
		}
		if loss >= 1 || a.rng.Float64() < loss {
			drop = true
		}
	}
	return drop, delay
}

// refuser is a broker stream that answers the CONNECT written to it with a
// CONNACK carrying code (0: the default for the CONNECT's version; see
// refuseCode for a code that is no refusal in that version) and closes.
func (i *Injector) refuser(ctx context.Context, dev string, code int) net.Conn {
	client, broker := net.Pipe()
	go func() {
		defer broker.Close()
		stop := context.AfterFunc(ctx, func() { _ = broker.Close() })
		defer stop()
		br := bufio.NewReader(broker)
		hb, err := br.ReadByte()
		if err != nil || hb>>4 != packets.Connect {
			return
		}
		n, _, err := packets.DecodeLength(br)
		if err != nil || n > maxRefuserConnect {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		var connect packets.Packet
		if err := connect.ConnectDecode(body); err != nil {
			return
		}
		v := connect.ProtocolVersion
		rc, note := refuseCode(code, v)
		if note != "" {
			i.logger().Warn(note, "device", dev)
		}
		ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: v, ReasonCode: rc}
		var buf bytes.Buffer
		if err := ack.ConnackEncode(&buf); err != nil {
			return
		}
		_, _ = broker.Write(buf.Bytes())
	}()
	return client
}

// stream is a broker stream under the device's faults: it frames what the
// broker sends (fixed header and remaining length, MQTT §2.2) to find the
// topic of each PUBLISH, and passes every other byte through in order.
type stream struct {
	net.Conn
	i      *Injector
	dev    string
	host   string
	br     *bufio.Reader
	ctx    context.Context // ends when the stream is closed
	cancel context.CancelFunc
	once   sync.Once

	mu      sync.Mutex
	cut     bool   // mqtt-disconnect
	holding bool   // a PUBLISH is held on a virtual device clock (Holding)
	release func() // the hold on the device's clock of a delayed PUBLISH: TakeRelease, letGo
	// awaiting counts the acks the broker owes for what the bridge wrote
	// (PUBACK, SUBACK, UNSUBACK): requests the session holds the device's
	// clock for, whose answers a delayed PUBLISH holds back. While one
	// waits, loan lends their holds (those written meanwhile too).
	awaiting int
	loan     *vclock.Loan

	wmu  sync.Mutex // the writer's framing of what the bridge writes
	wout outFraming

	// The reader's state (one reader at a time, as the bridge reads).
	head   []byte // framed bytes of the current packet not yet returned
	remain int    // bytes of the current packet after head, passed through
}

// tlsStream is a stream over TLS: the bridge asks a TLS stream for the
// broker's alert when a write fails (mqttbridge's alertOr).
type tlsStream struct {
	*stream
	tls mqttbridge.TLSStater // the stream's conn
}

// ConnectionState is the TLS connection's state.
func (t *tlsStream) ConnectionState() tls.ConnectionState {
	return t.tls.ConnectionState()
}

func (s *stream) isCut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cut
}

// errOr is err, or a connection reset once the stream is cut.
func (s *stream) errOr(op string, err error) error {
	if err != nil && s.isCut() {
		return resetError(op)
	}
	return err
}

func (s *stream) Read(p []byte) (int, error) {
	for {
		if s.isCut() {
			return 0, resetError("read")
		}
		if len(s.head) > 0 {
			n := copy(p, s.head)
			s.head = s.head[n:]
			return n, nil
		}
		if s.remain > 0 {
			if len(p) > s.remain {
				p = p[:s.remain]
			}
			n, err := s.br.Read(p)
			s.remain -= n
			if err == io.EOF && s.remain > 0 {
				err = io.ErrUnexpectedEOF
			}
			return n, s.errOr("read", err)
		}
		if err := s.next(); err != nil {
			return 0, s.errOr("read", err)
		}
	}
}

func (s *stream) Write(p []byte) (int, error) {
	if s.isCut() {
		return 0, resetError("write")
	}
	// Counted before the broker can answer. (A failed write ends the
	// stream: what it did not write is never answered.)
	s.wmu.Lock()
	acked := s.wout.scan(p)
	s.wmu.Unlock()
	if acked > 0 {
		s.mu.Lock()
		s.awaiting += acked
		if s.loan != nil {
			s.loan.Lend(acked)
		}
		s.mu.Unlock()
	}
	n, err := s.Conn.Write(p)
	return n, s.errOr("write", err)
}

func (s *stream) Close() error {
	s.once.Do(func() {
		s.cancel()
		unregister(s)
		s.letGo()
	})
	return s.Conn.Close()
}

// TakeRelease hands the bridge the hold of the delayed PUBLISH it has just
// read, if there is one (mqttbridge.PacketHolder): the bridge releases it
// once its dispatcher has offered the message to the device's session, so
// the clock stays at the PUBLISH's instant until the message is queued for
// the device. (The bridge's reader reads on at once; the session gets the
// message later, from the dispatcher.)
func (s *stream) TakeRelease() func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	release := s.release
	s.release = nil
	return release
}

// Holding reports whether the stream holds a PUBLISH back on the device's
// virtual clock (mqttbridge.PacketHolder): the bridge does not count that
// wait against its ping timeout, since its wall time depends only on how
// fast the device runs. (On the wall clock a held PUBLISH holds PINGRESP
// back like a slow network would: see WrapConnect.)
func (s *stream) Holding() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.holding
}

// letGo releases the hold of a delayed PUBLISH the reader did not take
// (TakeRelease), if there is one: the reader has come back for the next
// packet (so it has handed the PUBLISH on), or the stream is closed.
func (s *stream) letGo() {
	if release := s.TakeRelease(); release != nil {
		release()
	}
}

// outFraming follows the MQTT packets the bridge writes (fixed header and
// remaining length, MQTT §2.2), across writes, to count those the broker
// acknowledges.
type outFraming struct {
	head   bool // in a fixed header: after its first byte
	acked  bool // the packet in hand is answered by an ack
	shift  int  // remaining length: the next byte's shift
	length int
	skip   int // bytes of the packet in hand still to pass
}

// scan follows p and returns how many packets answered by an ack (a QoS 1
// or 2 PUBLISH, SUBSCRIBE, UNSUBSCRIBE: MQTT §3.3.4, §3.8.4, §3.10.4)
// start in it.
func (o *outFraming) scan(p []byte) int {
	n := 0
	for len(p) > 0 {
		switch {
		case o.skip > 0:
			k := min(o.skip, len(p))
			o.skip -= k
			p = p[k:]
		case !o.head:
			typ, qos := p[0]>>4, (p[0]>>1)&3
			o.acked = (typ == packets.Publish && qos > 0) || typ == packets.Subscribe || typ == packets.Unsubscribe
			o.head, o.shift, o.length = true, 0, 0
			p = p[1:]
		default:
			b := p[0]
			p = p[1:]
			o.length |= int(b&0x7f) << o.shift
			o.shift += 7
			if b&0x80 != 0 && o.shift < 28 {
				continue
			}
			o.head, o.skip = false, o.length
			if o.acked {
				n++
			}
		}
	}
	return n
}

// next frames the broker's next packet into head and remain, dropping or
// holding a PUBLISH as the device's faults say.
func (s *stream) next() error {
	s.letGo()
	hb, err := s.br.ReadByte()
	if err != nil {
		return err // io.EOF between packets: an orderly close
	}
	head := []byte{hb}
	n := 0
	for k := 0; ; k++ {
		b, err := s.br.ReadByte()
		if err != nil {
			return unexpected(err)
		}
		head = append(head, b)
		n |= int(b&0x7f) << (7 * k)
		if b&0x80 == 0 {
			break
		}
		if k == 3 { // MQTT §2.2.3: at most four bytes
			return errors.New("faults: malformed remaining length from the broker")
		}
	}
	s.head, s.remain = head, n
	switch hb >> 4 {
	case packets.Puback, packets.Pubrec, packets.Suback, packets.Unsuback:
		s.mu.Lock()
		// An ack for nothing the bridge wrote counts nothing (the bridge
		// reports it).
		s.awaiting = max(s.awaiting-1, 0)
		s.mu.Unlock()
	}
	if hb>>4 != packets.Publish || n < 2 {
		return nil
	}
	// MQTT §3.3.2.1: the variable header starts with the topic name.
	var tl [2]byte
	if _, err := io.ReadFull(s.br, tl[:]); err != nil {
		return unexpected(err)
	}
	size := int(tl[0])<<8 | int(tl[1])
	if size > n-2 {
		size = n - 2 // malformed: let the bridge say so
	}
	topic := make([]byte, size)
	if _, err := io.ReadFull(s.br, topic); err != nil {
		return unexpected(err)
	}
	s.head = append(append(s.head, tl[:]...), topic...)
	s.remain = n - 2 - size
	drop, delay := s.i.publishPlan(s.dev, s.host, string(topic))
	if drop {
		s.head = nil
		_, err := s.br.Discard(s.remain)
		s.remain = 0
		return unexpected(err)
	}
	if delay > 0 {
		return s.hold(delay)
	}
	return nil
}

// hold holds the PUBLISH in hand for delay on the device's clock. On a
// virtual clock the stream takes a hold and lends it for the wait, with
// the holds of the requests whose acks the broker owes, those the bridge
// writes during the wait included (their acks are behind the PUBLISH, so
// waiting for them would never end: vclock.Loan); at the wake-up it
// holds the clock until the bridge has handed the message to the device's
// session (TakeRelease; a reader that does not take it: until it comes
// back for the next packet), so the PUBLISH reaches the device at its
// instant. Closing the stream ends the wait.
func (s *stream) hold(delay time.Duration) error {
	c := s.i.clock(s.dev)
	release := c.Hold()
	loan := vclock.NewLoan(c)
	_, virtual := c.(*vclock.Virtual)
	s.mu.Lock()
	loan.Lend(1 + s.awaiting)
	s.loan = loan
	s.holding = virtual
	s.mu.Unlock()
	err := loan.Sleep(s.ctx, delay)
	s.mu.Lock()
	s.loan, s.holding = nil, false
	if err == nil {
		// Kept for TakeRelease or letGo; published only now that the
		// loan is back (a hold out on loan must not be released). A
		// Close that missed it has cancelled ctx.
		s.release = release
	}
	s.mu.Unlock()
	if err != nil {
		release()
		return net.ErrClosed
	}
	if s.ctx.Err() != nil {
		s.letGo()
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// The live streams, per injector and device (for mqtt-disconnect).
type streamKey struct {
	i   *Injector
	dev string
}

var live struct {
	mu sync.Mutex
	m  map[streamKey]map[*stream]bool
}

func register(s *stream) {
	live.mu.Lock()
	defer live.mu.Unlock()
	if live.m == nil {
		live.m = make(map[streamKey]map[*stream]bool)
	}
	k := streamKey{s.i, devid.Canon(s.dev)}
	if live.m[k] == nil {
		live.m[k] = make(map[*stream]bool)
	}
	live.m[k][s] = true
}

func unregister(s *stream) {
	live.mu.Lock()
	defer live.mu.Unlock()
	k := streamKey{s.i, devid.Canon(s.dev)}
	delete(live.m[k], s)
	if len(live.m[k]) == 0 {
		delete(live.m, k)
	}
}

// cutStreams cuts the device's live streams to brokers matching spec's
// Host and returns how many it cut.
func cutStreams(i *Injector, dev string, spec *Spec) int {
	live.mu.Lock()
	var list []*stream
	for s := range live.m[streamKey{i, devid.Canon(dev)}] {
		if hostMatches(spec, s.host) {
			list = append(list, s)
		}
	}
	live.mu.Unlock()
	for _, s := range list {
		s.mu.Lock()
		s.cut = true
		s.mu.Unlock()
		_ = s.Close()
	}
	return len(list)
}
