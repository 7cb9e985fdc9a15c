package device

import (
	"fmt"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

// Typed MQTT calls, one per system call (seed 004). Each marshals its
// arguments into the Arena in the device ABI and returns the kernel's
// status; outputs are meaningful only when the status is OKAY.

// MQTTWill is a will message for MQTTConnect.
type MQTTWill struct {
	Topic   string
	Payload []byte
	QoS     uint32
	Retain  bool
}

// MQTTTLS holds TLS credentials as DER: the CA chain the broker's
// certificate must chain to, and optionally a client certificate chain and
// its private key (PKCS#8, PKCS#1 or SEC1).
type MQTTTLS struct {
	CACerts    [][]byte
	ClientCert [][]byte
	ClientKey  []byte
}

// MQTTConnect describes an mvMqttRequestConnect request.
type MQTTConnect struct {
	Version    abi.MQTTProtocolVersion
	Host       string
	Port       uint16
	ClientID   string
	Username   string // with Password: username/password authentication
	Password   []byte
	UseLogin   bool // send Username/Password
	TLS        *MQTTTLS
	Keepalive  uint32
	CleanStart bool
	Will       *MQTTWill
}

func b2u8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func (s *scratch) sized(b []byte) abi.SizedString {
	return abi.SizedString{Data: s.bytes(b), Length: uint32(len(b))}
}

// chain places an array of MvSizedString holding certs.
func (s *scratch) chain(d *Device, certs [][]byte) abi.TLSCertificateChain {
	if len(certs) == 0 {
		return abi.TLSCertificateChain{}
	}
	strs := make([]abi.SizedString, len(certs))
	for i, c := range certs {
		strs[i] = s.sized(c)
	}
	arr := s.alloc(uint64(len(strs)) * uint64(d.ABI.Struct("MvSizedString").Size()))
	_ = d.ABI.WriteSizedStrings(d.Arena, arr, strs)
	return abi.TLSCertificateChain{NumCerts: uint32(len(certs)), Certs: arr}
}

// MQTTRequestConnect is mvMqttRequestConnect.
func (d *Device) MQTTRequestConnect(ch *Channel, c MQTTConnect) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		req := abi.MQTTConnectRequest{
			ProtocolVersion: c.Version, Host: s.str(c.Host), Port: c.Port, ClientID: s.str(c.ClientID),
			Keepalive: c.Keepalive, CleanStart: b2u8(c.CleanStart),
		}
		if c.UseLogin {
			req.Authentication = abi.MQTTAuthentication{
				Method:           abi.MQTTAuthenticationMethodUsernamePassword,
				UsernamePassword: abi.UsernamePassword{Username: s.str(c.Username), Password: s.sized(c.Password)},
			}
		}
		if c.TLS != nil {
			creds := abi.TLSCredentials{
				CACert:     s.chain(d, c.TLS.CACerts),
				ClientCert: abi.OwnTLSCertificateChain{Chain: s.chain(d, c.TLS.ClientCert), Key: s.sized(c.TLS.ClientKey)},
			}
			req.TLSCredentials = s.alloc(uint64(d.ABI.Struct("MvTlsCredentials").Size()))
			_ = d.ABI.WriteTLSCredentials(d.Arena, req.TLSCredentials, creds)
		}
		if c.Will != nil {
			req.Will = s.alloc(uint64(d.ABI.Struct("MvMqttWill").Size()))
			_ = d.ABI.WriteMQTTWill(d.Arena, req.Will, abi.MQTTWill{
				Topic: s.str(c.Will.Topic), Payload: s.sized(c.Will.Payload), QoS: c.Will.QoS, Retain: b2u8(c.Will.Retain),
			})
		}
		rp := s.alloc(uint64(d.ABI.Struct("MvMqttConnectRequest").Size()))
		_ = d.ABI.WriteMQTTConnectRequest(d.Arena, rp, req)
		return d.call("mvMqttRequestConnect", func() abi.Status { return d.Kernel.MQTTRequestConnect(ch.Handle, rp) }, nil,
			func() string {
				return fmt.Sprintf("handle=%#x %s %s:%d client_id=%q tls=%v", ch.Handle, c.Version, c.Host, c.Port, c.ClientID, c.TLS != nil)
			})
	})
}

// MQTTGetNextReadableDataType is mvMqttGetNextReadableDataType.
func (d *Device) MQTTGetNextReadableDataType(ch *Channel) (abi.MQTTReadableDataType, abi.Status) {
	var v uint32
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(4)
		st := d.call("mvMqttGetNextReadableDataType", func() abi.Status { return d.Kernel.MQTTGetNextReadableDataType(ch.Handle, p) },
			func() string { return "type=" + abi.MQTTReadableDataType(d.loadU32(p)).String() }, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v = d.loadU32(p)
		return st
	})
	return abi.MQTTReadableDataType(v), st
}

// MQTTReadConnectResponse is mvMqttReadConnectResponse.
func (d *Device) MQTTReadConnectResponse(ch *Channel) (abi.MQTTConnectResponse, abi.Status) {
	var v abi.MQTTConnectResponse
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(d.ABI.Struct("MvMqttConnectResponse").Size()))
		st := d.call("mvMqttReadConnectResponse", func() abi.Status { return d.Kernel.MQTTReadConnectResponse(ch.Handle, p) },
			func() string {
				r, _ := d.ABI.ReadMQTTConnectResponse(d.Arena, p)
				return fmt.Sprintf("state=%s reason=%#x", r.RequestState, r.ReasonCode)
			}, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v, _ = d.ABI.ReadMQTTConnectResponse(d.Arena, p)
		return st
	})
	return v, st
}

// MQTTSubscription is one topic of a subscribe request.
type MQTTSubscription struct {
	Topic        string
	QoS          uint32
	NoLocal      bool
	RetainAsPub  bool
	RetainHandle uint32
}

// MQTTRequestSubscribe is mvMqttRequestSubscribe.
func (d *Device) MQTTRequestSubscribe(ch *Channel, corr uint32, subs []MQTTSubscription) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		vs := make([]abi.MQTTSubscription, len(subs))
		for i, sub := range subs {
			vs[i] = abi.MQTTSubscription{Topic: s.str(sub.Topic), DesiredQoS: sub.QoS, NL: uint32(b2u8(sub.NoLocal)),
				RAP: uint32(b2u8(sub.RetainAsPub)), RH: sub.RetainHandle}
		}
		arr := s.alloc(uint64(len(vs)) * uint64(d.ABI.Struct("MvMqttSubscription").Size()))
		_ = d.ABI.WriteMQTTSubscriptions(d.Arena, arr, vs)
		rp := s.alloc(uint64(d.ABI.Struct("MvMqttSubscribeRequest").Size()))
		_ = d.ABI.WriteMQTTSubscribeRequest(d.Arena, rp, abi.MQTTSubscribeRequest{CorrelationID: corr, Subscriptions: arr, NumSubscriptions: uint32(len(vs))})
		return d.call("mvMqttRequestSubscribe", func() abi.Status { return d.Kernel.MQTTRequestSubscribe(ch.Handle, rp) }, nil,
			func() string {
				return fmt.Sprintf("handle=%#x correlation_id=%d topics=%d", ch.Handle, corr, len(subs))
			})
	})
}

// MQTTRequestUnsubscribe is mvMqttRequestUnsubscribe.
func (d *Device) MQTTRequestUnsubscribe(ch *Channel, corr uint32, topics []string) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		strs := make([]abi.SizedString, len(topics))
		for i, t := range topics {
			strs[i] = s.str(t)
		}
		arr := s.alloc(uint64(len(strs)) * uint64(d.ABI.Struct("MvSizedString").Size()))
		_ = d.ABI.WriteSizedStrings(d.Arena, arr, strs)
		rp := s.alloc(uint64(d.ABI.Struct("MvMqttUnsubscribeRequest").Size()))
		_ = d.ABI.WriteMQTTUnsubscribeRequest(d.Arena, rp, abi.MQTTUnsubscribeRequest{CorrelationID: corr, Topics: arr, NumTopics: uint32(len(strs))})
		return d.call("mvMqttRequestUnsubscribe", func() abi.Status { return d.Kernel.MQTTRequestUnsubscribe(ch.Handle, rp) }, nil,
			func() string {
				return fmt.Sprintf("handle=%#x correlation_id=%d topics=%d", ch.Handle, corr, len(topics))
			})
	})
}

// MQTTCodesResponse is a subscribe or unsubscribe response.
type MQTTCodesResponse struct {
	State         abi.MQTTRequestState
	CorrelationID uint32
	ReasonCodes   []uint32
}

func (d *Device) readCodes(name string, ch *Channel, size uint32,
	read func(h uint32, p mem.Addr) abi.Status) (MQTTCodesResponse, abi.Status) {
	var v MQTTCodesResponse
	st, _ := d.with(func(s *scratch) abi.Status {
		state, corr, n := s.alloc(4), s.alloc(4), s.alloc(4)
		codes := s.alloc(uint64(size) * 4)
		rp := s.alloc(uint64(d.ABI.Struct("MvMqttSubscribeResponse").Size()))
		_ = d.ABI.WriteMQTTSubscribeResponse(d.Arena, rp, abi.MQTTSubscribeResponse{
			RequestState: state, CorrelationID: corr, ReasonCodes: codes, ReasonCodesSize: size, ReasonCodesLen: n,
		})
		st := d.call(name, func() abi.Status { return read(ch.Handle, rp) }, func() string {
			return fmt.Sprintf("state=%s correlation_id=%d codes=%d", abi.MQTTRequestState(d.loadU32(state)), d.loadU32(corr), d.loadU32(n))
		}, func() string { return fmt.Sprintf("handle=%#x reason_codes_size=%d", ch.Handle, size) })
		if st == abi.StatusOkay {
			v.State, v.CorrelationID = abi.MQTTRequestState(d.loadU32(state)), d.loadU32(corr)
			for i := range min(d.loadU32(n), size) {
				v.ReasonCodes = append(v.ReasonCodes, d.loadU32(codes+mem.Addr(4*i)))
			}
		}
		return st
	})
	return v, st
}

// MQTTReadSubscribeResponse is mvMqttReadSubscribeResponse with room for
// size reason codes.
func (d *Device) MQTTReadSubscribeResponse(ch *Channel, size uint32) (MQTTCodesResponse, abi.Status) {
	return d.readCodes("mvMqttReadSubscribeResponse", ch, size, d.Kernel.MQTTReadSubscribeResponse)
}

// MQTTReadUnsubscribeResponse is mvMqttReadUnsubscribeResponse.
func (d *Device) MQTTReadUnsubscribeResponse(ch *Channel, size uint32) (MQTTCodesResponse, abi.Status) {
	return d.readCodes("mvMqttReadUnsubscribeResponse", ch, size, d.Kernel.MQTTReadUnsubscribeResponse)
}

// MQTTRequestPublish is mvMqttRequestPublish.
func (d *Device) MQTTRequestPublish(ch *Channel, corr uint32, topic string, payload []byte, qos uint32, retain bool) (abi.Status, error) {
	return d.with(func(s *scratch) abi.Status {
		rp := s.alloc(uint64(d.ABI.Struct("MvMqttPublishRequest").Size()))
		_ = d.ABI.WriteMQTTPublishRequest(d.Arena, rp, abi.MQTTPublishRequest{
			CorrelationID: corr, Topic: s.str(topic), Payload: s.sized(payload), DesiredQoS: qos, Retain: uint32(b2u8(retain)),
		})
		return d.call("mvMqttRequestPublish", func() abi.Status { return d.Kernel.MQTTRequestPublish(ch.Handle, rp) }, nil,
			func() string {
				return fmt.Sprintf("handle=%#x correlation_id=%d topic=%q payload=%d qos=%d retain=%v", ch.Handle, corr, topic, len(payload), qos, retain)
			})
	})
}

// MQTTReadPublishResponse is mvMqttReadPublishResponse.
func (d *Device) MQTTReadPublishResponse(ch *Channel) (abi.MQTTPublishResponse, abi.Status) {
	var v abi.MQTTPublishResponse
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(d.ABI.Struct("MvMqttPublishResponse").Size()))
		st := d.call("mvMqttReadPublishResponse", func() abi.Status { return d.Kernel.MQTTReadPublishResponse(ch.Handle, p) },
			func() string {
				r, _ := d.ABI.ReadMQTTPublishResponse(d.Arena, p)
				return fmt.Sprintf("state=%s correlation_id=%d reason=%#x", r.RequestState, r.CorrelationID, r.ReasonCode)
			}, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v, _ = d.ABI.ReadMQTTPublishResponse(d.Arena, p)
		return st
	})
	return v, st
}

// MQTTMessage is a received message.
type MQTTMessage struct {
	CorrelationID uint32 // acknowledge QoS 1 messages with it
	Topic         string
	Payload       []byte
	QoS           uint32
	Retain        bool
}

// MQTTReceiveMessage is mvMqttReceiveMessage with buffers of topicSize and
// payloadSize bytes.
func (d *Device) MQTTReceiveMessage(ch *Channel, topicSize, payloadSize uint32) (MQTTMessage, abi.Status) {
	var v MQTTMessage
	st, _ := d.with(func(s *scratch) abi.Status {
		corr, qos, retain := s.alloc(4), s.alloc(4), s.alloc(4)
		topic, topicLen := s.alloc(uint64(topicSize)), s.alloc(4)
		payload, payloadLen := s.alloc(uint64(payloadSize)), s.alloc(4)
		mp := s.alloc(uint64(d.ABI.Struct("MvMqttMessage").Size()))
		_ = d.ABI.WriteMQTTMessage(d.Arena, mp, abi.MQTTMessage{
			CorrelationID: corr, QoS: qos, Retain: retain,
			Topic:   abi.SizedStringBuffer{Data: topic, Size: topicSize, Length: topicLen},
			Payload: abi.SizedStringBuffer{Data: payload, Size: payloadSize, Length: payloadLen},
		})
		st := d.call("mvMqttReceiveMessage", func() abi.Status { return d.Kernel.MQTTReceiveMessage(ch.Handle, mp) },
			func() string {
				return fmt.Sprintf("correlation_id=%d topic_len=%d payload_len=%d qos=%d", d.loadU32(corr), d.loadU32(topicLen), d.loadU32(payloadLen), d.loadU32(qos))
			}, func() string {
				return fmt.Sprintf("handle=%#x topic_size=%d payload_size=%d", ch.Handle, topicSize, payloadSize)
			})
		if st == abi.StatusOkay {
			t := make([]byte, min(d.loadU32(topicLen), topicSize))
			_ = d.Arena.Load(t, topic)
			pl := make([]byte, min(d.loadU32(payloadLen), payloadSize))
			_ = d.Arena.Load(pl, payload)
			var r [1]byte
			_ = d.Arena.Load(r[:], retain)
			v = MQTTMessage{CorrelationID: d.loadU32(corr), Topic: string(t), Payload: pl, QoS: d.loadU32(qos), Retain: r[0] != 0}
		}
		return st
	})
	return v, st
}

// MQTTLostMessage is what MQTTReceiveLostMessageInfo reports.
type MQTTLostMessage struct {
	Reason     abi.MQTTLostMessageReason
	Topic      string
	MessageLen uint32
}

// MQTTReceiveLostMessageInfo is mvMqttReceiveLostMessageInfo.
func (d *Device) MQTTReceiveLostMessageInfo(ch *Channel, topicSize uint32) (MQTTLostMessage, abi.Status) {
	var v MQTTLostMessage
	st, _ := d.with(func(s *scratch) abi.Status {
		reason, msgLen := s.alloc(4), s.alloc(4)
		topic, topicLen := s.alloc(uint64(topicSize)), s.alloc(4)
		ip := s.alloc(uint64(d.ABI.Struct("MvMqttLostMessageInfo").Size()))
		_ = d.ABI.WriteMQTTLostMessageInfo(d.Arena, ip, abi.MQTTLostMessageInfo{
			Reason: reason, MessageLen: msgLen, Topic: abi.SizedStringBuffer{Data: topic, Size: topicSize, Length: topicLen},
		})
		st := d.call("mvMqttReceiveLostMessageInfo", func() abi.Status { return d.Kernel.MQTTReceiveLostMessageInfo(ch.Handle, ip) },
			func() string { return fmt.Sprintf("message_len=%d", d.loadU32(msgLen)) }, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		if st == abi.StatusOkay {
			t := make([]byte, min(d.loadU32(topicLen), topicSize))
			_ = d.Arena.Load(t, topic)
			v = MQTTLostMessage{Reason: abi.MQTTLostMessageReason(d.loadU32(reason)), Topic: string(t), MessageLen: d.loadU32(msgLen)}
		}
		return st
	})
	return v, st
}

// MQTTAcknowledgeMessage is mvMqttAcknowledgeMessage.
func (d *Device) MQTTAcknowledgeMessage(ch *Channel, corr uint32) abi.Status {
	return d.call("mvMqttAcknowledgeMessage", func() abi.Status { return d.Kernel.MQTTAcknowledgeMessage(ch.Handle, corr) }, nil,
		func() string { return fmt.Sprintf("handle=%#x correlation_id=%d", ch.Handle, corr) })
}

// MQTTRequestDisconnect is mvMqttRequestDisconnect.
func (d *Device) MQTTRequestDisconnect(ch *Channel) abi.Status {
	return d.call("mvMqttRequestDisconnect", func() abi.Status { return d.Kernel.MQTTRequestDisconnect(ch.Handle) }, nil, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
}

// MQTTReadDisconnectResponse is mvMqttReadDisconnectResponse.
func (d *Device) MQTTReadDisconnectResponse(ch *Channel) (abi.MQTTDisconnectResponse, abi.Status) {
	var v abi.MQTTDisconnectResponse
	st, _ := d.with(func(s *scratch) abi.Status {
		p := s.alloc(uint64(d.ABI.Struct("MvMqttDisconnectResponse").Size()))
		st := d.call("mvMqttReadDisconnectResponse", func() abi.Status { return d.Kernel.MQTTReadDisconnectResponse(ch.Handle, p) },
			func() string {
				r, _ := d.ABI.ReadMQTTDisconnectResponse(d.Arena, p)
				return fmt.Sprintf("state=%s code=%#x", r.RequestState, r.DisconnectCode)
			}, func() string { return fmt.Sprintf("handle=%#x", ch.Handle) })
		v, _ = d.ABI.ReadMQTTDisconnectResponse(d.Arena, p)
		return st
	})
	return v, st
}
