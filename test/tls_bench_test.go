package test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// The relayed path over the real device link: a cloud serving TLS 1.3 on
// 127.0.0.1 with a device CA, devices dialling it with their own client
// certificates (what a bundle holds), as `mvnet cloud serve` runs.

// tlsRig is a cloud serving devices over TLS on a loopback listener.
type tlsRig struct {
	srv  *cloud.Server
	ca   *devca.CA
	addr string
}

// newTLSRig starts a cloud with options o (TLS set here) on 127.0.0.1,
// shut down at cleanup.
func newTLSRig(tb testing.TB, o cloud.Options) *tlsRig {
	tb.Helper()
	ca, err := devca.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	srv, addr, stop := serveTLS(tb, ca, o)
	tb.Cleanup(stop)
	return &tlsRig{srv: srv, ca: ca, addr: addr}
}

// serveTLS starts a cloud with options o serving TLS on 127.0.0.1 with a
// server certificate from ca, and returns it, its address and a func that
// shuts it down and waits for Serve to return.
func serveTLS(tb testing.TB, ca *devca.CA, o cloud.Options) (*cloud.Server, string, func()) {
	tb.Helper()
	cert, err := ca.ServerCertificate("127.0.0.1")
	if err != nil {
		tb.Fatal(err)
	}
	o.TLS = link.ServerTLSConfig(cert, ca.Pool())
	srv, err := cloud.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return srv, ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	}
}

// dialer returns the TLS dial of device benchDeviceID(i), from a bundle
// issued by the rig's CA.
func (r *tlsRig) dialer(tb testing.TB, i int) func(context.Context) (net.Conn, error) {
	tb.Helper()
	id := benchDeviceID(i)
	certPEM, keyPEM, err := r.ca.IssueDevice(id, 0)
	if err != nil {
		tb.Fatal(err)
	}
	bu := &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: r.addr,
		CloudCA: string(r.ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	dial, err := bu.Dial()
	if err != nil {
		tb.Fatal(err)
	}
	return dial
}

// devices boots n devices dialling the rig (with o's other options) and
// connects each one's network, k at a time; each is closed at cleanup.
func (r *tlsRig) devices(tb testing.TB, ctx context.Context, n int, o device.Options) ([]*device.Device, []*device.Net) {
	tb.Helper()
	devs := make([]*device.Device, n)
	nets := make([]*device.Net, n)
	for i := range devs {
		o := o
		o.DeviceID = benchDeviceID(200000 + i)
		o.Dial = r.dialer(tb, 200000+i)
		if o.Arena == (mem.ArenaConfig{}) {
			o.Arena = mem.ArenaConfig{SRAMSize: 64 << 10, FlashSize: 4 << 10}
		}
		d, err := device.New(o)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = d.Close() })
		devs[i] = d
	}
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if nets[i], err = devs[i].Connect(ctx, irq); err != nil {
				errs <- fmt.Errorf("%s: %w", devs[i].ID(), err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return devs, nets
}

// benchConcurrency is BenchmarkRelayedTLSConcurrent's concurrency:
// MVNET_BENCH_CONCURRENCY, default 100 (issue 11's figure).
func benchConcurrency(tb testing.TB) int {
	if v := os.Getenv("MVNET_BENCH_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			tb.Fatalf("MVNET_BENCH_CONCURRENCY=%q: want a positive integer", v)
		}
		return n
	}
	return 100
}

// benchLockstep is BenchmarkRelayedTLSConcurrent's mode: with
// MVNET_BENCH_LOCKSTEP=1 the requests go in waves, each of the conc
// goroutines (devices) making one request per wave and the next wave
// starting when all are done, as a fleet's devices each making an
// occasional request; by default each goroutine makes its next request as
// soon as its last one is done.
func benchLockstep(tb testing.TB) bool {
	switch v := os.Getenv("MVNET_BENCH_LOCKSTEP"); v {
	case "", "0":
		return false
	case "1":
		return true
	default:
		tb.Fatalf("MVNET_BENCH_LOCKSTEP=%q: want 0 or 1", v)
		return false
	}
}

// lockstepPhase makes n calls of get in waves of at most conc at once,
// get(i) on goroutine i, and returns how long they took.
func lockstepPhase(b *testing.B, n, conc int, get func(i int) error) time.Duration {
	t0 := time.Now()
	errs := make(chan error, conc)
	for done := 0; done < n; {
		k := min(conc, n-done)
		var wg sync.WaitGroup
		for i := range k {
			wg.Go(func() {
				if err := get(i); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		done += k
	}
	return time.Since(t0)
}

// cpuTime returns the CPU time the process has used (user and system).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// syscalls returns the read and write system calls the process has made
// (syscr + syscw of /proc/self/io), or 0 where that is not available.
func syscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok && (k == "syscr" || k == "syscw") {
			c, _ := strconv.ParseInt(v, 10, 64)
			n += c
		}
	}
	return n
}

// goroutinesCreated returns how many goroutines the process has created:
// each is a handoff (a start and a wakeup) on a request's path.
func goroutinesCreated() int64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(s[0].Value.Uint64())
}

// relayedTLSTarget is issue 11's target: relayed-over-TLS throughput at
// least 0.6× direct at concurrency 100.
const relayedTLSTarget = 0.6

// BenchmarkRelayedTLSConcurrent measures the throughput of GETs at
// concurrency C (MVNET_BENCH_CONCURRENCY, default 100): direct net/http
// GETs of the test server by C goroutines, then relayed GETs of the same
// URL by C devices over the real TLS link (one request at a time each, as
// a Microvisor application with one HTTP channel). Each phase performs
// b.N requests; it reports both rates, relayed/direct (target ≥ 0.6) and
// the CPU time per request of each.
func BenchmarkRelayedTLSConcurrent(b *testing.B) {
	conc := benchConcurrency(b)
	s := benchServer(b)
	url := s.URL("/bench")
	c := directClient(s)
	rig := newTLSRig(b, cloud.Options{HTTP: s.HTTPOptions()})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// Microvisor allows 8 channel opens a second per device; the limit is
	// the kernel's, not the relay's, so it is lifted here.
	devs, nets := rig.devices(b, ctx, conc, device.Options{NoOpenRateLimit: true})

	lockstep := benchLockstep(b)
	// phase runs n calls of get over conc goroutines and returns how long
	// they took.
	phase := func(n int, get func(i int) error) time.Duration {
		if lockstep {
			return lockstepPhase(b, n, conc, get)
		}
		work := make(chan struct{}, n)
		for range n {
			work <- struct{}{}
		}
		close(work)
		var wg sync.WaitGroup
		var once sync.Once
		var failed error
		t0 := time.Now()
		for i := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					if err := get(i); err != nil {
						once.Do(func() { failed = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		if failed != nil {
			b.Fatal(failed)
		}
		return time.Since(t0)
	}
	direct := func(int) error { return tryDirectGET(c, url) }
	relayed := func(i int) error { return tryRelayedGET(ctx, devs[i], nets[i], url) }
	// Warm both: connections to the server, workers, stacks.
	phase(conc, direct)
	phase(conc, relayed)
	// The two alternate in rounds, so that a change in the machine's load
	// (other processes) weighs on both alike.
	const rounds = 10
	var dt, rt, dcpu, rcpu time.Duration
	var dsys, rsys, dgo, rgo int64
	b.ResetTimer()
	for r := range rounds {
		n := b.N/rounds + min(1, max(0, b.N%rounds-r)) // b.N in all
		if n == 0 {
			continue
		}
		c0, s0, g0 := cpuTime(b), syscalls(), goroutinesCreated()
		dt += phase(n, direct)
		c1, s1, g1 := cpuTime(b), syscalls(), goroutinesCreated()
		rt += phase(n, relayed)
		dcpu += c1 - c0
		rcpu += cpuTime(b) - c1
		dsys += s1 - s0
		rsys += syscalls() - s1
		dgo += g1 - g0
		rgo += goroutinesCreated() - g1
	}
	b.StopTimer()
	dr, rr := float64(b.N)/dt.Seconds(), float64(b.N)/rt.Seconds()
	b.ReportMetric(dr, "direct-req/s")
	b.ReportMetric(rr, "relayed-req/s")
	b.ReportMetric(rr/dr, "relayed/direct")
	// CPU time per request, whole process (client, cloud, devices and
	// server): steadier than the rates on a shared machine.
	b.ReportMetric(float64(dcpu.Microseconds())/float64(b.N), "direct-cpu-µs/req")
	b.ReportMetric(float64(rcpu.Microseconds())/float64(b.N), "relayed-cpu-µs/req")
	// Read and write system calls per request (Linux): the relayed path's
	// link legs cannot share them between devices as the direct path's
	// HTTP/2 connection shares them between streams.
	if dsys > 0 {
		b.ReportMetric(float64(dsys)/float64(b.N), "direct-rw-syscalls/req")
		b.ReportMetric(float64(rsys)/float64(b.N), "relayed-rw-syscalls/req")
	}
	// Goroutines started per request (the phase's own conc included):
	// handoffs on the request's path.
	b.ReportMetric(float64(dgo)/float64(b.N), "direct-goroutines/req")
	b.ReportMetric(float64(rgo)/float64(b.N), "relayed-goroutines/req")
	if b.N >= 10*conc && rr/dr < relayedTLSTarget {
		b.Logf("relayed/direct %.2f is under the %.1f target", rr/dr, relayedTLSTarget)
	}
}
