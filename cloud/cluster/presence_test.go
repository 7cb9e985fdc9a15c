package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/cluster"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startNATS starts a JetStream server on loopback; its client URL.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(wait) {
		t.Fatal("nats-server not ready")
	}
	return ns.ClientURL()
}

// links is a fake link table: which devices a node holds.
type links struct {
	mu sync.Mutex
	up map[string]bool
}

func (l *links) set(id string, up bool) { l.mu.Lock(); l.up[id] = up; l.mu.Unlock() }
func (l *links) linked(id string) bool  { l.mu.Lock(); defer l.mu.Unlock(); return l.up[id] }

// fakeNode is a node whose links are a fake table: wrote hears of each
// presence it writes; writing, if set, gates its writes.
type fakeNode struct {
	st    *store.Store
	m     *cluster.Member
	links *links
	wrote chan string
}

func newFakeNode(t *testing.T, url, name string, writing func(string)) *fakeNode {
	t.Helper()
	ctx := testenv.Context(t, wait)
	st, err := store.Open(ctx, store.Options{URL: url, SecretKey: bytes.Repeat([]byte{1}, store.SecretKeyLen)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	m, err := cluster.New(cluster.Options{Store: st, Name: name, Advertise: name + ".example:7443"})
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{st: st, m: m, links: &links{up: map[string]bool{}}, wrote: make(chan string, 64)}
	cluster.SetHooks(m, n.links.linked, func(id string) { n.wrote <- id })
	if writing != nil {
		cluster.SetWriting(m, writing)
	}
	c := testenv.NewCloud(t, cloud.Options{Config: st, Logs: st})
	if err := m.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return n
}

// waitWrote waits for n's next presence write.
func (n *fakeNode) waitWrote(t *testing.T, what string) {
	t.Helper()
	select {
	case <-n.wrote:
	case <-time.After(wait):
		t.Fatalf("%s: no presence written", what)
	}
}

// TestPresenceLateWrite: node a reads that it holds X's link and is held
// up before writing; meanwhile X's link ends on a and comes up on b, which
// writes its presence; a's late write, then its link-down, must leave b's
// presence (before the fix a's plain Put took it back and its clear then
// erased it: X linked to b and present nowhere).
func TestPresenceLateWrite(t *testing.T) {
	url := startNATS(t)
	const x = "UV00000000000000000000000000000042"
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	a := newFakeNode(t, url, "a", func(id string) {
		once.Do(func() { close(reached); <-release })
	})
	b := newFakeNode(t, url, "b", nil)
	ctx := testenv.Context(t, wait)

	a.links.set(x, true)
	a.m.OnLink(x, true)
	select {
	case <-reached:
	case <-time.After(wait):
		t.Fatal("a never wrote")
	}
	a.links.set(x, false) // the link ends on a ...
	b.links.set(x, true)  // ... and comes up on b
	b.m.OnLink(x, true)
	b.waitWrote(t, "b's link-up")
	close(release)
	a.waitWrote(t, "a's late link-up")
	a.m.OnLink(x, false)
	a.waitWrote(t, "a's link-down")

	p, ok, err := a.st.DevicePresence(ctx, x)
	if err != nil || !ok || p.Node != "b" {
		t.Fatalf("X is linked to b; presence now: %+v ok=%v err=%v", p, ok, err)
	}
}

// TestPresenceRepaired: the presence of a device a node holds, erased or
// taken by a node that is gone, is written again by the holder.
func TestPresenceRepaired(t *testing.T) {
	url := startNATS(t)
	const x = "UV00000000000000000000000000000043"
	a := newFakeNode(t, url, "a", nil)
	b := newFakeNode(t, url, "b", nil)
	ctx := testenv.Context(t, wait)
	b.links.set(x, true)
	b.m.OnLink(x, true)
	b.waitWrote(t, "b's link-up")
	onB := func() bool {
		p, ok, _ := a.st.DevicePresence(ctx, x)
		return ok && p.Node == "b"
	}
	if !onB() {
		t.Fatal("no presence on b")
	}
	// Erased (a stale clear elsewhere).
	if err := a.st.ClearPresence(ctx, x, "b"); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, wait, "presence on b again after a clear", onB)
	// Taken, later, by a node not in the registry.
	if err := a.st.HoldPresence(ctx, x, "gone", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, wait, "presence on b again after a dead node's write", onB)
}

// TestPresenceLaterLive: a presence of a live node whose link came up
// later is left as it is; an earlier one is taken over.
func TestPresenceLaterLive(t *testing.T) {
	url := startNATS(t)
	const x = "UV00000000000000000000000000000044"
	a := newFakeNode(t, url, "a", nil)
	_ = newFakeNode(t, url, "b", nil)
	ctx := testenv.Context(t, wait)
	t0 := time.Now()
	if err := a.st.HoldPresence(ctx, x, "b", t0); err != nil {
		t.Fatal(err)
	}
	if err := a.st.HoldPresence(ctx, x, "a", t0.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if p, ok, _ := a.st.DevicePresence(ctx, x); !ok || p.Node != "b" {
		t.Fatalf("an earlier link-up took a live node's presence: %+v", p)
	}
	if err := a.st.HoldPresence(ctx, x, "a", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if p, ok, _ := a.st.DevicePresence(ctx, x); !ok || p.Node != "a" {
		t.Fatalf("a later link-up did not take the presence: %+v", p)
	}
}

// TestNoAnswer: a holder that does not answer in time is reported (the
// operation may still be performed there), not served here; a holder
// with no one listening (killed) is served here.
func TestNoAnswer(t *testing.T) {
	url := startNATS(t)
	a := newNode(t, url, "a")
	ctx := testenv.Context(t, wait)
	cluster.SetTimeout(a.m, time.Second)

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	asked := make(chan string, 8)
	if _, err := nc.Subscribe("mvnet.node.slow.>", func(m *nats.Msg) { asked <- m.Subject }); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	const x, y = "UV00000000000000000000000000000045", "UV00000000000000000000000000000046"
	for _, n := range []string{"slow", "dead"} {
		if err := a.st.PutNode(ctx, store.NodeInfo{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.st.SetPresence(ctx, x, "slow"); err != nil {
		t.Fatal(err)
	}
	if err := a.st.SetPresence(ctx, y, "dead"); err != nil {
		t.Fatal(err)
	}
	spec := faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Millisecond)}
	_, err = a.m.Faults().Apply(x, spec)
	if !errors.Is(err, cluster.ErrNoAnswer) || !store.Unavailable(err) {
		t.Fatalf("apply on a slow node: %v", err)
	}
	if s := <-asked; s != "mvnet.node.slow.fault.apply" {
		t.Errorf("asked %s", s)
	}
	if err := a.m.Faults().Clear(x, "FT"+fmt.Sprintf("%032x", 1)); !errors.Is(err, cluster.ErrNoAnswer) {
		t.Errorf("clear on a slow node: %v", err)
	}
	// No one listens for dead: served here, where y is not connected.
	if _, err := a.m.Faults().Apply(y, spec); err != nil || len(a.cloud.Faults().List(y)) != 1 {
		t.Errorf("apply on a dead node: %v; here: %+v", err, a.cloud.Faults().List(y))
	}
}

// TestDrain: a draining node is left out of the bundles every node hands
// out.
func TestDrain(t *testing.T) {
	url := startNATS(t)
	a, b := newNode(t, url, "a"), newNode(t, url, "b")
	ctx := testenv.Context(t, wait)
	if addrs, err := a.m.Addresses(ctx); err != nil || fmt.Sprint(addrs) != "[a.example:7443 b.example:7443]" {
		t.Fatalf("a's addresses: %v %v", addrs, err)
	}
	if err := a.m.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{a, b} {
		if addrs, err := n.m.Addresses(ctx); err != nil || fmt.Sprint(addrs) != "[b.example:7443]" {
			t.Errorf("%s's addresses with a draining: %v %v", n.m.Name(), addrs, err)
		}
	}
}
