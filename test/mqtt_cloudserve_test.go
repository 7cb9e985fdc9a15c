package test

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
)

// TestCloudServeMQTTPlaintext: a device of `mvnet cloud serve` connecting
// to a plain local broker without tls_credentials gets SOCKETERROR (the
// connect is TLS by default) unless the cloud runs with --mqtt-plaintext.
func TestCloudServeMQTTPlaintext(t *testing.T) {
	mosquitto.Require(t)
	bin := buildMvnet(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, tc := range []struct {
		name  string
		flags []string
		want  abi.MQTTRequestState
	}{
		{"default TLS", nil, abi.MQTTRequestStateSocketError},
		{"--mqtt-plaintext", []string{"--mqtt-plaintext"}, abi.MQTTRequestStateRequestCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := serveCloudWithDevice(t, bin, append([]string{"--allow", "127.0.0.0/8"}, tc.flags...)...)
			d := joinWith(t, b)
			ctx := testenv.Context(t, waitLimit)
			n, err := d.Connect(ctx, irq)
			if err != nil {
				t.Fatal(err)
			}
			v := &dev{t: t, d: d, n: n, ctx: ctx, nextTag: 0x100}
			m := v.openMQTT(4096, 4096)
			if r := m.connect(connReq(br, abi.MQTTProtocolVersionV5, "cloud-serve-"+b.DeviceSid)); r.RequestState != tc.want || r.ReasonCode != 0 {
				t.Fatalf("connect: %+v, want %v\nmosquitto log:\n%s", r, tc.want, br.Log())
			}
		})
	}
}
