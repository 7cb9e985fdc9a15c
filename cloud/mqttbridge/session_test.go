package mqttbridge_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// TestAckOrder: QoS 1 messages acknowledged out of order by the device get
// their PUBACKs in arrival order, and messages whose PUBACK was held back
// come again on the next connection of a persistent session.
func TestAckOrder(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			w := &wire{}
			sub := newClient(t, mqttbridge.Options{Dial: w.dial})
			p := params(br, v.v, "acks-"+v.name)
			p.CleanStart = false
			sub.mustConnect(p)
			sub.subscribe(mqttbridge.Subscription{Topic: "acks/t", QoS: 1})
			pub := newClient(t, mqttbridge.Options{})
			pub.mustConnect(params(br, v.v, "acks-pub-"+v.name))
			for i := range 3 {
				pub.mustPublish("acks/t", fmt.Sprint("m", i), 1, false)
			}
			m := []mqttbridge.Message{sub.msg(), sub.msg(), sub.msg()}
			arrival := w.ids(t, v.v, false, packets.Publish)
			if len(arrival) != 3 {
				t.Fatalf("PUBLISH packet IDs read: %v", arrival)
			}
			for _, i := range []int{2, 1} {
				if err := sub.b.Ack(m[i].ID); err != nil {
					t.Fatal(err)
				}
			}
			// A round trip through the writer: PUBACKs, had they been
			// queued, would have been written before this SUBSCRIBE.
			sub.subscribe(mqttbridge.Subscription{Topic: "acks/other"})
			if got := w.ids(t, v.v, true, packets.Puback); len(got) != 0 {
				t.Fatalf("PUBACKs %v sent while the first message is unacknowledged", got)
			}
			if n := sub.b.Stats().Unacked; n != 3 {
				t.Fatalf("%d unacknowledged, want 3", n)
			}
			if err := sub.b.Ack(m[0].ID); err != nil {
				t.Fatal(err)
			}
			eventually(t, "3 PUBACKs", func() bool { return len(w.ids(t, v.v, true, packets.Puback)) == 3 })
			if got := w.ids(t, v.v, true, packets.Puback); !slices.Equal(got, arrival) {
				t.Fatalf("PUBACKs for packet IDs %v, want arrival order %v", got, arrival)
			}

			// Two more; the second is acknowledged, the first is not, and the
			// device's link drops (Close).
			pub.mustPublish("acks/t", "m3", 1, false)
			pub.mustPublish("acks/t", "m4", 1, false)
			m3, m4 := sub.msg(), sub.msg()
			if err := sub.b.Ack(m4.ID); err != nil {
				t.Fatal(err)
			}
			sub.subscribe(mqttbridge.Subscription{Topic: "acks/other"})
			if got := w.ids(t, v.v, true, packets.Puback); len(got) != 3 {
				t.Fatalf("PUBACKs %v: m4's went out before m3's", got)
			}
			sub.b.Close()
			_ = m3

			// The persistent session gets both again.
			again := newClient(t, mqttbridge.Options{})
			again.mustConnect(p)
			r3, r4 := again.msg(), again.msg()
			if string(r3.Payload) != "m3" || string(r4.Payload) != "m4" || r3.QoS != 1 {
				t.Fatalf("redelivered %q, %q, want m3, m4", r3.Payload, r4.Payload)
			}
			for _, m := range []mqttbridge.Message{r4, r3} {
				if err := again.b.Ack(m.ID); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "all acknowledged", func() bool { return again.b.Stats().Unacked == 0 })
			again.b.Disconnect()
			again.result(mqttbridge.KindDisconnect)
		})
	}
}

func TestWill(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			topic := "will/" + v.name
			watcher := newClient(t, mqttbridge.Options{})
			watcher.mustConnect(params(br, v.v, "watcher-"+v.name))
			watcher.subscribe(mqttbridge.Subscription{Topic: topic, QoS: 1})
			withWill := func(id string) *client {
				c := newClient(t, mqttbridge.Options{})
				p := params(br, v.v, id)
				p.Will = &mqttbridge.Will{Topic: topic, Payload: []byte(id + " is gone"), QoS: 1}
				c.mustConnect(p)
				return c
			}

			// The device's link drops: the bridge closes the connection
			// without DISCONNECT and the broker publishes the will.
			withWill("dropped").b.Close()
			if m := watcher.msg(); string(m.Payload) != "dropped is gone" || m.QoS != 1 {
				t.Fatalf("got %+v, want the will", m)
			}

			// A requested disconnect discards the will.
			polite := withWill("polite")
			polite.b.Disconnect()
			if r := polite.result(mqttbridge.KindDisconnect); r.State != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("disconnect: %v", r.State)
			}
			marker := newClient(t, mqttbridge.Options{})
			marker.mustConnect(params(br, v.v, "marker-"+v.name))
			marker.mustPublish(topic, "marker", 1, false)
			if m := watcher.msg(); string(m.Payload) != "marker" {
				t.Fatalf("got %q before the marker: the will was published after DISCONNECT", m.Payload)
			}
		})
	}
}

func TestBrokerRestart(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			c.mustConnect(params(br, v.v, "restart"))
			c.subscribe(mqttbridge.Subscription{Topic: "restart/t", QoS: 1})
			br.Stop()
			l := c.lostEvent()
			if l.State != abi.MQTTRequestStateNotConnected || !l.ServerClosed {
				t.Fatalf("lost: %+v, want NOTCONNECTED closed by the server", l)
			}
			t.Logf("broker stopped: %+v", l)
			c.b.Publish(9, "restart/t", []byte("x"), 1, false)
			if r := c.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateNotConnected {
				t.Fatalf("publish after the loss: %v", r.State)
			}
			if err := br.Restart(); err != nil {
				t.Fatal(err)
			}
			again := newClient(t, mqttbridge.Options{})
			again.mustConnect(params(br, v.v, "restart"))

			// A request waiting for the broker when the connection breaks
			// completes NOTCONNECTED before the loss is reported.
			br.Pause()
			again.b.Publish(10, "restart/t", []byte("x"), 1, false)
			eventually(t, "publish written", func() bool { return again.b.Stats().Inflight == 1 })
			br.Kill()
			if r := again.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateNotConnected || r.Corr != 10 {
				t.Fatalf("publish in flight: %+v", r)
			}
			l = again.lostEvent()
			if l.State != abi.MQTTRequestStateNotConnected {
				t.Fatalf("lost: %+v", l)
			}
			t.Logf("broker killed: %+v", l)
			if err := br.Restart(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeepalive(t *testing.T) {
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel() // each idles for seconds, with a broker of its own to pause
			br := mosquitto.Start(t, mosquitto.Options{})
			w := &wire{}
			c := newClient(t, mqttbridge.Options{Dial: w.dial, PingTimeout: 500 * time.Millisecond})
			p := params(br, v.v, "keepalive")
			p.Keepalive = 1
			c.mustConnect(p)
			// Idle for longer than the keepalive (Mosquitto drops clients
			// silent for 1.5 times it): PINGREQs keep the session up.
			time.Sleep(2500 * time.Millisecond)
			select {
			case l := <-c.lost:
				t.Fatalf("lost while idle: %+v", l)
			default:
			}
			c.mustPublish("ka/t", "alive", 1, false)

			// A broker that stops answering is detected by the missing
			// PINGRESP.
			// (The error naming PINGRESP shows which mechanism noticed;
			// how soon is not asserted: a loaded machine may be slow.)
			br.Pause()
			defer br.Continue()
			l := c.lostEvent()
			if l.State != abi.MQTTRequestStateNotConnected || l.ServerClosed || !strings.Contains(l.Err.Error(), "PINGRESP") {
				t.Fatalf("lost: %+v (%v)", l, l.Err)
			}
			br.Continue()
		})
	}
}

func TestServerDisconnect(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			first := newClient(t, mqttbridge.Options{})
			first.mustConnect(params(br, v.v, "takeover"))
			second := newClient(t, mqttbridge.Options{})
			second.mustConnect(params(br, v.v, "takeover"))
			// The broker hands the client ID to the second connection and
			// closes the first. Mosquitto 2.0.11 closes without DISCONNECT
			// in v5 too (later versions send 0x8E "session taken over",
			// which TestServerDisconnectReason covers with a scripted
			// broker).
			l := first.lostEvent()
			if !l.ServerClosed || l.State != abi.MQTTRequestStateNotConnected {
				t.Fatalf("lost: %+v, want closed by the server", l)
			}
		})
	}
}

// TestServerDisconnectReason: a v5 DISCONNECT from the broker ends the
// session with its reason code, after the waiting requests.
func TestServerDisconnectReason(t *testing.T) {
	addr := scriptedBroker(t, func(conn net.Conn, br *bufio.Reader) {
		readAny(t, br) // CONNECT
		write(t, conn, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 5})
		readAny(t, br) // PUBLISH, left unanswered
		write(t, conn, &packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Disconnect}, ProtocolVersion: 5, ReasonCode: 0x8B,
			Properties: packets.Properties{ReasonString: "shutting down"},
		})
	})
	c := newClient(t, mqttbridge.Options{})
	c.mustConnect(mqttbridge.ConnectParams{Version: abi.MQTTProtocolVersionV5, Host: "127.0.0.1", Port: addr, CleanStart: true})
	c.b.Publish(3, "t", []byte("x"), 1, false)
	if r := c.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateNotConnected || r.Corr != 3 {
		t.Fatalf("publish: %+v", r)
	}
	l := c.lostEvent()
	if !l.ServerClosed || l.Reason != 0x8B || l.State != abi.MQTTRequestStateNotConnected || !strings.Contains(l.Err.Error(), "shutting down") {
		t.Fatalf("lost: %+v", l)
	}
}

// TestMessagesBeforeLoss: messages the broker sent before closing reach
// OnMessage before OnLost.
func TestMessagesBeforeLoss(t *testing.T) {
	port := scriptedBroker(t, func(conn net.Conn, br *bufio.Reader) {
		readAny(t, br) // CONNECT
		write(t, conn, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: 4})
		for i := range 3 {
			write(t, conn, &packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1}, ProtocolVersion: 4,
				PacketID: uint16(i + 1), TopicName: "last", Payload: []byte(fmt.Sprint("words ", i))})
		}
		conn.Close()
	})
	c := newClient(t, mqttbridge.Options{})
	c.mustConnect(mqttbridge.ConnectParams{Version: abi.MQTTProtocolVersionV311, Host: "127.0.0.1", Port: port, CleanStart: true})
	l := c.lostEvent()
	if !l.ServerClosed || len(c.msgs) != 3 {
		t.Fatalf("lost %+v with %d messages delivered before it, want 3", l, len(c.msgs))
	}
	if err := c.b.Ack(c.msg().ID); err != mqttbridge.ErrNotConnected {
		t.Fatalf("Ack after the loss: %v", err)
	}
}

// scriptedBroker accepts one connection on a loopback port and runs script
// on it; it returns the port.
func scriptedBroker(t *testing.T, script func(conn net.Conn, br *bufio.Reader)) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{})
	t.Cleanup(func() { <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		script(conn, bufio.NewReader(conn))
		_, _ = io.Copy(io.Discard, conn) // until the bridge closes
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

// readAny reads one packet's bytes.
func readAny(t *testing.T, br *bufio.Reader) {
	if _, err := br.ReadByte(); err != nil {
		t.Error(err)
		return
	}
	n, _, err := packets.DecodeLength(br)
	if err == nil {
		_, err = io.CopyN(io.Discard, br, int64(n))
	}
	if err != nil {
		t.Error(err)
	}
}

// write encodes pk (CONNACK, PUBLISH, DISCONNECT) and writes it.
func write(t *testing.T, conn net.Conn, pk *packets.Packet) {
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	}
	if err == nil {
		_, err = conn.Write(buf.Bytes())
	}
	if err != nil {
		t.Error(err)
	}
}

func TestCircuitBreaker(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			watcher := newClient(t, mqttbridge.Options{})
			watcher.mustConnect(params(br, v.v, "cb-watcher"))
			watcher.subscribe(mqttbridge.Subscription{Topic: "cb/will", QoS: 1})
			pub := newClient(t, mqttbridge.Options{})
			pub.mustConnect(params(br, v.v, "cb-pub"))

			slow := newClient(t, mqttbridge.Options{BreakerBacklog: 10, BreakerRate: 1})
			p := params(br, v.v, "cb-slow")
			p.Will = &mqttbridge.Will{Topic: "cb/will", Payload: []byte("cut off")}
			slow.mustConnect(p)
			slow.subscribe(mqttbridge.Subscription{Topic: "cb/t", QoS: 1})
			slow.refuse.Store(true)
			for i := range 50 {
				pub.b.Publish(uint32(i), "cb/t", []byte(fmt.Sprint(i)), 0, false)
			}
			l := slow.lostEvent()
			if l.State != abi.MQTTRequestStateConnectionCircuitBreaker || l.ServerClosed {
				t.Fatalf("lost: %+v, want CONNECTIONCIRCUITBREAKER", l)
			}
			if st := slow.b.Stats(); st.Waiting != 0 || st.WaitingBytes != 0 {
				t.Fatalf("still waiting after the breaker: %+v", st)
			}
			// Dropped without DISCONNECT: the will is published.
			if m := watcher.msg(); string(m.Payload) != "cut off" {
				t.Fatalf("watcher got %q, want the will", m.Payload)
			}
			slow.b.Subscribe(1, []mqttbridge.Subscription{{Topic: "cb/x"}})
			if r := slow.result(mqttbridge.KindSubscribe); r.State != abi.MQTTRequestStateNotConnected {
				t.Fatalf("subscribe after the breaker: %v", r.State)
			}
		})
	}
}

func TestCircuitBreakerTolerance(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	v := abi.MQTTProtocolVersionV5
	pub := newClient(t, mqttbridge.Options{})
	pub.mustConnect(params(br, v, "cbt-pub"))
	publish := func(n int) {
		for i := range n {
			pub.mustPublish("cbt/t", fmt.Sprint(i), 0, false)
		}
	}
	noLoss := func(c *client) {
		t.Helper()
		select {
		case l := <-c.lost:
			t.Fatalf("lost: %+v", l)
		default:
		}
	}

	t.Run("keeping up", func(t *testing.T) {
		c := newClient(t, mqttbridge.Options{BreakerBacklog: 5, BreakerRate: 0.001})
		c.mustConnect(params(br, v, "cbt-fast"))
		c.subscribe(mqttbridge.Subscription{Topic: "cbt/t"})
		publish(300)
		for range 300 {
			c.msg()
		}
		noLoss(c)
	})
	t.Run("behind within the backlog", func(t *testing.T) {
		c := newClient(t, mqttbridge.Options{BreakerBacklog: 10, BreakerRate: 0.001})
		c.mustConnect(params(br, v, "cbt-behind"))
		c.subscribe(mqttbridge.Subscription{Topic: "cbt/t"})
		c.refuse.Store(true)
		publish(10)
		eventually(t, "10 waiting", func() bool { return c.b.Stats().Waiting == 10 })
		c.refuse.Store(false)
		c.b.Resume()
		for range 10 {
			c.msg()
		}
		noLoss(c)
	})
	t.Run("behind but slowly", func(t *testing.T) {
		// The excess leaks 50 a second: 8 now and 8 more after 200 ms
		// stay within a backlog of 10 though 16 wait.
		c := newClient(t, mqttbridge.Options{BreakerBacklog: 10, BreakerRate: 50})
		c.mustConnect(params(br, v, "cbt-slow"))
		c.subscribe(mqttbridge.Subscription{Topic: "cbt/t"})
		c.refuse.Store(true)
		publish(8)
		eventually(t, "8 waiting", func() bool { return c.b.Stats().Waiting == 8 })
		time.Sleep(200 * time.Millisecond)
		publish(8)
		eventually(t, "16 waiting", func() bool { return c.b.Stats().Waiting == 16 })
		noLoss(c)
		c.refuse.Store(false)
		c.b.Resume()
		for range 16 {
			c.msg()
		}
	})
	t.Run("bytes", func(t *testing.T) {
		c := newClient(t, mqttbridge.Options{BreakerBytes: 1000})
		c.mustConnect(params(br, v, "cbt-bytes"))
		c.subscribe(mqttbridge.Subscription{Topic: "cbt/big"})
		c.refuse.Store(true)
		pub.mustPublish("cbt/big", strings.Repeat("x", 600), 0, false)
		pub.mustPublish("cbt/big", strings.Repeat("x", 600), 0, false)
		if l := c.lostEvent(); l.State != abi.MQTTRequestStateConnectionCircuitBreaker {
			t.Fatalf("lost: %+v", l)
		}
	})
}

func TestCloseDuringConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	dialed := make(chan struct{})
	c := newClient(t, mqttbridge.Options{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		defer close(dialed)
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}})
	c.b.Connect(mqttbridge.ConnectParams{Host: "127.0.0.1", Port: uint16(ln.Addr().(*net.TCPAddr).Port), CleanStart: true})
	<-dialed
	done := make(chan struct{})
	go func() { c.b.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("Close did not return while connecting")
	}
	select {
	case r := <-c.results:
		t.Fatalf("result after Close: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	if conn := <-accepted; conn != nil {
		conn.Close()
	}
}

// heldConn is a broker stream that, while holding is set, holds what it
// read back until let go (as the fault injector holds a delayed PUBLISH,
// and the packets behind it, on a device's virtual clock).
type heldConn struct {
	net.Conn
	holding atomic.Bool
	gate    chan struct{}
	once    sync.Once
	asked   atomic.Int64 // Holding calls
}

func (h *heldConn) Read(p []byte) (int, error) {
	n, err := h.Conn.Read(p)
	if h.holding.Load() {
		<-h.gate
	}
	return n, err
}

func (h *heldConn) letGo() { h.once.Do(func() { close(h.gate) }) }

func (h *heldConn) TakeRelease() func() { return nil }

func (h *heldConn) Holding() bool {
	h.asked.Add(1)
	return h.holding.Load()
}

// A PINGRESP held back by the stream (PacketHolder.Holding) is not
// counted against PingTimeout: the session stays up through a hold much
// longer than the timeout and the PINGRESP is taken once let go.
func TestPingTimeoutNotCountingHeld(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	conns := make(chan *heldConn, 1)
	connect := func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		c, err := mqttbridge.DialConnector(nil)(ctx, addr, conf)
		if err != nil {
			return nil, err
		}
		h := &heldConn{Conn: c, gate: make(chan struct{})}
		conns <- h
		return h, nil
	}
	const timeout = 100 * time.Millisecond
	c := newClient(t, mqttbridge.Options{Connect: connect, PingTimeout: timeout})
	p := params(br, abi.MQTTProtocolVersionV5, "held-ping")
	p.Keepalive = 2 // Mosquitto drops a client silent for 3 s
	c.mustConnect(p)
	h := <-conns
	t.Cleanup(h.letGo) // before the bridge's Close (cleanups run last first)
	h.holding.Store(true)
	// Asked once a tick (a quarter of the timeout, here) while the PINGREQ
	// is unanswered: 8 times spans twice the timeout.
	var lost *mqttbridge.Lost
	eventually(t, "the keepalive asking the stream 8 times, or the session lost", func() bool {
		select {
		case l := <-c.lost:
			lost = &l
			return true
		default:
			return h.asked.Load() >= 8
		}
	})
	if lost != nil {
		t.Fatalf("lost while the stream held the PINGRESP: %+v (%v)", *lost, lost.Err)
	}
	h.holding.Store(false)
	h.letGo()
	c.mustPublish("held/t", "alive", 1, false)
	select {
	case l := <-c.lost:
		t.Fatalf("lost: %+v (%v)", l, l.Err)
	default:
	}
}
