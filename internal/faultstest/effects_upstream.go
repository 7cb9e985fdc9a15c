package faultstest

import (
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
)

// The effects of the upstream kinds: HTTP requests to r.URL, MQTT sessions
// with the broker at r.Broker.

func dnsFailure(t *testing.T, r *Rig, d Door) {
	host := r.urlHost(t)
	httpFailed(faults.DNSFailure, map[string]string{"host": host}, "DNS lookup of "+host+" failed")(t, r, d)
}

func httpStatus(t *testing.T, r *Rig, d Door) {
	sid := apply(t, d, faults.HTTPStatus, map[string]string{"status": "503", "body": "busy"})
	if resp := r.Fetch(t, 10000); resp.Result != abi.HTTPResultOK || resp.StatusCode != 503 || string(resp.Body) != "busy" {
		t.Fatalf("result %s status %d body %q, want OK 503 \"busy\"", resp.Result, resp.StatusCode, resp.Body)
	}
	clear(t, d, sid)
	r.wantOK(t)
}

func httpDelay(t *testing.T, r *Rig, d Door) {
	// A delay past the request's own timeout: the request times out.
	httpFailed(faults.HTTPDelay, map[string]string{"delay": "1h"}, "timed out")(t, r, d)
}

// httpFailed checks a kind whose request fails: REQUESTFAILED with a
// diagnostic saying want; once cleared the request succeeds.
func httpFailed(kind faults.Kind, params map[string]string, want string) effect {
	return func(t *testing.T, r *Rig, d Door) {
		sid := apply(t, d, kind, params)
		resp := r.Fetch(t, 5000) // the least timeout (spec/abi.md)
		if resp.Result != abi.HTTPResultRequestFailed || !strings.Contains(resp.Diagnostic, want) {
			t.Fatalf("under %s: result %s status %d diagnostic %q, want REQUESTFAILED saying %q", kind, resp.Result, resp.StatusCode, resp.Diagnostic, want)
		}
		clear(t, d, sid)
		r.wantOK(t)
	}
}

func (r *Rig) wantOK(t *testing.T) {
	t.Helper()
	if resp := r.Fetch(t, 10000); resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 {
		t.Fatalf("after the fault was cleared: result %s status %d (%q), want OK 200", resp.Result, resp.StatusCode, resp.Diagnostic)
	}
}

func (r *Rig) urlHost(t *testing.T) string {
	t.Helper()
	rest, ok := strings.CutPrefix(r.URL, "https://")
	if !ok {
		t.Fatalf("rig URL %q is not https", r.URL)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
}

func mqttRefuse(t *testing.T, r *Rig, d Door) {
	sid := apply(t, d, faults.MQTTRefuse, map[string]string{"reason-code": "0x87"})
	m := r.OpenMQTT(t)
	if c := m.Connect(t); c.RequestState != abi.MQTTRequestStateRequestCompleted || c.ReasonCode != 0x87 {
		t.Fatalf("connect under mqtt-refuse: %v reason %#x, want REQUESTCOMPLETED 0x87", c.RequestState, c.ReasonCode)
	}
	m.Close()
	clear(t, d, sid)
	m = r.OpenMQTT(t)
	defer m.Close()
	m.MustConnect(t)
}

func mqttDisconnect(t *testing.T, r *Rig, d Door) {
	m := r.OpenMQTT(t)
	defer m.Close()
	m.MustConnect(t)
	f, err := d.Apply(string(faults.MQTTDisconnect), nil)
	if err != nil || f.Status != "done" {
		t.Fatalf("apply mqtt-disconnect: %+v %v, want done", f, err)
	}
	if typ := m.next(t); typ != abi.MQTTReadableDataTypeDisconnectResponse {
		t.Fatalf("after mqtt-disconnect the channel has %v, want DISCONNECTRESPONSE", typ)
	}
	if dr, st := r.Dev.MQTTReadDisconnectResponse(m.ch); st != abi.StatusOkay || dr.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect response %+v (%s), want NOTCONNECTED", dr, st)
	}
	r.WaitEvent(t, m.tag, abi.EventTypeChannelNotConnected)
	if why, st := r.Dev.GetChannelClosureReason(m.ch); st != abi.StatusOkay || why != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("closure reason %s (%s), want CONNECTIONTERMINATED", why, st)
	}
	m2 := r.OpenMQTT(t)
	defer m2.Close()
	m2.MustConnect(t)
}

func mqttDrop(t *testing.T, r *Rig, d Door) {
	m := r.OpenMQTT(t)
	defer m.Close()
	m.MustConnect(t)
	root := m.clientID
	m.Subscribe(t, root+"/#")
	sid := apply(t, d, faults.MQTTDrop, map[string]string{"topic": root + "/noisy"})
	m.Publish(t, root+"/noisy", "dropped")
	m.Publish(t, root+"/quiet", "kept")
	if msg := m.Message(t); string(msg.Payload) != "kept" {
		t.Fatalf("first message %q on %q, want \"kept\" (the one on %s/noisy dropped)", msg.Payload, msg.Topic, root)
	}
	clear(t, d, sid)
	m.Publish(t, root+"/noisy", "heard")
	if msg := m.Message(t); string(msg.Payload) != "heard" {
		t.Fatalf("message %q after the drop was cleared, want \"heard\"", msg.Payload)
	}
}

func mqttDelay(t *testing.T, r *Rig, d Door) {
	m := r.OpenMQTT(t)
	defer m.Close()
	m.MustConnect(t)
	root := m.clientID
	m.Subscribe(t, root+"/#")
	const delay = 300 * time.Millisecond
	sid := apply(t, d, faults.MQTTDelay, map[string]string{"topic": root + "/slow", "delay": delay.String()})
	start := time.Now()
	m.Publish(t, root+"/slow", "slow")
	// A lower bound only: the message was held at least the delay.
	if msg := m.Message(t); string(msg.Payload) != "slow" || time.Since(start) < delay {
		t.Fatalf("message %q after %v, want \"slow\" no sooner than %v", msg.Payload, time.Since(start), delay)
	}
	clear(t, d, sid)
}

// MQTT is an MQTT channel of the rig's device.
type MQTT struct {
	r        *Rig
	ch       *device.Channel
	tag      uint32
	clientID string
	corr     uint32
	pending  []device.MQTTMessage // read while waiting for a publish's acknowledgement
}

var nextClient atomic.Uint32

// OpenMQTT opens an MQTT channel; its connect uses a client ID of its own.
func (r *Rig) OpenMQTT(t *testing.T) *MQTT {
	t.Helper()
	nextTag++
	return &MQTT{r: r, ch: r.open(t, nextTag, abi.ChannelTypeMQTT), tag: nextTag, clientID: "faultstest-" + strconv.Itoa(int(nextClient.Add(1)))}
}

// Close closes the channel.
func (m *MQTT) Close() { m.r.Dev.CloseChannel(m.ch) }

// next waits for a readable item and returns its type.
func (m *MQTT) next(t *testing.T) abi.MQTTReadableDataType {
	t.Helper()
	for {
		typ, st := m.r.Dev.MQTTGetNextReadableDataType(m.ch)
		if st != abi.StatusOkay {
			t.Fatalf("mvMqttGetNextReadableDataType: %s", st)
		}
		if typ != abi.MQTTReadableDataTypeNone {
			return typ
		}
		m.r.WaitEvent(t, m.tag, abi.EventTypeChannelDataReadable)
	}
}

// Connect connects (MQTT 5, plain, to r.Broker) and returns the response.
func (m *MQTT) Connect(t *testing.T) abi.MQTTConnectResponse {
	t.Helper()
	if m.r.Broker == "" {
		t.Fatal("the rig has no Broker: the MQTT kinds' effects need a plaintext Mosquitto the cloud may reach")
	}
	host, port, err := net.SplitHostPort(m.r.Broker)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	c := device.MQTTConnect{Version: abi.MQTTProtocolVersionV5, Host: host, Port: uint16(p), ClientID: m.clientID, Keepalive: 60, CleanStart: true}
	if st, err := m.r.Dev.MQTTRequestConnect(m.ch, c); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestConnect: %s %v", st, err)
	}
	if typ := m.next(t); typ != abi.MQTTReadableDataTypeConnectResponse {
		t.Fatalf("connect answered with %v", typ)
	}
	r, st := m.r.Dev.MQTTReadConnectResponse(m.ch)
	if st != abi.StatusOkay {
		t.Fatalf("mvMqttReadConnectResponse: %s", st)
	}
	return r
}

// MustConnect connects and fails unless the broker accepted.
func (m *MQTT) MustConnect(t *testing.T) {
	t.Helper()
	if r := m.Connect(t); r.RequestState != abi.MQTTRequestStateRequestCompleted || r.ReasonCode != 0 {
		t.Fatalf("connect to %s: %v reason %#x", m.r.Broker, r.RequestState, r.ReasonCode)
	}
}

// Subscribe subscribes to filter at QoS 0 and requires the grant.
func (m *MQTT) Subscribe(t *testing.T, filter string) {
	t.Helper()
	m.corr++
	if st, err := m.r.Dev.MQTTRequestSubscribe(m.ch, m.corr, []device.MQTTSubscription{{Topic: filter}}); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestSubscribe: %s %v", st, err)
	}
	if typ := m.next(t); typ != abi.MQTTReadableDataTypeSubscribeResponse {
		t.Fatalf("subscribe answered with %v", typ)
	}
	if r, st := m.r.Dev.MQTTReadSubscribeResponse(m.ch, 8); st != abi.StatusOkay || r.State != abi.MQTTRequestStateRequestCompleted || len(r.ReasonCodes) != 1 || r.ReasonCodes[0] != 0 {
		t.Fatalf("subscribe to %q: %+v (%s)", filter, r, st)
	}
}

// Publish publishes payload on topic at QoS 1 and waits for the broker's
// acknowledgement; messages that come first are kept for Message.
func (m *MQTT) Publish(t *testing.T, topic, payload string) {
	t.Helper()
	m.corr++
	if st, err := m.r.Dev.MQTTRequestPublish(m.ch, m.corr, topic, []byte(payload), 1, false); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestPublish: %s %v", st, err)
	}
	for {
		typ := m.next(t)
		if typ == abi.MQTTReadableDataTypePublishResponse {
			break
		}
		if typ != abi.MQTTReadableDataTypeMessageReceived {
			t.Fatalf("publish to %q: next item is %v, want the publish response or a message", topic, typ)
		}
		// Read from the channel even with messages kept already (Message
		// would hand out a kept one and leave this one unread).
		m.pending = append(m.pending, m.receive(t))
	}
	if r, st := m.r.Dev.MQTTReadPublishResponse(m.ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("publish to %q: %+v (%s)", topic, r, st)
	}
}

// Message waits for the next item, which must be a message, and reads it.
func (m *MQTT) Message(t *testing.T) device.MQTTMessage {
	t.Helper()
	if len(m.pending) > 0 {
		msg := m.pending[0]
		m.pending = m.pending[1:]
		return msg
	}
	if typ := m.next(t); typ != abi.MQTTReadableDataTypeMessageReceived {
		t.Fatalf("next item is %v, want a message", typ)
	}
	return m.receive(t)
}

// receive reads the message that is the channel's next item.
func (m *MQTT) receive(t *testing.T) device.MQTTMessage {
	t.Helper()
	msg, st := m.r.Dev.MQTTReceiveMessage(m.ch, 1024, 1024)
	if st != abi.StatusOkay {
		t.Fatalf("mvMqttReceiveMessage: %s", st)
	}
	return msg
}
