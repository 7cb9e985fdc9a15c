package cassette_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// TestReadRejects: corrupt, old or malformed cassettes are errors naming
// the problem.
func TestReadRejects(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"not JSON", `{"version": 1, "http": [`, "not a JSON cassette"},
		{"no version", `{"http": []}`, `no "version" field`},
		{"old version", `{"version": 0}`, "format version 0; this mvnet reads version 1"},
		{"newer version", `{"version": 2}`, "format version 2; this mvnet reads version 1"},
		{"unknown field", `{"version": 1, "htpp": []}`, `unknown field "htpp"`},
		{"no answer", `{"version": 1, "http": [{"request": {"method": "GET", "url": "https://x/"}}]}`, "http[0]: exactly one of response and error"},
		{"bad base64", `{"version": 1, "http": [{"request": {"method": "GET", "url": "https://x/"}, "response": {"status": 200, "body_base64": "!!"}}]}`, "http[0].response: body_base64"},
		{"bad scope", `{"version": 1, "config": [{"scope": "fleet", "store": "config", "key": "k", "found": false}]}`, `config[0]: scope "fleet"`},
		{"broker packet after nothing", `{"version": 1, "mqtt": [{"addr": "h:1", "tls": false, "packets": [{"dir": "broker", "type": "CONNACK", "after": 0, "raw": "IAIAAA=="}]}]}`, "mqtt[0]: packets[0]: after must name an earlier client packet"},
		{"bad raw", `{"version": 1, "mqtt": [{"addr": "h:1", "tls": false, "packets": [{"dir": "client", "type": "CONNECT"}, {"dir": "broker", "type": "CONNACK", "after": 0, "raw": "IAI="}]}]}`, "not one whole MQTT packet"},
	} {
		_, err := cassette.Read(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

// TestWriteReadRoundTrip: what WriteTo writes, Read reads back alike.
func TestWriteReadRoundTrip(t *testing.T) {
	c := &cassette.Cassette{Version: cassette.Version, HTTP: []cassette.HTTPExchange{get("/a", "x")},
		MQTT: []cassette.MQTTSession{handMQTT()}, Config: []cassette.ConfigFetch{{Scope: "device", Store: "config", Key: "k", Found: true, Value: "v"}}}
	var a, b bytes.Buffer
	if _, err := c.WriteTo(&a); err != nil {
		t.Fatal(err)
	}
	back, err := cassette.Read(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := back.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Errorf("read back differs:\n%s\nwant:\n%s", b.String(), a.String())
	}
}

// replayDo sends one request through a replayer's transport directly.
func replayDo(t *testing.T, rt http.RoundTripper, method, url, body string, hdr http.Header) (string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(devctx.With(context.Background(), "UV1"), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = hdr
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

// TestMatchRules: named headers (a redacted recorded value matches any)
// and bodies (POST, PUT, PATCH by default; always; never).
func TestMatchRules(t *testing.T) {
	post := func(body, answer string, hdr http.Header) cassette.HTTPExchange {
		return cassette.HTTPExchange{Request: cassette.HTTPRequest{Method: "POST", URL: "https://h/p", Header: hdr, Data: cassette.Data{Text: body}},
			Response: &cassette.HTTPReply{Status: 200, Data: cassette.Data{Text: answer}}}
	}
	c := &cassette.Cassette{Version: 1, HTTP: []cassette.HTTPExchange{
		post("a", "for a", http.Header{"X-Mode": {"fast"}, "Authorization": {cassette.Redacted}}),
		post("b", "for b", http.Header{"X-Mode": {"slow"}}),
	}}
	cases := []struct {
		o    cassette.Options
		body string
		hdr  http.Header
		want string // "" : a mismatch
	}{
		{cassette.Options{}, "b", nil, "for b"},
		{cassette.Options{}, "c", nil, ""},
		{cassette.Options{Body: cassette.BodyNever}, "c", nil, "for a"},
		{cassette.Options{MatchHeaders: []string{"x-mode"}}, "zzz", http.Header{"X-Mode": {"slow"}}, ""},
		{cassette.Options{MatchHeaders: []string{"x-mode"}, Body: cassette.BodyNever}, "zzz", http.Header{"X-Mode": {"slow"}}, "for b"},
		{cassette.Options{MatchHeaders: []string{"Authorization"}}, "a", http.Header{"Authorization": {"Bearer anything"}}, "for a"},
		{cassette.Options{MatchHeaders: []string{"Authorization"}}, "b", http.Header{"Authorization": {"Bearer anything"}}, ""},
	}
	for i, tc := range cases {
		rep := cassette.NewReplayer(c, tc.o)
		got, err := replayDo(t, rep.WrapTransport(nil), "POST", "https://h/p", tc.body, tc.hdr)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("case %d: %q %v, want %q", i, got, err, tc.want)
		}
	}
	// GET bodies are not compared by default, always with BodyAlways.
	g := &cassette.Cassette{Version: 1, HTTP: []cassette.HTTPExchange{get("/g", "got")}}
	if got, err := replayDo(t, cassette.NewReplayer(g, cassette.Options{}).WrapTransport(nil), "GET", handBase+"/g", "ignored", nil); got != "got" {
		t.Errorf("GET with a body: %q %v, want the recorded answer", got, err)
	}
	if _, err := replayDo(t, cassette.NewReplayer(g, cassette.Options{Body: cassette.BodyAlways}).WrapTransport(nil), "GET", handBase+"/g", "x", nil); err == nil {
		t.Errorf("BodyAlways: a GET with another body matched")
	}
}

// TestReplayConfig: recorded answers in order, the last one repeated, a
// recorded store error, and an unrecorded key reported with the closest.
func TestReplayConfig(t *testing.T) {
	c := &cassette.Cassette{Version: 1, Config: []cassette.ConfigFetch{
		{Scope: "device", Store: "config", Key: "mode", Found: true, Value: "slow"},
		{Scope: "device", Store: "config", Key: "mode", Found: true, Value: "fast"},
		{Scope: "account", Store: "secret", Key: "token", Found: false},
		{Scope: "device", Store: "config", Key: "broken", Error: &cassette.ErrorRecord{Kind: "other", Message: "store down"}},
	}}
	rep := cassette.NewReplayer(c, cassette.Options{})
	store := rep.WrapConfig(nil)
	fetch := func(scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key string) string {
		v, found, err := store.Fetch(context.Background(), "UV1", scope, st, key)
		switch {
		case err != nil:
			return "error: " + err.Error()
		case !found:
			return "not found"
		}
		return string(v)
	}
	dev, acc, cfg, sec := abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreConfig, abi.ConfigKeyFetchStoreSecret
	for i, tc := range []struct{ got, want string }{
		{fetch(dev, cfg, "mode"), "slow"},
		{fetch(dev, cfg, "mode"), "fast"},
		{fetch(dev, cfg, "mode"), "fast"},
		{fetch(acc, sec, "token"), "not found"},
		{fetch(dev, cfg, "broken"), "error: store down"}, // as the live error read,
		{fetch(dev, cfg, "mdoe"), "error: cassette: config device config mdoe: not in the cassette; closest recorded: device config mode"},
	} {
		if tc.got != tc.want {
			t.Errorf("fetch %d: %q, want %q", i, tc.got, tc.want)
		}
	}
	if ms := rep.Mismatches(); len(ms) != 1 || ms[0].Kind != "config" {
		t.Errorf("mismatches %+v, want the one unrecorded key", ms)
	}
}

type baseFunc func(*http.Request) (*http.Response, error)

func (f baseFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDeviceFilter: with Options.Device, other devices' requests go to the
// real upstream, neither recorded nor replayed.
func TestDeviceFilter(t *testing.T) {
	base := baseFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("live"))}, nil
	})
	do := func(rt http.RoundTripper, dev string) string {
		req, _ := http.NewRequestWithContext(devctx.With(context.Background(), dev), "GET", handBase+"/g", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			return "error: " + err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	rec := cassette.NewRecorder(cassette.Options{Device: "UV1"})
	rt := rec.WrapTransport(base)
	do(rt, "UV1")
	do(rt, "UV2")
	if got := rec.Cassette().HTTP; len(got) != 1 || got[0].Device != "UV1" {
		t.Errorf("recorded %+v, want UV1's request only", got)
	}
	g := &cassette.Cassette{Version: 1, HTTP: []cassette.HTTPExchange{get("/g", "replayed")}}
	rt = cassette.NewReplayer(g, cassette.Options{Device: "UV1"}).WrapTransport(base)
	if a, b := do(rt, "UV2"), do(rt, "UV1"); a != "live" || b != "replayed" {
		t.Errorf("UV2 got %q (want live), UV1 got %q (want replayed)", a, b)
	}
}

// TestInstallKeepsLayersOutside: a WrapTransport the options already have
// (the cloud's own layers) stays outside the recorder, which thus records
// what the outer layer passed on.
func TestInstallKeepsLayersOutside(t *testing.T) {
	var o cloud.Options
	o.HTTP.WrapTransport = func(next http.RoundTripper) http.RoundTripper {
		return baseFunc(func(r *http.Request) (*http.Response, error) {
			r.Header.Set("X-Outer", "1")
			return next.RoundTrip(r)
		})
	}
	rec := cassette.NewRecorder(cassette.Options{})
	rec.Install(&o)
	if o.Config == nil || o.MQTT.WrapConnect == nil {
		t.Fatal("Install left Config or MQTT.WrapConnect unset")
	}
	base := baseFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 204, Header: http.Header{}, Body: http.NoBody}, nil
	})
	req, _ := http.NewRequest("GET", "https://h/x", nil)
	req.Header = http.Header{}
	if _, err := o.HTTP.WrapTransport(base).RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got := rec.Cassette().HTTP; len(got) != 1 || got[0].Request.Header.Get("X-Outer") != "1" {
		t.Errorf("recorded %+v, want the request as the outer layer passed it on", got)
	}
}

// TestRecordBrokerEnd: a stream the broker ends while the cloud writes is
// recorded with a CLOSE after the packet that could not be sent, so replay
// ends it there too (rather than leaving the connect waiting).
func TestRecordBrokerEnd(t *testing.T) {
	rec := cassette.NewRecorder(cassette.Options{})
	connect := rec.WrapConnect(func(context.Context, string, *tls.Config) (net.Conn, error) {
		client, broker := net.Pipe()
		broker.Close() // the broker is gone: the CONNECT cannot be written
		return client, nil
	})
	conn, err := connect(context.Background(), "broker:1883", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client ID "c".
	pk := []byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'c'}
	if _, err := conn.Write(pk); err == nil {
		t.Fatal("write to a closed pipe succeeded")
	}
	s := rec.Cassette().MQTT
	if len(s) != 1 || len(s[0].Packets) != 2 || s[0].Packets[0].Type != "CONNECT" || s[0].Packets[0].ClientID != "c" ||
		s[0].Packets[1].Type != "CLOSE" || *s[0].Packets[1].After != 0 {
		t.Errorf("recorded %+v, want CONNECT then CLOSE after it", s)
	}
}

// tlsPipe is a pipe end that says it is a TLS stream, as a layer over one
// does.
type tlsPipe struct{ net.Conn }

func (tlsPipe) ConnectionState() tls.ConnectionState {
	return tls.ConnectionState{Version: tls.VersionTLS13}
}

// TestRecordKeepsTLSState: the recorder's stream over a TLS stream still
// has its TLS state, so that the bridge reads the broker's TLS alert (a
// refused client certificate: UNKNOWNCA, CERTIFICATEEXPIRED) while
// recording as it does live; over plain TCP it has none.
func TestRecordKeepsTLSState(t *testing.T) {
	type tlsState interface{ ConnectionState() tls.ConnectionState }
	for _, withTLS := range []bool{true, false} {
		rec := cassette.NewRecorder(cassette.Options{})
		connect := rec.WrapConnect(func(context.Context, string, *tls.Config) (net.Conn, error) {
			client, broker := net.Pipe()
			t.Cleanup(func() { broker.Close() })
			if withTLS {
				return tlsPipe{client}, nil
			}
			return client, nil
		})
		conn, err := connect(context.Background(), "broker:8883", nil)
		if err != nil {
			t.Fatal(err)
		}
		st, ok := conn.(tlsState)
		if ok != withTLS {
			t.Fatalf("over TLS %v: the recorded stream has a TLS state: %v", withTLS, ok)
		}
		if ok && st.ConnectionState().Version != tls.VersionTLS13 {
			t.Errorf("TLS state %+v, want the inner stream's", st.ConnectionState())
		}
		conn.Close()
	}
}
