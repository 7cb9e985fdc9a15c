package cassette_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// The rig: a real HTTPS server (testenv.NewServer), a real Mosquitto
// (plaintext, with a password) and an in-process config store behind an
// embedded cloud whose upstream goes through a Recorder; then a cloud
// whose upstream is a Replayer with none of them running. A device (the Go
// device API) does the same work against each and writes a transcript of
// what it saw through the ABI.

const (
	irq       = 51
	waitLimit = 15 * time.Second
	deviceID  = "UV0cca55e7700000000000000000000001"
	secret    = "s3cret-value"
	authValue = "Bearer tok-123"
	mqttUser  = "dev"
	mqttPass  = "mqtt-pass-456"
)

// memStore is an in-memory config store: "scope/store/key" → value.
type memStore map[string]string

func (m memStore) Fetch(_ context.Context, _ string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	v, ok := m[fmt.Sprintf("%d/%d/%s", scope, st, key)]
	return []byte(v), ok, nil
}

func newStore() memStore {
	return memStore{
		fmt.Sprintf("%d/%d/url", abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig):    "https://api.example/data",
		fmt.Sprintf("%d/%d/token", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret): secret,
	}
}

// upstream is the real servers of a recording.
type upstream struct {
	https  *testenv.Server
	broker *mosquitto.Broker
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	mosquitto.Require(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "cassette")
		w.Header().Set("Set-Cookie", "session=cookie-789")
		who := "stranger"
		if r.Header.Get("Authorization") == authValue {
			who = "authorized device" // the header reached the server
		}
		fmt.Fprintf(w, "hello, %s", who)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(append([]byte("echo:"), b...))
	})
	br := mosquitto.Start(t, mosquitto.Options{Users: map[string]string{mqttUser: mqttPass}})
	return &upstream{https: testenv.NewServer(t, mux), broker: br}
}

// target is where the workload sends its requests: the recording's
// server and broker addresses (replay uses the same ones, unanswered).
type target struct {
	base       string // https://api.mvnet.test:PORT
	brokerPort uint16
}

func (u *upstream) target() target {
	return target{base: u.https.Base, brokerPort: uint16(u.broker.Port)}
}

// newCloud starts a cloud with o; local brokers are plain TCP.
func newCloud(t *testing.T, o cloud.Options) *cloud.Server {
	t.Helper()
	o.MQTT.Plaintext = true
	return testenv.NewCloud(t, o)
}

// recordOptions are a cloud's options recording through rec.
func recordOptions(u *upstream, rec *cassette.Recorder) cloud.Options {
	o := cloud.Options{HTTP: u.https.HTTPOptions(), Config: newStore()}
	rec.Install(&o)
	return o
}

// replayOptions are a cloud's options replaying through rep: no allowed
// prefixes, no resolve overrides, no extra roots, no store.
func replayOptions(rep *cassette.Replayer) cloud.Options {
	var o cloud.Options
	rep.Install(&o)
	return o
}

// transcript is what a device saw, one line per outcome.
type transcript []string

func (tr *transcript) add(format string, args ...any) {
	*tr = append(*tr, fmt.Sprintf(format, args...))
}

// boot joins a device to srv and brings its network up.
func boot(t *testing.T, srv *cloud.Server) (*device.Device, *device.Net, context.Context) {
	t.Helper()
	ctx := testenv.Context(t, 2*waitLimit)
	d := testenv.NewDevice(t, srv, device.Options{DeviceID: deviceID})
	n, err := d.Connect(ctx, irq)
	if err != nil {
		t.Fatal(err)
	}
	return d, n, ctx
}

// httpWork is a GET with an Authorization header and a POST with a body.
func httpWork(t *testing.T, d *device.Device, n *device.Net, ctx context.Context, tg target, tr *transcript, path string) {
	t.Helper()
	for _, req := range []device.HTTPRequest{
		{Method: "GET", URL: tg.base + path, Headers: []string{"Authorization: " + authValue}, TimeoutMS: 10000},
		{Method: "POST", URL: tg.base + "/echo", Body: []byte("payload \x00\x01\xff"), TimeoutMS: 10000},
	} {
		r, err := d.HTTP(ctx, n, req, 4096, 4096)
		if err != nil {
			t.Fatalf("%s %s: %v", req.Method, req.URL, err)
		}
		tr.add("http %s %s: %s %d %q %q", req.Method, strings.TrimPrefix(req.URL, tg.base), r.Result, r.StatusCode, r.Headers, r.Body)
	}
}

// configWork fetches a device config, an account secret and a missing key.
func configWork(t *testing.T, d *device.Device, n *device.Net, ctx context.Context, tr *transcript) {
	t.Helper()
	res, items, err := d.FetchConfig(ctx, n, []device.ConfigKey{
		{Scope: abi.ConfigKeyFetchScopeDevice, Store: abi.ConfigKeyFetchStoreConfig, Key: "url"},
		{Scope: abi.ConfigKeyFetchScopeAccount, Store: abi.ConfigKeyFetchStoreSecret, Key: "token"},
		{Scope: abi.ConfigKeyFetchScopeDevice, Store: abi.ConfigKeyFetchStoreConfig, Key: "missing"},
	}, 2048, 1024)
	if err != nil {
		t.Fatal(err)
	}
	tr.add("config: %s", res)
	for i, it := range items {
		tr.add("config item %d: %s %q", i, it.Result, it.Value)
	}
}

// mqttCh is an MQTT channel of the workload.
type mqttCh struct {
	t   *testing.T
	v   abi.MQTTProtocolVersion // of connect; default 3.1.1
	tls *device.MQTTTLS         // of connect; nil: plain TCP
	d   *device.Device
	n   *device.Net
	ctx context.Context
	ch  *device.Channel
	tag uint32
}

func openMQTT(t *testing.T, d *device.Device, n *device.Net, ctx context.Context, tag uint32) *mqttCh {
	t.Helper()
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: n.Centre, Tag: tag, Network: n.Handle, Type: abi.ChannelTypeMQTT, RxSize: 4096, TxSize: 4096})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvOpenChannel: %s %v", st, err)
	}
	return &mqttCh{t: t, d: d, n: n, ctx: ctx, ch: ch, tag: tag}
}

// next waits for the next readable item and describes it (and acks a
// received QoS 1 message); "closed: REASON" when the channel closed first.
func (m *mqttCh) next() string {
	m.t.Helper()
	d, ch := m.d, m.ch
	for {
		typ, st := d.MQTTGetNextReadableDataType(ch)
		if st != abi.StatusOkay {
			r, _ := d.GetChannelClosureReason(ch)
			return fmt.Sprintf("closed: %s (%s)", r, st)
		}
		switch typ {
		case abi.MQTTReadableDataTypeNone:
			nt, err := m.n.Centre.WaitTag(m.ctx, m.tag)
			if err != nil {
				m.t.Fatalf("no MQTT item: %v", err)
			}
			if nt.EventType == abi.EventTypeChannelNotConnected {
				r, _ := d.GetChannelClosureReason(ch)
				return fmt.Sprintf("closed: %s", r)
			}
			continue
		case abi.MQTTReadableDataTypeConnectResponse:
			r, st := d.MQTTReadConnectResponse(ch)
			return fmt.Sprintf("connect response %s: %+v", st, r)
		case abi.MQTTReadableDataTypeSubscribeResponse:
			r, st := d.MQTTReadSubscribeResponse(ch, 8)
			return fmt.Sprintf("subscribe response %s: %+v", st, r)
		case abi.MQTTReadableDataTypePublishResponse:
			r, st := d.MQTTReadPublishResponse(ch)
			return fmt.Sprintf("publish response %s: %+v", st, r)
		case abi.MQTTReadableDataTypeMessageReceived:
			r, st := d.MQTTReceiveMessage(ch, 256, 256)
			if st == abi.StatusOkay && r.QoS == 1 {
				if ast := d.MQTTAcknowledgeMessage(ch, r.CorrelationID); ast != abi.StatusOkay {
					m.t.Fatalf("mvMqttAcknowledgeMessage: %s", ast)
				}
			}
			return fmt.Sprintf("message %s: corr %d %q %q qos %d", st, r.CorrelationID, r.Topic, r.Payload, r.QoS)
		case abi.MQTTReadableDataTypeDisconnectResponse:
			r, st := d.MQTTReadDisconnectResponse(ch)
			return fmt.Sprintf("disconnect response %s: %+v", st, r)
		default:
			m.t.Fatalf("unexpected readable data type %v", typ)
		}
	}
}

// connect requests a connect (m.v) with a user name and password.
func (m *mqttCh) connect(port uint16, clientID string) {
	m.t.Helper()
	st, err := m.d.MQTTRequestConnect(m.ch, device.MQTTConnect{Version: m.v, Host: "127.0.0.1", Port: port,
		ClientID: clientID, Username: mqttUser, Password: []byte(mqttPass), UseLogin: true, TLS: m.tls, Keepalive: 60, CleanStart: true})
	if err != nil || st != abi.StatusOkay {
		m.t.Fatalf("mvMqttRequestConnect: %s %v", st, err)
	}
}

func (m *mqttCh) subscribe(corr uint32, topic string) {
	m.t.Helper()
	if st, err := m.d.MQTTRequestSubscribe(m.ch, corr, []device.MQTTSubscription{{Topic: topic, QoS: 1}}); err != nil || st != abi.StatusOkay {
		m.t.Fatalf("mvMqttRequestSubscribe: %s %v", st, err)
	}
}

// mqttWork connects, subscribes to a topic, publishes to it (so the
// broker delivers the message back), acknowledges it and disconnects.
func mqttWork(t *testing.T, d *device.Device, n *device.Net, ctx context.Context, tg target, v abi.MQTTProtocolVersion, tr *transcript) {
	t.Helper()
	m := openMQTT(t, d, n, ctx, 0x4d5154)
	m.v = v
	m.connect(tg.brokerPort, "cassette-dev")
	tr.add("%s", m.next())
	m.subscribe(1, "cassette/in")
	tr.add("%s", m.next())
	if st, err := d.MQTTRequestPublish(m.ch, 2, "cassette/in", []byte("hello, broker"), 1, false); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestPublish: %s %v", st, err)
	}
	tr.add("%s", m.next()) // the publish response and the message, in either order
	tr.add("%s", m.next())
	if st := d.MQTTRequestDisconnect(m.ch); st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestDisconnect: %s", st)
	}
	tr.add("%s", m.next())
	if st := d.CloseChannel(m.ch); st != abi.StatusOkay {
		t.Fatalf("mvCloseChannel: %s", st)
	}
}
