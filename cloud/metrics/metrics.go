// Package metrics is the cloud's Prometheus instrumentation: what a node's
// operator watches (docs/scaling.md, "Operating a node"). New registers
// every metric on a registry; the cloud (cloud.Options.Metrics), its
// sessions (session.Config.Metrics) and the store (store.Options.Observe,
// through StoreOp) report to it.
//
// Every method is safe on a nil *Metrics, where it does nothing, so the
// code that reports calls m.X() without checking whether metrics are on.
// The methods called per frame or per request touch only counters and
// histograms resolved in New (no label lookup, no allocation), so the
// relayed path pays a few atomic additions per frame and request
// (BenchmarkHooksPerRequest here, BenchmarkRelayedMetricsCost in package
// cloud). Series flattens gathered or scraped metrics for tests and tools.
//
// Every name starts with "mvnet_"; label values are the names the ABI and
// the link give (MV_HTTPRESULT_OK, DATA, …). All the label combinations are
// created in New, so a counter that never moved reads 0 rather than being
// absent.
package metrics

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/link"
)

// Refusal says why a device link was refused before it was admitted: the
// reason label of mvnet_links_refused_total.
type Refusal uint8

// The refusals.
const (
	// RefusedHandshake: the link ended before HELLO — no ClientHello in
	// time, a failed TLS handshake, no device certificate, no or a bad
	// HELLO frame.
	RefusedHandshake Refusal = iota
	// RefusedBusy: too many links from the same address were handshaking
	// (cloud.Options.MaxHandshakesPerIP).
	RefusedBusy
	// RefusedHello: the session refused the HELLO (another device than
	// the certificate's, a wrong version, a malformed ID) or the device
	// hung up before it.
	RefusedHello
	// RefusedNotRegistered: the registry does not know the device.
	RefusedNotRegistered
	// RefusedRegistry: the registry failed to answer.
	RefusedRegistry
	// RefusedLinkDropped: the device's link is dropped by fault injection.
	RefusedLinkDropped
	// RefusedShutdown: the cloud is shutting down.
	RefusedShutdown
	// RefusedDraining: the node is draining (cloud.Server.Drain): the
	// device is told to connect to another node.
	RefusedDraining
	// RefusedOther: a reason this list does not know (LinkRefused counts
	// any out-of-range Refusal here).
	RefusedOther
	numRefusals
)

var refusalNames = [numRefusals]string{
	RefusedHandshake:     "handshake",
	RefusedBusy:          "busy",
	RefusedHello:         "hello",
	RefusedNotRegistered: "not_registered",
	RefusedRegistry:      "registry_error",
	RefusedLinkDropped:   "link_dropped",
	RefusedShutdown:      "shutdown",
	RefusedDraining:      "draining",
	RefusedOther:         "other",
}

// String is the refusal's label value.
func (r Refusal) String() string {
	if r < numRefusals {
		return refusalNames[r]
	}
	return refusalNames[RefusedOther]
}

// Store operations reported by the store (store.Options.Observe), the op
// label of mvnet_store_op_duration_seconds. Other names are accepted too.
const (
	StoreConfigFetch      = "config_fetch"      // one key of a device's config fetch
	StoreLogAppend        = "log_append"        // storing one log line
	StoreLoggingEnabled   = "logging_enabled"   // a device's logging setting
	StoreDeviceRegistered = "device_registered" // the registry check at a link's HELLO
	StorePing             = "ping"              // JetStream account info (readiness)
)

var storeOps = [...]string{StoreConfigFetch, StoreLogAppend, StoreLoggingEnabled, StoreDeviceRegistered, StorePing}

// Histogram buckets, in seconds.
var (
	// httpBuckets: 5 ms to 41 s (a request's timeout is at most 10 s on
	// the device, but the cloud may queue it).
	httpBuckets = prometheus.ExponentialBuckets(0.005, 2, 14)
	// storeBuckets: 100 µs to 3.3 s.
	storeBuckets = prometheus.ExponentialBuckets(0.0001, 2, 16)
)

// Metrics are one cloud node's metrics. Create them with New.
type Metrics struct {
	linksAccepted prometheus.Counter
	linksRefused  [numRefusals]prometheus.Counter
	framesIn      [256]prometheus.Counter // by link.FrameType
	framesOut     [256]prometheus.Counter
	httpResults   [len(httpResults) + 1]prometheus.Counter // the last: unknown results
	httpDuration  prometheus.Histogram
	mqttRequests  [mqttKinds + 1][len(mqttStates) + 1]prometheus.Counter
	mqttMessages  prometheus.Counter
	configFetches [len(configResults) + 1]prometheus.Counter
	configKeys    [len(keyResults) + 1]prometheus.Counter
	logStored     prometheus.Counter
	logDiscarded  prometheus.Counter
	storeVec      *prometheus.HistogramVec
	storeOps      [len(storeOps)]prometheus.Observer

	// src gives the gauges read at scrape time (Watch).
	src atomic.Pointer[source]
}

type source struct{ connected, handshakes func() int }

// The label values, in the ABI's order (so a value indexes its counter).
var (
	httpResults = [...]abi.HTTPResult{abi.HTTPResultOK, abi.HTTPResultUnsupportedURIScheme,
		abi.HTTPResultUnsupportedMethod, abi.HTTPResultInvalidHeaders, abi.HTTPResultInvalidTimeout,
		abi.HTTPResultRequestFailed, abi.HTTPResultResponseTooLarge}
	mqttStates = [...]abi.MQTTRequestState{abi.MQTTRequestStateRequestCompleted,
		abi.MQTTRequestStateInvalidParameters, abi.MQTTRequestStateAlreadyConnected,
		abi.MQTTRequestStateNotConnected, abi.MQTTRequestStateNXDomain, abi.MQTTRequestStateUnknownCA,
		abi.MQTTRequestStateCertificateExpired, abi.MQTTRequestStateSocketError,
		abi.MQTTRequestStateConnectionCircuitBreaker}
	configResults = [...]abi.ConfigFetchResult{abi.ConfigFetchResultOK, abi.ConfigFetchResultResponseTooLarge}
	keyResults    = [...]abi.ConfigKeyFetchResult{abi.ConfigKeyFetchResultOK,
		abi.ConfigKeyFetchResultKeyNotFound, abi.ConfigKeyFetchResultServerError}
)

// mqttKinds is the highest mqttbridge.Kind (they count from 1).
const mqttKinds = int(mqttbridge.KindDisconnect)

// New creates the metrics and registers them, with the Go runtime's and the
// process's collectors (memory, goroutines, open file descriptors), on reg.
// It panics if reg already holds any of them (prometheus.MustRegister): use
// a registry per node.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{}
	counterVec := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		reg.MustRegister(v)
		return v
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	gauge := func(name, help string, f func(*source) func() int) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 {
			if s := m.src.Load(); s != nil && f(s) != nil {
				return float64(f(s)())
			}
			return 0
		}))
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	gauge("mvnet_devices_connected", "Devices whose link is up (past HELLO) on this node.",
		func(s *source) func() int { return s.connected })
	gauge("mvnet_handshakes_in_progress", "Device links in their TLS handshake or waiting for HELLO.",
		func(s *source) func() int { return s.handshakes })

	m.linksAccepted = counter("mvnet_links_accepted_total", "Device links admitted (HELLO accepted, WELCOME sent).")
	refused := counterVec("mvnet_links_refused_total", "Device links ended before they were admitted, by reason.", "reason")
	for r := range numRefusals {
		m.linksRefused[r] = refused.WithLabelValues(r.String())
	}

	in := counterVec("mvnet_link_frames_in_total", "Link frames received from devices, by frame type.", "type")
	out := counterVec("mvnet_link_frames_out_total", "Link frames sent to devices, by frame type.", "type")
	inOther, outOther := in.WithLabelValues("other"), out.WithLabelValues("other")
	for t := range m.framesIn {
		m.framesIn[t], m.framesOut[t] = inOther, outOther
		if name := link.FrameType(t).String(); !strings.HasPrefix(name, "FrameType(") {
			m.framesIn[t], m.framesOut[t] = in.WithLabelValues(name), out.WithLabelValues(name)
		}
	}

	hr := counterVec("mvnet_http_requests_total", "Relayed HTTP requests completed, by MvHttpResult.", "result")
	for i, r := range httpResults {
		m.httpResults[i] = hr.WithLabelValues(r.String())
	}
	m.httpResults[len(httpResults)] = hr.WithLabelValues("other")
	m.httpDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mvnet_http_request_duration_seconds",
		Help: "Time from a relayed HTTP request's start upstream to its response (any result).", Buckets: httpBuckets})
	reg.MustRegister(m.httpDuration)

	mr := counterVec("mvnet_mqtt_requests_total", "MQTT requests answered (connect, subscribe, unsubscribe, publish, disconnect), by MvMqttRequestState.", "kind", "state")
	for k := 1; k <= mqttKinds; k++ {
		kind := mqttbridge.Kind(k).String()
		for i, st := range mqttStates {
			m.mqttRequests[k][i] = mr.WithLabelValues(kind, st.String())
		}
		m.mqttRequests[k][len(mqttStates)] = mr.WithLabelValues(kind, "other")
	}
	for i := range m.mqttRequests[0] {
		m.mqttRequests[0][i] = mr.WithLabelValues("other", "other")
	}
	m.mqttMessages = counter("mvnet_mqtt_messages_delivered_total", "Incoming MQTT messages (or lost-message notices) queued for devices.")

	cf := counterVec("mvnet_config_fetches_total", "Config fetches answered, by MvConfigFetchResult.", "result")
	for i, r := range configResults {
		m.configFetches[i] = cf.WithLabelValues(r.String())
	}
	m.configFetches[len(configResults)] = cf.WithLabelValues("other")
	ck := counterVec("mvnet_config_keys_total", "Keys of config fetches answered, by MvConfigKeyFetchResult.", "result")
	for i, r := range keyResults {
		m.configKeys[i] = ck.WithLabelValues(r.String())
	}
	m.configKeys[len(keyResults)] = ck.WithLabelValues("other")

	ll := counterVec("mvnet_log_lines_total", "Device server log lines: stored, or discarded because logging is disabled for the device.", "result")
	m.logStored, m.logDiscarded = ll.WithLabelValues("stored"), ll.WithLabelValues("discarded")

	m.storeVec = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mvnet_store_op_duration_seconds",
		Help: "Latency of store (NATS JetStream) operations, by operation.", Buckets: storeBuckets}, []string{"op"})
	reg.MustRegister(m.storeVec)
	for i, op := range storeOps {
		m.storeOps[i] = m.storeVec.WithLabelValues(op)
	}
	return m
}

// Watch sets the functions the gauges mvnet_devices_connected and
// mvnet_handshakes_in_progress read at each scrape (the cloud.Server's);
// nil reads 0. One cloud reports to a Metrics: a later Watch replaces an
// earlier one.
func (m *Metrics) Watch(connected, handshakes func() int) {
	if m == nil {
		return
	}
	m.src.Store(&source{connected: connected, handshakes: handshakes})
}

// LinkAccepted counts a device link admitted.
func (m *Metrics) LinkAccepted() {
	if m == nil {
		return
	}
	m.linksAccepted.Inc()
}

// LinkRefused counts a device link refused for r.
func (m *Metrics) LinkRefused(r Refusal) {
	if m == nil {
		return
	}
	if r >= numRefusals {
		r = RefusedOther
	}
	m.linksRefused[r].Inc()
}

// FrameIn counts a frame received from a device.
func (m *Metrics) FrameIn(t link.FrameType) {
	if m == nil {
		return
	}
	m.framesIn[t].Inc()
}

// FrameOut counts a frame sent to a device.
func (m *Metrics) FrameOut(t link.FrameType) {
	if m == nil {
		return
	}
	m.framesOut[t].Inc()
}

// HTTPRequest counts a relayed HTTP request that ended with result after d.
func (m *Metrics) HTTPRequest(result abi.HTTPResult, d time.Duration) {
	if m == nil {
		return
	}
	m.httpResults[min(int(result), len(httpResults))].Inc()
	m.httpDuration.Observe(d.Seconds())
}

// MQTTResult counts an MQTT request of kind answered with state.
func (m *Metrics) MQTTResult(kind mqttbridge.Kind, state abi.MQTTRequestState) {
	if m == nil {
		return
	}
	k := int(kind)
	if k > mqttKinds {
		k = 0
	}
	m.mqttRequests[k][min(int(state), len(mqttStates))].Inc()
}

// MQTTMessage counts an incoming MQTT message queued for a device.
func (m *Metrics) MQTTMessage() {
	if m == nil {
		return
	}
	m.mqttMessages.Inc()
}

// ConfigFetch counts a config fetch answered with resp (and its keys).
func (m *Metrics) ConfigFetch(resp *link.ConfigResponse) {
	if m == nil {
		return
	}
	m.configFetches[min(int(resp.Result), len(configResults))].Inc()
	for i := range resp.Items {
		m.configKeys[min(int(resp.Items[i].Result), len(keyResults))].Inc()
	}
}

// LogLine counts a device's server log line: stored, or discarded because
// logging is disabled for the device.
func (m *Metrics) LogLine(stored bool) {
	if m == nil {
		return
	}
	if stored {
		m.logStored.Inc()
	} else {
		m.logDiscarded.Inc()
	}
}

// StoreOp records that the store operation op took d. Its signature is
// store.Options.Observe's.
func (m *Metrics) StoreOp(op string, d time.Duration) {
	if m == nil {
		return
	}
	for i, known := range storeOps {
		if op == known {
			m.storeOps[i].Observe(d.Seconds())
			return
		}
	}
	m.storeVec.WithLabelValues(op).Observe(d.Seconds())
}

// Series flattens metric families (a registry's Gather, or a scrape parsed
// with expfmt) into series → value, for tests and tools that read a node's
// metrics: a series is named `name{label="value",…}` with its labels
// sorted (just `name` without labels); a histogram gives its count as
// `name_count{…}`. Summaries are left out.
func Series(mfs []*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			slices.Sort(labels)
			suffix := ""
			if len(labels) > 0 {
				suffix = "{" + strings.Join(labels, ",") + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[mf.GetName()+suffix] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()+suffix] = m.GetGauge().GetValue()
			case m.GetUntyped() != nil:
				out[mf.GetName()+suffix] = m.GetUntyped().GetValue()
			case m.GetHistogram() != nil:
				out[mf.GetName()+"_count"+suffix] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}
