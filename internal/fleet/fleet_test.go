package fleet_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/fleet"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/node"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/kernel"
)

// fleetSize is the tests' fleet: enough devices to run concurrently, few
// enough for a loaded 2-core machine.
const fleetSize = 20

// rig is a cloud node in this process with a counting HTTPS server it may
// reach, and fleetSize devices registered in it.
type rig struct {
	node    *node.Node
	web     *testenv.Server
	hits    atomic.Int64 // requests the HTTPS server answered
	bundles []*device.Bundle
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{}
	r.web = testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		if req.URL.Path == "/fail" {
			http.Error(w, "failing on purpose", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	ctx := testenv.Context(t, 60*time.Second)
	n, err := node.Start(ctx, node.Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0",
		HTTP: r.web.HTTPOptions(), MQTTPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	r.node = n
	if _, err := n.Store.PutConfig(ctx, store.AccountScope, fleet.DefaultConfigKey, []byte("42"), store.Upsert); err != nil {
		t.Fatal(err)
	}
	for range fleetSize {
		b, err := n.CreateDevice(ctx, kernel.NewDeviceID(), "")
		if err != nil {
			t.Fatal(err)
		}
		r.bundles = append(r.bundles, b)
	}
	return r
}

// logLines counts the lines the store holds for the fleet's devices.
func (r *rig) logLines(t *testing.T) int {
	t.Helper()
	total := 0
	for _, b := range r.bundles {
		from := store.LogFrom{}
		for {
			l, err := r.node.Store.ReadLogs(context.Background(), b.DeviceSid, from, store.MaxPageSize)
			if err != nil {
				t.Fatal(err)
			}
			total += len(l)
			if len(l) < store.MaxPageSize {
				break
			}
			from = store.LogFrom{Seq: l[len(l)-1].StreamSeq + 1}
		}
	}
	return total
}

// run runs the fleet and checks that its report survives JSON.
func (r *rig) run(t *testing.T, o fleet.Options) *fleet.Report {
	t.Helper()
	o.Bundles = r.bundles
	if o.OpTimeout == 0 {
		o.OpTimeout = 20 * time.Second
	}
	rep, err := fleet.Run(testenv.Context(t, 2*time.Minute), o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back fleet.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, b)
	}
	if back.Connect.Connected != rep.Connect.Connected || len(back.Ops) != len(rep.Ops) {
		t.Fatalf("the JSON report decodes to another report:\n%s", b)
	}
	if rep.Connect.Connected != fleetSize || rep.Connect.Failed != 0 {
		t.Fatalf("connected %d of %d: %+v", rep.Connect.Connected, fleetSize, rep.Connect)
	}
	return rep
}

// opOK checks that op ran want times, all successful, and returns its
// report.
func opOK(t *testing.T, rep *fleet.Report, op string, want int) *fleet.OpReport {
	t.Helper()
	o := rep.Op(op)
	if o == nil {
		t.Fatalf("no %s in the report: %+v", op, rep.Ops)
	}
	if o.Count != want || o.OK != want || o.Failed != 0 || len(o.Errors) != 0 {
		t.Fatalf("%s: %+v, want %d OK", op, *o, want)
	}
	if o.Latency.P50 <= 0 || o.Latency.P50 > o.Latency.P99 || o.Latency.P99 > o.Latency.P999 || o.Latency.P999 > o.Latency.Max {
		t.Fatalf("%s latencies out of order: %+v", op, o.Latency)
	}
	return o
}

// TestFleetScenarios runs a fleet of fleetSize devices over real TLS links
// to a node in this process, one burst per scenario, and checks the report
// against what the servers saw: requests at the HTTPS server, lines in the
// log store, messages at Mosquitto.
func TestFleetScenarios(t *testing.T) {
	r := newRig(t)
	// Mosquitto only for the subtests that publish (skipped without it,
	// failed under CI).
	var (
		br        *mosquitto.Broker
		published atomic.Int64
	)
	broker := func(st *testing.T) *mosquitto.Broker {
		mosquitto.Require(st)
		if br == nil {
			br = mosquitto.Start(t, mosquitto.Options{})
			subscribe(t, br, func() { published.Add(1) })
		}
		return br
	}

	t.Run("http", func(t *testing.T) {
		before := r.hits.Load()
		rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpHTTP}, URL: r.web.URL("/ok")})
		opOK(t, rep, fleet.OpHTTP, fleetSize)
		if got := r.hits.Load() - before; got != fleetSize {
			t.Fatalf("the HTTPS server answered %d requests, the report says %d", got, fleetSize)
		}
	})
	t.Run("logs", func(t *testing.T) {
		before := r.logLines(t)
		rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpLogs}})
		opOK(t, rep, fleet.OpLogs, fleetSize)
		if got := r.logLines(t) - before; got != fleetSize || rep.LogsUnacknowledged != 0 {
			t.Fatalf("the store holds %d new lines (%d unacknowledged), the report says %d", got, rep.LogsUnacknowledged, fleetSize)
		}
	})
	t.Run("config", func(t *testing.T) {
		rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpConfig}})
		opOK(t, rep, fleet.OpConfig, fleetSize)
		// A key the store does not hold: every fetch fails, by its result.
		rep = r.run(t, fleet.Options{Scenario: []string{fleet.OpConfig}, ConfigKey: "no-such-key"})
		if o := rep.Op(fleet.OpConfig); o.Failed != fleetSize || o.Errors["MV_CONFIGKEYFETCHRESULT_KEYNOTFOUND"] != fleetSize {
			t.Fatalf("config of a missing key: %+v", *o)
		}
	})
	t.Run("mqtt", func(t *testing.T) {
		br := broker(t)
		before := published.Load()
		rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpMQTT}, Broker: br.Addr})
		opOK(t, rep, fleet.OpMQTTConnect, fleetSize)
		opOK(t, rep, fleet.OpMQTT, fleetSize)
		poll.Until(t, "the subscriber to receive every message", func() bool { return published.Load()-before >= fleetSize })
		if got := published.Load() - before; got != fleetSize {
			t.Fatalf("the broker delivered %d messages, the report says %d", got, fleetSize)
		}
	})
	t.Run("mixed at a rate, along a ramp", func(t *testing.T) {
		br := broker(t)
		hits, lines, msgs := r.hits.Load(), r.logLines(t), published.Load()
		rep := r.run(t, fleet.Options{Scenario: []string{fleet.Mixed}, URL: r.web.URL("/ok"), Broker: br.Addr,
			Rate: 40, Duration: time.Second, Ramp: 200 * time.Millisecond})
		n := rep.Op(fleet.OpHTTP).Count
		if n == 0 {
			t.Fatalf("no iteration ran: %+v", rep.Ops)
		}
		// 40/s for 1 s: 40 iterations due, each run (late or not) once.
		if rep.IterationsDue != 40 || rep.Iterations != 40 || rep.IterationsMissed != 0 || n != 40 || rep.RateAchieved <= 0 {
			t.Fatalf("iterations: %d due, %d ran, %d missed, %d http operations, %g/s achieved; want 40 of each, none missed",
				rep.IterationsDue, rep.Iterations, rep.IterationsMissed, n, rep.RateAchieved)
		}
		for _, op := range []string{fleet.OpHTTP, fleet.OpLogs, fleet.OpConfig, fleet.OpMQTT} {
			opOK(t, rep, op, n)
		}
		if got := r.hits.Load() - hits; got != int64(n) {
			t.Fatalf("the HTTPS server answered %d requests, the report says %d", got, n)
		}
		if got := r.logLines(t) - lines; got != n {
			t.Fatalf("the store holds %d new lines, the report says %d", got, n)
		}
		poll.Until(t, "the subscriber to receive every message", func() bool { return published.Load()-msgs >= int64(n) })
		if got := published.Load() - msgs; got != int64(n) {
			t.Fatalf("the broker delivered %d messages, the report says %d", got, n)
		}
	})
}

// subscribe counts, through a client of its own, the messages br delivers
// on the fleet's topics.
func subscribe(t *testing.T, br *mosquitto.Broker, got func()) {
	t.Helper()
	ctx := testenv.Context(t, time.Minute)
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", br.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: conn, PacketTimeout: 15 * time.Second,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(p paho.PublishReceived) (bool, error) {
			if strings.HasPrefix(p.Packet.Topic, "mvnet-fleet/") {
				got()
			}
			return true, nil
		}}})
	if ca, err := c.Connect(ctx, &paho.Connect{ClientID: "fleet-test-subscriber", KeepAlive: 60, CleanStart: true}); err != nil || ca.ReasonCode != 0 {
		t.Fatalf("subscriber connect: %v %+v", err, ca)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "mvnet-fleet/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
}

// TestFleetFailingTarget: a target answering 503 fails every http
// operation, reported by status; an unreachable one by the relay's result.
func TestFleetFailingTarget(t *testing.T) {
	r := newRig(t)
	rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpHTTP}, URL: r.web.URL("/fail")})
	o := rep.Op(fleet.OpHTTP)
	if o.Failed != fleetSize || o.OK != 0 || o.Errors["HTTP 503"] != fleetSize || rep.Failures() != fleetSize || rep.ErrorRate() <= 0 {
		t.Fatalf("a failing target: %+v (failures %d)", *o, rep.Failures())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	rep = r.run(t, fleet.Options{Scenario: []string{fleet.OpHTTP}, URL: "https://" + closed + "/"})
	if o := rep.Op(fleet.OpHTTP); o.Failed != fleetSize || o.Errors["MV_HTTPRESULT_REQUESTFAILED"] != fleetSize {
		t.Fatalf("an unreachable target: %+v", *o)
	}
}

// TestFleetCloudMetrics: with a metrics endpoint (a real Prometheus page
// served by promhttp from a registry holding the process collector and a
// gauge of the node's connected devices) the report has the cloud's RSS,
// goroutines and devices connected before, idle and after, and per device.
func TestFleetCloudMetrics(t *testing.T) {
	r := newRig(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mvnet_devices_connected", Help: "Devices with a link up."},
		func() float64 { return float64(len(r.node.Cloud.Devices())) }))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := httpServer(t, mux)
	rep := r.run(t, fleet.Options{Scenario: []string{fleet.OpLogs}, Metrics: hs + "/metrics"})
	c := rep.Cloud
	if c.Before == nil || c.Idle == nil || c.After == nil || c.Before.Error != "" || c.Idle.Error != "" {
		t.Fatalf("cloud samples: %+v", c)
	}
	if c.Idle.DevicesConnected == nil || *c.Idle.DevicesConnected != fleetSize || *c.Before.DevicesConnected != 0 {
		t.Fatalf("devices connected before %v, idle %v; want 0 and %d", c.Before.DevicesConnected, c.Idle.DevicesConnected, fleetSize)
	}
	if c.Idle.RSSBytes == nil || *c.Idle.RSSBytes <= 0 || c.Idle.Goroutines == nil || c.RSSPerDeviceBytes == nil || c.GoroutinesPerDevice == nil || *c.GoroutinesPerDevice <= 0 {
		t.Fatalf("cloud report: %+v idle %+v", c, *c.Idle)
	}
	// An endpoint that is not there: the run goes on, the samples say why.
	rep = r.run(t, fleet.Options{Scenario: []string{fleet.OpLogs}, Metrics: hs + "/nowhere"})
	if rep.Cloud.Idle == nil || !strings.Contains(rep.Cloud.Idle.Error, "404") {
		t.Fatalf("a missing endpoint: %+v", rep.Cloud.Idle)
	}
}

// httpServer serves h on a loopback port over plain HTTP, as a node's
// metrics listener does; it returns the base URL.
func httpServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return "http://" + ln.Addr().String()
}
