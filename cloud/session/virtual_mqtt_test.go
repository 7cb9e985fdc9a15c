package session_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// vitems collects the MQTT items among frames a vdev received on one
// channel.
type vitems struct {
	t   *testing.T
	ch  uint32
	buf []byte
}

// add parses the items in the DATA frames on the channel among fs and
// returns them with the bytes they took.
func (v *vitems) add(fs []link.Frame) (items []link.MQTTItem, n int) {
	v.t.Helper()
	for _, f := range fs {
		if f.Type == link.FrameData && f.Chan == v.ch {
			v.buf = append(v.buf, f.Payload...)
		}
	}
	for {
		it, used, err := link.ParseMQTTItem(v.buf)
		if errors.Is(err, link.ErrShort) {
			return items, n
		}
		if err != nil {
			v.t.Fatalf("malformed item: %v", err)
		}
		items = append(items, it)
		n += used
		v.buf = v.buf[used:]
	}
}

// vmqtt is a virtual device's MQTT channel connected to mosquitto and
// subscribed to its own topic "t".
type vmqtt struct {
	t        *testing.T
	br       *mosquitto.Broker
	r        *vrun
	d        *fakedev.Virtual
	items    *vitems
	messages []*link.MQTTMessageItem
}

const vmqttCh, vmqttRx = 1, 512

// request sends req and syncs: its response item (and maybe messages)
// come before SYNCED. The response's bytes are credited back.
func (m *vmqtt) request(req []byte, responses int) []link.MQTTItem {
	t := m.t
	t.Helper()
	m.d.Send(link.Frame{Type: link.FrameData, Chan: vmqttCh, Payload: req})
	before, _ := m.d.Sync(0)
	got, _ := m.items.add(before)
	var resps []link.MQTTItem
	n := 0
	for _, it := range got {
		if msg, ok := it.(*link.MQTTMessageItem); ok {
			m.messages = append(m.messages, msg)
			continue
		}
		resps = append(resps, it)
		n += it.Size()
	}
	if len(resps) != responses {
		t.Fatalf("before SYNCED: %d responses (%s), want %d", len(resps), fakedev.Frames(before), responses)
	}
	m.d.Send(link.Frame{Type: link.FrameCredit, Chan: vmqttCh, Credit: uint32(n)})
	return resps
}

// startVirtualMQTTBlocked connects and subscribes a virtual device, then
// publishes two messages to itself, each over half the receive ring: the
// first reaches the device (unread), the second waits in the bridge for
// the device's credit.
func startVirtualMQTTBlocked(t *testing.T) *vmqtt {
	m := startVirtualMQTT(t, nil)
	d, r := m.d, m.r
	var pubs []byte
	pubs = (&link.MQTTPublishRequest{CorrelationID: 2, Topic: "t", Payload: vp1}).Append(pubs)
	pubs = (&link.MQTTPublishRequest{CorrelationID: 3, Topic: "t", Payload: vp2}).Append(pubs)
	m.request(pubs, 2)
	// The first message comes whenever the broker sends it back (it is
	// nobody's answer): before this SYNCED, or after it.
	before, _ := d.Sync(0)
	for {
		got, _ := m.items.add(before)
		for _, it := range got {
			m.messages = append(m.messages, it.(*link.MQTTMessageItem))
		}
		if len(m.messages) > 0 {
			break
		}
		before = []link.Frame{d.Next()}
	}
	if len(m.messages) != 1 || !bytes.Equal(m.messages[0].Payload, vp1) {
		t.Fatalf("messages %+v, want the first", m.messages)
	}
	poll.Until(t, "the second message waiting for the device", func() bool { return r.sess.MQTTBlocked(vmqttCh) })
	return m
}

// startVirtualMQTT connects a virtual device to mosquitto (through
// connect, if not nil) and subscribes it to "t".
func startVirtualMQTT(t *testing.T, connect mqttbridge.Connector) *vmqtt {
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	r := startVirtual(t, session.Config{MQTT: &session.MQTTConfig{Plaintext: true, Connect: connect}})
	m := &vmqtt{t: t, br: br, r: r, d: r.dev, items: &vitems{t: t, ch: vmqttCh}}
	d := m.d
	d.Hello(fakedev.ID(1), 0)
	d.FirstSync(0)
	d.Send(link.Frame{Type: link.FrameOpen, Chan: vmqttCh, ChanType: mqttCh, RxSize: vmqttRx, TxSize: 2048})
	conn := m.request((&link.MQTTConnectRequest{Protocol: 1, CleanStart: true, Port: uint16(br.Port), Host: "127.0.0.1", ClientID: "virtual"}).Append(nil), 1)
	if c, ok := conn[0].(*link.MQTTConnectResponseItem); !ok || c.RequestState != uint32(abi.MQTTRequestStateRequestCompleted) {
		t.Fatalf("connect response %#v", conn[0])
	}
	sub := m.request((&link.MQTTSubscribeRequest{CorrelationID: 1, Subscriptions: []link.MQTTSubscription{{Topic: "t"}}}).Append(nil), 1)
	if s, ok := sub[0].(*link.MQTTSubscribeResponseItem); !ok || s.RequestState != uint32(abi.MQTTRequestStateRequestCompleted) {
		t.Fatalf("subscribe response %#v", sub[0])
	}
	return m
}

// The two messages of startVirtualMQTTBlocked.
var vp1, vp2 = bytes.Repeat([]byte{'1'}, 300), bytes.Repeat([]byte{'2'}, 300)

// TestVirtualMQTT: each MQTT request holds the device's clock until its
// response item is queued, so the SYNC after it is answered after the
// item. A message the device has no room for (its receive ring holds an
// unread one) does not hold the clock — the SYNC is answered — and goes
// out on the device's CREDIT, before the SYNCED of the next SYNC.
func TestVirtualMQTT(t *testing.T) {
	m := startVirtualMQTTBlocked(t)
	d := m.d
	// No room, no hold: the SYNC is answered.
	if next := d.SyncQuiet(100); next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d", next)
	}
	// The device reads the first message: the second goes out before the
	// next SYNCED.
	d.Send(link.Frame{Type: link.FrameCredit, Chan: vmqttCh, Credit: uint32(m.messages[0].Size())})
	before, _ := d.Sync(200)
	got, _ := m.items.add(before)
	if len(got) != 1 {
		t.Fatalf("after CREDIT, before SYNCED: %s, want the second message", fakedev.Frames(before))
	}
	if msg, ok := got[0].(*link.MQTTMessageItem); !ok || !bytes.Equal(msg.Payload, vp2) {
		t.Fatalf("item %#v, want the second message", got[0])
	}
}

// TestVirtualMQTTDisconnectWhileBlocked: a disconnect drops the message
// waiting for the device's room, so the device's CREDIT after it has no
// message to let go and takes no hold: the next SYNC is answered (after
// the disconnect's response).
func TestVirtualMQTTDisconnectWhileBlocked(t *testing.T) {
	m := startVirtualMQTTBlocked(t)
	d := m.d
	d.Send(link.Frame{Type: link.FrameData, Chan: vmqttCh, Payload: (&link.MQTTDisconnectRequest{}).Append(nil)})
	d.Send(link.Frame{Type: link.FrameCredit, Chan: vmqttCh, Credit: uint32(m.messages[0].Size())})
	before, _ := d.Sync(100)
	got, _ := m.items.add(before)
	if len(got) != 1 {
		t.Fatalf("after DISCONNECT and CREDIT, before SYNCED: %s, want the disconnect's response", fakedev.Frames(before))
	}
	if r, ok := got[0].(*link.MQTTDisconnectResponseItem); !ok || r.RequestState != uint32(abi.MQTTRequestStateRequestCompleted) {
		t.Fatalf("item %#v, want the disconnect's response", got[0])
	}
	if n := m.r.clock.Holds(); n != 0 {
		t.Fatalf("%d holds on the device's clock after SYNCED", n)
	}
}

// TestVirtualMQTTLostWhileBlocked: the end of the broker session drops
// the message waiting for the device's room and ends the channel; the
// device's CREDIT after that takes no hold: the next SYNC is answered.
func TestVirtualMQTTLostWhileBlocked(t *testing.T) {
	m := startVirtualMQTTBlocked(t)
	d := m.d
	m.br.Kill()
	var seen []link.Frame
	for {
		f := d.Next()
		seen = append(seen, f)
		if f.Type == link.FrameClose && f.Chan == vmqttCh {
			break
		}
	}
	got, _ := m.items.add(seen)
	if len(got) != 1 {
		t.Fatalf("after the broker's end: %s, want the DISCONNECTRESPONSE and CLOSE", fakedev.Frames(seen))
	}
	if r, ok := got[0].(*link.MQTTDisconnectResponseItem); !ok || r.RequestState != uint32(abi.MQTTRequestStateNotConnected) {
		t.Fatalf("item %#v, want a DISCONNECTRESPONSE, NOTCONNECTED", got[0])
	}
	d.Send(link.Frame{Type: link.FrameCredit, Chan: vmqttCh, Credit: uint32(m.messages[0].Size())})
	d.Sync(100)
	if n := m.r.clock.Holds(); n != 0 {
		t.Fatalf("%d holds on the device's clock after SYNCED", n)
	}
}

// noLinks finds no device's link (the MQTT faults need none).
type noLinks struct{}

func (noLinks) Link(string) (faults.Link, bool) { return nil, false }

// TestVirtualMQTTDelayed: a message from the real broker held by an
// mqtt-delay (through the real bridge) reaches the device at its instant
// on the device's clock: before the SYNCED of that instant, not before
// the SYNCED of the instant just before.
func TestVirtualMQTTDelayed(t *testing.T) {
	const delay = time.Second
	inj := faults.New(noLinks{})
	t.Cleanup(inj.Close)
	var clock vclock.Clock = vclock.Wall
	inj.SetClocks(func(string) vclock.Clock { return clock })
	m := startVirtualMQTT(t, inj.WrapConnect(mqttbridge.DialConnector(nil)))
	clock = m.r.clock
	d := m.d
	if _, err := inj.Apply(fakedev.ID(1), faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(delay)}); err != nil {
		t.Fatal(err)
	}
	m.request((&link.MQTTPublishRequest{CorrelationID: 2, Topic: "t", Payload: []byte("held")}).Append(nil), 1)
	// The broker's copy is nobody's answer: wait until the stream holds it
	// (its timer is set on the device's clock).
	poll.Until(t, "the delay's timer", func() bool { _, ok := m.r.clock.Next(); return ok })
	before, next := d.Sync(uint64(delay/time.Microsecond) - 1)
	if got, _ := m.items.add(before); len(got) != 0 {
		t.Fatalf("before the SYNCED of %v: %s, want nothing", delay-time.Microsecond, fakedev.Frames(before))
	}
	if next != uint64(delay/time.Microsecond) {
		t.Fatalf("SYNCED next_us %d, want %d", next, delay/time.Microsecond)
	}
	before, _ = d.Sync(next)
	got, _ := m.items.add(before)
	if len(got) != 1 {
		t.Fatalf("before the SYNCED of %v: %s, want the message", delay, fakedev.Frames(before))
	}
	if msg, ok := got[0].(*link.MQTTMessageItem); !ok || string(msg.Payload) != "held" {
		t.Fatalf("item %#v, want the message", got[0])
	}
}
