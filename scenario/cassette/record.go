package cassette

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/cloud/session"
)

// Recorder records the upstream traffic of the cloud it is plugged into.
// It is safe for concurrent use.
type Recorder struct {
	o Options

	mu      sync.Mutex
	c       Cassette
	secrets map[string]bool // values to scrub from the whole cassette (scrub.go)
}

// NewRecorder returns a recorder with an empty cassette.
func NewRecorder(o Options) *Recorder {
	return &Recorder{o: o, c: Cassette{Version: Version, Redacted: !o.KeepSecrets,
		HTTP: []HTTPExchange{}, MQTT: []MQTTSession{}, Config: []ConfigFetch{}}}
}

// mine says whether traffic of device id is recorded.
func (o *Options) mine(id string) bool { return o.Device == "" || o.Device == id }

// Cassette returns a copy of what has been recorded so far.
func (r *Recorder) Cassette() *Cassette {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.HTTP = slices.Clone(c.HTTP)
	c.Config = slices.Clone(c.Config)
	c.MQTT = make([]MQTTSession, len(r.c.MQTT))
	for i, s := range r.c.MQTT {
		s.Packets = slices.Clone(s.Packets)
		c.MQTT[i] = s
	}
	c.Recorded = time.Now().UTC()
	if s := newScrubber(r.secrets); s != nil {
		s.cassette(&c)
	}
	return &c
}

// WriteTo writes the cassette recorded so far.
func (r *Recorder) WriteTo(w io.Writer) (int64, error) { return r.Cassette().WriteTo(w) }

// Save writes the cassette recorded so far to path.
func (r *Recorder) Save(path string) error { return r.Cassette().Save(path) }

// redactHeader returns h with the values of secret headers replaced.
func (r *Recorder) redactHeader(h http.Header) http.Header {
	h = h.Clone()
	if r.o.KeepSecrets {
		return h
	}
	for _, name := range r.o.redactHeaders() {
		name = http.CanonicalHeaderKey(name)
		if vs, ok := h[name]; ok {
			h[name] = slices.Repeat([]string{Redacted}, len(vs))
		}
	}
	return h
}

// WrapTransport is for httpexec.Options.WrapTransport: it performs each
// request with base and records the exchange.
func (r *Recorder) WrapTransport(base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		id := devctx.ID(req.Context())
		if !r.o.mine(id) {
			return base.RoundTrip(req)
		}
		body, err := takeBody(req)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		x := HTTPExchange{Device: id, Request: HTTPRequest{Method: req.Method, URL: req.URL.String(),
			Header: r.redactHeader(req.Header), Data: dataOf(body)}}
		resp, err := base.RoundTrip(req)
		if err == nil {
			var b []byte
			b, err = io.ReadAll(io.LimitReader(resp.Body, maxRecordedBody))
			resp.Body.Close()
			if err == nil {
				x.Response = &HTTPReply{Status: resp.StatusCode, Header: r.redactHeader(resp.Header), Data: dataOf(b)}
				resp.Body = io.NopCloser(bytes.NewReader(b))
				resp.ContentLength = int64(len(b))
			}
		}
		if err != nil {
			x.Error = errorRecord(err)
			if errors.Is(req.Context().Err(), context.Canceled) {
				// The cloud cancelled the request (the channel closed,
				// the link dropped): not the upstream's doing.
				x.Error.Kind = "canceled"
			}
			resp = nil
		}
		r.mu.Lock()
		r.c.HTTP = append(r.c.HTTP, x)
		r.mu.Unlock()
		return resp, err
	})
}

// takeBody reads and closes req's body (nil: none).
func takeBody(req *http.Request) ([]byte, error) {
	if req.Body == nil {
		return nil, nil
	}
	defer req.Body.Close()
	return io.ReadAll(req.Body)
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// errorRecord classifies err for the cassette.
func errorRecord(err error) *ErrorRecord {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hsErr *mqttbridge.HandshakeError
	kind := "other"
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = "timeout"
	case errors.Is(err, context.Canceled):
		kind = "canceled"
	case errors.As(err, &dnsErr):
		kind = "dns"
	case errors.As(err, &hsErr), errors.As(err, &certErr), errors.As(err, &unknownCA):
		kind = "tls"
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		kind = "reset"
	}
	return &ErrorRecord{Kind: kind, Message: err.Error()}
}

// errNoStore fails the fetches of a recording without a config store, as
// the cloud without one answers SERVERERROR.
var errNoStore = errors.New("cassette: recording without a config store")

// WrapConfig is for cloud.Options.Config: it answers from store (nil: no
// store, every fetch fails) and records each answer.
func (r *Recorder) WrapConfig(store session.ConfigStore) session.ConfigStore {
	return configFunc(func(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
		var v []byte
		var found bool
		err := errNoStore
		if store != nil {
			v, found, err = store.Fetch(ctx, id, scope, st, key)
		}
		if !r.o.mine(id) {
			return v, found, err
		}
		f := ConfigFetch{Device: id, Scope: scopeName(scope), Store: storeName(st), Key: key, Found: found && err == nil}
		switch {
		case err != nil:
			f.Error = errorRecord(err)
		case !found:
		case st == abi.ConfigKeyFetchStoreSecret && !r.o.KeepSecrets:
			f.Value = Redacted
		default:
			f.Value = string(v)
		}
		r.mu.Lock()
		if found && err == nil && st == abi.ConfigKeyFetchStoreSecret {
			r.noteSecretLocked(string(v))
		}
		r.c.Config = append(r.c.Config, f)
		r.mu.Unlock()
		return v, found, err
	})
}

type configFunc func(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error)

func (f configFunc) Fetch(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	return f(ctx, id, scope, st, key)
}

// The names of config scopes and stores in a cassette.
var (
	scopeNames = map[abi.ConfigKeyFetchScope]string{abi.ConfigKeyFetchScopeAccount: "account", abi.ConfigKeyFetchScopeDevice: "device"}
	storeNames = map[abi.ConfigKeyFetchStore]string{abi.ConfigKeyFetchStoreConfig: "config", abi.ConfigKeyFetchStoreSecret: "secret"}
)

func scopeName(s abi.ConfigKeyFetchScope) string { return nameOf(scopeNames, s) }
func storeName(s abi.ConfigKeyFetchStore) string { return nameOf(storeNames, s) }

// nameOf returns v's name, or its number if it has none (a value the
// kernel never sends).
func nameOf[V ~uint32](names map[V]string, v V) string {
	if n, ok := names[v]; ok {
		return n
	}
	return fmt.Sprint(uint32(v))
}

// checkName checks that a cassette's scope or store is one of names.
func checkName[V ~uint32](names map[V]string, what, s string) error {
	for _, n := range names {
		if n == s {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %v", what, s, slices.Sorted(maps.Values(names)))
}

// WrapConnect is for cloud.MQTTOptions.WrapConnect: it opens each broker
// stream with base and records the packets on it (mqtt.go).
func (r *Recorder) WrapConnect(base mqttbridge.Connector) mqttbridge.Connector {
	return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
		id := devctx.ID(ctx)
		conn, err := base(ctx, addr, conf)
		if !r.o.mine(id) {
			return conn, err
		}
		s := MQTTSession{Device: id, Addr: addr, TLS: conf != nil, Packets: []MQTTPacket{}}
		if err != nil {
			s.Error = errorRecord(err)
		}
		r.mu.Lock()
		r.c.MQTT = append(r.c.MQTT, s)
		idx := len(r.c.MQTT) - 1
		r.mu.Unlock()
		if err != nil {
			return nil, err
		}
		rc := &recConn{Conn: conn, r: r, idx: idx, lastClient: -1}
		if _, ok := conn.(tlsState); ok {
			// The bridge reads a TLS broker's alert from a stream that
			// has a TLS state (mqttbridge's alertOr).
			return &recTLSConn{rc}, nil
		}
		return rc, nil
	}
}
