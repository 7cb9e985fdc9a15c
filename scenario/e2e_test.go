package scenario_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/scenario"
)

// The Go door end to end: a real in-process cloud, a real HTTPS server on
// 127.0.0.1, a device driven through package device, and a scenario whose
// when: {request: ...} step drops the link while the request is in flight.

const waitLimit = 15 * time.Second

// e2e runs src (with BASE replaced by the server's base URL) while the
// device requests /block (which never answers; the scenario drops the link
// as the cloud sends it), waits for
// its channel to lose its connection and the network to come back, and
// then requests /hello. It returns the report.
func e2e(t *testing.T, src string) *scenario.Report {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello, device") })
	srv := testenv.NewServer(t, mux)

	var relay scenario.Relay
	// The cloud tells the run what the device does (its Observe hook).
	// Observations arrive on the cloud's own goroutine, possibly after the
	// device has its answer: helloSeen says the run has the /hello one.
	helloSeen := make(chan struct{})
	var helloOnce sync.Once
	opts := cloud.Options{HTTP: srv.HTTPOptions(), Observe: func(o cloud.Observation) {
		relay.Observe(o)
		if o.Kind == cloud.ObserveHTTPRequest && strings.HasSuffix(o.URL, "/hello") {
			helloOnce.Do(func() { close(helloSeen) })
		}
	}}
	c := testenv.NewCloud(t, opts)
	d := testenv.NewDevice(t, c, device.Options{})
	ctx := testenv.Context(t, 45*time.Second)

	sc, err := scenario.Parse("e2e.yaml", []byte(strings.ReplaceAll(src, "BASE", srv.Base)))
	if err != nil {
		t.Fatal(err)
	}
	run, err := scenario.Start(ctx, sc, scenario.Target{Device: d.ID(), Faults: c.Faults()}, scenario.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	relay.Set(run)

	cctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	n, err := d.Connect(cctx, 51)
	if err != nil {
		t.Fatalf("connecting the device: %v", err)
	}
	open := func(tag uint32) *device.Channel {
		t.Helper()
		ch, st, err := d.OpenChannel(device.ChannelConfig{Centre: n.Centre, Tag: tag, Network: n.Handle, Type: abi.ChannelTypeHTTP, RxSize: 4096, TxSize: 1024})
		if err != nil || st != abi.StatusOkay {
			t.Fatalf("mvOpenChannel: %s %v", st, err)
		}
		return ch
	}
	wait := func(tag uint32, ev abi.EventType) {
		t.Helper()
		for {
			got, err := n.Centre.Wait(cctx)
			if err != nil {
				t.Fatalf("waiting for %s on tag %#x: %v", ev, tag, err)
			}
			if got.Tag == tag && got.EventType == ev {
				return
			}
		}
	}

	ch := open(0x100)
	if st, err := d.SendHTTPRequest(ch, device.HTTPRequest{Method: "GET", URL: srv.URL("/block"), TimeoutMS: 10000}); st != abi.StatusOkay || err != nil {
		t.Fatalf("mvSendHttpRequest /block: %s %v", st, err)
	}
	// The scenario's step drops the link as the cloud sends the request
	// upstream: the application sees its channel lose the connection.
	wait(0x100, abi.EventTypeChannelNotConnected)
	if r, st := d.GetChannelClosureReason(ch); st != abi.StatusOkay || r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s (%s), want CONNECTIONTERMINATED", r, st)
	}
	_ = d.CloseChannel(ch)
	// The drop lasts for: 300ms; the device reconnects and retries.
	for {
		s, st := d.GetNetworkStatus(n.Handle)
		if st != abi.StatusOkay {
			t.Fatalf("mvGetNetworkStatus: %s", st)
		}
		if s == abi.NetworkStatusConnected {
			break
		}
		wait(0x4e4554, abi.EventTypeNetworkStatusChanged)
	}
	ch2 := open(0x101)
	if st, err := d.SendHTTPRequest(ch2, device.HTTPRequest{Method: "GET", URL: srv.URL("/hello"), TimeoutMS: 10000}); st != abi.StatusOkay || err != nil {
		t.Fatalf("mvSendHttpRequest /hello: %s %v", st, err)
	}
	wait(0x101, abi.EventTypeChannelDataReadable)
	if data, st := d.ReadHTTPResponseData(ch2); st != abi.StatusOkay || data.StatusCode != 200 {
		t.Fatalf("the retried request: %s status %d", st, data.StatusCode)
	}
	_ = d.CloseChannel(ch2)
	if !sc.StopWhenMet {
		select {
		case <-helloSeen:
		case <-cctx.Done():
			t.Fatal("the cloud never observed the request to /hello")
		}
		return run.Finish()
	}
	select {
	case <-run.Done():
	case <-cctx.Done():
		t.Fatal("the run did not end once every expectation was decided")
	}
	return run.Finish()
}

const e2eTimeline = `version: 1
name: http-get survives a link drop
duration: 40s
timeline:
  - name: drop mid-request
    when: {request: "BASE/block"}
    apply: {kind: link-drop, for: 300ms}
`

func TestGoDoorPasses(t *testing.T) {
	rep := e2e(t, e2eTimeline+`expect:
  - request: {url: "BASE/block", method: GET}
  - fault: link-drop started
  - fault: link-drop ended
  - request: {url: "BASE/hello"}
    name: retried after the drop
  - never: {request: "BASE/admin*"}
`)
	var sum bytes.Buffer
	_ = rep.WriteSummary(&sum)
	if rep.Failed() || len(rep.Results) != 5 {
		t.Fatalf("report:\n%s", sum.String())
	}
	if !strings.Contains(sum.String(), "  PASS retried after the drop\n") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func TestGoDoorFails(t *testing.T) {
	rep := e2e(t, e2eTimeline+`stop-when-met: false
expect:
  - request: {url: "BASE/block", count: 2}
  - fault: link-drop ended
`)
	if !rep.Failed() || len(rep.Results) != 2 || rep.Results[0].Passed || !rep.Results[1].Passed {
		t.Fatalf("results %+v, want the first to fail and the second to pass", rep.Results)
	}
	why := rep.Results[0].Why
	for _, want := range []string{"saw 1 of 2 requests to https://api.mvnet.test:", "/block during the run (", `; last requests: "GET https://api.mvnet.test:`, `/block", "GET https://api.mvnet.test:`, `/hello"`} {
		if !strings.Contains(why, want) {
			t.Errorf("why %q lacks %q", why, want)
		}
	}
	var junit bytes.Buffer
	if err := rep.WriteJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(junit.String(), `tests="2" failures="1" errors="0"`) || !strings.Contains(junit.String(), `<failure message="saw 1 of 2 requests`) {
		t.Errorf("JUnit:\n%s", junit.String())
	}
}
