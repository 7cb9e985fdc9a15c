package cassette

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/textdist"
)

// Replayer answers the cloud's upstream requests from a cassette. It is
// safe for concurrent use.
type Replayer struct {
	o Options
	c *Cassette

	mu       sync.Mutex
	httpUsed []bool
	cfgUsed  []bool
	mqttUsed []bool // sessions bound to a stream (or whose failed connect was served)
	// mqttMatched says, per session and packet, which client packets were
	// matched.
	mqttMatched [][]bool
	mismatches  []Mismatch
}

// NewReplayer returns a replayer answering from c.
func NewReplayer(c *Cassette, o Options) *Replayer {
	p := &Replayer{o: o, c: c, httpUsed: make([]bool, len(c.HTTP)), cfgUsed: make([]bool, len(c.Config)),
		mqttUsed: make([]bool, len(c.MQTT)), mqttMatched: make([][]bool, len(c.MQTT))}
	for i, s := range c.MQTT {
		p.mqttMatched[i] = make([]bool, len(s.Packets))
	}
	return p
}

// OpenReplayer loads the cassette at path (Load) and returns its replayer.
func OpenReplayer(path string, o Options) (*Replayer, error) {
	c, err := Load(path)
	if err != nil {
		return nil, err
	}
	return NewReplayer(c, o), nil
}

// Mismatch is a request the cassette could not answer.
type Mismatch struct {
	Kind    string // "http", "mqtt" or "config"
	Device  string // the device that asked
	Request string // what was asked, e.g. "GET https://api.example.com/x"
	Reason  string // e.g. "not in the cassette"
	Closest string // the closest recorded request, "" if the cassette has none
}

func (m Mismatch) Error() string {
	s := fmt.Sprintf("cassette: %s %s: %s", m.Kind, m.Request, m.Reason)
	if m.Closest != "" {
		s += "; closest recorded: " + m.Closest
	}
	return s
}

// Mismatches returns the requests the cassette could not answer so far, in
// the order they were asked. Each one also failed where the device sees it.
func (p *Replayer) Mismatches() []Mismatch {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.mismatches)
}

// Unused lists what the cassette recorded and the replay has not asked for
// so far: HTTP exchanges, config fetches, MQTT sessions never connected and
// client packets of connected sessions never matched. Nothing needs to be
// unused for a replay to pass; a long list says the application behaved
// differently from the recording.
func (p *Replayer) Unused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i, x := range p.c.HTTP {
		if !p.httpUsed[i] {
			out = append(out, "http "+x.Request.Method+" "+x.Request.URL)
		}
	}
	for i, f := range p.c.Config {
		if !p.cfgUsed[i] {
			out = append(out, "config "+f.Scope+" "+f.Store+" "+f.Key)
		}
	}
	for i, s := range p.c.MQTT {
		if !p.mqttUsed[i] {
			out = append(out, fmt.Sprintf("mqtt session %d to %s", i, s.Addr))
			continue
		}
		for j, pk := range s.Packets {
			if pk.Dir == "client" && !p.mqttMatched[i][j] && s.Error == nil {
				out = append(out, fmt.Sprintf("mqtt session %d: %s", i, pk.key()))
			}
		}
	}
	return out
}

func (p *Replayer) mismatchLocked(m Mismatch) error {
	p.mismatches = append(p.mismatches, m)
	return m
}

// closest returns the candidate nearest to want by edit distance.
func closest(want string, cands []string) string {
	c, _ := textdist.Closest(want, cands)
	return c
}

// WrapTransport is for httpexec.Options.WrapTransport: it answers each
// request from the cassette and never uses base (except for devices other
// than Options.Device).
func (p *Replayer) WrapTransport(base http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		id := devctx.ID(req.Context())
		if !p.o.mine(id) {
			return base.RoundTrip(req)
		}
		body, err := takeBody(req)
		if err != nil {
			return nil, err
		}
		x, err := p.findHTTP(id, req, body)
		if err != nil {
			return nil, err
		}
		if x.Error != nil {
			if x.Error.Kind == "canceled" {
				// The cloud gave up on the request (the link dropped
				// mid-request): so it does again, at the same point.
				<-req.Context().Done()
				return nil, req.Context().Err()
			}
			return nil, replayError(x.Error, req.URL.Host)
		}
		b := x.Response.Bytes()
		return &http.Response{
			Status:        fmt.Sprintf("%d %s", x.Response.Status, http.StatusText(x.Response.Status)),
			StatusCode:    x.Response.Status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        x.Response.Header.Clone(),
			Body:          io.NopCloser(bytes.NewReader(b)),
			ContentLength: int64(len(b)),
			Request:       req,
		}, nil
	})
}

// findHTTP picks the exchange answering req: the first unused one that
// matches, in recorded order.
func (p *Replayer) findHTTP(id string, req *http.Request, body []byte) (*HTTPExchange, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, seen := -1, 0
	for i := range p.c.HTTP {
		x := &p.c.HTTP[i]
		if !p.httpMatches(&x.Request, req, body) {
			continue
		}
		if !p.httpUsed[i] {
			p.httpUsed[i] = true
			return x, nil
		}
		last, seen = i, seen+1
	}
	if last >= 0 && p.o.AllowRepeats {
		return &p.c.HTTP[last], nil
	}
	m := Mismatch{Kind: "http", Device: id, Request: req.Method + " " + req.URL.String(), Reason: "not in the cassette"}
	if last >= 0 {
		m.Reason = fmt.Sprintf("asked more often than recorded (recorded %d)", seen)
	}
	var cands []string
	for _, x := range p.c.HTTP {
		cands = append(cands, x.Request.Method+" "+x.Request.URL)
	}
	m.Closest = closest(m.Request, cands)
	return nil, p.mismatchLocked(m)
}

func (p *Replayer) httpMatches(r *HTTPRequest, req *http.Request, body []byte) bool {
	if r.Method != req.Method || r.URL != req.URL.String() {
		return false
	}
	for _, name := range p.o.MatchHeaders {
		name = http.CanonicalHeaderKey(name)
		rec, live := r.Header[name], req.Header[name]
		redacted := len(rec) > 0 && !slices.ContainsFunc(rec, func(v string) bool { return v != Redacted })
		if !redacted && !slices.Equal(rec, live) {
			return false
		}
	}
	switch p.o.Body {
	case BodyNever:
		return true
	case BodyForWrites:
		if m := req.Method; m != http.MethodPost && m != http.MethodPut && m != http.MethodPatch {
			return true
		}
	}
	return bytes.Equal(r.Bytes(), body)
}

// WrapConfig is for cloud.Options.Config: it answers each key from the
// cassette and never uses store (except for devices other than
// Options.Device; nil is fine). A key fetched more often than recorded gets
// its last recorded answer again.
func (p *Replayer) WrapConfig(store session.ConfigStore) session.ConfigStore {
	return configFunc(func(ctx context.Context, id string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
		if !p.o.mine(id) {
			if store == nil {
				return nil, false, errors.New("cassette: no config store for devices not replayed")
			}
			return store.Fetch(ctx, id, scope, st, key)
		}
		f, err := p.findConfig(id, scopeName(scope), storeName(st), key)
		switch {
		case err != nil:
			return nil, false, err
		case f.Error != nil:
			return nil, false, replayError(f.Error, "")
		case !f.Found:
			return nil, false, nil
		}
		return []byte(f.Value), true, nil
	})
}

func (p *Replayer) findConfig(id, scope, store, key string) (*ConfigFetch, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	last := -1
	for i := range p.c.Config {
		f := &p.c.Config[i]
		if f.Scope != scope || f.Store != store || f.Key != key {
			continue
		}
		if !p.cfgUsed[i] {
			p.cfgUsed[i] = true
			return f, nil
		}
		last = i
	}
	if last >= 0 {
		return &p.c.Config[last], nil
	}
	name := func(scope, store, key string) string { return scope + " " + store + " " + strings.TrimSpace(key) }
	m := Mismatch{Kind: "config", Device: id, Request: name(scope, store, key), Reason: "not in the cassette"}
	var cands []string
	for _, f := range p.c.Config {
		cands = append(cands, name(f.Scope, f.Store, f.Key))
	}
	m.Closest = closest(m.Request, cands)
	return nil, p.mismatchLocked(m)
}
