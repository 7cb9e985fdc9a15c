package faults

import (
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
)

// outFraming counts the packets the broker acknowledges (QoS 1 PUBLISH,
// SUBSCRIBE, UNSUBSCRIBE) and nothing else (CONNECT, QoS 0 PUBLISH,
// PINGREQ, PUBACK), however the writes split them, remaining lengths of
// several bytes included.
func TestOutFramingCountsAcked(t *testing.T) {
	big := make([]byte, 200) // a remaining length of two bytes
	var stream []byte
	stream = append(stream, packets.Connect<<4, 2, 0, 0)
	stream = append(stream, packets.Publish<<4, 3, 0, 1, 't') // QoS 0
	stream = append(stream, packets.Publish<<4|2, 0xc8, 0x01) // QoS 1, 200 bytes
	stream = append(stream, big...)
	stream = append(stream, packets.Pingreq<<4, 0)
	stream = append(stream, packets.Puback<<4, 2, 0, 9) // the bridge's own ack
	stream = append(stream, packets.Subscribe<<4|2, 6, 0, 1, 0, 1, 't', 0)
	stream = append(stream, packets.Unsubscribe<<4|2, 5, 0, 2, 0, 1, 't')
	stream = append(stream, packets.Publish<<4|2, 5, 0, 1, 'u', 0, 3) // QoS 1, small
	for _, step := range []int{1, 2, 3, 7, 64, len(stream)} {
		var o outFraming
		n := 0
		for p := stream; len(p) > 0; {
			k := min(step, len(p))
			n += o.scan(p[:k])
			p = p[k:]
		}
		if n != 4 || o.head || o.skip != 0 {
			t.Errorf("writes of %d bytes: %d acked packets (head %v, skip %d), want 4 at a packet boundary", step, n, o.head, o.skip)
		}
	}
}
