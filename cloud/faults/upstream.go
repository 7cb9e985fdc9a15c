package faults

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/internal/vclock"
)

// Upstream faults: what the servers and brokers a device reaches through
// the cloud seem to do. The cloud wraps its upstream in two layers,
// WrapTransport (HTTP) and WrapConnect (MQTT brokers, upstream_mqtt.go),
// outermost, so they apply in replay too. Each layer reads the device's ID
// from the request's (or connect's) context (package devctx) and consults
// the faults in force for that device only; traffic without a device ID
// passes untouched. docs/fault-injection.md describes what the device sees.

// DefaultMaxBody is the largest response body the Injector expects the
// cloud to pass to a device when SetMaxBody was not called: the cloud's
// default MaxChannelBuffer (session.DefaultMaxChannelBuffer).
const DefaultMaxBody = 1 << 20

// SetMaxBody tells the Injector the largest response body the cloud
// passes to a device (its MaxChannelBuffer): http-truncate reads at most
// one byte more to find the middle of a body whose length is not given
// (a longer body is refused as too large anyway). n <= 0 means
// DefaultMaxBody. Call it before the Injector is used.
func (i *Injector) SetMaxBody(n int) {
	if n <= 0 {
		n = DefaultMaxBody
	}
	i.maxBody.Store(int64(n))
}

// truncateBuffer bounds the body http-truncate reads to find its middle
// when the response does not say its length: one byte past the largest
// body the cloud passes on.
func (i *Injector) truncateBuffer() int64 {
	n := i.maxBody.Load()
	if n == 0 {
		n = DefaultMaxBody
	}
	return n + 1
}

// httpPlan is what the faults in force do to one HTTP request.
type httpPlan struct {
	dns      bool
	tls      bool
	reset    bool
	delay    time.Duration
	status   *Spec // http-status: the oldest matching
	truncate *Spec // http-truncate: the oldest matching
}

// httpPlanFor collects the device's HTTP faults matching the request to
// host (lower case) and url.
func (i *Injector) httpPlanFor(dev, host, url string) httpPlan {
	i.mu.Lock()
	defer i.mu.Unlock()
	var p httpPlan
	for _, a := range i.faultsOf(dev) {
		s := &a.f.Spec
		if s.Kind == DNSFailure {
			p.dns = p.dns || hostMatches(s, host)
			continue
		}
		if !Match(s.URL, url) {
			continue
		}
		switch s.Kind {
		case HTTPTLS:
			p.tls = true
		case HTTPReset:
			p.reset = true
		case HTTPDelay:
			p.delay += time.Duration(s.Delay)
		case HTTPStatus:
			if p.status == nil {
				p.status = s
			}
		case HTTPTruncate:
			if p.truncate == nil {
				p.truncate = s
			}
		}
	}
	return p
}

// WrapTransport returns an http.RoundTripper that performs requests with
// base except where an upstream fault in force for the request's device
// (devctx.ID of its context) says otherwise:
//
//   - dns-failure: the host does not resolve (a *net.DNSError, not found);
//   - http-tls: the server's certificate is not trusted (x509 unknown
//     authority);
//   - http-reset: the connection is reset (ECONNRESET) before a response;
//   - http-delay: the response comes Delay late on the device's clock (the
//     delays of several matching faults add up); the request's
//     cancellation or timeout ends the wait at once. On a virtual clock
//     (SetClocks) RoundTrip is to be called holding it (the session holds
//     it for the request and names the hold, vclock.WithHolds): the wait
//     lends that hold (a vclock.Loan), so the clock reaches the end of
//     the delay;
//   - http-status: the response is made up (status and body), base is not
//     called;
//   - http-truncate: the body ends with io.ErrUnexpectedEOF after Bytes
//     bytes (default half of it; a body no longer than Bytes is whole).
//
// The failures are checked in that order and the first that applies
// decides. None of them contacts the server.
func (i *Injector) WrapTransport(base http.RoundTripper) http.RoundTripper {
	return &faultTransport{i: i, base: base}
}

type faultTransport struct {
	i    *Injector
	base http.RoundTripper
}

func (t *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	dev := devctx.ID(req.Context())
	if dev == "" {
		return t.base.RoundTrip(req)
	}
	host := strings.ToLower(req.URL.Hostname())
	p := t.i.httpPlanFor(dev, host, req.URL.String())
	fail := func(err error) (*http.Response, error) {
		if req.Body != nil {
			_ = req.Body.Close() // http.RoundTripper: the transport closes it
		}
		return nil, err
	}
	switch {
	case p.dns:
		return fail(dnsError(host))
	case p.tls:
		return fail(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}})
	case p.reset:
		return fail(resetError("read"))
	}
	if p.delay > 0 {
		// The delay runs on the device's clock. On a virtual one the
		// request is held work (the session holds the clock for it and
		// names the hold in the request's context, vclock.WithHolds): the
		// wait lends that hold, by identity, so the clock can reach the
		// response's instant, and has it back then. It lends one of its
		// own too, so that a caller holding nothing still waits on the
		// clock instead of failing; a context naming no hold lends, as
		// before, the newest other hold in force.
		c := t.i.clock(dev)
		own := vclock.HoldToken(c)
		l := vclock.NewLoan(c)
		l.LendToken(own)
		if !l.LendHolds(req.Context()) {
			l.Lend(1)
		}
		err := l.Sleep(req.Context(), p.delay)
		own.Release()
		if err != nil {
			return fail(err)
		}
	}
	if s := p.status; s != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return &http.Response{
			Status:        strconv.Itoa(s.Status) + " " + http.StatusText(s.Status),
			StatusCode:    s.Status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "Content-Length": {strconv.Itoa(len(s.Body))}},
			Body:          io.NopCloser(strings.NewReader(s.Body)),
			ContentLength: int64(len(s.Body)),
			Request:       req,
		}, nil
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || p.truncate == nil {
		return resp, err
	}
	return truncate(resp, p.truncate.Bytes, t.i.truncateBuffer())
}

// truncate cuts resp's body after keep bytes (0: half the body, of which
// it reads at most max bytes when the length is not given).
func truncate(resp *http.Response, keep int, max int64) (*http.Response, error) {
	body := resp.Body
	if keep == 0 {
		n := resp.ContentLength
		if n < 0 {
			b, err := io.ReadAll(io.LimitReader(body, max))
			if err != nil {
				_ = body.Close()
				return nil, err
			}
			n = int64(len(b))
			body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), body), body}
		}
		keep = int(n / 2)
	}
	resp.Body = &cutBody{rc: body, left: int64(keep)}
	return resp, nil
}

// cutBody ends its body with io.ErrUnexpectedEOF after left bytes, if
// there is more; a shorter body is passed whole.
type cutBody struct {
	rc   io.ReadCloser
	left int64
}

func (c *cutBody) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// Is there more? Then the body is cut here.
		var one [1]byte
		n, err := c.rc.Read(one[:])
		if n > 0 {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutBody) Close() error { return c.rc.Close() }

// dnsError is what a lookup of a name that does not exist returns,
// wrapped as a dial returns it.
func dnsError(host string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{
		Err: "no such host", Name: host, IsNotFound: true,
	}}
}

// resetError is a connection reset by the peer during op ("read",
// "write").
func resetError(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Err: os.NewSyscallError(op, syscall.ECONNRESET)}
}

// hostMatches reports whether the mqtt-* or dns-failure spec s applies to
// host (lower case): its Host pattern, compared lower case; no Host is
// every host.
func hostMatches(s *Spec, host string) bool {
	return Match(strings.ToLower(s.Host), host)
}
