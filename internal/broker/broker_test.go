package broker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	pahopackets "github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/internal/pki"
)

// v5 is an MQTT 5 test client (paho.golang) with its received messages.
type v5 struct {
	*paho.Client
	msgs chan *paho.Publish
}

func dialV5(t *testing.T, addr string, cp *paho.Connect) (*v5, *paho.Connack) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return connectV5(t, conn, cp)
}

// connectV5 sends CONNECT over conn. conn is wrapped for paho's write lock
// (see pahoConn).
func connectV5(t *testing.T, conn net.Conn, cp *paho.Connect) (*v5, *paho.Connack) {
	t.Helper()
	c := &v5{msgs: make(chan *paho.Publish, 100)}
	c.Client = paho.NewClient(paho.ClientConfig{
		Conn: pahoConn(conn),
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			c.msgs <- pr.Packet
			return true, nil
		}},
	})
	if cp.KeepAlive == 0 {
		cp.KeepAlive = 30
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if ca == nil {
		t.Fatalf("connect %s: %v", cp.ClientID, err)
	}
	if ca.ReasonCode == 0 {
		t.Cleanup(func() { c.Disconnect(&paho.Disconnect{}) })
	}
	return c, ca
}

// pahoConn makes conn safe for paho.golang's concurrent writers. paho
// writes a packet as several buffers (net.Buffers.WriteTo) and serializes
// packets only if the connection implements sync.Locker (see
// paho.ClientConfig.Conn); its pinger sends a PINGREQ from its own goroutine
// right after CONNACK. On a *net.TCPConn the buffers go out in one writev, but
// a *tls.Conn gets one Write per buffer, so that PINGREQ could land inside
// the first SUBSCRIBE: mochi then dropped the connection ("malformed packet:
// topic") and Subscribe waited out its timeout. TestTLS failed that way in
// 3-6 of 100 runs (-race, idle machine).
func pahoConn(conn net.Conn) net.Conn {
	if _, ok := conn.(sync.Locker); ok {
		return conn
	}
	return pahopackets.NewThreadSafeConn(conn)
}

var (
	errNoAnswer = errors.New("no answer from the broker within 10s")
	errConnLost = errors.New("connection to the broker lost")
)

// opContext bounds a request to the broker: it ends after 10 s or as soon
// as the client's connection is gone (paho would otherwise wait out the
// timeout for an answer that cannot come). context.Cause tells which.
func (c *v5) opContext() (context.Context, context.CancelFunc) {
	base, stop := context.WithCancelCause(context.Background())
	ctx, cancel := context.WithTimeoutCause(base, 10*time.Second, errNoAnswer)
	go func() {
		select {
		case <-c.Done():
			stop(errConnLost)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(); stop(nil) }
}

// opError describes a failed request: the cause, and the broker's
// goroutines if it did not answer.
func opError(ctx context.Context, err error) string {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errNoAnswer):
		return fmt.Sprintf("%v (%v)\n%s", err, cause, brokerGoroutines())
	case cause != nil:
		return fmt.Sprintf("%v (%v)", err, cause)
	}
	return err.Error()
}

func (c *v5) subscribe(t *testing.T, filter string, qos byte) {
	t.Helper()
	ctx, cancel := c.opContext()
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		t.Fatalf("subscribe %s: %s", filter, opError(ctx, err))
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] != qos {
		t.Fatalf("subscribe %s: reasons %v, want [%d]", filter, sa.Reasons, qos)
	}
}

func (c *v5) publish(t *testing.T, p *paho.Publish) {
	t.Helper()
	ctx, cancel := c.opContext()
	defer cancel()
	if _, err := c.Publish(ctx, p); err != nil {
		t.Fatalf("publish %s: %s", p.Topic, opError(ctx, err))
	}
}

func (c *v5) expect(t *testing.T, topic, payload string) *paho.Publish {
	t.Helper()
	select {
	case m := <-c.msgs:
		if m.Topic != topic || string(m.Payload) != payload {
			t.Fatalf("got %s %q, want %s %q", m.Topic, m.Payload, topic, payload)
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no message on %s", topic)
		return nil
	}
}

// expectSkipping is expect, ignoring live copies of "on" that may precede
// (retained) or follow the wanted message.
func (c *v5) expectSkipping(t *testing.T, topic, payload string, retained bool) *paho.Publish {
	t.Helper()
	for {
		select {
		case m := <-c.msgs:
			if m.Topic == topic && string(m.Payload) == payload && m.Retain == retained {
				return m
			}
			if m.Topic == topic && string(m.Payload) == "on" && !m.Retain {
				continue
			}
			t.Fatalf("got %s %q retain=%v, want %s %q retain=%v", m.Topic, m.Payload, m.Retain, topic, payload, retained)
		case <-time.After(10 * time.Second):
			t.Fatalf("no message on %s", topic)
		}
	}
}

// waitQueued waits until the session of client id holds exactly one
// message, on topic, and nothing else (earlier PUBACKs processed). mochi
// acknowledges a publish before fanning it out, and a message fanned out to
// a session while a reconnect takes it over can be stranded in the old
// session (see docs/broker.md); tests reconnect only once the message is in.
func waitQueued(t *testing.T, b *Broker, id, topic string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var held []string
		if cl, ok := b.server.Clients.Get(id); ok {
			m := cl.State.Inflight.GetAll(false)
			if len(m) == 1 && m[0].TopicName == topic {
				return
			}
			for _, p := range m {
				held = append(held, fmt.Sprintf("%s (id %d)", p.TopicName, p.PacketID))
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s never held just the message on %s; it holds %q", id, topic, held)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDefaultsAndLifecycle(t *testing.T) {
	b := New(Options{})
	if b.Addr() != nil {
		t.Fatalf("Addr before Start = %v, want nil", b.Addr())
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, ok := b.Addr().(*net.TCPAddr)
	if !ok || !a.IP.IsLoopback() || a.Port == 0 {
		t.Fatalf("Addr = %v, want a loopback port", b.Addr())
	}
	if err := b.Start(context.Background()); err == nil {
		t.Fatal("second Start succeeded")
	}

	c, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "lifecycle", CleanStart: true})
	// A connection that never sends CONNECT must not hold Close up.
	silent, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Close hangs:\n%s", brokerGoroutines())
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("client still connected after Close")
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil {
		t.Fatal("silent connection still open after Close")
	}
	if _, err := net.DialTimeout("tcp", a.String(), time.Second); err == nil {
		t.Fatal("still accepting after Close")
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Start(context.Background()); err == nil {
		t.Fatal("Start after Close succeeded")
	}
}

func TestContextCancelCloses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := New(Options{})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := b.Addr().String()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("broker still accepting after its context was cancelled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Close()
}

func TestStartErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
	}{
		{"bad address", Options{Addr: "127.0.0.1:notaport"}},
		{"TLS without certificate", Options{TLS: &tls.Config{}}},
		{"empty user name", Options{Users: map[string]string{"": "x"}}},
	} {
		if err := New(c.o).Start(context.Background()); err == nil {
			t.Errorf("%s: Start succeeded", c.name)
		}
	}
	b := startBroker(t, Options{})
	if err := New(Options{Addr: b.Addr().String()}).Start(context.Background()); err == nil {
		t.Error("Start on a port in use succeeded")
	}
}

func TestV5PublishSubscribeQoS012(t *testing.T) {
	b := startBroker(t, Options{})
	sub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "sub", CleanStart: true})
	sub.subscribe(t, "t/#", 2)
	pub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "pub", CleanStart: true})
	for qos := byte(0); qos <= 2; qos++ {
		pub.publish(t, &paho.Publish{Topic: "t/q", QoS: qos, Payload: fmt.Appendf(nil, "qos%d", qos)})
		if m := sub.expect(t, "t/q", fmt.Sprintf("qos%d", qos)); m.QoS != qos {
			t.Errorf("QoS %d message arrived with QoS %d", qos, m.QoS)
		}
	}
}

func TestV5Retained(t *testing.T) {
	b := startBroker(t, Options{})
	pub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "pub", CleanStart: true})
	pub.publish(t, &paho.Publish{Topic: "r/state", QoS: 1, Retain: true, Payload: []byte("on")})
	sub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "sub", CleanStart: true})
	sub.subscribe(t, "r/#", 1)
	// mochi acknowledges a publish before it fans it out, so the subscriber
	// may also get "on" live (without the retain flag) if its subscription
	// beat the fan-out: skip that copy.
	if m := sub.expectSkipping(t, "r/state", "on", true); !m.Retain {
		t.Error("retained message delivered without the retain flag")
	}
	// An empty retained payload clears it.
	pub.publish(t, &paho.Publish{Topic: "r/state", QoS: 1, Retain: true})
	sub.expectSkipping(t, "r/state", "", false)
	late, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "late", CleanStart: true})
	late.subscribe(t, "r/#", 1)
	select {
	case m := <-late.msgs:
		t.Fatalf("cleared retained message still delivered: %s %q", m.Topic, m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestV5WillOnConnectionLoss(t *testing.T) {
	b := startBroker(t, Options{})
	sub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "watcher", CleanStart: true})
	sub.subscribe(t, "will/#", 1)

	conn, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	connectV5(t, conn, &paho.Connect{ClientID: "dying", CleanStart: true,
		WillMessage: &paho.WillMessage{Topic: "will/dying", QoS: 1, Payload: []byte("gone")}})
	conn.Close() // no DISCONNECT: the will is published
	sub.expect(t, "will/dying", "gone")

	// A clean DISCONNECT discards the will.
	polite, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "polite", CleanStart: true,
		WillMessage: &paho.WillMessage{Topic: "will/polite", QoS: 1, Payload: []byte("gone")}})
	polite.Disconnect(&paho.Disconnect{})
	select {
	case m := <-sub.msgs:
		t.Fatalf("will sent after a clean DISCONNECT: %s %q", m.Topic, m.Payload)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestV5PersistentSession(t *testing.T) {
	b := startBroker(t, Options{})
	expiry := uint32(300)
	cp := func(clean bool) *paho.Connect {
		return &paho.Connect{ClientID: "durable", CleanStart: clean,
			Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}
	}
	sub, ca := dialV5(t, b.Addr().String(), cp(true))
	if ca.SessionPresent {
		t.Fatal("session present on a clean start")
	}
	sub.subscribe(t, "p/#", 1)
	sub.Disconnect(&paho.Disconnect{})
	<-sub.Done()

	pub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "pub", CleanStart: true})
	pub.publish(t, &paho.Publish{Topic: "p/1", QoS: 1, Payload: []byte("while away")})
	waitQueued(t, b, "durable", "p/1")

	sub, ca = dialV5(t, b.Addr().String(), cp(false))
	if !ca.SessionPresent {
		t.Fatal("session not present on resume")
	}
	sub.expect(t, "p/1", "while away")
	pub.publish(t, &paho.Publish{Topic: "p/2", QoS: 1, Payload: []byte("back")})
	sub.expect(t, "p/2", "back")
}

func TestV311(t *testing.T) {
	b := startBroker(t, Options{})
	addr := b.Addr().String()
	sub, ack := dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3sub", Clean: false})
	if ack.ReasonCode != 0 || ack.SessionPresent {
		t.Fatalf("CONNACK code %d present %v", ack.ReasonCode, ack.SessionPresent)
	}
	sub.subscribe(t, "v3/#", 1)

	pub, _ := dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3pub", Clean: true})
	pub.publishQoS1(t, 1, "v3/a", "hello", false)
	m := sub.read(t)
	if m.FixedHeader.Type != packets.Publish || m.TopicName != "v3/a" || string(m.Payload) != "hello" || m.FixedHeader.Qos != 1 {
		t.Fatalf("got %+v", m)
	}
	sub.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m.PacketID})

	// Retained, to a later subscriber.
	pub.publishQoS1(t, 2, "v3/r", "kept", true)
	if m := sub.read(t); m.TopicName != "v3/r" || m.FixedHeader.Retain {
		t.Fatalf("live delivery of a retained message: %+v (retain flag must be clear)", m)
	} else {
		sub.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: m.PacketID})
	}
	late, _ := dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3late", Clean: true})
	late.subscribe(t, "v3/r", 1)
	if m := late.read(t); m.TopicName != "v3/r" || string(m.Payload) != "kept" || !m.FixedHeader.Retain {
		t.Fatalf("retained: got %+v", m)
	}

	// Persistent session (clean session 0): queued while away, session present.
	sub.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Disconnect}})
	sub.Close()
	pub.publishQoS1(t, 3, "v3/b", "queued", false)
	waitQueued(t, b, "v3sub", "v3/b")
	sub, ack = dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3sub", Clean: false})
	if ack.ReasonCode != 0 || !ack.SessionPresent {
		t.Fatalf("resume: CONNACK code %d present %v", ack.ReasonCode, ack.SessionPresent)
	}
	if m := sub.read(t); m.TopicName != "v3/b" || string(m.Payload) != "queued" {
		t.Fatalf("resume: got %+v", m)
	}

	// Will on connection loss.
	w, _ := dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3will", Clean: true,
		WillFlag: true, WillTopic: "v3/will", WillPayload: []byte("bye"), WillQos: 1})
	w.Close() // no DISCONNECT
	if m := sub.read(t); m.TopicName != "v3/will" || string(m.Payload) != "bye" {
		t.Fatalf("will: got %+v", m)
	}
}

func TestUsers(t *testing.T) {
	b := startBroker(t, Options{Users: map[string]string{"alice": "s3cret"}})
	addr := b.Addr().String()
	_, ca := dialV5(t, addr, &paho.Connect{ClientID: "good", CleanStart: true,
		Username: "alice", UsernameFlag: true, Password: []byte("s3cret"), PasswordFlag: true})
	if ca.ReasonCode != 0 {
		t.Fatalf("good credentials: reason %#x", ca.ReasonCode)
	}
	for _, c := range []struct {
		name string
		cp   *paho.Connect
	}{
		{"wrong password", &paho.Connect{ClientID: "bad1", CleanStart: true, Username: "alice", UsernameFlag: true, Password: []byte("nope"), PasswordFlag: true}},
		{"unknown user", &paho.Connect{ClientID: "bad2", CleanStart: true, Username: "mallory", UsernameFlag: true, Password: []byte("s3cret"), PasswordFlag: true}},
		{"no credentials", &paho.Connect{ClientID: "bad3", CleanStart: true}},
	} {
		_, ca := dialV5(t, addr, c.cp)
		if ca.ReasonCode != 0x86 {
			t.Errorf("v5 %s: reason %#x, want 0x86 (bad user name or password)", c.name, ca.ReasonCode)
		}
	}
	_, ack := dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3good", Clean: true,
		UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("s3cret")})
	if ack.ReasonCode != 0 {
		t.Errorf("v3.1.1 good credentials: return code %d", ack.ReasonCode)
	}
	_, ack = dialRaw(t, addr, 4, packets.ConnectParams{ClientIdentifier: "v3bad", Clean: true,
		UsernameFlag: true, Username: []byte("alice"), PasswordFlag: true, Password: []byte("nope")})
	// mochi answers 5 (not authorized), as Mosquitto does, rather than 4.
	if ack.ReasonCode != 5 {
		t.Errorf("v3.1.1 wrong password: return code %d, want 5 (not authorized)", ack.ReasonCode)
	}
}

func TestTLS(t *testing.T) {
	ca, err := pki.NewCA("mvnet broker test CA")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.ServerTLS("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, Options{TLS: cfg})
	conn, err := tls.Dial("tcp", b.Addr().String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c, ack := connectV5(t, conn, &paho.Connect{ClientID: "tls", CleanStart: true})
	if ack.ReasonCode != 0 {
		t.Fatalf("reason %#x", ack.ReasonCode)
	}
	c.subscribe(t, "s/#", 1)
	c.publish(t, &paho.Publish{Topic: "s/1", QoS: 1, Payload: []byte("secure")})
	c.expect(t, "s/1", "secure")

	// Plain MQTT to the TLS port gets nowhere.
	plain, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	var buf bytes.Buffer
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: "plain", Clean: true, Keepalive: 30}}
	pk.ConnectEncode(&buf)
	plain.Write(buf.Bytes())
	plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := io.ReadAll(plain); err == nil && len(b) > 0 && b[0] == packets.Connack<<4 {
		t.Fatal("plain-text CONNECT accepted by the TLS listener")
	}
}

// rawClient is a minimal MQTT client built on mochi's packet codec, for
// MQTT 3.1.1 (which paho.golang does not speak).
type rawClient struct {
	net.Conn
	r       *bufio.Reader
	version byte
}

func dialRaw(t *testing.T, addr string, version byte, cp packets.ConnectParams) (*rawClient, packets.Packet) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{Conn: conn, r: bufio.NewReader(conn), version: version}
	t.Cleanup(func() { conn.Close() })
	cp.ProtocolName = []byte("MQTT")
	if cp.Keepalive == 0 {
		cp.Keepalive = 30
	}
	c.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, Connect: cp})
	ack := c.read(t)
	if ack.FixedHeader.Type != packets.Connack {
		t.Fatalf("got packet type %d, want CONNACK", ack.FixedHeader.Type)
	}
	return c, ack
}

func (c *rawClient) write(t *testing.T, pk packets.Packet) {
	t.Helper()
	pk.ProtocolVersion = c.version
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	default:
		t.Fatalf("rawClient cannot encode packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
}

func (c *rawClient) read(t *testing.T) packets.Packet {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hb, err := c.r.ReadByte()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	pk := packets.Packet{ProtocolVersion: c.version}
	if err := pk.FixedHeader.Decode(hb); err != nil {
		t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(c.r)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		t.Fatal(err)
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	default:
		t.Fatalf("rawClient cannot decode packet type %d", pk.FixedHeader.Type)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pk
}

func (c *rawClient) subscribe(t *testing.T, filter string, qos byte) {
	t.Helper()
	c.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: filter, Qos: qos}}})
	ack := c.read(t)
	if ack.FixedHeader.Type != packets.Suback || !bytes.Equal(ack.ReasonCodes, []byte{qos}) {
		t.Fatalf("SUBACK %+v", ack)
	}
}

func (c *rawClient) publishQoS1(t *testing.T, id uint16, topic, payload string, retain bool) {
	t.Helper()
	c.write(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Retain: retain},
		PacketID: id, TopicName: topic, Payload: []byte(payload)})
	ack := c.read(t)
	if ack.FixedHeader.Type != packets.Puback || ack.PacketID != id {
		t.Fatalf("want PUBACK %d, got %+v", id, ack)
	}
}

// An MQTT 5 client announcing a small Receive Maximum still gets every
// message from concurrent publishers. (The guard makes the broker ignore the
// announced value; see inflightGuard.)
func TestV5SmallReceiveMaximum(t *testing.T) {
	b := startBroker(t, Options{})
	rm := uint16(1)
	sub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: "rm1", CleanStart: true,
		Properties: &paho.ConnectProperties{ReceiveMaximum: &rm}})
	sub.subscribe(t, "rm/#", 1)
	const pubs, each = 4, 25
	done := make(chan struct{})
	for i := range pubs {
		pub, _ := dialV5(t, b.Addr().String(), &paho.Connect{ClientID: fmt.Sprintf("rm-pub-%d", i), CleanStart: true})
		go func() {
			defer func() { done <- struct{}{} }()
			for j := range each {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := pub.Publish(ctx, &paho.Publish{Topic: "rm/x", QoS: 1, Payload: fmt.Appendf(nil, "%d/%d", i, j)})
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	seen := map[string]bool{}
	for len(seen) < pubs*each {
		select {
		case m := <-sub.msgs:
			seen[string(m.Payload)] = true
		case <-time.After(10 * time.Second):
			t.Fatalf("%d/%d messages received", len(seen), pubs*each)
		}
	}
	for range pubs {
		<-done
	}
}

// Close must not hang while clients come and go. mochi-mqtt v2.7.9's own
// Server.Close path (closeListenerClients → Clients.GetByListener) takes the
// clients map's read lock twice and can deadlock against a connecting or
// leaving client's Clients.Add/Delete; the broker disconnects clients
// itself with a single read lock (disconnectClients). The window is narrow:
// this smoke test churns connections across Close but rarely hits it even
// with mochi's path; the fix holds by construction.
func TestCloseWhileClientsLeave(t *testing.T) {
	for round := range 20 {
		b := New(Options{})
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		addr := b.Addr().String()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					conn, err := net.Dial("tcp", addr)
					if err != nil {
						return
					}
					var buf bytes.Buffer
					pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
						Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), ClientIdentifier: fmt.Sprintf("churn-%d-%d", w, i), Clean: true, Keepalive: 30}}
					pk.ConnectEncode(&buf)
					conn.Write(buf.Bytes())
					conn.Read(make([]byte, 4)) // CONNACK
					conn.Close()
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		closed := make(chan error, 1)
		go func() { closed <- b.Close() }()
		select {
		case err := <-closed:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Close hangs:\n%s", round, brokerGoroutines())
		}
		close(stop)
		wg.Wait()
	}
}
