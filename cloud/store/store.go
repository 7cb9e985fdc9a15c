// Package store is the cloud's persistent state in NATS JetStream: the device
// registry, account- and device-scoped configs and secrets, and the server
// log stream.
//
// By default the store embeds a nats-server with JetStream file storage under
// Options.DataDir, started by Open and stopped by Close; it listens on no
// port and is reached through an in-process connection. With Options.URL the
// store uses an external NATS system instead (several cloud nodes sharing one
// fleet), which must have JetStream enabled. With Options.Cluster the
// embedded servers of several nodes are clustered with each other by NATS
// routes and share one replicated JetStream (docs/scaling.md, "A cluster").
//
// Layout (bucket and stream names are part of the on-disk format):
//
//	KV mvnet_devices          key: device SID              value: JSON deviceRecord
//	KV mvnet_unique_names     key: hex(UniqueName)         value: device SID
//	KV mvnet_account_configs  key: hex(Key)                value: JSON configRecord
//	KV mvnet_device_configs   key: SID "." hex(Key)        value: JSON configRecord
//	KV mvnet_account_secrets  key: hex(Key)                value: JSON secretRecord (value sealed)
//	KV mvnet_device_secrets   key: SID "." hex(Key)        value: JSON secretRecord (value sealed)
//	KV mvnet_meta             key: secret_key_check        value: a sealed marker to detect a wrong SecretKey
//	KV mvnet_nodes            key: node name               value: JSON NodeInfo (TTL NodeTTL, heartbeats)
//	KV mvnet_presence         key: device SID              value: JSON Presence (the node holding its link)
//	stream MVNET_LOGS         subjects: mvnet.logs.<device ID>
//
// Config and secret keys are encoded in lower-case hex because NATS KV keys
// allow only [-/_=.A-Za-z0-9] while config keys may hold any printable ASCII;
// hex also keeps byte order, so listings sort by the original key. The
// original key is kept in the value.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults and limits.
const (
	// DefaultLogRetention is how long log lines are kept when
	// Options.LogRetention is zero.
	DefaultLogRetention = 7 * 24 * time.Hour
	// LogDuplicateWindow is the log stream's duplicate window (message-id
	// deduplication); AppendLog's high-water mark covers older duplicates.
	LogDuplicateWindow = 10 * time.Minute
	// MaxKeyLen is the longest config or secret key, in characters.
	MaxKeyLen = abi.MaxConfigKeyLen
	// MaxValueLen is the longest config or secret value, in bytes.
	MaxValueLen = 4096
	// MaxUniqueNameLen is the longest device UniqueName, in bytes.
	MaxUniqueNameLen = 255
	// MaxLogLineLen is the longest log line AppendLog accepts, in bytes.
	MaxLogLineLen = 64 * 1024
	// SecretKeyLen is the length of Options.SecretKey.
	SecretKeyLen = 32
	// SecretKeyFile is the file under DataDir holding the generated key.
	SecretKeyFile = "secret.key"
)

const (
	bucketDevices        = "mvnet_devices"
	bucketUniqueNames    = "mvnet_unique_names"
	bucketAccountConfigs = "mvnet_account_configs"
	bucketDeviceConfigs  = "mvnet_device_configs"
	bucketAccountSecrets = "mvnet_account_secrets"
	bucketDeviceSecrets  = "mvnet_device_secrets"
	bucketMeta           = "mvnet_meta"
	logStream            = "MVNET_LOGS"
	logSubjectPrefix     = "mvnet.logs."
)

// Options configure Open. Exactly one of DataDir and URL is needed; with both,
// URL wins and DataDir only holds the generated secret key.
type Options struct {
	// DataDir holds the embedded server's JetStream files (DataDir/jetstream)
	// and, unless SecretKey is given, the secret key (DataDir/secret.key,
	// mode 0600, generated on first Open).
	DataDir string
	// URL is an external NATS server or cluster with JetStream (e.g.
	// "nats://10.0.0.5:4222"); the store then runs no server of its own.
	URL string
	// NATSOptions are extra client options for URL mode (credentials, TLS).
	NATSOptions []nats.Option
	// Replicas for the buckets and the log stream: in URL mode (default
	// 1) and in clustered embedded mode (default 3, at most the number of
	// nodes). A lone embedded server has 1. The defaults apply to a first
	// start only: when the streams exist, Replicas 0 takes theirs, and
	// another value than theirs is refused (Open never changes them).
	Replicas int
	// Cluster, if set, clusters the embedded server with other nodes'
	// (ignored in URL mode).
	Cluster *ClusterOptions
	// SecretKey is the 32-byte AES-256 key that encrypts secret values at
	// rest. Required in URL mode unless DataDir holds secret.key; every node
	// sharing a NATS system must use the same key.
	SecretKey []byte
	// LogRetention is the log stream's maximum age (default 7 days).
	LogRetention time.Duration
	// LogMaxBytes caps the log stream's size; the oldest lines go first
	// (default: no cap).
	LogMaxBytes int64
	// Logger gets the store's and the embedded server's notices and errors
	// (default: slog.Default()). Secret values are never logged.
	Logger *slog.Logger
	// Observe, if set, is told how long each of the device path's store
	// operations took (observe.go; cloud/metrics' StoreOp).
	Observe func(op string, d time.Duration)

	// noSync turns off the embedded server's SyncAlways; only for the
	// benchmark that measures what syncing costs.
	noSync bool
	// dupWindow overrides LogDuplicateWindow; only for tests of duplicates
	// older than the window.
	dupWindow time.Duration
}

// Store is the cloud's state. Its methods are safe for concurrent use.
type Store struct {
	opts   Options
	log    *slog.Logger
	srv    *server.Server // nil in URL mode
	token  string         // the embedded server's client token (embedded.go)
	nc     *nats.Conn
	js     jetstream.JetStream
	aead   *sealer
	stream jetstream.Stream

	devices, names                jetstream.KeyValue
	accountConfigs, deviceConfigs jetstream.KeyValue
	accountSecrets, deviceSecrets jetstream.KeyValue
	meta                          jetstream.KeyValue
	nodes, presence               jetstream.KeyValue // presence.go

	logMu   sync.Mutex
	logLast map[string]logMark // per device: the last stored line's device seq and stream seq
	appMu   sync.Map           // deviceID → *sync.Mutex, serialises AppendLog per device
	wg      sync.WaitGroup     // FollowLogs goroutines
	closed  chan struct{}
	once    sync.Once
}

// Open starts (or connects to) NATS, creates the buckets and the log stream
// when missing, and returns the store. ctx bounds the start-up.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.DataDir == "" && opts.URL == "" {
		return nil, errors.New("store: need Options.DataDir (embedded NATS) or Options.URL (external NATS)")
	}
	if opts.LogRetention == 0 {
		opts.LogRetention = DefaultLogRetention
	}
	if opts.LogRetention < 0 {
		return nil, fmt.Errorf("store: LogRetention %v is negative", opts.LogRetention)
	}
	if opts.LogMaxBytes < 0 {
		return nil, fmt.Errorf("store: LogMaxBytes %d is negative", opts.LogMaxBytes)
	}
	if opts.Replicas < 0 {
		return nil, fmt.Errorf("store: Replicas %d is negative", opts.Replicas)
	}
	if opts.URL != "" {
		opts.Cluster = nil
	}
	explicit := opts.Replicas // 0: adopt the existing streams' (adoptReplicas)
	if opts.Cluster != nil {
		c := *opts.Cluster
		c.Name = cmp.Or(c.Name, DefaultClusterName)
		if err := c.check(); err != nil {
			return nil, err
		}
		opts.Cluster = &c
		opts.Replicas = cmp.Or(opts.Replicas, 3)
	}
	if opts.URL == "" && opts.Cluster == nil && opts.Replicas > 1 {
		return nil, fmt.Errorf("store: Replicas %d needs a cluster (Options.Cluster or an external NATS cluster): a lone embedded server holds 1 copy", opts.Replicas)
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Store{
		opts:    opts,
		log:     opts.Logger.With("component", "store"),
		logLast: make(map[string]logMark),
		closed:  make(chan struct{}),
	}
	key, err := loadSecretKey(opts, s.log)
	if err != nil {
		return nil, err
	}
	if s.aead, err = newSealer(key); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	if opts.URL != "" {
		copts := append([]nats.Option{nats.Name("mvnet-cloud-store"), nats.MaxReconnects(-1)}, opts.NATSOptions...)
		if s.nc, err = nats.Connect(opts.URL, copts...); err != nil {
			return nil, fmt.Errorf("store: connect to %s: %w", opts.URL, err)
		}
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if s.token, err = newToken(); err != nil {
			return nil, err
		}
		if s.srv, err = startEmbedded(filepath.Join(opts.DataDir, "jetstream"), !opts.noSync, opts.Cluster, s.token, opts.Logger); err != nil {
			return nil, err
		}
		if s.nc, err = nats.Connect("", nats.InProcessServer(s.srv), nats.Name("mvnet-cloud-store"), nats.Token(s.token)); err != nil {
			return nil, fmt.Errorf("store: connect to embedded server: %w", err)
		}
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.waitJetStream(ctx); err != nil {
		return nil, err
	}
	if err := s.adoptReplicas(ctx, explicit); err != nil {
		return nil, err
	}
	for {
		err := s.setup(ctx)
		if err == nil {
			break
		}
		// Nodes of a cluster starting together create the same streams
		// at once; a stream may be missing for a moment in between.
		if ctx.Err() != nil || !(transient(err) || errors.Is(err, jetstream.ErrStreamNotFound)) {
			return nil, err
		}
		s.log.Info("store set-up: trying again", "err", err)
	}
	if opts.Replicas > 1 {
		if err := s.waitLeaders(ctx); err != nil {
			return nil, err
		}
	}
	ok = true
	return s, nil
}

// jsPoll is how often Open asks whether JetStream is available yet.
const jsPoll = 200 * time.Millisecond

// waitJetStream waits, within ctx, until JetStream answers: in a cluster,
// until the nodes have elected a meta leader (a node started before its
// peers waits for them), for an external NATS until it is reachable.
func (s *Store) waitJetStream(ctx context.Context) error {
	var last error
	for logged := false; ; {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.js.AccountInfo(actx)
		cancel()
		if err == nil {
			return nil
		}
		last = err
		if !logged {
			s.log.Info("waiting for JetStream (a cluster's first start needs every node up, later a majority)", "err", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("store: JetStream not available (in a cluster: no meta leader yet; the first start needs every node of the routes up, later a majority; are their routes reachable?): %w (last: %v)", ctx.Err(), last)
		case <-time.After(jsPoll):
		}
	}
}

// adminAttempt bounds one attempt of a JetStream administrative request
// (creating a bucket or the stream) at Open.
const adminAttempt = 3 * time.Second

// adminRetry runs op until it succeeds, fails otherwise than by timing out,
// or ctx ends, each attempt bounded by adminAttempt. In a cluster the nodes
// starting together create the same buckets at once, and then the answer to
// a create is sometimes lost (nats-server v2.15.2: all three requests time
// out while the next ones succeed at once).
func adminRetry[T any](ctx context.Context, op func(context.Context) (T, error)) (T, error) {
	return adminRetryIf(ctx, transient, op)
}

// adminRetryIf is adminRetry, trying again after the errors retry accepts.
func adminRetryIf[T any](ctx context.Context, retry func(error) bool, op func(context.Context) (T, error)) (T, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, adminAttempt)
		v, err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !retry(err) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(jsPoll):
		}
	}
}

// transient says whether a JetStream request failed for want of an answer
// (a cluster electing a leader, a node starting): trying again may work.
func transient(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// clusterNotReady says whether JetStream refused a request because the
// cluster is not settled (no leader, peers not yet known); the nodes of a
// cluster starting wait that out.
func clusterNotReady(err error) bool {
	var ae *jetstream.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode {
		case 10005, // no suitable peers for placement (yet)
			10008, // JetStream system temporarily unavailable
			10009, // cluster cannot handle the request (not the leader)
			10023: // insufficient resources (peers not yet known)
			return true
		}
	}
	return false
}

// leaderReads turns off direct gets on a replicated bucket and binds it
// again: a direct get may be answered by any replica, one that has not yet
// applied the last acknowledged write, so that a config written through one
// node would not be read back through another (nor a compare-and-swap's
// revision be current). Reads then go to the stream's leader.
func (s *Store) leaderReads(ctx context.Context, bucket string) (jetstream.KeyValue, error) {
	return adminRetry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
		st, err := s.js.Stream(ctx, "KV_"+bucket)
		if err != nil {
			return nil, err
		}
		if cfg := st.CachedInfo().Config; cfg.AllowDirect {
			cfg.AllowDirect = false
			if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
				return nil, err
			}
		}
		return s.js.KeyValue(ctx, bucket)
	})
}

// streamNames are the JetStream streams of the layout: the buckets' and
// the log stream.
func streamNames() []string {
	names := []string{logStream}
	for _, b := range []string{bucketDevices, bucketUniqueNames, bucketAccountConfigs, bucketDeviceConfigs,
		bucketAccountSecrets, bucketDeviceSecrets, bucketMeta, bucketNodes, bucketPresence} {
		names = append(names, "KV_"+b)
	}
	return names
}

// adoptReplicas makes the store's Replicas those of the streams that
// already exist (the most replicated one's), so that a node never changes
// them under the others: creating a bucket that exists updates it in
// place, and a node started without --replicas would otherwise turn a
// cluster's R3 buckets into R1. explicit is the Replicas asked for (0:
// none): one that differs from the existing streams' is refused. With no
// stream yet, the default stands.
func (s *Store) adoptReplicas(ctx context.Context, explicit int) error {
	have, from := 0, ""
	notReady := func(err error) bool { return transient(err) || clusterNotReady(err) }
	for _, n := range streamNames() {
		st, err := adminRetryIf(ctx, notReady, func(ctx context.Context) (jetstream.Stream, error) { return s.js.Stream(ctx, n) })
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
		case err != nil:
			return fmt.Errorf("store: stream %s: %w", n, err)
		case st.CachedInfo().Config.Replicas > have:
			have, from = st.CachedInfo().Config.Replicas, n
		}
	}
	switch {
	case have == 0:
	case explicit == 0:
		s.opts.Replicas = have
	case explicit != have:
		return fmt.Errorf("store: Replicas %d (mvnet cloud serve --replicas) differs from the existing stream %s's %d: "+
			"leave it unset (0) to use the existing streams' replicas; a node does not change them under the others "+
			"(change them with the nats CLI, e.g. 'nats stream edit %s --replicas N', for every mvnet stream)",
			explicit, from, have, from)
	}
	return nil
}

// waitLeaders waits until every replicated stream of the store has a
// leader, so that the first writes after Open find one.
func (s *Store) waitLeaders(ctx context.Context) error {
	for _, n := range streamNames() {
		_, err := adminRetryIf(ctx, func(err error) bool { return transient(err) || errors.Is(err, errNoLeader) },
			func(ctx context.Context) (struct{}, error) {
				st, err := s.js.Stream(ctx, n)
				if err == nil {
					if ci := st.CachedInfo().Cluster; ci == nil || ci.Leader == "" {
						err = errNoLeader
					}
				}
				return struct{}{}, err
			})
		if err != nil {
			return fmt.Errorf("store: stream %s: %w", n, err)
		}
	}
	return nil
}

// errNoLeader: a replicated stream has not elected its leader yet.
var errNoLeader = errors.New("no leader yet")

// Conn is the store's NATS connection (in process for the embedded
// server): the cluster's request/reply subjects (package cloud/cluster)
// travel on it. The store owns it: do not close it.
func (s *Store) Conn() *nats.Conn { return s.nc }

// bucketSpec is one KV bucket of the layout.
type bucketSpec struct {
	dst        *jetstream.KeyValue
	name, desc string
	ttl        time.Duration
	// direct keeps direct gets on when replicated: reads answered by any
	// replica, also while the stream elects a new leader (NATS: 4-9 s
	// after its leader's node died), at the price of reading a write
	// acknowledged a moment ago as not yet there. The registry: a device
	// whose link arrives at a node that lost the registry's leader is
	// admitted at once, not after the election; a device created a moment
	// ago may be refused once and redial.
	direct bool
}

// directReads says whether bucket b reads directly (any replica).
func (s *Store) directReads(b bucketSpec) bool { return s.opts.Replicas == 1 || b.direct }

func (s *Store) buckets() []bucketSpec {
	return []bucketSpec{
		{&s.devices, bucketDevices, "mvnet device registry", 0, true},
		{&s.names, bucketUniqueNames, "mvnet device UniqueName index", 0, false},
		{&s.accountConfigs, bucketAccountConfigs, "mvnet account-scoped configs", 0, false},
		{&s.deviceConfigs, bucketDeviceConfigs, "mvnet device-scoped configs", 0, false},
		{&s.accountSecrets, bucketAccountSecrets, "mvnet account-scoped secrets (values sealed)", 0, false},
		{&s.deviceSecrets, bucketDeviceSecrets, "mvnet device-scoped secrets (values sealed)", 0, false},
		{&s.meta, bucketMeta, "mvnet store metadata", 0, false},
		{&s.presence, bucketPresence, "mvnet presence: the node holding each device's link", 0, false},
		{&s.nodes, bucketNodes, "mvnet cloud nodes (entries expire unless refreshed)", NodeTTL, false},
	}
}

func (s *Store) logStreamConfig() jetstream.StreamConfig {
	cfg := jetstream.StreamConfig{
		Name:        logStream,
		Description: "mvnet server logs, one subject per device",
		Subjects:    []string{logSubjectPrefix + "*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      s.opts.LogRetention,
		MaxBytes:    -1,
		MaxMsgSize:  MaxLogLineLen + 1024,
		Duplicates:  min(cmp.Or(s.opts.dupWindow, LogDuplicateWindow), s.opts.LogRetention),
		Replicas:    s.opts.Replicas,
		// Replicated, a direct get may be answered by a follower that has
		// not yet applied the last write: AppendLog's mark must be the
		// leader's (see leaderReads).
		AllowDirect: s.opts.Replicas == 1,
	}
	if s.opts.LogMaxBytes > 0 {
		cfg.MaxBytes = s.opts.LogMaxBytes
	}
	return cfg
}

// setup creates (or updates) the buckets and the log stream and binds
// them. The embedded servers of a cluster leave that to the JetStream meta
// leader and bind once it is done: nodes starting together creating the
// same replicated streams at once lose answers and streams (nats-server
// v2.15.2).
func (s *Store) setup(ctx context.Context) error {
	if s.srv != nil && s.opts.Cluster != nil {
		for {
			var err error
			if s.srv.JetStreamIsLeader() {
				err = s.create(ctx)
			} else {
				err = s.bindNoWait(ctx)
			}
			if err == nil {
				break
			}
			if ctx.Err() != nil || !(transient(err) || clusterNotReady(err) || errors.Is(err, errNotYet) ||
				errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound)) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("store: the cluster's buckets were not created: %w (last: %v)", ctx.Err(), err)
			case <-time.After(jsPoll):
			}
		}
	} else if s.opts.Replicas > 1 && s.bindNoWait(ctx) == nil {
		// Replicated buckets another node created are used as they are
		// (creating them again would turn their direct gets back on
		// under that node's feet); the log stream takes this node's
		// settings.
		st, err := adminRetry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
			return s.js.CreateOrUpdateStream(ctx, s.logStreamConfig())
		})
		if err != nil {
			return fmt.Errorf("store: stream %s: %w", logStream, err)
		}
		s.stream = st
	} else if err := s.create(ctx); err != nil {
		return err
	}
	for {
		_, err := adminRetry(ctx, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, s.checkSecretKey(ctx)
		})
		// Another node's marker, created while this one looked: read again.
		if err == nil || ctx.Err() != nil || !errors.Is(err, jetstream.ErrKeyNotFound) {
			return err
		}
	}
}

// bindNoWait is bind within adminAttempt.
func (s *Store) bindNoWait(ctx context.Context) error {
	bctx, cancel := context.WithTimeout(ctx, adminAttempt)
	defer cancel()
	return s.bind(bctx)
}

// errNotYet: a bucket exists but is not yet in its final shape.
var errNotYet = errors.New("not yet set up")

// create creates or updates every bucket and the log stream, and binds
// them.
func (s *Store) create(ctx context.Context) error {
	for _, b := range s.buckets() {
		kv, err := adminRetry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
			return s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket:      b.name,
				Description: b.desc,
				History:     1,
				TTL:         b.ttl,
				Storage:     jetstream.FileStorage,
				Replicas:    s.opts.Replicas,
			})
		})
		if err == nil && !s.directReads(b) {
			kv, err = s.leaderReads(ctx, b.name)
		}
		if err != nil {
			return fmt.Errorf("store: bucket %s: %w", b.name, err)
		}
		*b.dst = kv
	}
	st, err := adminRetry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return s.js.CreateOrUpdateStream(ctx, s.logStreamConfig())
	})
	if err != nil {
		return fmt.Errorf("store: stream %s: %w", logStream, err)
	}
	s.stream = st
	return nil
}

// bind binds the buckets and the log stream another node created, once
// each is in its final shape (direct gets off when replicated).
func (s *Store) bind(ctx context.Context) error {
	for _, b := range s.buckets() {
		st, err := s.js.Stream(ctx, "KV_"+b.name)
		if err != nil {
			return fmt.Errorf("store: bucket %s: %w", b.name, err)
		}
		if st.CachedInfo().Config.AllowDirect != s.directReads(b) {
			return fmt.Errorf("store: bucket %s: %w", b.name, errNotYet)
		}
		if *b.dst, err = s.js.KeyValue(ctx, b.name); err != nil {
			return fmt.Errorf("store: bucket %s: %w", b.name, err)
		}
	}
	st, err := s.js.Stream(ctx, logStream)
	if err != nil {
		return fmt.Errorf("store: stream %s: %w", logStream, err)
	}
	s.stream = st
	return nil
}

// Close disconnects and, when embedded, shuts the server down (flushing its
// files). FollowLogs channels are closed. Close is idempotent.
func (s *Store) Close() {
	s.once.Do(func() {
		close(s.closed)
		if s.nc != nil {
			s.nc.Close()
		}
		s.wg.Wait()
		if s.srv != nil {
			s.srv.Shutdown()
			s.srv.WaitForShutdown()
		}
	})
}
