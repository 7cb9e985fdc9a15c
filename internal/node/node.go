// Package node is a cloud node: the store (embedded NATS JetStream in a
// data directory, or an external NATS), the device CA, the TLS device
// listener, the cloud (the registry is the store) and, optionally, the REST
// API. `mvnet cloud serve` runs one until interrupted; `mvnet run` hosts
// one for the run of an application (internal/runner, hosted mode).
//
// With Options.NodeName the node is one of a cluster (package
// cloud/cluster, docs/scaling.md "A cluster"): nodes sharing one NATS
// JetStream (Options.Cluster clusters the embedded servers; NATSURL names
// an external one) serve one fleet.
//
// A node also registers devices and issues their credential bundles
// (IssueBundle, CreateDevice): the bundle `mvnet device create` writes and
// POST /v1/Devices returns.
//
// Options.Customize sees the cloud's options just before cloud.New, so a
// caller can wrap the devices' upstream (cloud.Options.HTTP.WrapTransport,
// MQTT.WrapConnect), replace the config store or observe what devices do
// (cloud.Options.Observe) — the seams of faults, scenarios and
// record/replay (docs/fault-injection.md).
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/api"
	"github.com/mvnet/mvnet/cloud/cluster"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

// CADir is the device CA's directory in a node's data directory.
const CADir = "devca"

// shutdownWait bounds Close's graceful shutdown of the cloud.
const shutdownWait = 10 * time.Second

// Options configure a node.
type Options struct {
	// DataDir holds the device CA (DataDir/devca, created at first start)
	// and the embedded store; required. The caller locks it if it must.
	DataDir string
	// NATSURL, if set, is an external NATS with JetStream used instead of
	// the embedded one.
	NATSURL string
	// NodeName, if set, makes the node a member of a cluster
	// (cloud/cluster): it registers under this name, records the presence
	// of its devices and routes a device's operations to the node holding
	// its link; bundles list every live node. Unique per node.
	NodeName string
	// Cluster, if set, clusters the embedded NATS with other nodes'
	// (store.Options.Cluster); needs NodeName.
	Cluster *store.ClusterOptions
	// Replicas of the store's buckets and log stream (store.Options).
	Replicas int
	// ListenDevices is the device listener's host:port (TLS 1.3).
	ListenDevices string
	// Advertise is the host:port put in bundles; "" is the listener's
	// own address (for an unspecified one, the host name).
	Advertise string
	// TLSHosts are extra names and addresses for the cloud's server
	// certificate.
	TLSHosts []string
	// ListenAPI is the REST API's address; "" serves none. The API is
	// served once EnsureAccount has run.
	ListenAPI string
	// ListenOps is the address of the ops listener (ops.go: /metrics,
	// /healthz, /readyz); "" serves none and keeps no metrics.
	ListenOps string
	// HTTP is the devices' outbound policy (--allow, --resolve, --ca-file).
	HTTP httpexec.Options
	// MQTTPlaintext: an MQTT connect without tls_credentials is plain TCP.
	MQTTPlaintext bool
	// Logger; nil discards.
	Logger *slog.Logger
	// Customize, if set, may change the cloud's options just before
	// cloud.New (limits, upstream wrappers, Observe, Config).
	Customize func(*cloud.Options)
}

// Node is a running cloud node.
type Node struct {
	Store *store.Store
	CA    *devca.CA
	Cloud *cloud.Server
	// Devices is the device listener's address; Advertise the address
	// bundles name.
	Devices   *net.TCPAddr
	Advertise string
	// APIURL is the REST API's URL ("http://host:port"); "" if none.
	APIURL string
	// Member is the node's part in a cluster; nil without
	// Options.NodeName.
	Member *cluster.Member

	log     *slog.Logger
	aln     net.Listener
	served  chan error
	apiOnce sync.Once
	hs      interface{ Close() error }
	ops     opsState // ops.go

	closeOnce sync.Once
}

// Start opens the node's store and device CA, starts the cloud and serves
// the device listener. Nothing is left running when it fails. The caller
// ends the node with Close.
func Start(ctx context.Context, o Options) (n *Node, err error) {
	if o.DataDir == "" {
		return nil, errors.New("node: no data directory")
	}
	if _, err := httpexec.New(o.HTTP); err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(o.ListenDevices); err != nil {
		return nil, fmt.Errorf("--listen-devices %q: want host:port", o.ListenDevices)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n = &Node{log: log, served: make(chan error, 1)}
	var undo []func()
	defer func() {
		if err != nil {
			for _, f := range slices.Backward(undo) {
				f()
			}
		}
	}()
	if err := n.listenOps(o.ListenOps); err != nil {
		return nil, err
	}
	undo = append(undo, n.closeOps)
	if n.CA, err = devca.Open(filepath.Join(o.DataDir, CADir)); err != nil {
		return nil, err
	}
	if o.Cluster != nil && o.NodeName == "" {
		return nil, errors.New("node: a clustered store needs a node name (--node-name)")
	}
	if o.Cluster != nil {
		c := *o.Cluster
		c.ServerName = o.NodeName
		o.Cluster = &c
	}
	if n.Store, err = store.Open(ctx, store.Options{DataDir: o.DataDir, URL: o.NATSURL, Logger: log,
		Cluster: o.Cluster, Replicas: o.Replicas, Observe: n.observeStore()}); err != nil {
		return nil, err
	}
	undo = append(undo, n.Store.Close)
	n.ops.store.Store(n.Store)
	ln, err := net.Listen("tcp", o.ListenDevices)
	if err != nil {
		return nil, fmt.Errorf("--listen-devices: %w", err)
	}
	undo = append(undo, func() { ln.Close() })
	n.Devices = ln.Addr().(*net.TCPAddr)
	n.Advertise = o.Advertise
	if n.Advertise == "" {
		n.Advertise = advertisedAddr(n.Devices)
	}
	advHost, _, err := net.SplitHostPort(n.Advertise)
	if err != nil {
		return nil, fmt.Errorf("--advertise %q: want host:port", n.Advertise)
	}
	cert, err := n.CA.ServerCertificate(certHosts(n.Devices, advHost, o.TLSHosts)...)
	if err != nil {
		return nil, err
	}
	// The API's listener before anything is created: a first start that
	// cannot bind it must not create the account (whose token it could
	// then never show).
	if o.ListenAPI != "" {
		if n.aln, err = net.Listen("tcp", o.ListenAPI); err != nil {
			return nil, fmt.Errorf("--listen-api: %w", err)
		}
		undo = append(undo, func() { n.aln.Close() })
		n.APIURL = "http://" + n.aln.Addr().String()
	}
	copts := cloud.Options{
		HTTP:   o.HTTP,
		Config: n.Store,
		Logs:   n.Store,
		// The registry is the source of truth: a deleted device's link is
		// dropped and its certificate refused.
		Registry: n.Store,
		TLS:      link.ServerTLSConfig(cert, n.CA.Pool()),
		Logger:   log.With("component", "cloud"),
		MQTT:     cloud.MQTTOptions{Plaintext: o.MQTTPlaintext},
		Metrics:  n.ops.metrics,
	}
	if o.NodeName != "" {
		if n.Member, err = cluster.New(cluster.Options{Store: n.Store, Name: o.NodeName, Advertise: n.Advertise,
			API: n.APIURL, Logger: log}); err != nil {
			return nil, err
		}
		copts.OnLink = n.Member.OnLink
	}
	if o.Customize != nil {
		o.Customize(&copts)
	}
	if n.Cloud, err = cloud.New(copts); err != nil {
		return nil, err
	}
	if err := n.Cloud.Start(ctx); err != nil {
		return nil, err
	}
	if n.Member != nil {
		if err := n.Member.Start(ctx, n.Cloud); err != nil {
			_ = n.Cloud.Shutdown(context.Background())
			n.Member.Close()
			return nil, err
		}
		undo = append(undo, n.Member.Close)
	}
	go func() { n.served <- n.Cloud.Serve(ln) }()
	n.ops.cloud.Store(n.Cloud)
	return n, nil
}

// Served delivers the device listener's end: cloud.ErrShutdown after
// Close, another error if serving failed.
func (n *Node) Served() <-chan error { return n.served }

// EnsureAccount creates the account at first start (its auth token is
// returned then, and only then) and starts serving the REST API, if the
// node has one.
func (n *Node) EnsureAccount(ctx context.Context) (account, token string, created bool, err error) {
	account, token, created, err = n.Store.EnsureAccount(ctx)
	if err != nil {
		return "", "", false, err
	}
	n.apiOnce.Do(n.serveAPI)
	return account, token, created, nil
}

// serveAPI serves the REST API (cloud/api) on the node's API listener.
func (n *Node) serveAPI() {
	if n.aln == nil {
		return
	}
	var cl api.LoggingSetter = n.Cloud
	var fl api.Faults = n.Cloud.Faults()
	if n.Member != nil {
		// One node's API serves every device of the cluster.
		cl, fl = n.Member, n.Member.Faults()
	}
	hs := api.NewServer(n.withHealth(api.New(api.Options{Store: n.Store, Cloud: cl, Faults: fl, Logger: n.log,
		// POST /v1/Devices: the same bundle 'mvnet device create' writes,
		// with the addresses of the live nodes (this one's first).
		IssueDevice: func(ctx context.Context, id string) ([]byte, error) {
			d, err := n.Store.GetDevice(ctx, id)
			if err != nil {
				return nil, err
			}
			addrs, err := n.Addresses(ctx)
			if err != nil {
				return nil, err
			}
			b, err := IssueBundle(n.CA, id, d.UniqueName, addrs, "")
			if err != nil {
				return nil, err
			}
			return json.Marshal(b)
		},
	})), api.ServerOptions{ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelWarn)})
	// Idle and stalled connections time out and their number is capped
	// (api.NewServer, api.LimitListener).
	go func() { _ = hs.Serve(api.LimitListener(n.aln, 0)) }()
	n.hs = hs
}

// Addresses are what the node's bundles list: the device listeners of
// every live node of the cluster, this one's first; alone, its own.
func (n *Node) Addresses(ctx context.Context) ([]string, error) {
	if n.Member == nil {
		return []string{n.Advertise}, nil
	}
	return n.Member.Addresses(ctx)
}

// CreateDevice registers device id (with uniqueName, "" for none) and
// issues its bundle naming the node's advertised address (in a cluster,
// every live node's: Addresses).
func (n *Node) CreateDevice(ctx context.Context, id, uniqueName string) (*device.Bundle, error) {
	addrs, err := n.Addresses(ctx)
	if err != nil {
		return nil, err
	}
	b, err := IssueBundle(n.CA, id, uniqueName, addrs, "")
	if err != nil {
		return nil, err
	}
	if _, err := n.Store.CreateDevice(ctx, id, uniqueName); err != nil {
		return nil, err
	}
	return b, nil
}

// Drain stops the node accepting device links and asks the devices it
// holds to move to other nodes (cloud.Server.Drain: CONTROL GOAWAY); it
// returns once no link is left, or with ctx's error. The readiness check
// "draining" fails from its start. Close after it.
func (n *Node) Drain(ctx context.Context) error {
	if n.Member != nil {
		// First out of the bundles the nodes issue (the registry marks
		// it draining), so that no new device is sent here.
		if err := n.Member.Drain(ctx); err != nil {
			n.log.Warn("drain: could not mark the node draining in the registry", "err", err)
		}
	}
	return n.Cloud.Drain(ctx)
}

// Close stops the REST API (its long-lived log streams too), shuts the
// cloud down (at most shutdownWait) and closes the store.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.apiOnce.Do(func() {}) // no API from now on
		if n.hs != nil {
			_ = n.hs.Close()
		} else if n.aln != nil {
			n.aln.Close()
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
		defer cancel()
		_ = n.Cloud.Shutdown(sctx)
		if n.Member != nil {
			n.Member.Close() // after the links; its presences go stale with its registry entry
		}
		n.closeOps()
		n.Store.Close()
	})
}

// IssueBundle issues device id's certificate from the device CA and puts it
// in a credential bundle with the cloud's addresses (one per node of a
// cluster; at least one) and CA. `mvnet device create` (data directory),
// POST /v1/Devices and hosted runs build bundles with it.
func IssueBundle(ca *devca.CA, id, uniqueName string, addrs []string, serverName string) (*device.Bundle, error) {
	if len(addrs) == 0 {
		return nil, errors.New("node: a bundle needs at least one cloud address")
	}
	certPEM, keyPEM, err := ca.IssueDevice(id, 0)
	if err != nil {
		return nil, err
	}
	b := &device.Bundle{
		Version:      device.BundleVersion,
		DeviceSid:    id,
		UniqueName:   uniqueName,
		CloudAddress: addrs[0],
		ServerName:   serverName,
		CloudCA:      string(ca.CertPEM()),
		Certificate:  string(certPEM),
		PrivateKey:   string(keyPEM),
	}
	if len(addrs) > 1 {
		b.CloudAddresses = addrs
	}
	if err := b.Check(); err != nil {
		return nil, err
	}
	return b, nil
}

// advertisedAddr is the address put in bundles for a listener: the
// listener's own, or for an unspecified one (0.0.0.0, ::) the host name.
func advertisedAddr(a *net.TCPAddr) string {
	port := strconv.Itoa(a.Port)
	if !a.IP.IsUnspecified() {
		return net.JoinHostPort(a.IP.String(), port)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return net.JoinHostPort(h, port)
	}
	return net.JoinHostPort("localhost", port)
}

// certHosts are the names and addresses the cloud's server certificate is
// issued for.
func certHosts(a *net.TCPAddr, advHost string, extra []string) []string {
	hosts := []string{advHost}
	if a.IP.IsUnspecified() {
		hosts = append(hosts, "localhost", "127.0.0.1", "::1")
		if h, err := os.Hostname(); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	} else {
		hosts = append(hosts, a.IP.String())
	}
	hosts = append(hosts, extra...)
	var out []string
	for _, h := range hosts {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}
