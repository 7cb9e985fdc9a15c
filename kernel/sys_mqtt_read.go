package kernel

import (
	"encoding/binary"
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// The receiving half of MQTT channels: items arriving in the receive ring,
// the queue of readable items, the read calls, and what a lost connection
// does to requests in flight. See sys_mqtt.go for the rules.

// ---- the receive ring ----

// onMQTTDataLocked appends channel data to the receive ring and queues
// every item it completes. An item the ring cannot hold or that does not
// parse ends the channel (UNEXPECTEDLYTERMINATED), as a malformed HTTP
// response does.
func (k *Kernel) onMQTTDataLocked(ch *channel, p []byte) error {
	k.ringWriteLocked(ch, p)
	mq := ch.mqtt
	for ch.connected() {
		avail := ch.rxWrite - mq.parsed
		if avail < 4 {
			return nil
		}
		tb := k.scratchLocked(4)
		k.ringRead(ch.rx, ch.rxLen, mq.parsed, tb)
		total := uint64(binary.LittleEndian.Uint32(tb))
		if total < link.MQTTMessageFixedLen || total > uint64(ch.rxLen) {
			k.mqttMalformedLocked(ch, fmt.Errorf("an item of %d bytes for a receive ring of %d", total, ch.rxLen))
			return nil
		}
		if avail < total {
			return nil
		}
		buf := k.scratchLocked(int(total))
		k.ringRead(ch.rx, ch.rxLen, mq.parsed, buf)
		x, err := link.IndexMQTTItem(buf)
		if err != nil {
			k.mqttMalformedLocked(ch, err)
			return nil
		}
		start := mq.parsed
		mq.parsed += total
		k.mqttArrivedLocked(ch, mqttItem{x: x, start: start})
	}
	return nil
}

func (k *Kernel) mqttMalformedLocked(ch *channel, err error) {
	k.log.Warn("malformed MQTT item from the cloud", "channel", ch.h, "err", err)
	k.disconnectLocked(ch, abi.ClosureReasonUnexpectedlyTerminated, true)
}

// checkCodes checks that a subscribe or unsubscribe response x answers
// the oldest such request waiting (the one it completes) with one reason
// code per topic when it completed and none when it did not
// (link/mqtt_doc.go; MQTT: one code per topic filter, in order) — or, for
// an unsubscribe, none at all (MQTT 3.1.1's UNSUBACK has no codes). A
// response nothing waits for is not checked.
func (mq *mqttChan) checkCodes(kind uint8, x *link.MQTTItemIndex) error {
	for _, w := range mq.waiting {
		if w.kind != kind {
			continue
		}
		want := w.topics
		if abi.MQTTRequestState(x.RequestState) != abi.MQTTRequestStateRequestCompleted ||
			kind == link.MQTTUnsubscribe && x.ReasonCodes.Len == 0 {
			want = 0
		}
		if int(x.ReasonCodes.Len) != want {
			return fmt.Errorf("a response (state %d) with %d reason codes for %d topics", x.RequestState, x.ReasonCodes.Len, w.topics)
		}
		return nil
	}
	return nil
}

// unwait forgets the first waiting request of kind (and, if byCorr, with
// correlation ID corr).
func (mq *mqttChan) unwait(kind uint8, corr uint32, byCorr bool) {
	for i, w := range mq.waiting {
		if w.kind == kind && (!byCorr || w.corr == corr) {
			mq.waiting = append(mq.waiting[:i], mq.waiting[i+1:]...)
			return
		}
	}
}

// mqttArrivedLocked takes note of an item from the cloud and queues it.
// Responses answer the oldest waiting request of their kind (publishes: of
// their correlation ID); a response nothing waits for is queued all the
// same — the application reads what the cloud said.
func (k *Kernel) mqttArrivedLocked(ch *channel, it mqttItem) {
	mq := ch.mqtt
	x := &it.x
	switch x.Kind {
	case link.MQTTConnectResponse:
		mq.unwait(link.MQTTConnect, 0, false)
		if mq.session == mqttConnecting {
			// seed 004: REQUESTCOMPLETED with reason code 0 is a connection;
			// anything else is a refusal.
			mq.session = mqttEnded
			if abi.MQTTRequestState(x.RequestState) == abi.MQTTRequestStateRequestCompleted && x.ReasonCode == 0 {
				mq.session = mqttConnected
			}
		}
	case link.MQTTSubscribeResponse, link.MQTTUnsubscribeResponse:
		req := link.MQTTSubscribe
		if x.Kind == link.MQTTUnsubscribeResponse {
			req = link.MQTTUnsubscribe
		}
		if err := mq.checkCodes(req, x); err != nil {
			// The request stays waiting: the disconnection answers it
			// NOTCONNECTED.
			k.mqttMalformedLocked(ch, err)
			return
		}
		mq.unwait(req, 0, false)
	case link.MQTTPublishResponse:
		mq.unwait(link.MQTTPublish, x.CorrelationID, true)
	case link.MQTTDisconnectResponse:
		// The answer to a disconnect, or news that the broker ended the
		// session: either way it is over.
		mq.unwait(link.MQTTDisconnect, 0, false)
		mq.discDefer = false
		mq.session = mqttEnded
	}
	k.queueItemLocked(ch, it)
}

// mqttDisconnectedLocked completes every request the cloud has not
// answered as NOTCONNECTED, in the order they were made. disconnectLocked
// calls it before posting CHANNELNOTCONNECTED.
func (k *Kernel) mqttDisconnectedLocked(ch *channel) {
	mq := ch.mqtt
	waiting := mq.waiting
	mq.waiting = nil
	mq.discDefer = false
	mq.session = mqttEnded
	for _, w := range waiting {
		k.answerLocked(ch, w.kind, abi.MQTTRequestStateNotConnected, w.corr)
	}
}

// ---- the queue of readable items ----

// pending returns the readable items, oldest first.
func (mq *mqttChan) pending() []mqttItem { return mq.items[mq.head:] }

// push appends an item, reusing the space of items already read.
func (mq *mqttChan) push(it mqttItem) {
	if mq.head > 0 && len(mq.items) == cap(mq.items) {
		n := copy(mq.items, mq.items[mq.head:])
		clear(mq.items[n:])
		mq.items, mq.head = mq.items[:n], 0
	}
	mq.items = append(mq.items, it)
}

// pop removes and returns the oldest item; there must be one.
func (mq *mqttChan) pop() mqttItem {
	it := mq.items[mq.head]
	mq.items[mq.head] = mqttItem{}
	mq.head++
	if mq.head == len(mq.items) {
		mq.items, mq.head = mq.items[:0], 0
	}
	return it
}

// mqttHeadLocked finds the oldest readable item of MQTT channel h, which
// must be of kind: INVALIDHANDLE; CHANNELCLOSED (disconnected and nothing
// left to read); PARAMETERFAULT (nothing to read, or an item of another
// kind: see sys_mqtt.go).
func (k *Kernel) mqttHeadLocked(h uint32, kind uint8) (*channel, *mqttItem, abi.Status) {
	ch, ok := k.channelOfType(h, abi.ChannelTypeMQTT)
	if !ok {
		return nil, nil, abi.StatusInvalidHandle
	}
	items := ch.mqtt.pending()
	if len(items) == 0 {
		if !ch.connected() {
			return nil, nil, abi.StatusChannelClosed
		}
		return nil, nil, abi.StatusParameterFault
	}
	if it := &items[0]; it.x.Kind == kind {
		return ch, it, abi.StatusOkay
	}
	return nil, nil, abi.StatusParameterFault
}

// consumeLocked removes the oldest item. A ring item's bytes are freed and
// granted back to the cloud as credit; a response ends its request's time
// in flight.
func (k *Kernel) consumeLocked(ch *channel) {
	mq := ch.mqtt
	it := mq.pop()
	switch it.x.Kind {
	case link.MQTTSubscribeResponse, link.MQTTUnsubscribeResponse:
		mq.subOut = false
	case link.MQTTPublishResponse:
		mq.pubOut = max(mq.pubOut-1, 0)
	case link.MQTTDisconnectResponse:
		mq.discOut = false
	}
	if it.local {
		return
	}
	ch.rxRead += uint64(it.x.Total)
	if ch.connected() {
		k.sendLocked(ch.conn, &link.Frame{Type: link.FrameCredit, Chan: ch.h, Credit: it.x.Total})
	}
}

// MQTTGetNextReadableDataType is mvMqttGetNextReadableDataType: the kind of
// the oldest readable item, NONE when there is none. spec/abi.md:
// PARAMETERFAULT, INVALIDHANDLE, CHANNELCLOSED (disconnected and nothing
// left to read).
func (k *Kernel) MQTTGetNextReadableDataType(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, 4) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	ch, ok := k.channelOfType(h, abi.ChannelTypeMQTT)
	if !ok {
		return abi.StatusInvalidHandle
	}
	t := abi.MQTTReadableDataTypeNone
	if items := ch.mqtt.pending(); len(items) > 0 {
		t = readableType(items[0].x.Kind)
	} else if !ch.connected() {
		return abi.StatusChannelClosed
	}
	if k.put32(out, uint32(t)) != nil {
		return abi.StatusParameterFault
	}
	return abi.StatusOkay
}

// readValueLocked is the common part of the read calls whose structure is
// written by value: out was checked writable; write writes the item there.
func (k *Kernel) readValueLocked(h uint32, kind uint8, write func(*mqttItem) error) abi.Status {
	ch, it, st := k.mqttHeadLocked(h, kind)
	if st != abi.StatusOkay {
		return st
	}
	if write(it) != nil {
		return abi.StatusLateFault
	}
	k.consumeLocked(ch)
	return abi.StatusOkay
}

// MQTTReadConnectResponse is mvMqttReadConnectResponse. spec/abi.md:
// PARAMETERFAULT (response_data, or no CONNECTRESPONSE is next: see
// sys_mqtt.go), LATEFAULT (response_data stopped being writable; nothing
// consumed), INVALIDHANDLE, CHANNELCLOSED.
func (k *Kernel) MQTTReadConnectResponse(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, mqttConnectResponseSize) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.readValueLocked(h, link.MQTTConnectResponse, func(it *mqttItem) error {
		return k.abi.WriteMQTTConnectResponse(k.mem, out, abi.MQTTConnectResponse{
			RequestState: abi.MQTTRequestState(it.x.RequestState), ReasonCode: it.x.ReasonCode})
	})
}

// MQTTReadPublishResponse is mvMqttReadPublishResponse; statuses as
// mvMqttReadConnectResponse.
func (k *Kernel) MQTTReadPublishResponse(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, mqttPublishResponseSize) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.readValueLocked(h, link.MQTTPublishResponse, func(it *mqttItem) error {
		return k.abi.WriteMQTTPublishResponse(k.mem, out, abi.MQTTPublishResponse{
			RequestState: abi.MQTTRequestState(it.x.RequestState), CorrelationID: it.x.CorrelationID, ReasonCode: it.x.ReasonCode})
	})
}

// MQTTReadDisconnectResponse is mvMqttReadDisconnectResponse; statuses as
// mvMqttReadConnectResponse.
func (k *Kernel) MQTTReadDisconnectResponse(h uint32, out mem.Addr) abi.Status {
	if !k.checkW(out, mqttDisconnectResponseSize) {
		return abi.StatusParameterFault
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.readValueLocked(h, link.MQTTDisconnectResponse, func(it *mqttItem) error {
		return k.abi.WriteMQTTDisconnectResponse(k.mem, out, abi.MQTTDisconnectResponse{
			RequestState: abi.MQTTRequestState(it.x.RequestState), DisconnectCode: it.x.DisconnectCode})
	})
}

// MQTTReadSubscribeResponse is mvMqttReadSubscribeResponse. spec/abi.md:
// PARAMETERFAULT (response_data, or no SUBSCRIBERESPONSE is next),
// LATEFAULT (an output pointer in it: request_state, correlation_id,
// reason_codes for reason_codes_size codes, reason_codes_len; nothing
// consumed), INVALIDHANDLE, CHANNELCLOSED, INVALIDBUFFERSIZE
// (reason_codes_size, a count of codes, is under the response's; nothing
// consumed).
func (k *Kernel) MQTTReadSubscribeResponse(h uint32, respPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTSubscribeResponse(k.mem, respPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	return k.readCodes(h, link.MQTTSubscribeResponse, &r)
}

// MQTTReadUnsubscribeResponse is mvMqttReadUnsubscribeResponse; statuses
// as mvMqttReadSubscribeResponse.
func (k *Kernel) MQTTReadUnsubscribeResponse(h uint32, respPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTUnsubscribeResponse(k.mem, respPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	return k.readCodes(h, link.MQTTUnsubscribeResponse, &r)
}

func (k *Kernel) readCodes(h uint32, kind uint8, r *abi.MQTTSubscribeResponse) abi.Status {
	late := !k.checkW(r.RequestState, 4) || !k.checkW(r.CorrelationID, 4) ||
		!k.checkW(r.ReasonCodes, 4*uint64(r.ReasonCodesSize)) || !k.checkW(r.ReasonCodesLen, 4)
	return k.readRef(h, kind, late,
		func(x *link.MQTTItemIndex) bool { return x.ReasonCodes.Len <= r.ReasonCodesSize },
		func(ch *channel, it *mqttItem) bool {
			n := it.x.ReasonCodes.Len
			buf := k.scratchLocked(int(5 * n))
			raw, codes := buf[:n], buf[n:]
			if n > 0 {
				k.ringRead(ch.rx, ch.rxLen, it.start+uint64(it.x.ReasonCodes.Off), raw)
			}
			for i, c := range raw {
				binary.LittleEndian.PutUint32(codes[4*i:], uint32(c))
			}
			return k.put32(r.RequestState, it.x.RequestState) == nil && k.put32(r.CorrelationID, it.x.CorrelationID) == nil &&
				k.mem.CopyOut(r.ReasonCodes, codes) == nil && k.put32(r.ReasonCodesLen, n) == nil
		})
}

// readRef is the common part of the read calls whose structure points to
// the outputs, late telling whether one of them is not writable. In
// spec/abi.md order: LATEFAULT when late; mqttHeadLocked's statuses;
// INVALIDBUFFERSIZE unless the oldest item fits the buffers given; LATEFAULT
// unless write, which writes the item out and stops at the first output
// that faults, reports it written. Only an item written whole is consumed.
func (k *Kernel) readRef(h uint32, kind uint8, late bool, fits func(*link.MQTTItemIndex) bool, write func(*channel, *mqttItem) bool) abi.Status {
	k.mu.Lock()
	defer k.mu.Unlock()
	if late {
		return abi.StatusLateFault
	}
	ch, it, st := k.mqttHeadLocked(h, kind)
	if st != abi.StatusOkay {
		return st
	}
	if !fits(&it.x) {
		return abi.StatusInvalidBufferSize
	}
	if !write(ch, it) {
		return abi.StatusLateFault
	}
	k.consumeLocked(ch)
	return abi.StatusOkay
}

// MQTTReceiveMessage is mvMqttReceiveMessage: copies the oldest item, a
// received message, into the buffers given. spec/abi.md: PARAMETERFAULT
// (message_data, or no MESSAGERECEIVED is next), LATEFAULT (an output
// pointer in it, checked for the sizes it gives; nothing consumed),
// INVALIDHANDLE, CHANNELCLOSED, INVALIDBUFFERSIZE (the topic or the
// payload does not fit its buffer; nothing consumed, nothing written).
func (k *Kernel) MQTTReceiveMessage(h uint32, msgPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTMessage(k.mem, msgPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	late := !k.checkW(r.CorrelationID, 4) || !k.checkBuf(r.Topic) || !k.checkBuf(r.Payload) ||
		!k.checkW(r.QoS, 4) || !k.checkW(r.Retain, 1)
	return k.readRef(h, link.MQTTMessage, late,
		func(x *link.MQTTItemIndex) bool {
			return x.Topic.Len <= r.Topic.Size && x.Payload.Len <= r.Payload.Size
		},
		func(ch *channel, it *mqttItem) bool {
			x := &it.x
			var retain byte
			if x.Retain {
				retain = 1
			}
			return k.copyToBuf(ch, it, x.Topic, r.Topic) == nil && k.copyToBuf(ch, it, x.Payload, r.Payload) == nil &&
				k.put32(r.CorrelationID, x.MessageID) == nil && k.put32(r.QoS, uint32(x.QoS)) == nil &&
				k.putByte(r.Retain, retain) == nil
		})
}

// MQTTReceiveLostMessageInfo is mvMqttReceiveLostMessageInfo: the reason,
// topic and length of a message that could not fit the receive buffer.
// spec/abi.md: the statuses of mvMqttReceiveMessage; INVALIDBUFFERSIZE
// when the topic does not fit.
func (k *Kernel) MQTTReceiveLostMessageInfo(h uint32, infoPtr mem.Addr) abi.Status {
	r, err := k.abi.ReadMQTTLostMessageInfo(k.mem, infoPtr)
	if err != nil {
		return abi.StatusParameterFault
	}
	late := !k.checkW(r.Reason, 4) || !k.checkBuf(r.Topic) || !k.checkW(r.MessageLen, 4)
	return k.readRef(h, link.MQTTMessageLost, late,
		func(x *link.MQTTItemIndex) bool { return x.Topic.Len <= r.Topic.Size },
		func(ch *channel, it *mqttItem) bool {
			x := &it.x
			return k.put32(r.Reason, x.Reason) == nil && k.copyToBuf(ch, it, x.Topic, r.Topic) == nil &&
				k.put32(r.MessageLen, x.MessageLen) == nil
		})
}

// checkBuf reports whether an MvSizedStringBuffer's data (for its size)
// and length are writable.
func (k *Kernel) checkBuf(b abi.SizedStringBuffer) bool {
	return k.checkW(b.Data, uint64(b.Size)) && k.checkW(b.Length, 4)
}

// copyToBuf copies the span s of ring item it into the application's
// buffer b and writes its length.
func (k *Kernel) copyToBuf(ch *channel, it *mqttItem, s link.Span, b abi.SizedStringBuffer) error {
	if err := k.ringCopyOut(ch.rx, ch.rxLen, it.start+uint64(s.Off), b.Data, uint64(s.Len)); err != nil {
		return err
	}
	return k.put32(b.Length, s.Len)
}

func (k *Kernel) putByte(p mem.Addr, v byte) error {
	b := k.scratchLocked(1)
	b[0] = v
	return k.mem.CopyOut(p, b)
}
