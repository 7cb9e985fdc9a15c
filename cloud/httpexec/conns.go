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
//   - across hosts, at most MaxConns outbound connections are open at
//     once (dialling, busy or idle), MQTT broker connections
//     (Executor.DialContext) included, so that a burst to many hosts
//     cannot spend every file descriptor: a connection holds a token from
//     before its dial until it is closed (heldConn); a dial that finds
//     none free closes the idle connections of every host so that they
//     make room (makeRoom: again every idleCloseEvery while dials wait),
//     and waits;
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
	"sync"
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

// DefaultMaxConns returns the default of Options.MaxConns: half of the
// process's file descriptor limit (RLIMIT_NOFILE's soft limit, which the Go
// runtime raises to the hard limit at start on Linux), the other half left
// to the device links, the store and the listeners; at least minMaxConns
// and at most maxMaxConns (an unlimited RLIMIT_NOFILE).
func DefaultMaxConns() int {
	n, ok := fileLimit()
	if !ok {
		return fallbackMaxConns
	}
	return int(max(min(n/2, maxMaxConns), minMaxConns))
}

// Bounds of DefaultMaxConns; fallbackMaxConns where the file descriptor
// limit is unknown (not a Unix system).
const (
	minMaxConns      = 2 * DefaultMaxConnsPerHost
	maxMaxConns      = 1 << 20
	fallbackMaxConns = 4096
)

// idleCloseEvery is how often a dial waiting for a MaxConns token closes
// the idle connections again: connections that went idle since it began
// to wait hold tokens no request is using.
const idleCloseEvery = 100 * time.Millisecond

// maxIdleConns bounds the idle connections kept across all hosts.
const maxIdleConns = 256

// dialTimeout bounds one connection's establishment (waiting for a dial
// slot, resolving, TCP connect, TLS handshake). The transport dials apart
// from the request that asked (so that a connection a timed-out request
// asked for still serves the next), hence a bound of its own: a request
// never waits longer than the longest request timeout.
// (dialer.dialTimeout: a field only so that a test can lengthen it.)
const dialTimeout = MaxTimeoutMS * time.Millisecond

// waitError is a request or dial that ended (its context done) before it
// had a connection: queued behind MaxConnsPerHost, MaxConns or MaxDials, or still
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

// acquireConn takes a connection token (MaxConns), waiting at most until
// ctx is done; while it waits it closes the idle connections (closeIdle),
// at once and every idleCloseEvery, so that connections no request uses
// make room. A nil conns channel means no bound.
func (d *dialer) acquireConn(ctx context.Context, addr string) error {
	if d.conns == nil {
		return nil
	}
	select {
	case d.conns <- struct{}{}:
		return nil
	default:
	}
	var tick <-chan time.Time
	if d.closeIdle != nil {
		d.makeRoom()
		t := time.NewTicker(idleCloseEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case d.conns <- struct{}{}:
			return nil
		case <-tick:
			d.makeRoom()
		case <-ctx.Done():
			return &waitError{target: addr, why: fmt.Sprintf("all %d connections (MaxConns) open", cap(d.conns)), err: context.Cause(ctx)}
		}
	}
}

// makeRoom closes the idle connections (closeIdle), unless a waiting dial
// did within idleCloseEvery: a thousand waiting dials close them ten times
// a second, not ten thousand.
func (d *dialer) makeRoom() {
	now := time.Now().UnixNano()
	last := d.idleClosed.Load()
	if now-last < int64(idleCloseEvery) || !d.idleClosed.CompareAndSwap(last, now) {
		return
	}
	d.closeIdle()
}

// releaseConn gives back a token acquireConn took.
func (d *dialer) releaseConn() {
	if d.conns != nil {
		<-d.conns
	}
}

// held returns c holding the token acquireConn took for it: closing it
// gives the token back, once.
func (d *dialer) held(c net.Conn) net.Conn {
	if d.conns == nil {
		return c
	}
	return &heldConn{Conn: c, release: d.releaseConn}
}

// heldConn is an outbound connection holding a MaxConns token until it is
// closed. Close may be called more than once (net/http and TLS may both
// close); the token goes back at the first.
type heldConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *heldConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// dialTLS is the transport's DialTLSContext: a connection to addr ("host:port"
// from the URL) under the outbound policy, its TLS handshake done, within
// one connection token (MaxConns) held until the connection closes, one
// dial slot and dialTimeout. The server name verified is the URL's host,
// whatever address Resolve sent the connection to.
func (d *dialer) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.dialTimeout)
	defer cancel()
	return d.dialHeld(ctx, network, addr, d.handshake)
}

// handshake does the TLS handshake of c, a connection to addr, closing c
// if it fails.
func (d *dialer) handshake(ctx context.Context, c net.Conn, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr) // dialPolicy parsed it
	cfg := d.tls.Clone()
	cfg.ServerName = host
	// The TCP connection holds the token, inside the TLS one: net/http
	// needs the *tls.Conn itself to see the protocol ALPN chose.
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		return nil, &targetError{target: addr, err: err}
	}
	return tc, nil
}

// dialHeld dials addr under the outbound policy, then (if then is not nil)
// runs then on the connection, within a connection token (MaxConns), which
// the connection returned holds until it is closed, and a dial slot
// (MaxDials), given back when the dial and then are done.
func (d *dialer) dialHeld(ctx context.Context, network, addr string, then func(context.Context, net.Conn, string) (net.Conn, error)) (net.Conn, error) {
	if err := d.acquireConn(ctx, addr); err != nil {
		return nil, err
	}
	if err := d.acquire(ctx, addr); err != nil {
		d.releaseConn()
		return nil, err
	}
	defer d.release()
	c, err := d.dialPolicy(ctx, network, addr)
	if err != nil {
		d.releaseConn()
		return nil, err
	}
	c = d.held(c)
	if then == nil {
		return c, nil
	}
	return then(ctx, c, addr)
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
