package test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
)

// MQTT performance targets (docs/performance.md, "MQTT"), checked against
// a baseline measured against the same Mosquitto in the same run:
//   - publish-to-delivery latency through the device path (device A's
//     mvMqttRequestPublish → kernel → link → cloud → broker → cloud → link
//     → device B's kernel → notification → mvMqttReceiveMessage) at most
//     1.5× that of two paho (v5) clients talking to the broker directly, at
//     p50 and p99;
//   - throughput at QoS 0 and QoS 1 at least 0.6× direct, with the same
//     window of messages in flight on both paths.
//
// Both paths speak MQTT 5 over plain TCP on loopback, publish 64-byte
// payloads on their own topic, and are alternated so that machine noise
// hits both.

const (
	// benchMQTTPayload is the size of every message's payload; its first 8
	// bytes are the message's sequence number.
	benchMQTTPayload = 64
	// benchMQTTWindow bounds the messages published and not yet delivered
	// in the throughput benchmark, on both paths: the kernel's cap on
	// publishes in flight per channel (maxMQTTPublishes in
	// kernel/sys_mqtt.go). Mosquitto's Receive Maximum (20) also bounds
	// QoS 1 publishes in flight on both paths: the cloud's broker session
	// and paho both honour it.
	benchMQTTWindow = 16
	// benchMQTTRound is how many messages one path sends before the other
	// takes its turn in the throughput benchmark.
	benchMQTTRound = 500
	// benchMQTTStall fails a benchmark when no message has been delivered
	// on either path for this long.
	benchMQTTStall = 15 * time.Second
	// benchMQTTTag tags the MQTT channels' notifications ("MQTT").
	benchMQTTTag = 0x4d515454

	benchRelayedTopic = "bench/relayed"
	benchDirectTopic  = "bench/direct"
)

// mqttBenchRig is one broker with, on one side, a cloud and two devices
// (pub publishes, sub is subscribed to benchRelayedTopic) and, on the
// other, two paho clients connected straight to the broker (dpub
// publishes, dsub is subscribed to benchDirectTopic).
type mqttBenchRig struct {
	ctx      context.Context // cancelled when nothing is delivered for benchMQTTStall
	progress atomic.Uint64   // deliveries on both paths, for the watchdog
	stalled  atomic.Bool

	pub, sub   *benchMQTTDev
	dpub, dsub *paho.Client
	dmsgs      chan pahoDelivery // dsub's deliveries
	seq        uint64            // the last sequence number used, both paths
}

// pahoDelivery is a message dsub received, and when.
type pahoDelivery struct {
	seq uint64
	qos byte
	at  time.Time
}

// benchMQTTDev is a device with a connected MQTT channel, driven through
// the typed device calls.
type benchMQTTDev struct {
	d   *device.Device
	n   *device.Net
	ch  *device.Channel
	ctx context.Context
}

// newMQTTBenchRig starts everything, each step bounded in time: at most
// waitLimit per wait during the setup, and benchMQTTStall without a
// delivery afterwards.
func newMQTTBenchRig(b *testing.B) *mqttBenchRig {
	b.Helper()
	mosquitto.Require(b)
	// Mosquitto as the tests start it logs every packet; a broker in
	// service would not, and logging would weigh on both paths alike.
	br := mosquitto.Start(b, mosquitto.Options{Extra: []string{"log_type none", "log_type error", "log_type warning", "set_tcp_nodelay true"}})
	srv := testenv.NewCloud(b, cloud.Options{HTTP: httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}})

	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	r := &mqttBenchRig{ctx: ctx, dmsgs: make(chan pahoDelivery, 4*benchMQTTWindow)}
	go r.watchdog(cancel)

	setup, cancelSetup := context.WithTimeout(ctx, waitLimit)
	defer cancelSetup()
	r.pub = newBenchMQTTDev(b, setup, srv, br, "bench-relayed-pub", 2048, 4096)
	r.sub = newBenchMQTTDev(b, setup, srv, br, "bench-relayed-sub", 8192, 1024)
	if st, err := r.sub.d.MQTTRequestSubscribe(r.sub.ch, 1, []device.MQTTSubscription{{Topic: benchRelayedTopic, QoS: 1}}); err != nil || st != abi.StatusOkay {
		b.Fatalf("mvMqttRequestSubscribe: %s %v", st, err)
	}
	if typ, err := r.sub.next(); err != nil || typ != abi.MQTTReadableDataTypeSubscribeResponse {
		b.Fatalf("waiting for the subscribe response: %v %v", typ, err)
	}
	if resp, st := r.sub.d.MQTTReadSubscribeResponse(r.sub.ch, 1); st != abi.StatusOkay ||
		resp.State != abi.MQTTRequestStateRequestCompleted || !slices.Equal(resp.ReasonCodes, []uint32{1}) {
		b.Fatalf("subscribe response: %+v %s", resp, st)
	}
	// From now on the devices' waits end only when the watchdog sees no
	// progress.
	r.pub.ctx, r.sub.ctx = ctx, ctx

	r.dsub = dialBenchPaho(b, setup, br, "bench-direct-sub", func(pr paho.PublishReceived) (bool, error) {
		at := time.Now()
		d := pahoDelivery{qos: pr.Packet.QoS, at: at}
		if len(pr.Packet.Payload) == benchMQTTPayload {
			d.seq = binary.BigEndian.Uint64(pr.Packet.Payload)
		}
		select {
		case r.dmsgs <- d:
		case <-ctx.Done():
		}
		return true, nil
	})
	if _, err := r.dsub.Subscribe(setup, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: benchDirectTopic, QoS: 1}}}); err != nil {
		b.Fatalf("paho subscribe: %v", err)
	}
	r.dpub = dialBenchPaho(b, setup, br, "bench-direct-pub", nil)
	return r
}

// watchdog cancels the rig's context when no message has been delivered
// for benchMQTTStall, so a lost message fails the benchmark instead of
// hanging it.
func (r *mqttBenchRig) watchdog(cancel func()) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last, since := r.progress.Load(), time.Now()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		if p := r.progress.Load(); p != last {
			last, since = p, time.Now()
		} else if time.Since(since) > benchMQTTStall {
			r.stalled.Store(true)
			cancel()
			return
		}
	}
}

// fail reports err, saying so if the watchdog stopped the benchmark.
func (r *mqttBenchRig) fail(b *testing.B, what string, err error) {
	b.Helper()
	if r.stalled.Load() {
		b.Fatalf("%s: nothing delivered for %v: %v", what, benchMQTTStall, err)
	}
	b.Fatalf("%s: %v", what, err)
}

func newBenchMQTTDev(b *testing.B, ctx context.Context, srv *cloud.Server, br *mosquitto.Broker, clientID string, rx, tx uint32) *benchMQTTDev {
	b.Helper()
	d := testenv.NewDevice(b, srv, device.Options{})
	n, err := d.Connect(ctx, irq)
	if err != nil {
		b.Fatalf("%s: %v", clientID, err)
	}
	ch, st, err := d.OpenChannel(device.ChannelConfig{
		Centre: n.Centre, Tag: benchMQTTTag, Network: n.Handle, Type: abi.ChannelTypeMQTT, RxSize: rx, TxSize: tx,
	})
	if err != nil || st != abi.StatusOkay {
		b.Fatalf("%s: mvOpenChannel: %s %v", clientID, st, err)
	}
	b.Cleanup(func() { _ = d.CloseChannel(ch) })
	v := &benchMQTTDev{d: d, n: n, ch: ch, ctx: ctx}
	if st, err := d.MQTTRequestConnect(ch, device.MQTTConnect{
		Version: abi.MQTTProtocolVersionV5, Host: "127.0.0.1", Port: uint16(br.Port), ClientID: clientID, Keepalive: 60, CleanStart: true,
	}); err != nil || st != abi.StatusOkay {
		b.Fatalf("%s: mvMqttRequestConnect: %s %v", clientID, st, err)
	}
	if typ, err := v.next(); err != nil || typ != abi.MQTTReadableDataTypeConnectResponse {
		b.Fatalf("%s: waiting for the connect response: %v %v", clientID, typ, err)
	}
	if resp, st := d.MQTTReadConnectResponse(ch); st != abi.StatusOkay || resp.RequestState != abi.MQTTRequestStateRequestCompleted || resp.ReasonCode != 0 {
		b.Fatalf("%s: connect response %+v %s", clientID, resp, st)
	}
	return v
}

func dialBenchPaho(b *testing.B, ctx context.Context, br *mosquitto.Broker, clientID string, onPublish func(paho.PublishReceived) (bool, error)) *paho.Client {
	b.Helper()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", br.Addr)
	if err != nil {
		b.Fatal(err)
	}
	cfg := paho.ClientConfig{Conn: conn, PacketTimeout: waitLimit}
	if onPublish != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){onPublish}
	}
	c := paho.NewClient(cfg)
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: clientID, KeepAlive: 60, CleanStart: true})
	if err != nil || ca.ReasonCode != 0 {
		conn.Close()
		b.Fatalf("paho connect %s: %v %+v", clientID, err, ca)
	}
	b.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

// benchPayload is a payload carrying seq.
func benchPayload(seq uint64) []byte {
	p := make([]byte, benchMQTTPayload)
	for i := 8; i < len(p); i++ {
		p[i] = 'm'
	}
	binary.BigEndian.PutUint64(p, seq)
	return p
}

// next returns the type of the oldest readable item, waiting for one as an
// application does: read until NONE, then sleep until CHANNELDATAREADABLE.
// Items are queued before their notification is posted, so notifications
// dropped after a NONE are for items already read.
func (v *benchMQTTDev) next() (abi.MQTTReadableDataType, error) {
	drained := false
	for {
		typ, st := v.d.MQTTGetNextReadableDataType(v.ch)
		if st != abi.StatusOkay {
			return 0, fmt.Errorf("mvMqttGetNextReadableDataType: %s", st)
		}
		if typ != abi.MQTTReadableDataTypeNone {
			return typ, nil
		}
		if !drained {
			v.n.Centre.Drain()
			drained = true
			continue
		}
		if _, err := v.n.Centre.WaitFor(v.ctx, benchMQTTTag, abi.EventTypeChannelDataReadable); err != nil {
			return 0, err
		}
		drained = false
	}
}

// publish requests a publish; RATELIMITED is returned as a status.
func (v *benchMQTTDev) publish(seq uint64, qos uint32) (abi.Status, error) {
	st, err := v.d.MQTTRequestPublish(v.ch, uint32(seq), benchRelayedTopic, benchPayload(seq), qos, false)
	if err != nil {
		return st, err
	}
	if st != abi.StatusOkay && st != abi.StatusRateLimited {
		return st, fmt.Errorf("mvMqttRequestPublish: %s", st)
	}
	return st, nil
}

// publishResponse waits for and reads a publish response, which must
// report success for seq.
func (v *benchMQTTDev) publishResponse(seq uint64) error {
	typ, err := v.next()
	if err != nil {
		return err
	}
	if typ != abi.MQTTReadableDataTypePublishResponse {
		return fmt.Errorf("publisher: next item is %v", typ)
	}
	resp, st := v.d.MQTTReadPublishResponse(v.ch)
	if st != abi.StatusOkay || resp.RequestState != abi.MQTTRequestStateRequestCompleted || resp.ReasonCode >= 0x80 || resp.CorrelationID != uint32(seq) {
		return fmt.Errorf("publish response %+v %s, want completed for %d", resp, st, uint32(seq))
	}
	return nil
}

// receive waits for and reads a message, which must be seq at qos.
func (v *benchMQTTDev) receive(seq uint64, qos uint32) (device.MQTTMessage, error) {
	typ, err := v.next()
	if err != nil {
		return device.MQTTMessage{}, err
	}
	if typ != abi.MQTTReadableDataTypeMessageReceived {
		return device.MQTTMessage{}, fmt.Errorf("subscriber: next item is %v", typ)
	}
	msg, st := v.d.MQTTReceiveMessage(v.ch, 64, 256)
	if st != abi.StatusOkay {
		return msg, fmt.Errorf("mvMqttReceiveMessage: %s", st)
	}
	if len(msg.Payload) != benchMQTTPayload || binary.BigEndian.Uint64(msg.Payload) != seq || msg.QoS != qos {
		return msg, fmt.Errorf("received %d bytes at QoS %d (%x…), want message %d at QoS %d", len(msg.Payload), msg.QoS, msg.Payload[:min(8, len(msg.Payload))], seq, qos)
	}
	return msg, nil
}

// ack acknowledges a QoS 1 message, retrying while the send ring is full.
func (v *benchMQTTDev) ack(msg device.MQTTMessage) error {
	if msg.QoS == 0 {
		return nil
	}
	for {
		switch st := v.d.MQTTAcknowledgeMessage(v.ch, msg.CorrelationID); st {
		case abi.StatusOkay:
			return nil
		case abi.StatusRateLimited:
			if err := v.ctx.Err(); err != nil {
				return err
			}
			runtime.Gosched()
		default:
			return fmt.Errorf("mvMqttAcknowledgeMessage: %s", st)
		}
	}
}

// directPublish publishes seq on the direct path. QoS 0 is written to the
// connection; QoS 1 waits for the PUBACK unless async, when it is put in
// paho's session (at most the broker's Receive Maximum in flight).
func (r *mqttBenchRig) directPublish(seq uint64, qos byte, async bool) error {
	p := &paho.Publish{Topic: benchDirectTopic, QoS: qos, Payload: benchPayload(seq)}
	var err error
	if async {
		_, err = r.dpub.PublishWithOptions(r.ctx, p, paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
	} else {
		_, err = r.dpub.Publish(r.ctx, p)
	}
	return err
}

// directReceive waits for dsub's next message, which must be seq at qos,
// and returns when it was received.
func (r *mqttBenchRig) directReceive(seq uint64, qos byte) (time.Time, error) {
	select {
	case d := <-r.dmsgs:
		if d.seq != seq || d.qos != qos {
			return time.Time{}, fmt.Errorf("direct: received message %d at QoS %d, want %d at QoS %d", d.seq, d.qos, seq, qos)
		}
		return d.at, nil
	case <-r.ctx.Done():
		return time.Time{}, fmt.Errorf("direct: waiting for message %d: %w", seq, r.ctx.Err())
	}
}

// relayedOne sends one message through the device path and returns its
// publish-to-delivery time: from just before mvMqttRequestPublish on the
// publisher to mvMqttReceiveMessage's return on the subscriber. The
// acknowledgement (QoS 1) and the publisher's reading of its publish
// response follow, untimed.
func (r *mqttBenchRig) relayedOne(qos uint32) (time.Duration, error) {
	r.seq++
	seq := r.seq
	t0 := time.Now()
	st, err := r.pub.publish(seq, qos)
	if err != nil {
		return 0, err
	}
	if st != abi.StatusOkay {
		return 0, fmt.Errorf("mvMqttRequestPublish with nothing in flight: %s", st)
	}
	msg, err := r.sub.receive(seq, qos)
	if err != nil {
		return 0, err
	}
	d := time.Since(t0)
	r.progress.Add(1)
	if err := r.sub.ack(msg); err != nil {
		return 0, err
	}
	return d, r.pub.publishResponse(seq)
}

// directOne sends one message through the broker directly and returns its
// publish-to-delivery time: from just before paho's Publish to the
// subscriber's OnPublishReceived callback. A QoS 1 Publish returns at the
// PUBACK; dsub acknowledges when its callback returns.
func (r *mqttBenchRig) directOne(qos byte) (time.Duration, error) {
	r.seq++
	seq := r.seq
	t0 := time.Now()
	if err := r.directPublish(seq, qos, false); err != nil {
		return 0, err
	}
	at, err := r.directReceive(seq, qos)
	if err != nil {
		return 0, err
	}
	r.progress.Add(1)
	return at.Sub(t0), nil
}

// percentile returns the p-th percentile of sorted durations (nearest
// rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func µs(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkMQTTLatency measures publish-to-delivery latency, one message
// at a time, of the relayed path (device → cloud → Mosquitto → cloud →
// device) and the direct one (paho → Mosquitto → paho), alternating the
// two and their order every iteration. It reports both paths' p50 and p99
// in µs and their ratios (targets: relayed/direct ≤ 1.5 at p50 and p99).
func BenchmarkMQTTLatency(b *testing.B) {
	r := newMQTTBenchRig(b)
	for _, qos := range []uint8{1, 0} {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			one := func(relayed bool) (time.Duration, error) {
				if relayed {
					return r.relayedOne(uint32(qos))
				}
				return r.directOne(qos)
			}
			// Warm both paths (connections, buffers, the broker's state)
			// and start without the setup's garbage.
			for i := range 100 {
				if _, err := one(i%2 == 0); err != nil {
					r.fail(b, "warm-up", err)
				}
			}
			runtime.GC()
			var direct, relayed []time.Duration
			i := 0
			for b.Loop() {
				for _, rel := range [2]bool{i%2 == 0, i%2 != 0} {
					d, err := one(rel)
					if err != nil {
						r.fail(b, fmt.Sprintf("message %d (relayed %v)", i, rel), err)
					}
					if rel {
						relayed = append(relayed, d)
					} else {
						direct = append(direct, d)
					}
				}
				i++
			}
			slices.Sort(direct)
			slices.Sort(relayed)
			dp50, dp99 := percentile(direct, 0.50), percentile(direct, 0.99)
			rp50, rp99 := percentile(relayed, 0.50), percentile(relayed, 0.99)
			b.ReportMetric(µs(dp50), "direct-p50-µs")
			b.ReportMetric(µs(dp99), "direct-p99-µs")
			b.ReportMetric(µs(rp50), "relayed-p50-µs")
			b.ReportMetric(µs(rp99), "relayed-p99-µs")
			b.ReportMetric(float64(rp50)/float64(dp50), "relayed/direct-p50")
			b.ReportMetric(float64(rp99)/float64(dp99), "relayed/direct-p99")
		})
	}
}

// relayedRound sends n messages through the device path with at most
// benchMQTTWindow published and not yet delivered, and returns the time
// from the first publish to the last delivery. The publisher runs on its
// own goroutine (device A), reading its publish responses when the
// kernel's cap on publishes in flight answers RATELIMITED; the subscriber
// (device B) reads and acknowledges on this one. The publisher's last
// responses are read after the clock stops.
func (r *mqttBenchRig) relayedRound(n int, qos uint32) (time.Duration, error) {
	first := r.seq + 1
	r.seq += uint64(n)
	window := make(chan struct{}, benchMQTTWindow)
	pubErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	start := time.Now()
	go func() {
		pubErr <- func() error {
			next := first // the next publish response's sequence number
			for seq := first; seq < first+uint64(n); seq++ {
				select {
				case window <- struct{}{}:
				case <-ctx.Done():
					return ctx.Err()
				}
				for {
					st, err := r.pub.publish(seq, qos)
					if err != nil {
						return err
					}
					if st == abi.StatusOkay {
						break
					}
					// RATELIMITED: publishes in flight are at the cap (or the
					// send ring is full): make room by reading a response.
					if next == seq {
						runtime.Gosched()
						continue
					}
					if err := r.pub.publishResponse(next); err != nil {
						return err
					}
					next++
				}
			}
			<-ctx.Done() // the subscriber has everything: finish off the clock
			for ; next < first+uint64(n); next++ {
				if err := r.pub.publishResponse(next); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	var elapsed time.Duration
	err := func() error {
		for seq := first; seq < first+uint64(n); seq++ {
			msg, err := r.sub.receive(seq, qos)
			if err != nil {
				return err
			}
			if err := r.sub.ack(msg); err != nil {
				return err
			}
			r.progress.Add(1)
			<-window
		}
		elapsed = time.Since(start)
		return nil
	}()
	cancel()
	// The publisher's context is cancelled now; its reads use the rig's.
	if perr := <-pubErr; perr != nil && !errors.Is(perr, context.Canceled) {
		return 0, perr
	}
	return elapsed, err
}

// directRound is relayedRound for the direct path: the paho publisher runs
// on its own goroutine, QoS 1 publishes sent asynchronously (paho's session
// keeps at most the broker's Receive Maximum in flight), and the
// subscriber's callback deliveries are counted here.
func (r *mqttBenchRig) directRound(n int, qos byte) (time.Duration, error) {
	first := r.seq + 1
	r.seq += uint64(n)
	window := make(chan struct{}, benchMQTTWindow)
	pubErr := make(chan error, 1)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	start := time.Now()
	go func() {
		pubErr <- func() error {
			for seq := first; seq < first+uint64(n); seq++ {
				select {
				case window <- struct{}{}:
				case <-ctx.Done():
					return ctx.Err()
				}
				if err := r.directPublish(seq, qos, true); err != nil {
					return err
				}
			}
			return nil
		}()
	}()
	var elapsed time.Duration
	err := func() error {
		for seq := first; seq < first+uint64(n); seq++ {
			if _, err := r.directReceive(seq, qos); err != nil {
				return err
			}
			r.progress.Add(1)
			<-window
		}
		elapsed = time.Since(start)
		return nil
	}()
	cancel()
	if perr := <-pubErr; perr != nil && !errors.Is(perr, context.Canceled) {
		return 0, perr
	}
	return elapsed, err
}

// BenchmarkMQTTThroughput measures messages a second from one publisher
// to one subscriber with benchMQTTWindow messages in flight, relayed and
// direct, in alternating rounds of benchMQTTRound messages; b.N messages
// go each way. It reports both rates and their ratio (target:
// relayed/direct ≥ 0.6).
func BenchmarkMQTTThroughput(b *testing.B) {
	r := newMQTTBenchRig(b)
	for _, qos := range []uint8{0, 1} {
		b.Run(fmt.Sprintf("qos%d", qos), func(b *testing.B) {
			// Warm both paths.
			if _, err := r.relayedRound(2*benchMQTTWindow, uint32(qos)); err != nil {
				r.fail(b, "relayed warm-up", err)
			}
			if _, err := r.directRound(2*benchMQTTWindow, qos); err != nil {
				r.fail(b, "direct warm-up", err)
			}
			var direct, relayed time.Duration
			b.ResetTimer()
			for done, round := 0, 0; done < b.N; round++ {
				n := min(benchMQTTRound, b.N-done)
				for _, rel := range [2]bool{round%2 == 0, round%2 != 0} {
					if rel {
						d, err := r.relayedRound(n, uint32(qos))
						if err != nil {
							r.fail(b, "relayed round", err)
						}
						relayed += d
					} else {
						d, err := r.directRound(n, qos)
						if err != nil {
							r.fail(b, "direct round", err)
						}
						direct += d
					}
				}
				done += n
			}
			b.StopTimer()
			dRate := float64(b.N) / direct.Seconds()
			rRate := float64(b.N) / relayed.Seconds()
			b.ReportMetric(dRate, "direct-msg/s")
			b.ReportMetric(rRate, "relayed-msg/s")
			b.ReportMetric(rRate/dRate, "relayed/direct")
		})
	}
}
