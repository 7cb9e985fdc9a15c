package mqttbridge_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

const wait = 10 * time.Second

// versions are the protocol versions every broker test runs with.
var versions = []struct {
	name string
	v    abi.MQTTProtocolVersion
}{
	{"v3.1.1", abi.MQTTProtocolVersionV311},
	{"v5", abi.MQTTProtocolVersionV5},
}

// client is a bridge whose callbacks feed channels.
type client struct {
	t       testing.TB
	b       *mqttbridge.Bridge
	results chan mqttbridge.Result
	msgs    chan mqttbridge.Message
	lost    chan mqttbridge.Lost
	refuse  atomic.Bool // OnMessage refuses while set
	offers  atomic.Int64
	corr    atomic.Uint32
}

// newClient is a client for the tests' local brokers: a connect without
// credentials is plain TCP there, so it opts in (o.Plaintext), as every
// user of a plain local broker must.
func newClient(t testing.TB, o mqttbridge.Options) *client {
	t.Helper()
	o.Plaintext = true
	return newBridgeClient(t, o)
}

// newBridgeClient is a client with o as given: without o.Plaintext, a
// connect without credentials is TLS.
func newBridgeClient(t testing.TB, o mqttbridge.Options) *client {
	t.Helper()
	c := &client{
		t:       t,
		results: make(chan mqttbridge.Result, 10000),
		msgs:    make(chan mqttbridge.Message, 10000),
		lost:    make(chan mqttbridge.Lost, 10),
	}
	o.OnResult = func(r mqttbridge.Result) { c.results <- r }
	o.OnMessage = func(m mqttbridge.Message) bool {
		c.offers.Add(1)
		if c.refuse.Load() {
			return false
		}
		c.msgs <- m
		return true
	}
	o.OnLost = func(l mqttbridge.Lost) { c.lost <- l }
	b, err := mqttbridge.New(o)
	if err != nil {
		t.Fatal(err)
	}
	c.b = b
	t.Cleanup(b.Close)
	return c
}

// params returns connect parameters for broker br.
func params(br *mosquitto.Broker, v abi.MQTTProtocolVersion, clientID string) mqttbridge.ConnectParams {
	return mqttbridge.ConnectParams{
		Version: v, Host: "127.0.0.1", Port: uint16(br.Port), ClientID: clientID,
		Keepalive: 30, CleanStart: true,
	}
}

// result waits for the next result, which must be of kind k.
func (c *client) result(k mqttbridge.Kind) mqttbridge.Result {
	c.t.Helper()
	select {
	case r := <-c.results:
		if r.Kind != k {
			c.t.Fatalf("got %v result %+v, want a %v result", r.Kind, r, k)
		}
		return r
	case <-time.After(wait):
		c.t.Fatalf("no %v result within %v", k, wait)
	}
	return mqttbridge.Result{}
}

// connect connects and returns the connect result.
func (c *client) connect(p mqttbridge.ConnectParams) mqttbridge.Result {
	c.t.Helper()
	c.b.Connect(p)
	return c.result(mqttbridge.KindConnect)
}

// mustConnect connects and fails the test unless the broker accepted.
func (c *client) mustConnect(p mqttbridge.ConnectParams) {
	c.t.Helper()
	if r := c.connect(p); r.State != abi.MQTTRequestStateRequestCompleted || r.Reason != 0 {
		c.t.Fatalf("connect: %v reason %#x (%v)", r.State, r.Reason, r.Err)
	}
}

// subscribe subscribes and returns the SUBACK codes.
func (c *client) subscribe(subs ...mqttbridge.Subscription) []uint8 {
	c.t.Helper()
	corr := c.corr.Add(1)
	c.b.Subscribe(corr, subs)
	r := c.result(mqttbridge.KindSubscribe)
	if r.State != abi.MQTTRequestStateRequestCompleted || r.Corr != corr {
		c.t.Fatalf("subscribe: %+v (want corr %d)", r, corr)
	}
	return r.Reasons
}

// publish publishes and returns the result.
func (c *client) publish(topic, payload string, qos uint8, retain bool) mqttbridge.Result {
	c.t.Helper()
	corr := c.corr.Add(1)
	c.b.Publish(corr, topic, []byte(payload), qos, retain)
	r := c.result(mqttbridge.KindPublish)
	if r.Corr != corr {
		c.t.Fatalf("publish result for corr %d, want %d", r.Corr, corr)
	}
	return r
}

// mustPublish publishes and fails the test unless it completed with a
// success code (0, or v5 0x10 "no matching subscribers").
func (c *client) mustPublish(topic, payload string, qos uint8, retain bool) {
	c.t.Helper()
	if r := c.publish(topic, payload, qos, retain); r.State != abi.MQTTRequestStateRequestCompleted || r.Reason >= 0x80 {
		c.t.Fatalf("publish %q: %v reason %#x (%v)", topic, r.State, r.Reason, r.Err)
	}
}

// msg waits for the next message.
func (c *client) msg() mqttbridge.Message {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(wait):
		c.t.Fatalf("no message within %v", wait)
	}
	return mqttbridge.Message{}
}

// noMsg checks that no message arrives within d.
func (c *client) noMsg(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected message %q on %q", m.Payload, m.Topic)
	case <-time.After(d):
	}
}

// lostEvent waits for OnLost.
func (c *client) lostEvent() mqttbridge.Lost {
	c.t.Helper()
	select {
	case l := <-c.lost:
		return l
	case <-time.After(wait):
		c.t.Fatalf("no lost-connection report within %v", wait)
	}
	return mqttbridge.Lost{}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Within(t, wait, what, cond)
}

// pair connects a subscriber and a publisher to br with protocol v.
func pair(t testing.TB, br *mosquitto.Broker, v abi.MQTTProtocolVersion) (sub, pub *client) {
	t.Helper()
	sub, pub = newClient(t, mqttbridge.Options{}), newClient(t, mqttbridge.Options{})
	sub.mustConnect(params(br, v, "sub-"+t.Name()))
	pub.mustConnect(params(br, v, "pub-"+t.Name()))
	return sub, pub
}

// wire records what a bridge writes to and reads from plain TCP
// connections, to check the packets it exchanges.
type wire struct {
	mu      sync.Mutex
	out, in bytes.Buffer
}

func (w *wire) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.out.Reset()
	w.in.Reset()
	w.mu.Unlock()
	return &recConn{Conn: c, w: w}, nil
}

type recConn struct {
	net.Conn
	w *wire
}

func (c *recConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.mu.Lock()
	c.w.out.Write(p[:n])
	c.w.mu.Unlock()
	return n, err
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.mu.Lock()
	c.w.in.Write(p[:n])
	c.w.mu.Unlock()
	return n, err
}

// ids decodes the stream written (out) or read (!out) so far and returns
// the packet IDs of its packets of type typ (PUBLISH or PUBACK).
func (w *wire) ids(t testing.TB, v abi.MQTTProtocolVersion, out bool, typ byte) []uint16 {
	t.Helper()
	pv := byte(4)
	if v == abi.MQTTProtocolVersionV5 {
		pv = 5
	}
	w.mu.Lock()
	data := bytes.Clone(w.in.Bytes())
	if out {
		data = bytes.Clone(w.out.Bytes())
	}
	w.mu.Unlock()
	var ids []uint16
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		hb, _ := r.ReadByte()
		pk := packets.Packet{ProtocolVersion: pv}
		if err := pk.FixedHeader.Decode(hb); err != nil {
			t.Fatalf("bad fixed header: %v", err)
		}
		n, _, err := packets.DecodeLength(r)
		if err != nil {
			break // a packet cut short at the end of what was recorded
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			break
		}
		if pk.FixedHeader.Type != typ {
			continue
		}
		switch typ {
		case packets.Puback:
			err = pk.PubackDecode(body)
		case packets.Publish:
			err = pk.PublishDecode(body)
		default:
			t.Fatalf("wire.ids: type %d not supported", typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, pk.PacketID)
	}
	return ids
}

// tlsSetup is a CA, a broker certificate from it, and DER credentials.
type tlsSetup struct {
	ca   *pki.CA
	cert tls.Certificate // the broker's
}

func newTLSSetup(t testing.TB, notBefore, notAfter time.Time) *tlsSetup {
	t.Helper()
	ca, err := pki.NewCA("mqttbridge test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"localhost", "127.0.0.1"}, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsSetup{ca: ca, cert: cert}
}

// broker starts a TLS broker with s's certificate that trusts clientCAs
// for client certificates (s's CA if none).
func (s *tlsSetup) broker(t testing.TB, requireCert bool, clientCAs ...*x509.Certificate) *mosquitto.Broker {
	t.Helper()
	if len(clientCAs) == 0 {
		clientCAs = []*x509.Certificate{s.ca.Cert}
	}
	return mosquitto.Start(t, mosquitto.Options{TLS: &mosquitto.TLS{Cert: s.cert, CAs: clientCAs, RequireCertificate: requireCert}})
}

// clientCreds issues a client certificate from ca for a key of type kt and
// returns credentials trusting trust, with the key in the given DER format.
func clientCreds(t testing.TB, ca *pki.CA, trust *x509.Certificate, kt pki.KeyType, keyFormat string, notAfter time.Time) *mqttbridge.Credentials {
	t.Helper()
	key, err := pki.NewKey(kt)
	if err != nil {
		t.Fatal(err)
	}
	var notBefore time.Time
	if !notAfter.IsZero() {
		notBefore = notAfter.Add(-48 * time.Hour)
	}
	cert, err := ca.ClientCert("device", key, notBefore, notAfter)
	if err != nil {
		t.Fatal(err)
	}
	return &mqttbridge.Credentials{CACerts: [][]byte{trust.Raw}, ClientCerts: cert.Certificate, Key: keyDER(t, key, keyFormat)}
}

// keyDER encodes key as "pkcs8", "pkcs1" (RSA) or "sec1" (EC).
func keyDER(t testing.TB, key crypto.Signer, format string) []byte {
	t.Helper()
	var der []byte
	var err error
	switch format {
	case "pkcs8":
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "pkcs1":
		der = x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))
	case "sec1":
		der, err = x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
	default:
		t.Fatalf("key format %q", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return der
}
