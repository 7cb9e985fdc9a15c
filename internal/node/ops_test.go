package node

// The ops listener (ops.go): a real device over the real TLS link moves
// the metrics a scrape of /metrics shows; /readyz follows the store's NATS.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/kernel"
)

// waitLimit bounds each wait for an event in these tests.
const waitLimit = 30 * time.Second

// scrape GETs url (a /metrics endpoint) and parses the Prometheus text
// into series → value (metrics.Series).
func scrape(t testing.TB, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return metrics.Series(slices.Collect(maps.Values(mfs)))
}

// get GETs url and returns the status and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// tlsDevice boots a device from bundle b over the real TLS link.
func tlsDevice(t *testing.T, b *device.Bundle) *device.Device {
	t.Helper()
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: b.DeviceSid, Dial: dial,
		ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// newDevice creates a device on n and connects it over TLS.
func newDevice(t *testing.T, ctx context.Context, n *Node) (*device.Device, *device.Net) {
	t.Helper()
	b, err := n.CreateDevice(ctx, kernel.NewDeviceID(), "")
	if err != nil {
		t.Fatal(err)
	}
	d := tlsDevice(t, b)
	nw, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	return d, nw
}

// A device's HTTP request, config fetch, log line and MQTT connect over
// TLS each move their counters by exactly what they did; the link's frames
// and links are counted, the gauges follow the device, and the process's
// and Go's metrics are there.
func TestOpsMetricsCountDeviceActivity(t *testing.T) {
	ctx := testenv.Context(t, 2*waitLimit)
	web := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hi") }))
	n, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0", ListenOps: "127.0.0.1:0",
		HTTP: web.HTTPOptions(), MQTTPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	metricsURL := n.OpsURL() + "/metrics"
	before := scrape(t, metricsURL)
	moved := func(now map[string]float64, series string) float64 { return now[series] - before[series] }
	waitFor := func(series string, delta float64) map[string]float64 {
		t.Helper()
		var now map[string]float64
		poll.Within(t, waitLimit, fmt.Sprintf("%s to move by %v", series, delta), func() bool {
			now = scrape(t, metricsURL)
			return moved(now, series) >= delta
		})
		return now
	}

	d, nw := newDevice(t, ctx, n)
	resp, err := d.HTTP(ctx, nw, device.HTTPRequest{Method: "GET", URL: web.URL("/"), TimeoutMS: 10000}, 1024, 512)
	if err != nil || resp.Result != abi.HTTPResultOK || string(resp.Body) != "hi" {
		t.Fatalf("HTTP: %+v, %v", resp, err)
	}
	res, items, err := d.FetchConfig(ctx, nw, []device.ConfigKey{{Scope: abi.ConfigKeyFetchScopeDevice,
		Store: abi.ConfigKeyFetchStoreConfig, Key: "missing"}}, 1024, 512)
	if err != nil || res != abi.ConfigFetchResultOK || len(items) != 1 || items[0].Result != abi.ConfigKeyFetchResultKeyNotFound {
		t.Fatalf("FetchConfig: %v %+v %v", res, items, err)
	}
	if _, st, err := d.ServerLoggingInit(512); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLoggingInit: %v %v", st, err)
	}
	if st, err := d.ServerLog("metrics test line"); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLog: %v %v", st, err)
	}
	// An MQTT connect to a port nobody listens on: SOCKETERROR.
	closed, err := net.ResolveTCPAddr("tcp", testenv.ClosedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	mch, st, err := d.OpenChannel(device.ChannelConfig{Centre: nw.Centre, Tag: 0x777, Network: nw.Handle,
		Type: abi.ChannelTypeMQTT, RxSize: 1024, TxSize: 1024})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvOpenChannel(MQTT): %v %v", st, err)
	}
	if st, err := d.MQTTRequestConnect(mch, device.MQTTConnect{Version: abi.MQTTProtocolVersionV311,
		Host: "127.0.0.1", Port: uint16(closed.Port), ClientID: "ops-test", Keepalive: 60, CleanStart: true}); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestConnect: %v %v", st, err)
	}

	waitFor(`mvnet_log_lines_total{result="stored"}`, 1)
	now := waitFor(`mvnet_mqtt_requests_total{kind="connect",state="MV_MQTTREQUESTSTATE_SOCKETERROR"}`, 1)
	for series, want := range map[string]float64{
		`mvnet_links_accepted_total`:                                                        1,
		`mvnet_http_requests_total{result="MV_HTTPRESULT_OK"}`:                              1,
		`mvnet_http_requests_total{result="MV_HTTPRESULT_REQUESTFAILED"}`:                   0,
		`mvnet_http_request_duration_seconds_count`:                                         1,
		`mvnet_config_fetches_total{result="MV_CONFIGFETCHRESULT_OK"}`:                      1,
		`mvnet_config_keys_total{result="MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND"}`:             1,
		`mvnet_log_lines_total{result="stored"}`:                                            1,
		`mvnet_log_lines_total{result="discarded"}`:                                         0,
		`mvnet_mqtt_requests_total{kind="connect",state="MV_MQTTREQUESTSTATE_SOCKETERROR"}`: 1,
		`mvnet_link_frames_in_total{type="HELLO"}`:                                          1,
		`mvnet_link_frames_in_total{type="OPEN"}`:                                           3, // HTTP, CONFIGFETCH, MQTT
		`mvnet_link_frames_in_total{type="LOG"}`:                                            1,
		`mvnet_link_frames_out_total{type="WELCOME"}`:                                       1,
		`mvnet_store_op_duration_seconds_count{op="device_registered"}`:                     2, // at the TLS handshake and at HELLO
		`mvnet_store_op_duration_seconds_count{op="config_fetch"}`:                          1,
		`mvnet_store_op_duration_seconds_count{op="log_append"}`:                            1,
		`mvnet_store_op_duration_seconds_count{op="logging_enabled"}`:                       1,
		`mvnet_devices_connected`:                                                           1,
	} {
		if got := moved(now, series); got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
	// The request and the response, at least, crossed the link as DATA.
	for _, series := range []string{`mvnet_link_frames_in_total{type="DATA"}`, `mvnet_link_frames_out_total{type="DATA"}`} {
		if got := moved(now, series); got < 2 {
			t.Errorf("%s moved by %v, want at least 2", series, got)
		}
	}
	for _, series := range []string{"process_resident_memory_bytes", "process_open_fds", "go_goroutines"} {
		if now[series] <= 0 {
			t.Errorf("%s = %v, want > 0", series, now[series])
		}
	}

	// A device the registry does not know is refused (after its TLS
	// handshake), and counted so.
	stranger, err := IssueBundle(n.CA, kernel.NewDeviceID(), "", []string{n.Advertise}, "")
	if err != nil {
		t.Fatal(err)
	}
	sd := tlsDevice(t, stranger)
	c, st, err := sd.SetupNotifications(51, 16)
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvSetupNotifications: %v %v", st, err)
	}
	if _, st := sd.RequestNetwork(c, 1); st != abi.StatusOkay {
		t.Fatalf("mvRequestNetwork: %v", st)
	}
	waitFor(`mvnet_links_refused_total{reason="not_registered"}`, 1)
	_ = sd.Close()

	_ = d.Close()
	poll.Within(t, waitLimit, "mvnet_devices_connected back to 0", func() bool {
		return scrape(t, metricsURL)["mvnet_devices_connected"] == 0
	})
	if code, body := get(t, n.OpsURL()+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
}

// startNATS starts an external nats-server with JetStream on 127.0.0.1
// (port -1: a free one) storing in dir, until the test ends.
func startNATS(t *testing.T, port int, dir string) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() }) // idempotent
	if !ns.ReadyForConnections(waitLimit) {
		t.Fatal("nats-server not ready")
	}
	return ns
}

// /readyz is 503, naming the store, while the store's external NATS is
// down, and 200 again once it is back; /healthz stays 200. The REST API's
// listener answers both without authentication.
func TestOpsReadinessFollowsTheStore(t *testing.T) {
	ctx := testenv.Context(t, 3*waitLimit)
	natsDir := t.TempDir()
	ns := startNATS(t, -1, natsDir)
	natsPort := ns.Addr().(*net.TCPAddr).Port
	n, err := Start(ctx, Options{DataDir: t.TempDir(), NATSURL: ns.ClientURL(), ListenDevices: "127.0.0.1:0",
		ListenOps: "127.0.0.1:0", ListenAPI: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	if _, _, _, err := n.EnsureAccount(ctx); err != nil {
		t.Fatal(err)
	}
	ready := func(base string) (int, string) { return get(t, base+"/readyz") }
	// The device listener starts accepting in a goroutine of its own:
	// ready once it does.
	poll.Within(t, waitLimit, "/readyz to answer 200", func() bool {
		code, _ := ready(n.OpsURL())
		return code == http.StatusOK
	})
	for _, base := range []string{n.OpsURL(), n.APIURL} {
		if code, body := ready(base); code != http.StatusOK || body != "ok\n" {
			t.Fatalf("%s/readyz with NATS up: %d %q", base, code, body)
		}
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	var body string
	poll.Within(t, waitLimit, "/readyz to answer 503", func() bool {
		var code int
		code, body = ready(n.OpsURL())
		return code == http.StatusServiceUnavailable
	})
	if !strings.HasPrefix(body, "store: JetStream not answering") || strings.Count(body, "\n") != 1 {
		t.Errorf("/readyz with NATS down: %q, want the store's check alone", body)
	}
	if code, body := ready(n.APIURL); code != http.StatusServiceUnavailable || !strings.HasPrefix(body, "store: ") {
		t.Errorf("API /readyz with NATS down: %d %q", code, body)
	}
	if code, _ := get(t, n.OpsURL()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with NATS down: %d", code)
	}

	startNATS(t, natsPort, natsDir)
	poll.Within(t, waitLimit, "/readyz to answer 200 again", func() bool {
		code, _ := ready(n.OpsURL())
		return code == http.StatusOK
	})
	if code, body := get(t, n.APIURL+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("API /healthz: %d %q", code, body)
	}
}

// mqttNext waits until ch (opened with tag) has an item readable and
// returns its type.
func mqttNext(t *testing.T, ctx context.Context, d *device.Device, nw *device.Net, ch *device.Channel, tag uint32) abi.MQTTReadableDataType {
	t.Helper()
	for {
		typ, st := d.MQTTGetNextReadableDataType(ch)
		if st != abi.StatusOkay {
			t.Fatalf("mvMqttGetNextReadableDataType: %v", st)
		}
		if typ != abi.MQTTReadableDataTypeNone {
			return typ
		}
		if _, err := nw.Centre.WaitFor(ctx, tag, abi.EventTypeChannelDataReadable); err != nil {
			t.Fatalf("no MQTT item: %v", err)
		}
	}
}

// A device's MQTT session with a real broker (Mosquitto): its connect,
// subscribe and publish, and the message the broker sends back, are
// counted.
func TestOpsMetricsCountMQTT(t *testing.T) {
	mosquitto.Require(t)
	ctx := testenv.Context(t, 2*waitLimit)
	br := mosquitto.Start(t, mosquitto.Options{})
	n, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0", ListenOps: "127.0.0.1:0",
		HTTP: httpexec.Options{AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}, MQTTPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	metricsURL := n.OpsURL() + "/metrics"
	before := scrape(t, metricsURL)
	d, nw := newDevice(t, ctx, n)
	const tag = 0x4d51
	ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: nw.Centre, Tag: tag, Network: nw.Handle,
		Type: abi.ChannelTypeMQTT, RxSize: 4096, TxSize: 1024})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvOpenChannel(MQTT): %v %v", st, err)
	}
	if st, err := d.MQTTRequestConnect(ch, device.MQTTConnect{Version: abi.MQTTProtocolVersionV311,
		Host: "127.0.0.1", Port: uint16(br.Port), ClientID: "ops-metrics", Keepalive: 60, CleanStart: true}); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestConnect: %v %v", st, err)
	}
	if typ := mqttNext(t, ctx, d, nw, ch, tag); typ != abi.MQTTReadableDataTypeConnectResponse {
		t.Fatalf("first item %v", typ)
	}
	if r, st := d.MQTTReadConnectResponse(ch); st != abi.StatusOkay || r.RequestState != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("connect: %+v %v", r, st)
	}
	if st, err := d.MQTTRequestSubscribe(ch, 1, []device.MQTTSubscription{{Topic: "ops/metrics", QoS: 0}}); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestSubscribe: %v %v", st, err)
	}
	if typ := mqttNext(t, ctx, d, nw, ch, tag); typ != abi.MQTTReadableDataTypeSubscribeResponse {
		t.Fatalf("second item %v", typ)
	}
	if r, st := d.MQTTReadSubscribeResponse(ch, 8); st != abi.StatusOkay || r.State != abi.MQTTRequestStateRequestCompleted {
		t.Fatalf("subscribe: %+v %v", r, st)
	}
	if st, err := d.MQTTRequestPublish(ch, 2, "ops/metrics", []byte("hello"), 0, false); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvMqttRequestPublish: %v %v", st, err)
	}
	// The publish's response and the message back, in either order.
	for range 2 {
		switch typ := mqttNext(t, ctx, d, nw, ch, tag); typ {
		case abi.MQTTReadableDataTypePublishResponse:
			if _, st := d.MQTTReadPublishResponse(ch); st != abi.StatusOkay {
				t.Fatalf("mvMqttReadPublishResponse: %v", st)
			}
		case abi.MQTTReadableDataTypeMessageReceived:
			if m, st := d.MQTTReceiveMessage(ch, 256, 256); st != abi.StatusOkay || string(m.Payload) != "hello" {
				t.Fatalf("mvMqttReceiveMessage: %+v %v", m, st)
			}
		default:
			t.Fatalf("unexpected item %v", typ)
		}
	}
	now := scrape(t, metricsURL)
	for series, want := range map[string]float64{
		`mvnet_mqtt_requests_total{kind="connect",state="MV_MQTTREQUESTSTATE_REQUESTCOMPLETED"}`:   1,
		`mvnet_mqtt_requests_total{kind="subscribe",state="MV_MQTTREQUESTSTATE_REQUESTCOMPLETED"}`: 1,
		`mvnet_mqtt_requests_total{kind="publish",state="MV_MQTTREQUESTSTATE_REQUESTCOMPLETED"}`:   1,
		`mvnet_mqtt_messages_delivered_total`:                                                      1,
	} {
		if got := now[series] - before[series]; got != want {
			t.Errorf("%s moved by %v, want %v", series, got, want)
		}
	}
}

// Once the cloud stops accepting links (it is shutting down), the
// "devices" check fails and says why, while the store's passes.
func TestOpsReadinessNamesTheDeviceListener(t *testing.T) {
	ctx := testenv.Context(t, waitLimit)
	n, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	poll.Within(t, waitLimit, "the node to be ready", func() bool { return len(n.Ready(ctx)) == 0 })
	if err := n.Cloud.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := n.Ready(ctx), []string{"devices: the device listener is not accepting links"}; !slices.Equal(got, want) {
		t.Errorf("Ready after the cloud's shutdown = %q, want %q", got, want)
	}
}

// A node being drained (cloud.Server.Drain: its devices are told to move)
// is not ready, and says why: a load balancer stops sending it new links.
func TestOpsReadinessNamesTheDrain(t *testing.T) {
	ctx := testenv.Context(t, waitLimit)
	n, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	poll.Within(t, waitLimit, "the node to be ready", func() bool { return len(n.Ready(ctx)) == 0 })
	if err := n.Cloud.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	got := n.Ready(ctx)
	if !slices.Contains(got, "draining: the node is draining: its devices are moving to other nodes") {
		t.Errorf("Ready after Drain = %q, want the draining check among them", got)
	}
}
