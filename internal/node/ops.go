package node

// The node's operations endpoints (docs/scaling.md, "Operating a node"):
// with Options.ListenOps, an HTTP listener of its own serving
//
//	/metrics  the node's Prometheus metrics (package cloud/metrics), with
//	          the Go runtime's and the process's
//	/healthz  200 "ok" while the process is up
//	/readyz   200 "ok" when every readiness check passes; 503 and one line
//	          per failing check ("name: reason") otherwise
//
// The REST API's listener serves /healthz and /readyz too, without
// authentication (withHealth), so that a load balancer in front of the API
// probes the port it balances; /metrics only on the ops listener, which an
// operator keeps off the public network.
//
// Readiness is a list of named checks (AddReadyCheck), each bounded by
// readyTimeout: "store" (JetStream answers), "devices" (the device listener
// is accepting links), "draining" (the node is not draining). The listener
// serves from the start of Start on: while the store starts (a cluster node
// waits for its peers, minutes maybe) /healthz is 200 and /readyz 503
// "store: starting", so that an orchestrator does not take the wait for a
// hang and restart the node in a loop.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/api"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/cloud/store"
)

// readyTimeout bounds each readiness check (design: the store must answer
// within 2 s).
const readyTimeout = 2 * time.Second

// opsState is a node's metrics, readiness checks and ops listener.
type opsState struct {
	metrics *metrics.Metrics     // nil without an ops listener
	reg     *prometheus.Registry // what /metrics serves
	ln      net.Listener         // nil without an ops listener
	url     string
	hs      *http.Server

	mu     sync.Mutex
	checks []readyCheck

	// store and cloud are the node's parts once up (Start sets them):
	// the checks read them while Start runs.
	store atomic.Pointer[store.Store]
	cloud atomic.Pointer[cloud.Server]
}

// errStarting is a check's answer for a part not yet up.
var errStarting = errors.New("starting")

// readyCheck is one named readiness check: nil means ready.
type readyCheck struct {
	name  string
	check func(context.Context) error
}

// listenOps adds the node's readiness checks, opens the ops listener
// (before anything else starts, so that a taken address fails the start
// early), creates the node's metrics and serves the listener.
func (n *Node) listenOps(addr string) error {
	n.addChecks()
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("--listen-ops %q: want host:port", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--listen-ops: %w", err)
	}
	n.ops.ln, n.ops.url = ln, "http://"+ln.Addr().String()
	n.ops.reg = prometheus.NewRegistry()
	n.ops.metrics = metrics.New(n.ops.reg)
	n.serveOps()
	return nil
}

// observeStore is the store's Observe hook: the metrics' StoreOp, or nil
// without metrics.
func (n *Node) observeStore() func(string, time.Duration) {
	if n.ops.metrics == nil {
		return nil
	}
	return n.ops.metrics.StoreOp
}

// addChecks adds the node's own readiness checks; each says "starting"
// until Start has brought its part up (ops.store, ops.cloud).
func (n *Node) addChecks() {
	n.AddReadyCheck("store", func(ctx context.Context) error {
		st := n.ops.store.Load()
		if st == nil {
			return errStarting
		}
		return st.Ping(ctx)
	})
	n.AddReadyCheck("devices", func(context.Context) error {
		c := n.ops.cloud.Load()
		if c == nil {
			return errStarting
		}
		if !c.Serving() {
			return errors.New("the device listener is not accepting links")
		}
		return nil
	})
	n.AddReadyCheck("draining", func(context.Context) error {
		if c := n.ops.cloud.Load(); c != nil && c.Draining() {
			return errors.New("the node is draining: its devices are moving to other nodes")
		}
		return nil
	})
}

// serveOps serves the ops listener.
func (n *Node) serveOps() {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.ops.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", n.readyz)
	n.ops.hs = api.NewServer(mux, api.ServerOptions{})
	go func() { _ = n.ops.hs.Serve(api.LimitListener(n.ops.ln, 0)) }()
}

// closeOps stops the ops listener.
func (n *Node) closeOps() {
	switch {
	case n.ops.hs != nil:
		_ = n.ops.hs.Close()
	case n.ops.ln != nil:
		_ = n.ops.ln.Close()
	}
}

// OpsURL is the ops listener's URL ("http://host:port"); "" if none.
func (n *Node) OpsURL() string { return n.ops.url }

// Metrics are the node's metrics; nil without an ops listener.
func (n *Node) Metrics() *metrics.Metrics { return n.ops.metrics }

// AddReadyCheck adds a readiness check: /readyz answers 200 only while
// every check returns nil within readyTimeout (ctx ends then), and names
// the failing ones otherwise. Checks run concurrently, at every probe.
func (n *Node) AddReadyCheck(name string, check func(ctx context.Context) error) {
	n.ops.mu.Lock()
	defer n.ops.mu.Unlock()
	n.ops.checks = append(n.ops.checks, readyCheck{name, check})
}

// Ready runs the readiness checks and returns one "name: reason" line per
// failing check, by name; none means ready.
func (n *Node) Ready(ctx context.Context) []string {
	n.ops.mu.Lock()
	checks := slices.Clone(n.ops.checks)
	n.ops.mu.Unlock()
	failed := make([]string, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			if err := c.check(cctx); err != nil {
				// An error that names its check already is not
				// prefixed twice ("store: store: …").
				failed[i] = c.name + ": " + strings.TrimPrefix(err.Error(), c.name+": ")
			}
		})
	}
	wg.Wait()
	failed = slices.DeleteFunc(failed, func(s string) bool { return s == "" })
	slices.Sort(failed)
	return failed
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

func (n *Node) readyz(w http.ResponseWriter, r *http.Request) {
	failed := n.Ready(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(failed) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(failed, "\n"))
		return
	}
	fmt.Fprintln(w, "ok")
}

// withHealth serves /healthz and /readyz (GET or HEAD, no authentication)
// in front of h, the REST API.
func (n *Node) withHealth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			switch r.URL.Path {
			case "/healthz":
				healthz(w, r)
				return
			case "/readyz":
				n.readyz(w, r)
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}
