// Package testenv starts what mvnet's tests and benchmarks need: a local
// HTTPS server with a throwaway CA, an embedded cloud that trusts it and may
// reach it, and emulated devices joined to that cloud. Everything listens on
// 127.0.0.1 and is stopped by t.Cleanup.
package testenv

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/pki"
)

// Host is the name test servers are reached by; the cloud maps it to the
// server's loopback address.
const Host = "api.mvnet.test"

// Server is a local HTTPS server.
type Server struct {
	CA      *pki.CA
	Port    int
	Base    string // https://api.mvnet.test:PORT
	Resolve string // api.mvnet.test:PORT:127.0.0.1
	HTTP    *http.Server
}

// URL returns the server's URL for path.
func (s *Server) URL(path string) string { return s.Base + path }

// HTTPOptions returns cloud options that trust and may reach the server.
func (s *Server) HTTPOptions() httpexec.Options {
	return httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Resolve:       []string{s.Resolve},
		RootCAs:       []*x509.Certificate{s.CA.Cert},
	}
}

// NewServer starts an HTTPS server for h on 127.0.0.1 with a certificate for
// Host (and 127.0.0.1) from a fresh CA.
func NewServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	ca, err := pki.NewCA("mvnet test CA")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS(Host, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, TLSConfig: conf, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = hs.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	p := strconv.Itoa(port)
	return &Server{CA: ca, Port: port, Base: "https://" + Host + ":" + p, Resolve: Host + ":" + p + ":127.0.0.1", HTTP: hs}
}

// NewCloud starts an embedded cloud with the given options.
func NewCloud(t testing.TB, o cloud.Options) *cloud.Server {
	t.Helper()
	srv, err := cloud.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

// NewDevice boots a device joined to srv (nil: no cloud). Reconnects are
// quick so fault tests do not wait on backoff.
func NewDevice(t testing.TB, srv *cloud.Server, o device.Options) *device.Device {
	t.Helper()
	if srv != nil && o.Dial == nil {
		o.Dial = srv.Dial
	}
	if o.ReconnectDelay == 0 {
		o.ReconnectDelay = 5 * time.Millisecond
	}
	if o.MaxReconnectDelay == 0 {
		o.MaxReconnectDelay = 50 * time.Millisecond
	}
	d, err := device.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// Context returns a context that ends with the test or after d.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// ResettingListener listens on a loopback address and resets each
// connection after reading its first bytes (a link HELLO, a TLS
// ClientHello), so that every dial to addr fails alike: "connection reset
// by peer" while the dialler waits for an answer. accepts gets a value per
// connection accepted (dropped when full): the (n+1)th shows that the nth
// dial has failed and its dialler moved on.
func ResettingListener(t testing.TB) (addr string, accepts <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ServeCounting(t, ln, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 4096))
		_ = c.(*net.TCPConn).SetLinger(0) // close sends RST
		c.Close()
	})
}

// ServeCounting accepts connections on ln until the test ends, handing
// each to handle in the accept loop (handle must not block for long), and
// returns ln's address and a channel that gets a value per connection
// accepted (dropped when full).
func ServeCounting(t testing.TB, ln net.Listener, handle func(net.Conn)) (addr string, accepts <-chan struct{}) {
	t.Cleanup(func() { ln.Close() })
	acc := make(chan struct{}, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case acc <- struct{}{}:
			default:
			}
			handle(c)
		}
	}()
	return ln.Addr().String(), acc
}

// ClosedAddr returns a loopback address ("127.0.0.1:port") nothing listens
// on: a connection to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
