package session_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// vitems collects the MQTT items among frames a vdev received on one
// channel.
type vitems struct {
	t   *testing.T
	ch  uint32
	buf []byte
}

// add parses the items in the DATA frames on the channel among fs and
// returns them with the bytes they took.
func (v *vitems) add(fs []link.Frame) (items []link.MQTTItem, n int) {
	v.t.Helper()
	for _, f := range fs {
		if f.Type == link.FrameData && f.Chan == v.ch {
			v.buf = append(v.buf, f.Payload...)
		}
	}
	for {
		it, used, err := link.ParseMQTTItem(v.buf)
		if errors.Is(err, link.ErrShort) {
			return items, n
		}
		if err != nil {
			v.t.Fatalf("malformed item: %v", err)
		}
		items = append(items, it)
		n += used
		v.buf = v.buf[used:]
	}
}

// TestVirtualMQTT: each MQTT request holds the device's clock until its
// response item is queued, so the SYNC after it is answered after the
// item. A message the device has no room for (its receive ring holds an
// unread one) does not hold the clock — the SYNC is answered — and goes
// out on the device's CREDIT, before the SYNCED of the next SYNC.
func TestVirtualMQTT(t *testing.T) {
	mosquitto.Require(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	r := startVirtual(t, session.Config{MQTT: &session.MQTTConfig{Plaintext: true}})
	d := r.dev
	d.Hello(fakedev.ID(1), 0)
	d.FirstSync(0)
	const ch, rx = 1, 512
	d.Send(link.Frame{Type: link.FrameOpen, Chan: ch, ChanType: mqttCh, RxSize: rx, TxSize: 2048})
	items := &vitems{t: t, ch: ch}
	var messages []*link.MQTTMessageItem
	// request sends req and syncs: its response item (and maybe messages)
	// come before SYNCED. The response's bytes are credited back.
	request := func(req []byte, responses int) []link.MQTTItem {
		t.Helper()
		d.Send(link.Frame{Type: link.FrameData, Chan: ch, Payload: req})
		before, _ := d.Sync(0)
		got, _ := items.add(before)
		var resps []link.MQTTItem
		n := 0
		for _, it := range got {
			if m, ok := it.(*link.MQTTMessageItem); ok {
				messages = append(messages, m)
				continue
			}
			resps = append(resps, it)
			n += it.Size()
		}
		if len(resps) != responses {
			t.Fatalf("before SYNCED: %d responses (%s), want %d", len(resps), fakedev.Frames(before), responses)
		}
		d.Send(link.Frame{Type: link.FrameCredit, Chan: ch, Credit: uint32(n)})
		return resps
	}
	conn := request((&link.MQTTConnectRequest{Protocol: 1, CleanStart: true, Port: uint16(br.Port), Host: "127.0.0.1", ClientID: "virtual"}).Append(nil), 1)
	if c, ok := conn[0].(*link.MQTTConnectResponseItem); !ok || c.RequestState != uint32(abi.MQTTRequestStateRequestCompleted) {
		t.Fatalf("connect response %#v", conn[0])
	}
	sub := request((&link.MQTTSubscribeRequest{CorrelationID: 1, Subscriptions: []link.MQTTSubscription{{Topic: "t"}}}).Append(nil), 1)
	if s, ok := sub[0].(*link.MQTTSubscribeResponseItem); !ok || s.RequestState != uint32(abi.MQTTRequestStateRequestCompleted) {
		t.Fatalf("subscribe response %#v", sub[0])
	}
	// Two messages to ourselves, each over half the receive ring: the
	// second waits for the device to read the first.
	p1, p2 := bytes.Repeat([]byte{'1'}, 300), bytes.Repeat([]byte{'2'}, 300)
	var pubs []byte
	pubs = (&link.MQTTPublishRequest{CorrelationID: 2, Topic: "t", Payload: p1}).Append(pubs)
	pubs = (&link.MQTTPublishRequest{CorrelationID: 3, Topic: "t", Payload: p2}).Append(pubs)
	request(pubs, 2)
	// The first message comes whenever the broker sends it back (it is
	// nobody's answer): before this SYNCED, or after it.
	before, _ := d.Sync(0)
	for {
		got, _ := items.add(before)
		for _, it := range got {
			messages = append(messages, it.(*link.MQTTMessageItem))
		}
		if len(messages) > 0 {
			break
		}
		before = []link.Frame{d.Next()}
	}
	if len(messages) != 1 || !bytes.Equal(messages[0].Payload, p1) {
		t.Fatalf("messages %+v, want the first", messages)
	}
	poll.Until(t, "the second message waiting for the device", func() bool { return r.sess.MQTTBlocked(ch) })
	// No room, no hold: the SYNC is answered.
	if next := d.SyncQuiet(100); next != link.NoDeadline {
		t.Fatalf("SYNCED next_us %d", next)
	}
	// The device reads the first message: the second goes out before the
	// next SYNCED.
	d.Send(link.Frame{Type: link.FrameCredit, Chan: ch, Credit: uint32(messages[0].Size())})
	before, _ = d.Sync(200)
	got, _ := items.add(before)
	if len(got) != 1 {
		t.Fatalf("after CREDIT, before SYNCED: %s, want the second message", fakedev.Frames(before))
	}
	if m, ok := got[0].(*link.MQTTMessageItem); !ok || !bytes.Equal(m.Payload, p2) {
		t.Fatalf("item %#v, want the second message", got[0])
	}
}
