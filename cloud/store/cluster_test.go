package store

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
)

// freePorts reserves n loopback ports by listening on port 0 and closing:
// the nodes of a cluster must know each other's route ports before any of
// them starts.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

// openCluster starts n embedded stores clustered by routes on loopback,
// each opened concurrently (a lone node waits for a majority).
func openCluster(t *testing.T, n int) []*Store {
	t.Helper()
	ports := freePorts(t, n)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
	}
	key := bytes.Repeat([]byte{7}, SecretKeyLen)
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = Open(ctx, Options{
				DataDir: t.TempDir(), SecretKey: key, Logger: quiet,
				Cluster: &ClusterOptions{
					Listen: "127.0.0.1:" + strconv.Itoa(ports[i]), Routes: routes,
					ServerName: fmt.Sprintf("node-%d", i+1),
				},
			})
		})
	}
	wg.Wait()
	for i, s := range stores {
		if s != nil {
			t.Cleanup(s.Close)
		}
		if errs[i] != nil {
			t.Fatalf("Open node %d: %v", i+1, errs[i])
		}
	}
	return stores
}

// TestClusterShares: three embedded stores clustered by routes are one
// store: a config written through one is read through another, and log
// lines appended on one are followed on another.
func TestClusterShares(t *testing.T) {
	ss := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := devID(101)
	must[Device](t)(ss[0].RegisterDevice(ctx, a))
	must[Config](t)(ss[0].PutConfig(ctx, DeviceScope(a), "room", []byte("attic"), Upsert))
	must[SecretInfo](t)(ss[1].PutSecret(ctx, AccountScope, "key", []byte("shh"), Upsert))
	if v, ok := fetch(t, ss[2], a, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "room"); !ok || v != "attic" {
		t.Errorf("node 3 reads node 1's config: %q %v", v, ok)
	}
	if v, ok := fetch(t, ss[0], a, abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret, "key"); !ok || v != "shh" {
		t.Errorf("node 1 reads node 2's secret: %q %v", v, ok)
	}
	if r := ss[0].opts.Replicas; r != 3 {
		t.Errorf("replicas %d, want 3 by default when clustered", r)
	}
	follow := must[<-chan LogLine](t)(ss[2].FollowLogs(ctx, a, LogFrom{}))
	for i := uint64(1); i <= 4; i++ {
		// Lines from two nodes, as a device that moved would send them
		// (line 2 resent to the second node: stored once).
		n := ss[0]
		if i > 2 {
			n = ss[1]
		}
		must[struct{}](t)(struct{}{}, n.AppendLog(ctx, a, i, time.Now(), []byte(fmt.Sprint("line ", i))))
		if i == 3 {
			must[struct{}](t)(struct{}{}, n.AppendLog(ctx, a, 2, time.Now(), []byte("line 2")))
		}
	}
	for i := uint64(1); i <= 4; i++ {
		select {
		case l := <-follow:
			if l.Seq != i || string(l.Line) != fmt.Sprint("line ", i) {
				t.Fatalf("followed line %d: seq %d %q", i, l.Seq, l.Line)
			}
		case <-ctx.Done():
			t.Fatalf("line %d not followed on node 3", i)
		}
	}
}

// TestClusterOptionsChecked: a bad cluster option is refused by name.
func TestClusterOptionsChecked(t *testing.T) {
	for _, c := range []struct {
		c    ClusterOptions
		want string
	}{
		{ClusterOptions{Listen: "127.0.0.1:0"}, "ServerName is required"},
		{ClusterOptions{Listen: "127.0.0.1", ServerName: "a"}, "Cluster.Listen"},
		{ClusterOptions{Listen: "127.0.0.1:0", ServerName: "a", Routes: []string{"nats-route://x"}}, "Cluster.Routes"},
		{ClusterOptions{Listen: "127.0.0.1:0", ServerName: "a.b"}, "ServerName"},
	} {
		_, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: quiet, Cluster: &c.c})
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want)) {
			t.Errorf("%+v: err %v, want %q", c.c, err, c.want)
		}
	}
}

// TestReplicasNeedACluster: a lone embedded server refuses Replicas > 1
// by name instead of failing to create the buckets.
func TestReplicasNeedACluster(t *testing.T) {
	_, err := Open(context.Background(), Options{DataDir: t.TempDir(), Logger: quiet, Replicas: 3})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("Replicas 3 needs a cluster")) {
		t.Fatalf("lone server with Replicas 3: %v", err)
	}
}

// TestClusterWaitsForMajority: a lone node of a 3-node cluster has no
// JetStream meta leader, and Open says so when its ctx ends.
func TestClusterWaitsForMajority(t *testing.T) {
	ports := freePorts(t, 3)
	var routes []string
	for _, p := range ports {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(p))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{DataDir: t.TempDir(), Logger: quiet, Cluster: &ClusterOptions{
		Listen: routes[0], Routes: routes, ServerName: "alone"}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("meta leader")) {
		t.Fatalf("lone node: %v", err)
	}
}

// TestPresence: the node registry and compare-and-delete presence.
func TestPresence(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	a := devID(102)
	if _, ok, err := s.DevicePresence(ctx, a); ok || err != nil {
		t.Fatalf("no presence: %v %v", ok, err)
	}
	must[struct{}](t)(struct{}{}, s.PutNode(ctx, NodeInfo{Name: "n1", Advertise: "127.0.0.1:1"}))
	must[struct{}](t)(struct{}{}, s.PutNode(ctx, NodeInfo{Name: "n2", Advertise: "127.0.0.1:2"}))
	if err := s.PutNode(ctx, NodeInfo{Name: "bad.name"}); err == nil {
		t.Error("node name with a dot accepted")
	}
	nodes := must[[]NodeInfo](t)(s.Nodes(ctx))
	if len(nodes) != 2 || nodes[0].Name != "n1" || nodes[1].Advertise != "127.0.0.1:2" {
		t.Fatalf("nodes: %+v", nodes)
	}
	must[struct{}](t)(struct{}{}, s.SetPresence(ctx, a, "n1"))
	if p, ok, _ := s.DevicePresence(ctx, a); !ok || p.Node != "n1" {
		t.Fatalf("presence: %+v %v", p, ok)
	}
	// The device moved to n2; n1's late link-down leaves n2's presence.
	must[struct{}](t)(struct{}{}, s.SetPresence(ctx, a, "n2"))
	must[struct{}](t)(struct{}{}, s.ClearPresence(ctx, a, "n1"))
	if p, ok, _ := s.DevicePresence(ctx, a); !ok || p.Node != "n2" {
		t.Fatalf("presence after n1's stale clear: %+v %v", p, ok)
	}
	// A node gone from the registry: its presences are stale.
	must[struct{}](t)(struct{}{}, s.DeleteNode(ctx, "n2"))
	if p, ok, _ := s.DevicePresence(ctx, a); ok {
		t.Fatalf("presence on a dead node: %+v", p)
	}
	must[struct{}](t)(struct{}{}, s.ClearPresence(ctx, a, "n2"))
	if _, rev, _ := s.presenceOf(ctx, a); rev != 0 {
		t.Error("presence not cleared by its node")
	}
}
