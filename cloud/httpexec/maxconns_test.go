package httpexec_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// TestMaxConnsBoundsOpenConnsAcrossHosts: at most MaxConns outbound
// connections are open at once across hosts, MQTT broker connections
// (DialContext) included; a connection gives its token back when it is
// closed, once however often it is closed; requests beyond the bound queue
// and either get a connection when one is released or fail at their
// timeout with the wait reason. (Before, only connections per host and
// dials in progress were bounded: a burst to many hosts opened one
// descriptor per connection.)
func TestMaxConnsBoundsOpenConnsAcrossHosts(t *testing.T) {
	t.Parallel()
	const maxConns, hosts = 3, 6
	var inHandler, most atomic.Int64
	release := make(chan struct{})
	h := func(w http.ResponseWriter, r *http.Request) {
		n := inHandler.Add(1)
		defer inHandler.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Path == "/hold" {
			select {
			case <-release:
			case <-r.Context().Done():
				abort()
			}
		}
		fmt.Fprint(w, "ok")
	}
	urls := make([]string, hosts)
	listeners := make([]*countingListener, hosts)
	srv0, cl0 := countedServer(t, false, h)
	urls[0], listeners[0] = srv0.URL, cl0
	for i := 1; i < hosts; i++ { // each its own port: its own host:port
		srv, cl := countedServer(t, false, h)
		urls[i], listeners[i] = srv.URL, cl
	}
	var once sync.Once
	releaseAll := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseAll) // before the servers close
	accepted := func() (n int64) {
		for _, cl := range listeners {
			n += cl.accepted.Load()
		}
		return n
	}
	e := execWith(t, srv0.Certificate(), httpexec.Options{MaxConns: maxConns})
	type outcome struct {
		url  string
		resp link.HTTPResponse
		err  error
	}
	burst := func(path string, timeoutMS uint32) []outcome {
		results := make(chan outcome, hosts)
		for _, u := range urls {
			go func() {
				resp, err := e.Perform(context.Background(), &link.HTTPRequest{Method: "GET", URL: u + path, TimeoutMS: timeoutMS}, 4096)
				results <- outcome{u, resp, err}
			}()
		}
		var out []outcome
		for range hosts {
			select {
			case o := <-results:
				out = append(out, o)
			case <-time.After(2 * time.Minute):
				t.Fatal("the burst did not end")
			}
		}
		return out
	}
	waitReason := func(u string) string {
		return "timed out waiting for a connection to " + strings.TrimPrefix(u, "https://")
	}
	// okOrWaited checks that every request of a burst either succeeded or
	// timed out waiting for a connection, and that one at least succeeded.
	okOrWaited := func(phase string, out []outcome) {
		t.Helper()
		ok := 0
		for _, o := range out {
			switch {
			case o.resp.Result == uint32(abi.HTTPResultOK):
				ok++
			case o.resp.Result != uint32(abi.HTTPResultRequestFailed) || httpexec.Reason(o.err) != waitReason(o.url):
				t.Errorf("%s: %s: result %d, reason %q; want OK or %q", phase, o.url, o.resp.Result, httpexec.Reason(o.err), waitReason(o.url))
			}
		}
		if ok == 0 {
			t.Errorf("%s: no request got a connection", phase)
		}
		t.Logf("%s: %d of %d OK", phase, ok, len(out))
	}

	// MQTT broker connections hold every token.
	broker, _ := stallListener(t)
	held := make([]net.Conn, maxConns)
	for i := range held {
		c, err := e.DialContext(context.Background(), "tcp", broker)
		if err != nil {
			t.Fatalf("broker dial %d: %v", i, err)
		}
		held[i] = c
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	noToken := func(phase string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c, err := e.DialContext(ctx, "tcp", broker)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, context.Canceled) || !strings.Contains(httpexec.Reason(err), "waiting for a connection to "+broker) {
			t.Errorf("%s: a broker dial with every token held: err %v (reason %q), want a wait cut short", phase, err, httpexec.Reason(err))
		}
	}
	noToken("brokers hold the tokens")

	// Requests to six hosts queue and fail at their timeout, reason the
	// wait, without a connection opened.
	for _, o := range burst("/", httpexec.MinTimeoutMS) {
		wantResult(t, o.resp, abi.HTTPResultRequestFailed)
		if r := httpexec.Reason(o.err); r != waitReason(o.url) {
			t.Errorf("%s: reason %q, want %q", o.url, r, waitReason(o.url))
		}
	}
	if n := accepted(); n != 0 {
		t.Fatalf("the servers accepted %d connections while MaxConns %d broker connections were open", n, maxConns)
	}
	e.Close() // cancels the dials the timed-out requests left waiting

	// Closing a connection twice gives one token back.
	held[0].Close()
	held[0].Close()
	c, err := e.DialContext(context.Background(), "tcp", broker)
	if err != nil {
		t.Fatalf("broker dial after a close: %v", err)
	}
	noToken("a closed connection's token taken again")
	c.Close()

	// One token free: requests to six hosts take turns on it (idle
	// connections closed to make room), never two open at once.
	okOrWaited("one token free", burst("/", httpexec.MaxTimeoutMS))
	if m := most.Load(); m > 1 {
		t.Errorf("%d requests were in the handlers at once with one token free", m)
	}

	// Every token free: requests to six hosts that stall in the handler:
	// three are served at once, the others wait for one to be released.
	for _, c := range held[1:] {
		c.Close()
	}
	done := make(chan []outcome, 1)
	go func() { done <- burst("/hold", httpexec.MaxTimeoutMS) }()
	poll.Within(t, time.Minute, fmt.Sprintf("%d requests in the handlers", maxConns), func() bool { return inHandler.Load() >= maxConns })
	releaseAll()
	okOrWaited("every token free", <-done)
	if m := most.Load(); m > maxConns {
		t.Errorf("%d requests were in the handlers at once, want at most MaxConns %d", m, maxConns)
	}
}
