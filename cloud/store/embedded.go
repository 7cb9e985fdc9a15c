package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ClusterOptions cluster the embedded NATS server with the embedded servers
// of other cloud nodes (NATS routes), so that they share one JetStream: the
// buckets and the log stream are replicated (Options.Replicas, default 3)
// and any node reads what another wrote. docs/scaling.md ("A cluster").
type ClusterOptions struct {
	// Name is the NATS cluster's name, the same on every node (default
	// "mvnet").
	Name string
	// Listen is the host:port the server accepts routes from other nodes
	// on (e.g. "0.0.0.0:6222"). Routes carry every stored value, secrets
	// sealed: keep the port on a private network.
	Listen string
	// Routes are the other nodes' route addresses (nats-route://host:port
	// or host:port); listing the node itself too is harmless, so every node
	// may be given the same list.
	Routes []string
	// ServerName is this server's name in the cluster, unique and stable
	// across restarts (JetStream knows its peers by it). Required.
	ServerName string
}

// DefaultClusterName is ClusterOptions.Name's default.
const DefaultClusterName = "mvnet"

// check validates c, naming the field at fault.
func (c *ClusterOptions) check() error {
	if c.ServerName == "" {
		return errors.New("store: Cluster.ServerName is required (a unique, stable name per node)")
	}
	if checkNodeName(c.ServerName) != nil { // the node's name (node.Options.NodeName)
		return fmt.Errorf("store: Cluster.ServerName %q: want letters, digits, '-' and '_' only", c.ServerName)
	}
	if err := CheckListen(c.Listen); err != nil {
		return fmt.Errorf("store: Cluster.Listen %q: %w", c.Listen, err)
	}
	for _, r := range c.Routes {
		if err := CheckRoute(r); err != nil {
			return fmt.Errorf("store: Cluster.Routes entry %q: %w", r, err)
		}
	}
	return nil
}

// CheckListen reports what is wrong with a route listen address
// (ClusterOptions.Listen: host:port, port 0-65535), or nil. The error does
// not repeat the address: the caller names it and where it came from (a
// field, a flag).
func CheckListen(hostport string) error {
	_, _, err := splitPort(hostport)
	return err
}

// CheckRoute reports what is wrong with a route address
// (ClusterOptions.Routes: nats-route://host:port or host:port), or nil,
// like CheckListen.
func CheckRoute(route string) error {
	if _, _, err := splitPort(strings.TrimPrefix(route, "nats-route://")); err != nil {
		return fmt.Errorf("want nats-route://host:port or host:port: %w", err)
	}
	return nil
}

// routeURLs are c.Routes with the nats-route scheme.
func (c *ClusterOptions) routeURLs() string {
	urls := make([]string, len(c.Routes))
	for i, r := range c.Routes {
		if !strings.Contains(r, "://") {
			r = "nats-route://" + r
		}
		urls[i] = r
	}
	return strings.Join(urls, ",")
}

func splitPort(hostport string) (string, int, error) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, errors.New("want host:port")
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("port %q is not a number in 0-65535", p)
	}
	return h, port, nil
}

// startEmbedded runs a nats-server with JetStream file storage under dir.
// Alone it listens on no port (DontListen): the store reaches it in
// process. Clustered (cl not nil) it also accepts routes on cl.Listen and
// solicits cl.Routes; it then listens for clients on a random loopback port
// too, since nats-server starts routing only once its client listener is up
// (nats-server v2.15.2: Start closes the routes' clientListenReady in
// AcceptLoop, which DontListen skips). That port would let any local user
// read the configs and write the registry, so every client must present a
// token, random per start, which only the store's in-process connection
// knows. With sync set, JetStream fsyncs every write (SyncAlways) — the
// issue requires secrets to be on disk when the API answers; see
// BenchmarkPutConfig for the cost.
func startEmbedded(dir string, sync bool, cl *ClusterOptions, token string, log *slog.Logger) (*server.Server, error) {
	srv, err := server.NewServer(embeddedOptions(dir, sync, cl, token))
	if err != nil {
		return nil, fmt.Errorf("store: embedded NATS: %w", err)
	}
	srv.SetLoggerV2(&natsLogger{log.With("component", "nats-server")}, false, false, false)
	srv.Start()
	if !srv.ReadyForConnections(15 * time.Second) {
		srv.Shutdown()
		if cl != nil {
			return nil, fmt.Errorf("store: embedded NATS did not start within 15s (data in %s; is the route port %s free?)", dir, cl.Listen)
		}
		return nil, fmt.Errorf("store: embedded NATS did not start within 15s (data in %s)", dir)
	}
	return srv, nil
}

// embeddedOptions are startEmbedded's server options.
func embeddedOptions(dir string, sync bool, cl *ClusterOptions, token string) *server.Options {
	opts := &server.Options{
		Authorization:      token,
		ServerName:         "mvnet-cloud-store",
		DontListen:         true,
		NoSigs:             true,
		JetStream:          true,
		StoreDir:           dir,
		SyncAlways:         sync,
		JetStreamMaxMemory: 64 << 20,
		MaxPayload:         1 << 20,
	}
	if cl != nil {
		host, port, _ := splitPort(cl.Listen) // checked by Open
		opts.ServerName = cl.ServerName
		opts.DontListen = false
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
		opts.Cluster.Name = cl.Name
		opts.Cluster.Host, opts.Cluster.Port = host, port
		if port == 0 {
			opts.Cluster.Port = server.RANDOM_PORT
		}
		// RoutesFromStr("") is [""], a route to nowhere that nats-server
		// keeps dialling ("missing port in address"): a first node may be
		// started with no routes, the others routing to it.
		if len(cl.Routes) > 0 {
			opts.Routes = server.RoutesFromStr(cl.routeURLs())
		}
	}
	return opts
}

// newToken returns a random client token for the embedded server.
func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// natsLogger adapts slog to nats-server's Logger. Debug and trace are off
// (the server would trace message payloads).
type natsLogger struct{ l *slog.Logger }

func (n *natsLogger) Noticef(f string, v ...any) {
	n.l.Log(context.Background(), slog.LevelDebug, fmt.Sprintf(f, v...))
}
func (n *natsLogger) Warnf(f string, v ...any)  { n.l.Warn(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Fatalf(f string, v ...any) { n.l.Error(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Errorf(f string, v ...any) { n.l.Error(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Debugf(f string, v ...any) { n.l.Debug(fmt.Sprintf(f, v...)) }
func (n *natsLogger) Tracef(f string, v ...any) {}
