package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/internal/node"
)

func newCloudCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cloud",
		Short: "Run mvnet's cloud on its own (devices join it with credential bundles)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCloudServeCmd(), newCloudTokenCmd())
	return cmd
}

// cloudServeOptions are `mvnet cloud serve`'s flags.
type cloudServeOptions struct {
	dataDir       string
	listenDevices string
	listenAPI     string
	listenOps     string
	advertise     string
	tlsHosts      []string
	natsURL       string
	allow         []string
	resolve       []string
	caFiles       []string
	mqttPlaintext bool
	verbose       bool
	limits        linkLimits
	cluster       clusterFlags
	// drainTimeout bounds the drain at a stop (--drain-timeout); drain
	// says whether to drain: a cluster member does, a lone node only
	// when the flag is given.
	drainTimeout time.Duration
	drain        bool
	// stopSignals, if set, restores the signals' default action (run at
	// the first signal, so that a second one ends the process).
	stopSignals func()
}

// clusterFlags are `mvnet cloud serve`'s cluster flags (docs/scaling.md,
// "A cluster").
type clusterFlags struct {
	nodeName string
	listen   string
	routes   []string
	replicas int
}

// options checks the flags, naming the one at fault, and returns the
// node's cluster options.
func (c clusterFlags) options(natsURL string) (*store.ClusterOptions, error) {
	if c.nodeName != "" {
		if err := store.CheckNodeName(c.nodeName); err != nil {
			return nil, fmt.Errorf("--node-name %q: want letters, digits, '-' and '_' only, unique per node", c.nodeName)
		}
	}
	if c.replicas < 0 {
		return nil, fmt.Errorf("--replicas %d: must not be negative (0 = the default: 3 clustered, 1 alone)", c.replicas)
	}
	if c.replicas > 1 && c.listen == "" && natsURL == "" {
		return nil, fmt.Errorf("--replicas %d needs a cluster (--cluster-listen, or --nats-url to a NATS cluster): a lone embedded NATS holds 1 copy", c.replicas)
	}
	if len(c.routes) > 0 && c.listen == "" {
		return nil, errors.New("--routes needs --cluster-listen (the address this node accepts the other nodes' routes on)")
	}
	if c.listen == "" {
		return nil, nil
	}
	if natsURL != "" {
		return nil, errors.New("--cluster-listen clusters the embedded NATS: with --nats-url the external NATS is the cluster (drop one of them)")
	}
	if c.nodeName == "" {
		return nil, errors.New("--cluster-listen needs --node-name (a unique, stable name per node)")
	}
	// The store's checks, so that the flags and store.ClusterOptions
	// follow one rule.
	if err := store.CheckListen(c.listen); err != nil {
		return nil, fmt.Errorf("--cluster-listen %q: %w (e.g. 0.0.0.0:6222)", c.listen, err)
	}
	for _, r := range c.routes {
		if err := store.CheckRoute(r); err != nil {
			return nil, fmt.Errorf("--routes entry %q: %w", r, err)
		}
	}
	return &store.ClusterOptions{Listen: c.listen, Routes: c.routes}, nil
}

// linkLimits are the device listener's limits and the links' keep-alive
// (cloud.Options; zero: the cloud's defaults).
type linkLimits struct {
	maxHandshakes      int
	maxHandshakesPerIP int
	handshakeTimeout   time.Duration
	clientHelloTimeout time.Duration
	pingInterval       time.Duration
	idleTimeout        time.Duration
	// The outbound bounds (httpexec.Options).
	maxConnsPerHost, maxConns, maxDials int
}

// check refuses a negative limit, naming its flag.
func (l linkLimits) check() error {
	for _, c := range []struct {
		flag string
		neg  bool
		v    any
	}{
		{"--max-handshakes", l.maxHandshakes < 0, l.maxHandshakes},
		{"--max-handshakes-per-ip", l.maxHandshakesPerIP < 0, l.maxHandshakesPerIP},
		{"--handshake-timeout", l.handshakeTimeout < 0, l.handshakeTimeout},
		{"--client-hello-timeout", l.clientHelloTimeout < 0, l.clientHelloTimeout},
		{"--ping-interval", l.pingInterval < 0, l.pingInterval},
		{"--idle-timeout", l.idleTimeout < 0, l.idleTimeout},
		{"--max-conns-per-host", l.maxConnsPerHost < 0, l.maxConnsPerHost},
		{"--max-outbound-conns", l.maxConns < 0, l.maxConns},
		{"--max-dials", l.maxDials < 0, l.maxDials},
	} {
		if c.neg {
			return fmt.Errorf("%s %v: must not be negative (0 = the default)", c.flag, c.v)
		}
	}
	return nil
}

// apply copies the limits into o.
func (l linkLimits) apply(o *cloud.Options) {
	o.MaxHandshakes, o.MaxHandshakesPerIP = l.maxHandshakes, l.maxHandshakesPerIP
	o.HandshakeTimeout, o.ClientHelloTimeout = l.handshakeTimeout, l.clientHelloTimeout
	o.PingInterval, o.IdleTimeout = l.pingInterval, l.idleTimeout
}

func newCloudServeCmd() *cobra.Command {
	var o cloudServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the cloud: store, device listener (TLS 1.3) and REST API",
		Long: `Run mvnet's cloud as a service of its own, until interrupted (Ctrl-C or
SIGTERM).

The cloud keeps its state in --data-dir: the device CA that issues every
device's certificate (created at first start), and the store (devices,
configs, secrets, logs) in an embedded NATS JetStream server — or, with
--nats-url, in an external NATS system shared by several cloud nodes.

Devices connect to --listen-devices with TLS 1.3 and a client certificate
from the device CA ('mvnet device create' issues one, in a credential
bundle); a device's certificate is that device and no other. The cloud
performs devices' HTTPS requests and MQTT sessions under the outbound
policy: loopback, private and link-local addresses are refused unless
--allow covers them; --resolve maps host names to addresses like curl;
--ca-file adds trusted roots. An MQTT connect without tls_credentials is
TLS, verified against the system's roots plus --ca-file, as on the
production service; --mqtt-plaintext makes it plain TCP instead, for local
brokers without TLS (docs/mqtt.md). See docs/cloud.md.

--listen-ops serves the node's operations endpoints on an HTTP listener of
its own: /metrics (Prometheus: devices connected, links, frames, requests by
result, store latency, memory, goroutines), /healthz (200 while the process
is up) and /readyz (200 when the store answers and the device listener
accepts links; 503 naming the failing checks otherwise). The REST API's
listener answers /healthz and /readyz too, without authentication. Keep the
ops address off the public network. See docs/scaling.md, "Operating a node".

Several nodes serve one fleet when they share one NATS JetStream: either
their embedded NATS servers clustered with each other (--cluster-listen and
--routes on every node; 3 nodes survive the loss of one) or an external
NATS cluster (--nats-url). Give each node a unique --node-name: the nodes
then know which node holds each device's link, one node's REST API serves
every device, and bundles list every live node's address. Every node needs
the same device CA and secret key: copy DATA-DIR/devca and
DATA-DIR/secret.key from the first node before starting the others. See
docs/scaling.md ("A cluster").`,
		Example: `  mvnet cloud serve --data-dir ./mvnet-data
  mvnet cloud serve --data-dir /var/lib/mvnet --listen-devices 0.0.0.0:7443 --advertise cloud.example.com:7443
  mvnet cloud serve --nats-url nats://10.0.0.5:4222 --data-dir /var/lib/mvnet --node-name a
  mvnet cloud serve --data-dir /var/lib/mvnet --node-name a --listen-devices 0.0.0.0:7443 \
      --advertise a.example.com:7443 --cluster-listen 0.0.0.0:6222 \
      --routes a.example.com:6222,b.example.com:6222,c.example.com:6222
  mvnet cloud serve --listen-ops 127.0.0.1:9090   # then: curl http://127.0.0.1:9090/metrics`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM)
			defer stop()
			// At the first signal, before the drain: a second one ends
			// the process (every Notify of the signal must be stopped).
			o.stopSignals = func() { stop(); stopSignals(cmd.Context()) }
			o.drain = o.cluster.nodeName != "" || cmd.Flags().Changed("drain-timeout")
			return serveCloud(ctx, o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", dataDirDefault(), "the cloud's data directory (device CA, store; env "+envDataDir+")")
	f.StringVar(&o.listenDevices, "listen-devices", "127.0.0.1:7443", "address devices connect to (TLS 1.3)")
	f.StringVar(&o.listenAPI, "listen-api", "127.0.0.1:8080", "address of the REST API (HTTP; \"\" for none)")
	f.DurationVar(&o.drainTimeout, "drain-timeout", 30*time.Second, "at a stop (SIGTERM, Ctrl-C), how long to wait for the node's devices to move to other nodes (CONTROL GOAWAY) before closing the links left; a second SIGTERM or Ctrl-C ends the process at once; a cluster node (--node-name) drains, a lone node only with this flag; 0: no drain")
	f.StringVar(&o.listenOps, "listen-ops", "", "address (host:port) of the ops endpoints /metrics, /healthz and /readyz (HTTP; \"\" for none)")
	f.StringVar(&o.advertise, "advertise", "", "host:port devices are told to connect to in bundles (default: the --listen-devices address)")
	f.StringArrayVar(&o.tlsHosts, "tls-host", nil, "extra host name or address for the cloud's server certificate (repeatable)")
	f.StringVar(&o.natsURL, "nats-url", "", "external NATS with JetStream (e.g. nats://10.0.0.5:4222) instead of the embedded one")
	f.StringArrayVar(&o.allow, "allow", nil, "allow devices' requests to this private/loopback prefix (CIDR; repeatable)")
	f.StringArrayVar(&o.resolve, "resolve", nil, "map host:port to an address, like curl (host:port:addr; repeatable)")
	f.StringArrayVar(&o.caFiles, "ca-file", nil, "PEM file of extra trusted root certificates for devices' HTTPS requests and MQTT brokers (repeatable)")
	f.BoolVar(&o.mqttPlaintext, "mqtt-plaintext", false, "an MQTT connect without tls_credentials is plain TCP (local brokers) instead of TLS")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log diagnostics at debug level")
	c := &o.cluster
	f.StringVar(&c.nodeName, "node-name", "", "this node's name in a cluster, unique and stable (letters, digits, - and _): enables presence and routing between nodes")
	f.StringVar(&c.listen, "cluster-listen", "", "host:port the embedded NATS accepts the other nodes' routes on (e.g. 0.0.0.0:6222; keep it on a private network)")
	f.StringSliceVar(&c.routes, "routes", nil, "the nodes' route addresses, comma-separated (nats-route://host:port or host:port; the same list on every node is fine)")
	f.IntVar(&c.replicas, "replicas", 0, "copies of every bucket and of the log stream, at their creation (0: the existing streams' number, at a first start 3 with --cluster-listen, else 1; at most the number of NATS nodes; a number other than the existing streams' is refused)")
	l := &o.limits
	f.IntVar(&l.maxHandshakes, "max-handshakes", 0, "most device links handshaking at once (0: 32 per CPU, at least 64)")
	f.IntVar(&l.maxHandshakesPerIP, "max-handshakes-per-ip", 0, "most handshaking links from one address (0: 16, loopback unlimited; behind a TCP proxy set it to --max-handshakes)")
	f.DurationVar(&l.handshakeTimeout, "handshake-timeout", 0, "time a link has for TLS and HELLO (0: 10s)")
	f.DurationVar(&l.clientHelloTimeout, "client-hello-timeout", 0, "time from accept to the first TLS record (0: 2s)")
	f.DurationVar(&l.pingInterval, "ping-interval", 0, "send PING on a link silent this long (0: 15s)")
	f.DurationVar(&l.idleTimeout, "idle-timeout", 0, "drop a link silent this long (0: 45s)")
	f.IntVar(&l.maxConnsPerHost, "max-conns-per-host", 0, "most outbound connections to one host for devices' HTTPS requests; more requests queue (0: 32)")
	f.IntVar(&l.maxConns, "max-outbound-conns", 0, "most outbound connections open at once across hosts, MQTT brokers included; more wait (0: half the file-descriptor limit)")
	f.IntVar(&l.maxDials, "max-dials", 0, "most outbound connections being set up at once (TCP and TLS) (0: 128)")
	return cmd
}

// serveCloud runs the cloud until ctx ends. It writes one line per
// listener to out once they listen ("devices  ADDR", "api  URL").
func serveCloud(ctx context.Context, o cloudServeOptions, out, errOut io.Writer) error {
	if o.drainTimeout < 0 {
		return fmt.Errorf("--drain-timeout %v: must not be negative (0: no drain)", o.drainTimeout)
	}
	hopts, err := policyOptions(o.allow, o.resolve, o.caFiles)
	if err != nil {
		return err
	}
	if err := o.limits.check(); err != nil {
		return err
	}
	hopts.MaxConnsPerHost, hopts.MaxConns, hopts.MaxDials = o.limits.maxConnsPerHost, o.limits.maxConns, o.limits.maxDials
	if _, err := httpexec.New(hopts); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(o.listenDevices); err != nil {
		return fmt.Errorf("--listen-devices %q: want host:port", o.listenDevices)
	}
	clusterOpts, err := o.cluster.options(o.natsURL)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: level}))

	unlock, err := lockDataDir(o.dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	n, err := node.Start(ctx, node.Options{
		DataDir: o.dataDir, NATSURL: o.natsURL,
		ListenDevices: o.listenDevices, Advertise: o.advertise, TLSHosts: o.tlsHosts,
		ListenAPI: o.listenAPI, ListenOps: o.listenOps, HTTP: hopts, MQTTPlaintext: o.mqttPlaintext, Logger: log,
		Customize: o.limits.apply,
		NodeName:  o.cluster.nodeName, Cluster: clusterOpts, Replicas: o.cluster.replicas,
	})
	if err != nil {
		return err
	}
	defer n.Close()

	if err := writeCloudInfo(o.dataDir, cloudInfo{DeviceAddress: n.Advertise, APIURL: n.APIURL, NATSURL: o.natsURL}); err != nil {
		return err
	}
	// The REST API (cloud/api), with the account created at first start.
	// Nothing after the account's creation can fail before its token is
	// shown; a token lost anyway is replaced with 'mvnet cloud token
	// rotate'.
	account, token, created, err := n.EnsureAccount(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "devices  %s (TLS 1.3, device CA %s)\n", n.Devices, filepath.Join(o.dataDir, devcaDir, devca.CertFile))
	if n.APIURL != "" {
		fmt.Fprintf(out, "api      %s\n", n.APIURL)
	} else {
		fmt.Fprintln(out, "api      not served (--listen-api \"\")")
	}
	if u := n.OpsURL(); u != "" {
		fmt.Fprintf(out, "ops      %s (/metrics, /healthz, /readyz)\n", u)
	}
	fmt.Fprintf(out, "account  %s\n", account)
	if created {
		fmt.Fprintf(out, "token    %s  (the account's auth token: shown this once, stored hashed)\n", token)
		saveCLICredentials(out, log, n.APIURL, account, token)
	}
	fmt.Fprintf(out, "data     %s\n", o.dataDir)
	log.Info("cloud serving", "devices", n.Devices.String(), "advertise", n.Advertise, "data_dir", o.dataDir)

	select {
	case <-ctx.Done():
		if o.stopSignals != nil {
			o.stopSignals()
		}
		if o.drain && o.drainTimeout > 0 {
			drainNode(n, o.drainTimeout, errOut)
		}
		return nil
	case err := <-n.Served():
		if errors.Is(err, cloud.ErrShutdown) {
			return nil
		}
		return err
	}
}

// drainNode asks the node's devices to move to other nodes (cloud.Server.
// Drain: CONTROL GOAWAY, at its DrainRate) and waits at most timeout for
// their links to end; the caller then closes the node, and the links left.
func drainNode(n *node.Node, timeout time.Duration, w io.Writer) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	held := len(n.Cloud.Devices())
	fmt.Fprintf(w, "mvnet: draining: asking %d devices to move to other nodes (at most %v)\n", held, timeout)
	if err := n.Drain(ctx); err != nil {
		fmt.Fprintf(w, "mvnet: drain incomplete, closing the links left: %v\n", err)
		return
	}
	fmt.Fprintln(w, "mvnet: drained: no device link left")
}

// policyOptions turns --allow, --resolve and --ca-file into the cloud's
// outbound policy, checking each before anything starts; an error names
// the flag and the entry.
func policyOptions(allow, resolve, caFiles []string) (httpexec.Options, error) {
	var h httpexec.Options
	if err := httpexec.CheckResolve(resolve); err != nil {
		var re *httpexec.ResolveError
		if errors.As(err, &re) {
			return h, fmt.Errorf("--resolve %q: %s", re.Entry, re.Reason)
		}
		return h, fmt.Errorf("--resolve: %w", err)
	}
	for _, a := range allow {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return h, fmt.Errorf("--allow %q: want a CIDR prefix such as 127.0.0.0/8", a)
		}
		h.AllowPrefixes = append(h.AllowPrefixes, p)
	}
	h.Resolve = resolve
	for _, f := range caFiles {
		certs, err := readPEMCerts(f)
		if err != nil {
			return h, fmt.Errorf("--ca-file: %w", err)
		}
		h.RootCAs = append(h.RootCAs, certs...)
	}
	return h, nil
}

// saveCLICredentials writes the CLI's credentials file after the account's
// token was created or rotated, so `mvnet config …` works at once on this
// machine (flags and MVNET_* variables still override), and says so on out.
// Without an API URL there is nothing to write. A failure is only
// reported: the token has been shown.
func saveCLICredentials(out io.Writer, log *slog.Logger, apiURL, account, token string) {
	if apiURL == "" {
		return
	}
	p, err := cliconfig.Path()
	if err == nil {
		err = cliconfig.Save(p, cliconfig.Credentials{URL: apiURL, AccountSid: account, AuthToken: token})
	}
	if err != nil {
		log.Warn("could not write the CLI credentials file", "path", p, "err", err)
		return
	}
	fmt.Fprintf(out, "cli      credentials written to %s\n", p)
}
