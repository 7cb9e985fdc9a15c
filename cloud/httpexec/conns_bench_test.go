package httpexec_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

var (
	concurrentFlag = flag.Int("concurrent.requests", 200, "BenchmarkConcurrent: requests in a burst")
	latencyFlag    = flag.Duration("concurrent.latency", 0, "BenchmarkConcurrent: the server's time to answer (an upstream's think time)")
)

// BenchmarkConcurrent measures what the per-host cap buys (issue 11):
// every iteration sends bursts of concurrent GETs (200 by default) to one
// HTTPS host on loopback, through an Executor with the cap
// (MaxConnsPerHost = max, idle pool to match) and through one configured as
// before issue 11 (no cap, 2 idle connections kept: a burst dials a
// connection, and does a TLS handshake, per request beyond them). It
// reports requests per second of each, their ratio (capped/old, in the same
// run), and the connections each opened per burst.
//
//	go test ./cloud/httpexec -run '^$' -bench Concurrent -benchtime 20x
//	go test ./cloud/httpexec -run '^$' -bench Concurrent -benchtime 10x -args -concurrent.latency 20ms
//
// -concurrent.latency makes the server take that long to answer, as a
// real upstream does (loopback answers at once). On the 2-core development
// machine (server and client in one process, 200 requests a burst; capped/old
// over runs; the old configuration ran at 180–920 req/s):
//
//	max            2      4      8      16     32     64
//	latency 0      21-24  26-44  28-36  19-29  18-28  10-26
//	latency 5 ms   -      -      6.9    7.5    10.8   -
//	latency 20 ms  0.44   0.87   1.2    3.7    6.9    5.9
//
// With no latency fewer connections do best (the CPU is the bound, and
// fewer connections mean fewer handshakes and goroutines); with latency an
// HTTP/1.1 host carries at most max/latency requests per second, so a cap
// of 8 falls behind the uncapped old configuration at 20 ms.
// DefaultMaxConnsPerHost (32) keeps most of the gain at no latency and
// carries 5 ms and 20 ms upstreams at 10.8 and 6.9 times the old
// throughput, with at most 32 file descriptors per host.
func BenchmarkConcurrent(b *testing.B) {
	burst := *concurrentFlag
	hello := func(w http.ResponseWriter, r *http.Request) {
		if d := *latencyFlag; d > 0 {
			time.Sleep(d) // the upstream at work, not a wait for an event
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello, device")
	}
	// One server each, so that each configuration's connections are
	// counted apart.
	quiet := log.New(io.Discard, "", 0) // clients closing handshaking connections (old.Close)
	srvCapped, clCapped := countedServer(b, false, hello)
	srvOld, clOld := countedServer(b, false, hello)
	srvCapped.Config.ErrorLog, srvOld.Config.ErrorLog = quiet, quiet
	run := func(b *testing.B, e *httpexec.Executor, url string, cl *countingListener) (time.Duration, int64) {
		req := &link.HTTPRequest{Method: "GET", URL: url, TimeoutMS: httpexec.MaxTimeoutMS}
		before := cl.accepted.Load()
		var wg sync.WaitGroup
		start := time.Now()
		for range burst {
			wg.Go(func() {
				resp, err := e.Perform(context.Background(), req, 4096)
				if resp.Result != uint32(abi.HTTPResultOK) {
					b.Errorf("result %d: %v", resp.Result, err)
				}
			})
		}
		wg.Wait()
		return time.Since(start), cl.accepted.Load() - before
	}
	for _, max := range []int{2, 4, 8, 16, 32, 64} {
		b.Run(fmt.Sprintf("max=%d", max), func(b *testing.B) {
			capped := execWith(b, srvCapped.Certificate(), httpexec.Options{MaxConnsPerHost: max})
			old := execWith(b, srvOld.Certificate(), httpexec.Options{MaxConnsPerHost: 1 << 20, MaxIdleConnsPerHost: 2, MaxDials: 1 << 20})
			var tCapped, tOld time.Duration
			var cCapped, cOld int64
			for b.Loop() {
				d, c := run(b, capped, srvCapped.URL, clCapped)
				tCapped, cCapped = tCapped+d, cCapped+c
				d, c = run(b, old, srvOld.URL, clOld)
				tOld, cOld = tOld+d, cOld+c
				// The old configuration's dials for requests that another
				// connection served go on after the burst: end them, so
				// that they do not take CPU from the next burst.
				b.StopTimer()
				old.Close()
				poll.Within(b, time.Minute, "the old configuration's connections closed", func() bool { return clOld.open.Load() == 0 })
				b.StartTimer()
			}
			n := float64(b.N)
			b.ReportMetric(n*float64(burst)/tCapped.Seconds(), "req/s-capped")
			b.ReportMetric(n*float64(burst)/tOld.Seconds(), "req/s-old")
			b.ReportMetric(tOld.Seconds()/tCapped.Seconds(), "capped/old")
			b.ReportMetric(float64(cCapped)/n, "conns/burst-capped")
			b.ReportMetric(float64(cOld)/n, "conns/burst-old")
		})
	}
}
