// Package store is the cloud's persistent state in NATS JetStream: the device
// registry, account- and device-scoped configs and secrets, and the server
// log stream.
//
// By default the store embeds a nats-server with JetStream file storage under
// Options.DataDir, started by Open and stopped by Close; it listens on no
// port and is reached through an in-process connection. With Options.URL the
// store uses an external NATS system instead (several cloud nodes sharing one
// fleet), which must have JetStream enabled.
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
	// Replicas for the buckets and the log stream in URL mode (default 1).
	Replicas int
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
	nc     *nats.Conn
	js     jetstream.JetStream
	aead   *sealer
	stream jetstream.Stream

	devices, names                jetstream.KeyValue
	accountConfigs, deviceConfigs jetstream.KeyValue
	accountSecrets, deviceSecrets jetstream.KeyValue
	meta                          jetstream.KeyValue

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
		if s.srv, err = startEmbedded(filepath.Join(opts.DataDir, "jetstream"), !opts.noSync, opts.Logger); err != nil {
			return nil, err
		}
		if s.nc, err = nats.Connect("", nats.InProcessServer(s.srv), nats.Name("mvnet-cloud-store")); err != nil {
			return nil, fmt.Errorf("store: connect to embedded server: %w", err)
		}
	}
	if s.js, err = jetstream.New(s.nc); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.setup(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

func (s *Store) setup(ctx context.Context) error {
	kv := func(dst *jetstream.KeyValue, name, desc string) error {
		b, err := s.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      name,
			Description: desc,
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    s.opts.Replicas,
		})
		if err != nil {
			return fmt.Errorf("store: bucket %s: %w", name, err)
		}
		*dst = b
		return nil
	}
	for _, b := range []struct {
		dst        *jetstream.KeyValue
		name, desc string
	}{
		{&s.devices, bucketDevices, "mvnet device registry"},
		{&s.names, bucketUniqueNames, "mvnet device UniqueName index"},
		{&s.accountConfigs, bucketAccountConfigs, "mvnet account-scoped configs"},
		{&s.deviceConfigs, bucketDeviceConfigs, "mvnet device-scoped configs"},
		{&s.accountSecrets, bucketAccountSecrets, "mvnet account-scoped secrets (values sealed)"},
		{&s.deviceSecrets, bucketDeviceSecrets, "mvnet device-scoped secrets (values sealed)"},
		{&s.meta, bucketMeta, "mvnet store metadata"},
	} {
		if err := kv(b.dst, b.name, b.desc); err != nil {
			return err
		}
	}
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
		AllowDirect: true,
	}
	if s.opts.LogMaxBytes > 0 {
		cfg.MaxBytes = s.opts.LogMaxBytes
	}
	st, err := s.js.CreateOrUpdateStream(ctx, cfg)
	if err != nil {
		return fmt.Errorf("store: stream %s: %w", logStream, err)
	}
	s.stream = st
	return s.checkSecretKey(ctx)
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
