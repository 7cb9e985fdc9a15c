package link

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Go forms of the MQTT channel messages of mqtt_doc.go. Requests travel
// device → cloud, items cloud → device; each type's Append writes the whole
// message (total and kind included) and ParseMQTTRequest / ParseMQTTItem
// read one back. Parsing is strict: every u8 that is a flag must be 0 or 1,
// the QoS of a request 0 or 1 (Microvisor does not support QoS 2) and of a
// received message 0–2, retain handling 0–2, protocol and auth 0 or 1, and
// the fields must account for exactly total bytes, so a message that parses
// re-encodes to the same bytes.

// MQTTMessageFixedLen is the size of the part every MQTT channel message
// starts with: total u32 | kind u8.
const MQTTMessageFixedLen = 5

// MQTTMaxElements is the most entries a count of u8 can announce (topics of
// a subscribe or unsubscribe, certificates of a chain, reason codes).
const MQTTMaxElements = math.MaxUint8

// MQTTRequest is one request of an MQTT channel: *MQTTConnectRequest,
// *MQTTSubscribeRequest, *MQTTUnsubscribeRequest, *MQTTPublishRequest,
// *MQTTAckRequest or *MQTTDisconnectRequest.
type MQTTRequest interface {
	// Kind is the message's kind byte, e.g. MQTTPublish.
	Kind() uint8
	// Size is the encoded size, total and kind included.
	Size() int
	// Append appends the encoding to dst. It panics if the message cannot
	// be encoded: larger than 4 GiB or a list of more than MQTTMaxElements
	// entries. Values outside their ranges (QoS 2 …) are encoded as given
	// and the parsers reject them.
	Append(dst []byte) []byte
	mqttRequest()
}

// MQTTItem is one readable item of an MQTT channel: *MQTTConnectResponseItem,
// *MQTTSubscribeResponseItem, *MQTTUnsubscribeResponseItem,
// *MQTTPublishResponseItem, *MQTTMessageItem, *MQTTMessageLostItem or
// *MQTTDisconnectResponseItem. Its methods are those of MQTTRequest.
type MQTTItem interface {
	Kind() uint8
	Size() int
	Append(dst []byte) []byte
	mqttItem()
}

// MQTTConnectRequest is MQTTConnect.
type MQTTConnectRequest struct {
	Protocol   uint8 // 0 = MQTT 3.1.1, 1 = MQTT 5
	CleanStart bool
	Keepalive  uint16 // seconds
	Port       uint16
	Host       string
	ClientID   string
	Auth       uint8 // 0 none, 1 username/password
	Username   string
	Password   []byte
	Will       *MQTTWill // nil: no will
	TLS        *MQTTTLS  // nil: plain TCP
}

// MQTTWill is the will of an MQTTConnectRequest.
type MQTTWill struct {
	Topic   string
	Payload []byte
	QoS     uint8
	Retain  bool
}

// MQTTTLS is the TLS material of an MQTTConnectRequest, all DER: the CA
// certificates that may sign the broker's, and the client's own chain and
// private key (none when ClientCerts is empty).
type MQTTTLS struct {
	CACerts     [][]byte
	ClientCerts [][]byte
	Key         []byte
}

// MQTTSubscription is one topic filter of an MQTTSubscribeRequest.
type MQTTSubscription struct {
	Topic             string
	QoS               uint8
	NoLocal           bool  // MQTT 5 nl
	RetainAsPublished bool  // MQTT 5 rap
	RetainHandling    uint8 // MQTT 5 rh, 0–2
}

// MQTTSubscribeRequest is MQTTSubscribe.
type MQTTSubscribeRequest struct {
	CorrelationID uint32
	Subscriptions []MQTTSubscription
}

// MQTTUnsubscribeRequest is MQTTUnsubscribe.
type MQTTUnsubscribeRequest struct {
	CorrelationID uint32
	Topics        []string
}

// MQTTPublishRequest is MQTTPublish.
type MQTTPublishRequest struct {
	CorrelationID uint32
	Topic         string
	Payload       []byte
	QoS           uint8
	Retain        bool
}

// MQTTAckRequest is MQTTAck: the application acknowledged the received
// message MessageID.
type MQTTAckRequest struct{ MessageID uint32 }

// MQTTDisconnectRequest is MQTTDisconnect.
type MQTTDisconnectRequest struct{}

// MQTTConnectResponseItem is MQTTConnectResponse.
type MQTTConnectResponseItem struct {
	RequestState uint32 // an MvMqttRequestState
	ReasonCode   uint32
}

// MQTTSubscribeResponseItem is MQTTSubscribeResponse: one reason code per
// topic of the request, in its order.
type MQTTSubscribeResponseItem struct {
	RequestState  uint32
	CorrelationID uint32
	ReasonCodes   []byte
}

// MQTTUnsubscribeResponseItem is MQTTUnsubscribeResponse.
type MQTTUnsubscribeResponseItem struct {
	RequestState  uint32
	CorrelationID uint32
	ReasonCodes   []byte
}

// MQTTPublishResponseItem is MQTTPublishResponse.
type MQTTPublishResponseItem struct {
	RequestState  uint32
	CorrelationID uint32
	ReasonCode    uint32
}

// MQTTMessageItem is MQTTMessage, a message from the broker.
type MQTTMessageItem struct {
	MessageID uint32 // the correlation ID the application acknowledges with
	Topic     string
	Payload   []byte
	QoS       uint8 // 0–2
	Retain    bool
}

// MQTTMessageLostItem is MQTTMessageLost.
type MQTTMessageLostItem struct {
	Reason     uint32 // an MvMqttLostMessageReason
	Topic      string
	MessageLen uint32
}

// MQTTDisconnectResponseItem is MQTTDisconnectResponse.
type MQTTDisconnectResponseItem struct {
	RequestState   uint32
	DisconnectCode uint32
}

// ---- sizes ----

func strSize[S ~string | ~[]byte](s S) int { return 4 + len(s) }

func checkCount(n int, what string) {
	if n > MQTTMaxElements {
		panic(fmt.Sprintf("link: %d %s in one MQTT message, at most %d", n, what, MQTTMaxElements))
	}
}

func (r *MQTTConnectRequest) Size() int {
	n := MQTTMessageFixedLen + 6 + strSize(r.Host) + strSize(r.ClientID) + 1 +
		strSize(r.Username) + strSize(r.Password) + 1 + 1
	if w := r.Will; w != nil {
		n += strSize(w.Topic) + strSize(w.Payload) + 2
	}
	if t := r.TLS; t != nil {
		n += 2 + strSize(t.Key)
		for _, c := range t.CACerts {
			n += strSize(c)
		}
		for _, c := range t.ClientCerts {
			n += strSize(c)
		}
	}
	return n
}

func (r *MQTTSubscribeRequest) Size() int {
	n := MQTTMessageFixedLen + 5
	for _, s := range r.Subscriptions {
		n += strSize(s.Topic) + 4
	}
	return n
}

func (r *MQTTUnsubscribeRequest) Size() int {
	n := MQTTMessageFixedLen + 5
	for _, t := range r.Topics {
		n += strSize(t)
	}
	return n
}

func (r *MQTTPublishRequest) Size() int {
	return MQTTMessageFixedLen + 4 + strSize(r.Topic) + strSize(r.Payload) + 2
}

func (*MQTTAckRequest) Size() int        { return MQTTMessageFixedLen + 4 }
func (*MQTTDisconnectRequest) Size() int { return MQTTMessageFixedLen }

func (*MQTTConnectResponseItem) Size() int { return MQTTMessageFixedLen + 8 }
func (r *MQTTSubscribeResponseItem) Size() int {
	return MQTTMessageFixedLen + 9 + len(r.ReasonCodes)
}
func (r *MQTTUnsubscribeResponseItem) Size() int {
	return MQTTMessageFixedLen + 9 + len(r.ReasonCodes)
}
func (*MQTTPublishResponseItem) Size() int { return MQTTMessageFixedLen + 12 }
func (r *MQTTMessageItem) Size() int {
	return MQTTMessageFixedLen + 4 + strSize(r.Topic) + strSize(r.Payload) + 2
}
func (r *MQTTMessageLostItem) Size() int {
	return MQTTMessageFixedLen + 8 + strSize(r.Topic)
}
func (*MQTTDisconnectResponseItem) Size() int { return MQTTMessageFixedLen + 8 }

// ---- kinds ----

func (*MQTTConnectRequest) Kind() uint8          { return MQTTConnect }
func (*MQTTSubscribeRequest) Kind() uint8        { return MQTTSubscribe }
func (*MQTTUnsubscribeRequest) Kind() uint8      { return MQTTUnsubscribe }
func (*MQTTPublishRequest) Kind() uint8          { return MQTTPublish }
func (*MQTTAckRequest) Kind() uint8              { return MQTTAck }
func (*MQTTDisconnectRequest) Kind() uint8       { return MQTTDisconnect }
func (*MQTTConnectResponseItem) Kind() uint8     { return MQTTConnectResponse }
func (*MQTTSubscribeResponseItem) Kind() uint8   { return MQTTSubscribeResponse }
func (*MQTTUnsubscribeResponseItem) Kind() uint8 { return MQTTUnsubscribeResponse }
func (*MQTTPublishResponseItem) Kind() uint8     { return MQTTPublishResponse }
func (*MQTTMessageItem) Kind() uint8             { return MQTTMessage }
func (*MQTTMessageLostItem) Kind() uint8         { return MQTTMessageLost }
func (*MQTTDisconnectResponseItem) Kind() uint8  { return MQTTDisconnectResponse }

func (*MQTTConnectRequest) mqttRequest()     {}
func (*MQTTSubscribeRequest) mqttRequest()   {}
func (*MQTTUnsubscribeRequest) mqttRequest() {}
func (*MQTTPublishRequest) mqttRequest()     {}
func (*MQTTAckRequest) mqttRequest()         {}
func (*MQTTDisconnectRequest) mqttRequest()  {}

func (*MQTTConnectResponseItem) mqttItem()     {}
func (*MQTTSubscribeResponseItem) mqttItem()   {}
func (*MQTTUnsubscribeResponseItem) mqttItem() {}
func (*MQTTPublishResponseItem) mqttItem()     {}
func (*MQTTMessageItem) mqttItem()             {}
func (*MQTTMessageLostItem) mqttItem()         {}
func (*MQTTDisconnectResponseItem) mqttItem()  {}

// ---- encoding ----

func appendHead(dst []byte, size int, kind uint8) []byte {
	checkSize(size)
	return append(binary.LittleEndian.AppendUint32(dst, uint32(size)), kind)
}

func appendStr[S ~string | ~[]byte](dst []byte, s S) []byte {
	return append(binary.LittleEndian.AppendUint32(dst, uint32(len(s))), s...)
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func (r *MQTTConnectRequest) Append(dst []byte) []byte {
	if t := r.TLS; t != nil {
		checkCount(len(t.CACerts), "CA certificates")
		checkCount(len(t.ClientCerts), "client certificates")
	}
	le := binary.LittleEndian
	dst = appendHead(dst, r.Size(), MQTTConnect)
	dst = append(dst, r.Protocol)
	dst = appendBool(dst, r.CleanStart)
	dst = le.AppendUint16(dst, r.Keepalive)
	dst = le.AppendUint16(dst, r.Port)
	dst = appendStr(dst, r.Host)
	dst = appendStr(dst, r.ClientID)
	dst = append(dst, r.Auth)
	dst = appendStr(dst, r.Username)
	dst = appendStr(dst, r.Password)
	dst = appendBool(dst, r.Will != nil)
	if w := r.Will; w != nil {
		dst = appendStr(dst, w.Topic)
		dst = appendStr(dst, w.Payload)
		dst = append(dst, w.QoS)
		dst = appendBool(dst, w.Retain)
	}
	dst = appendBool(dst, r.TLS != nil)
	if t := r.TLS; t != nil {
		dst = append(dst, uint8(len(t.CACerts)))
		for _, c := range t.CACerts {
			dst = appendStr(dst, c)
		}
		dst = append(dst, uint8(len(t.ClientCerts)))
		for _, c := range t.ClientCerts {
			dst = appendStr(dst, c)
		}
		dst = appendStr(dst, t.Key)
	}
	return dst
}

func (r *MQTTSubscribeRequest) Append(dst []byte) []byte {
	checkCount(len(r.Subscriptions), "subscriptions")
	dst = appendHead(dst, r.Size(), MQTTSubscribe)
	dst = binary.LittleEndian.AppendUint32(dst, r.CorrelationID)
	dst = append(dst, uint8(len(r.Subscriptions)))
	for _, s := range r.Subscriptions {
		dst = appendStr(dst, s.Topic)
		dst = append(dst, s.QoS)
		dst = appendBool(dst, s.NoLocal)
		dst = appendBool(dst, s.RetainAsPublished)
		dst = append(dst, s.RetainHandling)
	}
	return dst
}

func (r *MQTTUnsubscribeRequest) Append(dst []byte) []byte {
	checkCount(len(r.Topics), "topics")
	dst = appendHead(dst, r.Size(), MQTTUnsubscribe)
	dst = binary.LittleEndian.AppendUint32(dst, r.CorrelationID)
	dst = append(dst, uint8(len(r.Topics)))
	for _, t := range r.Topics {
		dst = appendStr(dst, t)
	}
	return dst
}

func (r *MQTTPublishRequest) Append(dst []byte) []byte {
	dst = appendHead(dst, r.Size(), MQTTPublish)
	dst = binary.LittleEndian.AppendUint32(dst, r.CorrelationID)
	dst = appendStr(dst, r.Topic)
	dst = appendStr(dst, r.Payload)
	dst = append(dst, r.QoS)
	return appendBool(dst, r.Retain)
}

func (r *MQTTAckRequest) Append(dst []byte) []byte {
	dst = appendHead(dst, r.Size(), MQTTAck)
	return binary.LittleEndian.AppendUint32(dst, r.MessageID)
}

func (r *MQTTDisconnectRequest) Append(dst []byte) []byte {
	return appendHead(dst, r.Size(), MQTTDisconnect)
}

func appendU32s(dst []byte, vs ...uint32) []byte {
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint32(dst, v)
	}
	return dst
}

func (r *MQTTConnectResponseItem) Append(dst []byte) []byte {
	return appendU32s(appendHead(dst, r.Size(), MQTTConnectResponse), r.RequestState, r.ReasonCode)
}

func appendCodes(dst []byte, size int, kind uint8, state, corr uint32, codes []byte) []byte {
	checkCount(len(codes), "reason codes")
	dst = appendU32s(appendHead(dst, size, kind), state, corr)
	return append(append(dst, uint8(len(codes))), codes...)
}

func (r *MQTTSubscribeResponseItem) Append(dst []byte) []byte {
	return appendCodes(dst, r.Size(), MQTTSubscribeResponse, r.RequestState, r.CorrelationID, r.ReasonCodes)
}

func (r *MQTTUnsubscribeResponseItem) Append(dst []byte) []byte {
	return appendCodes(dst, r.Size(), MQTTUnsubscribeResponse, r.RequestState, r.CorrelationID, r.ReasonCodes)
}

func (r *MQTTPublishResponseItem) Append(dst []byte) []byte {
	return appendU32s(appendHead(dst, r.Size(), MQTTPublishResponse), r.RequestState, r.CorrelationID, r.ReasonCode)
}

func (r *MQTTMessageItem) Append(dst []byte) []byte {
	dst = appendU32s(appendHead(dst, r.Size(), MQTTMessage), r.MessageID)
	dst = appendStr(dst, r.Topic)
	dst = appendStr(dst, r.Payload)
	return appendBool(append(dst, r.QoS), r.Retain)
}

func (r *MQTTMessageLostItem) Append(dst []byte) []byte {
	dst = appendU32s(appendHead(dst, r.Size(), MQTTMessageLost), r.Reason)
	dst = appendStr(dst, r.Topic)
	return binary.LittleEndian.AppendUint32(dst, r.MessageLen)
}

func (r *MQTTDisconnectResponseItem) Append(dst []byte) []byte {
	return appendU32s(appendHead(dst, r.Size(), MQTTDisconnectResponse), r.RequestState, r.DisconnectCode)
}

// ---- parsing ----

// mqttReader reads the fields of one MQTT channel message, m (exactly
// total bytes), keeping the first error.
type mqttReader struct {
	m    []byte
	off  uint64
	err  error
	what string
}

func (r *mqttReader) need(n uint64, field string) bool {
	if r.err != nil {
		return false
	}
	if n > uint64(len(r.m))-r.off {
		r.err = malformed("%s %s runs past total %d", r.what, field, len(r.m))
		return false
	}
	return true
}

func (r *mqttReader) u8(field string) uint8 {
	if !r.need(1, field) {
		return 0
	}
	v := r.m[r.off]
	r.off++
	return v
}

// upTo reads a u8 that must be at most max.
func (r *mqttReader) upTo(max uint8, field string) uint8 {
	v := r.u8(field)
	if r.err == nil && v > max {
		r.err = malformed("%s %s is %d, at most %d", r.what, field, v, max)
	}
	return v
}

func (r *mqttReader) flag(field string) bool { return r.upTo(1, field) == 1 }

func (r *mqttReader) u16(field string) uint16 {
	if !r.need(2, field) {
		return 0
	}
	v := binary.LittleEndian.Uint16(r.m[r.off:])
	r.off += 2
	return v
}

func (r *mqttReader) u32(field string) uint32 {
	if !r.need(4, field) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.m[r.off:])
	r.off += 4
	return v
}

// span reads a str (len u32 | bytes) and returns where its bytes are.
func (r *mqttReader) span(field string) Span {
	n := uint64(r.u32(field + " length"))
	if !r.need(n, field) {
		return Span{}
	}
	s := Span{Off: uint32(r.off), Len: uint32(n)}
	r.off += n
	return s
}

// bytes reads a str; the result aliases m (nil when empty).
func (r *mqttReader) bytes(field string) []byte { return bytesAt(r.m, r.span(field)) }

// str reads a str as a (copied) string.
func (r *mqttReader) str(field string) string {
	s := r.span(field)
	return string(r.m[s.Off : s.Off+s.Len])
}

// fixed reads n raw bytes.
func (r *mqttReader) fixed(n uint64, field string) Span {
	if !r.need(n, field) {
		return Span{}
	}
	s := Span{Off: uint32(r.off), Len: uint32(n)}
	r.off += n
	return s
}

// done checks that the fields accounted for every byte of the message.
func (r *mqttReader) done() error {
	if r.err == nil && r.off != uint64(len(r.m)) {
		r.err = malformed("%s has %d bytes after its last field", r.what, uint64(len(r.m))-r.off)
	}
	return r.err
}

// mqttMessage returns the first MQTT channel message in b, b[:total], and
// its kind: ErrShort if b does not hold it all yet, ErrMalformed if total is
// under MQTTMessageFixedLen or the kind is not one accepted.
func mqttMessage(b []byte, accept func(uint8) bool, what string) ([]byte, uint8, error) {
	m, err := message(b, MQTTMessageFixedLen, what)
	if err != nil {
		// Refuse an unknown kind as early as it is known.
		if err == ErrShort && len(b) >= MQTTMessageFixedLen && !accept(b[4]) {
			return nil, 0, malformed("%s of unknown kind %#x", what, b[4])
		}
		return nil, 0, err
	}
	if !accept(m[4]) {
		return nil, 0, malformed("%s of unknown kind %#x", what, m[4])
	}
	return m, m[4], nil
}

// IsMQTTRequestKind reports whether k is the kind of a request.
func IsMQTTRequestKind(k uint8) bool { return k >= MQTTConnect && k <= MQTTDisconnect }

// IsMQTTItemKind reports whether k is the kind of a readable item.
func IsMQTTItemKind(k uint8) bool { return k >= MQTTConnectResponse && k <= MQTTDisconnectResponse }

// ParseMQTTRequest decodes the first request in b and returns it and its
// length. It returns ErrShort if b does not yet hold the whole message,
// and ErrMalformed (wrapped) if it is not a request, a field runs past
// total, a u8 is out of its range, or bytes are left after the last field.
// Strings are copied; []byte fields alias b (nil when empty).
func ParseMQTTRequest(b []byte) (MQTTRequest, int, error) {
	m, kind, err := mqttMessage(b, IsMQTTRequestKind, "MQTT request")
	if err != nil {
		return nil, 0, err
	}
	r := &mqttReader{m: m, off: MQTTMessageFixedLen}
	var req MQTTRequest
	switch kind {
	case MQTTConnect:
		r.what = "MQTT connect"
		req = parseConnect(r)
	case MQTTSubscribe:
		r.what = "MQTT subscribe"
		s := &MQTTSubscribeRequest{CorrelationID: r.u32("correlation_id")}
		n := r.u8("n")
		if n > 0 && r.err == nil {
			s.Subscriptions = make([]MQTTSubscription, 0, min(int(n), len(m)/8))
		}
		for i := 0; i < int(n) && r.err == nil; i++ {
			s.Subscriptions = append(s.Subscriptions, MQTTSubscription{
				Topic: r.str("topic"), QoS: r.upTo(1, "qos"), NoLocal: r.flag("nl"),
				RetainAsPublished: r.flag("rap"), RetainHandling: r.upTo(2, "rh"),
			})
		}
		req = s
	case MQTTUnsubscribe:
		r.what = "MQTT unsubscribe"
		u := &MQTTUnsubscribeRequest{CorrelationID: r.u32("correlation_id")}
		n := r.u8("n")
		if n > 0 && r.err == nil {
			u.Topics = make([]string, 0, min(int(n), len(m)/4))
		}
		for i := 0; i < int(n) && r.err == nil; i++ {
			u.Topics = append(u.Topics, r.str("topic"))
		}
		req = u
	case MQTTPublish:
		r.what = "MQTT publish"
		req = &MQTTPublishRequest{
			CorrelationID: r.u32("correlation_id"), Topic: r.str("topic"), Payload: r.bytes("payload"),
			QoS: r.upTo(1, "qos"), Retain: r.flag("retain"),
		}
	case MQTTAck:
		r.what = "MQTT ack"
		req = &MQTTAckRequest{MessageID: r.u32("message_id")}
	case MQTTDisconnect:
		r.what = "MQTT disconnect"
		req = &MQTTDisconnectRequest{}
	}
	if err := r.done(); err != nil {
		return nil, 0, err
	}
	return req, len(m), nil
}

func parseConnect(r *mqttReader) *MQTTConnectRequest {
	c := &MQTTConnectRequest{
		Protocol:   r.upTo(1, "protocol"),
		CleanStart: r.flag("clean_start"),
		Keepalive:  r.u16("keepalive"),
		Port:       r.u16("port"),
		Host:       r.str("host"),
		ClientID:   r.str("client_id"),
		Auth:       r.upTo(1, "auth"),
		Username:   r.str("username"),
		Password:   r.bytes("password"),
	}
	if r.flag("has_will") {
		c.Will = &MQTTWill{Topic: r.str("will_topic"), Payload: r.bytes("will_payload"),
			QoS: r.upTo(1, "will_qos"), Retain: r.flag("will_retain")}
	}
	if r.flag("has_tls") {
		t := &MQTTTLS{}
		t.CACerts = r.certs("ca")
		t.ClientCerts = r.certs("cert")
		t.Key = r.bytes("key")
		c.TLS = t
	}
	return c
}

// certs reads n_x u8 | x str…; each certificate aliases m.
func (r *mqttReader) certs(field string) [][]byte {
	n := r.u8("n_" + field)
	if n == 0 || r.err != nil {
		return nil
	}
	out := make([][]byte, 0, min(int(n), len(r.m)/4))
	for i := 0; i < int(n) && r.err == nil; i++ {
		out = append(out, r.bytes(field))
	}
	return out
}

// MQTTItemIndex locates the fields of a readable item without copying
// them, so the kernel can read an item in place from the receive ring.
// Only the fields of Kind are set; spans are offsets into the message.
type MQTTItemIndex struct {
	Kind  uint8
	Total uint32

	RequestState   uint32 // the responses
	CorrelationID  uint32 // subscribe, unsubscribe and publish responses
	ReasonCode     uint32 // connect and publish responses
	DisconnectCode uint32 // disconnect response
	ReasonCodes    Span   // subscribe and unsubscribe responses: one byte per code

	MessageID  uint32 // message
	Topic      Span   // message, message lost
	Payload    Span   // message
	QoS        uint8  // message
	Retain     bool   // message
	Reason     uint32 // message lost
	MessageLen uint32 // message lost
}

// IndexMQTTItem checks the first readable item in b and returns where its
// fields are. Its errors are those of ParseMQTTItem. It does not allocate
// unless it fails.
func IndexMQTTItem(b []byte) (MQTTItemIndex, error) {
	m, kind, err := mqttMessage(b, IsMQTTItemKind, "MQTT item")
	if err != nil {
		return MQTTItemIndex{}, err
	}
	x := MQTTItemIndex{Kind: kind, Total: uint32(len(m))}
	r := &mqttReader{m: m, off: MQTTMessageFixedLen}
	switch kind {
	case MQTTConnectResponse:
		r.what = "MQTT connect response"
		x.RequestState, x.ReasonCode = r.u32("request_state"), r.u32("reason_code")
	case MQTTSubscribeResponse, MQTTUnsubscribeResponse:
		r.what = "MQTT (un)subscribe response"
		x.RequestState, x.CorrelationID = r.u32("request_state"), r.u32("correlation_id")
		x.ReasonCodes = r.fixed(uint64(r.u8("n")), "reason codes")
	case MQTTPublishResponse:
		r.what = "MQTT publish response"
		x.RequestState, x.CorrelationID, x.ReasonCode = r.u32("request_state"), r.u32("correlation_id"), r.u32("reason_code")
	case MQTTMessage:
		r.what = "MQTT message"
		x.MessageID, x.Topic, x.Payload = r.u32("message_id"), r.span("topic"), r.span("payload")
		// QoS 2 is possible here: a broker may deliver at QoS 2 to a
		// persistent session subscribed at 2 earlier; the application
		// acknowledges it like QoS 1 (seed 004, "Acknowledge messages").
		x.QoS, x.Retain = r.upTo(2, "qos"), r.flag("retain")
	case MQTTMessageLost:
		r.what = "MQTT message lost"
		x.Reason, x.Topic, x.MessageLen = r.u32("reason"), r.span("topic"), r.u32("message_len")
	case MQTTDisconnectResponse:
		r.what = "MQTT disconnect response"
		x.RequestState, x.DisconnectCode = r.u32("request_state"), r.u32("disconnect_code")
	}
	if err := r.done(); err != nil {
		return MQTTItemIndex{}, err
	}
	return x, nil
}

// ParseMQTTItem decodes the first readable item in b and returns it and
// its length. It returns ErrShort if b does not yet hold the whole item,
// and ErrMalformed (wrapped) if it is not an item, a field runs past
// total, a u8 is out of its range, or bytes are left after the last field.
// Topics are copied; payloads and reason codes alias b (nil when empty).
func ParseMQTTItem(b []byte) (MQTTItem, int, error) {
	x, err := IndexMQTTItem(b)
	if err != nil {
		return nil, 0, err
	}
	var it MQTTItem
	switch x.Kind {
	case MQTTConnectResponse:
		it = &MQTTConnectResponseItem{RequestState: x.RequestState, ReasonCode: x.ReasonCode}
	case MQTTSubscribeResponse:
		it = &MQTTSubscribeResponseItem{RequestState: x.RequestState, CorrelationID: x.CorrelationID, ReasonCodes: bytesAt(b, x.ReasonCodes)}
	case MQTTUnsubscribeResponse:
		it = &MQTTUnsubscribeResponseItem{RequestState: x.RequestState, CorrelationID: x.CorrelationID, ReasonCodes: bytesAt(b, x.ReasonCodes)}
	case MQTTPublishResponse:
		it = &MQTTPublishResponseItem{RequestState: x.RequestState, CorrelationID: x.CorrelationID, ReasonCode: x.ReasonCode}
	case MQTTMessage:
		it = &MQTTMessageItem{MessageID: x.MessageID, Topic: string(b[x.Topic.Off : x.Topic.Off+x.Topic.Len]),
			Payload: bytesAt(b, x.Payload), QoS: x.QoS, Retain: x.Retain}
	case MQTTMessageLost:
		it = &MQTTMessageLostItem{Reason: x.Reason, Topic: string(b[x.Topic.Off : x.Topic.Off+x.Topic.Len]), MessageLen: x.MessageLen}
	case MQTTDisconnectResponse:
		it = &MQTTDisconnectResponseItem{RequestState: x.RequestState, DisconnectCode: x.DisconnectCode}
	}
	return it, int(x.Total), nil
}
