// Package httpexec validates and performs the HTTPS requests devices send on
// HTTP channels, under the cloud's outbound policy.
//
// # Validation
//
// A request is checked in this order; the first failing check decides the
// result (spec/abi.md, "Validation that happens in the cloud"):
//
//  1. URL: it must parse and its scheme must be https (any case), else
//     UNSUPPORTEDURISCHEME.
//  2. Method: GET POST PUT PATCH HEAD DELETE OPTIONS, exactly (upper case),
//     else UNSUPPORTEDMETHOD.
//  3. Timeout: 5000–10000 ms inclusive, else INVALIDTIMEOUT.
//  4. Headers: each must be "Name: value" with a token name directly
//     followed by ':' and a value free of control characters other than HTAB
//     (so no CR, LF or NUL), else INVALIDHEADERS. Whitespace around the
//     value is trimmed. Host and Content-Length headers the application
//     supplies are dropped: the system supplies them from the URL and body.
//     Connection-specific headers are dropped too, silently, whatever their
//     value: Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding,
//     Upgrade, Trailer, and TE unless it is "trailers". They concern the
//     cloud's connection to the server, which the application does not
//     control, and dropping them makes the outcome the same whether ALPN
//     picks HTTP/1.1 or HTTP/2 (where they are not allowed).
//
// # Performing
//
// Requests share one http.Transport (keep-alive; HTTP/1.1 or HTTP/2 by ALPN;
// no proxy; no automatic compression, so the device gets the bytes the
// server sent). Redirects are not followed: a 3xx comes back to the device as
// it is.
//
// Connections are reused and bounded (conns.go), so that a burst of
// requests from a fleet neither dials a connection per request nor runs
// out of file descriptors: at most Options.MaxConnsPerHost connections per
// host (32 by default; dialling, busy or idle, and as many kept idle for
// reuse), an HTTP/2 connection carrying many requests at once where the
// server offers HTTP/2, at most Options.MaxConns outbound connections open
// at once across all hosts (half the file descriptor limit by default,
// DefaultMaxConns; idle connections are closed to make room when a new one
// must wait), and at most Options.MaxDials connections being established
// (TCP connect and TLS handshake) at once across all hosts (128 by
// default); MQTT broker connections (DialContext) count against both. A
// request beyond the bounds queues for a connection; if its timeout comes first it
// fails with REQUESTFAILED and the reason "timed out waiting for a
// connection to HOST:PORT" (Reason). Establishing one connection takes at
// most 10 s (MaxTimeoutMS), whatever became of the request that asked for
// it; a connection a timed-out request asked for serves the next one.
//
// Connections go through the outbound policy: Resolve overrides, then
// DNS; loopback, private (RFC 1918, fc00::/7), link-local, unspecified,
// multicast and a few reserved IPv4 ranges are refused unless inside one of
// AllowPrefixes. Resolve overrides do not bypass the policy: allow-list the
// addresses they name. A refused target, DNS failure, connect failure, TLS
// failure, any other transport error, or the request's timeout (which covers
// the whole exchange, body included) gives REQUESTFAILED.
// (*Executor).DialContext applies the same policy to the cloud's other
// outbound connections: MQTT brokers.
//
// # Response
//
// Headers come back as "Name: value" strings, one per value, names in
// canonical form sorted by name, values of one name in the order received
// (net/http does not keep the order between names). A HEAD response has no
// body. If the encoded response (link.HTTPResponseSize) is larger than the
// channel's receive buffer, the result is RESPONSETOOLARGE with the status
// code kept and no headers and no body; at most rxSize+1 body bytes are ever
// read, so a huge body cannot exhaust memory (a body whose Content-Length
// is known is read into one buffer of that length, or of rxSize+1). rxSize comes from the device
// but is bounded by the cloud: package session refuses an OPEN whose
// buffers exceed its MaxChannelBuffer (1 MiB by default). A response whose
// header block exceeds 1 MiB fails with REQUESTFAILED.
package httpexec

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// maxHeaderBytes bounds a response's header block.
const maxHeaderBytes = 1 << 20

// Options configure an Executor.
type Options struct {
	// AllowPrefixes lets requests reach loopback, private, link-local and
	// other normally refused addresses inside these prefixes.
	AllowPrefixes []netip.Prefix
	// Resolve maps host names to addresses like curl --resolve:
	// "host:port:addr" sends connections for host:port to addr at the same
	// port; "host:port:addr:port2" sends them to addr at port2. addr is an
	// IPv4 or IPv6 address; an IPv6 address followed by a port must be in
	// brackets ("api.example.com:443:[::1]:8443"). The TLS server name is
	// still the host from the URL.
	Resolve []string
	// RootCAs are trusted in addition to the system's roots.
	RootCAs []*x509.Certificate
	// MaxConnsPerHost bounds the connections to one host (host:port of
	// the URL), whether being established, carrying requests or idle.
	// Requests beyond them wait for one to come free (an HTTP/2
	// connection carries many requests at once), and fail with
	// REQUESTFAILED, "timed out waiting for a connection to HOST", if
	// their timeout comes first. Default DefaultMaxConnsPerHost (32).
	MaxConnsPerHost int
	// MaxIdleConnsPerHost is the keep-alive pool size per host, at most
	// MaxConnsPerHost. Default MaxConnsPerHost, so that connections a
	// burst opened are reused rather than closed and dialled again.
	MaxIdleConnsPerHost int
	// MaxConns bounds the outbound connections open at once, across all
	// hosts, whether being established, carrying requests or idle, MQTT
	// broker connections (DialContext) included: a burst to many hosts
	// queues instead of spending every file descriptor. A connection that
	// must wait for one to close first closes the idle ones. Default
	// DefaultMaxConns() (half of RLIMIT_NOFILE).
	MaxConns int
	// MaxDials bounds the connections being established at once (TCP
	// connect and TLS handshake), across all hosts, the TCP connects of
	// MQTT broker connections (DialContext) included: a burst to many hosts queues
	// instead of spending every file descriptor and all the CPU on
	// handshakes. Default DefaultMaxDials (128).
	MaxDials int
	// WrapTransport, if set, wraps the transport requests are performed
	// with: the Executor sends every request (already validated) through
	// WrapTransport(base), where base is its own policed transport. Fault
	// injection and recording/replay (package scenario) are such layers.
	// The request's context carries the device's ID (package devctx) when
	// the cloud performs it for a device.
	WrapTransport func(base http.RoundTripper) http.RoundTripper
}

// Executor performs device requests. It is safe for concurrent use.
type Executor struct {
	dial      *dialer
	transport *http.Transport
	rt        http.RoundTripper // transport, or WrapTransport's wrapping of it
	waitWhy   string            // the bounds a request waiting for a connection is under, for waitError
}

// New validates o and returns an Executor.
func New(o Options) (*Executor, error) {
	d := &dialer{resolver: net.DefaultResolver}
	for _, p := range o.AllowPrefixes {
		if !p.IsValid() {
			return nil, fmt.Errorf("httpexec: AllowPrefixes: invalid prefix %v", p)
		}
		d.allow = append(d.allow, p.Masked())
	}
	resolve, err := parseResolveList(o.Resolve)
	if err != nil {
		return nil, err
	}
	d.resolve = resolve
	for _, c := range []struct {
		name string
		n    int
	}{{"MaxConnsPerHost", o.MaxConnsPerHost}, {"MaxIdleConnsPerHost", o.MaxIdleConnsPerHost}, {"MaxConns", o.MaxConns}, {"MaxDials", o.MaxDials}} {
		if c.n < 0 {
			return nil, fmt.Errorf("httpexec: %s %d is negative (0 means the default)", c.name, c.n)
		}
	}
	perHost := cmp.Or(o.MaxConnsPerHost, DefaultMaxConnsPerHost)
	idle := cmp.Or(o.MaxIdleConnsPerHost, perHost)
	if idle > perHost {
		return nil, fmt.Errorf("httpexec: MaxIdleConnsPerHost %d exceeds MaxConnsPerHost %d", idle, perHost)
	}
	conns := o.MaxConns
	if conns == 0 {
		conns = DefaultMaxConns()
	}
	d.conns = make(chan struct{}, conns)
	dials := cmp.Or(o.MaxDials, DefaultMaxDials)
	d.slots = make(chan struct{}, dials)
	d.dialTimeout = dialTimeout
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	for i, c := range o.RootCAs {
		if c == nil {
			return nil, fmt.Errorf("httpexec: RootCAs[%d] is nil", i)
		}
		pool.AddCert(c)
	}
	d.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}}
	t := &http.Transport{
		Proxy:                  nil, // never: a proxy would bypass the policy
		DialContext:            d.DialContext,
		DialTLSContext:         d.dialTLS, // every request: https only (validate)
		ForceAttemptHTTP2:      true,      // with dialTLS offering h2 by ALPN
		DisableCompression:     true,
		MaxConnsPerHost:        perHost,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    idle,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
	}
	d.closeIdle = t.CloseIdleConnections
	var rt http.RoundTripper = t
	if o.WrapTransport != nil {
		if rt = o.WrapTransport(t); rt == nil {
			return nil, errors.New("httpexec: WrapTransport returned nil")
		}
	}
	return &Executor{
		dial:      d,
		transport: t,
		waitWhy:   fmt.Sprintf("MaxConnsPerHost %d, MaxConns %d, MaxDials %d", perHost, conns, dials),
		rt:        rt,
	}, nil
}

// DialContext connects to addr ("host:port") under the outbound policy,
// exactly as the Executor's own HTTPS connections do: Resolve overrides
// first, then DNS; every candidate address is checked against the policy
// (loopback, private, link-local, unspecified, multicast and reserved
// addresses refused unless inside AllowPrefixes) before it is dialled. It
// is for the cloud's other outbound connections, such as MQTT brokers
// (package mqttbridge's Options.Dial). network must be "tcp", "tcp4" or
// "tcp6". A refused target gives an error wrapping ErrRefused; a name that
// does not resolve, a *net.DNSError (at once and without a query for
// "invalid" and names under it, RFC 6761 §6.4). The connection holds one
// of the MaxConns tokens until it is closed (close it), and its dial one of
// the MaxDials slots; it waits for them at most until ctx is done (the
// error then wraps ctx's, and Reason says "timed out waiting for a
// connection to ADDR").
func (e *Executor) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("dial %s: network %q not supported (tcp only)", addr, network)
	}
	return e.dial.DialContext(ctx, network, addr)
}

// RootCAs returns the roots the Executor's HTTPS connections trust: the
// system's plus Options.RootCAs. The cloud verifies MQTT brokers against
// the same roots when a connect names no CA (package mqttbridge).
func (e *Executor) RootCAs() *x509.CertPool {
	return e.dial.tls.RootCAs
}

// Close closes idle connections. Requests in flight are not affected; cancel
// their contexts to stop them.
func (e *Executor) Close() {
	e.transport.CloseIdleConnections()
}

// Do validates and performs req and returns the response to send to the
// device, whose receive buffer holds rxSize bytes. Every outcome, failures
// included, is a response: its Result says what happened. Cancelling ctx
// stops the request (REQUESTFAILED).
func (e *Executor) Do(ctx context.Context, req *link.HTTPRequest, rxSize uint32) link.HTTPResponse {
	resp, _ := e.Perform(ctx, req, rxSize)
	return resp
}

// Perform is Do that also returns why the result is not OK (for logs); the
// error is nil when Result is OK.
func (e *Executor) Perform(ctx context.Context, req *link.HTTPRequest, rxSize uint32) (link.HTTPResponse, error) {
	r, res, err := validate(req)
	if err != nil {
		return link.HTTPResponse{Result: uint32(res)}, err
	}
	// A caller that already set this deadline or an earlier one (the
	// cloud's session does, when the request arrives) needs no timer of
	// ours: each context costs allocations per request (issue 11).
	deadline := time.Now().Add(time.Duration(r.timeout) * time.Millisecond)
	if d, ok := ctx.Deadline(); !ok || d.After(deadline) {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	ct := &r.trace
	ctx = ct.with(ctx)
	hreq := r.httpRequest(ctx)
	hresp, err := e.roundTrip(hreq)
	if err != nil {
		return failed(ct.classify(err, r.url, e.waitWhy))
	}
	defer hresp.Body.Close()
	out := link.HTTPResponse{
		Result:     uint32(abi.HTTPResultOK),
		StatusCode: uint32(hresp.StatusCode),
		Headers:    headerLines(hresp.Header),
	}
	// A HEAD response, a 204 and a 304 have no body (RFC 9110 §6.4.1),
	// whatever their Content-Length says: over HTTP/2 net/http reads the
	// announced body of such a 304 as io.ErrUnexpectedEOF.
	if r.method != http.MethodHead && hresp.StatusCode != http.StatusNoContent && hresp.StatusCode != http.StatusNotModified {
		// Read one byte more than could ever fit, to tell "fits" from
		// "too large" without reading an unbounded body.
		b, err := readBody(hresp.Body, hresp.ContentLength, int64(rxSize)+1)
		if err != nil {
			return failed(fmt.Errorf("reading body: %w", err))
		}
		out.Body = b
	}
	if size := link.HTTPResponseSize(&out); size > int(rxSize) {
		return link.HTTPResponse{
				Result:     uint32(abi.HTTPResultResponseTooLarge),
				StatusCode: out.StatusCode,
			}, fmt.Errorf("response of at least %d bytes (status %d, %d headers, %d+ body bytes) does not fit the %d-byte receive buffer",
				size, out.StatusCode, len(out.Headers), len(out.Body), rxSize)
	}
	return out, nil
}

// httpRequest returns r as an outgoing request under ctx: what
// http.NewRequestWithContext makes of it, without rendering the URL
// validate parsed to parse it again, nor a header map to replace (issue
// 11, allocations per relayed request: one here, the request).
func (r *request) httpRequest(ctx context.Context) *http.Request {
	hreq := (&http.Request{
		Method:     r.method,
		URL:        r.url,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     r.header,
		// As NewRequest sets it: without an empty port ("host:").
		Host: strings.TrimSuffix(r.url.Host, ":"),
	}).WithContext(ctx)
	if u := r.url.User; u != nil && r.header.Get("Authorization") == "" {
		// As http.Client sends a URL's user information.
		p, _ := u.Password()
		hreq.SetBasicAuth(u.Username(), p)
	}
	if len(r.body) > 0 {
		b := r.body
		hreq.ContentLength = int64(len(b))
		hreq.Body = io.NopCloser(bytes.NewReader(b))
		hreq.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return hreq
}

// roundTrip performs hreq as http.Client.Do would for the Executor — no
// redirect followed (the device gets the 3xx), no cookie jar, no client
// timeout — without the copies Do makes of every request to follow
// redirects (issue 11, allocations per relayed request). Its errors are
// *url.Error, as Do's.
func (e *Executor) roundTrip(hreq *http.Request) (*http.Response, error) {
	resp, err := e.rt.RoundTrip(hreq)
	if err == nil && resp == nil {
		err = errors.New("http: RoundTripper returned a nil *Response with a nil error")
	}
	if err != nil {
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		m := hreq.Method
		return nil, &url.Error{Op: m[:1] + strings.ToLower(m[1:]), URL: hreq.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// readBody reads at most limit bytes of body. When the length is known
// (contentLength ≥ 0) it allocates once, min(contentLength, limit) bytes,
// instead of growing a buffer as io.ReadAll does. net/http holds a body to
// its Content-Length (a truncated one reads as io.ErrUnexpectedEOF); a
// reader that ends early without saying so gives what it had.
func readBody(body io.Reader, contentLength, limit int64) ([]byte, error) {
	if contentLength < 0 {
		return io.ReadAll(io.LimitReader(body, limit))
	}
	b := make([]byte, min(contentLength, limit))
	n := 0
	for n < len(b) {
		m, err := body.Read(b[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return b[:n], nil
}

func failed(err error) (link.HTTPResponse, error) {
	if isTimeout(err) {
		err = fmt.Errorf("timed out: %w", err)
	}
	return link.HTTPResponse{Result: uint32(abi.HTTPResultRequestFailed)}, err
}

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// headerLines renders h as "Name: value" lines, sorted by name, values of
// one name in the order received. The lines share one string, so a
// response costs two allocations however many headers it has (issue 11,
// allocations per relayed request).
func headerLines(h http.Header) []string {
	var small [16]string // most responses: the names stay on the stack
	names := small[:0]
	n, size := 0, 0
	for name, vs := range h {
		names = append(names, name)
		n += len(vs)
		for _, v := range vs {
			size += len(name) + len(": ") + len(v)
		}
	}
	if n == 0 {
		return nil
	}
	slices.Sort(names)
	var b strings.Builder
	b.Grow(size)
	for _, name := range names {
		for _, v := range h[name] {
			b.WriteString(name)
			b.WriteString(": ")
			b.WriteString(v)
		}
	}
	all := b.String()
	lines := make([]string, 0, n)
	off := 0
	for _, name := range names {
		for _, v := range h[name] {
			end := off + len(name) + len(": ") + len(v)
			lines = append(lines, all[off:end])
			off = end
		}
	}
	return lines
}
