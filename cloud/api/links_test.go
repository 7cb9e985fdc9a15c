package api

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/store"
	"github.com/nats-io/nats-server/v2/server"
)

// linkOf reads the link fields of a device JSON.
func linkOf(t *testing.T, d map[string]any) (connected bool, node string, since any) {
	t.Helper()
	c, ok := d["connected"].(bool)
	n, ok2 := d["node"].(string)
	s, ok3 := d["connected_since"]
	if !ok || !ok2 || !ok3 {
		t.Fatalf("device without connected, node or connected_since: %v", d)
	}
	return c, n, s
}

// listed finds sid in GET /v1/Devices.
func (e *env) listed(sid string) map[string]any {
	e.t.Helper()
	r := e.want(e.do("GET", "/v1/Devices", nil), 200)
	devs, _ := r.body["devices"].([]any)
	for _, d := range devs {
		if m, _ := d.(map[string]any); m["sid"] == sid {
			return m
		}
	}
	e.t.Fatalf("%s not listed: %s", sid, r.raw)
	return nil
}

// TestDeviceLinkAlone: a lone node shows a device connected when its
// link is up on this cloud (its own registry), with no node name nor
// time, in the list and the device alike; a device not linked is not.
func TestDeviceLinkAlone(t *testing.T) {
	e, _, _ := faultEnv(t, true)
	sid := devID(1)
	for _, d := range []map[string]any{e.want(e.do("GET", "/v1/Devices/pump-7", nil), 200).body, e.listed(sid)} {
		if c, n, s := linkOf(t, d); !c || n != "" || s != nil {
			t.Errorf("linked device: connected %v node %q since %v; want true, \"\", null", c, n, s)
		}
	}
	e2, _, _ := faultEnv(t, false)
	for _, d := range []map[string]any{e2.want(e2.do("GET", "/v1/Devices/pump-7", nil), 200).body, e2.listed(sid)} {
		if c, n, s := linkOf(t, d); c || n != "" || s != nil {
			t.Errorf("device not linked: connected %v node %q since %v; want false, \"\", null", c, n, s)
		}
	}
}

// TestDeviceLinkCluster: in a cluster (Options.Presence: the store's
// presence and node registry) a device whose presence names a live node
// is connected there, since then; one whose presence names a node no
// longer registered, or with no presence, is offline.
func TestDeviceLinkCluster(t *testing.T) {
	e := openEnv(t)
	e.serve(New(Options{Store: e.st, Presence: e.st, Logger: quiet}), nil)
	ctx := context.Background()
	linked, stale, none := e.register(1), e.register(2), e.register(3)
	for _, n := range []string{"n1", "gone"} {
		if err := e.st.PutNode(ctx, store.NodeInfo{Name: n, Started: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now().Add(-time.Second)
	if err := e.st.SetPresence(ctx, linked, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetPresence(ctx, stale, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := e.st.DeleteNode(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []map[string]any{e.want(e.do("GET", "/v1/Devices/"+linked, nil), 200).body, e.listed(linked)} {
		c, n, s := linkOf(t, d)
		since, err := time.Parse(time.RFC3339, s.(string))
		if !c || n != "n1" || err != nil || since.Before(before.Truncate(time.Second)) {
			t.Errorf("linked device: connected %v node %q since %v (%v); want true, n1, now", c, n, s, err)
		}
	}
	for _, sid := range []string{stale, none} {
		for _, d := range []map[string]any{e.want(e.do("GET", "/v1/Devices/"+sid, nil), 200).body, e.listed(sid)} {
			if c, n, s := linkOf(t, d); c || n != "" || s != nil {
				t.Errorf("%s: connected %v node %q since %v; want offline", sid, c, n, s)
			}
		}
	}
	// The link ends on n1.
	if err := e.st.ClearPresence(ctx, linked, "n1"); err != nil {
		t.Fatal(err)
	}
	if c, _, _ := linkOf(t, e.listed(linked)); c {
		t.Error("a device whose presence was cleared is connected")
	}
}

// TestStoreUnavailable503: with the store's NATS stopped (as during a
// JetStream leader election, for the client), requests answer 503 with
// Retry-After, not 500, so that clients retry.
func TestStoreUnavailable503(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(20 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := store.Open(ctx, store.Options{URL: ns.ClientURL(), SecretKey: bytes.Repeat([]byte{1}, store.SecretKeyLen), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sid, token, _, err := st.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, cloud: &fakeCloud{}, sid: sid, token: token}
	e.serve(New(Options{Store: st, Presence: st, Logger: quiet}), nil)
	e.want(e.do("GET", "/v1/Devices", nil), 200)

	ns.Shutdown()
	ns.WaitForShutdown()
	for _, path := range []string{"/v1/Devices", "/v1/Configs"} {
		r := e.do("GET", path, nil)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || r.body["status"] != float64(503) {
			t.Errorf("GET %s with the store's NATS stopped: %d, Retry-After %q, %s; want 503 with Retry-After", path, r.status, r.header.Get("Retry-After"), r.raw)
		}
	}
}
