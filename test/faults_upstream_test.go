package test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// Upstream faults (cloud/faults/upstream*.go) through the Go door, with
// the device-side effect asserted through the ABI: each fault applies to
// one device, leaves a second one alone, and Clear restores normal
// behaviour.

// upstreamEnv is a real HTTPS server counting the requests that reach it,
// behind a cloud.
type upstreamEnv struct {
	*env
	mu   sync.Mutex
	hits map[string]int // requests per query string
}

func newUpstreamEnv(t *testing.T) *upstreamEnv {
	t.Helper()
	u := &upstreamEnv{hits: make(map[string]int)}
	mux := http.NewServeMux()
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hits[r.URL.RawQuery]++
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, strings.Repeat("0123456789", 10))
	})
	s := testenv.NewServer(t, mux)
	u.env = &env{srv: s, cloud: testenv.NewCloud(t, cloud.Options{HTTP: s.HTTPOptions()})}
	return u
}

func (u *upstreamEnv) count(query string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[query]
}

// fetch performs GET url from v and returns the response as the
// application reads it.
func (v *dev) fetch(url string, timeoutMS uint32) *device.HTTPResponse {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(v.ctx, 2*waitLimit)
	defer cancel()
	r, err := v.d.HTTP(ctx, v.n, device.HTTPRequest{Method: "GET", URL: url, TimeoutMS: timeoutMS}, 4096, 1024)
	if err != nil {
		v.t.Fatal(err)
	}
	return r
}

// wantOK checks a normal response of /data.
func wantOK(t *testing.T, who string, r *device.HTTPResponse) {
	t.Helper()
	if r.Result != abi.HTTPResultOK || r.StatusCode != 200 || len(r.Body) != 100 {
		t.Fatalf("%s: result %s status %d, %d body bytes (diagnostic %q), want OK 200 with 100 bytes",
			who, r.Result, r.StatusCode, len(r.Body), r.Diagnostic)
	}
}

func TestFaultUpstreamHTTP(t *testing.T) {
	t.Parallel()
	u := newUpstreamEnv(t)
	tests := []struct {
		kind   faults.Kind
		params map[string]string
		// check asserts the faulty response; reached says whether the
		// server saw the request.
		check   func(t *testing.T, r *device.HTTPResponse)
		reached bool
	}{
		{faults.DNSFailure, map[string]string{"host": "API.mvnet.TEST"}, failedWith("DNS lookup of api.mvnet.test failed: no such host"), false},
		{faults.HTTPTLS, map[string]string{"url": "https://api.mvnet.test:*/data*"}, failedWith("TLS certificate verification failed", "unknown authority"), false},
		{faults.HTTPReset, nil, failedWith("connection reset by peer"), false},
		{faults.HTTPStatus, map[string]string{"url": "*/data*", "status": "503", "body": "busy"}, func(t *testing.T, r *device.HTTPResponse) {
			if r.Result != abi.HTTPResultOK || r.StatusCode != 503 || string(r.Body) != "busy" {
				t.Fatalf("result %s status %d body %q, want OK 503 \"busy\"", r.Result, r.StatusCode, r.Body)
			}
		}, false},
		{faults.HTTPTruncate, map[string]string{"bytes": "40"}, failedWith("unexpected EOF"), true},
		{faults.HTTPTruncate, nil, failedWith("unexpected EOF"), true}, // half the body
		{faults.HTTPDelay, map[string]string{"delay": "1h"}, failedWith("timed out"), false},
	}
	for k, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			query := "case=" + strconv.Itoa(k)
			url := u.url("/data?" + query)
			a, b := u.newDev(t), u.newDev(t)
			f := apply(t, u.cloud, a.d.ID(), tt.kind, tt.params)
			tt.check(t, a.fetch(url, 5000))
			if reached := u.count(query) > 0; reached != tt.reached {
				t.Errorf("server reached: %v, want %v", reached, tt.reached)
			}
			wantOK(t, "the other device", b.fetch(url, 5000))
			if err := u.cloud.Faults().Clear(a.d.ID(), f.ID); err != nil {
				t.Fatal(err)
			}
			wantOK(t, "after Clear", a.fetch(url, 5000))
		})
	}
}

// failedWith expects REQUESTFAILED with a diagnostic saying each of want.
func failedWith(want ...string) func(t *testing.T, r *device.HTTPResponse) {
	return func(t *testing.T, r *device.HTTPResponse) {
		t.Helper()
		if r.Result != abi.HTTPResultRequestFailed {
			t.Fatalf("result %s status %d, want REQUESTFAILED", r.Result, r.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(r.Diagnostic, w) {
				t.Errorf("diagnostic %q does not say %q", r.Diagnostic, w)
			}
		}
	}
}

// TestFaultUpstreamHTTPDelay: the response comes at least delay late and
// is otherwise untouched; a URL pattern that does not match leaves the
// request alone.
func TestFaultUpstreamHTTPDelay(t *testing.T) {
	t.Parallel()
	u := newUpstreamEnv(t)
	a := u.newDev(t)
	const delay = 300 * time.Millisecond
	apply(t, u.cloud, a.d.ID(), faults.HTTPDelay, map[string]string{"delay": delay.String(), "url": "*/data"})
	start := time.Now()
	wantOK(t, "delayed", a.fetch(u.url("/data"), 5000))
	if took := time.Since(start); took < delay {
		t.Fatalf("the response came after %v, before the %v delay", took, delay)
	}
	apply(t, u.cloud, a.d.ID(), faults.HTTPStatus, map[string]string{"url": "*/other", "status": "500"})
	wantOK(t, "not matching", a.fetch(u.url("/data"), 5000))
}

// TestFaultUpstreamOneShotNeedsBroker: mqtt-disconnect on a device with no
// broker session fails and is not left in force.
func TestFaultUpstreamOneShotNeedsBroker(t *testing.T) {
	t.Parallel()
	u := newUpstreamEnv(t)
	a := u.newDev(t)
	_, err := u.cloud.Faults().Apply(a.d.ID(), faults.Spec{Kind: faults.MQTTDisconnect})
	if !errors.Is(err, faults.ErrNoBrokerSession) {
		t.Fatalf("Apply: %v, want ErrNoBrokerSession", err)
	}
	if l := u.cloud.Faults().List(a.d.ID()); len(l) != 0 {
		t.Fatalf("faults in force: %+v", l)
	}
}

// TestFaultUpstreamOutermost: the fault layers wrap the user's
// (recording, replay): a faulted request or connect never reaches them,
// others go through them.
func TestFaultUpstreamOutermost(t *testing.T) {
	t.Parallel()
	s := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 100))
	}))
	var httpCalls, connects atomic.Int64
	o := cloud.Options{HTTP: s.HTTPOptions()}
	o.HTTP.WrapTransport = func(base http.RoundTripper) http.RoundTripper {
		return rtFunc(func(r *http.Request) (*http.Response, error) {
			httpCalls.Add(1)
			return base.RoundTrip(r)
		})
	}
	o.MQTT.WrapConnect = func(base mqttbridge.Connector) mqttbridge.Connector {
		return func(ctx context.Context, addr string, conf *tls.Config) (net.Conn, error) {
			connects.Add(1)
			return base(ctx, addr, conf)
		}
	}
	o.MQTT.Plaintext = true
	e := &env{srv: s, cloud: testenv.NewCloud(t, o)}
	a := e.newDev(t)
	apply(t, e.cloud, a.d.ID(), faults.HTTPStatus, map[string]string{"status": "418"})
	apply(t, e.cloud, a.d.ID(), faults.MQTTRefuse, nil)
	if r := a.fetch(e.url("/"), 5000); r.StatusCode != 418 || httpCalls.Load() != 0 {
		t.Fatalf("status %d, %d calls through the user's layer; want 418, none", r.StatusCode, httpCalls.Load())
	}
	m := a.openMQTT(1024, 1024)
	if r := m.connect(device.MQTTConnect{Version: abi.MQTTProtocolVersionV5, Host: "broker.example", Port: 1883, ClientID: "o", CleanStart: true}); r.ReasonCode != 0x87 || connects.Load() != 0 {
		t.Fatalf("connect %+v, %d connects through the user's layer; want 0x87, none", r, connects.Load())
	}
	if _, err := e.cloud.Faults().ClearAll(a.d.ID()); err != nil {
		t.Fatal(err)
	}
	wantOK(t, "after Clear", a.fetch(e.url("/"), 5000))
	if httpCalls.Load() != 1 {
		t.Fatalf("%d calls through the user's layer, want 1", httpCalls.Load())
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
