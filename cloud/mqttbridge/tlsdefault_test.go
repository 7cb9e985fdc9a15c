package mqttbridge_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// A connect without credentials is TLS unless the bridge opts in to plain
// TCP (issue 9: the production service requires TLS on all connections).
func TestConnectWithoutCredentialsDefaultsToTLS(t *testing.T) {
	s := newTLSSetup(t, time.Time{}, time.Time{})
	tlsBroker := s.broker(t, false)
	plainBroker := mosquitto.Start(t, mosquitto.Options{})
	trusted := x509.NewCertPool()
	trusted.AddCert(s.ca.Cert)
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			t.Run("TLS broker trusted through RootCAs", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{RootCAs: trusted})
				c.mustConnect(params(tlsBroker, v.v, "implicit-tls"))
				c.b.Publish(1, "tls/default", []byte("over TLS"), 1, false)
				if r := c.result(mqttbridge.KindPublish); r.State != abi.MQTTRequestStateRequestCompleted {
					t.Fatalf("publish: %v (%v)", r.State, r.Err)
				}
			})
			t.Run("empty credentials use RootCAs too", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{RootCAs: trusted})
				p := params(tlsBroker, v.v, "empty-creds")
				p.TLS = &mqttbridge.Credentials{}
				c.mustConnect(p)
			})
			t.Run("TLS broker not trusted", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{})
				r := c.connect(params(tlsBroker, v.v, "untrusted"))
				wantImplicitTLSFailure(t, r)
			})
			t.Run("plain broker without opt-in", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{RootCAs: trusted})
				r := c.connect(params(plainBroker, v.v, "plain-no-opt-in"))
				wantImplicitTLSFailure(t, r)
			})
			t.Run("plain broker with opt-in", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{Plaintext: true})
				c.mustConnect(params(plainBroker, v.v, "plain-opt-in"))
			})
			t.Run("opt-in leaves credentials TLS", func(t *testing.T) {
				c := newBridgeClient(t, mqttbridge.Options{Plaintext: true})
				p := params(tlsBroker, v.v, "opt-in-creds")
				p.TLS = &mqttbridge.Credentials{CACerts: [][]byte{s.ca.Cert.Raw}}
				c.mustConnect(p)
			})
		})
	}
}

// wantImplicitTLSFailure checks r is the SOCKETERROR of a failed TLS
// handshake without credentials, with a diagnostic naming the opt-in.
func wantImplicitTLSFailure(t *testing.T, r mqttbridge.Result) {
	t.Helper()
	if r.State != abi.MQTTRequestStateSocketError {
		t.Fatalf("got %v (%v), want SOCKETERROR", r.State, r.Err)
	}
	var tlsErr *mqttbridge.ImplicitTLSError
	if !errors.As(r.Err, &tlsErr) {
		t.Fatalf("error %v (%T) is not an ImplicitTLSError", r.Err, r.Err)
	}
	for _, want := range []string{"TLS failed", "--mqtt-plaintext", "MVNET_MQTT_PLAINTEXT=1"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("error %q does not say %q", r.Err, want)
		}
	}
}
