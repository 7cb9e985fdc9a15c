package kernel_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

func TestMQTTConnect(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	h.cloud.setAutoCredit(true)
	ch := h.mqttOpen(c, nw, 1024, 2048, 0x31)
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeNone {
		t.Fatalf("a new channel has %v to read", got)
	}
	r := h.connectReq("broker.example.com", "device-1")
	r.ProtocolVersion = abi.MQTTProtocolVersionV311
	r.Port, r.Keepalive, r.CleanStart = 8883, 65535, 0
	r.Authentication = abi.MQTTAuthentication{Method: abi.MQTTAuthenticationMethodUsernamePassword,
		UsernamePassword: abi.UsernamePassword{Username: h.str("user"), Password: h.str("pw\x00")}}
	r.TLSCredentials = h.tlsCreds([][]byte{[]byte("ca-der-1"), []byte("ca-der-2")}, nil, nil)
	r.Will = h.will("dev/status", "offline", 1, 7)
	wantStatus(t, "mvMqttRequestConnect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(r)), abi.StatusOkay)
	want := &link.MQTTConnectRequest{
		Protocol: 0, CleanStart: false, Keepalive: 65535, Port: 8883,
		Host: "broker.example.com", ClientID: "device-1", Auth: 1, Username: "user", Password: []byte("pw\x00"),
		Will: &link.MQTTWill{Topic: "dev/status", Payload: []byte("offline"), QoS: 1, Retain: true},
		TLS:  &link.MQTTTLS{CACerts: [][]byte{[]byte("ca-der-1"), []byte("ca-der-2")}},
	}
	// In the send ring, and at the cloud: the same request.
	ring, _, err := link.ParseMQTTRequest(h.bytes(ch.tx, uint64(ch.txLen)))
	if err != nil || !reflect.DeepEqual(ring, link.MQTTRequest(want)) {
		t.Fatalf("send ring holds %#v (%v), want %#v", ring, err, want)
	}
	if got := h.cloud.waitRequests(t, ch.handle, 1); !reflect.DeepEqual(got[0], link.MQTTRequest(want)) {
		t.Fatalf("the cloud got %#v", got[0])
	}
	wantStatus(t, "second connect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(r)), abi.StatusRequestAlreadySent)

	h.cloud.item(t, ch.handle, &link.MQTTConnectResponseItem{RequestState: 0, ReasonCode: 0})
	c.wait(abi.EventTypeChannelDataReadable, 0x31)
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeConnectResponse {
		t.Fatalf("next is %v", got)
	}
	if resp, st := h.readConnect(ch); st != abi.StatusOkay || resp != (abi.MQTTConnectResponse{}) {
		t.Fatalf("connect response %+v, %v", resp, st)
	}
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeNone {
		t.Fatalf("after reading, next is %v", got)
	}
	wantStatus(t, "connect after the response", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(r)), abi.StatusRequestAlreadySent)

	// A client certificate with its key and no username: the username and
	// password pointers are not looked at with method NONE. An empty client
	// ID is fine with clean start.
	ch2 := h.mqttOpen(c, nw, 512, 1024, 0x32)
	r2 := h.connectReq("10.0.0.1", "")
	r2.TLSCredentials = h.tlsCreds([][]byte{[]byte("ca")}, [][]byte{[]byte("leaf"), []byte("inter")}, []byte("pkcs8"))
	r2.Authentication.UsernamePassword.Username = abi.SizedString{Data: bad, Length: 5}
	wantStatus(t, "connect with a client certificate", h.call("mvMqttRequestConnect", uint64(ch2.handle), uint64(h.writeConnect(r2))), abi.StatusOkay)
	want2 := &link.MQTTConnectRequest{Protocol: 1, CleanStart: true, Keepalive: 60, Port: 1883, Host: "10.0.0.1",
		TLS: &link.MQTTTLS{CACerts: [][]byte{[]byte("ca")}, ClientCerts: [][]byte{[]byte("leaf"), []byte("inter")}, Key: []byte("pkcs8")}}
	if got := h.cloud.waitRequests(t, ch2.handle, 1); !reflect.DeepEqual(got[0], link.MQTTRequest(want2)) {
		t.Fatalf("the cloud got %#v, want %#v", got[0], want2)
	}
}

// TestMQTTConnectRefusedLocally: parameters the broker would refuse as a
// protocol error, or a request too large for the send buffer, are accepted
// and answered by the kernel with INVALIDPARAMETERS; nothing is sent, and
// the channel has had its one connect.
func TestMQTTConnectRefusedLocally(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	cases := []struct {
		name string
		mod  func(r *abi.MQTTConnectRequest)
	}{
		{"protocol 2", func(r *abi.MQTTConnectRequest) { r.ProtocolVersion = 2 }},
		{"keepalive 65536", func(r *abi.MQTTConnectRequest) { r.Keepalive = 65536 }},
		{"will QoS 2", func(r *abi.MQTTConnectRequest) { r.Will = h.will("w", "p", 2, 0) }},
		{"will topic with a wildcard", func(r *abi.MQTTConnectRequest) { r.Will = h.will("w/#", "p", 0, 0) }},
		{"client ID not UTF-8", func(r *abi.MQTTConnectRequest) { r.ClientID = h.str("dev\xff") }},
		{"larger than the send buffer", func(r *abi.MQTTConnectRequest) { r.Host = h.str(strings.Repeat("h", 500)) }},
		{"certificates larger than the send buffer", func(r *abi.MQTTConnectRequest) {
			r.TLSCredentials = h.tlsCreds([][]byte{bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{2}, 300)}, nil, nil)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.clk.advance(time.Second) // the open rate limit
			ch := h.mqttOpen(c, nw, 512, 512, uint32(0x40+i))
			r := h.connectReq("broker", "dev")
			tc.mod(&r)
			wantStatus(t, "mvMqttRequestConnect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(r)), abi.StatusOkay)
			c.wait(abi.EventTypeChannelDataReadable, ch.tag)
			if resp, st := h.readConnect(ch); st != abi.StatusOkay || resp.RequestState != abi.MQTTRequestStateInvalidParameters {
				t.Fatalf("connect response %+v, %v", resp, st)
			}
			wantStatus(t, "second connect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("b", "d"))), abi.StatusRequestAlreadySent)
			wantStatus(t, "publish", h.publish(ch, 1, "t", nil, 0), abi.StatusOkay)
			if resp, st := h.readPublish(ch); st != abi.StatusOkay || resp.RequestState != abi.MQTTRequestStateNotConnected || resp.CorrelationID != 1 {
				t.Fatalf("publish response %+v, %v", resp, st)
			}
			h.cloud.sync(t)
			if d := h.cloud.data(ch.handle); len(d) != 0 {
				t.Fatalf("the cloud got %d bytes", len(d))
			}
			h.closeChannel(ch)
		})
	}
}

// TestMQTTNotConnected: requests before a completed connect, while it is
// in flight and after the broker refused it are answered NOTCONNECTED by
// the kernel, in order, one notification each; nothing reaches the cloud.
func TestMQTTNotConnected(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	h.cloud.setAutoCredit(true)
	ch := h.mqttOpen(c, nw, 1024, 1024, 0x33)
	wantStatus(t, "subscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(11, h.sub("a", 1))), abi.StatusOkay)
	wantStatus(t, "publish", h.publish(ch, 12, "a", []byte("x"), 1), abi.StatusOkay)
	wantStatus(t, "disconnect", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusOkay)
	wantStatus(t, "ack", h.k.MQTTAcknowledgeMessage(ch.handle, 5), abi.StatusOkay)
	if n := c.count(abi.EventTypeChannelDataReadable, 0x33); n != 3 {
		t.Fatalf("%d CHANNELDATAREADABLE, want 3", n)
	}
	c.forget()
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeSubscribeResponse {
		t.Fatalf("first %v", got)
	}
	if r, st := h.readSub(ch, false, 0); st != abi.StatusOkay || r.state != abi.MQTTRequestStateNotConnected || r.corr != 11 || len(r.codes) != 0 {
		t.Fatalf("subscribe response %+v, %v", r, st)
	}
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r != (abi.MQTTPublishResponse{RequestState: abi.MQTTRequestStateNotConnected, CorrelationID: 12}) {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	if r, st := h.readDisconnect(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect response %+v, %v", r, st)
	}
	wantStatus(t, "unsubscribe", h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(13, "a")), abi.StatusOkay)
	if r, st := h.readSub(ch, true, 8); st != abi.StatusOkay || r.state != abi.MQTTRequestStateNotConnected || r.corr != 13 {
		t.Fatalf("unsubscribe response %+v, %v", r, st)
	}

	// While the connect is in flight.
	wantStatus(t, "connect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("b", "d"))), abi.StatusOkay)
	h.cloud.waitRequests(t, ch.handle, 1)
	wantStatus(t, "publish while connecting", h.publish(ch, 14, "a", nil, 0), abi.StatusOkay)
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	// The broker refuses (bad credentials): still not connected.
	h.cloud.item(t, ch.handle, &link.MQTTConnectResponseItem{RequestState: 0, ReasonCode: 0x86})
	if r, st := h.readConnect(ch); st != abi.StatusOkay || r.ReasonCode != 0x86 {
		t.Fatalf("connect response %+v, %v", r, st)
	}
	wantStatus(t, "publish after a refusal", h.publish(ch, 15, "a", nil, 0), abi.StatusOkay)
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected || r.CorrelationID != 15 {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	h.cloud.sync(t)
	if got := h.cloud.mqttRequests(t, ch.handle); len(got) != 1 || got[0].Kind() != link.MQTTConnect {
		t.Fatalf("the cloud got %#v, want only the connect", got)
	}
}

func TestMQTTSubscribe(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 1024, 1024, 0x34)
	subs := []abi.MQTTSubscription{h.sub("a/+", 1), h.sub("b/#", 0), h.sub("c", 1)}
	subs[0].NL, subs[0].RAP, subs[0].RH = 5, 1, 2
	wantStatus(t, "subscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(0xC0FFEE, subs...)), abi.StatusOkay)
	want := &link.MQTTSubscribeRequest{CorrelationID: 0xC0FFEE, Subscriptions: []link.MQTTSubscription{
		{Topic: "a/+", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
		{Topic: "b/#"}, {Topic: "c", QoS: 1},
	}}
	if got := h.cloud.waitRequests(t, ch.handle, 2); !reflect.DeepEqual(got[1], link.MQTTRequest(want)) {
		t.Fatalf("the cloud got %#v", got[1])
	}
	// One subscribe or unsubscribe in flight, until its response is read.
	wantStatus(t, "second subscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(2, h.sub("d", 0))), abi.StatusRateLimited)
	wantStatus(t, "unsubscribe", h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(2, "a/+")), abi.StatusRateLimited)
	item := &link.MQTTSubscribeResponseItem{RequestState: 0, CorrelationID: 0xC0FFEE, ReasonCodes: []byte{1, 0, 0x87}}
	h.cloud.item(t, ch.handle, item)
	c.wait(abi.EventTypeChannelDataReadable, 0x34)
	wantStatus(t, "subscribe before reading", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(2, h.sub("d", 0))), abi.StatusRateLimited)

	// reason_codes_size counts codes: 2 is too few for 3.
	credit := h.cloud.credit(ch.handle)
	if _, st := h.readSub(ch, false, 2); st != abi.StatusInvalidBufferSize {
		t.Fatalf("2 codes of room: %v", st)
	}
	if _, st := h.readSub(ch, true, 8); st != abi.StatusParameterFault {
		t.Fatalf("read as an unsubscribe response: %v", st)
	}
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeSubscribeResponse {
		t.Fatalf("after failed reads, next is %v", got)
	}
	r, st := h.readSub(ch, false, 3)
	if st != abi.StatusOkay || !reflect.DeepEqual(r, codesResp{state: 0, corr: 0xC0FFEE, codes: []uint32{1, 0, 0x87}}) {
		t.Fatalf("subscribe response %+v, %v", r, st)
	}
	// The item's bytes went back to the cloud as credit.
	eventually(t, "credit", func() bool { return h.cloud.credit(ch.handle) == credit+uint64(item.Size()) })

	wantStatus(t, "unsubscribe", h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(7, "a/+", "c")), abi.StatusOkay)
	wantU := &link.MQTTUnsubscribeRequest{CorrelationID: 7, Topics: []string{"a/+", "c"}}
	if got := h.cloud.waitRequests(t, ch.handle, 3); !reflect.DeepEqual(got[2], link.MQTTRequest(wantU)) {
		t.Fatalf("the cloud got %#v", got[2])
	}
	wantStatus(t, "subscribe during unsubscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(2, h.sub("d", 0))), abi.StatusRateLimited)
	// MQTT 3.1.1's UNSUBACK has no codes: size 0 will do.
	h.cloud.item(t, ch.handle, &link.MQTTUnsubscribeResponseItem{CorrelationID: 7})
	if r, st := h.readSub(ch, true, 0); st != abi.StatusOkay || r.corr != 7 || len(r.codes) != 0 {
		t.Fatalf("unsubscribe response %+v, %v", r, st)
	}
	wantStatus(t, "subscribe after", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(2, h.sub("d", 0))), abi.StatusOkay)
}

// TestMQTTSubscribeRefusedLocally: invalid subscriptions are answered
// INVALIDPARAMETERS by the kernel without reaching the cloud.
func TestMQTTSubscribeRefusedLocally(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 1024, 512, 0x35)
	subs := map[string]func() mem.Addr{
		"no topics": func() mem.Addr { return h.subReq(1) },
		"QoS 2":     func() mem.Addr { return h.subReq(1, h.sub("a", 2)) },
		"rh 3": func() mem.Addr {
			s := h.sub("a", 0)
			s.RH = 3
			return h.subReq(1, s)
		},
		"empty topic":          func() mem.Addr { return h.subReq(1, h.sub("", 0)) },
		"topic not UTF-8":      func() mem.Addr { return h.subReq(1, h.sub("a\xc3", 0)) },
		"topic with NUL":       func() mem.Addr { return h.subReq(1, h.sub("a\x00b", 0)) },
		"larger than the ring": func() mem.Addr { return h.subReq(1, h.sub(strings.Repeat("t", 500), 0)) },
	}
	for name, req := range subs {
		wantStatus(t, name, h.k.MQTTRequestSubscribe(ch.handle, req()), abi.StatusOkay)
		if r, st := h.readSub(ch, false, 8); st != abi.StatusOkay || r.state != abi.MQTTRequestStateInvalidParameters || r.corr != 1 {
			t.Fatalf("%s: response %+v, %v", name, r, st)
		}
	}
	unsubs := map[string]func() mem.Addr{
		"no topics":   func() mem.Addr { return h.unsubReq(1) },
		"empty topic": func() mem.Addr { return h.unsubReq(1, "a", "") },
		"not UTF-8":   func() mem.Addr { return h.unsubReq(1, "\xff") },
	}
	for name, req := range unsubs {
		wantStatus(t, name, h.k.MQTTRequestUnsubscribe(ch.handle, req()), abi.StatusOkay)
		if r, st := h.readSub(ch, true, 8); st != abi.StatusOkay || r.state != abi.MQTTRequestStateInvalidParameters {
			t.Fatalf("unsubscribe %s: response %+v, %v", name, r, st)
		}
	}
	h.cloud.sync(t)
	if got := h.cloud.mqttRequests(t, ch.handle); len(got) != 1 {
		t.Fatalf("the cloud got %d requests, want only the connect", len(got))
	}
}

func TestMQTTPublish(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 2048, 4096, 0x36)
	wantStatus(t, "QoS 0", h.publish(ch, 1, "t/0", []byte("zero"), 0), abi.StatusOkay)
	wantStatus(t, "QoS 1 retained", h.k.MQTTRequestPublish(ch.handle, h.pubReq(2, "t/1", []byte("one"), 1, 7)), abi.StatusOkay)
	got := h.cloud.waitRequests(t, ch.handle, 3)
	want := []link.MQTTRequest{
		&link.MQTTPublishRequest{CorrelationID: 1, Topic: "t/0", Payload: []byte("zero")},
		&link.MQTTPublishRequest{CorrelationID: 2, Topic: "t/1", Payload: []byte("one"), QoS: 1, Retain: true},
	}
	if !reflect.DeepEqual(got[1:], want) {
		t.Fatalf("the cloud got %#v", got[1:])
	}
	// Answered in another order: read in arrival order.
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 2, ReasonCode: 0x10})
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 1})
	for _, w := range []abi.MQTTPublishResponse{{CorrelationID: 2, ReasonCode: 0x10}, {CorrelationID: 1}} {
		if r, st := h.readPublish(ch); st != abi.StatusOkay || r != w {
			t.Fatalf("publish response %+v, %v; want %+v", r, st, w)
		}
	}

	// At most 16 in flight, until their responses are read.
	for i := range 16 {
		wantStatus(t, fmt.Sprint("publish ", i), h.publish(ch, uint32(100+i), "t", []byte{byte(i)}, 1), abi.StatusOkay)
	}
	wantStatus(t, "17th", h.publish(ch, 116, "t", nil, 1), abi.StatusRateLimited)
	wantStatus(t, "17th, QoS 2 (RATELIMITED first)", h.publish(ch, 116, "t", nil, 2), abi.StatusRateLimited)
	h.cloud.waitRequests(t, ch.handle, 19)
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 105})
	wantStatus(t, "17th, response not read", h.publish(ch, 116, "t", nil, 1), abi.StatusRateLimited)
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r.CorrelationID != 105 {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	wantStatus(t, "17th after a read", h.publish(ch, 116, "t", nil, 1), abi.StatusOkay)
	wantStatus(t, "18th", h.publish(ch, 117, "t", nil, 1), abi.StatusRateLimited)

	// QoS 2, wildcards and oversize are the kernel's INVALIDPARAMETERS.
	ch2 := h.mqttConnected(c, nw, 1024, 512, 0x37)
	n := len(h.cloud.mqttRequests(t, ch2.handle))
	for name, req := range map[string]mem.Addr{
		"QoS 2":                h.pubReq(7, "t", []byte("x"), 2, 0),
		"wildcard +":           h.pubReq(7, "a/+/b", nil, 0, 0),
		"wildcard #":           h.pubReq(7, "#", nil, 1, 0),
		"empty topic":          h.pubReq(7, "", []byte("x"), 0, 0),
		"larger than the ring": h.pubReq(7, "t", make([]byte, 500), 0, 0),
	} {
		wantStatus(t, name, h.k.MQTTRequestPublish(ch2.handle, req), abi.StatusOkay)
		if r, st := h.readPublish(ch2); st != abi.StatusOkay || r != (abi.MQTTPublishResponse{RequestState: abi.MQTTRequestStateInvalidParameters, CorrelationID: 7}) {
			t.Fatalf("%s: response %+v, %v", name, r, st)
		}
	}
	// A payload that just fits the ring is sent.
	payload := make([]byte, 512-link.MQTTMessageFixedLen-4-4-1-4-2)
	wantStatus(t, "ring-sized publish", h.publish(ch2, 8, "t", payload, 0), abi.StatusOkay)
	if got := h.cloud.waitRequests(t, ch2.handle, n+1); !reflect.DeepEqual(got[n], link.MQTTRequest(&link.MQTTPublishRequest{CorrelationID: 8, Topic: "t", Payload: payload})) {
		t.Fatalf("the cloud got %#v", got[n])
	}
}

// TestMQTTSendRingFull: requests that do not fit the send ring's free space
// now are RATELIMITED (publish, subscribe, unsubscribe, acknowledge); a
// disconnect waits for the space.
func TestMQTTSendRingFull(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 1024, 512, 0x38)
	h.cloud.setAutoCredit(false)
	h.cloud.sync(t) // the connect was credited back
	wantStatus(t, "first publish", h.publish(ch, 1, "t", make([]byte, 400), 0), abi.StatusOkay)
	wantStatus(t, "second publish", h.publish(ch, 2, "t", make([]byte, 100), 0), abi.StatusRateLimited)
	wantStatus(t, "subscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(3, h.sub(strings.Repeat("s", 100), 0))), abi.StatusRateLimited)
	wantStatus(t, "unsubscribe", h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(3, strings.Repeat("s", 100))), abi.StatusRateLimited)
	// Fill the ring to its last 4 bytes: no room for an ack (9) or a
	// disconnect (5).
	used := (&link.MQTTPublishRequest{Topic: "t", Payload: make([]byte, 400)}).Size()
	fill := 512 - used - 4 - (&link.MQTTPublishRequest{Topic: "t"}).Size()
	wantStatus(t, "filling publish", h.publish(ch, 4, "t", make([]byte, fill), 0), abi.StatusOkay)
	wantStatus(t, "ack", h.k.MQTTAcknowledgeMessage(ch.handle, 1), abi.StatusRateLimited)
	sent := len(h.cloud.waitRequests(t, ch.handle, 3))
	wantStatus(t, "disconnect", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusOkay)
	h.cloud.sync(t)
	if got := h.cloud.mqttRequests(t, ch.handle); len(got) != sent {
		t.Fatalf("the disconnect was sent without room: %d requests", len(got))
	}
	// The cloud returns the space: the disconnect goes out.
	h.cloud.send(t, link.Frame{Type: link.FrameCredit, Chan: ch.handle, Credit: 512 - 4})
	got := h.cloud.waitRequests(t, ch.handle, sent+1)
	if got[sent].Kind() != link.MQTTDisconnect {
		t.Fatalf("then the cloud got %#v", got[sent])
	}
	// Later requests are NOTCONNECTED, whatever the room.
	wantStatus(t, "publish after disconnect", h.publish(ch, 5, "t", nil, 0), abi.StatusOkay)
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 1})
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 4})
	h.cloud.item(t, ch.handle, &link.MQTTDisconnectResponseItem{})
	// Arrival order: the NOTCONNECTED answer came first.
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r.CorrelationID != 5 || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("publish response %+v, %v", r, st)
	}
}

func TestMQTTReceiveMessage(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 1024, 1024, 0x39)
	h.cloud.item(t, ch.handle, &link.MQTTMessageItem{MessageID: 42, Topic: "sensors/1", Payload: []byte("22.5"), QoS: 1, Retain: true})
	c.wait(abi.EventTypeChannelDataReadable, 0x39)
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeMessageReceived {
		t.Fatalf("next is %v", got)
	}
	// Buffers one byte short: nothing written, nothing consumed.
	for _, sz := range [][2]uint32{{8, 4}, {9, 3}} {
		m := h.msgBufs(sz[0], sz[1])
		wantStatus(t, fmt.Sprint("buffers ", sz), h.k.MQTTReceiveMessage(ch.handle, h.writeMsg(m)), abi.StatusInvalidBufferSize)
		if h.u32(m.Topic.Length) != sentinel || h.u32(m.Payload.Length) != sentinel || h.u32(m.CorrelationID) != sentinel {
			t.Fatal("INVALIDBUFFERSIZE wrote outputs")
		}
	}
	got, st := h.receive(ch, 9, 4)
	if want := (msgOut{corr: 42, topic: "sensors/1", payload: "22.5", qos: 1, retain: 1}); st != abi.StatusOkay || got != want {
		t.Fatalf("message %+v, %v; want %+v", got, st, want)
	}
	wantStatus(t, "ack", h.k.MQTTAcknowledgeMessage(ch.handle, 42), abi.StatusOkay)
	reqs := h.cloud.waitRequests(t, ch.handle, 2)
	if !reflect.DeepEqual(reqs[1], link.MQTTRequest(&link.MQTTAckRequest{MessageID: 42})) {
		t.Fatalf("the cloud got %#v", reqs[1])
	}
	// A broker may deliver at QoS 2 (a persistent session subscribed so
	// earlier): reported as it is, acknowledged like QoS 1.
	h.cloud.item(t, ch.handle, &link.MQTTMessageItem{MessageID: 44, Topic: "q", Payload: []byte("2"), QoS: 2})
	if got, st := h.receive(ch, 1, 1); st != abi.StatusOkay || got != (msgOut{corr: 44, topic: "q", payload: "2", qos: 2}) {
		t.Fatalf("QoS 2 message %+v, %v", got, st)
	}
	// An empty payload, QoS 0, into buffers of size 0 for it.
	h.cloud.item(t, ch.handle, &link.MQTTMessageItem{MessageID: 43, Topic: "x"})
	if got, st := h.receive(ch, 1, 0); st != abi.StatusOkay || got != (msgOut{corr: 43, topic: "x"}) {
		t.Fatalf("message %+v, %v", got, st)
	}
}

func TestMQTTMessageLost(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 512, 512, 0x3A)
	h.cloud.item(t, ch.handle, &link.MQTTMessageLostItem{Reason: 0, Topic: "big/one", MessageLen: 1 << 20})
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeMessageLost {
		t.Fatalf("next is %v", got)
	}
	if _, st := h.receive(ch, 64, 64); st != abi.StatusParameterFault {
		t.Fatalf("read as a message: %v", st)
	}
	l := h.lostBufs(6)
	wantStatus(t, "topic buffer too small", h.k.MQTTReceiveLostMessageInfo(ch.handle, h.writeLost(l)), abi.StatusInvalidBufferSize)
	if h.u32(l.Reason) != sentinel || h.u32(l.MessageLen) != sentinel {
		t.Fatal("INVALIDBUFFERSIZE wrote outputs")
	}
	got, st := h.lost(ch, 7)
	if want := (lostOut{reason: abi.MQTTLostMessageReasonDeviceReceiveBufferTooSmall, topic: "big/one", length: 1 << 20}); st != abi.StatusOkay || got != want {
		t.Fatalf("lost %+v, %v; want %+v", got, st, want)
	}
}

// TestMQTTItemOrdering: items are read in arrival order, one notification
// each; a read of the wrong kind consumes nothing.
func TestMQTTItemOrdering(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 2048, 1024, 0x3B)
	c.forget()
	items := []link.MQTTItem{
		&link.MQTTMessageItem{MessageID: 1, Topic: "a", Payload: []byte("1")},
		&link.MQTTPublishResponseItem{CorrelationID: 9},
		&link.MQTTMessageItem{MessageID: 2, Topic: "b", Payload: []byte("2"), QoS: 1},
		&link.MQTTMessageLostItem{Topic: "c", MessageLen: 5000},
		&link.MQTTSubscribeResponseItem{CorrelationID: 3, ReasonCodes: []byte{1}},
		&link.MQTTUnsubscribeResponseItem{CorrelationID: 4, ReasonCodes: []byte{0x11}},
		&link.MQTTConnectResponseItem{ReasonCode: 0x99},
		&link.MQTTDisconnectResponseItem{DisconnectCode: 0x8E},
	}
	// All in one DATA frame: each is still its own item.
	var all []byte
	for _, it := range items {
		all = it.Append(all)
	}
	h.cloud.sendData(t, ch.handle, all)
	h.cloud.sync(t)
	if n := c.count(abi.EventTypeChannelDataReadable, 0x3B); n != len(items) {
		t.Fatalf("%d notifications for %d items", n, len(items))
	}
	c.forget()
	types := []abi.MQTTReadableDataType{
		abi.MQTTReadableDataTypeMessageReceived, abi.MQTTReadableDataTypePublishResponse,
		abi.MQTTReadableDataTypeMessageReceived, abi.MQTTReadableDataTypeMessageLost,
		abi.MQTTReadableDataTypeSubscribeResponse, abi.MQTTReadableDataTypeUnsubscribeResponse,
		abi.MQTTReadableDataTypeConnectResponse, abi.MQTTReadableDataTypeDisconnectResponse,
	}
	reads := map[abi.MQTTReadableDataType]func() abi.Status{
		abi.MQTTReadableDataTypeMessageReceived:     func() abi.Status { _, st := h.receive(ch, 16, 16); return st },
		abi.MQTTReadableDataTypeMessageLost:         func() abi.Status { _, st := h.lost(ch, 16); return st },
		abi.MQTTReadableDataTypeConnectResponse:     func() abi.Status { _, st := h.readConnect(ch); return st },
		abi.MQTTReadableDataTypeSubscribeResponse:   func() abi.Status { _, st := h.readSub(ch, false, 8); return st },
		abi.MQTTReadableDataTypeUnsubscribeResponse: func() abi.Status { _, st := h.readSub(ch, true, 8); return st },
		abi.MQTTReadableDataTypePublishResponse:     func() abi.Status { _, st := h.readPublish(ch); return st },
		abi.MQTTReadableDataTypeDisconnectResponse:  func() abi.Status { _, st := h.readDisconnect(ch); return st },
	}
	for i, want := range types {
		if got := h.nextType(ch); got != want {
			t.Fatalf("item %d: next is %v, want %v", i, got, want)
		}
		for typ, read := range reads {
			if typ != want {
				wantStatus(t, fmt.Sprintf("item %d (%v) read as %v", i, want, typ), read(), abi.StatusParameterFault)
			}
		}
		if got := h.nextType(ch); got != want {
			t.Fatalf("item %d: after wrong reads, next is %v", i, got)
		}
		wantStatus(t, fmt.Sprintf("item %d read as %v", i, want), reads[want](), abi.StatusOkay)
	}
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeNone {
		t.Fatalf("at the end, next is %v", got)
	}
	for typ, read := range reads {
		wantStatus(t, fmt.Sprintf("%v with nothing to read", typ), read(), abi.StatusParameterFault)
	}
	if n := c.count(abi.EventTypeChannelDataReadable, 0x3B); n != 0 {
		t.Fatalf("%d notifications from reading", n)
	}
}

// TestMQTTRingWrap sends many messages of assorted sizes through a small
// receive ring, within the credit the kernel grants back, some split over
// several DATA frames: every message reads back whole, wherever it wrapped.
func TestMQTTRingWrap(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	const rxLen = 512
	ch := h.mqttConnected(c, nw, rxLen, 512, 0x3C)
	base := h.cloud.credit(ch.handle) // the connect response, read
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 300
	var sent, consumed uint64
	var queue []*link.MQTTMessageItem
	for next := 0; next < n || len(queue) > 0; {
		for next < n {
			m := &link.MQTTMessageItem{MessageID: uint32(next), Topic: fmt.Sprintf("t/%d", next),
				Payload: bytes.Repeat([]byte{byte(next)}, rng.IntN(rxLen-40)), QoS: uint8(next % 2), Retain: next%3 == 0}
			size := uint64(m.Size())
			credited := h.cloud.credit(ch.handle) - base
			if sent+size-credited > rxLen {
				break
			}
			b := m.Append(nil)
			for len(b) > 0 { // in up to three pieces
				k := min(len(b), 1+rng.IntN(len(b)))
				h.cloud.sendData(t, ch.handle, b[:k])
				b = b[k:]
			}
			sent += size
			queue = append(queue, m)
			next++
		}
		h.cloud.sync(t)
		c.forget()
		m := queue[0]
		queue = queue[1:]
		got, st := h.receive(ch, 16, rxLen)
		var retain uint8
		if m.Retain {
			retain = 1
		}
		want := msgOut{corr: m.MessageID, topic: m.Topic, payload: string(m.Payload), qos: uint32(m.QoS), retain: retain}
		if st != abi.StatusOkay || got != want {
			t.Fatalf("message %d: %+v, %v", m.MessageID, got, st)
		}
		consumed += uint64(m.Size())
		eventually(t, "credit", func() bool { return h.cloud.credit(ch.handle)-base == consumed })
	}
	if consumed != sent || sent < 20*rxLen {
		t.Fatalf("sent %d, consumed %d", sent, consumed)
	}
}

// TestMQTTLinkLoss: when the link drops, every request the cloud has not
// answered completes as NOTCONNECTED, in order, before CHANNELNOTCONNECTED;
// what was received stays readable.
func TestMQTTLinkLoss(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 1024, 1024, 0x3D)
	h.cloud.item(t, ch.handle, &link.MQTTMessageItem{MessageID: 1, Topic: "m"})
	wantStatus(t, "subscribe", h.k.MQTTRequestSubscribe(ch.handle, h.subReq(5, h.sub("s", 1))), abi.StatusOkay)
	wantStatus(t, "publish 6", h.publish(ch, 6, "t", nil, 1), abi.StatusOkay)
	wantStatus(t, "publish 7", h.publish(ch, 7, "t", nil, 0), abi.StatusOkay)
	h.cloud.waitRequests(t, ch.handle, 4)
	h.cloud.item(t, ch.handle, &link.MQTTPublishResponseItem{CorrelationID: 6})
	wantStatus(t, "disconnect", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusOkay)
	h.cloud.waitRequests(t, ch.handle, 5)
	c.forget()

	h.cloud.drop(t)
	// Three answers (subscribe, publish 7, disconnect), notified before the
	// disconnection.
	var evs []abi.EventType
	eventually(t, "CHANNELNOTCONNECTED", func() bool {
		c.drain()
		evs = evs[:0]
		for _, r := range c.log {
			if r.Tag == 0x3D {
				evs = append(evs, r.EventType)
			}
		}
		return len(evs) > 0 && evs[len(evs)-1] == abi.EventTypeChannelNotConnected
	})
	dr := abi.EventTypeChannelDataReadable
	if !reflect.DeepEqual(evs, []abi.EventType{dr, dr, dr, abi.EventTypeChannelNotConnected}) {
		t.Fatalf("records: %v", evs)
	}
	if got := h.closureReason(ch); got != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("closure reason %v", got)
	}
	// In arrival order: the message and publish 6's answer came from the
	// cloud before the drop.
	if got, st := h.receive(ch, 8, 8); st != abi.StatusOkay || got.corr != 1 {
		t.Fatalf("message %+v, %v", got, st)
	}
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r != (abi.MQTTPublishResponse{CorrelationID: 6}) {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	if r, st := h.readSub(ch, false, 1); st != abi.StatusOkay || r.state != abi.MQTTRequestStateNotConnected || r.corr != 5 {
		t.Fatalf("subscribe response %+v, %v", r, st)
	}
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r != (abi.MQTTPublishResponse{RequestState: abi.MQTTRequestStateNotConnected, CorrelationID: 7}) {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	if r, st := h.readDisconnect(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect response %+v, %v", r, st)
	}
	// Nothing left: CHANNELCLOSED everywhere.
	wantStatus(t, "next type", h.k.MQTTGetNextReadableDataType(ch.handle, h.out(4)), abi.StatusChannelClosed)
	if _, st := h.readPublish(ch); st != abi.StatusChannelClosed {
		t.Fatalf("read publish: %v", st)
	}
	wantStatus(t, "publish", h.publish(ch, 8, "t", nil, 0), abi.StatusChannelClosed)
	wantStatus(t, "ack", h.k.MQTTAcknowledgeMessage(ch.handle, 1), abi.StatusChannelClosed)
	wantStatus(t, "disconnect", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusChannelClosed)
}

// TestMQTTServerClose: the cloud closing the channel (its broker session
// ended) completes the connect in flight as NOTCONNECTED; the closure
// reason says the server closed it.
func TestMQTTServerClose(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	h.cloud.setAutoCredit(true)
	ch := h.mqttOpen(c, nw, 512, 512, 0x3E)
	wantStatus(t, "connect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("b", "d"))), abi.StatusOkay)
	h.cloud.waitRequests(t, ch.handle, 1)
	h.serverClose(c, ch)
	if got := h.closureReason(ch); got != abi.ClosureReasonChannelClosedByServer {
		t.Fatalf("closure reason %v", got)
	}
	if r, st := h.readConnect(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("connect response %+v, %v", r, st)
	}
	if _, st := h.readConnect(ch); st != abi.StatusChannelClosed {
		t.Fatalf("second read: %v", st)
	}
}

func TestMQTTDisconnect(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.mqttConnected(c, nw, 512, 512, 0x3F)
	c.forget()
	wantStatus(t, "disconnect", h.call("mvMqttRequestDisconnect", uint64(ch.handle)), abi.StatusOkay)
	wantStatus(t, "disconnect again (merged)", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusOkay)
	got := h.cloud.waitRequests(t, ch.handle, 2)
	if got[1].Kind() != link.MQTTDisconnect {
		t.Fatalf("the cloud got %#v", got[1])
	}
	wantStatus(t, "publish after disconnect", h.publish(ch, 1, "t", nil, 0), abi.StatusOkay)
	wantStatus(t, "ack after disconnect (dropped)", h.k.MQTTAcknowledgeMessage(ch.handle, 3), abi.StatusOkay)
	h.cloud.item(t, ch.handle, &link.MQTTDisconnectResponseItem{})
	if n := c.count(abi.EventTypeChannelDataReadable, 0x3F); n != 2 {
		t.Fatalf("%d notifications, want 2 (publish response, one disconnect response)", n)
	}
	if r, st := h.readPublish(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("publish response %+v, %v", r, st)
	}
	if r, st := h.readDisconnect(ch); st != abi.StatusOkay || r != (abi.MQTTDisconnectResponse{}) {
		t.Fatalf("disconnect response %+v, %v", r, st)
	}
	if got := h.nextType(ch); got != abi.MQTTReadableDataTypeNone {
		t.Fatalf("next is %v", got)
	}
	// Once more: the kernel answers.
	wantStatus(t, "disconnect when disconnected", h.k.MQTTRequestDisconnect(ch.handle), abi.StatusOkay)
	if r, st := h.readDisconnect(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected {
		t.Fatalf("disconnect response %+v, %v", r, st)
	}
	h.cloud.sync(t)
	if n := len(h.cloud.mqttRequests(t, ch.handle)); n != 2 {
		t.Fatalf("the cloud got %d requests, want 2", n)
	}

	// The broker ends the session (the cloud's circuit breaker): later
	// requests are NOTCONNECTED.
	ch2 := h.mqttConnected(c, nw, 512, 512, 0x40)
	h.cloud.item(t, ch2.handle, &link.MQTTDisconnectResponseItem{RequestState: uint32(abi.MQTTRequestStateConnectionCircuitBreaker)})
	if r, st := h.readDisconnect(ch2); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateConnectionCircuitBreaker {
		t.Fatalf("disconnect news %+v, %v", r, st)
	}
	wantStatus(t, "subscribe after", h.k.MQTTRequestSubscribe(ch2.handle, h.subReq(2, h.sub("a", 0))), abi.StatusOkay)
	if r, st := h.readSub(ch2, false, 1); st != abi.StatusOkay || r.state != abi.MQTTRequestStateNotConnected {
		t.Fatalf("subscribe response %+v, %v", r, st)
	}
}

// TestMQTTMalformedItem: an item that does not parse, or is larger than
// the ring, ends the channel as UNEXPECTEDLYTERMINATED (the cloud is told)
// and completes the requests in flight.
func TestMQTTMalformedItem(t *testing.T) {
	for name, data := range map[string][]byte{
		"unknown kind":     {9, 0, 0, 0, 0x99, 0, 0, 0, 0},
		"trailing bytes":   {14, 0, 0, 0, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		"larger than ring": {0x01, 0x04, 0, 0, 0x85},
		"total under 5":    {4, 0, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			c, nw := h.ready()
			ch := h.mqttConnected(c, nw, 1024, 512, 0x41)
			wantStatus(t, "publish", h.publish(ch, 9, "t", nil, 1), abi.StatusOkay)
			h.cloud.waitRequests(t, ch.handle, 2)
			h.cloud.sendData(t, ch.handle, data)
			c.wait(abi.EventTypeChannelNotConnected, 0x41)
			if got := h.closureReason(ch); got != abi.ClosureReasonUnexpectedlyTerminated {
				t.Fatalf("closure reason %v", got)
			}
			cl := h.cloud.waitFrame(t, "CLOSE", frameIs(link.FrameClose, ch.handle))
			if cl.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
				t.Fatalf("CLOSE reason %d", cl.Reason)
			}
			if r, st := h.readPublish(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateNotConnected || r.CorrelationID != 9 {
				t.Fatalf("publish response %+v, %v", r, st)
			}
			if !h.k.LinkUp() {
				t.Fatal("a bad item took the link down")
			}
		})
	}
}

// TestMQTTConcurrent runs at once: the cloud streaming messages within the
// credit the kernel grants back and answering publishes, the application
// reading whatever is next, and a publisher retrying when RATELIMITED. Run
// with -race.
func TestMQTTConcurrent(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	const rxLen, nMsgs, nPubs = 1024, 400, 200
	ch := h.mqttConnected(c, nw, rxLen, 1024, 0x50)
	base := h.cloud.credit(ch.handle)

	// Everything the goroutines use is allocated here: the harness's
	// helpers may fail the test, which only the test goroutine may do.
	msg := h.msgBufs(32, 256)
	msgP, typeOut, pubOut := h.writeMsg(msg), h.out(4), h.out(12)
	pubReqs := make([]mem.Addr, nPubs)
	for i := range pubReqs {
		pubReqs[i] = h.pubReq(uint32(i), "p", []byte{byte(i)}, 1, 0)
	}
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, i%200) }
	u32 := func(p mem.Addr) uint32 { v, _ := abi.ReadUint32(h.a, p); return v }

	errs := make(chan error, 3)
	done := make(chan struct{})
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil {
				errs <- err
				close(done)
			}
		}()
	}
	stopped := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var sentBytes uint64 // the cloud's; read after wg.Wait
	run(func() error {   // the cloud
		sent, answered := 0, 0
		for sent < nMsgs || answered < nPubs {
			if stopped() || time.Now().After(deadline) {
				return fmt.Errorf("cloud: sent %d, answered %d", sent, answered)
			}
			var items []link.MQTTItem
			pubs := 0
			for b := h.cloud.data(ch.handle); len(b) > 0; {
				r, n, err := link.ParseMQTTRequest(b)
				if err != nil {
					break
				}
				if r.Kind() == link.MQTTPublish {
					pubs++
					if pubs > answered {
						items = append(items, &link.MQTTPublishResponseItem{CorrelationID: r.(*link.MQTTPublishRequest).CorrelationID})
					}
				}
				b = b[n:]
			}
			if sent < nMsgs {
				items = append(items, &link.MQTTMessageItem{MessageID: uint32(sent), Topic: "m", Payload: payload(sent)})
			}
			progress := false
			for _, it := range items {
				if sentBytes+uint64(it.Size())-(h.cloud.credit(ch.handle)-base) > rxLen {
					break
				}
				if err := h.cloud.trySend(link.Frame{Type: link.FrameData, Chan: ch.handle, Payload: it.Append(nil)}); err != nil {
					return err
				}
				sentBytes += uint64(it.Size())
				if it.Kind() == link.MQTTMessage {
					sent++
				} else {
					answered++
				}
				progress = true
			}
			if !progress {
				time.Sleep(100 * time.Microsecond)
			}
		}
		return nil
	})
	run(func() error { // the application's reader
		got, pubsRead := 0, 0
		for got < nMsgs || pubsRead < nPubs {
			if stopped() || time.Now().After(deadline) {
				return fmt.Errorf("reader: %d messages, %d publish responses", got, pubsRead)
			}
			if st := h.k.MQTTGetNextReadableDataType(ch.handle, typeOut); st != abi.StatusOkay {
				return fmt.Errorf("next type: %v", st)
			}
			switch typ := abi.MQTTReadableDataType(u32(typeOut)); typ {
			case abi.MQTTReadableDataTypeMessageReceived:
				if st := h.k.MQTTReceiveMessage(ch.handle, msgP); st != abi.StatusOkay {
					return fmt.Errorf("receive: %v", st)
				}
				b, _ := h.a.Bytes(msg.Payload.Data, uint64(u32(msg.Payload.Length)))
				if id := u32(msg.CorrelationID); id != uint32(got) || !bytes.Equal(b, payload(got)) {
					return fmt.Errorf("message %d: id %d, %d payload bytes", got, id, len(b))
				}
				got++
			case abi.MQTTReadableDataTypePublishResponse:
				if st := h.k.MQTTReadPublishResponse(ch.handle, pubOut); st != abi.StatusOkay {
					return fmt.Errorf("read publish: %v", st)
				}
				pubsRead++
			case abi.MQTTReadableDataTypeNone:
				time.Sleep(50 * time.Microsecond)
			default:
				return fmt.Errorf("unexpected %v", typ)
			}
		}
		return nil
	})
	run(func() error { // the application's publisher
		for i := 0; i < nPubs; {
			if stopped() || time.Now().After(deadline) {
				return fmt.Errorf("publisher: %d published", i)
			}
			switch st := h.k.MQTTRequestPublish(ch.handle, pubReqs[i]); st {
			case abi.StatusOkay:
				i++
			case abi.StatusRateLimited:
				time.Sleep(50 * time.Microsecond)
			default:
				return fmt.Errorf("publish %d: %v", i, st)
			}
		}
		return nil
	})
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	// Everything read was credited back.
	eventually(t, "credit for every item", func() bool { return h.cloud.credit(ch.handle)-base == sentBytes })
	if n := len(h.cloud.mqttRequests(t, ch.handle)); n != 1+nPubs {
		t.Fatalf("the cloud got %d requests", n)
	}
}
