package test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/mem"
)

// Store and fleet performance (docs/performance.md, "The store and the
// fleet"), issue 5's "Performance" list, each beside a baseline measured
// in the same run:
//   - a config fetch of 5 keys through device → kernel → link → cloud →
//     store and back (p50/p99), against the store's own Fetch of the same
//     5 keys;
//   - log throughput from 100 devices to one subscriber (lines/s) and
//     end-to-end latency (p50/p99), against store.AppendLog from 100
//     goroutines;
//   - heap, goroutines and start-up time the embedded store adds to a
//     cloud;
//   - memory per idle device connected over TLS (target ≤ 64 KB at 2,000
//     devices).
// Every benchmark bounds its own run time; none is a test.

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchStore opens an embedded store (JetStream in dir, SyncAlways as in
// service) closed when the benchmark ends.
func benchStore(b *testing.B, dir string) *store.Store {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	return st
}

// pµs is the nearest-rank percentile p (0–100) of sorted, in µs
// (percentile and µs: mqtt_bench_test.go).
func pµs(sorted []time.Duration, p float64) float64 { return µs(percentile(sorted, p/100)) }

func benchDeviceID(i int) string { return fmt.Sprintf("UV%032x", 0xbe0000+i) }

// BenchmarkConfigFetch fetches 5 keys (account and device scope, config
// and secret stores) with device.FetchConfig through the embedded cloud
// backed by an embedded store, alternated with the store's own Fetch of
// the same 5 keys (the baseline). One op is one of each.
func BenchmarkConfigFetch(b *testing.B) {
	st := benchStore(b, b.TempDir())
	srv := testenv.NewCloud(b, cloud.Options{Config: st, Logs: st})
	id := benchDeviceID(1)
	ctx := testenv.Context(b, 5*time.Minute)
	if _, err := st.RegisterDevice(ctx, id); err != nil {
		b.Fatal(err)
	}
	const (
		acct, dev      = abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchScopeDevice
		config, secret = abi.ConfigKeyFetchStoreConfig, abi.ConfigKeyFetchStoreSecret
	)
	keys := []device.ConfigKey{
		{Scope: acct, Store: config, Key: "broker-host"},
		{Scope: acct, Store: secret, Key: "fleet-token"},
		{Scope: dev, Store: config, Key: "sample-interval"},
		{Scope: dev, Store: secret, Key: "api-key"},
		{Scope: acct, Store: config, Key: "ntp-server"},
	}
	want := make([]string, len(keys))
	for i, k := range keys {
		sc := store.AccountScope
		if k.Scope == dev {
			sc = store.DeviceScope(id)
		}
		want[i] = fmt.Sprintf("value of %s, %d", k.Key, i)
		var err error
		if k.Store == config {
			_, err = st.PutConfig(ctx, sc, k.Key, []byte(want[i]), store.Upsert)
		} else {
			_, err = st.PutSecret(ctx, sc, k.Key, []byte(want[i]), store.Upsert)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	// One channel per fetch (Microvisor's rule): lift the open-rate limit
	// so the benchmark does not measure it.
	d := testenv.NewDevice(b, srv, device.Options{DeviceID: id, NoOpenRateLimit: true})
	n, err := d.Connect(ctx, irq)
	if err != nil {
		b.Fatal(err)
	}
	relayed := func() {
		res, items, err := d.FetchConfig(ctx, n, keys, 1024, 512)
		if err != nil || res != abi.ConfigFetchResultOK || len(items) != len(keys) {
			b.Fatalf("FetchConfig: %v %d items %v", res, len(items), err)
		}
		for i, it := range items {
			if it.Result != abi.ConfigKeyFetchResultOK || string(it.Value) != want[i] {
				b.Fatalf("item %d: %v %q", i, it.Result, it.Value)
			}
		}
	}
	direct := func() {
		for i, k := range keys {
			v, ok, err := st.Fetch(ctx, id, k.Scope, k.Store, k.Key)
			if err != nil || !ok || string(v) != want[i] {
				b.Fatalf("Fetch %s: %q %v %v", k.Key, v, ok, err)
			}
		}
	}
	for range 20 { // warm both paths
		relayed()
		direct()
	}
	var rel, dir []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so drift hits both alike.
		if i%2 == 0 {
			t0 := time.Now()
			relayed()
			t1 := time.Now()
			direct()
			rel, dir = append(rel, t1.Sub(t0)), append(dir, time.Since(t1))
		} else {
			t0 := time.Now()
			direct()
			t1 := time.Now()
			relayed()
			dir, rel = append(dir, t1.Sub(t0)), append(rel, time.Since(t1))
		}
	}
	b.StopTimer()
	slices.Sort(rel)
	slices.Sort(dir)
	b.ReportMetric(pµs(rel, 50), "relayed-p50-µs")
	b.ReportMetric(pµs(rel, 99), "relayed-p99-µs")
	b.ReportMetric(pµs(dir, 50), "direct-p50-µs")
	b.ReportMetric(pµs(dir, 99), "direct-p99-µs")
	b.ReportMetric(pµs(rel, 50)/pµs(dir, 50), "relayed/direct-p50")
	b.ReportMetric(pµs(rel, 99)/pµs(dir, 99), "relayed/direct-p99")
}

const (
	benchLogDevices = 100
	// benchLogWindow is how long lines are counted, after benchLogWarmup.
	benchLogWindow = 5 * time.Second
	benchLogWarmup = time.Second
	// benchLogBuffer is each device's log buffer (mvServerLoggingInit).
	benchLogBuffer = 4096
)

// BenchmarkLogThroughput: 100 devices on one cloud with an embedded store
// log lines with mvServerLog as fast as their log buffers (benchLogBuffer)
// allow — a full buffer (INVALIDBUFFERSIZE) is retried after 100 µs — and
// one subscriber follows all 100 devices' logs (store.FollowLogs is per
// device, so it holds 100 of them, fanned into one counting goroutine).
// Each line carries its send time. Reported, over benchLogWindow after a
// warm-up: lines/s delivered to the subscriber and the send → delivery
// latency (p50/p99; under this load it is mostly the lines waiting in the
// devices' buffers). Baseline, in the same run on a store of its own:
// store.AppendLog from 100 goroutines (lines/s stored), the two windows
// alternating in order from op to op.
//
// Then, unloaded: device 0 logs one line at a time and waits for its
// delivery (single-p50/p99), alternated with a line appended straight to
// the same store and delivered to a follower of its own (single-direct):
// what the device → link → cloud path adds to the store's own latency.
// One op is one window of each plus 200 single lines of each.
func BenchmarkLogThroughput(b *testing.B) {
	st := benchStore(b, b.TempDir())
	srv := testenv.NewCloud(b, cloud.Options{Config: st, Logs: st})
	base := benchStore(b, b.TempDir())
	ctx := testenv.Context(b, 5*time.Minute)

	lines := make(chan store.LogLine, 1024)
	devs := make([]*device.Device, benchLogDevices)
	var fwd sync.WaitGroup
	fctx, stopFollow := context.WithCancel(ctx)
	defer func() { stopFollow(); fwd.Wait() }()
	for i := range devs {
		id := benchDeviceID(1000 + i)
		ch, err := st.FollowLogs(fctx, id, store.LogFrom{New: true})
		if err != nil {
			b.Fatal(err)
		}
		fwd.Add(1)
		go func() {
			defer fwd.Done()
			for l := range ch {
				select {
				case lines <- l:
				case <-fctx.Done():
					return
				}
			}
		}()
		devs[i] = testenv.NewDevice(b, srv, device.Options{DeviceID: id, Arena: mem.ArenaConfig{SRAMSize: 64 << 10, FlashSize: 4 << 10}})
		if _, s, err := devs[i].ServerLoggingInit(benchLogBuffer); err != nil || s != abi.StatusOkay {
			b.Fatal(s, err)
		}
	}
	for _, d := range devs {
		poll.Within(b, waitLimit, "the devices' links up", d.Kernel.LinkUp)
	}

	// The single-line baseline's subscriber: lines AppendLog stores
	// straight into the same store.
	soloID := benchDeviceID(3000)
	solo, err := st.FollowLogs(fctx, soloID, store.LogFrom{New: true})
	if err != nil {
		b.Fatal(err)
	}
	stamp := func(i int) string {
		return "t=" + strconv.FormatInt(time.Now().UnixNano(), 10) + " line " + strconv.Itoa(i) + " from a device, typical length"
	}
	since := func(l store.LogLine, now time.Time) time.Duration {
		f, _, _ := strings.Cut(strings.TrimPrefix(string(l.Line), "t="), " ")
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("line %q: %v", l.Line, err)
		}
		return now.Sub(time.Unix(0, ns))
	}
	// drain drops delivered lines until none has come for 500 ms.
	drain := func() {
		limit := time.After(30 * time.Second)
		for {
			select {
			case <-lines:
			case <-time.After(500 * time.Millisecond):
				return
			case <-limit:
				b.Fatal("log lines still arriving 30 s after the devices stopped")
			}
		}
	}

	// loaded: every device logs as fast as its buffer allows; the
	// subscriber counts the lines delivered within the window.
	loaded := func() (int, []time.Duration) {
		var stop atomic.Bool
		var senders sync.WaitGroup
		start := time.Now()
		from, to := start.Add(benchLogWarmup), start.Add(benchLogWarmup+benchLogWindow)
		for _, d := range devs {
			senders.Add(1)
			go func() {
				defer senders.Done()
				for i := 0; !stop.Load(); {
					s, err := d.ServerLog(stamp(i))
					switch {
					case err != nil:
						b.Error(err)
						return
					case s == abi.StatusOkay:
						i++
					case s == abi.StatusInvalidBufferSize: // full: wait for LOGACKs
						time.Sleep(100 * time.Microsecond)
					default:
						b.Errorf("mvServerLog: %v", s)
						return
					}
				}
			}()
		}
		var lat []time.Duration
		timer := time.NewTimer(time.Until(to))
		defer timer.Stop()
	collect:
		for {
			select {
			case l := <-lines:
				if now := time.Now(); !now.Before(from) {
					lat = append(lat, since(l, now))
				}
			case <-timer.C:
				break collect
			}
		}
		stop.Store(true)
		senders.Wait()
		drain()
		return len(lat), lat
	}
	// direct: AppendLog from 100 goroutines on the baseline store, lines
	// stored within the same window.
	direct := func() int {
		var stored atomic.Int64
		var writers sync.WaitGroup
		start := time.Now()
		from, to := start.Add(benchLogWarmup), start.Add(benchLogWarmup+benchLogWindow)
		for i := range benchLogDevices {
			writers.Add(1)
			go func() {
				defer writers.Done()
				id := benchDeviceID(2000 + i)
				for seq := uint64(1); time.Now().Before(to); seq++ {
					if err := base.AppendLog(ctx, id, seq, time.Now(), []byte(stamp(int(seq)))); err != nil {
						b.Error(err)
						return
					}
					if now := time.Now(); now.After(from) && now.Before(to) {
						stored.Add(1)
					}
				}
			}()
		}
		writers.Wait()
		return int(stored.Load())
	}
	// single: one line at a time, the other devices idle: device 0's
	// mvServerLog → delivery, and (baseline) AppendLog → delivery on the
	// same store, alternated.
	var soloSeq uint64
	single := func(n int) (relayed, straight []time.Duration) {
		wait := func(ch <-chan store.LogLine) time.Duration {
			select {
			case l := <-ch:
				return since(l, time.Now())
			case <-time.After(waitLimit):
				b.Fatal("a log line was not delivered")
			}
			return 0
		}
		for i := range n {
			if s, err := devs[0].ServerLog(stamp(i)); err != nil || s != abi.StatusOkay {
				b.Fatalf("mvServerLog: %v %v", s, err)
			}
			relayed = append(relayed, wait(lines))
			soloSeq++
			if err := st.AppendLog(ctx, soloID, soloSeq, time.Now(), []byte(stamp(i))); err != nil {
				b.Fatal(err)
			}
			straight = append(straight, wait(solo))
		}
		return relayed, straight
	}

	var delivered, stored int
	var lat, one, oneDirect []time.Duration
	windows := 0
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so drift hits both alike.
		if i%2 == 0 {
			n, l := loaded()
			delivered, lat = delivered+n, append(lat, l...)
			stored += direct()
		} else {
			stored += direct()
			n, l := loaded()
			delivered, lat = delivered+n, append(lat, l...)
		}
		r, s := single(200)
		one, oneDirect = append(one, r...), append(oneDirect, s...)
		windows++
	}
	b.StopTimer()
	for _, d := range [][]time.Duration{lat, one, oneDirect} {
		slices.Sort(d)
	}
	secs := float64(windows) * benchLogWindow.Seconds()
	rate, brate := float64(delivered)/secs, float64(stored)/secs
	b.ReportMetric(rate, "delivered-lines/s")
	b.ReportMetric(brate, "direct-AppendLog-lines/s")
	b.ReportMetric(rate/brate, "delivered/direct")
	b.ReportMetric(pµs(lat, 50)/1e3, "loaded-p50-ms")
	b.ReportMetric(pµs(lat, 99)/1e3, "loaded-p99-ms")
	b.ReportMetric(pµs(one, 50), "single-p50-µs")
	b.ReportMetric(pµs(one, 99), "single-p99-µs")
	b.ReportMetric(pµs(oneDirect, 50), "single-direct-p50-µs")
	b.ReportMetric(pµs(oneDirect, 99), "single-direct-p99-µs")
}

// heapNow is HeapInuse and the goroutine count after two collections.
func heapNow() (uint64, int) {
	m := memNow()
	return m.HeapInuse, runtime.NumGoroutine()
}

func memNow() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// cloudHeap estimates the heap in use allocated with package cloud's
// Server.Serve or Server.ServeConn on the stack: the cloud's side of every
// link (its TLS connection, link.Conn and session), from the heap profile
// as of the last GC, sampled every rate bytes and scaled as pprof does.
func cloudHeap(rate int) float64 {
	n, _ := runtime.MemProfile(nil, false)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, ok := runtime.MemProfile(recs, false)
	if !ok {
		return -1
	}
	var sum float64
	for _, r := range recs[:n] {
		inUse := r.InUseBytes()
		if inUse == 0 || r.AllocObjects == 0 {
			continue
		}
		cloudSide := false
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasPrefix(f.Function, "github.com/mvnet/mvnet/cloud.(*Server).Serve") {
				cloudSide = true
				break
			}
			if !more {
				break
			}
		}
		if !cloudSide {
			continue
		}
		avg := float64(r.AllocBytes) / float64(r.AllocObjects)
		sum += float64(inUse) / (1 - math.Exp(-avg/float64(rate)))
	}
	return sum
}

// cloudGoroutines counts the goroutines running package cloud's
// Server.Serve or Server.ServeConn (or started under them: session
// goroutines are started by ServeConn's callees and carry no such frame,
// so those are counted by their own package, cloud/session).
func cloudGoroutines() int {
	var buf strings.Builder
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	total := 0
	for _, block := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(block, "github.com/mvnet/mvnet/cloud.") && !strings.Contains(block, "github.com/mvnet/mvnet/cloud/session.") {
			continue
		}
		var count int
		if _, err := fmt.Sscanf(block, "%d @", &count); err == nil {
			total += count
		}
	}
	return total
}

// BenchmarkStoreOverhead measures what the embedded store adds to a
// cloud: a cloud without a store (the baseline), then store.Open on a
// fresh directory (server start, buckets and stream created, secret key
// generated) and on the same directory again (reopen), each with a cloud
// using it: time to open, heap (HeapInuse after GC) and goroutines held
// while open.
func BenchmarkStoreOverhead(b *testing.B) {
	ctx := testenv.Context(b, 5*time.Minute)
	newCloud := func(o cloud.Options) (*cloud.Server, time.Duration) {
		t0 := time.Now()
		srv, err := cloud.New(o)
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return srv, time.Since(t0)
	}
	shut := func(srv *cloud.Server) {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	kib := func(a, b uint64) float64 { return (float64(a) - float64(b)) / 1024 }
	for b.Loop() {
		h0, g0 := heapNow()
		srv, tc := newCloud(cloud.Options{})
		h1, g1 := heapNow()
		shut(srv)

		dir := b.TempDir()
		h2, g2 := heapNow()
		t0 := time.Now()
		st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		tFresh := time.Since(t0)
		srv, _ = newCloud(cloud.Options{Config: st, Logs: st})
		h3, g3 := heapNow()
		shut(srv)
		st.Close()

		h4, g4 := heapNow()
		t0 = time.Now()
		st, err = store.Open(ctx, store.Options{DataDir: dir, Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		tReopen := time.Since(t0)
		srv, _ = newCloud(cloud.Options{Config: st, Logs: st})
		h5, g5 := heapNow()
		shut(srv)
		st.Close()

		b.ReportMetric(float64(tc.Microseconds())/1e3, "cloud-start-ms")
		b.ReportMetric(kib(h1, h0), "cloud-heap-KiB")
		b.ReportMetric(float64(g1-g0), "cloud-goroutines")
		b.ReportMetric(float64(tFresh.Microseconds())/1e3, "store-open-fresh-ms")
		b.ReportMetric(kib(h3, h2), "store+cloud-fresh-heap-KiB")
		b.ReportMetric(float64(g3-g2), "store+cloud-fresh-goroutines")
		b.ReportMetric(float64(tReopen.Microseconds())/1e3, "store-reopen-ms")
		b.ReportMetric(kib(h5, h4), "store+cloud-reopen-heap-KiB")
		b.ReportMetric(float64(g5-g4), "store+cloud-reopen-goroutines")
	}
}
