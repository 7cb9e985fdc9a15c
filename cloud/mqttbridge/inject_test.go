package mqttbridge_test

import (
	"errors"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

func TestMatchTopic(t *testing.T) {
	for _, c := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/b", "a/c", false},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/+", "a", false},
		{"+/+", "/b", true},
		{"a/#", "a", true}, // the parent level too (MQTT 5 §4.7.1.2)
		{"a/#", "a/b/c", true},
		{"#", "a/b", true},
		{"#", "$SYS/x", false}, // MQTT 5 §4.7.2
		{"+/x", "$SYS/x", false},
		{"$SYS/#", "$SYS/x", true},
		{"$share/g/a/+", "a/b", true},
		{"a/b/", "a/b", false},
	} {
		if got := mqttbridge.MatchTopic(c.filter, c.topic); got != c.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", c.filter, c.topic, got, c.want)
		}
	}
}

// TestInject: an injected message arrives like the broker's, at the
// granted QoS, only while a granted subscription matches; its
// acknowledgement never reaches the broker, and real messages' PUBACKs
// still do.
func TestInject(t *testing.T) {
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range []abi.MQTTProtocolVersion{abi.MQTTProtocolVersionV311, abi.MQTTProtocolVersionV5} {
		w := &wire{}
		c := newClient(t, mqttbridge.Options{Dial: w.dial})
		if ok, err := c.b.Inject("a/b", nil, 0); ok || !errors.Is(err, mqttbridge.ErrNotConnected) {
			t.Fatalf("Inject before connecting: %v %v", ok, err)
		}
		c.mustConnect(params(br, v, "inject"))
		if ok, err := c.b.Inject("a/b", nil, 0); ok || err != nil {
			t.Fatalf("Inject without subscriptions: %v %v", ok, err)
		}
		c.subscribe(mqttbridge.Subscription{Topic: "a/+", QoS: 1})
		if ok, err := c.b.Inject("a/b", []byte("hi"), 1); !ok || err != nil {
			t.Fatalf("Inject: %v %v", ok, err)
		}
		m := c.msg()
		if m.Topic != "a/b" || string(m.Payload) != "hi" || m.QoS != 1 {
			t.Fatalf("message %+v", m)
		}
		if err := c.b.Ack(m.ID); !errors.Is(err, mqttbridge.ErrUnknownMessage) {
			t.Fatalf("Ack of an injected message: %v, want ErrUnknownMessage", err)
		}
		c.mustPublish("a/c", "real", 1, false) // comes back: subscribed
		if m := c.msg(); string(m.Payload) != "real" {
			t.Fatalf("message %+v", m)
		} else if err := c.b.Ack(m.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the real message's PUBACK", func() bool { return len(w.ids(t, v, true, packets.Puback)) > 0 })
		if ids := w.ids(t, v, true, packets.Puback); len(ids) != 1 || ids[0] == 0 {
			t.Fatalf("PUBACKs sent for packet IDs %v, want only the real message's", ids)
		}
		c.b.Unsubscribe(c.corr.Add(1), []string{"a/+"})
		c.result(mqttbridge.KindUnsubscribe)
		if ok, err := c.b.Inject("a/b", nil, 0); ok || err != nil {
			t.Fatalf("Inject after unsubscribing: %v %v", ok, err)
		}
		if ok, err := c.b.Inject("a/+", nil, 0); ok || err == nil {
			t.Fatalf("Inject to a filter: %v %v", ok, err)
		}
		c.b.Close()
	}
}
