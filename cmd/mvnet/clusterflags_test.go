package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

// TestClusterFlagErrors: each bad cluster flag is refused, naming the flag.
func TestClusterFlagErrors(t *testing.T) {
	for _, c := range []struct {
		f    clusterFlags
		nats string
		want string
	}{
		{clusterFlags{nodeName: "a.b"}, "", "--node-name"},
		{clusterFlags{replicas: -1}, "", "--replicas"},
		{clusterFlags{replicas: 3}, "", "--replicas 3 needs a cluster"},
		{clusterFlags{routes: []string{"x:1"}}, "", "--routes needs --cluster-listen"},
		{clusterFlags{listen: "0.0.0.0:6222"}, "", "--cluster-listen needs --node-name"},
		{clusterFlags{listen: "0.0.0.0:6222", nodeName: "a"}, "nats://x:4222", "--nats-url"},
		{clusterFlags{listen: "6222", nodeName: "a"}, "", "--cluster-listen \"6222\""},
		{clusterFlags{listen: "0.0.0.0:6222", nodeName: "a", routes: []string{"nats-route://b"}}, "", "--routes entry"},
		// The store's rules (store.CheckListen, CheckRoute), under the
		// flag's name rather than the store's field's.
		{clusterFlags{listen: "127.0.0.1:99999", nodeName: "a"}, "", `--cluster-listen "127.0.0.1:99999": port "99999" is not a number in 0-65535`},
		{clusterFlags{listen: "0.0.0.0:6222", nodeName: "a", routes: []string{"127.0.0.1:x"}}, "", `--routes entry "127.0.0.1:x": want nats-route://host:port or host:port: port "x"`},
	} {
		_, err := c.f.options(c.nats)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
	}
	o, err := clusterFlags{listen: "127.0.0.1:6222", nodeName: "a", routes: []string{"127.0.0.1:6223"}}.options("")
	if err != nil || o == nil || o.Listen != "127.0.0.1:6222" || len(o.Routes) != 1 {
		t.Fatalf("good flags: %+v %v", o, err)
	}
}

// TestDrainTimeoutFlag: a negative --drain-timeout is refused by name
// before anything starts.
func TestDrainTimeoutFlag(t *testing.T) {
	err := serveCloud(t.Context(), cloudServeOptions{dataDir: t.TempDir(), drainTimeout: -time.Second}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--drain-timeout -1s: must not be negative") {
		t.Fatalf("serveCloud with --drain-timeout -1s: %v", err)
	}
}
