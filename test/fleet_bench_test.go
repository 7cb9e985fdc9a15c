package test

// Issue 11's one-node table, reproduced: `mvnet cloud serve` in its own
// process, `mvnet fleet` in another (a 10,000-device run needs more file
// descriptors than one process may hold: 20,000 here), every device
// connected, then a burst of one relayed GET and one log line each; the
// same GETs, all at once, straight from this process give the baseline.
//
//	MVNET_FLEET_DEVICES=1000 go test ./test -run '^$' -bench BenchmarkFleetBurst -benchtime 1x
//
// MVNET_FLEET_RAMP (e.g. 500/s) connects the devices along that ramp
// (`mvnet fleet --ramp`) instead of all at once.
//
// docs/scaling.md ("One node") has the figures and the `mvnet fleet`
// commands behind them.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/fleet"
	"github.com/mvnet/mvnet/internal/testenv"
)

// fleetBenchDevices is the fleet's size unless MVNET_FLEET_DEVICES says
// otherwise: small, so that a plain -bench run stays short.
const fleetBenchDevices = 200

func fleetDevices(b *testing.B) int {
	s := os.Getenv("MVNET_FLEET_DEVICES")
	if s == "" {
		return fleetBenchDevices
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("MVNET_FLEET_DEVICES=%q: want a number of devices", s)
	}
	return n
}

// BenchmarkFleetBurst: N devices (MVNET_FLEET_DEVICES, default 200) of a
// `mvnet cloud serve` process, driven by a `mvnet fleet` process; one op
// is one fleet run (connect all, burst, drain). Metrics:
//   - ok-fraction: GETs and log lines that succeeded, over all;
//   - get-p50-s, get-p99-s, get/s: the relayed GETs' latency and
//     throughput (successful GETs from the first's start to the last's
//     end);
//   - direct-get/s, direct-p99-s, direct-ok-fraction: the same N GETs at
//     once from this process (net/http's default transport, its HTTP/2
//     connection to the server up first, at most the cloud's
//     httpexec.DefaultMaxConnsPerHost connections, 10 s timeout like a
//     relayed one);
//   - relayed/direct: get/s over direct-get/s;
//   - upstream-conns: connections from the cloud that carried requests to
//     the HTTPS server;
//   - idle-rss-KiB/device: the cloud's RSS growth from before the fleet
//     to all devices connected and idle, per device (the node's own
//     /metrics, --listen-ops, read by the fleet through --metrics);
//     rss-KiB/device is its whole idle RSS per device, and
//     goroutines/device its goroutines per connected device;
//   - connect/s: devices connected per second.
func BenchmarkFleetBurst(b *testing.B) {
	n := fleetDevices(b)
	bin := buildMvnet(b)

	var (
		mu    sync.Mutex
		peers = map[string]bool{}
	)
	web := testenv.NewServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		peers[r.RemoteAddr] = true
		mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, benchBody)
	}))
	dir := b.TempDir()
	caFile := filepath.Join(dir, "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.CA.Cert.Raw}), 0o644); err != nil {
		b.Fatal(err)
	}

	// The devices, on the data directory before the cloud starts (the
	// device CA as the cloud's first start would make it).
	data, bundles := filepath.Join(dir, "data"), filepath.Join(dir, "fleet")
	if err := os.MkdirAll(data, 0o700); err != nil {
		b.Fatal(err)
	}
	if _, err := devca.Open(filepath.Join(data, "devca")); err != nil {
		b.Fatal(err)
	}
	addr := freeAddr(b)
	if out, err := exec.Command(bin, "device", "create", "--data-dir", data, "--cloud-address", addr,
		"--count", strconv.Itoa(n), "--out", bundles).CombinedOutput(); err != nil {
		b.Fatalf("mvnet device create --count %d: %v\n%s", n, err, out)
	}
	ops := freeAddr(b)
	serveCloudProcess(b, bin, "--data-dir", data, "--listen-devices", addr, "--listen-ops", ops,
		"--allow", "127.0.0.0/8", "--resolve", web.Resolve, "--ca-file", caFile)
	metrics := "http://" + ops + "/metrics"

	for b.Loop() {
		mu.Lock()
		clear(peers)
		mu.Unlock()
		args := []string{"--bundles", bundles, "--scenario", "http,logs", "--url", web.URL("/"),
			"--metrics", metrics, "--output", "json", "--quiet", "--max-error-rate", "1"}
		if ramp := os.Getenv("MVNET_FLEET_RAMP"); ramp != "" {
			args = append(args, "--ramp", ramp)
		}
		rep := runFleet(b, bin, args...)
		mu.Lock()
		upstream := len(peers)
		mu.Unlock()
		get, logs := rep.Op(fleet.OpHTTP), rep.Op(fleet.OpLogs)
		if get == nil || logs == nil {
			b.Fatalf("the report has no http or logs: %+v", rep.Ops)
		}
		getOKPerSecond := get.PerSecond * float64(get.OK) / float64(max(get.Count, 1))
		b.ReportMetric(float64(get.OK+logs.OK)/float64(2*n), "ok-fraction")
		b.ReportMetric(get.Latency.P50/1e3, "get-p50-s")
		b.ReportMetric(get.Latency.P99/1e3, "get-p99-s")
		b.ReportMetric(getOKPerSecond, "get/s")
		b.ReportMetric(float64(upstream), "upstream-conns")
		b.ReportMetric(rep.Connect.PerSecond, "connect/s")
		if c := rep.Cloud; c.RSSPerDeviceBytes != nil && c.Idle != nil && c.Idle.RSSBytes != nil && rep.Connect.Connected > 0 {
			b.ReportMetric(*c.RSSPerDeviceBytes/1024, "idle-rss-KiB/device")
			b.ReportMetric(*c.Idle.RSSBytes/1024/float64(rep.Connect.Connected), "rss-KiB/device")
		}
		if g := rep.Cloud.GoroutinesPerDevice; g != nil {
			b.ReportMetric(*g, "goroutines/device")
		}
		if get.Failed+logs.Failed+rep.Connect.Failed > 0 {
			b.Logf("%d devices: %d connect failures %v; GET errors %v; log errors %v", n, rep.Connect.Failed, rep.Connect.Errors, get.Errors, logs.Errors)
		}
		direct := directBurst(b, web, n)
		b.ReportMetric(direct.ok, "direct-ok-fraction")
		b.ReportMetric(direct.perSecond, "direct-get/s")
		b.ReportMetric(direct.p99.Seconds(), "direct-p99-s")
		b.ReportMetric(getOKPerSecond/direct.perSecond, "relayed/direct")
		if len(direct.errs) > 0 {
			b.Logf("direct GETs failed: %v", direct.errs)
		}
	}
}

// runFleet runs `mvnet fleet args…` (with --output json) and decodes its
// report.
func runFleet(b *testing.B, bin string, args ...string) *fleet.Report {
	b.Helper()
	cmd := exec.Command(bin, append([]string{"fleet"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		b.Fatalf("mvnet fleet: %v\n%s", err, errOut.Bytes())
	}
	var rep fleet.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		b.Fatalf("mvnet fleet's report: %v\n%s", err, out.Bytes())
	}
	return &rep
}

func freeAddr(b *testing.B) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type burstResult struct {
	ok        float64 // the share that succeeded
	perSecond float64 // those that succeeded, over the first's start to the last's end
	p99       time.Duration
	errs      map[string]int
}

// directBurst sends n GETs of web's "/" at once from this process, with
// directClient warmed by one GET first (its HTTP/2 connection up: the
// best a direct client does), and measures them as the fleet does.
func directBurst(b *testing.B, web *testenv.Server, n int) burstResult {
	b.Helper()
	c := directClient(web)
	c.Timeout = 10 * time.Second // a relayed request's longest (abi.MaxHTTPTimeoutMS)
	// The cloud's own bound on connections to one host: without it,
	// net/http opens a connection per 250 streams (the server's HTTP/2
	// limit) and, past that, runs this process out of descriptors at
	// 10,000 devices.
	c.Transport.(*http.Transport).MaxConnsPerHost = httpexec.DefaultMaxConnsPerHost
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if resp, err := c.Get(web.URL("/")); err != nil {
		b.Fatalf("direct GET: %v", err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t0 := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, web.URL("/"), nil)
			resp, err := c.Do(req)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			lat[i], errs[i] = time.Since(t0), err
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	span := time.Since(t0)
	r := burstResult{errs: map[string]int{}}
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
			r.errs[err.Error()]++
		}
	}
	r.ok = float64(n-failed) / float64(n)
	r.perSecond = float64(n-failed) / span.Seconds()
	slices.Sort(lat)
	r.p99 = lat[(99*n+99)/100-1]
	return r
}
