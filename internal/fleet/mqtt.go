package fleet

import (
	"context"
	"fmt"
	"sync"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// mqttTag tags the MQTT channel's notifications on the device's centre
// ("MQTT"; the device API's own tags count up from "NET").
const mqttTag = 0x4d515454

// mqttSession is a device's MQTT channel, connected to the broker; one
// request at a time.
type mqttSession struct {
	d  *device.Device
	c  *device.Centre
	ch *device.Channel

	mu   sync.Mutex
	corr uint32
}

// mqttConnect opens an MQTT channel and connects it to o.Broker (MQTT 5,
// clean start), as an application would.
func (m *member) mqttConnect(ctx context.Context, o *Options) (*mqttSession, error) {
	host, port, err := splitBroker(o.Broker)
	if err != nil {
		return nil, err
	}
	d := m.d
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: m.n.Centre, Tag: mqttTag, Network: m.n.Handle,
		Type: abi.ChannelTypeMQTT, RxSize: mqttBufSize, TxSize: mqttBufSize})
	if err := statusErr("mvOpenChannel", st, err); err != nil {
		return nil, err
	}
	s := &mqttSession{d: d, c: m.n.Centre, ch: ch}
	req := device.MQTTConnect{Version: abi.MQTTProtocolVersionV5, Host: host, Port: port,
		ClientID: "mvnet-fleet-" + m.b.DeviceSid, Keepalive: 60, CleanStart: true}
	if o.BrokerCA != nil {
		req.TLS = &device.MQTTTLS{CACerts: [][]byte{o.BrokerCA}}
	}
	st, err = d.MQTTRequestConnect(ch, req)
	if err := statusErr("mvMqttRequestConnect", st, err); err != nil {
		d.CloseChannel(ch)
		return nil, err
	}
	if err := s.next(ctx, abi.MQTTReadableDataTypeConnectResponse); err != nil {
		d.CloseChannel(ch)
		return nil, err
	}
	cr, st := d.MQTTReadConnectResponse(ch)
	if err := statusErr("mvMqttReadConnectResponse", st, nil); err != nil {
		d.CloseChannel(ch)
		return nil, err
	}
	if err := requestErr(cr.RequestState, cr.ReasonCode); err != nil {
		d.CloseChannel(ch)
		return nil, err
	}
	return s, nil
}

// publish sends one QoS 1 message and waits for the broker's PUBACK.
func (s *mqttSession) publish(ctx context.Context, topic string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corr++
	st, err := s.d.MQTTRequestPublish(s.ch, s.corr, topic, payload, 1, false)
	if err := statusErr("mvMqttRequestPublish", st, err); err != nil {
		return err
	}
	if err := s.next(ctx, abi.MQTTReadableDataTypePublishResponse); err != nil {
		return err
	}
	pr, st := s.d.MQTTReadPublishResponse(s.ch)
	if err := statusErr("mvMqttReadPublishResponse", st, nil); err != nil {
		return err
	}
	return requestErr(pr.RequestState, pr.ReasonCode)
}

// requestErr is nil for a completed request with a success reason code
// (below 0x80, MQTT 5 §2.4), else the state or the reason.
func requestErr(state abi.MQTTRequestState, reason uint32) error {
	if state != abi.MQTTRequestStateRequestCompleted {
		return keyed(state.String())
	}
	if reason >= 0x80 {
		return keyed(fmt.Sprintf("MQTT reason %#x", reason))
	}
	return nil
}

// next waits until the channel's next readable item is want.
func (s *mqttSession) next(ctx context.Context, want abi.MQTTReadableDataType) error {
	for {
		t, st := s.d.MQTTGetNextReadableDataType(s.ch)
		if err := statusErr("mvMqttGetNextReadableDataType", st, nil); err != nil {
			return err
		}
		if t == want {
			return nil
		}
		if t != abi.MQTTReadableDataTypeNone {
			return keyed(fmt.Sprintf("unexpected %s on the MQTT channel", t))
		}
		n, err := s.c.WaitTag(ctx, mqttTag)
		if err != nil {
			return err
		}
		if n.EventType == abi.EventTypeChannelNotConnected {
			r, _ := s.d.GetChannelClosureReason(s.ch)
			return keyed("MQTT channel not connected: " + r.String())
		}
	}
}
