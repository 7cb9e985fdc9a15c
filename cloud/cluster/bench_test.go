package cluster_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
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
// all their presences to the store: one nats-server on loopback (single),
// or a 3-node nats-server cluster with the buckets replicated 3 times (R3,
// every write a quorum's round trip). Reported: presences written per
// second.
func BenchmarkPresenceBurst(b *testing.B) {
	b.Run("single", func(b *testing.B) { presenceBurst(b, natsServers(b, 1), 1) })
	b.Run("R3", func(b *testing.B) { presenceBurst(b, natsServers(b, 3), 3) })
}

// natsServers starts n nats-servers with JetStream on loopback, clustered
// when n > 1, and returns their client URLs.
func natsServers(b *testing.B, n int) string {
	var routes, urls []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		routes = append(routes, ln.Addr().String())
		ln.Close()
	}
	var rs []string
	for _, r := range routes {
		rs = append(rs, "nats-route://"+r)
	}
	for i := range n {
		o := &server.Options{ServerName: fmt.Sprintf("nats-%d", i+1), Host: "127.0.0.1", Port: -1,
			JetStream: true, StoreDir: b.TempDir(), NoSigs: true, NoLog: true}
		if n > 1 {
			host, port, _ := net.SplitHostPort(routes[i])
			p, _ := strconv.Atoi(port)
			o.Cluster = server.ClusterOpts{Name: "bench", Host: host, Port: p}
			o.Routes = server.RoutesFromStr(strings.Join(rs, ","))
		}
		s, err := server.NewServer(o)
		if err != nil {
			b.Fatal(err)
		}
		s.Start()
		b.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
		if !s.ReadyForConnections(wait) {
			b.Fatal("nats-server not ready")
		}
		urls = append(urls, s.ClientURL())
	}
	return strings.Join(urls, ",")
}

func presenceBurst(b *testing.B, url string, replicas int) {
	n := 300
	if v := os.Getenv("MVNET_PRESENCE_DEVICES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("MVNET_PRESENCE_DEVICES=%q: want a positive number", v)
		}
	}
	ctx := testenv.Context(b, 4*wait)
	st, err := store.Open(ctx, store.Options{URL: url, Replicas: replicas, Logger: slog.New(slog.DiscardHandler), SecretKey: bytes.Repeat([]byte{1}, store.SecretKeyLen)})
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
