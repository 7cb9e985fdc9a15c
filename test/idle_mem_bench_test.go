package test

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/link"
)

// idleCloudTarget is issue 11's target: at most 40 KiB of memory per idle
// device on the cloud's side.
const idleCloudTarget = 40.0

// BenchmarkIdleCloudMemory connects N idle devices (MVNET_BENCH_IDLE_DEVICES,
// default 300) to one cloud over real TLS in this process
// (idleTLSDevices) and reports the cloud's side per device: its heap (from
// the heap profile), its share of the goroutine stacks, their sum (target
// ≤ 40 KiB), its goroutines, and the process's resident memory growth per
// link (both sides of it: devices' and cloud's TLS connections, link.Conns,
// the session) as it stands and after returning freed memory to the OS.
func BenchmarkIdleCloudMemory(b *testing.B) {
	n := 300
	if v := os.Getenv("MVNET_BENCH_IDLE_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MVNET_BENCH_IDLE_DEVICES=%q: want a positive integer", v)
		}
	}
	for b.Loop() {
		m := idleTLSDevices(b, n, link.DefaultPingInterval)
		stack := m.stack * m.cloudGoroutines / (m.deviceGoroutines + m.linkCloudGoroutines)
		b.ReportMetric(m.cloudHeap, "cloud-heap-KiB/device")
		b.ReportMetric(stack, "cloud-stack-KiB/device")
		b.ReportMetric(m.cloudHeap+stack, "cloud-KiB/device")
		b.ReportMetric(m.cloudGoroutines, "cloud-goroutines/device")
		b.ReportMetric(m.rssLink, "link-rss-KiB/device")
		b.ReportMetric(m.rssLinkFreed, "link-rss-freed-KiB/device")
		if got := m.cloudHeap + stack; got > idleCloudTarget {
			b.Logf("the cloud holds %.1f KiB per idle device, over the %.0f KiB target", got, idleCloudTarget)
		}
	}
}

// rssNow returns the process's resident set size in bytes, as it stands
// and after debug.FreeOSMemory (Linux: /proc/self/statm).
func rssNow(tb testing.TB) (now, freed uint64) {
	read := func() uint64 {
		b, err := os.ReadFile("/proc/self/statm")
		if err != nil {
			tb.Skipf("resident memory unknown: %v", err)
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			tb.Fatalf("/proc/self/statm: %q", b)
		}
		pages, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			tb.Fatal(err)
		}
		return pages * uint64(os.Getpagesize())
	}
	now = read()
	debug.FreeOSMemory()
	return now, read()
}
