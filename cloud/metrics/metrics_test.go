package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/link"
)

// Every method does nothing on a nil *Metrics (metrics off).
func TestNilMetricsAreSafe(t *testing.T) {
	var m *metrics.Metrics
	m.Watch(func() int { return 1 }, nil)
	m.LinkAccepted()
	m.LinkRefused(metrics.RefusedBusy)
	m.FrameIn(link.FrameData)
	m.FrameOut(link.FrameData)
	m.HTTPRequest(abi.HTTPResultOK, time.Second)
	m.MQTTResult(mqttbridge.KindConnect, abi.MQTTRequestStateRequestCompleted)
	m.MQTTMessage()
	m.ConfigFetch(&link.ConfigResponse{})
	m.LogLine(true)
	m.StoreOp(metrics.StoreLogAppend, time.Millisecond)
}

// Each report moves its own series by one, out-of-range values land in
// "other", and the gauges read what Watch gave at scrape time.
func TestMetricsCount(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	devices := 0
	m.Watch(func() int { return devices }, func() int { return 2 })
	devices = 3

	m.LinkAccepted()
	m.LinkRefused(metrics.RefusedNotRegistered)
	m.LinkRefused(metrics.Refusal(200)) // not "draining", the last known
	m.FrameIn(link.FrameHello)
	m.FrameIn(link.FrameType(200))
	m.FrameOut(link.FrameWelcome)
	m.FrameOut(link.FrameWelcome)
	m.HTTPRequest(abi.HTTPResultRequestFailed, 30*time.Millisecond)
	m.HTTPRequest(abi.HTTPResult(99), time.Millisecond)
	m.MQTTResult(mqttbridge.KindPublish, abi.MQTTRequestStateRequestCompleted)
	m.MQTTResult(mqttbridge.Kind(77), abi.MQTTRequestState(77))
	m.MQTTMessage()
	m.ConfigFetch(&link.ConfigResponse{Result: uint32(abi.ConfigFetchResultOK),
		Items: []link.ConfigItem{{Result: uint8(abi.ConfigKeyFetchResultOK)}, {Result: uint8(abi.ConfigKeyFetchResultKeyNotFound)}}})
	m.LogLine(true)
	m.LogLine(false)
	m.LogLine(false)
	m.StoreOp(metrics.StoreConfigFetch, time.Millisecond)
	m.StoreOp("custom_op", time.Millisecond)

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := metrics.Series(mfs)
	for key, want := range map[string]float64{
		`mvnet_devices_connected`:                                                                3,
		`mvnet_handshakes_in_progress`:                                                           2,
		`mvnet_links_accepted_total`:                                                             1,
		`mvnet_links_refused_total{reason="not_registered"}`:                                     1,
		`mvnet_links_refused_total{reason="busy"}`:                                               0,
		`mvnet_links_refused_total{reason="other"}`:                                              1,
		`mvnet_links_refused_total{reason="draining"}`:                                           0,
		`mvnet_link_frames_in_total{type="HELLO"}`:                                               1,
		`mvnet_link_frames_in_total{type="other"}`:                                               1,
		`mvnet_link_frames_out_total{type="WELCOME"}`:                                            2,
		`mvnet_link_frames_out_total{type="DATA"}`:                                               0,
		`mvnet_http_requests_total{result="MV_HTTPRESULT_REQUESTFAILED"}`:                        1,
		`mvnet_http_requests_total{result="other"}`:                                              1,
		`mvnet_http_requests_total{result="MV_HTTPRESULT_OK"}`:                                   0,
		`mvnet_http_request_duration_seconds_count`:                                              2,
		`mvnet_mqtt_requests_total{kind="publish",state="MV_MQTTREQUESTSTATE_REQUESTCOMPLETED"}`: 1,
		`mvnet_mqtt_requests_total{kind="other",state="other"}`:                                  1,
		`mvnet_mqtt_messages_delivered_total`:                                                    1,
		`mvnet_config_fetches_total{result="MV_CONFIGFETCHRESULT_OK"}`:                           1,
		`mvnet_config_keys_total{result="MV_CONFIGKEYFETCHRESULT_OK"}`:                           1,
		`mvnet_config_keys_total{result="MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND"}`:                  1,
		`mvnet_log_lines_total{result="stored"}`:                                                 1,
		`mvnet_log_lines_total{result="discarded"}`:                                              2,
		`mvnet_store_op_duration_seconds_count{op="config_fetch"}`:                               1,
		`mvnet_store_op_duration_seconds_count{op="custom_op"}`:                                  1,
		`mvnet_store_op_duration_seconds_count{op="log_append"}`:                                 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds"} {
		if n, err := testutil.GatherAndCount(reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, %v", name, n, err)
		}
	}
}

// The per-frame and per-request reports allocate nothing.
func TestHotPathAllocatesNothing(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry())
	op := strings.Clone(metrics.StoreLogAppend) // as the store passes it: not a constant
	if n := testing.AllocsPerRun(100, func() {
		m.FrameIn(link.FrameData)
		m.FrameOut(link.FrameCredit)
		m.HTTPRequest(abi.HTTPResultOK, time.Millisecond)
		m.StoreOp(op, time.Millisecond)
	}); n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

// BenchmarkHooksPerRequest is what the metrics hooks of one relayed HTTP
// request cost: the frames it takes (OPEN, DATA and CLOSE in; CREDIT,
// DATA and CLOSE out) and the request's result and duration. Compare with
// a relayed request's time (BenchmarkRelayedMetricsCost in package cloud:
// about 10⁵ ns).
func BenchmarkHooksPerRequest(b *testing.B) {
	m := metrics.New(prometheus.NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.FrameIn(link.FrameOpen)
		m.FrameIn(link.FrameData)
		m.FrameOut(link.FrameCredit)
		m.HTTPRequest(abi.HTTPResultOK, 20*time.Millisecond)
		m.FrameOut(link.FrameData)
		m.FrameIn(link.FrameClose)
	}
}
