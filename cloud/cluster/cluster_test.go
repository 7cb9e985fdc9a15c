package cluster_test

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/cluster"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

const wait = 30 * time.Second

// node is one cloud node: its store (on the shared NATS), cloud and member.
type node struct {
	st    *store.Store
	cloud *cloud.Server
	m     *cluster.Member
}

func newNode(t *testing.T, url, name string) *node {
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
	c := testenv.NewCloud(t, cloud.Options{Config: st, Logs: st, OnLink: m.OnLink})
	if err := m.Start(ctx, c); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return &node{st, c, m}
}

// TestRouting: two nodes on one NATS; a device linked to node a is
// reached through node b (faults, logging), its presence names a while
// linked and is cleared when the link ends; bundles list both nodes.
func TestRouting(t *testing.T) {
	url := startNATS(t)
	a, b := newNode(t, url, "a"), newNode(t, url, "b")
	ctx := testenv.Context(t, wait)
	if addrs, err := b.m.Addresses(ctx); err != nil || fmt.Sprint(addrs) != "[b.example:7443 a.example:7443]" {
		t.Fatalf("b's addresses: %v %v", addrs, err)
	}
	id := "UV" + fmt.Sprintf("%032x", 7)
	d := testenv.NewDevice(t, a.cloud, device.Options{DeviceID: id})
	if _, err := d.Connect(ctx, 51); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, wait, "presence on a", func() bool {
		p, ok, _ := b.st.DevicePresence(ctx, id)
		return ok && p.Node == "a"
	})

	f, err := b.m.Faults().Apply(id, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if l := a.cloud.Faults().List(id); len(l) != 1 || l[0].ID != f.ID {
		t.Fatalf("a's faults after an apply through b: %+v", l)
	}
	if len(b.cloud.Faults().List(id)) != 0 {
		t.Error("the fault was applied on b too")
	}
	if !b.m.Faults().Connected(id) {
		t.Error("b does not see the device connected")
	}
	if l := b.m.Faults().List(id); len(l) != 1 {
		t.Errorf("list through b: %+v", l)
	}
	// An error crosses as the faults error it is.
	if err := b.m.Faults().Clear(id, "FT"+fmt.Sprintf("%032x", 1)); !errors.Is(err, faults.ErrUnknownFault) {
		t.Errorf("clearing an unknown fault through b: %v", err)
	}
	if n, err := b.m.Faults().ClearAll(id); err != nil || n != 1 || len(a.cloud.Faults().List(id)) != 0 {
		t.Errorf("clear all through b: %d %v", n, err)
	}
	if !b.m.SetLogging(id, true) {
		t.Error("SetLogging through b: not connected")
	}

	// The link ends: the presence goes; operations are then served by
	// the node asked.
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	poll.Within(t, wait, "presence cleared", func() bool {
		_, ok, _ := b.st.DevicePresence(ctx, id)
		return !ok
	})
	if b.m.Faults().Connected(id) || b.m.SetLogging(id, true) {
		t.Error("a device with no link is connected somewhere")
	}
}
