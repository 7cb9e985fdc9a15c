package api

import (
	"cmp"
	"log"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Serving limits: what one HTTP client may hold of the cloud. Without them
// idle keep-alive connections and stalled request bodies are never timed
// out, and a few hundred of them starve the process (the device listener
// too) of file descriptors (issue 8).
const (
	// DefaultReadHeaderTimeout bounds reading a request's headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included
	// (at most MaxBodyBytes).
	DefaultReadTimeout = 30 * time.Second
	// DefaultWriteTimeout bounds writing a response. A log stream extends
	// its deadline before each write instead (streamWriteTimeout).
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxConns caps the API's open connections; beyond it clients
	// wait in the listener's accept queue. Log streams hold one each.
	DefaultMaxConns = 256
)

// ServerOptions are the HTTP server limits of NewServer; zero values mean
// the defaults above.
type ServerOptions struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// ErrorLog gets the server's connection errors (default: the log
	// package's standard logger).
	ErrorLog *log.Logger
}

// NewServer returns an http.Server serving h with the limits of o. Serve
// it on a listener wrapped by LimitListener:
//
//	hs := api.NewServer(api.New(opts), api.ServerOptions{})
//	go hs.Serve(api.LimitListener(ln, 0))
func NewServer(h http.Handler, o ServerOptions) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(o.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       cmp.Or(o.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      cmp.Or(o.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       cmp.Or(o.IdleTimeout, DefaultIdleTimeout),
		ErrorLog:          o.ErrorLog,
	}
}

// LimitListener caps the connections accepted from ln and open at once at
// max (0: DefaultMaxConns); the rest wait in the accept queue until one
// closes.
func LimitListener(ln net.Listener, max int) net.Listener {
	return netutil.LimitListener(ln, cmp.Or(max, DefaultMaxConns))
}
