package mqttbridge_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

func TestSubscribeDeniedTopic(t *testing.T) {
	// Mosquitto 2.0's acl_file never refuses a SUBSCRIBE (it filters on
	// delivery); its dynamic security plugin does, per topic.
	mosquitto.RequireDynSec(t)
	br := mosquitto.Start(t, mosquitto.Options{DynSec: &mosquitto.DynSec{
		Users: map[string]string{"alice": "pw"},
		ACLs: []mosquitto.ACL{
			{Type: "subscribePattern", Topic: "allowed/#", Allow: true},
			{Type: "subscribePattern", Topic: "denied/#", Allow: false},
		},
	}})
	// Per-topic codes: granted QoS 1, granted QoS 0, refused (3.1.1: 0x80
	// failure; v5: 0x87 not authorized), refused by default.
	want := map[abi.MQTTProtocolVersion][]uint8{0: {1, 0, 0x80, 0x80}, 1: {1, 0, 0x87, 0x87}}
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sub, pub := newClient(t, mqttbridge.Options{}), newClient(t, mqttbridge.Options{})
			for _, c := range []*client{sub, pub} {
				p := params(br, v.v, fmt.Sprintf("acl-%p", c))
				p.Auth, p.Username, p.Password = abi.MQTTAuthenticationMethodUsernamePassword, "alice", []byte("pw")
				c.mustConnect(p)
			}
			got := sub.subscribe(
				mqttbridge.Subscription{Topic: "allowed/a", QoS: 1},
				mqttbridge.Subscription{Topic: "allowed/b", QoS: 0},
				mqttbridge.Subscription{Topic: "denied/c", QoS: 1},
				mqttbridge.Subscription{Topic: "elsewhere", QoS: 1},
			)
			if !slices.Equal(got, want[v.v]) {
				t.Fatalf("SUBACK codes %#x, want %#x", got, want[v.v])
			}
			pub.mustPublish("denied/c", "not delivered", 1, false)
			pub.mustPublish("allowed/a", "delivered", 1, false)
			if m := sub.msg(); m.Topic != "allowed/a" {
				t.Fatalf("got a message on %q", m.Topic)
			}
		})
	}
}

func TestPublishDenied(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{
		Users: map[string]string{"alice": "pw"},
		ACL:   "user alice\ntopic readwrite allowed/#\ntopic read readonly/#\n",
	})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			c := newClient(t, mqttbridge.Options{})
			p := params(br, v.v, "acl-pub")
			p.Auth, p.Username, p.Password = abi.MQTTAuthenticationMethodUsernamePassword, "alice", []byte("pw")
			c.mustConnect(p)
			// Publishing where the ACL forbids it: v5 says so in PUBACK
			// (0x87 not authorized); 3.1.1 has no way to, and Mosquitto
			// acknowledges and drops the message.
			r := c.publish("readonly/b", "x", 1, false)
			wantReason := map[abi.MQTTProtocolVersion]uint32{0: 0, 1: 0x87}[v.v]
			if r.State != abi.MQTTRequestStateRequestCompleted || r.Reason != wantReason {
				t.Fatalf("publish to a read-only topic: %v reason %#x, want reason %#x", r.State, r.Reason, wantReason)
			}
			c.mustPublish("allowed/x", "x", 1, false)
		})
	}
}

func TestSubscribeInvalid(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	c := newClient(t, mqttbridge.Options{})
	c.mustConnect(params(br, abi.MQTTProtocolVersionV5, "invalid"))
	for name, subs := range map[string][]mqttbridge.Subscription{
		"none":          nil,
		"QoS 2":         {{Topic: "a", QoS: 2}},
		"bad wildcard":  {{Topic: "a/b#"}},
		"bad plus":      {{Topic: "a+/b"}},
		"empty":         {{Topic: ""}},
		"rh 3":          {{Topic: "a", RetainHandling: 3}},
		"shared nl":     {{Topic: "$share/g/a", NoLocal: true}},
		"one bad of 2":  {{Topic: "ok"}, {Topic: "no", QoS: 2}},
		"hash not last": {{Topic: "#/a"}},
	} {
		c.b.Subscribe(7, subs)
		if r := c.result(mqttbridge.KindSubscribe); r.State != abi.MQTTRequestStateInvalidParameters || r.Corr != 7 {
			t.Errorf("%s: %v corr %d, want INVALIDPARAMETERS corr 7", name, r.State, r.Corr)
		}
	}
	c.b.Unsubscribe(8, nil)
	if r := c.result(mqttbridge.KindUnsubscribe); r.State != abi.MQTTRequestStateInvalidParameters {
		t.Errorf("unsubscribe nothing: %v", r.State)
	}
	for _, tc := range []struct {
		topic string
		qos   uint8
	}{{"a", 2}, {"a/#", 0}, {"a/+", 1}, {"", 0}} {
		if r := c.publish(tc.topic, "x", tc.qos, false); r.State != abi.MQTTRequestStateInvalidParameters {
			t.Errorf("publish %q QoS %d: %v, want INVALIDPARAMETERS", tc.topic, tc.qos, r.State)
		}
	}
	// Still connected and working.
	c.subscribe(mqttbridge.Subscription{Topic: "a"})
}

func TestPublishAndReceive(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sub, pub := pair(t, br, v.v)
			if got := sub.subscribe(mqttbridge.Subscription{Topic: "pr/0", QoS: 0}, mqttbridge.Subscription{Topic: "pr/1", QoS: 1}); !slices.Equal(got, []uint8{0, 1}) {
				t.Fatalf("SUBACK %v", got)
			}
			pub.mustPublish("pr/0", "zero", 0, false)
			pub.mustPublish("pr/1", "one", 1, false)
			m0, m1 := sub.msg(), sub.msg()
			if m0.Topic != "pr/0" || string(m0.Payload) != "zero" || m0.QoS != 0 || m0.Retain || m0.Size != 4 {
				t.Errorf("QoS 0 message %+v", m0)
			}
			if m1.Topic != "pr/1" || string(m1.Payload) != "one" || m1.QoS != 1 || m1.ID == m0.ID {
				t.Errorf("QoS 1 message %+v", m1)
			}
			if err := sub.b.Ack(m1.ID); err != nil {
				t.Fatal(err)
			}
			if err := sub.b.Ack(m1.ID); err == nil {
				t.Error("acknowledging twice succeeded")
			}
			if err := sub.b.Ack(m0.ID); err == nil {
				t.Error("acknowledging a QoS 0 message succeeded")
			}
			// A QoS 1 subscription receives QoS 0 publishes at QoS 0, and
			// a QoS 0 subscription downgrades QoS 1.
			pub.mustPublish("pr/1", "down", 0, false)
			pub.mustPublish("pr/0", "up", 1, false)
			if a, b := sub.msg(), sub.msg(); a.QoS != 0 || b.QoS != 0 {
				t.Errorf("QoS %d and %d, want 0 and 0", a.QoS, b.QoS)
			}
			// Many publishes in flight, results by correlation ID.
			const n = 200
			for i := range n {
				pub.b.Publish(uint32(1000+i), "pr/1", []byte(fmt.Sprint(i)), uint8(i%2), false)
			}
			seen := map[uint32]bool{}
			for range n {
				r := pub.result(mqttbridge.KindPublish)
				if r.State != abi.MQTTRequestStateRequestCompleted || seen[r.Corr] {
					t.Fatalf("publish result %+v (duplicate %v)", r, seen[r.Corr])
				}
				seen[r.Corr] = true
			}
			// MQTT orders messages per QoS level: Mosquitto holds QoS 1
			// messages beyond its in-flight window (20) while QoS 0 ones
			// pass.
			next := [2]int{0, 1}
			for range n {
				m := sub.msg()
				if string(m.Payload) != fmt.Sprint(next[m.QoS]) {
					t.Fatalf("QoS %d message %q, want %d", m.QoS, m.Payload, next[m.QoS])
				}
				next[m.QoS] += 2
				if m.QoS == 1 {
					if err := sub.b.Ack(m.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			eventually(t, "all acknowledged", func() bool { return sub.b.Stats().Unacked == 0 })
		})
	}
}

func TestUnsubscribe(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	// 3.1.1 UNSUBACK has no codes (0 per topic); v5 says 0x11 "no
	// subscription existed" for a topic that had none.
	want := map[abi.MQTTProtocolVersion][]uint8{0: {0, 0}, 1: {0, 0x11}}
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sub, pub := pair(t, br, v.v)
			sub.subscribe(mqttbridge.Subscription{Topic: "un/a", QoS: 1})
			sub.b.Unsubscribe(42, []string{"un/a", "un/never"})
			r := sub.result(mqttbridge.KindUnsubscribe)
			if r.State != abi.MQTTRequestStateRequestCompleted || r.Corr != 42 || !slices.Equal(r.Reasons, want[v.v]) {
				t.Fatalf("unsubscribe: %+v, want codes %#x", r, want[v.v])
			}
			pub.mustPublish("un/a", "gone", 1, false)
			sub.noMsg(200 * time.Millisecond)
		})
	}
}

func TestRetained(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			topic := "ret/" + v.name
			sub, pub := pair(t, br, v.v)
			pub.mustPublish(topic, "kept", 1, true)
			sub.subscribe(mqttbridge.Subscription{Topic: topic, QoS: 1})
			m := sub.msg()
			if !m.Retain || string(m.Payload) != "kept" {
				t.Fatalf("retained message %+v", m)
			}
			pub.mustPublish(topic, "live", 1, true)
			if m := sub.msg(); m.Retain || string(m.Payload) != "live" {
				t.Fatalf("live message %+v: retain must be clear for a live delivery", m)
			}
			pub.mustPublish(topic, "", 1, true) // clears the retained message
		})
	}
}

func TestSubscriptionOptionsV5(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	v5 := abi.MQTTProtocolVersionV5
	t.Run("no local", func(t *testing.T) {
		c := newClient(t, mqttbridge.Options{})
		c.mustConnect(params(br, v5, "nl"))
		c.subscribe(mqttbridge.Subscription{Topic: "nl/own", QoS: 1, NoLocal: true}, mqttbridge.Subscription{Topic: "nl/echo", QoS: 1})
		c.mustPublish("nl/own", "not for me", 1, false)
		c.mustPublish("nl/echo", "for me", 1, false)
		if m := c.msg(); m.Topic != "nl/echo" {
			t.Fatalf("got %q on %q: no-local not applied", m.Payload, m.Topic)
		}
	})
	t.Run("retain as published", func(t *testing.T) {
		sub, pub := pair(t, br, v5)
		sub.subscribe(mqttbridge.Subscription{Topic: "rap/t", QoS: 1, RetainAsPublished: true})
		pub.mustPublish("rap/t", "r", 1, true)
		if m := sub.msg(); !m.Retain {
			t.Fatal("retain flag cleared despite retain-as-published")
		}
		pub.mustPublish("rap/t", "", 1, true)
	})
	t.Run("retain handling", func(t *testing.T) {
		sub, pub := pair(t, br, v5)
		pub.mustPublish("rh/t", "retained", 1, true)
		// rh 2: no retained messages on subscribing.
		sub.subscribe(mqttbridge.Subscription{Topic: "rh/t", QoS: 1, RetainHandling: 2})
		pub.mustPublish("rh/t", "live", 1, false)
		if m := sub.msg(); string(m.Payload) != "live" {
			t.Fatalf("got %q first: retain handling 2 not applied", m.Payload)
		}
		// rh 1: retained messages only for a new subscription.
		sub.subscribe(mqttbridge.Subscription{Topic: "rh/+", QoS: 1, RetainHandling: 1})
		if m := sub.msg(); string(m.Payload) != "retained" || !m.Retain {
			t.Fatalf("new subscription with rh 1: got %+v, want the retained message", m)
		}
		sub.subscribe(mqttbridge.Subscription{Topic: "rh/+", QoS: 1, RetainHandling: 1})
		sub.noMsg(200 * time.Millisecond)
		pub.mustPublish("rh/t", "", 1, true)
	})
}

func TestOversizeMessage(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			sub := newClient(t, mqttbridge.Options{MaxPayload: 100})
			pub := newClient(t, mqttbridge.Options{})
			sub.mustConnect(params(br, v.v, "big-sub"))
			pub.mustConnect(params(br, v.v, "big-pub"))
			sub.subscribe(mqttbridge.Subscription{Topic: "big/#", QoS: 1})
			for _, size := range []int{100, 101, 300 << 10} {
				pub.mustPublish(fmt.Sprintf("big/%d", size), strings.Repeat("x", size), 1, false)
				m := sub.msg()
				if m.Size != size || m.Oversize != (size > 100) || (m.Oversize && m.Payload != nil) || (!m.Oversize && len(m.Payload) != size) {
					t.Fatalf("size %d: got Size %d Oversize %v payload %d bytes", size, m.Size, m.Oversize, len(m.Payload))
				}
				if !m.Oversize {
					if err := sub.b.Ack(m.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The bridge acknowledged the oversize ones itself.
			eventually(t, "all acknowledged", func() bool { return sub.b.Stats().Unacked == 0 })
		})
	}
}

func TestFlowControl(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	sub, pub := pair(t, br, abi.MQTTProtocolVersionV5)
	sub.subscribe(mqttbridge.Subscription{Topic: "fc/t", QoS: 1})
	sub.refuse.Store(true)
	for i := range 20 {
		pub.mustPublish("fc/t", fmt.Sprint(i), 1, false)
	}
	eventually(t, "20 waiting", func() bool { return sub.b.Stats().Waiting == 20 })
	offers := sub.offers.Load()
	if offers != 1 {
		t.Fatalf("OnMessage called %d times while refusing, want 1 (then wait for Resume)", offers)
	}
	// Results are not held up by refused messages.
	sub.b.Unsubscribe(5, []string{"fc/none"})
	if r := sub.result(mqttbridge.KindUnsubscribe); r.State != abi.MQTTRequestStateRequestCompleted {
		t.Fatal(r.State)
	}
	sub.refuse.Store(false)
	sub.b.Resume()
	for i := range 20 {
		m := sub.msg()
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
		if err := sub.b.Ack(m.ID); err != nil {
			t.Fatal(err)
		}
	}
	if st := sub.b.Stats(); st.Waiting != 0 || st.WaitingBytes != 0 {
		t.Fatalf("stats after draining: %+v", st)
	}
}

// Resume reports whether a message waits to be offered: none once
// Disconnect has dropped those refused (a caller that holds something
// until the next offer would otherwise wait for good).
func TestResumeReports(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	sub, pub := pair(t, br, abi.MQTTProtocolVersionV5)
	sub.subscribe(mqttbridge.Subscription{Topic: "rr/t"})
	if sub.b.Resume() {
		t.Fatal("Resume with no message waiting reported one")
	}
	sub.refuse.Store(true)
	pub.mustPublish("rr/t", "1", 0, false)
	eventually(t, "offered and refused", func() bool { return sub.offers.Load() == 1 })
	if !sub.b.Resume() {
		t.Fatal("Resume with a message waiting reported none")
	}
	eventually(t, "offered again", func() bool { return sub.offers.Load() == 2 })
	sub.b.Disconnect()
	if sub.b.Resume() {
		t.Fatal("Resume after Disconnect dropped the message reported one")
	}
}
