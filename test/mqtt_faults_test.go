package test

import (
	"bytes"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// MQTT sessions ending other than by the application's disconnect.

// TestMQTTWill: the will is published when the device's link drops (cloud
// fault DropLink) and when the application closes a connected channel,
// but not after a disconnect.
func TestMQTTWill(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			topic := "will/" + v.name
			p := newPeer(t, br, v.v, "will-peer-"+v.name)
			p.subscribe(topic + "/#")
			withWill := func(m *mqttCh, name string) {
				t.Helper()
				c := connReq(br, v.v, "will-"+name+"-"+v.name)
				c.Will = &device.MQTTWill{Topic: topic + "/" + name, Payload: []byte(name + " is gone"), QoS: 1}
				m.mustConnect(c)
			}
			d := e.newDev(t)

			// A disconnect: the broker discards the will.
			m := d.openMQTT(1024, 1024)
			withWill(m, "disconnected")
			if r := m.disconnect(); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("disconnect: %+v", r)
			}
			m.close()

			// The application closes the channel: abrupt, the will goes.
			m = d.openMQTT(1024, 1024)
			withWill(m, "closed")
			m.close()
			if msg := p.msg(); msg.Topic != topic+"/closed" || string(msg.Payload) != "closed is gone" {
				t.Fatalf("peer got %q on %q, want the will of the closed channel", msg.Payload, msg.Topic)
			}

			// The link drops.
			m = d.openMQTT(1024, 1024)
			withWill(m, "dropped")
			id := d.d.ID()
			if err := e.cloud.Faults().DropLink(id); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.cloud.Faults().RestoreLink(id) })
			if msg := p.msg(); msg.Topic != topic+"/dropped" || string(msg.Payload) != "dropped is gone" || msg.QoS != 1 {
				t.Fatalf("peer got %q on %q, want the will of the dropped link", msg.Payload, msg.Topic)
			}
			if r := m.waitClosed(); r != abi.ClosureReasonConnectionTerminated {
				t.Fatalf("closure reason %v, want CONNECTIONTERMINATED (link lost)", r)
			}
			p.noMsg(100 * time.Millisecond) // no will from the disconnect
		})
	}
}

// TestMQTTBrokerRestart: the broker goes away under a connected channel:
// the request in flight completes NOTCONNECTED, a DISCONNECTRESPONSE brings
// the news, and the channel closes with CHANNELCLOSEDBYSERVER. A new
// channel connects once the broker is back.
func TestMQTTBrokerRestart(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	for _, v := range mqttVersions {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			br := mosquitto.Start(t, mosquitto.Options{})
			e := newMQTTEnv(t, cloud.Options{})
			d := e.newDev(t)
			m := d.openMQTT(1024, 1024)
			m.mustConnect(connReq(br, v.v, "restart"))
			m.mustSubscribe(1, "restart/t", 1)
			br.Stop()
			news := m.expect(abi.MQTTReadableDataTypeDisconnectResponse).disc
			// Mosquitto tells v5 clients it is shutting down (0x8B); a
			// 3.1.1 client just sees the connection close.
			if news.RequestState != abi.MQTTRequestStateNotConnected || news.DisconnectCode != 0 && news.DisconnectCode != 0x8B {
				t.Fatalf("disconnect news %+v", news)
			}
			if r := m.waitClosed(); r != abi.ClosureReasonChannelClosedByServer {
				t.Fatalf("closure reason %v, want CHANNELCLOSEDBYSERVER", r)
			}
			if st := m.v.d.MQTTRequestDisconnect(m.ch); st != abi.StatusChannelClosed {
				t.Fatalf("disconnect on the closed channel: %s, want CHANNELCLOSED", st)
			}
			m.close()

			if err := br.Restart(); err != nil {
				t.Fatal(err)
			}
			m = d.openMQTT(1024, 1024)
			m.mustConnect(connReq(br, v.v, "restart"))
			if r := m.publish(2, "restart/t", []byte("back"), 1, false); r.RequestState != abi.MQTTRequestStateRequestCompleted {
				t.Fatalf("publish after the restart: %+v", r)
			}
		})
	}
}

// TestMQTTBrokerUnresponsive: a broker that stops answering (paused: to
// the cloud a dead network path) fails the keepalive; the publish waiting
// for its PUBACK completes NOTCONNECTED and the channel closes with
// CONNECTIONTERMINATED, a connection error rather than a server close.
func TestMQTTBrokerUnresponsive(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	e := newMQTTEnv(t, cloud.Options{})
	d := e.newDev(t)
	m := d.openMQTT(1024, 1024)
	c := connReq(br, abi.MQTTProtocolVersionV5, "paused")
	c.Keepalive = 1
	m.mustConnect(c)
	br.Pause()
	t.Cleanup(br.Continue)
	m.requestPublish(9, "paused/t", []byte("into the void"), 1, false)
	if r := m.expect(abi.MQTTReadableDataTypePublishResponse).pub; r.RequestState != abi.MQTTRequestStateNotConnected || r.CorrelationID != 9 {
		t.Fatalf("publish response %+v, want NOTCONNECTED", r)
	}
	if r := m.expect(abi.MQTTReadableDataTypeDisconnectResponse).disc; r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect news %+v", r)
	}
	if r := m.waitClosed(); r != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("closure reason %v, want CONNECTIONTERMINATED", r)
	}
}

// TestMQTTCircuitBreaker: messages arrive faster than the application
// reads them, beyond the cloud's backlog (set small here): the cloud cuts
// the broker session. The application reads what reached its ring, then
// the publish that was waiting for the broker answers
// CONNECTIONCIRCUITBREAKER, a DISCONNECTRESPONSE says the same, and the
// channel closes with CHANNELRESETBYSERVER.
func TestMQTTCircuitBreaker(t *testing.T) {
	t.Parallel()
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	const backlog = 3
	// A negligible leak: only the backlog counts.
	e := newMQTTEnv(t, cloud.Options{MQTT: cloud.MQTTOptions{BreakerBacklog: backlog, BreakerRate: 0.001}})
	d := e.newDev(t)
	m := d.openMQTT(1024, 1024)
	c := connReq(br, abi.MQTTProtocolVersionV5, "breaker")
	c.Will = &device.MQTTWill{Topic: "cb/will", Payload: []byte("cut"), QoS: 1}
	m.mustConnect(c)
	m.mustSubscribe(1, "cb/t", 0)
	p := newPeer(t, br, abi.MQTTProtocolVersionV5, "breaker-peer")
	p.subscribe("cb/will")

	// Items of 341 bytes: three fill the 1024-byte ring, three more wait
	// in the cloud — the backlog, not beyond it.
	payload := bytes.Repeat([]byte("x"), 318)
	for range 3 + backlog {
		p.publish("cb/t", payload, 0, false)
	}
	eventually(t, "the backlog waits in the cloud", func() bool {
		info, ok := e.mqttChannelInfo(t, d, m)
		return ok && info.Waiting == backlog
	})
	// One more message trips the breaker: our own publish, which Mosquitto
	// delivers to our subscription before it sends the PUBACK.
	m.requestPublish(77, "cb/t", payload, 1, false)
	// The broker connection is dropped, not disconnected: the will goes.
	// (Reading before the breaker trips would make room for the backlog.)
	if msg := p.msg(); msg.Topic != "cb/will" {
		t.Fatalf("peer got %q on %q, want the will", msg.Payload, msg.Topic)
	}

	for range 3 {
		if msg := m.msg(); !bytes.Equal(msg.Payload, payload) {
			t.Fatalf("message of %d bytes", len(msg.Payload))
		}
	}
	if r := m.expect(abi.MQTTReadableDataTypePublishResponse).pub; r.RequestState != abi.MQTTRequestStateConnectionCircuitBreaker || r.CorrelationID != 77 {
		t.Fatalf("publish response %+v, want CONNECTIONCIRCUITBREAKER", r)
	}
	if r := m.expect(abi.MQTTReadableDataTypeDisconnectResponse).disc; r.RequestState != abi.MQTTRequestStateConnectionCircuitBreaker {
		t.Fatalf("disconnect news %+v, want CONNECTIONCIRCUITBREAKER", r)
	}
	if r := m.waitClosed(); r != abi.ClosureReasonChannelResetByServer {
		t.Fatalf("closure reason %v, want CHANNELRESETBYSERVER", r)
	}
	if typ, st := d.d.MQTTGetNextReadableDataType(m.ch); st != abi.StatusChannelClosed {
		t.Fatalf("after everything was read: %v %s, want CHANNELCLOSED", typ, st)
	}
}
