package httpexec

// Connection management: how many connections the Executor opens, and how
// a request that cannot have one yet waits. A burst of device requests
// (thousands at once after a fleet reconnects) must not open a connection
// per request: that costs a TLS handshake each (the CPU the burst needs)
// and a file descriptor each, until the process runs out (issue 11). So:
//
//   - per host, at most MaxConnsPerHost connections (dialling, busy or
//     idle); requests beyond them queue in the transport for one to come
//     free, and HTTP/2 connections carry many requests at once;
//   - across hosts, at most MaxDials connections are being established
//     (TCP connect and TLS handshake) at once, the TCP connects of MQTT
//     broker connections (Executor.DialContext) included;
//   - a request that is still waiting for a connection when its timeout
//     comes fails with REQUESTFAILED and the reason "timed out waiting for
//     a connection to HOST:PORT" (waitError); a dial started for it goes
//     on (within dialTimeout) and its connection serves the next request.

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"
)

// Defaults of Options.MaxConnsPerHost and Options.MaxDials.
//
// DefaultMaxConnsPerHost was chosen by measurement: BenchmarkConcurrent (in
// this package) sends bursts of 200 concurrent requests to one HTTPS host
// on loopback through several caps and through the configuration before
// issue 11 (no cap, 2 idle connections), with and without a server
// latency, and reports the ratio in the same run:
//
//	go test ./cloud/httpexec -run '^$' -bench Concurrent -benchtime 20x
//	go test ./cloud/httpexec -run '^$' -bench Concurrent -benchtime 10x -args -concurrent.latency 20ms
//
// A cap of 8 (the experiment) did best with a server that answers
// at once but fell to 1.2 times the old throughput with a 20 ms server (an
// HTTP/1.1 host carries at most cap/latency requests per second); 32 kept
// 18–28 times the old throughput at no latency and 6.9 times at 20 ms
// (figures in BenchmarkConcurrent's comment). DefaultMaxDials bounds the
// connections being established at 128, four hosts' worth of
// DefaultMaxConnsPerHost: a burst to many hosts then costs the CPU and
// descriptors of 128 handshakes at a time, and hosts that stall
// handshakes (each dial is bounded by dialTimeout) must be several to
// hold every slot.
const (
	DefaultMaxConnsPerHost = 32
	DefaultMaxDials        = 128
)

// maxIdleConns bounds the idle connections kept across all hosts.
const maxIdleConns = 256

// dialTimeout bounds one connection's establishment (waiting for a dial
// slot, resolving, TCP connect, TLS handshake). The transport dials apart
// from the request that asked (so that a connection a timed-out request
// asked for still serves the next), hence a bound of its own: a request
// never waits longer than the longest request timeout.
const dialTimeout = MaxTimeoutMS * time.Millisecond

// waitError is a request or dial that ended (its context done) before it
// had a connection: queued behind MaxConnsPerHost or MaxDials, or still
// connecting. target is the "host:port" asked for.
type waitError struct {
	target string
	why    string // what it waited for, for the cloud's log
	err    error  // the context's error
}

func (e *waitError) Error() string {
	return fmt.Sprintf("waiting for a connection to %s (%s): %v", e.target, e.why, e.err)
}

func (e *waitError) Unwrap() error { return e.err }

// acquire takes a dial slot (MaxDials), waiting at most until ctx is done.
// A nil slots channel means no bound.
func (d *dialer) acquire(ctx context.Context, addr string) error {
	if d.slots == nil {
		return nil
	}
	select {
	case d.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case d.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &waitError{target: addr, why: fmt.Sprintf("all %d dial slots (MaxDials) busy", cap(d.slots)), err: context.Cause(ctx)}
	}
}

// release gives back a slot acquire took.
func (d *dialer) release() {
	if d.slots != nil {
		<-d.slots
	}
}

// dialTLS is the transport's DialTLSContext: a connection to addr ("host:port"
// from the URL) under the outbound policy, its TLS handshake done, within
// one dial slot and dialTimeout. The server name verified is the URL's
// host, whatever address Resolve sent the connection to.
func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	if err := d.acquire(ctx, addr); err != nil {
		return nil, err
	}
	defer d.release()
	c, err := d.dialPolicy(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	host, _, _ := net.SplitHostPort(addr) // dialPolicy parsed it
	cfg := d.tls.Clone()
	cfg.ServerName = host
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, &targetError{target: addr, err: err}
	}
	return tc, nil
}

// connTrace tells whether a request asked the transport for a connection
// and whether it got one, to tell a request that timed out waiting for a
// connection from one that timed out waiting for the server.
type connTrace struct {
	asked, got atomic.Bool
	trace      httptrace.ClientTrace
}

// with returns ctx traced by t.
func (t *connTrace) with(ctx context.Context) context.Context {
	t.trace.GetConn = func(string) { t.asked.Store(true) }
	t.trace.GotConn = func(httptrace.GotConnInfo) { t.got.Store(true) }
	return httptrace.WithClientTrace(ctx, &t.trace)
}

// classify returns err, the error of a request to u, as a *waitError if
// the request timed out asking for a connection it never got.
func (t *connTrace) classify(err error, u *url.URL, why string) error {
	if !t.asked.Load() || t.got.Load() {
		return err
	}
	ue, ok := err.(*url.Error)
	if !ok || !isTimeout(ue.Err) {
		return err
	}
	port := u.Port()
	if port == "" {
		port = "443"
	}
	ue.Err = &waitError{target: net.JoinHostPort(u.Hostname(), port), why: why, err: ue.Err}
	return ue
}
