package kernel_test

// MQTT additions to the harness: the application's side (request
// structures placed in the Arena, read calls decoded back) and the fake
// cloud's (requests parsed out of the channel's DATA, items sent back).

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// bad is an unmapped address for nested pointers.
const bad = mem.Addr(0x10)

// ---- the fake cloud ----

// mqttRequests parses every MQTT request the cloud has received on ch.
func (fc *fakeCloud) mqttRequests(t testing.TB, ch uint32) []link.MQTTRequest {
	t.Helper()
	b := fc.data(ch)
	var out []link.MQTTRequest
	for len(b) > 0 {
		r, n, err := link.ParseMQTTRequest(b)
		if err == link.ErrShort {
			break
		}
		if err != nil {
			t.Fatalf("the cloud cannot parse the device's request: %v", err)
		}
		out = append(out, r)
		b = b[n:]
	}
	return out
}

// waitRequests waits until the cloud has n MQTT requests on ch.
func (fc *fakeCloud) waitRequests(t testing.TB, ch uint32, n int) []link.MQTTRequest {
	t.Helper()
	var got []link.MQTTRequest
	eventually(t, "MQTT requests at the cloud", func() bool { got = fc.mqttRequests(t, ch); return len(got) >= n })
	return got
}

// item sends an item to ch and waits until the kernel has handled it.
func (fc *fakeCloud) item(t testing.TB, ch uint32, it link.MQTTItem) {
	t.Helper()
	fc.sendData(t, ch, it.Append(nil))
	fc.sync(t)
}

// ---- requests, as the application makes them ----

// connectReq returns a valid MvMqttConnectRequest: MQTT 5, port 1883,
// keepalive 60, clean start, no credentials.
func (h *harness) connectReq(host, clientID string) abi.MQTTConnectRequest {
	return abi.MQTTConnectRequest{
		ProtocolVersion: abi.MQTTProtocolVersionV5, Host: h.str(host), Port: 1883,
		ClientID: h.str(clientID), Keepalive: 60, CleanStart: 1,
	}
}

func (h *harness) writeConnect(r abi.MQTTConnectRequest) mem.Addr {
	h.t.Helper()
	p := h.alloc(60, 4)
	if err := abi.Device.WriteMQTTConnectRequest(h.a, p, r); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// strings places each byte string and an array of MvSizedString for them.
func (h *harness) strings(bs ...[]byte) mem.Addr {
	h.t.Helper()
	ss := make([]abi.SizedString, len(bs))
	for i, b := range bs {
		ss[i] = abi.SizedString{Data: h.place(b), Length: uint32(len(b))}
	}
	p := h.alloc(uint64(max(8*len(ss), 1)), 4)
	if err := abi.Device.WriteSizedStrings(h.a, p, ss); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) tlsCreds(ca, cl [][]byte, key []byte) mem.Addr {
	h.t.Helper()
	v := abi.TLSCredentials{
		CACert: abi.TLSCertificateChain{NumCerts: uint32(len(ca)), Certs: h.strings(ca...)},
		ClientCert: abi.OwnTLSCertificateChain{
			Chain: abi.TLSCertificateChain{NumCerts: uint32(len(cl)), Certs: h.strings(cl...)},
			Key:   abi.SizedString{Data: h.place(key), Length: uint32(len(key))},
		},
	}
	return h.writeTLS(v)
}

func (h *harness) writeTLS(v abi.TLSCredentials) mem.Addr {
	h.t.Helper()
	p := h.alloc(24, 4)
	if err := abi.Device.WriteTLSCredentials(h.a, p, v); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) will(topic, payload string, qos uint32, retain uint8) mem.Addr {
	h.t.Helper()
	return h.writeWill(abi.MQTTWill{Topic: h.str(topic), Payload: h.str(payload), QoS: qos, Retain: retain})
}

func (h *harness) writeWill(w abi.MQTTWill) mem.Addr {
	h.t.Helper()
	p := h.alloc(24, 4)
	if err := abi.Device.WriteMQTTWill(h.a, p, w); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) sub(topic string, qos uint32) abi.MQTTSubscription {
	return abi.MQTTSubscription{Topic: h.str(topic), DesiredQoS: qos}
}

// subReq places the subscriptions and an MvMqttSubscribeRequest.
func (h *harness) subReq(corr uint32, subs ...abi.MQTTSubscription) mem.Addr {
	h.t.Helper()
	arr := h.alloc(uint64(max(24*len(subs), 1)), 4)
	if err := abi.Device.WriteMQTTSubscriptions(h.a, arr, subs); err != nil {
		h.t.Fatal(err)
	}
	return h.writeSubReq(abi.MQTTSubscribeRequest{CorrelationID: corr, Subscriptions: arr, NumSubscriptions: uint32(len(subs))})
}

func (h *harness) writeSubReq(r abi.MQTTSubscribeRequest) mem.Addr {
	h.t.Helper()
	p := h.alloc(12, 4)
	if err := abi.Device.WriteMQTTSubscribeRequest(h.a, p, r); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) unsubReq(corr uint32, topics ...string) mem.Addr {
	h.t.Helper()
	bs := make([][]byte, len(topics))
	for i, s := range topics {
		bs[i] = []byte(s)
	}
	return h.writeUnsubReq(abi.MQTTUnsubscribeRequest{CorrelationID: corr, Topics: h.strings(bs...), NumTopics: uint32(len(topics))})
}

func (h *harness) writeUnsubReq(r abi.MQTTUnsubscribeRequest) mem.Addr {
	h.t.Helper()
	p := h.alloc(12, 4)
	if err := abi.Device.WriteMQTTUnsubscribeRequest(h.a, p, r); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) pubReq(corr uint32, topic string, payload []byte, qos, retain uint32) mem.Addr {
	h.t.Helper()
	return h.writePubReq(abi.MQTTPublishRequest{CorrelationID: corr, Topic: h.str(topic),
		Payload: abi.SizedString{Data: h.place(payload), Length: uint32(len(payload))}, DesiredQoS: qos, Retain: retain})
}

func (h *harness) writePubReq(r abi.MQTTPublishRequest) mem.Addr {
	h.t.Helper()
	p := h.alloc(28, 4)
	if err := abi.Device.WriteMQTTPublishRequest(h.a, p, r); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) publish(ch *channel, corr uint32, topic string, payload []byte, qos uint32) abi.Status {
	h.t.Helper()
	return h.k.MQTTRequestPublish(ch.handle, h.pubReq(corr, topic, payload, qos, 0))
}

// ---- reads, as the application makes them ----

func (h *harness) nextType(ch *channel) abi.MQTTReadableDataType {
	h.t.Helper()
	p := h.out(4)
	wantStatus(h.t, "mvMqttGetNextReadableDataType", h.k.MQTTGetNextReadableDataType(ch.handle, p), abi.StatusOkay)
	return abi.MQTTReadableDataType(h.u32(p))
}

func (h *harness) readConnect(ch *channel) (abi.MQTTConnectResponse, abi.Status) {
	h.t.Helper()
	p := h.out(8)
	st := h.k.MQTTReadConnectResponse(ch.handle, p)
	r, _ := abi.Device.ReadMQTTConnectResponse(h.a, p)
	return r, st
}

func (h *harness) readPublish(ch *channel) (abi.MQTTPublishResponse, abi.Status) {
	h.t.Helper()
	p := h.out(12)
	st := h.k.MQTTReadPublishResponse(ch.handle, p)
	r, _ := abi.Device.ReadMQTTPublishResponse(h.a, p)
	return r, st
}

func (h *harness) readDisconnect(ch *channel) (abi.MQTTDisconnectResponse, abi.Status) {
	h.t.Helper()
	p := h.out(8)
	st := h.k.MQTTReadDisconnectResponse(ch.handle, p)
	r, _ := abi.Device.ReadMQTTDisconnectResponse(h.a, p)
	return r, st
}

// codesResp is a subscribe or unsubscribe response as read.
type codesResp struct {
	state abi.MQTTRequestState
	corr  uint32
	codes []uint32
}

// codesOut places an MvMqttSubscribeResponse with outputs for size codes.
func (h *harness) codesOut(size uint32) (mem.Addr, abi.MQTTSubscribeResponse) {
	h.t.Helper()
	r := abi.MQTTSubscribeResponse{
		RequestState: h.out(4), CorrelationID: h.out(4), ReasonCodes: h.out(uint64(max(4*size, 1))),
		ReasonCodesSize: size, ReasonCodesLen: h.out(4),
	}
	return h.writeCodesOut(r), r
}

func (h *harness) writeCodesOut(r abi.MQTTSubscribeResponse) mem.Addr {
	h.t.Helper()
	p := h.alloc(20, 4)
	if err := abi.Device.WriteMQTTSubscribeResponse(h.a, p, r); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) readCodesAt(r abi.MQTTSubscribeResponse) codesResp {
	h.t.Helper()
	n := h.u32(r.ReasonCodesLen)
	out := codesResp{state: abi.MQTTRequestState(h.u32(r.RequestState)), corr: h.u32(r.CorrelationID)}
	for i := range n {
		out.codes = append(out.codes, h.u32(r.ReasonCodes+mem.Addr(4*i)))
	}
	return out
}

// readSub reads a subscribe (or, if unsub, unsubscribe) response with room
// for size codes.
func (h *harness) readSub(ch *channel, unsub bool, size uint32) (codesResp, abi.Status) {
	h.t.Helper()
	p, r := h.codesOut(size)
	var st abi.Status
	if unsub {
		st = h.k.MQTTReadUnsubscribeResponse(ch.handle, p)
	} else {
		st = h.k.MQTTReadSubscribeResponse(ch.handle, p)
	}
	if st != abi.StatusOkay {
		return codesResp{}, st
	}
	return h.readCodesAt(r), st
}

// msgOut is a received message as read.
type msgOut struct {
	corr    uint32
	topic   string
	payload string
	qos     uint32
	retain  uint8
}

func (h *harness) msgBufs(topicSize, payloadSize uint32) abi.MQTTMessage {
	return abi.MQTTMessage{
		CorrelationID: h.out(4),
		Topic:         abi.SizedStringBuffer{Data: h.out(uint64(max(topicSize, 1))), Size: topicSize, Length: h.out(4)},
		Payload:       abi.SizedStringBuffer{Data: h.out(uint64(max(payloadSize, 1))), Size: payloadSize, Length: h.out(4)},
		QoS:           h.out(4), Retain: h.out(1),
	}
}

func (h *harness) writeMsg(m abi.MQTTMessage) mem.Addr {
	h.t.Helper()
	p := h.alloc(36, 4)
	if err := abi.Device.WriteMQTTMessage(h.a, p, m); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) readMsgAt(m abi.MQTTMessage) msgOut {
	h.t.Helper()
	return msgOut{
		corr:    h.u32(m.CorrelationID),
		topic:   string(h.bytes(m.Topic.Data, uint64(h.u32(m.Topic.Length)))),
		payload: string(h.bytes(m.Payload.Data, uint64(h.u32(m.Payload.Length)))),
		qos:     h.u32(m.QoS), retain: h.bytes(m.Retain, 1)[0],
	}
}

func (h *harness) receive(ch *channel, topicSize, payloadSize uint32) (msgOut, abi.Status) {
	h.t.Helper()
	m := h.msgBufs(topicSize, payloadSize)
	st := h.k.MQTTReceiveMessage(ch.handle, h.writeMsg(m))
	if st != abi.StatusOkay {
		return msgOut{}, st
	}
	return h.readMsgAt(m), st
}

// lostOut is a lost-message report as read.
type lostOut struct {
	reason abi.MQTTLostMessageReason
	topic  string
	length uint32
}

func (h *harness) lostBufs(topicSize uint32) abi.MQTTLostMessageInfo {
	return abi.MQTTLostMessageInfo{
		Reason:     h.out(4),
		Topic:      abi.SizedStringBuffer{Data: h.out(uint64(max(topicSize, 1))), Size: topicSize, Length: h.out(4)},
		MessageLen: h.out(4),
	}
}

func (h *harness) writeLost(l abi.MQTTLostMessageInfo) mem.Addr {
	h.t.Helper()
	p := h.alloc(20, 4)
	if err := abi.Device.WriteMQTTLostMessageInfo(h.a, p, l); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) lost(ch *channel, topicSize uint32) (lostOut, abi.Status) {
	h.t.Helper()
	l := h.lostBufs(topicSize)
	st := h.k.MQTTReceiveLostMessageInfo(ch.handle, h.writeLost(l))
	if st != abi.StatusOkay {
		return lostOut{}, st
	}
	return lostOut{
		reason: abi.MQTTLostMessageReason(h.u32(l.Reason)),
		topic:  string(h.bytes(l.Topic.Data, uint64(h.u32(l.Topic.Length)))),
		length: h.u32(l.MessageLen),
	}, st
}

// ---- fixtures ----

// mqttOpen opens an MQTT channel and waits until the cloud has it.
func (h *harness) mqttOpen(c *centre, nw uint32, rxLen, txLen, tag uint32) *channel {
	h.t.Helper()
	ch := h.open(c, nw, abi.ChannelTypeMQTT, rxLen, txLen, tag)
	h.cloud.waitFrame(h.t, "OPEN", frameIs(link.FrameOpen, ch.handle))
	return ch
}

// mqttConnected opens an MQTT channel, connects it and reads the
// connect response: the session is up. The cloud credits the device's
// requests back at once.
func (h *harness) mqttConnected(c *centre, nw uint32, rxLen, txLen, tag uint32) *channel {
	h.t.Helper()
	h.cloud.setAutoCredit(true)
	ch := h.mqttOpen(c, nw, rxLen, txLen, tag)
	wantStatus(h.t, "mvMqttRequestConnect", h.k.MQTTRequestConnect(ch.handle, h.writeConnect(h.connectReq("broker", "dev"))), abi.StatusOkay)
	h.cloud.waitRequests(h.t, ch.handle, 1)
	h.cloud.item(h.t, ch.handle, &link.MQTTConnectResponseItem{})
	c.wait(abi.EventTypeChannelDataReadable, tag)
	r, st := h.readConnect(ch)
	if st != abi.StatusOkay || r != (abi.MQTTConnectResponse{}) {
		h.t.Fatalf("connect response %+v, %v", r, st)
	}
	// The response's bytes are credited back before the test goes on.
	size := uint64((&link.MQTTConnectResponseItem{}).Size())
	eventually(h.t, "credit for the connect response", func() bool { return h.cloud.credit(ch.handle) == size })
	return ch
}

// serverClose makes the cloud close ch and waits for CHANNELNOTCONNECTED.
func (h *harness) serverClose(c *centre, ch *channel) {
	h.t.Helper()
	h.cloud.send(h.t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, ch.tag)
}
