package broker

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// DefaultAddr is where a broker listens when Options.Addr is empty: a free
// port on the IPv4 loopback interface.
const DefaultAddr = "127.0.0.1:0"

// ConnectTimeout bounds how long an accepted connection may take to complete
// its TLS handshake and send CONNECT.
const ConnectTimeout = 30 * time.Second

// Options configure a Broker.
type Options struct {
	// Addr is the TCP address to listen on (host:port). Default DefaultAddr.
	Addr string
	// TLS, if set, makes the listener speak MQTT over TLS only. It must hold
	// at least one certificate (or a GetCertificate/GetConfigForClient
	// callback). Set ClientAuth and ClientCAs to require client certificates.
	TLS *tls.Config
	// Users, if non-empty, turns on authentication: a client must present a
	// user name listed here with its password. Authenticated clients may
	// publish and subscribe to every topic. Empty means anyone may connect.
	Users map[string]string
	// Logger receives the broker's diagnostics. Default: discard.
	Logger *slog.Logger
}

// Broker is an embedded MQTT broker (MQTT 3.1.1 and 5). Create it with New,
// then Start it; Close stops it.
type Broker struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	started bool
	server  *mqtt.Server
	lis     *listener
	stop    chan struct{} // closed by Close; ends the context watcher
	done    chan struct{} // closed when Close has finished

	closeOnce sync.Once
	closeErr  error

	// noInflightGuard turns the receive-maximum guard off (tests only: it
	// demonstrates the deadlock the guard prevents).
	noInflightGuard bool
}

// New returns a broker configured by o. It does not listen until Start.
func New(o Options) *Broker {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.Users) > 0 {
		users := make(map[string]string, len(o.Users))
		for u, p := range o.Users {
			users[u] = p
		}
		o.Users = users
	}
	return &Broker{
		opts: o,
		log:  o.Logger,
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
}

// Start listens on the configured address and serves MQTT clients in the
// background. It returns once the broker accepts connections (Addr then
// reports the bound address). When ctx is cancelled the broker closes, as if
// Close had been called. A broker starts once; after Close it cannot be
// restarted.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return errors.New("broker: already started")
	}
	select {
	case <-b.stop:
		return errors.New("broker: closed")
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.opts.TLS != nil && len(b.opts.TLS.Certificates) == 0 &&
		b.opts.TLS.GetCertificate == nil && b.opts.TLS.GetConfigForClient == nil {
		return errors.New("broker: TLS config has no certificate")
	}
	for u := range b.opts.Users {
		if u == "" {
			return errors.New("broker: empty user name in Users")
		}
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", b.opts.Addr)
	if err != nil {
		return fmt.Errorf("broker: listen: %w", err)
	}
	if b.opts.TLS != nil {
		ln = tls.NewListener(ln, b.opts.TLS)
	}

	caps := mqtt.NewDefaultServerCapabilities()
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       b.log,
	})
	if !b.noInflightGuard {
		if err := srv.AddHook(new(inflightGuard), nil); err != nil {
			ln.Close()
			return fmt.Errorf("broker: %w", err)
		}
	}
	if err := srv.AddHook(&authHook{users: b.opts.Users}, nil); err != nil {
		ln.Close()
		return fmt.Errorf("broker: %w", err)
	}
	lis := &listener{id: "mvnet", ln: ln, conns: map[*trackedConn]struct{}{}}
	lis.disconnect = func() { disconnectClients(srv) }
	if err := srv.AddListener(lis); err != nil {
		ln.Close()
		return fmt.Errorf("broker: %w", err)
	}
	if err := srv.Serve(); err != nil {
		srv.Close()
		return fmt.Errorf("broker: %w", err)
	}
	b.server, b.lis, b.started = srv, lis, true
	b.log.Info("MQTT broker listening", "addr", ln.Addr().String(), "tls", b.opts.TLS != nil, "auth", len(b.opts.Users) > 0)

	go func() {
		select {
		case <-ctx.Done():
			b.Close()
		case <-b.stop:
		}
	}()
	return nil
}

// Addr returns the address the broker listens on, or nil before Start.
func (b *Broker) Addr() net.Addr {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lis == nil {
		return nil
	}
	return b.lis.ln.Addr()
}

// Close stops accepting connections, disconnects every client (MQTT 5
// clients receive DISCONNECT with reason 0x8B, server shutting down) and
// waits for the connection handlers to finish. Sessions, retained messages
// and queued messages are lost: they live only in memory. Close may be called
// more than once and from several goroutines.
func (b *Broker) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		close(b.stop)
		srv, lis := b.server, b.lis
		b.mu.Unlock()
		if srv != nil {
			b.closeErr = srv.Close() // closes the listener, disconnects clients, waits for them
			lis.wait()
		}
		close(b.done)
	})
	<-b.done
	return b.closeErr
}

// disconnectClients sends DISCONNECT (server shutting down) to every
// connected client and stops it, as mochi's Server.Close would through
// closeListenerClients, but without Clients.GetByListener: in mochi-mqtt
// v2.7.9 that method holds the clients map's read lock and calls Len, which
// takes it again, so Close deadlocks if a client ending at the same moment
// waits for the write lock (Clients.Delete). GetAll takes the lock once.
func disconnectClients(srv *mqtt.Server) {
	for _, cl := range srv.Clients.GetAll() {
		if cl.Net.Conn != nil && !cl.Closed() {
			_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
}

// inflightGuard keeps mochi-mqtt v2.7.9 off the send-quota path where
// Inflight.NextImmediate deadlocks and the quota leaks (package doc, bugs 1
// and 2). It runs in OnConnect, after ParseConnect has set the send quota
// from the client's Receive Maximum and before inheritClientSession sets it
// again from the same property for a resumed session, and zeroes both, so
// processPacket never calls NextImmediate for the connection.
type inflightGuard struct {
	mqtt.HookBase
}

func (*inflightGuard) ID() string { return "mvnet-inflight-guard" }

func (*inflightGuard) Provides(b byte) bool { return b == mqtt.OnConnect }

func (*inflightGuard) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	cl.Properties.Props.ReceiveMaximum = 0
	cl.State.Inflight.ResetSendQuota(0)
	return nil
}

// authHook admits clients: everyone when users is empty, otherwise only a
// listed user name with its password. Admitted clients have access to every
// topic.
type authHook struct {
	mqtt.HookBase
	users map[string]string
}

func (*authHook) ID() string { return "mvnet-auth" }

func (*authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if len(h.users) == 0 {
		return true
	}
	want, ok := h.users[string(pk.Connect.Username)]
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), pk.Connect.Password) == 1
}

func (*authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }
