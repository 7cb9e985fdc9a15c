package test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
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
	n := idleDevices(b)
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

// cloudProcessEnv names the device CA directory of the cloud that
// TestCloudProcess serves when the test binary runs as
// BenchmarkIdleCloudProcess's cloud process.
const cloudProcessEnv = "MVNET_TEST_CLOUD_PROCESS"

// TestCloudProcess is not a test: run by BenchmarkIdleCloudProcess as a
// separate process (cloudProcessEnv set), it serves a cloud over TLS on
// 127.0.0.1 with the device CA in that directory, writes "ADDR host:port"
// on stdout, and then, for each line read on stdin, collects garbage and
// writes "MEM heap stack goroutines rss rss-freed" (bytes); it ends when
// stdin closes.
func TestCloudProcess(t *testing.T) {
	dir := os.Getenv(cloudProcessEnv)
	if dir == "" {
		t.Skip("run by BenchmarkIdleCloudProcess")
	}
	ca, err := devca.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, addr, stop := serveTLS(t, ca, cloud.Options{})
	defer stop()
	fmt.Printf("ADDR %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		m := memNow()
		rss, freed := rssNow(t)
		fmt.Printf("MEM %d %d %d %d %d\n", m.HeapInuse, m.StackInuse, runtime.NumGoroutine(), rss, freed)
	}
}

// BenchmarkIdleCloudProcess measures what issue 11 measured: a cloud in a
// process of its own (this test binary as TestCloudProcess) holding N idle
// devices (MVNET_BENCH_IDLE_DEVICES, default 300) connected over real TLS
// from this process. It reports the cloud process's growth per device:
// resident memory as it stands (target ≤ 40 KiB) and after returning freed
// memory to the OS, heap in use, goroutine stacks and goroutines.
func BenchmarkIdleCloudProcess(b *testing.B) {
	n := idleDevices(b)
	for b.Loop() {
		dir := b.TempDir()
		ca, err := devca.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCloudProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), cloudProcessEnv+"="+dir)
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		out := bufio.NewScanner(stdout)
		line := func(prefix string) []string {
			for out.Scan() {
				if f := strings.Fields(out.Text()); len(f) > 0 && f[0] == prefix {
					return f[1:]
				}
			}
			b.Fatalf("cloud process: no %s line (%v)", prefix, out.Err())
			return nil
		}
		stats := func() [5]float64 {
			if _, err := io.WriteString(stdin, "mem\n"); err != nil {
				b.Fatal(err)
			}
			var v [5]float64
			for i, s := range line("MEM") {
				if i < len(v) {
					v[i], _ = strconv.ParseFloat(s, 64)
				}
			}
			return v
		}
		addr := line("ADDR")[0]
		m0 := stats()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		rig := &tlsRig{ca: ca, addr: addr}
		devs, _ := rig.devices(b, ctx, n, device.Options{Arena: mem.ArenaConfig{SRAMSize: benchTLSSRAM, FlashSize: 4 << 10}})
		// Idle on the cloud's side too, as idleTLSDevices waits: at most
		// one goroutine per link (its reader); stats collects garbage.
		var m1 [5]float64
		eventually(b, fmt.Sprintf("the cloud's %d links idle (one goroutine each)", n), func() bool {
			m1 = stats()
			return m1[2]-m0[2] <= float64(n)
		})
		per := func(i int) float64 { return (m1[i] - m0[i]) / float64(n) }
		b.ReportMetric(per(3)/1024, "cloud-rss-KiB/device")
		b.ReportMetric(per(4)/1024, "cloud-rss-freed-KiB/device")
		b.ReportMetric(per(0)/1024, "cloud-heap-KiB/device")
		b.ReportMetric(per(1)/1024, "cloud-stack-KiB/device")
		b.ReportMetric(per(2), "cloud-goroutines/device")
		if per(3)/1024 > idleCloudTarget {
			b.Logf("the cloud process grew %.1f KiB per idle device, over the %.0f KiB target", per(3)/1024, idleCloudTarget)
		}
		for _, d := range devs {
			_ = d.Close()
		}
		cancel()
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatalf("cloud process: %v", err)
		}
	}
}

// idleDevices is MVNET_BENCH_IDLE_DEVICES, default 300.
func idleDevices(b *testing.B) int {
	n := 300
	if v := os.Getenv("MVNET_BENCH_IDLE_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MVNET_BENCH_IDLE_DEVICES=%q: want a positive integer", v)
		}
	}
	return n
}
