package abi

import (
	"fmt"
	"math"

	"github.com/mvnet/mvnet/mem"
)

// Codecs of the MQTT structures (spec/abi.md, "Structures"). Like those of
// codec.go they move one structure per CopyIn or CopyOut through offsets
// computed once per ABI, and do not allocate. Nested pointers are returned
// as addresses, never followed: the kernel checks and reads what they point
// to itself (a bad one is its LATEFAULT).

// UsernamePassword is MvUsernamePassword.
type UsernamePassword struct {
	Username SizedString
	Password SizedString
}

// MQTTAuthentication is MvMqttAuthentication. UsernamePassword is held by
// value and means something only with MQTTAuthenticationMethodUsernamePassword.
type MQTTAuthentication struct {
	Method           MQTTAuthenticationMethod
	UsernamePassword UsernamePassword
}

// MQTTConnectRequest is MvMqttConnectRequest. TLSCredentials (an
// MvTlsCredentials) and Will (an MvMqttWill) are addresses, 0 for none.
type MQTTConnectRequest struct {
	ProtocolVersion MQTTProtocolVersion
	Host            SizedString
	Port            uint16
	ClientID        SizedString
	Authentication  MQTTAuthentication
	TLSCredentials  mem.Addr
	Keepalive       uint32
	CleanStart      uint8
	Will            mem.Addr
}

// TLSCertificateChain is MvTlsCertificateChain: Certs is the address of an
// array of NumCerts MvSizedString (read it with ReadSizedStrings).
type TLSCertificateChain struct {
	NumCerts uint32
	Certs    mem.Addr
}

// OwnTLSCertificateChain is MvOwnTlsCertificateChain.
type OwnTLSCertificateChain struct {
	Chain TLSCertificateChain
	Key   SizedString
}

// TLSCredentials is MvTlsCredentials.
type TLSCredentials struct {
	CACert     TLSCertificateChain
	ClientCert OwnTLSCertificateChain
}

// MQTTWill is MvMqttWill.
type MQTTWill struct {
	Topic   SizedString
	Payload SizedString
	QoS     uint32
	Retain  uint8
}

// MQTTConnectResponse is MvMqttConnectResponse.
type MQTTConnectResponse struct {
	RequestState MQTTRequestState
	ReasonCode   uint32
}

// MQTTSubscription is MvMqttSubscription.
type MQTTSubscription struct {
	Topic      SizedString
	DesiredQoS uint32
	NL         uint32
	RAP        uint32
	RH         uint32
}

// MQTTSubscribeRequest is MvMqttSubscribeRequest: Subscriptions is the
// address of an array of NumSubscriptions MvMqttSubscription (read it with
// ReadMQTTSubscriptions).
type MQTTSubscribeRequest struct {
	CorrelationID    uint32
	Subscriptions    mem.Addr
	NumSubscriptions uint32
}

// MQTTSubscribeResponse is MvMqttSubscribeResponse: where the answer goes.
// ReasonCodes is an array of ReasonCodesSize uint32 (a count of codes, not
// bytes); the others point to one value each.
type MQTTSubscribeResponse struct {
	RequestState    mem.Addr // enum MvMqttRequestState *
	CorrelationID   mem.Addr // uint32_t *
	ReasonCodes     mem.Addr // uint32_t[ReasonCodesSize]
	ReasonCodesSize uint32
	ReasonCodesLen  mem.Addr // uint32_t *
}

// MQTTUnsubscribeResponse is MvMqttUnsubscribeResponse, the same shape as
// MvMqttSubscribeResponse.
type MQTTUnsubscribeResponse = MQTTSubscribeResponse

// MQTTUnsubscribeRequest is MvMqttUnsubscribeRequest: Topics is the address
// of an array of NumTopics MvSizedString.
type MQTTUnsubscribeRequest struct {
	CorrelationID uint32
	Topics        mem.Addr
	NumTopics     uint32
}

// MQTTPublishRequest is MvMqttPublishRequest.
type MQTTPublishRequest struct {
	CorrelationID uint32
	Topic         SizedString
	Payload       SizedString
	DesiredQoS    uint32
	Retain        uint32
}

// MQTTPublishResponse is MvMqttPublishResponse.
type MQTTPublishResponse struct {
	RequestState  MQTTRequestState
	CorrelationID uint32
	ReasonCode    uint32
}

// SizedStringBuffer is MvSizedStringBuffer: Size bytes at Data to fill, and
// where to write how many were written.
type SizedStringBuffer struct {
	Data   mem.Addr
	Size   uint32
	Length mem.Addr // uint32_t *
}

// MQTTMessage is MvMqttMessage: where an incoming message goes.
type MQTTMessage struct {
	CorrelationID mem.Addr // uint32_t *
	Topic         SizedStringBuffer
	Payload       SizedStringBuffer
	QoS           mem.Addr // uint32_t *
	Retain        mem.Addr // uint8_t *
}

// MQTTLostMessageInfo is MvMqttLostMessageInfo: where news of a dropped
// message goes.
type MQTTLostMessageInfo struct {
	Reason     mem.Addr // enum MvMqttLostMessageReason *
	Topic      SizedStringBuffer
	MessageLen mem.Addr // uint32_t *
}

// MQTTDisconnectResponse is MvMqttDisconnectResponse.
type MQTTDisconnectResponse struct {
	RequestState   MQTTRequestState
	DisconnectCode uint32
}

// ---- offsets ----

type sizedStringBufferOffs struct{ data, size, length int }

type codesRespOffs struct{ size, state, corr, codes, codesSize, codesLen int }

type mqttCodecs struct {
	str struct {
		size int
		offs sizedStringOffs
	} // MvSizedString, as an array element
	connect struct {
		size, protocol, port, method, methodSize, tls, keepalive, cleanStart, will int
		host, clientID, username, password                                         sizedStringOffs
	}
	tls struct {
		size, caNum, caCerts, clNum, clCerts int
		key                                  sizedStringOffs
	}
	will struct {
		size, qos, retain int
		topic, payload    sizedStringOffs
	}
	connResp struct{ size, state, reason int }
	sub      struct {
		size, qos, nl, rap, rh int
		topic                  sizedStringOffs
	}
	subReq    struct{ size, corr, subs, num int }
	subResp   codesRespOffs
	unsubReq  struct{ size, corr, topics, num int }
	unsubResp codesRespOffs
	pubReq    struct {
		size, corr, qos, retain int
		topic, payload          sizedStringOffs
	}
	pubResp struct{ size, state, corr, reason int }
	ssb     struct{ size int }
	ssbOffs sizedStringBufferOffs
	msg     struct {
		size, corr, qos, retain int
		topic, payload          sizedStringBufferOffs
	}
	lost struct {
		size, reason, msgLen int
		topic                sizedStringBufferOffs
	}
	discResp struct{ size, state, code int }
}

func (o *offsetLookup) fieldSize(s, path string) int {
	if l := o.a.structs[s]; l != nil {
		if f, ok := l.Field(path); ok {
			return f.Size
		}
	}
	o.fail(fmt.Errorf("abi %s: no field %s.%s", o.a.name, s, path))
	return 0
}

func (o *offsetLookup) ssb(s, path string) sizedStringBufferOffs {
	return sizedStringBufferOffs{o.off(s, path+".data"), o.off(s, path+".size"), o.off(s, path+".length")}
}

func (o *offsetLookup) codesResp(s string) codesRespOffs {
	return codesRespOffs{
		size: o.size(s), state: o.off(s, "request_state"), corr: o.off(s, "correlation_id"),
		codes: o.off(s, "reason_codes"), codesSize: o.off(s, "reason_codes_size"), codesLen: o.off(s, "reason_codes_len"),
	}
}

func (c *mqttCodecs) init(o *offsetLookup) {
	const ss = "MvSizedString"
	c.str.size, c.str.offs = o.size(ss), sizedStringOffs{o.off(ss, "data"), o.off(ss, "length")}

	const cr = "MvMqttConnectRequest"
	k := &c.connect
	k.size = o.size(cr)
	k.protocol, k.port = o.off(cr, "protocol_version"), o.off(cr, "port")
	k.host, k.clientID = o.str(cr, "host"), o.str(cr, "clientid")
	k.method, k.methodSize = o.off(cr, "authentication.method"), o.fieldSize(cr, "authentication.method")
	k.username = o.str(cr, "authentication.username_password.username")
	k.password = o.str(cr, "authentication.username_password.password")
	k.tls, k.keepalive = o.off(cr, "tls_credentials"), o.off(cr, "keepalive")
	k.cleanStart, k.will = o.off(cr, "clean_start"), o.off(cr, "will")

	const tc = "MvTlsCredentials"
	c.tls.size = o.size(tc)
	c.tls.caNum, c.tls.caCerts = o.off(tc, "cacert.num_certs"), o.off(tc, "cacert.certs")
	c.tls.clNum, c.tls.clCerts = o.off(tc, "clientcert.chain.num_certs"), o.off(tc, "clientcert.chain.certs")
	c.tls.key = o.str(tc, "clientcert.key")

	const wl = "MvMqttWill"
	c.will.size = o.size(wl)
	c.will.topic, c.will.payload = o.str(wl, "topic"), o.str(wl, "payload")
	c.will.qos, c.will.retain = o.off(wl, "qos"), o.off(wl, "retain")

	const cs = "MvMqttConnectResponse"
	c.connResp.size = o.size(cs)
	c.connResp.state, c.connResp.reason = o.off(cs, "request_state"), o.off(cs, "reason_code")

	const sb = "MvMqttSubscription"
	c.sub.size, c.sub.topic = o.size(sb), o.str(sb, "topic")
	c.sub.qos, c.sub.nl, c.sub.rap, c.sub.rh = o.off(sb, "desired_qos"), o.off(sb, "nl"), o.off(sb, "rap"), o.off(sb, "rh")

	const sr = "MvMqttSubscribeRequest"
	c.subReq.size = o.size(sr)
	c.subReq.corr, c.subReq.subs, c.subReq.num = o.off(sr, "correlation_id"), o.off(sr, "subscriptions"), o.off(sr, "num_subscriptions")
	c.subResp = o.codesResp("MvMqttSubscribeResponse")

	const ur = "MvMqttUnsubscribeRequest"
	c.unsubReq.size = o.size(ur)
	c.unsubReq.corr, c.unsubReq.topics, c.unsubReq.num = o.off(ur, "correlation_id"), o.off(ur, "topics"), o.off(ur, "num_topics")
	c.unsubResp = o.codesResp("MvMqttUnsubscribeResponse")

	const pr = "MvMqttPublishRequest"
	c.pubReq.size = o.size(pr)
	c.pubReq.corr, c.pubReq.topic, c.pubReq.payload = o.off(pr, "correlation_id"), o.str(pr, "topic"), o.str(pr, "payload")
	c.pubReq.qos, c.pubReq.retain = o.off(pr, "desired_qos"), o.off(pr, "retain")

	const ps = "MvMqttPublishResponse"
	c.pubResp.size = o.size(ps)
	c.pubResp.state, c.pubResp.corr, c.pubResp.reason = o.off(ps, "request_state"), o.off(ps, "correlation_id"), o.off(ps, "reason_code")

	const sbuf = "MvSizedStringBuffer"
	c.ssb.size = o.size(sbuf)
	c.ssbOffs = sizedStringBufferOffs{o.off(sbuf, "data"), o.off(sbuf, "size"), o.off(sbuf, "length")}

	const mm = "MvMqttMessage"
	c.msg.size, c.msg.corr = o.size(mm), o.off(mm, "correlation_id")
	c.msg.topic, c.msg.payload = o.ssb(mm, "topic"), o.ssb(mm, "payload")
	c.msg.qos, c.msg.retain = o.off(mm, "qos"), o.off(mm, "retain")

	const lm = "MvMqttLostMessageInfo"
	c.lost.size, c.lost.reason = o.size(lm), o.off(lm, "reason")
	c.lost.topic, c.lost.msgLen = o.ssb(lm, "topic"), o.off(lm, "message_len")

	const ds = "MvMqttDisconnectResponse"
	c.discResp.size = o.size(ds)
	c.discResp.state, c.discResp.code = o.off(ds, "request_state"), o.off(ds, "disconnect_code")
}

// ---- field helpers ----

// enumAt decodes an enum field of size bytes (1 or 4).
func enumAt(b []byte, off, size int) uint32 {
	if size == 1 {
		return uint32(b[off])
	}
	return le.Uint32(b[off:])
}

// putEnum encodes an enum field of size bytes; it reports false if v does
// not fit.
func putEnum(b []byte, off, size int, v uint32) bool {
	if size == 1 {
		b[off] = byte(v)
		return v <= math.MaxUint8
	}
	le.PutUint32(b[off:], v)
	return true
}

func (a *ABI) ssbAt(b []byte, o sizedStringBufferOffs) SizedStringBuffer {
	return SizedStringBuffer{Data: a.ptrAt(b, o.data), Size: le.Uint32(b[o.size:]), Length: a.ptrAt(b, o.length)}
}

func (a *ABI) putSSB(b []byte, o sizedStringBufferOffs, v SizedStringBuffer) bool {
	le.PutUint32(b[o.size:], v.Size)
	ok := a.putPtr(b, o.data, v.Data)
	return a.putPtr(b, o.length, v.Length) && ok
}

// readStruct copies n bytes at p into a scratch buffer and decodes them.
func readStruct[T any](a *ABI, m mem.Memory, p mem.Addr, n int, dec func(*ABI, []byte) T) (T, error) {
	s := getScratch()
	defer putScratch(s)
	b := s[:n]
	if err := m.CopyIn(b, p); err != nil {
		var zero T
		return zero, err
	}
	return dec(a, b), nil
}

// writeStruct encodes v into a cleared scratch buffer of n bytes and copies
// it to p. If the encoder fails (a pointer too wide for the ABI, wrapping
// ErrAddressRange) nothing is written.
func writeStruct[T any](a *ABI, m mem.Memory, p mem.Addr, n int, v T, enc func(*ABI, []byte, T) error) error {
	s := getScratch()
	defer putScratch(s)
	b := s[:n]
	clear(b)
	if err := enc(a, b, v); err != nil {
		return err
	}
	return m.CopyOut(p, b)
}

// readArray appends the n elements of size bytes of the array at p to dst.
// The caller bounds n first. On a fault it returns dst unextended.
func readArray[T any](a *ABI, m mem.Memory, p mem.Addr, n uint32, size int, dst []T, dec func(*ABI, []byte) T) ([]T, error) {
	if err := arrayBounds(p, n, size, false); err != nil {
		return dst, err
	}
	start := len(dst)
	s := getScratch()
	defer putScratch(s)
	per := uint32(scratchSize / size)
	for n > 0 {
		k := min(n, per)
		b := s[:int(k)*size]
		if err := m.CopyIn(b, p); err != nil {
			return dst[:start], err
		}
		for e := b; len(e) > 0; e = e[size:] {
			dst = append(dst, dec(a, e))
		}
		p += mem.Addr(len(b))
		n -= k
	}
	return dst, nil
}

// writeArray writes vs as an array of elements of size bytes at p, in
// pieces: a fault part-way may leave earlier elements written.
func writeArray[T any](a *ABI, m mem.Memory, p mem.Addr, vs []T, size int, enc func(*ABI, []byte, T) error) error {
	if len(vs) > math.MaxUint32 {
		return fmt.Errorf("abi: %d array elements is too many", len(vs))
	}
	if err := arrayBounds(p, uint32(len(vs)), size, true); err != nil {
		return err
	}
	s := getScratch()
	defer putScratch(s)
	per := scratchSize / size
	for len(vs) > 0 {
		k := min(len(vs), per)
		b := s[:k*size]
		clear(b)
		for i, v := range vs[:k] {
			if err := enc(a, b[i*size:], v); err != nil {
				return err
			}
		}
		if err := m.CopyOut(p, b); err != nil {
			return err
		}
		p += mem.Addr(len(b))
		vs = vs[k:]
	}
	return nil
}

func okOrRange(ok bool, vs ...mem.Addr) error {
	if ok {
		return nil
	}
	return rangeErr(vs...)
}

// ---- MvSizedString arrays (certificates, unsubscribe topics) ----

func (a *ABI) decSizedString(b []byte) SizedString { return a.strAt(b, a.c.mqtt.str.offs) }

func (a *ABI) encSizedString(b []byte, v SizedString) error {
	return okOrRange(a.putStr(b, a.c.mqtt.str.offs, v), v.Data)
}

// ReadSizedStrings appends to dst the n MvSizedString of the array at p
// (certificates of a chain, topics of an unsubscribe). It reads exactly n
// elements, so the caller bounds n first (spec/abi.md: at most 8). On a
// fault it returns dst unextended and the fault.
func (a *ABI) ReadSizedStrings(m mem.Memory, p mem.Addr, n uint32, dst []SizedString) ([]SizedString, error) {
	return readArray(a, m, p, n, a.c.mqtt.str.size, dst, (*ABI).decSizedString)
}

// WriteSizedStrings writes vs as an array of MvSizedString at p.
func (a *ABI) WriteSizedStrings(m mem.Memory, p mem.Addr, vs []SizedString) error {
	return writeArray(a, m, p, vs, a.c.mqtt.str.size, (*ABI).encSizedString)
}

// ---- MvMqttConnectRequest, MvTlsCredentials, MvMqttWill ----

func (a *ABI) decConnect(b []byte) MQTTConnectRequest {
	o := &a.c.mqtt.connect
	return MQTTConnectRequest{
		ProtocolVersion: MQTTProtocolVersion(le.Uint32(b[o.protocol:])),
		Host:            a.strAt(b, o.host),
		Port:            le.Uint16(b[o.port:]),
		ClientID:        a.strAt(b, o.clientID),
		Authentication: MQTTAuthentication{
			Method: MQTTAuthenticationMethod(enumAt(b, o.method, o.methodSize)),
			UsernamePassword: UsernamePassword{
				Username: a.strAt(b, o.username),
				Password: a.strAt(b, o.password),
			},
		},
		TLSCredentials: a.ptrAt(b, o.tls),
		Keepalive:      le.Uint32(b[o.keepalive:]),
		CleanStart:     b[o.cleanStart],
		Will:           a.ptrAt(b, o.will),
	}
}

func (a *ABI) encConnect(b []byte, v MQTTConnectRequest) error {
	o := &a.c.mqtt.connect
	le.PutUint32(b[o.protocol:], uint32(v.ProtocolVersion))
	le.PutUint16(b[o.port:], v.Port)
	le.PutUint32(b[o.keepalive:], v.Keepalive)
	b[o.cleanStart] = v.CleanStart
	// MQTTAuthenticationMethod is a uint8: it always fits.
	putEnum(b, o.method, o.methodSize, uint32(v.Authentication.Method))
	up := v.Authentication.UsernamePassword
	ok := a.putStr(b, o.host, v.Host)
	ok = a.putStr(b, o.clientID, v.ClientID) && ok
	ok = a.putStr(b, o.username, up.Username) && ok
	ok = a.putStr(b, o.password, up.Password) && ok
	ok = a.putPtr(b, o.tls, v.TLSCredentials) && ok
	ok = a.putPtr(b, o.will, v.Will) && ok
	return okOrRange(ok, v.Host.Data, v.ClientID.Data, up.Username.Data, up.Password.Data, v.TLSCredentials, v.Will)
}

// ReadMQTTConnectRequest reads an MvMqttConnectRequest at p. Nested
// pointers (strings, TLS credentials, will) are not followed.
func (a *ABI) ReadMQTTConnectRequest(m mem.Memory, p mem.Addr) (MQTTConnectRequest, error) {
	return readStruct(a, m, p, a.c.mqtt.connect.size, (*ABI).decConnect)
}

// WriteMQTTConnectRequest writes v as an MvMqttConnectRequest at p.
func (a *ABI) WriteMQTTConnectRequest(m mem.Memory, p mem.Addr, v MQTTConnectRequest) error {
	return writeStruct(a, m, p, a.c.mqtt.connect.size, v, (*ABI).encConnect)
}

func (a *ABI) decTLS(b []byte) TLSCredentials {
	o := &a.c.mqtt.tls
	return TLSCredentials{
		CACert: TLSCertificateChain{NumCerts: le.Uint32(b[o.caNum:]), Certs: a.ptrAt(b, o.caCerts)},
		ClientCert: OwnTLSCertificateChain{
			Chain: TLSCertificateChain{NumCerts: le.Uint32(b[o.clNum:]), Certs: a.ptrAt(b, o.clCerts)},
			Key:   a.strAt(b, o.key),
		},
	}
}

func (a *ABI) encTLS(b []byte, v TLSCredentials) error {
	o := &a.c.mqtt.tls
	le.PutUint32(b[o.caNum:], v.CACert.NumCerts)
	le.PutUint32(b[o.clNum:], v.ClientCert.Chain.NumCerts)
	ok := a.putPtr(b, o.caCerts, v.CACert.Certs)
	ok = a.putPtr(b, o.clCerts, v.ClientCert.Chain.Certs) && ok
	ok = a.putStr(b, o.key, v.ClientCert.Key) && ok
	return okOrRange(ok, v.CACert.Certs, v.ClientCert.Chain.Certs, v.ClientCert.Key.Data)
}

// ReadTLSCredentials reads an MvTlsCredentials at p.
func (a *ABI) ReadTLSCredentials(m mem.Memory, p mem.Addr) (TLSCredentials, error) {
	return readStruct(a, m, p, a.c.mqtt.tls.size, (*ABI).decTLS)
}

// WriteTLSCredentials writes v as an MvTlsCredentials at p.
func (a *ABI) WriteTLSCredentials(m mem.Memory, p mem.Addr, v TLSCredentials) error {
	return writeStruct(a, m, p, a.c.mqtt.tls.size, v, (*ABI).encTLS)
}

func (a *ABI) decWill(b []byte) MQTTWill {
	o := &a.c.mqtt.will
	return MQTTWill{Topic: a.strAt(b, o.topic), Payload: a.strAt(b, o.payload), QoS: le.Uint32(b[o.qos:]), Retain: b[o.retain]}
}

func (a *ABI) encWill(b []byte, v MQTTWill) error {
	o := &a.c.mqtt.will
	le.PutUint32(b[o.qos:], v.QoS)
	b[o.retain] = v.Retain
	ok := a.putStr(b, o.topic, v.Topic)
	ok = a.putStr(b, o.payload, v.Payload) && ok
	return okOrRange(ok, v.Topic.Data, v.Payload.Data)
}

// ReadMQTTWill reads an MvMqttWill at p.
func (a *ABI) ReadMQTTWill(m mem.Memory, p mem.Addr) (MQTTWill, error) {
	return readStruct(a, m, p, a.c.mqtt.will.size, (*ABI).decWill)
}

// WriteMQTTWill writes v as an MvMqttWill at p.
func (a *ABI) WriteMQTTWill(m mem.Memory, p mem.Addr, v MQTTWill) error {
	return writeStruct(a, m, p, a.c.mqtt.will.size, v, (*ABI).encWill)
}

// ---- subscribe, unsubscribe ----

func (a *ABI) decSubscription(b []byte) MQTTSubscription {
	o := &a.c.mqtt.sub
	return MQTTSubscription{
		Topic: a.strAt(b, o.topic), DesiredQoS: le.Uint32(b[o.qos:]),
		NL: le.Uint32(b[o.nl:]), RAP: le.Uint32(b[o.rap:]), RH: le.Uint32(b[o.rh:]),
	}
}

func (a *ABI) encSubscription(b []byte, v MQTTSubscription) error {
	o := &a.c.mqtt.sub
	le.PutUint32(b[o.qos:], v.DesiredQoS)
	le.PutUint32(b[o.nl:], v.NL)
	le.PutUint32(b[o.rap:], v.RAP)
	le.PutUint32(b[o.rh:], v.RH)
	return okOrRange(a.putStr(b, o.topic, v.Topic), v.Topic.Data)
}

// ReadMQTTSubscriptions appends to dst the n MvMqttSubscription of the
// array at p. The caller bounds n first (spec/abi.md: at most 8 topics).
// On a fault it returns dst unextended and the fault.
func (a *ABI) ReadMQTTSubscriptions(m mem.Memory, p mem.Addr, n uint32, dst []MQTTSubscription) ([]MQTTSubscription, error) {
	return readArray(a, m, p, n, a.c.mqtt.sub.size, dst, (*ABI).decSubscription)
}

// WriteMQTTSubscriptions writes vs as an array of MvMqttSubscription at p.
func (a *ABI) WriteMQTTSubscriptions(m mem.Memory, p mem.Addr, vs []MQTTSubscription) error {
	return writeArray(a, m, p, vs, a.c.mqtt.sub.size, (*ABI).encSubscription)
}

func (a *ABI) decSubReq(b []byte) MQTTSubscribeRequest {
	o := &a.c.mqtt.subReq
	return MQTTSubscribeRequest{CorrelationID: le.Uint32(b[o.corr:]), Subscriptions: a.ptrAt(b, o.subs), NumSubscriptions: le.Uint32(b[o.num:])}
}

func (a *ABI) encSubReq(b []byte, v MQTTSubscribeRequest) error {
	o := &a.c.mqtt.subReq
	le.PutUint32(b[o.corr:], v.CorrelationID)
	le.PutUint32(b[o.num:], v.NumSubscriptions)
	return okOrRange(a.putPtr(b, o.subs, v.Subscriptions), v.Subscriptions)
}

// ReadMQTTSubscribeRequest reads an MvMqttSubscribeRequest at p.
func (a *ABI) ReadMQTTSubscribeRequest(m mem.Memory, p mem.Addr) (MQTTSubscribeRequest, error) {
	return readStruct(a, m, p, a.c.mqtt.subReq.size, (*ABI).decSubReq)
}

// WriteMQTTSubscribeRequest writes v as an MvMqttSubscribeRequest at p.
func (a *ABI) WriteMQTTSubscribeRequest(m mem.Memory, p mem.Addr, v MQTTSubscribeRequest) error {
	return writeStruct(a, m, p, a.c.mqtt.subReq.size, v, (*ABI).encSubReq)
}

func (a *ABI) decUnsubReq(b []byte) MQTTUnsubscribeRequest {
	o := &a.c.mqtt.unsubReq
	return MQTTUnsubscribeRequest{CorrelationID: le.Uint32(b[o.corr:]), Topics: a.ptrAt(b, o.topics), NumTopics: le.Uint32(b[o.num:])}
}

func (a *ABI) encUnsubReq(b []byte, v MQTTUnsubscribeRequest) error {
	o := &a.c.mqtt.unsubReq
	le.PutUint32(b[o.corr:], v.CorrelationID)
	le.PutUint32(b[o.num:], v.NumTopics)
	return okOrRange(a.putPtr(b, o.topics, v.Topics), v.Topics)
}

// ReadMQTTUnsubscribeRequest reads an MvMqttUnsubscribeRequest at p.
func (a *ABI) ReadMQTTUnsubscribeRequest(m mem.Memory, p mem.Addr) (MQTTUnsubscribeRequest, error) {
	return readStruct(a, m, p, a.c.mqtt.unsubReq.size, (*ABI).decUnsubReq)
}

// WriteMQTTUnsubscribeRequest writes v as an MvMqttUnsubscribeRequest at p.
func (a *ABI) WriteMQTTUnsubscribeRequest(m mem.Memory, p mem.Addr, v MQTTUnsubscribeRequest) error {
	return writeStruct(a, m, p, a.c.mqtt.unsubReq.size, v, (*ABI).encUnsubReq)
}

func (a *ABI) decCodesResp(b []byte, o *codesRespOffs) MQTTSubscribeResponse {
	return MQTTSubscribeResponse{
		RequestState: a.ptrAt(b, o.state), CorrelationID: a.ptrAt(b, o.corr),
		ReasonCodes: a.ptrAt(b, o.codes), ReasonCodesSize: le.Uint32(b[o.codesSize:]),
		ReasonCodesLen: a.ptrAt(b, o.codesLen),
	}
}

func (a *ABI) encCodesResp(b []byte, o *codesRespOffs, v MQTTSubscribeResponse) error {
	le.PutUint32(b[o.codesSize:], v.ReasonCodesSize)
	ok := a.putPtr(b, o.state, v.RequestState)
	ok = a.putPtr(b, o.corr, v.CorrelationID) && ok
	ok = a.putPtr(b, o.codes, v.ReasonCodes) && ok
	ok = a.putPtr(b, o.codesLen, v.ReasonCodesLen) && ok
	return okOrRange(ok, v.RequestState, v.CorrelationID, v.ReasonCodes, v.ReasonCodesLen)
}

func (a *ABI) decSubResp(b []byte) MQTTSubscribeResponse { return a.decCodesResp(b, &a.c.mqtt.subResp) }
func (a *ABI) decUnsubResp(b []byte) MQTTSubscribeResponse {
	return a.decCodesResp(b, &a.c.mqtt.unsubResp)
}
func (a *ABI) encSubResp(b []byte, v MQTTSubscribeResponse) error {
	return a.encCodesResp(b, &a.c.mqtt.subResp, v)
}
func (a *ABI) encUnsubResp(b []byte, v MQTTSubscribeResponse) error {
	return a.encCodesResp(b, &a.c.mqtt.unsubResp, v)
}

// ReadMQTTSubscribeResponse reads an MvMqttSubscribeResponse at p.
func (a *ABI) ReadMQTTSubscribeResponse(m mem.Memory, p mem.Addr) (MQTTSubscribeResponse, error) {
	return readStruct(a, m, p, a.c.mqtt.subResp.size, (*ABI).decSubResp)
}

// WriteMQTTSubscribeResponse writes v as an MvMqttSubscribeResponse at p.
func (a *ABI) WriteMQTTSubscribeResponse(m mem.Memory, p mem.Addr, v MQTTSubscribeResponse) error {
	return writeStruct(a, m, p, a.c.mqtt.subResp.size, v, (*ABI).encSubResp)
}

// ReadMQTTUnsubscribeResponse reads an MvMqttUnsubscribeResponse at p.
func (a *ABI) ReadMQTTUnsubscribeResponse(m mem.Memory, p mem.Addr) (MQTTUnsubscribeResponse, error) {
	return readStruct(a, m, p, a.c.mqtt.unsubResp.size, (*ABI).decUnsubResp)
}

// WriteMQTTUnsubscribeResponse writes v as an MvMqttUnsubscribeResponse at p.
func (a *ABI) WriteMQTTUnsubscribeResponse(m mem.Memory, p mem.Addr, v MQTTUnsubscribeResponse) error {
	return writeStruct(a, m, p, a.c.mqtt.unsubResp.size, v, (*ABI).encUnsubResp)
}

// ---- publish ----

func (a *ABI) decPubReq(b []byte) MQTTPublishRequest {
	o := &a.c.mqtt.pubReq
	return MQTTPublishRequest{
		CorrelationID: le.Uint32(b[o.corr:]), Topic: a.strAt(b, o.topic), Payload: a.strAt(b, o.payload),
		DesiredQoS: le.Uint32(b[o.qos:]), Retain: le.Uint32(b[o.retain:]),
	}
}

func (a *ABI) encPubReq(b []byte, v MQTTPublishRequest) error {
	o := &a.c.mqtt.pubReq
	le.PutUint32(b[o.corr:], v.CorrelationID)
	le.PutUint32(b[o.qos:], v.DesiredQoS)
	le.PutUint32(b[o.retain:], v.Retain)
	ok := a.putStr(b, o.topic, v.Topic)
	ok = a.putStr(b, o.payload, v.Payload) && ok
	return okOrRange(ok, v.Topic.Data, v.Payload.Data)
}

// ReadMQTTPublishRequest reads an MvMqttPublishRequest at p.
func (a *ABI) ReadMQTTPublishRequest(m mem.Memory, p mem.Addr) (MQTTPublishRequest, error) {
	return readStruct(a, m, p, a.c.mqtt.pubReq.size, (*ABI).decPubReq)
}

// WriteMQTTPublishRequest writes v as an MvMqttPublishRequest at p.
func (a *ABI) WriteMQTTPublishRequest(m mem.Memory, p mem.Addr, v MQTTPublishRequest) error {
	return writeStruct(a, m, p, a.c.mqtt.pubReq.size, v, (*ABI).encPubReq)
}

// ---- responses written by value ----

func (a *ABI) decConnResp(b []byte) MQTTConnectResponse {
	o := &a.c.mqtt.connResp
	return MQTTConnectResponse{RequestState: MQTTRequestState(le.Uint32(b[o.state:])), ReasonCode: le.Uint32(b[o.reason:])}
}

func (a *ABI) encConnResp(b []byte, v MQTTConnectResponse) error {
	o := &a.c.mqtt.connResp
	le.PutUint32(b[o.state:], uint32(v.RequestState))
	le.PutUint32(b[o.reason:], v.ReasonCode)
	return nil
}

// ReadMQTTConnectResponse reads an MvMqttConnectResponse at p.
func (a *ABI) ReadMQTTConnectResponse(m mem.Memory, p mem.Addr) (MQTTConnectResponse, error) {
	return readStruct(a, m, p, a.c.mqtt.connResp.size, (*ABI).decConnResp)
}

// WriteMQTTConnectResponse writes v as an MvMqttConnectResponse at p.
func (a *ABI) WriteMQTTConnectResponse(m mem.Memory, p mem.Addr, v MQTTConnectResponse) error {
	return writeStruct(a, m, p, a.c.mqtt.connResp.size, v, (*ABI).encConnResp)
}

func (a *ABI) decPubResp(b []byte) MQTTPublishResponse {
	o := &a.c.mqtt.pubResp
	return MQTTPublishResponse{
		RequestState: MQTTRequestState(le.Uint32(b[o.state:])), CorrelationID: le.Uint32(b[o.corr:]),
		ReasonCode: le.Uint32(b[o.reason:]),
	}
}

func (a *ABI) encPubResp(b []byte, v MQTTPublishResponse) error {
	o := &a.c.mqtt.pubResp
	le.PutUint32(b[o.state:], uint32(v.RequestState))
	le.PutUint32(b[o.corr:], v.CorrelationID)
	le.PutUint32(b[o.reason:], v.ReasonCode)
	return nil
}

// ReadMQTTPublishResponse reads an MvMqttPublishResponse at p.
func (a *ABI) ReadMQTTPublishResponse(m mem.Memory, p mem.Addr) (MQTTPublishResponse, error) {
	return readStruct(a, m, p, a.c.mqtt.pubResp.size, (*ABI).decPubResp)
}

// WriteMQTTPublishResponse writes v as an MvMqttPublishResponse at p.
func (a *ABI) WriteMQTTPublishResponse(m mem.Memory, p mem.Addr, v MQTTPublishResponse) error {
	return writeStruct(a, m, p, a.c.mqtt.pubResp.size, v, (*ABI).encPubResp)
}

func (a *ABI) decDiscResp(b []byte) MQTTDisconnectResponse {
	o := &a.c.mqtt.discResp
	return MQTTDisconnectResponse{RequestState: MQTTRequestState(le.Uint32(b[o.state:])), DisconnectCode: le.Uint32(b[o.code:])}
}

func (a *ABI) encDiscResp(b []byte, v MQTTDisconnectResponse) error {
	o := &a.c.mqtt.discResp
	le.PutUint32(b[o.state:], uint32(v.RequestState))
	le.PutUint32(b[o.code:], v.DisconnectCode)
	return nil
}

// ReadMQTTDisconnectResponse reads an MvMqttDisconnectResponse at p.
func (a *ABI) ReadMQTTDisconnectResponse(m mem.Memory, p mem.Addr) (MQTTDisconnectResponse, error) {
	return readStruct(a, m, p, a.c.mqtt.discResp.size, (*ABI).decDiscResp)
}

// WriteMQTTDisconnectResponse writes v as an MvMqttDisconnectResponse at p.
func (a *ABI) WriteMQTTDisconnectResponse(m mem.Memory, p mem.Addr, v MQTTDisconnectResponse) error {
	return writeStruct(a, m, p, a.c.mqtt.discResp.size, v, (*ABI).encDiscResp)
}

// ---- structures of output pointers: MvSizedStringBuffer, MvMqttMessage,
// MvMqttLostMessageInfo ----

func (a *ABI) decSSB(b []byte) SizedStringBuffer { return a.ssbAt(b, a.c.mqtt.ssbOffs) }

func (a *ABI) encSSB(b []byte, v SizedStringBuffer) error {
	return okOrRange(a.putSSB(b, a.c.mqtt.ssbOffs, v), v.Data, v.Length)
}

// ReadSizedStringBuffer reads an MvSizedStringBuffer at p.
func (a *ABI) ReadSizedStringBuffer(m mem.Memory, p mem.Addr) (SizedStringBuffer, error) {
	return readStruct(a, m, p, a.c.mqtt.ssb.size, (*ABI).decSSB)
}

// WriteSizedStringBuffer writes v as an MvSizedStringBuffer at p.
func (a *ABI) WriteSizedStringBuffer(m mem.Memory, p mem.Addr, v SizedStringBuffer) error {
	return writeStruct(a, m, p, a.c.mqtt.ssb.size, v, (*ABI).encSSB)
}

func (a *ABI) decMessage(b []byte) MQTTMessage {
	o := &a.c.mqtt.msg
	return MQTTMessage{
		CorrelationID: a.ptrAt(b, o.corr), Topic: a.ssbAt(b, o.topic), Payload: a.ssbAt(b, o.payload),
		QoS: a.ptrAt(b, o.qos), Retain: a.ptrAt(b, o.retain),
	}
}

func (a *ABI) encMessage(b []byte, v MQTTMessage) error {
	o := &a.c.mqtt.msg
	ok := a.putPtr(b, o.corr, v.CorrelationID)
	ok = a.putSSB(b, o.topic, v.Topic) && ok
	ok = a.putSSB(b, o.payload, v.Payload) && ok
	ok = a.putPtr(b, o.qos, v.QoS) && ok
	ok = a.putPtr(b, o.retain, v.Retain) && ok
	return okOrRange(ok, v.CorrelationID, v.Topic.Data, v.Topic.Length, v.Payload.Data, v.Payload.Length, v.QoS, v.Retain)
}

// ReadMQTTMessage reads an MvMqttMessage at p.
func (a *ABI) ReadMQTTMessage(m mem.Memory, p mem.Addr) (MQTTMessage, error) {
	return readStruct(a, m, p, a.c.mqtt.msg.size, (*ABI).decMessage)
}

// WriteMQTTMessage writes v as an MvMqttMessage at p.
func (a *ABI) WriteMQTTMessage(m mem.Memory, p mem.Addr, v MQTTMessage) error {
	return writeStruct(a, m, p, a.c.mqtt.msg.size, v, (*ABI).encMessage)
}

func (a *ABI) decLost(b []byte) MQTTLostMessageInfo {
	o := &a.c.mqtt.lost
	return MQTTLostMessageInfo{Reason: a.ptrAt(b, o.reason), Topic: a.ssbAt(b, o.topic), MessageLen: a.ptrAt(b, o.msgLen)}
}

func (a *ABI) encLost(b []byte, v MQTTLostMessageInfo) error {
	o := &a.c.mqtt.lost
	ok := a.putPtr(b, o.reason, v.Reason)
	ok = a.putSSB(b, o.topic, v.Topic) && ok
	ok = a.putPtr(b, o.msgLen, v.MessageLen) && ok
	return okOrRange(ok, v.Reason, v.Topic.Data, v.Topic.Length, v.MessageLen)
}

// ReadMQTTLostMessageInfo reads an MvMqttLostMessageInfo at p.
func (a *ABI) ReadMQTTLostMessageInfo(m mem.Memory, p mem.Addr) (MQTTLostMessageInfo, error) {
	return readStruct(a, m, p, a.c.mqtt.lost.size, (*ABI).decLost)
}

// WriteMQTTLostMessageInfo writes v as an MvMqttLostMessageInfo at p.
func (a *ABI) WriteMQTTLostMessageInfo(m mem.Memory, p mem.Addr, v MQTTLostMessageInfo) error {
	return writeStruct(a, m, p, a.c.mqtt.lost.size, v, (*ABI).encLost)
}
