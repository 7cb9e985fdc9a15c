package demo

import (
	"context"
	"fmt"
	"net"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// The MQTT part of the demo: the device connects to an embedded broker
// through the cloud, subscribes, publishes to itself, receives and
// acknowledges the message, unsubscribes and disconnects.

const (
	irqTIM2  = 45 // TIM2_IRQn
	tagMQNet = 0x0011
	tagMQTT  = 0x0012
)

const (
	demoTopic   = "mvnet/demo/hello"
	demoFilter  = "mvnet/demo/#"
	demoPayload = "Hello from a Microvisor device, via the cloud and back"
)

// mqttFlow runs the MQTT sequence against the broker at addr.
func mqttFlow(ctx context.Context, d *device.Device, addr *net.TCPAddr, p *printer) error {
	must := func(what string, st abi.Status) error {
		if st != abi.StatusOkay {
			return fmt.Errorf("%s returned %s", what, st)
		}
		return nil
	}
	p.step("MQTT: notification centre on IRQ %d (TIM2), network, MQTT channel", irqTIM2)
	c, st, err := d.SetupNotifications(irqTIM2, 32)
	if err != nil {
		return err
	}
	if err := must("mvSetupNotifications", st); err != nil {
		return err
	}
	nh, st := d.RequestNetwork(c, tagMQNet)
	if err := must("mvRequestNetwork", st); err != nil {
		return err
	}
	for {
		ns, st := d.GetNetworkStatus(nh)
		if err := must("mvGetNetworkStatus", st); err != nil {
			return err
		}
		if ns == abi.NetworkStatusConnected {
			break
		}
		if _, err := c.WaitFor(ctx, tagMQNet, abi.EventTypeNetworkStatusChanged); err != nil {
			return err
		}
	}
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: c, Tag: tagMQTT, Network: nh, Type: abi.ChannelTypeMQTT, RxSize: 4096, TxSize: 4096})
	if err != nil {
		return err
	}
	if err := must("mvOpenChannel", st); err != nil {
		return err
	}
	// next waits for the channel's next readable item of kind want.
	next := func(want abi.MQTTReadableDataType) error {
		for {
			t, st := d.MQTTGetNextReadableDataType(ch)
			if err := must("mvMqttGetNextReadableDataType", st); err != nil {
				return err
			}
			if t == want {
				return nil
			}
			if t != abi.MQTTReadableDataTypeNone {
				return fmt.Errorf("expected %s, the channel has %s", want, t)
			}
			n, err := c.WaitTag(ctx, tagMQTT)
			if err != nil {
				return err
			}
			if n.EventType == abi.EventTypeChannelNotConnected {
				r, _ := d.GetChannelClosureReason(ch)
				return fmt.Errorf("MQTT channel lost its connection: %s", r)
			}
		}
	}

	p.step("MQTT: connect to the broker at %s (MQTT 5)", addr)
	if st, err := d.MQTTRequestConnect(ch, device.MQTTConnect{
		Version: abi.MQTTProtocolVersionV5, Host: addr.IP.String(), Port: uint16(addr.Port),
		ClientID: "mvnet-demo-" + d.ID()[2:10], Keepalive: 60, CleanStart: true,
	}); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvMqttRequestConnect: %s %v", st, err)
	}
	if err := next(abi.MQTTReadableDataTypeConnectResponse); err != nil {
		return err
	}
	cr, st := d.MQTTReadConnectResponse(ch)
	if err := must("mvMqttReadConnectResponse", st); err != nil {
		return err
	}
	if cr.RequestState != abi.MQTTRequestStateRequestCompleted || cr.ReasonCode != 0 {
		return fmt.Errorf("connect: %s, reason %#x", cr.RequestState, cr.ReasonCode)
	}

	p.step("MQTT: subscribe to %s at QoS 1", demoFilter)
	if st, err := d.MQTTRequestSubscribe(ch, 1, []device.MQTTSubscription{{Topic: demoFilter, QoS: 1}}); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvMqttRequestSubscribe: %s %v", st, err)
	}
	if err := next(abi.MQTTReadableDataTypeSubscribeResponse); err != nil {
		return err
	}
	if _, st := d.MQTTReadSubscribeResponse(ch, 8); st != abi.StatusOkay {
		return must("mvMqttReadSubscribeResponse", st)
	}

	p.step("MQTT: publish to %s at QoS 1, receive it back and acknowledge it", demoTopic)
	if st, err := d.MQTTRequestPublish(ch, 2, demoTopic, []byte(demoPayload), 1, false); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvMqttRequestPublish: %s %v", st, err)
	}
	var msg device.MQTTMessage
	for got := 0; got < 2; got++ {
		// The publish response and the message may arrive in either order.
		t, err := nextAny(d, ch, c, ctx)
		if err != nil {
			return err
		}
		switch t {
		case abi.MQTTReadableDataTypePublishResponse:
			if _, st := d.MQTTReadPublishResponse(ch); st != abi.StatusOkay {
				return must("mvMqttReadPublishResponse", st)
			}
		case abi.MQTTReadableDataTypeMessageReceived:
			m, st := d.MQTTReceiveMessage(ch, 128, 512)
			if err := must("mvMqttReceiveMessage", st); err != nil {
				return err
			}
			msg = m
			if st := d.MQTTAcknowledgeMessage(ch, m.CorrelationID); st != abi.StatusOkay {
				return must("mvMqttAcknowledgeMessage", st)
			}
		default:
			return fmt.Errorf("unexpected %s on the MQTT channel", t)
		}
	}

	p.step("MQTT: unsubscribe, disconnect, close")
	if st, err := d.MQTTRequestUnsubscribe(ch, 3, []string{demoFilter}); err != nil || st != abi.StatusOkay {
		return fmt.Errorf("mvMqttRequestUnsubscribe: %s %v", st, err)
	}
	if err := next(abi.MQTTReadableDataTypeUnsubscribeResponse); err != nil {
		return err
	}
	if _, st := d.MQTTReadUnsubscribeResponse(ch, 8); st != abi.StatusOkay {
		return must("mvMqttReadUnsubscribeResponse", st)
	}
	if st := d.MQTTRequestDisconnect(ch); st != abi.StatusOkay {
		return must("mvMqttRequestDisconnect", st)
	}
	if err := next(abi.MQTTReadableDataTypeDisconnectResponse); err != nil {
		return err
	}
	if _, st := d.MQTTReadDisconnectResponse(ch); st != abi.StatusOkay {
		return must("mvMqttReadDisconnectResponse", st)
	}
	d.CloseChannel(ch)
	d.ReleaseNetwork(nh)
	d.CloseNotifications(c)

	p.say("")
	p.say("MQTT message received: topic %s, QoS %d, %q", msg.Topic, msg.QoS, msg.Payload)
	if msg.Topic != demoTopic || string(msg.Payload) != demoPayload {
		return fmt.Errorf("the message that came back is not the one published")
	}
	return nil
}

// nextAny waits for the channel's next readable item, whatever its kind.
func nextAny(d *device.Device, ch *device.Channel, c *device.Centre, ctx context.Context) (abi.MQTTReadableDataType, error) {
	for {
		t, st := d.MQTTGetNextReadableDataType(ch)
		if st != abi.StatusOkay {
			return 0, fmt.Errorf("mvMqttGetNextReadableDataType returned %s", st)
		}
		if t != abi.MQTTReadableDataTypeNone {
			return t, nil
		}
		n, err := c.WaitTag(ctx, tagMQTT)
		if err != nil {
			return 0, err
		}
		if n.EventType == abi.EventTypeChannelNotConnected {
			r, _ := d.GetChannelClosureReason(ch)
			return 0, fmt.Errorf("MQTT channel lost its connection: %s", r)
		}
	}
}
