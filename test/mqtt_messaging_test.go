package test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// MQTT messages end to end: subscriptions, deliveries, acknowledgements,
// flow control.

// TestMQTTSubscribeDenied: the broker's per-topic SUBACK codes reach the
// application in request order (Mosquitto's dynamic security refuses
// per topic); a reason-code buffer that is too small is INVALIDBUFFERSIZE
// and leaves the response to be read again.
func TestMQTTSubscribeDenied(t *testing.T) {
	t.Parallel()
	mosquitto.RequireDynSec(t)
	br := mosquitto.Start(t, mosquitto.Options{DynSec: &mosquitto.DynSec{
		Users: map[string]string{"alice": "pw"},
		ACLs: []mosquitto.ACL{
			{Type: "subscribePattern", Topic: "allowed/#", Allow: true},
			{Type: "subscribePattern", Topic: "denied/#", Allow: false},
		},
	}})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	// Granted QoS 1, refused (3.1.1: 0x80 failure; v5: 0x87 not
	// authorized), granted QoS 0, refused by default.
	want := map[abi.MQTTProtocolVersion][]uint32{
		abi.MQTTProtocolVersionV311: {1, 0x80, 0, 0x80},
		abi.MQTTProtocolVersionV5:   {1, 0x87, 0, 0x87},
	}
	for _, v := range mqttVersions {
		m := d.openMQTT(1024, 1024)
		c := connReq(br, v.v, "acl")
		c.UseLogin, c.Username, c.Password = true, "alice", []byte("pw")
		m.mustConnect(c)
		m.requestSubscribe(7,
			device.MQTTSubscription{Topic: "allowed/a", QoS: 1},
			device.MQTTSubscription{Topic: "denied/b", QoS: 1},
			device.MQTTSubscription{Topic: "allowed/c", QoS: 0},
			device.MQTTSubscription{Topic: "elsewhere", QoS: 1},
		)
		if typ := m.nextType(); typ != abi.MQTTReadableDataTypeSubscribeResponse {
			t.Fatalf("%s: next is %v", v.name, typ)
		}
		if _, st := d.d.MQTTReadSubscribeResponse(m.ch, 3); st != abi.StatusInvalidBufferSize {
			t.Fatalf("%s: reading 4 codes into room for 3: %s, want INVALIDBUFFERSIZE", v.name, st)
		}
		r, st := d.d.MQTTReadSubscribeResponse(m.ch, 4)
		if st != abi.StatusOkay || r.State != abi.MQTTRequestStateRequestCompleted || r.CorrelationID != 7 || !slices.Equal(r.ReasonCodes, want[v.v]) {
			t.Fatalf("%s: subscribe response %+v %s, want codes %#x", v.name, r, st, want[v.v])
		}
		m.close()
	}
}

// TestMQTTAcknowledgeOutOfOrder: the application acknowledges QoS 1
// messages in any order; the cloud sends PUBACKs in arrival order, so an
// acknowledged message waits behind an earlier unacknowledged one. A
// persistent session shows it: what was not PUBACKed is delivered again on
// the next connection, what was is not.
func TestMQTTAcknowledgeOutOfOrder(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			d := e.newDev(t)
			topic := "acks/" + v.name
			pub := newPeer(t, br, v.v, "acks-peer-"+v.name)
			c := connReq(br, v.v, "acks-"+v.name)
			c.CleanStart = false
			session := func() *mqttCh {
				m := d.openMQTT(2048, 1024)
				m.mustConnect(c)
				return m
			}
			receive := func(m *mqttCh, payloads ...string) []uint32 {
				t.Helper()
				var ids []uint32
				for _, p := range payloads {
					msg := m.msg()
					if string(msg.Payload) != p || msg.QoS != 1 || msg.Topic != topic {
						t.Fatalf("got %q (QoS %d on %q), want %q at QoS 1", msg.Payload, msg.QoS, msg.Topic, p)
					}
					ids = append(ids, msg.CorrelationID)
				}
				return ids
			}

			m := session()
			m.mustSubscribe(1, topic, 1)
			for _, p := range []string{"one", "two", "three"} {
				pub.publish(topic, []byte(p), 1, false)
			}
			ids := receive(m, "one", "two", "three")
			// "three" and "two" acknowledged, "one" not: no PUBACK may go.
			m.ack(ids[2])
			m.ack(ids[1])
			m.close() // the connection ends without DISCONNECT

			m = session()
			ids = receive(m, "one", "two", "three") // all three again
			m.ack(ids[2])
			m.ack(ids[0])
			m.ack(ids[1])
			// New messages follow the redelivered ones.
			pub.publish(topic, []byte("sentinel"), 1, false)
			m.ack(receive(m, "sentinel")[0])
			// The PUBACKs are written before the DISCONNECT.
			if r := m.disconnect(); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("disconnect: %+v", r)
			}
			m.close()
			waitBrokerDisconnected(t, br, c.ClientID, 1)

			m = session()
			pub.publish(topic, []byte("fresh"), 1, false)
			m.ack(receive(m, "fresh")[0]) // nothing delivered again before it
			m.close()
		})
	}
}

// TestMQTTRetained: the retain flag of received messages, both ways.
func TestMQTTRetained(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	for _, v := range mqttVersions {
		topic := "retained/" + v.name
		p := newPeer(t, br, v.v, "retained-peer-"+v.name)
		p.publish(topic, []byte("kept"), 1, true)

		m := d.openMQTT(1024, 1024)
		m.mustConnect(connReq(br, v.v, "retained-"+v.name))
		m.mustSubscribe(1, topic, 1)
		if msg := m.msg(); string(msg.Payload) != "kept" || !msg.Retain {
			t.Fatalf("%s: got %q retain %v, want the retained message", v.name, msg.Payload, msg.Retain)
		} else {
			m.ack(msg.CorrelationID)
		}
		p.publish(topic, []byte("live"), 1, false)
		if msg := m.msg(); string(msg.Payload) != "live" || msg.Retain {
			t.Fatalf("%s: got %q retain %v, want a live message", v.name, msg.Payload, msg.Retain)
		} else {
			m.ack(msg.CorrelationID)
		}

		// The device sets a retained message; a later subscriber gets it.
		other := topic + "/by-device"
		if r := m.publish(2, other, []byte("from the device"), 1, true); r.RequestState != abi.MQTTRequestStateRequestCompleted {
			t.Fatalf("%s: retained publish %+v", v.name, r)
		}
		p.subscribe(other)
		if msg := p.msg(); string(msg.Payload) != "from the device" || !msg.Retain {
			t.Fatalf("%s: peer got %q retain %v", v.name, msg.Payload, msg.Retain)
		}
		m.close()
	}
}

// TestMQTTMessageLost: a message whose item cannot fit the device's whole
// receive buffer is reported as MESSAGELOST (reason
// DEVICERECEIVEBUFFERTOOSMALL, topic, length) in its place among the
// messages, and the cloud acknowledges it to the broker: a persistent
// session does not get it again.
func TestMQTTMessageLost(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			d := e.newDev(t)
			p := newPeer(t, br, v.v, "lost-peer-"+v.name)
			prefix := "lost/" + v.name + "/"
			c := connReq(br, v.v, "lost-"+v.name)
			c.CleanStart = false
			m := d.openMQTT(512, 512)
			m.mustConnect(c)
			m.mustSubscribe(1, prefix+"#", 1)
			// 600 bytes: larger than the ring (the cloud never keeps the
			// payload). 490 bytes: the payload would fit, the item with
			// its topic does not. 400 bytes: fits.
			p.publish(prefix+"huge", bytes.Repeat([]byte("h"), 600), 1, false)
			p.publish(prefix+"big", bytes.Repeat([]byte("b"), 490), 1, false)
			p.publish(prefix+"fits", bytes.Repeat([]byte("f"), 400), 1, false)
			for _, want := range []device.MQTTLostMessage{
				{Reason: abi.MQTTLostMessageReasonDeviceReceiveBufferTooSmall, Topic: prefix + "huge", MessageLen: 600},
				{Reason: abi.MQTTLostMessageReasonDeviceReceiveBufferTooSmall, Topic: prefix + "big", MessageLen: 490},
			} {
				if got := m.expect(abi.MQTTReadableDataTypeMessageLost).lost; got != want {
					t.Fatalf("lost message %+v, want %+v", got, want)
				}
			}
			msg := m.msg()
			if msg.Topic != prefix+"fits" || len(msg.Payload) != 400 {
				t.Fatalf("got %d bytes on %q", len(msg.Payload), msg.Topic)
			}
			m.ack(msg.CorrelationID)
			// The disconnect goes after the acknowledgement, so its PUBACK
			// is written first (a CLOSE would drop the connection at once).
			if r := m.disconnect(); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("disconnect: %+v", r)
			}
			m.close()
			waitBrokerDisconnected(t, br, c.ClientID, 1)

			// Nothing is delivered again: the lost messages were
			// acknowledged by the cloud.
			m = d.openMQTT(512, 512)
			m.mustConnect(c)
			p.publish(prefix+"after", []byte("a"), 1, false)
			if msg := m.msg(); msg.Topic != prefix+"after" {
				t.Fatalf("after reconnecting got %q (%d bytes), want %q", msg.Topic, len(msg.Payload), prefix+"after")
			}
		})
	}
}

// TestMQTTFlowControl: messages arriving faster than the application reads
// wait in the cloud (its view of the channel shows them) and arrive in
// order, none lost, while the backlog stays under the circuit breaker's.
func TestMQTTFlowControl(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	const n = 40
	m := d.openMQTT(1024, 1024)
	m.mustConnect(connReq(br, abi.MQTTProtocolVersionV5, "flow"))
	m.mustSubscribe(1, "flow/t", 1)
	p := newPeer(t, br, abi.MQTTProtocolVersionV5, "flow-peer")
	payload := func(i int) []byte { return fmt.Appendf(bytes.Repeat([]byte("."), 200), "%03d", i) }
	for i := range n {
		p.publish("flow/t", payload(i), 1, false)
	}
	// Four messages fit the ring; the rest wait in the cloud (at QoS 1
	// Mosquitto sends 20 unacknowledged messages at a time and keeps the
	// others).
	eventually(t, "messages wait in the cloud", func() bool {
		info, ok := e.mqttChannelInfo(t, d, m)
		return ok && info.Waiting >= 10
	})
	for i := range n {
		msg := m.msg()
		if !bytes.Equal(msg.Payload, payload(i)) {
			t.Fatalf("message %d: %q", i, msg.Payload)
		}
		m.ack(msg.CorrelationID)
	}
	if info, ok := e.mqttChannelInfo(t, d, m); !ok || info.Waiting != 0 {
		t.Fatalf("cloud's view after reading everything: %+v %v", info, ok)
	}
	m.none()
}

// TestMQTTSubscriptionOptions: the v5 options reach the broker: no-local
// keeps the device's own messages from it, retain handling 2 sends no
// retained message at subscribe time, retain-as-published keeps the flag
// on a live retained message.
func TestMQTTSubscriptionOptions(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	v5 := abi.MQTTProtocolVersionV5
	p := newPeer(t, br, v5, "options-peer")
	p.publish("opt/rh", []byte("old retained"), 1, true)

	m := d.openMQTT(1024, 1024)
	m.mustConnect(connReq(br, v5, "options"))
	r := m.subscribe(1,
		device.MQTTSubscription{Topic: "opt/nl", QoS: 1, NoLocal: true},
		device.MQTTSubscription{Topic: "opt/rh", QoS: 1, RetainHandle: 2, RetainAsPub: true},
	)
	if r.State != abi.MQTTRequestStateRequestCompleted || !slices.Equal(r.ReasonCodes, []uint32{1, 1}) {
		t.Fatalf("subscribe: %+v", r)
	}
	// No retained message at subscribe time (rh 2), none of our own (nl).
	if r := m.publish(2, "opt/nl", []byte("mine"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("publish: %+v", r)
	}
	p.publish("opt/nl", []byte("theirs"), 1, false)
	if msg := m.msg(); msg.Topic != "opt/nl" || string(msg.Payload) != "theirs" {
		t.Fatalf("got %q on %q, want the peer's message", msg.Payload, msg.Topic)
	} else {
		m.ack(msg.CorrelationID)
	}
	p.publish("opt/rh", []byte("new retained"), 1, true)
	if msg := m.msg(); string(msg.Payload) != "new retained" || !msg.Retain {
		t.Fatalf("got %q retain %v, want the live retained message with its flag (rap)", msg.Payload, msg.Retain)
	} else {
		m.ack(msg.CorrelationID)
	}
	m.none()
}
