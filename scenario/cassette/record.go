package cassette

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
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

	mu sync.Mutex
	c  Cassette
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
		var body []byte
		if req.Body != nil {
			b, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			body = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
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
			resp = nil
		}
		r.mu.Lock()
		r.c.HTTP = append(r.c.HTTP, x)
		r.mu.Unlock()
		return resp, err
	})
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
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		kind = "timeout"
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

// WrapConfig is for cloud.Options.Config: it answers from store (nil: no
// store, every fetch fails) and records each answer.
func (r *Recorder) WrapConfig(store session.ConfigStore) session.ConfigStore {
	return configFunc(func(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
		if store == nil {
			return nil, false, errors.New("cassette: recording without a config store")
		}
		v, found, err := store.Fetch(ctx, id, scope, st, key)
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
		r.c.Config = append(r.c.Config, f)
		r.mu.Unlock()
		return v, found, err
	})
}

type configFunc func(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error)

func (f configFunc) Fetch(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	return f(ctx, id, scope, st, key)
}

func scopeName(s abi.ConfigKeyFetchScope) string {
	switch s {
	case abi.ConfigKeyFetchScopeAccount:
		return "account"
	case abi.ConfigKeyFetchScopeDevice:
		return "device"
	}
	return fmt.Sprint(uint32(s))
}

func storeName(s abi.ConfigKeyFetchStore) string {
	switch s {
	case abi.ConfigKeyFetchStoreConfig:
		return "config"
	case abi.ConfigKeyFetchStoreSecret:
		return "secret"
	}
	return fmt.Sprint(uint32(s))
}

func parseScope(s string) (abi.ConfigKeyFetchScope, error) {
	switch s {
	case "account":
		return abi.ConfigKeyFetchScopeAccount, nil
	case "device":
		return abi.ConfigKeyFetchScopeDevice, nil
	}
	return 0, fmt.Errorf("scope %q is neither account nor device", s)
}

func parseStore(s string) (abi.ConfigKeyFetchStore, error) {
	switch s {
	case "config":
		return abi.ConfigKeyFetchStoreConfig, nil
	case "secret":
		return abi.ConfigKeyFetchStoreSecret, nil
	}
	return 0, fmt.Errorf("store %q is neither config nor secret", s)
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
		return &recConn{Conn: conn, r: r, idx: idx, lastClient: -1}, nil
	}
}
