// Package cloud is mvnet's cloud as an embeddable server: it serves device
// links (package session), performs devices' HTTPS requests under the
// outbound policy (package httpexec), holds MQTT broker sessions for
// devices' MQTT channels under the same policy (package mqttbridge,
// docs/mqtt.md), answers config fetches and stores server logs through the
// stores it is given (Options.Config, Options.Logs), and injects faults on
// demand (package faults).
//
// The server accepts connections it is handed (ServeConn), creates
// in-process ones (Dial), or accepts them from a listener (Serve), wrapping
// each in TLS 1.3 with Options.TLS (link.ServerTLSConfig: a device
// certificate from the cloud's device CA is required). A link that carries
// a verified device certificate may only say HELLO as that device; an
// in-process pipe carries none and is trusted. Until HELLO a link costs the
// cloud a bounded amount of time, memory and concurrency (handshake.go);
// with Options.Registry only registered devices are admitted, and deleting
// one drops its link. A node being stopped drains first (drain.go): its
// devices are told to go away and reconnect to another node. An emulated
// device on virtual time has its faults, delayed frames and requests'
// timeouts timed on its own clock (clocks.go, DeviceClock).
//
//	srv, err := cloud.New(cloud.Options{})
//	if err != nil { … }
//	if err := srv.Start(ctx); err != nil { … }
//	defer srv.Shutdown(context.Background())
//	conn, err := srv.Dial(ctx) // the device's end of a link
package cloud

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// Options configure a Server.
type Options struct {
	// HTTP configures the outbound policy: the HTTPS requests of HTTP
	// channels, and (AllowPrefixes and Resolve) the broker connections of
	// MQTT channels too. RootCAs, with the system's roots, also verify
	// MQTT brokers when a connect names no CA (docs/mqtt.md).
	HTTP httpexec.Options
	// MQTT configures the broker sessions the cloud holds for devices' MQTT
	// channels.
	MQTT MQTTOptions
	// Config answers devices' config fetches (CONFIGFETCH channels) from
	// the config and secret stores. Nil means no store: every key of every
	// fetch is answered MV_CONFIGKEYFETCHRESULT_SERVERERROR.
	Config ConfigStore
	// Logs stores devices' server log lines and says for which devices
	// logging is enabled. Nil means no store: logging is disabled for
	// every device (mvServerLog answers LOGGINGDISABLEDBYSERVER once the
	// device has connected).
	Logs LogStore
	// TLS is the device listener's TLS configuration (Serve), normally
	// link.ServerTLSConfig with the device CA's server certificate and
	// pool. Serve requires it; ServeConn and Dial do not use it.
	TLS *tls.Config
	// HandshakeTimeout bounds a link's handshake: the TLS handshake and the
	// HELLO frame after it (handshake.go). Default 10 s.
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds the TLS links handshaking at once (TLS and
	// HELLO); Serve accepts no more until one finishes, so a stampede of
	// reconnecting devices waits in the kernel's accept queue. Default (0)
	// HandshakesPerCPU (32) per GOMAXPROCS, at least DefaultMaxHandshakes
	// (64); measured in handshake.go.
	MaxHandshakes int
	// MaxHandshakesPerIP bounds the links from one remote IP address
	// handshaking at once (Serve), so that one client cannot hold every
	// handshake slot; Serve closes a connection beyond it at once. Default
	// (0): DefaultMaxHandshakesPerIP for remote addresses, none (only
	// MaxHandshakes) for loopback ones. Behind a TCP proxy every device has
	// the proxy's address: set it to MaxHandshakes there.
	MaxHandshakesPerIP int
	// ClientHelloTimeout bounds the wait, from accept (Serve), for the
	// first TLS record (the ClientHello), so that connections that send
	// nothing give their handshake slot back soon; at most
	// HandshakeTimeout, which then counts from that record. Default (0)
	// DefaultClientHelloTimeout.
	ClientHelloTimeout time.Duration
	// Registry, if set, is the device registry: only devices it knows are
	// admitted (checked after the TLS handshake and at HELLO), and a
	// device it reports deleted has its link dropped. Nil: every device
	// with a valid certificate (or an in-process link) is admitted.
	Registry Registry
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// Now gives the wall time sent to devices in WELCOME and TIME, before
	// the clock faults (clock-unset, clock-skew) of each device. A device
	// on virtual time is given its own clock's time instead, which starts
	// at Now when the clock is made (clocks.go). Default time.Now.
	Now func() time.Time
	// MaxChannelBuffer is the largest receive or send buffer, in bytes, a
	// device may give a channel. The cloud holds up to that much per
	// channel and direction (bytes waiting for the device, an HTTP request
	// being received, an HTTP response read from the server), for at most
	// 4 channels per device, so it bounds the memory a device can make the
	// cloud use. A device that opens a channel with a larger buffer has it
	// closed at once with reason UNEXPECTEDLYTERMINATED (the application
	// sees MV_EVENT_CHANNELNOTCONNECTED). It must be a multiple of 512
	// (channel buffers are). Default (0) 1 MiB
	// (session.DefaultMaxChannelBuffer).
	MaxChannelBuffer int
	// PingInterval and IdleTimeout are each device link's keep-alive
	// (link/doc.go, "Keep-alive"): the cloud sends PING after PingInterval
	// without hearing from the device and drops a link silent for
	// IdleTimeout, so a stalled link does not leave a device "connected".
	// Defaults (0) 15 s and 45 s (link.DefaultPingInterval,
	// link.DefaultIdleTimeout).
	PingInterval time.Duration
	IdleTimeout  time.Duration
	// Observe, if set, is called with everything devices do through the
	// cloud (observe.go), in the order each device did it, from a
	// goroutine per device (never a session's: it may call the Server,
	// e.g. apply a fault). It may be called concurrently for different
	// devices, never for one device. A slow Observe delays the
	// observations, not the devices; Shutdown waits for it to have seen
	// every link's end (or an ObserveDropped in its place). The
	// observations waiting for a slow Observe are bounded per device
	// (MaxObserveBacklog, MaxObserveBacklogBytes): past that they are
	// dropped, and Observe gets one ObserveDropped saying how many.
	Observe func(Observation)
	// DrainRate is how many devices a second Drain tells to go away
	// (drain.go), so that the nodes they move to are not stampeded.
	// Default (0) DefaultDrainRate.
	DrainRate int
	// Metrics, if set, receives the cloud's metrics (package metrics,
	// metrics.go): links, frames, requests, devices connected.
	Metrics *metrics.Metrics
	// OnLink, if set, is told when a device's link comes up on this
	// server (past HELLO, admitted) and when it goes down; a link replaced
	// by the device's newer one here only reports the new one up. Calls
	// for one device are not ordered: the down of a link ending and the
	// up of the device's next link, on two sessions' goroutines, may come
	// in either order, so a callee re-reads the device's state (Faults().
	// Connected) rather than trusting the last call (package cloud/cluster
	// does). It is called from the session's goroutine, never under the
	// server's lock: it must not block (a cluster node records presence
	// with it).
	OnLink func(deviceID string, up bool)
}

// MQTTOptions configure the cloud's MQTT broker sessions, one per MQTT
// channel (docs/mqtt.md). Zero values mean the defaults.
type MQTTOptions struct {
	// ConnectTimeout bounds a connect: dial, TLS handshake and CONNACK. A
	// connect that takes longer fails with SOCKETERROR. Default 30 s.
	ConnectTimeout time.Duration
	// The circuit breaker cuts a broker session whose incoming messages
	// arrive faster than the device takes them: the broker connection is
	// dropped (without DISCONNECT, so the broker publishes the will), the
	// requests waiting for the broker complete with
	// CONNECTIONCIRCUITBREAKER, and the channel closes (reason
	// CHANNELRESETBYSERVER). Each message that has to wait for room in the
	// device's receive buffer adds one to an excess count, each one the
	// device then takes removes one, and the count leaks BreakerRate per
	// second; the breaker trips when the count exceeds BreakerBacklog, or
	// when the payloads waiting exceed BreakerBytes. In short, a device may
	// fall behind by BreakerBacklog messages, and beyond that by
	// BreakerRate messages a second. Defaults: 10 messages a second, 100
	// messages, 4 MiB.
	BreakerRate    float64
	BreakerBacklog int
	BreakerBytes   int
	// Plaintext makes a connect without tls_credentials plain TCP, as seed
	// 004 describes, for local brokers (mvnet demo, tests). Default false:
	// such a connect is TLS, verified against the system's roots plus
	// HTTP.RootCAs, as on the production service, which "requires TLS on
	// all connections" (issue 9); a handshake failure is SOCKETERROR.
	Plaintext bool
	// WrapConnect, if set, wraps the connector broker streams are opened
	// with (dial and TLS, mqttbridge.DialConnector under the outbound
	// policy): the cloud uses WrapConnect(base). Recording and replay
	// (package scenario) are such layers; the connect's context carries
	// the device's ID (package devctx). The cloud's fault layer
	// (faults.Injector.WrapConnect) wraps the result, as it wraps
	// HTTP.WrapTransport: faults apply in replay too.
	WrapConnect func(base mqttbridge.Connector) mqttbridge.Connector
}

// ConfigStore is where config values and secrets come from
// (session.ConfigStore).
type ConfigStore = session.ConfigStore

// LogStore is where devices' log lines go (session.LogStore).
type LogStore = session.LogStore

// DeviceInfo describes a connected device and its open channels.
type DeviceInfo = session.DeviceInfo

// ChannelInfo describes one open channel of a device.
type ChannelInfo = session.ChannelInfo

// Errors returned by the Server.
var (
	ErrNotStarted = errors.New("cloud: server not started")
	ErrShutdown   = errors.New("cloud: server shut down")
	// ErrLinkDropped refuses a device whose link is dropped by fault
	// injection.
	ErrLinkDropped = errors.New("cloud: device link dropped by fault injection")
)

// Server is the cloud. Create it with New, then Start it.
type Server struct {
	log    *slog.Logger
	now    func() time.Time
	maxBuf int           // Options.MaxChannelBuffer
	ping   time.Duration // Options.PingInterval
	idle   time.Duration // Options.IdleTimeout
	http   *httpexec.Executor
	mqtt   *session.MQTTConfig
	tls    *tls.Config
	hsTime time.Duration
	// chTime is Options.ClientHelloTimeout (at most hsTime).
	chTime time.Duration
	// hsSlots holds a token per TLS link handshaking (MaxHandshakes), and
	// per accept Serve is waiting for.
	hsSlots chan struct{}
	// hsNow counts the links handshaking (Handshakes).
	hsNow    atomic.Int64
	maxPerIP int // Options.MaxHandshakesPerIP
	registry Registry
	faults   *faults.Injector
	clocks   deviceClocks // devices' virtual clocks (clocks.go)
	config   ConfigStore
	logs     LogStore
	observe  *observers // Options.Observe; nil without it
	metrics  *metrics.Metrics
	onLink   func(deviceID string, up bool)
	ready    chan struct{}
	ctx      context.Context // parent of every session; cancelled by Shutdown
	cancel   context.CancelFunc
	conns    sync.WaitGroup // ServeConn calls
	done     chan struct{}  // closed when Shutdown has finished waiting

	mu       sync.Mutex
	started  bool
	shutdown bool
	all      map[*session.Session]bool   // every running session
	lns      map[net.Listener]bool       // listeners Serve is accepting from
	byID     map[string]*session.Session // sessions past HELLO
	pending  map[string]net.Conn         // per certificate: the link waiting for its HELLO
	hsByIP   map[netip.Addr]int          // links handshaking per remote address (Serve)
	drain    drainState                  // Drain (drain.go)
}

// New validates o and returns a server that is not started.
func New(o Options) (*Server, error) {
	if o.MaxChannelBuffer < 0 || o.MaxChannelBuffer%session.ChannelBufferUnit != 0 {
		return nil, fmt.Errorf("cloud: MaxChannelBuffer %d is not a positive multiple of %d", o.MaxChannelBuffer, session.ChannelBufferUnit)
	}
	if o.MaxHandshakes < 0 || o.MaxHandshakesPerIP < 0 {
		return nil, fmt.Errorf("cloud: MaxHandshakes %d and MaxHandshakesPerIP %d must not be negative", o.MaxHandshakes, o.MaxHandshakesPerIP)
	}
	if m := o.MQTT; m.ConnectTimeout < 0 || m.BreakerRate < 0 || m.BreakerBacklog < 0 || m.BreakerBytes < 0 {
		return nil, fmt.Errorf("cloud: MQTT options: negative value in %+v", m)
	}
	if o.PingInterval < 0 || o.IdleTimeout < 0 {
		return nil, fmt.Errorf("cloud: PingInterval %v and IdleTimeout %v must not be negative", o.PingInterval, o.IdleTimeout)
	}
	if o.DrainRate < 0 {
		return nil, fmt.Errorf("cloud: DrainRate %d must not be negative (0: the default, %d a second)", o.DrainRate, DefaultDrainRate)
	}
	// The fault layers wrap the user's (recording, replay): outermost.
	reg := &registry{}
	inj := faults.New(reg)
	inj.SetMaxBody(cmp.Or(o.MaxChannelBuffer, session.DefaultMaxChannelBuffer))
	if o.Logger != nil {
		inj.SetLogger(o.Logger)
	}
	ho := o.HTTP
	ho.WrapTransport = wrapOuter(o.HTTP.WrapTransport, inj.WrapTransport)
	h, err := httpexec.New(ho)
	if err != nil {
		return nil, fmt.Errorf("cloud: HTTP options: %w", err)
	}
	connect := mqttbridge.DialConnector(h.DialContext)
	if o.MQTT.WrapConnect != nil {
		if connect = o.MQTT.WrapConnect(connect); connect == nil {
			return nil, errors.New("cloud: MQTT options: WrapConnect returned nil")
		}
	}
	connect = inj.WrapConnect(connect)
	s := &Server{
		log:    o.Logger,
		now:    o.Now,
		maxBuf: o.MaxChannelBuffer,
		ping:   o.PingInterval,
		idle:   o.IdleTimeout,
		http:   h,
		mqtt: &session.MQTTConfig{
			Dial:           h.DialContext,
			Connect:        connect,
			ConnectTimeout: o.MQTT.ConnectTimeout,
			BreakerRate:    o.MQTT.BreakerRate,
			BreakerBacklog: o.MQTT.BreakerBacklog,
			BreakerBytes:   o.MQTT.BreakerBytes,
			Plaintext:      o.MQTT.Plaintext,
			RootCAs:        h.RootCAs(),
		},
		config:   o.Config,
		logs:     o.Logs,
		tls:      o.TLS,
		hsTime:   o.HandshakeTimeout,
		chTime:   o.ClientHelloTimeout,
		maxPerIP: o.MaxHandshakesPerIP,
		hsByIP:   make(map[netip.Addr]int),
		hsSlots:  make(chan struct{}, cmp.Or(o.MaxHandshakes, defaultMaxHandshakes())),
		registry: o.Registry,
		onLink:   o.OnLink,
		pending:  make(map[string]net.Conn),
		lns:      make(map[net.Listener]bool),
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
		all:      make(map[*session.Session]bool),
		byID:     make(map[string]*session.Session),
		drain:    drainState{rate: cmp.Or(o.DrainRate, DefaultDrainRate)},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hsTime <= 0 {
		s.hsTime = 10 * time.Second
	}
	if s.chTime <= 0 {
		s.chTime = DefaultClientHelloTimeout
	}
	s.chTime = min(s.chTime, s.hsTime)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.clocks.now = s.now
	reg.s, s.faults = s, inj
	inj.SetClocks(s.clocks.clock)
	if o.Observe != nil {
		s.observe = newObservers(dedupLogs(o.Observe))
	}
	s.watchMetrics(o.Metrics)
	return s, nil
}

// Start makes the server ready to accept links and closes Ready. ctx bounds
// the start-up only; the server runs until Shutdown.
func (s *Server) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cloud: start: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.shutdown:
		return ErrShutdown
	case s.started:
		return errors.New("cloud: server already started")
	}
	if s.registry != nil {
		// Deleted devices lose their links (DropDevice), on whichever
		// cloud node deleted them.
		if err := s.registry.WatchDeletedDevices(s.ctx, func(id string) { s.DropDevice(id) }); err != nil {
			return fmt.Errorf("cloud: start: %w", err)
		}
	}
	s.started = true
	close(s.ready)
	s.log.Info("cloud started")
	return nil
}

// Ready is closed once Start has succeeded.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Faults is the server's fault injector.
func (s *Server) Faults() *faults.Injector { return s.faults }

// ServeConn runs one device link over c until it ends, and closes c. It
// returns nil when the device hung up or the server closed the link
// (Shutdown, a newer link from the same device, fault injection), and
// otherwise an error naming the problem (e.g. a protocol violation, a
// failed TLS handshake, a HELLO naming another device than the link's
// certificate).
//
// A *tls.Conn is handshaken first (within Options.HandshakeTimeout, one
// of Options.MaxHandshakes); if its peer presented a verified certificate,
// the device it names (link.PeerDeviceID) is the only one the link may say
// HELLO as. A *tls.Conn whose peer presented no verified certificate is
// refused. Other connections (net.Pipe from Dial) are trusted. Either way
// the first frame must be a HELLO (handshake.go).
func (s *Server) ServeConn(c net.Conn) error { return s.serveConn(c, nil) }

// serveConn is ServeConn; slot, if not nil, gives back the handshake slot
// the caller (Serve) took for c, once the handshake ends.
func (s *Server) serveConn(c net.Conn, slot func()) error {
	s.mu.Lock()
	var err error
	switch {
	case s.shutdown:
		err = ErrShutdown
	case !s.started:
		err = ErrNotStarted
	case s.drain.on:
		err = ErrDraining
	}
	if err != nil {
		s.mu.Unlock()
		_ = c.Close()
		if slot != nil {
			slot()
		}
		return err
	}
	s.conns.Add(1)
	s.mu.Unlock()
	defer s.conns.Done()
	certID, c, err := s.handshake(c, slot)
	if err != nil {
		s.metrics.LinkRefused(refusal(err, metrics.RefusedHandshake))
		return err
	}
	if slot == nil { // ServeConn: serve on the caller's goroutine
		return s.runSession(c, certID)
	}
	// From Serve: the session runs on a fresh goroutine, so that the
	// handshake's deep stack (ML-KEM, ECDSA: 16 KiB and more) is not kept
	// for the link's lifetime (issue 11, memory per idle device).
	s.conns.Add(1)
	go func() {
		defer s.conns.Done()
		if err := s.runSession(c, certID); err != nil && !errors.Is(err, ErrShutdown) {
			s.log.Debug("device link ended", "remote", c.RemoteAddr(), "err", err)
		}
	}()
	return nil
}

// runSession runs the session of the link c, authenticated as device
// certID (if any), until it ends.
func (s *Server) runSession(c net.Conn, certID string) (err error) {
	// virtual: the HELLO said the device's time is virtual (attach is
	// called before register, on the session's goroutine); else the device
	// is on the wall clock from now on.
	virtual := false
	attach := func(id string, nowUS uint64) (*vclock.Virtual, time.Time) {
		virtual = true
		return s.clocks.attach(id, nowUS)
	}
	register := func(id string, sess *session.Session) (func(), error) {
		if !virtual {
			s.wallClock(id)
		}
		return s.registerCounted(id, sess)
	}
	sess := session.New(c, session.Config{
		HTTP:             s.http,
		MQTT:             s.mqtt,
		Config:           s.config,
		Logs:             s.logs,
		Logger:           s.log,
		Now:              s.now,
		Faults:           s.faults,
		Observe:          s.observeFunc(),
		Register:         register,
		Metrics:          s.metrics,
		MaxChannelBuffer: s.maxBuf,
		CertDeviceID:     certID,
		PingInterval:     s.ping,
		IdleTimeout:      s.idle,
		VirtualClock:     attach,
	})
	s.mu.Lock()
	if s.shutdown { // Shutdown began during the handshake
		s.mu.Unlock()
		_ = c.Close()
		return ErrShutdown
	}
	if s.drain.on {
		// Drain began during the handshake, and may have returned
		// already (no session left): this one must not join s.all
		// after drain.empty closed. Refused as a HELLO is while
		// draining (drain.go).
		s.mu.Unlock()
		s.metrics.LinkRefused(metrics.RefusedDraining)
		_ = c.SetDeadline(time.Now().Add(s.hsTime))
		refuse(c, ErrDraining.Error())
		return ErrDraining
	}
	s.all[sess] = true
	s.mu.Unlock()
	err = sess.Run(s.ctx)
	s.mu.Lock()
	delete(s.all, sess)
	// register may have put sess back in byID after Run's unregister ran
	// (the registry failing for a newer link): not after this.
	if id := sess.DeviceID(); id != "" && s.byID[id] == sess {
		delete(s.byID, id)
	}
	s.drainedLocked()
	s.mu.Unlock()
	if errors.Is(err, session.ErrRefused) {
		return nil
	}
	return err
}

// Serve accepts device links from ln, wraps each in TLS with Options.TLS
// and serves it (ServeConn) in a goroutine of its own, until Shutdown or
// until ln fails. It closes ln. It returns ErrShutdown after Shutdown or
// Drain, and otherwise the error that ended accepting.
func (s *Server) Serve(ln net.Listener) error {
	if s.tls == nil {
		_ = ln.Close()
		return errors.New("cloud: Serve needs Options.TLS")
	}
	s.mu.Lock()
	switch {
	case s.shutdown:
		s.mu.Unlock()
		_ = ln.Close()
		return ErrShutdown
	case !s.started:
		s.mu.Unlock()
		_ = ln.Close()
		return ErrNotStarted
	case s.drain.on:
		s.mu.Unlock()
		_ = ln.Close()
		return ErrShutdown
	}
	s.lns[ln] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		_ = ln.Close()
	}()
	var delay time.Duration
	for {
		// A handshake slot first: beyond MaxHandshakes, devices wait in
		// the accept queue (handshake.go).
		if err := s.acquireHandshake(); err != nil {
			return ErrShutdown
		}
		c, err := ln.Accept()
		if err != nil {
			s.releaseHandshake()
			s.mu.Lock()
			down := s.shutdown || s.drain.on // the listener closed by Drain too
			s.mu.Unlock()
			if down {
				return ErrShutdown
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off, as
				// net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("device listener: accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
					continue
				case <-s.ctx.Done():
					return ErrShutdown
				}
			}
			return fmt.Errorf("cloud: accept: %w", err)
		}
		delay = 0
		slot, err := s.admit(c)
		if err != nil {
			s.metrics.LinkRefused(metrics.RefusedBusy)
			s.log.Debug("device link refused", "err", err)
			_ = c.Close()
			continue
		}
		go func() {
			stop := context.AfterFunc(s.ctx, func() { _ = c.Close() }) // Shutdown
			tc, err := readClientHello(c, s.chTime)
			stop()
			if err != nil {
				_ = c.Close()
				slot()
				s.metrics.LinkRefused(metrics.RefusedHandshake)
				s.log.Debug("device link ended", "remote", c.RemoteAddr(), "err", err)
				return
			}
			if err := s.serveConn(tls.Server(tc, s.tls), slot); err != nil && !errors.Is(err, ErrShutdown) {
				s.log.Debug("device link ended", "remote", c.RemoteAddr(), "err", err)
			}
		}()
	}
}

func isTemporary(err error) bool {
	t, ok := err.(interface{ Temporary() bool })
	return ok && t.Temporary()
}

// register admits a device that said HELLO: refused while its link is
// dropped or the server is shutting down; a previous link of the same
// device is closed, unless the new one is refused because the registry
// failed.
func (s *Server) register(id string, sess *session.Session) (func(), error) {
	s.mu.Lock()
	if s.shutdown {
		s.mu.Unlock()
		return nil, ErrShutdown
	}
	if s.drain.on {
		s.mu.Unlock()
		return nil, ErrDraining
	}
	// Checked under mu: see faults.Injector.DropLink.
	if s.faults.LinkDropped(id) {
		s.mu.Unlock()
		return nil, ErrLinkDropped
	}
	old := s.byID[id]
	s.byID[id] = sess
	s.mu.Unlock()
	// Checked after sess is in byID: a deletion either finds it there
	// (DropDevice) or is seen here.
	if err := s.checkRegistered(id); err != nil {
		// Not registered: the device has no business being connected,
		// and its established link goes too. The registry failing says
		// nothing about the device: only the new link is refused, and
		// the established one (if still running) stays the device's.
		gone := errors.Is(err, ErrNotRegistered)
		s.mu.Lock()
		if s.byID[id] == sess {
			if old != nil && !gone && s.all[old] {
				s.byID[id] = old
			} else {
				delete(s.byID, id)
			}
		}
		s.mu.Unlock()
		if old != nil && gone {
			old.Close()
		}
		return nil, err
	}
	if old != nil {
		s.log.Debug("device reconnected: closing its previous link", "device", id)
		old.Close()
	}
	if s.onLink != nil {
		s.onLink(id, true)
	}
	return func() {
		s.mu.Lock()
		last := s.byID[id] == sess
		if last {
			delete(s.byID, id)
		}
		s.mu.Unlock()
		if last && s.onLink != nil {
			s.onLink(id, false)
		}
	}, nil
}

// Dial opens an in-process link: it serves the cloud's end in a goroutine
// and returns the device's end.
func (s *Server) Dial(ctx context.Context) (net.Conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	switch {
	case s.shutdown:
		s.mu.Unlock()
		return nil, ErrShutdown
	case !s.started:
		s.mu.Unlock()
		return nil, ErrNotStarted
	case s.drain.on:
		s.mu.Unlock()
		return nil, ErrDraining
	}
	s.conns.Add(1) // so that Shutdown waits for the goroutine too
	s.mu.Unlock()
	device, cloudEnd := link.Pipe()
	go func() {
		defer s.conns.Done()
		if err := s.ServeConn(cloudEnd); err != nil && !errors.Is(err, ErrShutdown) {
			s.log.Debug("in-process link ended", "err", err)
		}
	}()
	return device, nil
}

// Shutdown closes every link, cancels requests in flight and waits for the
// sessions to end, or for ctx. It may be called more than once; every call
// waits.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	first := !s.shutdown
	s.shutdown = true
	sessions := make([]*session.Session, 0, len(s.all))
	for sess := range s.all {
		sessions = append(sessions, sess)
	}
	for ln := range s.lns {
		_ = ln.Close() // Serve returns ErrShutdown
	}
	s.mu.Unlock()
	if first {
		s.cancel()
		s.faults.Close() // no fault (flap, timer) outlives the cloud
		for _, sess := range sessions {
			sess.Close()
		}
		go func() {
			s.conns.Wait()
			s.http.Close()
			if s.observe != nil {
				s.observe.running.Wait() // every link-down delivered
			}
			close(s.done)
		}()
	}
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cloud: shutdown: %w", ctx.Err())
	}
}

// Devices lists the connected devices (past HELLO) and their open
// channels, by device ID.
func (s *Server) Devices() []DeviceInfo {
	s.mu.Lock()
	sessions := make([]*session.Session, 0, len(s.byID))
	for _, sess := range s.byID {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	infos := make([]DeviceInfo, 0, len(sessions))
	for _, sess := range sessions {
		infos = append(infos, sess.Info())
	}
	slices.SortFunc(infos, func(a, b DeviceInfo) int { return strings.Compare(a.DeviceID, b.DeviceID) })
	return infos
}

// SetLogging tells a connected device whether server logging is enabled
// for it (CONTROL LOGGING), after the setting changed in the store; it
// reports whether the device is connected. A device that connects later
// learns the setting from LogStore.LoggingEnabled.
func (s *Server) SetLogging(deviceID string, enabled bool) bool {
	s.mu.Lock()
	sess, ok := s.byID[deviceID]
	s.mu.Unlock()
	if ok {
		sess.SetLogging(enabled)
	}
	return ok
}

// observeFunc is what sessions hand their observations to, nil without
// Options.Observe.
func (s *Server) observeFunc() func(Observation, func()) {
	if s.observe == nil {
		return nil
	}
	return s.observe.add
}

// registry finds devices' current links for the fault injector.
type registry struct{ s *Server }

// The injector names devices by devid.Canon (lower-case hex); a device
// that said its ID in upper case is found too.
func (r registry) Link(deviceID string) (faults.Link, bool) {
	r.s.mu.Lock()
	sess, ok := r.s.byID[deviceID]
	if !ok {
		for id, s := range r.s.byID {
			if strings.EqualFold(id, deviceID) {
				sess, ok = s, true
				break
			}
		}
	}
	r.s.mu.Unlock()
	// A link being closed (a link-drop, a cloud-restart) stays registered
	// until its session has ended; it is no longer the device's link: an
	// update or a channel close must not succeed on it.
	if !ok || sess.Closing() {
		return nil, false
	}
	return sess, true
}
