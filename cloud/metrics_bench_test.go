package cloud_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// metricsRig is a cloud serving TLS links, with or without metrics, and
// devices joined to it over TLS.
type metricsRig struct {
	devs []*device.Device
	nets []*device.Net
}

// benchInFlight is how many requests each device keeps in flight (its
// channels: spec/abi.md, "4 open at once"); benchDevices per rig.
const (
	benchInFlight = 4
	benchDevices  = 2
)

func newMetricsRig(b *testing.B, ctx context.Context, web *testenv.Server, m *metrics.Metrics, first int) *metricsRig {
	_, ca, addr := tlsCloudWith(b, cloud.Options{HTTP: web.HTTPOptions(), Metrics: m})
	r := &metricsRig{}
	for i := range benchDevices {
		bundle := bundleFor(b, ca, fakedev.ID(first+i), addr)
		dial, err := bundle.Dial()
		if err != nil {
			b.Fatal(err)
		}
		// Microvisor allows 8 channel opens a second: one request per
		// channel would measure the rate limit.
		d, err := device.New(device.Options{DeviceID: bundle.DeviceSid, Dial: dial, NoOpenRateLimit: true})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = d.Close() })
		n, err := d.Connect(ctx, 51)
		if err != nil {
			b.Fatal(err)
		}
		r.devs, r.nets = append(r.devs, d), append(r.nets, n)
	}
	return r
}

// round runs benchInFlight relayed GETs on each device at once and returns
// how long they took.
func (r *metricsRig) round(b *testing.B, ctx context.Context, url string) time.Duration {
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, benchDevices*benchInFlight)
	for i, d := range r.devs {
		for range benchInFlight {
			wg.Go(func() {
				resp, err := d.HTTP(ctx, r.nets[i], device.HTTPRequest{Method: "GET", URL: url, TimeoutMS: 10000}, 4096, 512)
				if err == nil && (resp.Result != abi.HTTPResultOK || resp.StatusCode != 200) {
					err = io.ErrUnexpectedEOF
				}
				if err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal("relayed GET: ", err)
	}
	return time.Since(t0)
}

// mallocs is the process's allocation count so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// BenchmarkRelayedMetricsCost measures what the metrics hooks cost on the
// relayed path: rounds of concurrent relayed GETs over real TLS links, on a
// cloud without metrics and on one with them, in alternation in one run.
// on/off is the ratio of their times (≈ 1: the hooks are a few atomic
// additions per frame and request), and allocs/req of each shows the hooks
// allocate nothing.
func BenchmarkRelayedMetricsCost(b *testing.B) {
	ctx := testenv.Context(b, 10*time.Minute)
	web := testenv.NewServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "metrics bench body")
	}))
	url := web.URL("/bench")
	off := newMetricsRig(b, ctx, web, nil, 100)
	on := newMetricsRig(b, ctx, web, metrics.New(prometheus.NewRegistry()), 200)
	off.round(b, ctx, url) // warm both connection pools
	on.round(b, ctx, url)
	var tOff, tOn time.Duration
	var aOff, aOn uint64
	i := 0
	b.ResetTimer()
	for b.Loop() {
		// Alternate which goes first, so that neither always runs right
		// after the other's garbage.
		rigs := [2]*metricsRig{off, on}
		if i%2 == 1 {
			rigs = [2]*metricsRig{on, off}
		}
		i++
		for _, r := range rigs {
			m0 := mallocs()
			d := r.round(b, ctx, url)
			a := mallocs() - m0
			if r == on {
				tOn, aOn = tOn+d, aOn+a
			} else {
				tOff, aOff = tOff+d, aOff+a
			}
		}
	}
	reqs := float64(b.N * benchDevices * benchInFlight)
	b.ReportMetric(float64(tOff.Nanoseconds())/reqs, "off-ns/req")
	b.ReportMetric(float64(tOn.Nanoseconds())/reqs, "on-ns/req")
	b.ReportMetric(float64(tOn)/float64(tOff), "on/off")
	b.ReportMetric(float64(aOff)/reqs, "off-allocs/req")
	b.ReportMetric(float64(aOn)/reqs, "on-allocs/req")
}
