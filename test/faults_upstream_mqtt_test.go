package test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// MQTT broker faults and MQTT injection through the Go door, asserted
// through the device's MQTT calls against Mosquitto.

// brokerConn is a plain connect to br by its name (brokerHost, mapped by
// the cloud's Resolve).
func brokerConn(br *mosquitto.Broker, v abi.MQTTProtocolVersion, clientID string) device.MQTTConnect {
	c := connReq(br, v, clientID)
	c.Host = brokerHost
	return c
}

// newBrokerEnv starts a plain broker and a cloud reaching it as
// brokerHost.
func newBrokerEnv(t *testing.T) (*mosquitto.Broker, *env) {
	t.Helper()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	return br, newMQTTEnv(t, cloud.Options{}, brokerResolve(br))
}

// TestFaultMQTTConnect: dns-failure and mqtt-refuse decide the device's
// connect (NXDOMAIN; REQUESTCOMPLETED with the refusal code) without a
// broker; a second device connects normally; after Clear the first does.
func TestFaultMQTTConnect(t *testing.T) {
	t.Parallel()
	br, e := newBrokerEnv(t)
	tests := []struct {
		name   string
		kind   faults.Kind
		params map[string]string
		v      abi.MQTTProtocolVersion
		state  abi.MQTTRequestState
		code   uint32
	}{
		{"dns-failure", faults.DNSFailure, map[string]string{"host": "*.MVNET.test"}, abi.MQTTProtocolVersionV5, abi.MQTTRequestStateNXDomain, 0},
		{"refuse v3.1.1 default", faults.MQTTRefuse, nil, abi.MQTTProtocolVersionV311, abi.MQTTRequestStateRequestCompleted, 5},
		{"refuse v5 default", faults.MQTTRefuse, map[string]string{"host": brokerHost}, abi.MQTTProtocolVersionV5, abi.MQTTRequestStateRequestCompleted, 0x87},
		{"refuse v5 code", faults.MQTTRefuse, map[string]string{"reason-code": "0x9F"}, abi.MQTTProtocolVersionV5, abi.MQTTRequestStateRequestCompleted, 0x9F},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := e.newDev(t), e.newDev(t)
			f := apply(t, e.cloud, a.d.ID(), tt.kind, tt.params)
			id := "fc-" + strings.ReplaceAll(tt.name, " ", "-")
			m := a.openMQTT(1024, 1024)
			if r := m.connect(brokerConn(br, tt.v, id)); r.RequestState != tt.state || r.ReasonCode != tt.code {
				t.Fatalf("connect: %v code %#x, want %v code %#x", r.RequestState, r.ReasonCode, tt.state, tt.code)
			}
			if strings.Contains(br.Log(), id) {
				t.Errorf("the broker heard of %s", id)
			}
			b.openMQTT(1024, 1024).mustConnect(brokerConn(br, tt.v, id+"-other"))
			if err := e.cloud.Faults().Clear(a.d.ID(), f.ID); err != nil {
				t.Fatal(err)
			}
			a.openMQTT(1024, 1024).mustConnect(brokerConn(br, tt.v, id+"-after"))
		})
	}
}

// TestFaultMQTTDisconnect: the device's broker session is cut: the
// subscribe waiting for the broker completes NOTCONNECTED, a
// DISCONNECTRESPONSE brings the news and the channel closes with
// CONNECTIONTERMINATED (a failed connection, docs/mqtt.md); the broker
// publishes the will. The other device's session goes on.
func TestFaultMQTTDisconnect(t *testing.T) {
	t.Parallel()
	br, e := newBrokerEnv(t)
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, br, v.v, "cut-peer-"+v.name)
			p.subscribe("cut/" + v.name + "/#")
			a, b := e.newDev(t), e.newDev(t)
			ma := a.openMQTT(1024, 1024)
			c := brokerConn(br, v.v, "cut-a-"+v.name)
			c.Will = &device.MQTTWill{Topic: "cut/" + v.name + "/will", Payload: []byte("a is gone"), QoS: 1}
			ma.mustConnect(c)
			mb := b.openMQTT(1024, 1024)
			mb.mustConnect(brokerConn(br, v.v, "cut-b-"+v.name))
			apply(t, e.cloud, a.d.ID(), faults.MQTTDisconnect, map[string]string{"host": "broker.*"})
			if msg := p.msg(); string(msg.Payload) != "a is gone" {
				t.Fatalf("peer got %q on %q, want the will", msg.Payload, msg.Topic)
			}
			if r := ma.expect(abi.MQTTReadableDataTypeDisconnectResponse).disc; r.RequestState != abi.MQTTRequestStateNotConnected || r.DisconnectCode != 0 {
				t.Fatalf("disconnect news %+v, want NOTCONNECTED code 0", r)
			}
			if r := ma.waitClosed(); r != abi.ClosureReasonConnectionTerminated {
				t.Fatalf("closure reason %v, want CONNECTIONTERMINATED", r)
			}
			if r := mb.publish(1, "cut/"+v.name+"/b", []byte("still here"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("the other device's publish: %+v", r)
			}
			if msg := p.msg(); string(msg.Payload) != "still here" {
				t.Fatalf("peer got %q, want the other device's message", msg.Payload)
			}
			// One-shot: nothing stays in force; a new session connects.
			if l := e.cloud.Faults().List(a.d.ID()); len(l) != 0 {
				t.Fatalf("faults in force: %+v", l)
			}
			a.openMQTT(1024, 1024).mustConnect(brokerConn(br, v.v, "cut-a2-"+v.name))
		})
	}
}

// TestFaultMQTTDropAndDelay: messages on a dropped topic never reach the
// device, others do, in order; a delayed topic's message comes at least
// the delay late, holding those behind it; Clear restores delivery. The
// other device, subscribed to the same topics, gets everything.
func TestFaultMQTTDropAndDelay(t *testing.T) {
	t.Parallel()
	br, e := newBrokerEnv(t)
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			root := "dd/" + v.name
			p := newPeer(t, br, v.v, "dd-peer-"+v.name)
			a, b := e.newDev(t), e.newDev(t)
			ma, mb := a.openMQTT(2048, 1024), b.openMQTT(2048, 1024)
			ma.mustConnect(brokerConn(br, v.v, "dd-a-"+v.name))
			mb.mustConnect(brokerConn(br, v.v, "dd-b-"+v.name))
			ma.mustSubscribe(1, root+"/#", 1)
			mb.mustSubscribe(1, root+"/#", 1)
			drop := apply(t, e.cloud, a.d.ID(), faults.MQTTDrop, map[string]string{"topic": root + "/+/noisy"})
			p.publish(root+"/x/noisy", []byte("dropped"), 1, false)
			p.publish(root+"/quiet", []byte("kept"), 0, false)
			if m := ma.msg(); string(m.Payload) != "kept" {
				t.Fatalf("device got %q on %q first, want \"kept\" (the noisy one dropped)", m.Payload, m.Topic)
			}
			for _, want := range []string{"dropped", "kept"} {
				if m := mb.msg(); string(m.Payload) != want {
					t.Fatalf("other device got %q, want %q", m.Payload, want)
				}
			}
			if err := e.cloud.Faults().Clear(a.d.ID(), drop.ID); err != nil {
				t.Fatal(err)
			}

			const delay = 300 * time.Millisecond
			apply(t, e.cloud, a.d.ID(), faults.MQTTDelay, map[string]string{"topic": root + "/slow", "delay": delay.String()})
			start := time.Now()
			p.publish(root+"/slow", []byte("slow"), 0, false)
			p.publish(root+"/x/noisy", []byte("behind"), 0, false)
			for _, want := range []string{"slow", "behind"} {
				if m := ma.msg(); string(m.Payload) != want {
					t.Fatalf("device got %q, want %q (order kept)", m.Payload, want)
				}
			}
			if took := time.Since(start); took < delay {
				t.Fatalf("the delayed message came after %v, before the %v delay", took, delay)
			}
			for _, want := range []string{"slow", "behind"} {
				if m := mb.msg(); string(m.Payload) != want {
					t.Fatalf("other device got %q, want %q", m.Payload, want)
				}
			}
		})
	}
}

// TestInjectMQTT: an injected message reaches the device's subscribed,
// connected channel as a broker's would (MESSAGERECEIVED, the granted QoS),
// not a channel whose subscription does not match; a QoS 1 one's
// acknowledgement goes nowhere upstream, and the session goes on. A device
// that is not connected is an error.
func TestInjectMQTT(t *testing.T) {
	t.Parallel()
	br, e := newBrokerEnv(t)
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			// The variants share the broker and run at once: each has
			// topics of its own, or one's broker message reaches both.
			top := v.name + "/"
			a := e.newDev(t)
			m, other := a.openMQTT(2048, 1024), a.openMQTT(2048, 1024)
			m.mustConnect(brokerConn(br, v.v, "inj-"+v.name))
			other.mustConnect(brokerConn(br, v.v, "inj-other-"+v.name))
			m.mustSubscribe(1, top+"cmd/+/led", 1)
			other.mustSubscribe(1, top+"status/#", 0)
			n, err := e.cloud.InjectMQTT(a.d.ID(), top+"cmd/kitchen/led", []byte("on"), 1)
			if err != nil || n != 1 {
				t.Fatalf("InjectMQTT: %d, %v; want 1 channel", n, err)
			}
			msg := m.msg()
			if msg.Topic != top+"cmd/kitchen/led" || string(msg.Payload) != "on" || msg.QoS != 1 {
				t.Fatalf("message %q on %q QoS %d", msg.Payload, msg.Topic, msg.QoS)
			}
			m.ack(msg.CorrelationID)
			if n, err := e.cloud.InjectMQTT(a.d.ID(), top+"cmd/led", []byte("x"), 0); err != nil || n != 0 {
				t.Fatalf("InjectMQTT to an unsubscribed topic: %d, %v; want 0", n, err)
			}
			if n, err := e.cloud.InjectMQTT(a.d.ID(), top+"status/a", []byte("up"), 1); err != nil || n != 1 {
				t.Fatalf("InjectMQTT: %d, %v; want 1 channel", n, err)
			}
			if msg := other.msg(); string(msg.Payload) != "up" || msg.QoS != 0 {
				t.Fatalf("other channel got %q QoS %d, want \"up\" at the granted QoS 0", msg.Payload, msg.QoS)
			}
			if _, err := e.cloud.InjectMQTT(a.d.ID(), top+"cmd/#", nil, 0); err == nil {
				t.Fatal("InjectMQTT to a filter: no error")
			}
			// The session goes on: a real message from the broker follows.
			newPeer(t, br, v.v, "inj-peer-"+v.name).publish(top+"cmd/hall/led", []byte("off"), 1, false)
			if msg := m.msg(); string(msg.Payload) != "off" {
				t.Fatalf("device got %q, want the broker's message", msg.Payload)
			}
			m.none()
		})
	}
	t.Run("not connected", func(t *testing.T) {
		t.Parallel()
		if _, err := e.cloud.InjectMQTT("UV0123456789abcdef0123456789abcdef", "a/b", nil, 0); !errors.Is(err, faults.ErrNotConnected) {
			t.Fatalf("InjectMQTT to a device not connected: %v, want ErrNotConnected", err)
		}
	})
}
