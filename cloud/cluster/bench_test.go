package cluster_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/cluster"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/nats-io/nats-server/v2/server"
)

// BenchmarkPresenceBurst: N devices (MVNET_PRESENCE_DEVICES, default 300)
// link to one node at once; an op is the time until the node has written
// all their presences to the store (a nats-server on loopback, as an
// external NATS). Reported: presences written per second.
func BenchmarkPresenceBurst(b *testing.B) {
	n := 300
	if v := os.Getenv("MVNET_PRESENCE_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MVNET_PRESENCE_DEVICES=%q: want a positive number", v)
		}
	}
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: b.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		b.Fatal(err)
	}
	ns.Start()
	b.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(wait) {
		b.Fatal("nats-server not ready")
	}
	ctx := testenv.Context(b, wait)
	st, err := store.Open(ctx, store.Options{URL: ns.ClientURL(), SecretKey: bytes.Repeat([]byte{1}, store.SecretKeyLen)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	m, err := cluster.New(cluster.Options{Store: st, Name: "a", Advertise: "a.example:7443"})
	if err != nil {
		b.Fatal(err)
	}
	var up atomic.Bool
	written := make(chan struct{}, n)
	cluster.SetHooks(m, func(string) bool { return up.Load() }, func(string) { written <- struct{}{} })
	c := testenv.NewCloud(b, cloud.Options{Config: st, Logs: st, OnLink: m.OnLink})
	if err := m.Start(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("UV%032x", i+1)
	}
	burst := func(linked bool) time.Duration {
		up.Store(linked)
		start := time.Now()
		for _, id := range ids {
			m.OnLink(id, linked)
		}
		for range ids {
			select {
			case <-written:
			case <-ctx.Done():
				b.Fatal("presences not written")
			}
		}
		return time.Since(start)
	}
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		total += burst(true)
		b.StopTimer()
		burst(false) // the links end: the presences are cleared
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "presences/s")
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/burst")
}
