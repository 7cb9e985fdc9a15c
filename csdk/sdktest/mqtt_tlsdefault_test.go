package sdktest

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
)

// TestMQTTDefaultTLS runs testdata/mqtt_pubsub.c with tls_credentials NULL,
// as applications written for the production service do (it requires TLS
// on all connections, issue 9): the connect is TLS, verified against the
// system's roots plus MVNET_CA_FILE. Without the CA it is SOCKETERROR; a
// plain broker is SOCKETERROR with a diagnostic naming the opt-in, and
// reached with MVNET_MQTT_PLAINTEXT=1.
func TestMQTTDefaultTLS(t *testing.T) {
	t.Parallel()
	needLib(t)
	mosquitto.Require(t)
	ca, err := pki.NewCA("mvnet C SDK default TLS CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.ServerCert([]string{"mqtt.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	secure := mosquitto.Start(t, mosquitto.Options{TLS: &mosquitto.TLS{Cert: serverCert, CAs: []*x509.Certificate{ca.Cert}}})
	plain := mosquitto.Start(t, mosquitto.Options{})
	bin := compileFile(t, "mqtt_pubsub", static)
	env := func(br *mosquitto.Broker, kv ...string) map[string]string {
		m := map[string]string{"MVNET_ALLOW": "127.0.0.0/8", "MVNET_RESOLVE": "mqtt.test:" + strconv.Itoa(br.Port) + ":127.0.0.1"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	const socketError = "connect: state=7 " // MV_MQTTREQUESTSTATE_SOCKETERROR

	t.Run("TLS trusted through MVNET_CA_FILE", func(t *testing.T) {
		r := run(t, bin, env(secure, "MVNET_CA_FILE", caFile), 60*time.Second, "mqtt.test", strconv.Itoa(secure.Port), "5", "csdk-default-tls")
		if r.code != 0 || !strings.Contains(r.stdout, "all matched") {
			t.Fatalf("mqtt_pubsub without tls_credentials to a TLS broker: %v\nmosquitto log:\n%s", r, secure.Log())
		}
		checkMQTTTrace(t, r)
		if !strings.Contains(secure.Log(), "as csdk-default-tls") {
			t.Errorf("the TLS broker did not log the client:\n%s", secure.Log())
		}
	})
	t.Run("TLS without the CA", func(t *testing.T) {
		r := run(t, bin, env(secure), 60*time.Second, "mqtt.test", strconv.Itoa(secure.Port), "5", "csdk-default-untrusted")
		if r.code != 1 || !strings.Contains(r.stdout, socketError) {
			t.Fatalf("an untrusted broker certificate: %v", r)
		}
	})
	t.Run("plain broker without opt-in", func(t *testing.T) {
		r := run(t, bin, env(plain), 60*time.Second, "mqtt.test", strconv.Itoa(plain.Port), "5", "csdk-default-plain")
		if r.code != 1 || !strings.Contains(r.stdout, socketError) {
			t.Fatalf("a plain broker without MVNET_MQTT_PLAINTEXT: %v", r)
		}
		for _, want := range []string{"TLS failed", "MVNET_MQTT_PLAINTEXT=1"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
	})
	t.Run("plain broker with opt-in", func(t *testing.T) {
		r := run(t, bin, env(plain, "MVNET_MQTT_PLAINTEXT", "1"), 60*time.Second, "mqtt.test", strconv.Itoa(plain.Port), "5", "csdk-plaintext")
		if r.code != 0 || !strings.Contains(r.stdout, "all matched") {
			t.Fatalf("a plain broker with MVNET_MQTT_PLAINTEXT=1: %v", r)
		}
	})
}
