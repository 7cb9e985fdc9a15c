package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var sampleMQTTRequests = []MQTTRequest{
	&MQTTConnectRequest{Protocol: 1, CleanStart: true, Keepalive: 60, Port: 1883, Host: "broker.example.com", ClientID: "dev-1"},
	&MQTTConnectRequest{
		Protocol: 0, Keepalive: 0xFFFF, Port: 8883, Host: "b", ClientID: "c",
		Auth: 1, Username: "user", Password: []byte("p\x00ss"),
		Will: &MQTTWill{Topic: "last/will", Payload: []byte("gone"), QoS: 1, Retain: true},
		TLS: &MQTTTLS{
			CACerts:     [][]byte{[]byte("ca-1"), []byte("ca-2")},
			ClientCerts: [][]byte{[]byte("leaf"), []byte("intermediate")},
			Key:         []byte("pkcs8"),
		},
	},
	&MQTTConnectRequest{TLS: &MQTTTLS{}, Will: &MQTTWill{}},
	&MQTTConnectRequest{TLS: &MQTTTLS{CACerts: [][]byte{nil}}},
	&MQTTSubscribeRequest{CorrelationID: 7, Subscriptions: []MQTTSubscription{
		{Topic: "a/+/c", QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2},
		{Topic: "#"},
		{Topic: "", RetainHandling: 1},
	}},
	&MQTTSubscribeRequest{CorrelationID: 0xFFFFFFFF},
	&MQTTUnsubscribeRequest{CorrelationID: 9, Topics: []string{"a/+/c", "#", ""}},
	&MQTTUnsubscribeRequest{},
	&MQTTPublishRequest{CorrelationID: 3, Topic: "t", Payload: []byte("hello"), QoS: 1, Retain: true},
	&MQTTPublishRequest{Payload: bytes.Repeat([]byte{0xEE}, 3000)},
	&MQTTPublishRequest{},
	&MQTTAckRequest{MessageID: 0x01020304},
	&MQTTDisconnectRequest{},
}

var sampleMQTTItems = []MQTTItem{
	&MQTTConnectResponseItem{RequestState: 0, ReasonCode: 0x86},
	&MQTTSubscribeResponseItem{RequestState: 0, CorrelationID: 7, ReasonCodes: []byte{1, 0x87, 0}},
	&MQTTSubscribeResponseItem{RequestState: 3, CorrelationID: 8},
	&MQTTUnsubscribeResponseItem{CorrelationID: 9, ReasonCodes: []byte{0x11}},
	&MQTTUnsubscribeResponseItem{},
	&MQTTPublishResponseItem{RequestState: 1, CorrelationID: 3, ReasonCode: 0x10},
	&MQTTMessageItem{MessageID: 42, Topic: "sensors/1", Payload: []byte("22.5"), QoS: 1, Retain: true},
	&MQTTMessageItem{Topic: "x"},
	&MQTTMessageItem{MessageID: 7, Topic: "q2", QoS: 2},
	&MQTTMessageItem{MessageID: 1, Topic: strings.Repeat("t", 300), Payload: bytes.Repeat([]byte{1}, 5000)},
	&MQTTMessageLostItem{Reason: 0, Topic: "big", MessageLen: 1 << 20},
	&MQTTDisconnectResponseItem{RequestState: 8, DisconnectCode: 0x8E},
}

func TestMQTTRequestRoundTrip(t *testing.T) {
	for _, r := range sampleMQTTRequests {
		b := r.Append([]byte("pre"))[3:]
		if len(b) != r.Size() {
			t.Fatalf("%T: encoded %d bytes, Size says %d", r, len(b), r.Size())
		}
		if total := binary.LittleEndian.Uint32(b); int(total) != len(b) || b[4] != r.Kind() {
			t.Fatalf("%T: total %d kind %#x; encoded %d bytes", r, total, b[4], len(b))
		}
		stream := append(append([]byte(nil), b...), 0xFF, 0xFF, 0xFF)
		got, n, err := ParseMQTTRequest(stream)
		if err != nil || n != len(b) || !reflect.DeepEqual(got, r) {
			t.Fatalf("ParseMQTTRequest = %#v, %d, %v; want %#v, %d", got, n, err, r, len(b))
		}
		for i := range len(b) {
			if _, _, err := ParseMQTTRequest(b[:i]); err != ErrShort {
				t.Fatalf("%T: prefix of %d of %d bytes: %v, want ErrShort", r, i, len(b), err)
			}
		}
		// A request is not an item.
		if _, _, err := ParseMQTTItem(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T as an item: %v, want ErrMalformed", r, err)
		}
	}
}

func TestMQTTItemRoundTrip(t *testing.T) {
	for _, it := range sampleMQTTItems {
		b := it.Append(nil)
		if len(b) != it.Size() {
			t.Fatalf("%T: encoded %d bytes, Size says %d", it, len(b), it.Size())
		}
		got, n, err := ParseMQTTItem(append(b, 9, 9))
		if err != nil || n != len(b) || !reflect.DeepEqual(got, it) {
			t.Fatalf("ParseMQTTItem = %#v, %d, %v; want %#v", got, n, err, it)
		}
		x, err := IndexMQTTItem(b)
		if err != nil || int(x.Total) != len(b) || x.Kind != it.Kind() {
			t.Fatalf("IndexMQTTItem = %+v, %v", x, err)
		}
		for i := range len(b) {
			if _, _, err := ParseMQTTItem(b[:i]); err != ErrShort {
				t.Fatalf("%T: prefix of %d of %d bytes: %v, want ErrShort", it, i, len(b), err)
			}
		}
		if _, _, err := ParseMQTTRequest(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%T as a request: %v, want ErrMalformed", it, err)
		}
	}
}

func TestMQTTItemIndexSpans(t *testing.T) {
	m := &MQTTMessageItem{MessageID: 5, Topic: "ab", Payload: []byte("xyz"), QoS: 1}
	b := m.Append(nil)
	x, err := IndexMQTTItem(b)
	want := MQTTItemIndex{Kind: MQTTMessage, Total: uint32(len(b)), MessageID: 5,
		Topic: Span{13, 2}, Payload: Span{19, 3}, QoS: 1}
	if err != nil || x != want {
		t.Fatalf("IndexMQTTItem = %+v, %v; want %+v", x, err, want)
	}
	s := &MQTTSubscribeResponseItem{RequestState: 0, CorrelationID: 1, ReasonCodes: []byte{0, 1}}
	x, err = IndexMQTTItem(s.Append(nil))
	if err != nil || x.ReasonCodes != (Span{14, 2}) || x.CorrelationID != 1 {
		t.Fatalf("subscribe response index %+v, %v", x, err)
	}
}

func TestMQTTWireBytes(t *testing.T) {
	p := &MQTTPublishRequest{CorrelationID: 0x0A0B0C0D, Topic: "t", Payload: []byte("pl"), QoS: 1, Retain: true}
	want := []byte{
		22, 0, 0, 0, // total
		MQTTPublish,
		0x0D, 0x0C, 0x0B, 0x0A, // correlation_id
		1, 0, 0, 0, 't',
		2, 0, 0, 0, 'p', 'l',
		1, // qos
		1, // retain
	}
	if got := p.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("publish = %v, want %v", got, want)
	}
	c := &MQTTConnectRequest{Protocol: 1, CleanStart: true, Keepalive: 0x0102, Port: 1883, Host: "h", ClientID: "c"}
	want = []byte{
		32, 0, 0, 0, MQTTConnect,
		1, 1, // protocol, clean_start
		0x02, 0x01, // keepalive
		0x5B, 0x07, // port 1883
		1, 0, 0, 0, 'h',
		1, 0, 0, 0, 'c',
		0,          // auth
		0, 0, 0, 0, // username
		0, 0, 0, 0, // password
		0, // has_will
		0, // has_tls
	}
	if got := c.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("connect = %v, want %v", got, want)
	}
	s := &MQTTSubscribeResponseItem{RequestState: 0, CorrelationID: 2, ReasonCodes: []byte{0x80}}
	want = []byte{15, 0, 0, 0, MQTTSubscribeResponse, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0x80}
	if got := s.Append(nil); !bytes.Equal(got, want) {
		t.Fatalf("subscribe response = %v, want %v", got, want)
	}
	if got := (&MQTTDisconnectRequest{}).Append(nil); !bytes.Equal(got, []byte{5, 0, 0, 0, MQTTDisconnect}) {
		t.Fatalf("disconnect = %v", got)
	}
}

// mq builds an MQTT message: the total is computed; parts are u8 (byte),
// u16 (uint16), u32 (int) or raw (string).
func mq(kind uint8, parts ...any) []byte {
	b := []byte{0, 0, 0, 0, kind}
	for _, p := range parts {
		switch p := p.(type) {
		case byte:
			b = append(b, p)
		case uint16:
			b = binary.LittleEndian.AppendUint16(b, p)
		case int:
			b = binary.LittleEndian.AppendUint32(b, uint32(p))
		case string:
			b = append(b, p...)
		}
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// withTotal overrides the total of a message.
func withTotal(b []byte, total int) []byte {
	binary.LittleEndian.PutUint32(b, uint32(total))
	return b
}

func TestMQTTMalformed(t *testing.T) {
	var one, two byte = 1, 2
	var zero byte
	connect := func(parts ...any) []byte {
		head := []any{zero, zero, uint16(0), uint16(0), 1, "h", 1, "c", zero, 0, 0}
		return mq(MQTTConnect, append(head, parts...)...)
	}
	requests := []struct {
		name string
		b    []byte
	}{
		{"total under fixed", withTotal(mq(MQTTDisconnect), 4)},
		{"total 0", le(0)},
		{"unknown kind", mq(0x7F)},
		{"item kind", mq(MQTTConnectResponse, 0, 0)},
		{"kind 0", mq(0)},
		{"disconnect with a body", mq(MQTTDisconnect, zero)},
		{"ack short", mq(MQTTAck, uint16(1))},
		{"ack long", mq(MQTTAck, 1, zero)},
		{"publish qos 2", mq(MQTTPublish, 1, 1, "t", 0, two, zero)},
		{"publish retain 2", mq(MQTTPublish, 1, 1, "t", 0, zero, two)},
		{"publish topic past total", mq(MQTTPublish, 1, 9, "t", 0, zero, zero)},
		{"publish topic length huge", mq(MQTTPublish, 1, -1, "t", 0, zero, zero)},
		{"publish missing retain", mq(MQTTPublish, 1, 1, "t", 0, zero)},
		{"subscribe n past total", mq(MQTTSubscribe, 1, two, 1, "a", zero, zero, zero, zero)},
		{"subscribe rh 3", mq(MQTTSubscribe, 1, one, 1, "a", zero, zero, zero, byte(3))},
		{"subscribe nl 2", mq(MQTTSubscribe, 1, one, 1, "a", zero, two, zero, zero)},
		{"subscribe qos 2", mq(MQTTSubscribe, 1, one, 1, "a", two, zero, zero, zero)},
		{"subscribe trailing", mq(MQTTSubscribe, 1, zero, zero)},
		{"unsubscribe n 255 empty", mq(MQTTUnsubscribe, 1, byte(255))},
		{"connect protocol 2", mq(MQTTConnect, two, zero, uint16(0), uint16(0), 0, 0, zero, 0, 0, zero, zero)},
		{"connect clean_start 2", mq(MQTTConnect, zero, two, uint16(0), uint16(0), 0, 0, zero, 0, 0, zero, zero)},
		{"connect auth 2", mq(MQTTConnect, zero, zero, uint16(0), uint16(0), 0, 0, two, 0, 0, zero, zero)},
		{"connect has_will 2", connect(two, zero)},
		{"connect will qos 2", connect(one, 0, 0, two, zero, zero)},
		{"connect will retain 2", connect(one, 0, 0, zero, two, zero)},
		{"connect has_tls 2", connect(zero, two)},
		{"connect tls cut", connect(zero, one, one, 2, "ca")},
		{"connect tls cert past total", connect(zero, one, zero, one, 9, "x", 0)},
		{"connect trailing", connect(zero, zero, zero)},
		{"connect missing has_tls", connect(zero)},
	}
	for _, tt := range requests {
		t.Run("request "+tt.name, func(t *testing.T) {
			if _, _, err := ParseMQTTRequest(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseMQTTRequest: %v, want ErrMalformed", err)
			}
		})
	}
	items := []struct {
		name string
		b    []byte
	}{
		{"total under fixed", withTotal(mq(MQTTConnectResponse, 0, 0), 3)},
		{"request kind", mq(MQTTAck, 1)},
		{"unknown kind", mq(0x88, 0, 0)},
		{"connect response short", mq(MQTTConnectResponse, 0)},
		{"connect response long", mq(MQTTConnectResponse, 0, 0, zero)},
		{"subscribe response codes past total", mq(MQTTSubscribeResponse, 0, 0, two, zero)},
		{"subscribe response trailing", mq(MQTTSubscribeResponse, 0, 0, one, zero, zero)},
		{"unsubscribe response no n", mq(MQTTUnsubscribeResponse, 0, 0)},
		{"publish response short", mq(MQTTPublishResponse, 0, 0)},
		{"message qos 3", mq(MQTTMessage, 1, 1, "t", 0, byte(3), zero)},
		{"message retain 2", mq(MQTTMessage, 1, 1, "t", 0, zero, two)},
		{"message payload past total", mq(MQTTMessage, 1, 1, "t", 5, "ab", zero, zero)},
		{"message lost topic past total", mq(MQTTMessageLost, 0, 8, "abc", 0)},
		{"message lost trailing", mq(MQTTMessageLost, 0, 0, 0, zero)},
		{"disconnect response long", mq(MQTTDisconnectResponse, 0, 0, 0)},
	}
	for _, tt := range items {
		t.Run("item "+tt.name, func(t *testing.T) {
			if _, _, err := ParseMQTTItem(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseMQTTItem: %v, want ErrMalformed", err)
			}
			if _, err := IndexMQTTItem(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("IndexMQTTItem: %v, want ErrMalformed", err)
			}
		})
	}
	// A total larger than the bytes present is short, not malformed …
	if _, _, err := ParseMQTTItem(withTotal(mq(MQTTConnectResponse, 0, 0), 1000)); err != ErrShort {
		t.Errorf("long total: %v, want ErrShort", err)
	}
	// … unless the kind already shows it is not one.
	if _, _, err := ParseMQTTItem(withTotal(mq(0x99, 0, 0), 1000)); !errors.Is(err, ErrMalformed) {
		t.Errorf("long total, unknown kind: %v, want ErrMalformed", err)
	}
	if _, _, err := ParseMQTTRequest(withTotal(mq(MQTTMessage), 1000)); !errors.Is(err, ErrMalformed) {
		t.Errorf("long total, item kind as request: %v, want ErrMalformed", err)
	}
}

func TestMQTTAppendPanicsOnTooManyElements(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Append of 256 topics did not panic")
		}
	}()
	(&MQTTUnsubscribeRequest{Topics: make([]string, 256)}).Append(nil)
}

// FuzzParseMQTTRequest checks that ParseMQTTRequest never panics and that a
// request it accepts re-encodes to the bytes it consumed.
func FuzzParseMQTTRequest(f *testing.F) {
	for _, r := range sampleMQTTRequests {
		f.Add(r.Append(nil))
	}
	f.Add(mq(MQTTSubscribe, 1, byte(2), 1, "a", byte(0), byte(0), byte(0), byte(0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseMQTTRequest(b)
		if err != nil {
			if err != ErrShort && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n < MQTTMessageFixedLen || n > len(b) || n != r.Size() {
			t.Fatalf("consumed %d of %d bytes, Size %d", n, len(b), r.Size())
		}
		enc := r.Append(nil)
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, b[:n])
		}
		r2, n2, err := ParseMQTTRequest(enc)
		if err != nil || n2 != n || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %#v, %v", r2, err)
		}
	})
}

// FuzzParseMQTTItem checks that ParseMQTTItem and IndexMQTTItem never
// panic, agree, and that an item they accept re-encodes to the bytes
// consumed.
func FuzzParseMQTTItem(f *testing.F) {
	for _, it := range sampleMQTTItems {
		f.Add(it.Append(nil))
	}
	f.Add(mq(MQTTSubscribeResponse, 0, 0, byte(2), byte(0)))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, n, err := ParseMQTTItem(b)
		x, xerr := IndexMQTTItem(b)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("Parse error %v, Index error %v", err, xerr)
		}
		if err != nil {
			if err != ErrShort && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n != int(x.Total) || n != it.Size() || n > len(b) || x.Kind != it.Kind() {
			t.Fatalf("consumed %d of %d bytes (index %+v, Size %d)", n, len(b), x, it.Size())
		}
		enc := it.Append(nil)
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, b[:n])
		}
		it2, n2, err := ParseMQTTItem(enc)
		if err != nil || n2 != n || !reflect.DeepEqual(it, it2) {
			t.Fatalf("round trip: %#v, %v", it2, err)
		}
	})
}
