package sdktest

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/pki"
)

// mqttCalls are the header's MQTT calls: testdata/mqtt_pubsub.c makes every
// one of them.
var mqttCalls = []string{
	"mvMqttGetNextReadableDataType",
	"mvMqttRequestConnect", "mvMqttReadConnectResponse",
	"mvMqttRequestSubscribe", "mvMqttReadSubscribeResponse",
	"mvMqttRequestUnsubscribe", "mvMqttReadUnsubscribeResponse",
	"mvMqttRequestPublish", "mvMqttReadPublishResponse",
	"mvMqttReceiveMessage", "mvMqttReceiveLostMessageInfo", "mvMqttAcknowledgeMessage",
	"mvMqttRequestDisconnect", "mvMqttReadDisconnectResponse",
}

// TestMQTTFlow runs the whole MQTT flow from C (testdata/mqtt_pubsub.c)
// against Mosquitto on a loopback port, with MQTT 5 and 3.1.1, linked
// statically and shared: connect, subscribe at QoS 1, publish to itself at
// QoS 0 and 1 and one message larger than the receive buffer, receive,
// acknowledge, the lost-message report, unsubscribe, disconnect, close.
func TestMQTTFlow(t *testing.T) {
	t.Parallel()
	needLib(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	port := strconv.Itoa(br.Port)
	// A plain local broker: opt in (without it the connect is TLS).
	env := map[string]string{"MVNET_ALLOW": "127.0.0.0/8", "MVNET_MQTT_PLAINTEXT": "1"}
	for _, l := range []linkage{static, shared} {
		bin := compileFile(t, "mqtt_pubsub", l)
		for _, version := range []string{"5", "3.1.1"} {
			t.Run(l.String()+"/v"+version, func(t *testing.T) {
				clientID := "csdk-" + l.String() + "-v" + version
				prefix := "mvnet/csdk/" + clientID + "/"
				r := run(t, bin, env, 60*time.Second, "127.0.0.1", port, version, clientID)
				if r.code != 0 {
					t.Fatalf("mqtt_pubsub: %v\nmosquitto log:\n%s", r, br.Log())
				}
				for _, want := range []string{
					"connect: state=0 reason=0",
					"subscribe: state=0 corr=1 codes=1 [1]",
					"publish: corr=10 state=0 reason=0",
					"publish: corr=11 state=0 reason=0",
					"publish: corr=12 state=0 reason=0",
					"message: topic=" + prefix + "qos0 payload=hello at QoS 0 qos=0 retain=0",
					"message: topic=" + prefix + "qos1 payload=hello at QoS 1 qos=1 retain=0",
					"acknowledged: corr=",
					"lost: reason=0 topic=" + prefix + "big length=1200",
					"unsubscribe: state=0 corr=2 codes=1 [0]",
					"disconnect: state=0 code=0",
					"all matched",
				} {
					if !strings.Contains(r.stdout, want) {
						t.Errorf("output lacks %q:\n%s", want, r.stdout)
					}
				}
				checkMQTTTrace(t, r)
				// The acknowledgement reached the broker as a PUBACK, before
				// the DISCONNECT. Mosquitto may log a moment after the
				// program has ended.
				wants := []string{"Received PUBACK from " + clientID + " ", "Received DISCONNECT from " + clientID + "\n"}
				deadline := time.Now().Add(5 * time.Second)
				for {
					log := br.Log()
					ack, disc := strings.Index(log, wants[0]), strings.Index(log, wants[1])
					if ack >= 0 && disc > ack {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("mosquitto did not log the PUBACK (%d) and then the DISCONNECT (%d) of %s:\n%s", ack, disc, clientID, log)
					}
					time.Sleep(20 * time.Millisecond)
				}
			})
		}
	}
	t.Run("refused without MVNET_ALLOW", func(t *testing.T) {
		bin := compileFile(t, "mqtt_pubsub", static)
		r := run(t, bin, map[string]string{"MVNET_MQTT_PLAINTEXT": "1"}, 60*time.Second, "127.0.0.1", port, "5", "csdk-refused")
		if r.code != 1 || !strings.Contains(r.stdout, "connect: state=7 ") { // MV_MQTTREQUESTSTATE_SOCKETERROR
			t.Fatalf("a loopback broker was reached without MVNET_ALLOW: %v", r)
		}
	})
}

// TestMQTTTLS runs testdata/mqtt_pubsub.c over mutual TLS: the broker,
// reached by a name MVNET_RESOLVE maps to 127.0.0.1, requires a client
// certificate; the program gives the CA, its certificate and key (DER) in
// tls_credentials. With another CA the connect is answered UNKNOWNCA.
func TestMQTTTLS(t *testing.T) {
	t.Parallel()
	needLib(t)
	mosquitto.Require(t)
	ca, err := pki.NewCA("mvnet C SDK MQTT test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("some other CA")
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := ca.ServerCert([]string{"mqtt.test"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	key, err := pki.NewKey(pki.EC)
	if err != nil {
		t.Fatal(err)
	}
	clientCert, err := ca.ClientCert("device", key, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string][]byte{"ca.der": ca.Cert.Raw, "other.der": other.Cert.Raw, "cert.der": clientCert.Certificate[0], "key.der": keyDER}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	br := mosquitto.Start(t, mosquitto.Options{TLS: &mosquitto.TLS{Cert: serverCert, CAs: []*x509.Certificate{ca.Cert}, RequireCertificate: true}})
	port := strconv.Itoa(br.Port)
	env := map[string]string{"MVNET_ALLOW": "127.0.0.0/8", "MVNET_RESOLVE": "mqtt.test:" + port + ":127.0.0.1"}
	bin := compileFile(t, "mqtt_pubsub", static)
	der := func(name string) string { return filepath.Join(dir, name) }

	r := run(t, bin, env, 60*time.Second, "mqtt.test", port, "5", "csdk-tls", der("ca.der"), der("cert.der"), der("key.der"))
	if r.code != 0 || !strings.Contains(r.stdout, "all matched") {
		t.Fatalf("mqtt_pubsub over TLS: %v", r)
	}
	checkMQTTTrace(t, r)
	if !strings.Contains(br.Log(), "New client connected from 127.0.0.1") || !strings.Contains(br.Log(), "as csdk-tls") {
		t.Errorf("mosquitto did not log the TLS client:\n%s", br.Log())
	}

	r = run(t, bin, env, 60*time.Second, "mqtt.test", port, "5", "csdk-tls-other", der("other.der"), der("cert.der"), der("key.der"))
	if r.code != 1 || !strings.Contains(r.stdout, "connect: state=5 ") { // MV_MQTTREQUESTSTATE_UNKNOWNCA
		t.Fatalf("a broker certificate from another CA: %v", r)
	}
}

// checkMQTTTrace checks the trace of a successful mqtt_pubsub run: every
// MQTT call made and answered OKAY, every kind of item named by
// mvMqttGetNextReadableDataType, and one CHANNELDATAREADABLE per item.
func checkMQTTTrace(t *testing.T, r result) {
	t.Helper()
	okay := map[string]int{}
	types := map[string]int{}
	for _, l := range r.lines("syscall") {
		call, _ := l["call"].(string)
		if !strings.HasPrefix(call, "mvMqtt") {
			continue
		}
		if l["status"] != "MV_STATUS_OKAY" {
			t.Errorf("trace: %s answered %v", call, l["status"])
			continue
		}
		okay[call]++
		if out, _ := l["out"].(map[string]any); call == "mvMqttGetNextReadableDataType" && out != nil {
			if dt, _ := out["data_type"].(string); dt != "MV_MQTTREADABLEDATATYPE_NONE" {
				types[dt]++
			}
		}
	}
	for _, c := range mqttCalls {
		if okay[c] == 0 {
			t.Errorf("trace lacks %s with MV_STATUS_OKAY", c)
		}
	}
	wantTypes := map[string]int{
		"MV_MQTTREADABLEDATATYPE_CONNECTRESPONSE":     1,
		"MV_MQTTREADABLEDATATYPE_SUBSCRIBERESPONSE":   1,
		"MV_MQTTREADABLEDATATYPE_PUBLISHRESPONSE":     3,
		"MV_MQTTREADABLEDATATYPE_MESSAGERECEIVED":     2,
		"MV_MQTTREADABLEDATATYPE_MESSAGELOST":         1,
		"MV_MQTTREADABLEDATATYPE_UNSUBSCRIBERESPONSE": 1,
		"MV_MQTTREADABLEDATATYPE_DISCONNECTRESPONSE":  1,
	}
	if fmt.Sprint(types) != fmt.Sprint(wantTypes) {
		t.Errorf("trace: items named by mvMqttGetNextReadableDataType %v; want %v", types, wantTypes)
	}
	readable := 0
	for _, n := range r.lines("notification") {
		if n["event"] == "MV_EVENTTYPE_CHANNELDATAREADABLE" && n["tag"] == float64(2) {
			readable++
		}
	}
	if readable != 10 {
		t.Errorf("trace: %d CHANNELDATAREADABLE notifications for the MQTT channel; want one per item, 10", readable)
	}
}
