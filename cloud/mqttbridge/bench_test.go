package mqttbridge_test

import (
	"fmt"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// BenchmarkRoundTrip measures publish-to-delivery latency through two
// bridges and Mosquitto: one message in flight at a time, 64-byte payload.
func BenchmarkRoundTrip(b *testing.B) {
	br := mosquitto.Start(b, mosquitto.Options{})
	for _, v := range versions {
		for _, qos := range []uint8{0, 1} {
			b.Run(fmt.Sprintf("%s/QoS%d", v.name, qos), func(b *testing.B) {
				sub, pub := pair(b, br, v.v)
				topic := fmt.Sprintf("bench/%s/%d", v.name, qos)
				sub.subscribe(mqttbridge.Subscription{Topic: topic, QoS: qos})
				payload := make([]byte, 64)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					pub.b.Publish(uint32(i), topic, payload, qos, false)
					m := sub.msg()
					if qos == 1 {
						if err := sub.b.Ack(m.ID); err != nil {
							b.Fatal(err)
						}
					}
					if r := pub.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateRequestCompleted {
						b.Fatal(r.State)
					}
				}
			})
		}
	}
}
