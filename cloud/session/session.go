// Package session runs the cloud's end of one device link: the HELLO/WELCOME
// handshake, the device's channels with their credit windows, and the
// services behind them (an echo server on OPAQUEBYTES channels, one HTTPS
// request per HTTP channel, one MQTT broker session per MQTT channel: see
// mqtt.go; one config fetch per CONFIGFETCH channel: see config.go), and
// the device's server log (log.go).
//
// One goroutine reads frames and handles them in order; HTTP requests run in
// their own goroutines, MQTT broker sessions in their bridges' (package
// mqttbridge); every frame to the device goes through an outbox
// that applies the fault injector's latency. The link's frames are described
// in package link.
//
// Protocol violations by the device — a first frame that is not a valid
// HELLO, DATA beyond the granted credit, DATA or CREDIT for a channel that
// does not exist, a frame only the cloud may send — end the link with
// CONTROL ERROR, whose text names the problem. Frames for a channel the
// cloud has just closed are ignored (they crossed the CLOSE on the wire); a
// CLOSE for an unknown channel is ignored too. An HTTP or CONFIGFETCH
// channel is forgotten as soon as its response is queued whole: the device
// sends no CLOSE for it (link/doc.go, "Channels").
//
// # Opening channels
//
// The cloud does not take the device's word for a channel's buffers: an
// OPEN is refused — answered with CLOSE, reason UNEXPECTEDLYTERMINATED, and
// a debug log naming the rule — when its type is not served (HTTP only
// with Config.HTTP, MQTT only with Config.MQTT), when
// either buffer size is 0, when the send buffer (and on HTTP, MQTT and
// CONFIGFETCH channels the receive buffer) is not a multiple of 512 bytes,
// when either is over Config.MaxChannelBuffer, or when MaxChannels are
// already open. A device's kernel enforces the same rules in mvOpenChannel
// (all but the maximum, which is the cloud's own), so only a buggy or
// hostile device, or an application asking for buffers over the cloud's
// maximum, sees this.
// An OPEN for a handle that is already open closes that channel.
//
// These rules bound what a device can make the cloud hold. The device may
// send at most its send buffer's size of DATA before the cloud grants
// credit back, and on an echo channel the cloud grants back only bytes it
// has echoed, so the bytes waiting for the device's receive buffer never
// exceed the send buffer's size; a device that sends beyond its credit
// breaks the protocol and loses the link. An HTTP request likewise never
// exceeds the send buffer, and a response is read only up to the receive
// buffer's size. One request per HTTP channel and MaxChannels channels mean
// at most MaxChannels requests in flight per link (a request on a channel
// the device has closed is cancelled at once). On an MQTT channel the
// cloud grants back request bytes once handed to the broker session, but
// not while more than the receive buffer's size of responses waits for
// the device's credit (the kernel's limits on requests in flight keep a
// device far below); messages wait in the broker session, bounded by its
// circuit breaker, and a message's payload is read only up to the receive
// buffer's size.
//
// # Virtual time
//
// A device whose HELLO says its clock is virtual (link.HelloVirtualClock:
// an emulated firmware image in deterministic mode) runs on its own
// virtual clock (Config.VirtualClock), which advances only to the time the
// device gives in HELLO and in each CONTROL SYNC (link/doc.go, "Virtual
// time"). SYNCs are answered by a goroutine of their own (the reader never
// waits on the clock), with CONTROL SYNCED once every answer the device is
// owed for what it sent before the SYNC is queued to it: each such piece
// of work — an HTTP request, a config fetch, an MQTT request, a log line,
// a CREDIT that lets a waiting MQTT message go — holds the clock from the
// moment its frame is read until its answer is queued, never waiting for
// the device's credit, and the session's end releases whatever it still
// holds. Frames delayed by a latency fault, a request's timeout and the
// MQTT close grace run on the device's clock; a request's wall timeout
// stays as a safety net, its failure delivered at the device's deadline.
// What nobody asked for (an MQTT message from another client) holds
// nothing: it lands at whichever sync point follows it. A device without
// the flag runs on the wall clock exactly as before, and a SYNC from it
// is a protocol error. See virtual.go.
package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/cloud/metrics"
	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// Faults is what a session consults about injected faults
// (*faults.Injector implements it).
type Faults interface {
	// Latency is the delay for frames to the device queued now.
	Latency(deviceID string) time.Duration
	// WallTime is the wall time to give the device when the cloud's clock
	// reads now (skewed), or ok false to give it none (WELCOME and TIME
	// then carry 0, link/doc.go).
	WallTime(deviceID string, now time.Time) (t time.Time, ok bool)
	// ServerLoggingDisabled reports whether the device's server logging is
	// disabled whatever the log store says.
	ServerLoggingDisabled(deviceID string) bool
}

// Config configures a session.
type Config struct {
	// HTTP performs requests on HTTP channels. Required for HTTP channels;
	// without it they are closed with UNEXPECTEDLYTERMINATED.
	HTTP *httpexec.Executor
	// MQTT configures MQTT channels (see mqtt.go). Required for MQTT
	// channels; without it they are closed with UNEXPECTEDLYTERMINATED.
	MQTT *MQTTConfig
	// Config answers CONFIGFETCH channels (see config.go). Without it every
	// key is answered SERVERERROR.
	Config ConfigStore
	// Logs stores the device's server log lines (see log.go). Without it
	// logging is disabled for the device.
	Logs LogStore
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// Now gives the wall time for WELCOME and TIME (before Faults' clock
	// faults) to a device on the wall clock; a device on a virtual clock
	// is given its clock's time. Default time.Now.
	Now func() time.Time
	// Faults is consulted for latency, the wall time and logging.
	// Optional.
	Faults Faults
	// Observe, if set, sees what the device does (observe.go), in its
	// order. It is called with the session's lock held: it must return at
	// once and not call the session (the cloud queues observations and
	// hands them to its own Options.Observe from a goroutine per device).
	// On a virtual clock each observation holds the device's clock until
	// its release is called (once the observation has been handled, or
	// dropped) or the session ends; on the wall clock release does
	// nothing.
	Observe func(o Observation, release func())
	// Register is called once the device has said a valid HELLO and before
	// WELCOME. An error closes the link without WELCOME (the device will
	// retry), e.g. while its link is dropped by fault injection. unregister
	// is called when the session ends. Optional.
	Register func(deviceID string, s *Session) (unregister func(), err error)
	// CertDeviceID, when set, is the device named by the verified client
	// certificate the link was authenticated with (link.PeerDeviceID): the
	// device must say HELLO with exactly this ID, else the link ends with
	// CONTROL ERROR — a device presenting its certificate is that device
	// and no other. Empty for links without a certificate (in-process
	// pipes, which are trusted).
	CertDeviceID string
	// PingInterval and IdleTimeout are the link's keep-alive
	// (link.Conn.KeepAlive): the session sends PING after PingInterval
	// without hearing from the device and ends the link after IdleTimeout
	// of silence, so a stalled transport is not mistaken for a connected
	// device. Defaults link.DefaultPingInterval, link.DefaultIdleTimeout.
	PingInterval time.Duration
	IdleTimeout  time.Duration
	// HelloTimeout bounds the wait for HELLO. Default 10 s.
	HelloTimeout time.Duration
	// MaxChannelBuffer is the largest receive or send buffer, in bytes, a
	// device may declare in OPEN; a larger one gets the channel closed with
	// UNEXPECTEDLYTERMINATED. It bounds what the cloud holds per channel:
	// the bytes waiting for the device, an HTTP request being received, an
	// HTTP response body read. Default (0 or less) DefaultMaxChannelBuffer.
	MaxChannelBuffer int
	// Metrics, if set, counts the session's frames, requests and log
	// lines (package metrics). Optional.
	Metrics *metrics.Metrics
	// VirtualClock gives the virtual clock of a device whose HELLO says its
	// time is virtual (link.HelloVirtualClock) and nowUS µs, making it if
	// it has none, and base, the clock's time at the device's time 0
	// (virtual.go): base+nowUS must not be before the clock's time (a
	// device that booted again is rebased). It is called with the ID the
	// device said, and nowUS in range. Default: a clock of the session's
	// own, reading Now at HELLO.
	VirtualClock func(deviceID string, nowUS uint64) (clock *vclock.Virtual, base time.Time)
}

// Limits on the channels a device opens; see handleOpen.
const (
	// DefaultMaxChannelBuffer is Config.MaxChannelBuffer's default: 1 MiB.
	DefaultMaxChannelBuffer = 1 << 20
	// MaxChannels is how many channels a device may have open at once
	// (spec/abi.md: "4 open at once").
	MaxChannels = abi.MaxChannels
	// ChannelBufferUnit is what send buffers, and for HTTP, MQTT and
	// CONFIGFETCH channels receive buffers too, are multiples of
	// (spec/abi.md: "multiples of 512 bytes").
	ChannelBufferUnit = abi.ChannelBufferUnit
)

// ErrRefused is returned by Run when Register refused the device.
var ErrRefused = errors.New("session: device refused")

// maxDataChunk is the largest DATA payload the cloud sends.
const maxDataChunk = 16 << 10

// maxTombstones bounds how many recently closed channel handles are
// remembered to ignore frames that crossed the CLOSE.
const maxTombstones = 64

// errorDrainLimit bounds how long a session waits for its CONTROL ERROR to
// reach the link before closing it.
const errorDrainLimit = 2 * time.Second

// Session is the cloud's end of one device link.
type Session struct {
	conn   *link.Conn
	cfg    Config
	log    *slog.Logger
	ctx    context.Context // cancelled when the session ends
	reqCtx context.Context // ctx carrying the device ID (devctx), set after HELLO: requests' parent
	cancel context.CancelFunc
	out    *outbox
	reqs   sync.WaitGroup         // HTTP request, config fetch, log and syncer goroutines
	id     atomic.Pointer[string] // the device ID, set once after HELLO
	logOn  atomic.Bool            // server logging is enabled for the device

	mu      sync.Mutex
	chans   map[uint32]*channel
	tombs   []uint32 // recently closed by the cloud, oldest first
	ended   bool     // no more frames or channels
	closing bool     // Close was called: the end is not an error
	logq    logQueue // log lines waiting for the store (log.go)
	logSet  bool     // the store's logging setting is known (log.go)
	logWant bool     // the store's logging setting
	welcome bool     // WELCOME is queued: TIME may follow
	obsDone bool     // link-down observed: no more observations (observe.go)

	owing       int           // request channels owed CREDIT (credit.go)
	creditTimer *time.Timer   // pays them after creditDelay; made on first use
	creditDelay time.Duration // creditDelay; tests set their own (export_test.go)

	// The device's clock (virtual.go), set at HELLO: Wall, or its virtual
	// clock vc (nil on Wall) whose time vbase is the device's time 0.
	clock vclock.Clock
	vc    *vclock.Virtual
	vbase time.Time
	holds holdSet      // holds on vc
	syncs chan syncReq // CONTROL SYNCs for the syncer
}

// New returns a session for the cloud end c of a device link. Run runs it.
func New(c net.Conn, cfg Config) *Session {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HelloTimeout <= 0 {
		cfg.HelloTimeout = 10 * time.Second
	}
	if cfg.MaxChannelBuffer <= 0 {
		cfg.MaxChannelBuffer = DefaultMaxChannelBuffer
	}
	s := &Session{
		conn:  link.NewConn(c),
		cfg:   cfg,
		log:   cfg.Logger,
		chans: make(map[uint32]*channel),
		clock: vclock.Wall,

		creditDelay: creditDelay,
	}
	s.out = newOutbox(s.conn, s.latency)
	return s
}

func (s *Session) latency() time.Duration {
	if s.cfg.Faults == nil {
		return 0
	}
	id := s.id.Load()
	if id == nil {
		return 0
	}
	return s.cfg.Faults.Latency(*id)
}

// debugging reports whether the session's logger takes debug records: the
// per-request debug lines are built only then, since their arguments
// allocate even when the record is dropped.
func (s *Session) debugging() bool {
	return s.log.Enabled(context.Background(), slog.LevelDebug)
}

// DeviceID is the device's ID, or "" before HELLO.
func (s *Session) DeviceID() string {
	if id := s.id.Load(); id != nil {
		return *id
	}
	return ""
}

// Close ends the session: the link is closed at once and in-flight requests
// are cancelled. Run then returns nil. It does not wait for Run.
func (s *Session) Close() {
	s.mu.Lock()
	s.closing = true
	s.observeDownLocked()
	s.mu.Unlock()
	_ = s.conn.Close()
}

// Closing reports whether the session is closing or has ended: its link is
// no longer the device's.
func (s *Session) Closing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing || s.ended
}

// Drop is Close (it makes Session a faults.Link).
func (s *Session) Drop() { s.Close() }

// Run runs the session until the link ends. ctx is the parent of the
// session's HTTP requests; cancelling it ends the session. Run returns nil
// when the device hung up or Close was called, ErrRefused if Register
// refused the device, and otherwise an error naming what went wrong (a
// protocol violation, a bad HELLO, a broken link).
func (s *Session) Run(ctx context.Context) error {
	s.ctx, s.cancel = context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, func() { _ = s.conn.Close() })
	defer stop()

	unregister, logged, err := s.hello()
	if err != nil && !errors.Is(err, ErrRefused) {
		s.cfg.Metrics.LinkRefused(metrics.RefusedHello) // refusals by Register are the cloud's to count
	}
	if err == nil {
		if unregister != nil {
			defer unregister()
		}
		s.conn.KeepAlive(s.cfg.PingInterval, s.cfg.IdleTimeout)
		s.logq.busy = true // until runLogs has told the device and stored what came meanwhile
		s.reqs.Add(1)
		go s.runLogs(s.ctx, logged)
		if s.vc != nil {
			s.syncs = make(chan syncReq, maxSyncsQueued)
			s.reqs.Add(1)
			go s.runSyncer(s.ctx)
		}
		err = s.loop()
	}
	s.end(err)
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	var perr *protocolError
	switch {
	case errors.As(err, &perr):
		return err
	case errors.Is(err, ErrRefused):
		return err
	case closing || ctx.Err() != nil:
		return nil
	case errors.Is(err, errDeviceHungUp):
		return nil
	}
	return err
}

// protocolError is a violation by the device: the link ends with CONTROL
// ERROR carrying its text.
type protocolError struct{ msg string }

func (e *protocolError) Error() string { return "session: protocol error: " + e.msg }

func protoErr(format string, args ...any) error {
	return &protocolError{msg: fmt.Sprintf(format, args...)}
}

var errDeviceHungUp = errors.New("session: device hung up")

// hello waits for HELLO, registers the device and answers WELCOME. logged
// is the release of the hold (virtual.go) that lasts until the device has
// been told whether logging is enabled (runLogs).
func (s *Session) hello() (unregister, logged func(), err error) {
	timer := time.AfterFunc(s.cfg.HelloTimeout, func() { _ = s.conn.Close() })
	f, err := s.conn.Recv()
	stopped := timer.Stop()
	if err != nil {
		if !stopped {
			return nil, nil, fmt.Errorf("session: no HELLO within %v", s.cfg.HelloTimeout)
		}
		return nil, nil, s.recvErr(err)
	}
	s.cfg.Metrics.FrameIn(f.Type)
	switch {
	case f.Type != link.FrameHello:
		return nil, nil, protoErr("first frame is %v, want HELLO", f.Type)
	case f.Version != link.Version:
		return nil, nil, protoErr("HELLO version %d not supported (want %d)", f.Version, link.Version)
	}
	if err := devid.Check(f.DeviceID); err != nil {
		return nil, nil, protoErr("HELLO: %v", err)
	}
	if c := s.cfg.CertDeviceID; c != "" && f.DeviceID != c {
		return nil, nil, protoErr("HELLO as device %s, but the link's certificate is device %s's", f.DeviceID, c)
	}
	s.id.Store(&f.DeviceID)
	s.reqCtx = devctx.With(s.ctx, f.DeviceID)
	s.log = s.log.With("device", f.DeviceID)
	if f.Flags&link.HelloVirtualClock != 0 {
		// Before Register: a link-drop fault that ended by now_us no
		// longer refuses the device.
		if err := s.attachClock(f.DeviceID, f.NowUS); err != nil {
			return nil, nil, err
		}
	}
	if s.cfg.Register != nil {
		unregister, err = s.cfg.Register(f.DeviceID, s)
		if err != nil {
			s.log.Debug("link refused", "err", err)
			return nil, nil, fmt.Errorf("%w: %v", ErrRefused, err)
		}
	}
	logged = s.hold()
	// Under mu with welcome, so that a clock fault applied meanwhile is
	// either in this WELCOME's time or sent in a TIME after it (SendTime).
	s.mu.Lock()
	w := link.Frame{Type: link.FrameWelcome, Version: link.Version, WallTimeUS: s.wallTimeUS()}
	if s.vc != nil {
		// Not delayed by latency on the device's clock: the device syncs
		// only once it has WELCOME.
		s.cfg.Metrics.FrameOut(w.Type)
		s.out.sendNow(w)
	} else {
		s.send(w)
	}
	s.welcome = true
	s.observeLocked(Observation{Kind: ObserveLinkUp})
	s.mu.Unlock()
	s.log.Debug("device connected")
	return unregister, logged, nil
}

// wallTimeUS is the wall time for WELCOME and TIME, in µs since the Unix
// epoch: the cloud's clock (Config.Now, or on a virtual clock the
// device's clock, so that the time follows the device's) as the clock
// faults make it, 0 for none (link/doc.go, version 3). A skew that would
// reach back to the epoch gives its first µs, which is a time.
func (s *Session) wallTimeUS() uint64 {
	var now time.Time
	if s.vc != nil {
		now = s.vc.Now()
	} else {
		now = s.cfg.Now()
	}
	if s.cfg.Faults != nil {
		t, ok := s.cfg.Faults.WallTime(s.DeviceID(), now)
		if !ok {
			return 0
		}
		now = t
	}
	return uint64(max(now.UnixMicro(), 1))
}

// SendTime sends the device the wall time (TIME) as wallTimeUS gives it
// now, if there is one and WELCOME has gone; it makes Session a
// faults.ClockLink (a clock fault started or ended).
func (s *Session) SendTime() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.welcome || s.ended {
		return
	}
	if us := s.wallTimeUS(); us != 0 {
		s.send(link.Frame{Type: link.FrameTime, WallTimeUS: us})
	}
}

// recvErr classifies an error from Recv.
func (s *Session) recvErr(err error) error {
	if errors.Is(err, link.ErrMalformed) {
		return protoErr("%v", err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, link.ErrClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return errDeviceHungUp
	}
	return fmt.Errorf("session: link: %w", err)
}

// loop handles frames until the link ends or the device breaks the
// protocol.
func (s *Session) loop() error {
	for {
		f, err := s.conn.Recv()
		if err != nil {
			return s.recvErr(err)
		}
		s.cfg.Metrics.FrameIn(f.Type)
		if err := s.handle(&f); err != nil {
			return err
		}
	}
}

// end tears the session down after err: CONTROL ERROR for a protocol error,
// then closing the link, cancelling requests and waiting for them.
func (s *Session) end(err error) {
	s.mu.Lock()
	s.ended = true
	s.observeDownLocked()
	for _, ch := range s.chans {
		ch.stop()
	}
	clear(s.chans)
	s.owing = 0
	if s.creditTimer != nil {
		s.creditTimer.Stop()
	}
	s.mu.Unlock()
	var perr *protocolError
	if errors.As(err, &perr) {
		s.log.Debug("protocol error", "err", err)
		ctx, cancel := context.WithTimeout(context.Background(), errorDrainLimit)
		e := link.Frame{Type: link.FrameControl, Kind: link.ControlError, Payload: []byte(perr.msg)}
		if s.vc != nil {
			// Frames a latency fault delays wait for the device's time,
			// which will not come: they are lost with the link.
			s.out.sendNow(e)
			_ = s.conn.Flush(ctx)
		} else {
			s.out.send(e)
			if s.out.drain(ctx) == nil {
				_ = s.conn.Flush(ctx)
			}
		}
		cancel()
	}
	s.cancel()
	s.out.stop()
	_ = s.conn.Close()
	s.reqs.Wait()
	s.releaseHolds() // what the goroutines above did not release
	if errors.Is(err, link.ErrTimeout) {
		// A stalled link is news to an operator; a hang-up is not.
		s.log.Info("link dropped: the device fell silent", "err", err)
	}
	s.log.Debug("link ended", "err", err)
}

// send queues a frame for the device (dropped once the outbox has
// stopped). It never blocks, so callers may hold s.mu.
func (s *Session) send(f link.Frame) {
	s.cfg.Metrics.FrameOut(f.Type)
	s.out.send(f)
}

// handle handles one frame from the device.
func (s *Session) handle(f *link.Frame) error {
	switch f.Type {
	case link.FrameOpen:
		s.handleOpen(f)
	case link.FrameData:
		return s.handleData(f)
	case link.FrameCredit:
		return s.handleCredit(f)
	case link.FrameClose:
		s.handleClose(f)
	case link.FrameLog:
		return s.handleLog(f)
	case link.FrameControl:
		return s.handleControl(f)
	default:
		return protoErr("unexpected %v frame from the device", f.Type)
	}
	return nil
}

func (s *Session) handleControl(f *link.Frame) error {
	switch f.Kind {
	case link.ControlPing:
		s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlPong, Token: f.Token})
	case link.ControlPong:
		// The answer to the keep-alive's PING: receiving it was the point.
	case link.ControlError:
		return fmt.Errorf("session: device reported error: %s", f.Payload)
	case link.ControlSync:
		return s.handleSync(f)
	case link.ControlLogAck, link.ControlLogging, link.ControlDiag, link.ControlGoAway, link.ControlSynced:
		return protoErr("CONTROL kind %d is the cloud's to send", f.Kind)
	}
	return nil
}

// DeviceInfo describes a connected device.
type DeviceInfo struct {
	DeviceID string
	Channels []ChannelInfo // by handle
}

// ChannelInfo describes an open channel.
type ChannelInfo struct {
	Chan   uint32
	Type   uint8 // an MvChannelType
	RxSize uint32
	TxSize uint32
	// Waiting is, on an MQTT channel, how many incoming messages wait in
	// the cloud for room in the device's receive buffer (what the circuit
	// breaker watches); 0 on other channels.
	Waiting int
}

// Info describes the device and its open channels.
func (s *Session) Info() DeviceInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := DeviceInfo{DeviceID: s.DeviceID()}
	for _, ch := range s.chans {
		info.Channels = append(info.Channels, ChannelInfo{Chan: ch.id, Type: ch.typ, RxSize: ch.rxSize, TxSize: ch.txSize, Waiting: ch.mqttWaiting()})
	}
	slices.SortFunc(info.Channels, func(a, b ChannelInfo) int {
		switch {
		case a.Chan < b.Chan:
			return -1
		case a.Chan > b.Chan:
			return 1
		}
		return 0
	})
	return info
}

// AnnounceUpdate implements faults.Link: it sends CONTROL UPDATE.
func (s *Session) AnnounceUpdate(description string) {
	s.send(link.Frame{Type: link.FrameControl, Kind: link.ControlUpdate, Payload: []byte(description)})
}

// CloseChannel closes a channel from the cloud's side: the device gets CLOSE
// with reason, the channel's request is cancelled and the channel
// forgotten. It makes Session a faults.Link.
func (s *Session) CloseChannel(ch uint32, reason abi.ClosureReason) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chans[ch]
	if c == nil || s.ended {
		return fmt.Errorf("channel %#x: %w", ch, faults.ErrUnknownChannel)
	}
	s.closeChannelLocked(c, reason)
	return nil
}
