package store

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestReplicasNeverLowered: a node opening a cluster's existing R3 store
// without Replicas takes the streams' 3 and leaves them as they are (it
// used to create them again with 1, turning the cluster's buckets into
// single copies); a node asking for another number is refused by name.
func TestReplicasNeverLowered(t *testing.T) {
	ss := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := ss[0].srv.ClientURL()
	key := bytes.Repeat([]byte{7}, SecretKeyLen)
	check := func(when string) {
		t.Helper()
		for _, n := range []string{"KV_" + bucketDevices, "KV_" + bucketDeviceConfigs, logStream} {
			st, err := ss[1].js.Stream(ctx, n)
			if err != nil {
				t.Fatalf("%s: stream %s: %v", when, n, err)
			}
			if c := st.CachedInfo().Config; c.Replicas != 3 || c.AllowDirect != (n == "KV_"+bucketDevices) {
				t.Errorf("%s: stream %s: replicas %d allow_direct %v, want 3 and %v", when, n, c.Replicas, c.AllowDirect, n == "KV_"+bucketDevices)
			}
		}
	}
	b, err := Open(ctx, Options{URL: url, NATSOptions: []nats.Option{nats.Token(ss[0].token)}, SecretKey: key, Logger: quiet})
	if err != nil {
		t.Fatalf("node without Replicas: %v", err)
	}
	defer b.Close()
	if b.opts.Replicas != 3 {
		t.Errorf("node without Replicas: replicas %d, want the streams' 3", b.opts.Replicas)
	}
	check("after a node without Replicas opened")
	_, err = Open(ctx, Options{URL: url, NATSOptions: []nats.Option{nats.Token(ss[0].token)}, SecretKey: key, Logger: quiet, Replicas: 1})
	if err == nil || !strings.Contains(err.Error(), "--replicas") || !strings.Contains(err.Error(), "Replicas 1") {
		t.Fatalf("node with Replicas 1 on R3 streams: %v, want a refusal naming --replicas", err)
	}
	check("after a node with Replicas 1 was refused")
}

// TestEmbeddedClientPortNeedsToken: a clustered embedded server listens
// for clients on loopback (nats-server routes only once it does); a client
// without the store's token is refused there, the store itself works.
func TestEmbeddedClientPortNeedsToken(t *testing.T) {
	ss := openCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must[Device](t)(ss[0].RegisterDevice(ctx, devID(1)))
	for _, s := range ss {
		url := s.srv.ClientURL()
		if nc, err := nats.Connect(url, nats.NoReconnect()); err == nil {
			nc.Close()
			t.Fatalf("a client without the token connected to %s", url)
		} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Errorf("refusal: %v, want an authorization violation", err)
		}
		if nc, err := nats.Connect(url, nats.NoReconnect(), nats.Token("guess")); err == nil {
			nc.Close()
			t.Fatalf("a client with a wrong token connected to %s", url)
		}
		if len(s.token) < 32 {
			t.Errorf("token %q: want a long random one", s.token)
		}
	}
}

// TestNoRoutesNoEmptyRoute: a cluster node given no routes solicits none
// (RoutesFromStr("") is one empty route, dialled forever: "missing port in
// address").
func TestNoRoutesNoEmptyRoute(t *testing.T) {
	o := embeddedOptions(t.TempDir(), false, &ClusterOptions{Name: "c", Listen: "127.0.0.1:0", ServerName: "a"}, "tok")
	if len(o.Routes) != 0 {
		t.Errorf("routes %v, want none", o.Routes)
	}
	o = embeddedOptions(t.TempDir(), false, &ClusterOptions{Name: "c", Listen: "127.0.0.1:0", ServerName: "a",
		Routes: []string{"127.0.0.1:1", "nats-route://127.0.0.1:2"}}, "tok")
	if len(o.Routes) != 2 || o.Routes[0].Host != "127.0.0.1:1" || o.Routes[1].Host != "127.0.0.1:2" {
		t.Errorf("routes %v, want the two given", o.Routes)
	}
	if o.Authorization != "tok" {
		t.Errorf("authorization %q, want the token", o.Authorization)
	}
}

// TestCheckAddresses: the exported checks the CLI uses for its flags.
func TestCheckAddresses(t *testing.T) {
	for _, c := range []struct {
		in   string
		f    func(string) error
		want string
	}{
		{"127.0.0.1:6222", CheckListen, ""},
		{"127.0.0.1:99999", CheckListen, "0-65535"},
		{"127.0.0.1", CheckListen, "host:port"},
		{"nats-route://127.0.0.1:6222", CheckRoute, ""},
		{"127.0.0.1:x", CheckRoute, "0-65535"},
		{"x", CheckRoute, "nats-route://host:port"},
	} {
		err := c.f(c.in)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}
