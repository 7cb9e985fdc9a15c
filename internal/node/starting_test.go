package node

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/store"
)

// freePort reserves a loopback port by listening on port 0 and closing.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestOpsAnswerWhileTheStoreStarts: a cluster node whose peers are not
// reachable waits in Start for a JetStream meta leader; meanwhile its ops
// listener answers /healthz 200 and /readyz 503 "store: starting" (it used
// to accept the probes and never answer, so that an orchestrator restarted
// the node in a loop).
func TestOpsAnswerWhileTheStoreStarts(t *testing.T) {
	ops := "127.0.0.1:" + strconv.Itoa(freePort(t))
	var routes []string
	for range 3 {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(freePort(t))) // nobody listens there
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan error, 1)
	go func() {
		n, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0", ListenAPI: "", ListenOps: ops,
			NodeName: "lonely", Cluster: &store.ClusterOptions{Listen: routes[0], Routes: routes}})
		if err == nil {
			n.Close()
		}
		started <- err
	}()
	defer func() {
		cancel()
		if err := <-started; err == nil {
			t.Error("Start of a node without its peers succeeded")
		}
	}()
	client := &http.Client{Timeout: 5 * time.Second}
	probe := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + ops + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	deadline := time.Now().Add(waitLimit)
	for {
		code, body, err := probe("/healthz")
		if err == nil {
			if code != http.StatusOK || strings.TrimSpace(body) != "ok" {
				t.Fatalf("/healthz while the store starts: %d %q, want 200 ok", code, body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz while the store starts: %v", err)
		}
		select {
		case err := <-started:
			t.Fatalf("Start ended early: %v", err)
		case <-time.After(50 * time.Millisecond): // poll interval
		}
	}
	code, body, err := probe("/readyz")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "store: starting") ||
		!strings.Contains(body, "devices: starting") {
		t.Fatalf("/readyz while the store starts: %d %q %v, want 503 naming store: starting", code, body, err)
	}
	code, _, err = probe("/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("/metrics while the store starts: %d %v", code, err)
	}
}
