package test

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv"
)

// The MQTT rig: Mosquitto brokers (internal/mosquitto) on loopback, an
// embedded cloud allowed to reach them, and devices whose applications use
// the typed MQTT calls (device API → kernel → link → cloud → broker). A
// peer, a bridge of the test's own connected straight to the broker, plays
// the other MQTT clients.

// brokerHost is the name TLS brokers are reached by: their certificates
// name it, and the cloud's Resolve maps it to the broker's port on
// 127.0.0.1 (so the outbound policy's overrides are exercised too).
const brokerHost = "broker.mvnet.test"

// versions are the protocol versions the MQTT tests run with.
var mqttVersions = []struct {
	name string
	v    abi.MQTTProtocolVersion
}{
	{"v3.1.1", abi.MQTTProtocolVersionV311},
	{"v5", abi.MQTTProtocolVersionV5},
}

// newMQTTEnv starts a cloud that may reach loopback (where the brokers
// are) and maps brokerHost as resolve says ("host:port:addr" entries, see
// brokerResolve). The options' HTTP policy is replaced.
func newMQTTEnv(t *testing.T, o cloud.Options, resolve ...string) *env {
	t.Helper()
	mosquitto.Require(t)
	// The tests' brokers without TLS are plain local ones: opt in (a
	// connect without tls_credentials is TLS by default).
	o.MQTT.Plaintext = true
	o.HTTP.AllowPrefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	o.HTTP.Resolve = resolve
	return &env{cloud: testenv.NewCloud(t, o)}
}

// brokerResolve is the Resolve entry sending brokerHost:port to br.
func brokerResolve(br *mosquitto.Broker) string {
	return brokerHost + ":" + strconv.Itoa(br.Port) + ":127.0.0.1"
}

// mqttTLS is a CA and a broker certificate from it for brokerHost.
type mqttTLS struct {
	ca   *pki.CA
	cert mosquitto.TLS
}

func newMQTTTLS(t *testing.T, notBefore, notAfter time.Time) *mqttTLS {
	t.Helper()
	ca, err := pki.NewCA("mvnet MQTT test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{brokerHost, "127.0.0.1"}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return &mqttTLS{ca: ca, cert: mosquitto.TLS{Cert: cert, CAs: []*x509.Certificate{ca.Cert}}}
}

// broker starts a TLS broker with s's certificate; requireCert makes it
// require a client certificate from s's CA.
func (s *mqttTLS) broker(t *testing.T, requireCert bool) *mosquitto.Broker {
	t.Helper()
	c := s.cert
	c.RequireCertificate = requireCert
	return mosquitto.Start(t, mosquitto.Options{TLS: &c})
}

// clientTLS returns device credentials trusting s's CA with a client
// certificate from s's CA for a new key of type kt, the key as PKCS#8 DER.
func (s *mqttTLS) clientTLS(t *testing.T, kt pki.KeyType) *device.MQTTTLS {
	t.Helper()
	key, err := pki.NewKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := s.ca.ClientCert("device", key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return &device.MQTTTLS{CACerts: [][]byte{s.ca.Cert.Raw}, ClientCert: cert.Certificate, ClientKey: pkcs8(t, key)}
}

func pkcs8(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// connReq is a plain connect to br on 127.0.0.1 with a clean start.
func connReq(br *mosquitto.Broker, v abi.MQTTProtocolVersion, clientID string) device.MQTTConnect {
	return device.MQTTConnect{Version: v, Host: "127.0.0.1", Port: uint16(br.Port), ClientID: clientID, Keepalive: 60, CleanStart: true}
}

// mqttCh is an MQTT channel of a test device.
type mqttCh struct {
	v   *dev
	ch  *device.Channel
	tag uint32
}

// openMQTT opens an MQTT channel with the given buffer sizes.
func (v *dev) openMQTT(rx, tx uint32) *mqttCh {
	v.t.Helper()
	ch, tag := v.open(abi.ChannelTypeMQTT, rx, tx)
	return &mqttCh{v: v, ch: ch, tag: tag}
}

// mqttItem is one readable item, read with the call its type names.
type mqttItem struct {
	typ   abi.MQTTReadableDataType
	conn  abi.MQTTConnectResponse
	codes device.MQTTCodesResponse // subscribe and unsubscribe responses
	pub   abi.MQTTPublishResponse
	msg   device.MQTTMessage
	lost  device.MQTTLostMessage
	disc  abi.MQTTDisconnectResponse
}

func (it mqttItem) String() string {
	switch it.typ {
	case abi.MQTTReadableDataTypeConnectResponse:
		return fmt.Sprintf("CONNECTRESPONSE %+v", it.conn)
	case abi.MQTTReadableDataTypeSubscribeResponse, abi.MQTTReadableDataTypeUnsubscribeResponse:
		return fmt.Sprintf("%s %+v", it.typ, it.codes)
	case abi.MQTTReadableDataTypePublishResponse:
		return fmt.Sprintf("PUBLISHRESPONSE %+v", it.pub)
	case abi.MQTTReadableDataTypeMessageReceived:
		return fmt.Sprintf("MESSAGE id %d %q %q qos %d retain %v", it.msg.CorrelationID, it.msg.Topic, it.msg.Payload, it.msg.QoS, it.msg.Retain)
	case abi.MQTTReadableDataTypeMessageLost:
		return fmt.Sprintf("MESSAGELOST %+v", it.lost)
	case abi.MQTTReadableDataTypeDisconnectResponse:
		return fmt.Sprintf("DISCONNECTRESPONSE %+v", it.disc)
	}
	return it.typ.String()
}

// nextType waits until an item is readable and returns its type. It
// fails the test if none comes within waitLimit, or if the channel has
// closed with nothing left to read.
func (m *mqttCh) nextType() abi.MQTTReadableDataType {
	m.v.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		typ, st := m.v.d.MQTTGetNextReadableDataType(m.ch)
		if st != abi.StatusOkay {
			m.v.t.Fatalf("mvMqttGetNextReadableDataType: %s", st)
		}
		if typ != abi.MQTTReadableDataTypeNone {
			return typ
		}
		if _, err := m.v.waitEventErr(m.tag, abi.EventTypeChannelDataReadable, time.Until(deadline)); err != nil {
			m.v.t.Fatalf("no MQTT item: %v", err)
		}
	}
}

// item waits for the next item and reads it (reason codes: room for 8,
// topics and payloads: 2 KiB).
func (m *mqttCh) item() mqttItem {
	m.v.t.Helper()
	it := mqttItem{typ: m.nextType()}
	d, ch := m.v.d, m.ch
	var st abi.Status
	switch it.typ {
	case abi.MQTTReadableDataTypeConnectResponse:
		it.conn, st = d.MQTTReadConnectResponse(ch)
	case abi.MQTTReadableDataTypeSubscribeResponse:
		it.codes, st = d.MQTTReadSubscribeResponse(ch, 8)
	case abi.MQTTReadableDataTypeUnsubscribeResponse:
		it.codes, st = d.MQTTReadUnsubscribeResponse(ch, 8)
	case abi.MQTTReadableDataTypePublishResponse:
		it.pub, st = d.MQTTReadPublishResponse(ch)
	case abi.MQTTReadableDataTypeMessageReceived:
		it.msg, st = d.MQTTReceiveMessage(ch, 2048, 2048)
	case abi.MQTTReadableDataTypeMessageLost:
		it.lost, st = d.MQTTReceiveLostMessageInfo(ch, 2048)
	case abi.MQTTReadableDataTypeDisconnectResponse:
		it.disc, st = d.MQTTReadDisconnectResponse(ch)
	default:
		m.v.t.Fatalf("unknown readable data type %v", it.typ)
	}
	if st != abi.StatusOkay {
		m.v.t.Fatalf("reading %v: %s", it.typ, st)
	}
	return it
}

// expect reads the next item, which must be of type typ.
func (m *mqttCh) expect(typ abi.MQTTReadableDataType) mqttItem {
	m.v.t.Helper()
	it := m.item()
	if it.typ != typ {
		m.v.t.Fatalf("next item is %v, want %v", it, typ)
	}
	return it
}

// none checks that nothing is readable.
func (m *mqttCh) none() {
	m.v.t.Helper()
	if typ, st := m.v.d.MQTTGetNextReadableDataType(m.ch); st != abi.StatusOkay || typ != abi.MQTTReadableDataTypeNone {
		m.v.t.Fatalf("mvMqttGetNextReadableDataType: %v %s, want NONE OKAY", typ, st)
	}
}

// connect requests a connect and returns its response.
func (m *mqttCh) connect(c device.MQTTConnect) abi.MQTTConnectResponse {
	m.v.t.Helper()
	if st, err := m.v.d.MQTTRequestConnect(m.ch, c); err != nil || st != abi.StatusOkay {
		m.v.t.Fatalf("mvMqttRequestConnect: %s %v", st, err)
	}
	return m.expect(abi.MQTTReadableDataTypeConnectResponse).conn
}

// mustConnect connects and fails the test unless the broker accepted.
func (m *mqttCh) mustConnect(c device.MQTTConnect) {
	m.v.t.Helper()
	if r := m.connect(c); r.RequestState != abi.MQTTRequestStateRequestCompleted || r.ReasonCode != 0 {
		m.v.t.Fatalf("connect to %s:%d: %v reason %#x", c.Host, c.Port, r.RequestState, r.ReasonCode)
	}
}

// requestSubscribe requests a subscription, requiring OKAY.
func (m *mqttCh) requestSubscribe(corr uint32, subs ...device.MQTTSubscription) {
	m.v.t.Helper()
	if st, err := m.v.d.MQTTRequestSubscribe(m.ch, corr, subs); err != nil || st != abi.StatusOkay {
		m.v.t.Fatalf("mvMqttRequestSubscribe: %s %v", st, err)
	}
}

// subscribe subscribes and returns the response.
func (m *mqttCh) subscribe(corr uint32, subs ...device.MQTTSubscription) device.MQTTCodesResponse {
	m.v.t.Helper()
	m.requestSubscribe(corr, subs...)
	r := m.expect(abi.MQTTReadableDataTypeSubscribeResponse).codes
	if r.CorrelationID != corr {
		m.v.t.Fatalf("subscribe response for %d, want %d", r.CorrelationID, corr)
	}
	return r
}

// mustSubscribe subscribes to topic at qos and requires the grant.
func (m *mqttCh) mustSubscribe(corr uint32, topic string, qos uint32) {
	m.v.t.Helper()
	r := m.subscribe(corr, device.MQTTSubscription{Topic: topic, QoS: qos})
	if r.State != abi.MQTTRequestStateRequestCompleted || len(r.ReasonCodes) != 1 || r.ReasonCodes[0] != qos {
		m.v.t.Fatalf("subscribe to %q: %+v, want granted QoS %d", topic, r, qos)
	}
}

// requestPublish requests a publish, requiring OKAY.
func (m *mqttCh) requestPublish(corr uint32, topic string, payload []byte, qos uint32, retain bool) {
	m.v.t.Helper()
	if st, err := m.v.d.MQTTRequestPublish(m.ch, corr, topic, payload, qos, retain); err != nil || st != abi.StatusOkay {
		m.v.t.Fatalf("mvMqttRequestPublish: %s %v", st, err)
	}
}

// publish publishes and returns the response (which must be the next
// item: nothing may be subscribed to topic on this channel).
func (m *mqttCh) publish(corr uint32, topic string, payload []byte, qos uint32, retain bool) abi.MQTTPublishResponse {
	m.v.t.Helper()
	m.requestPublish(corr, topic, payload, qos, retain)
	r := m.expect(abi.MQTTReadableDataTypePublishResponse).pub
	if r.CorrelationID != corr {
		m.v.t.Fatalf("publish response for %d, want %d", r.CorrelationID, corr)
	}
	return r
}

// ack acknowledges a received message, requiring OKAY.
func (m *mqttCh) ack(corr uint32) {
	m.v.t.Helper()
	if st := m.v.d.MQTTAcknowledgeMessage(m.ch, corr); st != abi.StatusOkay {
		m.v.t.Fatalf("mvMqttAcknowledgeMessage(%d): %s", corr, st)
	}
}

// disconnect requests a disconnect and returns the response.
func (m *mqttCh) disconnect() abi.MQTTDisconnectResponse {
	m.v.t.Helper()
	if st := m.v.d.MQTTRequestDisconnect(m.ch); st != abi.StatusOkay {
		m.v.t.Fatalf("mvMqttRequestDisconnect: %s", st)
	}
	return m.expect(abi.MQTTReadableDataTypeDisconnectResponse).disc
}

// msg reads the next item, which must be a message.
func (m *mqttCh) msg() device.MQTTMessage {
	m.v.t.Helper()
	return m.expect(abi.MQTTReadableDataTypeMessageReceived).msg
}

// waitClosed waits for CHANNELNOTCONNECTED and returns the closure reason.
func (m *mqttCh) waitClosed() abi.ClosureReason {
	m.v.t.Helper()
	m.v.waitEvent(m.tag, abi.EventTypeChannelNotConnected)
	return m.v.closureReason(m.ch)
}

// close closes the channel (the application's mvCloseChannel).
func (m *mqttCh) close() {
	m.v.t.Helper()
	if st := m.v.d.CloseChannel(m.ch); st != abi.StatusOkay {
		m.v.t.Fatalf("mvCloseChannel: %s", st)
	}
}

// peer is another MQTT client of a broker, connected straight to it: a
// bridge of the test's own, outside the cloud. It acknowledges QoS 1
// messages as it receives them.
type peer struct {
	t       *testing.T
	b       *mqttbridge.Bridge
	results chan mqttbridge.Result
	msgs    chan mqttbridge.Message
	corr    uint32
}

// newPeer connects a peer to the plain broker br.
func newPeer(t *testing.T, br *mosquitto.Broker, v abi.MQTTProtocolVersion, clientID string) *peer {
	t.Helper()
	p := &peer{t: t, results: make(chan mqttbridge.Result, 1000), msgs: make(chan mqttbridge.Message, 1000)}
	b, err := mqttbridge.New(mqttbridge.Options{
		Plaintext: true, // br is plain
		OnResult:  func(r mqttbridge.Result) { p.results <- r },
		OnMessage: func(m mqttbridge.Message) bool {
			if m.QoS > 0 {
				_ = p.b.Ack(m.ID)
			}
			p.msgs <- m
			return true
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.b = b
	t.Cleanup(b.Close)
	b.Connect(mqttbridge.ConnectParams{Version: v, Host: "127.0.0.1", Port: uint16(br.Port), ClientID: clientID, Keepalive: 60, CleanStart: true})
	if r := p.result(mqttbridge.KindConnect); r.State != abi.MQTTRequestStateRequestCompleted || r.Reason != 0 {
		t.Fatalf("peer connect: %+v", r)
	}
	return p
}

func (p *peer) result(k mqttbridge.Kind) mqttbridge.Result {
	p.t.Helper()
	select {
	case r := <-p.results:
		if r.Kind != k {
			p.t.Fatalf("peer: %v result %+v, want %v", r.Kind, r, k)
		}
		return r
	case <-time.After(waitLimit):
		p.t.Fatalf("peer: no %v result within %v", k, waitLimit)
	}
	return mqttbridge.Result{}
}

// subscribe subscribes the peer to topic at QoS 1.
func (p *peer) subscribe(topic string) {
	p.t.Helper()
	p.corr++
	p.b.Subscribe(p.corr, []mqttbridge.Subscription{{Topic: topic, QoS: 1}})
	if r := p.result(mqttbridge.KindSubscribe); r.State != abi.MQTTRequestStateRequestCompleted || len(r.Reasons) != 1 || r.Reasons[0] != 1 {
		p.t.Fatalf("peer subscribe to %q: %+v", topic, r)
	}
}

// publish publishes and waits until the broker has it (QoS 1) or it is
// written (QoS 0).
func (p *peer) publish(topic string, payload []byte, qos uint8, retain bool) {
	p.t.Helper()
	p.corr++
	p.b.Publish(p.corr, topic, payload, qos, retain)
	if r := p.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateRequestCompleted || r.Reason >= 0x80 {
		p.t.Fatalf("peer publish to %q: %+v", topic, r)
	}
}

// msg waits for the peer's next message.
func (p *peer) msg() mqttbridge.Message {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		return m
	case <-time.After(waitLimit):
		p.t.Fatalf("peer: no message within %v", waitLimit)
	}
	return mqttbridge.Message{}
}

// noMsg checks that the peer receives nothing within d.
func (p *peer) noMsg(d time.Duration) {
	p.t.Helper()
	select {
	case m := <-p.msgs:
		p.t.Fatalf("peer: unexpected message %q on %q", m.Payload, m.Topic)
	case <-time.After(d):
	}
}

// waitBrokerDisconnected waits until the broker has seen client ID id
// disconnect (DISCONNECT) n times in all. A client that reconnects with
// the same ID at once may otherwise overtake its previous connection at
// the broker, which then drops what it had not read of the old one
// (session takeover): PUBACKs sent just before the DISCONNECT among them.
func waitBrokerDisconnected(t *testing.T, br *mosquitto.Broker, id string, n int) {
	t.Helper()
	eventually(t, "the broker saw "+id+" disconnect", func() bool {
		return strings.Count(br.Log(), "Client "+id+" disconnected.") >= n
	})
}

// mqttChannelInfo returns the cloud's view of the device's channel ch.
func (e *env) mqttChannelInfo(t *testing.T, v *dev, m *mqttCh) (cloud.ChannelInfo, bool) {
	t.Helper()
	for _, d := range e.cloud.Devices() {
		if d.DeviceID != v.d.ID() {
			continue
		}
		for _, c := range d.Channels {
			if c.Chan == m.ch.Handle {
				return c, true
			}
		}
	}
	return cloud.ChannelInfo{}, false
}
