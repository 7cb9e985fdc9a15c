// Package kernel is mvnet's device-side kernel: Microvisor's networking
// system calls with their exact statuses, limits and notification behaviour.
//
// The kernel never holds an application pointer as a Go pointer: every
// argument is an address in application memory (mem.Addr) reached through a
// mem.Memory, and structures are decoded with an abi.ABI (the device's 32-bit
// layout for the emulated Arena, the host layout for the C SDK). Each system
// call is a method with one small handler per family (sys_*.go) and a row in
// the syscall table (table.go). Handlers decode and check their arguments in
// the order spec/abi.md gives, and only then change state.
//
// Nothing is sized by an application's length or count before it is
// bounded: a length is checked against application memory and the
// channel's ring (or a spec limit) first, and an array over its limit is
// not followed. FuzzSyscalls holds the kernel to this — random calls,
// arguments and Arena contents, no panic and at most 64 MiB allocated per
// input:
//
//	go test ./kernel -run '^$' -fuzz FuzzSyscalls -fuzztime 5m
//
// Networking goes through one link to the cloud (package link). The kernel
// dials it itself: before the application first requests a network,
// Microvisor owns the link (reason NEVERUSEDNETWORKAPI); afterwards the link
// stays up while any network handle is held. Losing the link posts
// CHANNELNOTCONNECTED to every open channel; a link that falls silent is
// dropped by the keep-alive (Options.PingInterval, IdleTimeout) and
// redialled. What the application cannot see through the ABI — link
// errors and the cloud's diagnostic reasons — goes to Options.OnEvent
// (events.go).
//
// Under the firmware emulator the kernel runs beside an emulated CPU
// (Options.Exec, exec.go), and in deterministic mode on its virtual clock
// (Options.VirtualClock, virtual.go): HELLO tells the cloud, which then
// times what it does for the device on the device's time; at the
// emulator's sync points the kernel sends CONTROL SYNC when it has sent
// something (or the cloud's next deadline has come) and the emulator
// holds its time until SYNCED is applied, so every answer lands at the
// same instruction on every run; a dial holds it until its outcome is
// applied, and the waits before a redial are virtual timers.
package kernel

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// InterruptController receives the kernel's interrupt requests. Pend is
// called once per notification record written, with the kernel's lock held:
// it must not block and must not call back into the kernel synchronously
// (queue the interrupt and run the handler elsewhere).
type InterruptController interface {
	Pend(irq uint32)
}

// Options configure a Kernel.
type Options struct {
	// Memory is the application's memory. Required.
	Memory mem.Memory
	// ABI decodes structures in Memory. Default abi.Device.
	ABI *abi.ABI
	// IRQ receives interrupt requests. Required.
	IRQ InterruptController
	// DeviceID is the 34-character device ID ("UV" + 32 hex digits).
	// Default: a random one.
	DeviceID string
	// Dial opens a link to the cloud. Nil means there is no cloud: the
	// network never comes up.
	Dial func(ctx context.Context) (net.Conn, error)
	// Monotonic returns the time since boot. Default: a real monotonic clock
	// started by New. Tests inject their own.
	Monotonic func() time.Duration
	// ReconnectDelay is the first delay before redialling a lost link; it
	// doubles up to MaxReconnectDelay, and each wait is drawn at random
	// between half the delay and all of it (linkmgr.go). After the cloud
	// said GOAWAY the wait is below ReconnectDelay. Defaults 20 ms and 2 s.
	ReconnectDelay    time.Duration
	MaxReconnectDelay time.Duration
	// PingInterval and IdleTimeout are the link's keep-alive
	// (link.Conn.KeepAlive): the kernel sends PING after PingInterval
	// without hearing from the cloud, and after IdleTimeout of silence
	// drops the link and redials (server log lines stay buffered and are
	// sent again). Defaults link.DefaultPingInterval and
	// link.DefaultIdleTimeout.
	PingInterval time.Duration
	IdleTimeout  time.Duration
	// OnEvent, if set, is told what the application cannot see through
	// the ABI: link errors and the cloud's diagnostic reasons (events.go).
	// It is called from the kernel's link goroutines without the kernel's
	// lock; it must not block for long.
	OnEvent func(Event)
	// HostShowsLinkErrors says OnEvent shows link errors to the user
	// (mvnet run's transcript does): the kernel then logs them at debug
	// level instead of warning, so they are not printed twice.
	HostShowsLinkErrors bool
	// HandshakeTimeout bounds HELLO → WELCOME. Default 10 s.
	HandshakeTimeout time.Duration
	// NoOpenRateLimit lifts Microvisor's limit of 8 channel opens per
	// second. Only for benchmarks and load tests; an application that
	// relies on it will be rate limited on a real device.
	NoOpenRateLimit bool
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
	// Exec, if set, runs fn on the goroutine that owns application memory
	// (the firmware emulator's machine, between instructions); it must not
	// block. Every change the kernel makes to application memory or its
	// IRQs outside a system call — and every OnEvent — then happens while
	// a function given to Exec holds that goroutine (exec.go). Nil: they
	// happen at once on the kernel's goroutines, as for host memory.
	Exec func(fn func())
	// VirtualClock says Monotonic is a virtual clock that advances only
	// as the application runs (the firmware emulator in deterministic
	// mode): HELLO says so, the host makes sync points with Dialing and
	// Sync, and the waits before a redial are AfterFunc's timers
	// (virtual.go; link/doc.go, "Virtual time"). Requires AfterFunc.
	VirtualClock bool
	// AfterFunc, with VirtualClock, sets a timer on the host's virtual
	// clock: the host calls f on the application's goroutine when
	// Monotonic reaches its value at the call plus d, and then makes a
	// sync point there (Dialing, Sync). It is called on the
	// application's goroutine or with the application parked (Exec),
	// sometimes with the kernel's lock held: it must not block or call
	// back into the kernel. There is no way to stop a timer: the kernel
	// ignores those it no longer needs.
	AfterFunc func(d time.Duration, f func())
	// Seed, if set, seeds the kernel's handles, so that two runs of the
	// same application draw the same (the emulator's deterministic mode).
	// Nil: random. It seeds the redial backoff too (with the device ID).
	// The server log's first sequence number is random
	// whatever the seed: the cloud deduplicates lines on (device, seq), so
	// a boot that numbered its lines like an earlier one would have them
	// dropped as resends (link/doc.go, "Server logs"); no transcript shows
	// the number.
	Seed *[32]byte
}

// Kernel is one device's kernel. Its methods are the system calls; they are
// safe to call from several goroutines.
type Kernel struct {
	mem  mem.Memory
	kmem mem.Memory    // privileged view: ignores write protection
	prot mem.Protector // nil if Memory cannot protect
	abi  *abi.ABI
	irq  InterruptController
	id   string
	dial func(ctx context.Context) (net.Conn, error)
	mono func() time.Duration
	log  *slog.Logger
	opts Options
	rng  *mrand.Rand // Options.Seed's source, nil for math/rand's; guarded by mu after New

	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{} // nudges the link manager
	done   chan struct{} // closed when the link manager exits

	mu         sync.Mutex
	copyBuf    [512]byte                      // copyWithin's bounce buffer (a local one escapes to the heap through mem.Memory)
	noteBuf    [notificationSize]byte         // postLocked's record, for the same reason
	hdrBuf     [maxHTTPHeaders]abi.HTTPHeader // SendHTTPRequest's header array, for the same reason
	started    bool                           // Start has run the link manager
	closed     bool
	handles    map[uint32]struct{} // every live handle of any kind
	centres    map[uint32]*centre
	nets       map[uint32]*network
	chans      map[uint32]*channel
	streams    map[uint32]*sysStream // system notification streams
	updated    bool                  // the cloud has announced a downloaded update
	neverUsed  bool                  // no mvRequestNetwork yet
	conn       *link.Conn            // the current link, nil while down
	timeSet    bool                  // the cloud has sent the time
	wallAtSync uint64                // µs since the epoch at sync
	monoAtSync time.Duration
	opens      [maxOpensPerSecond]time.Duration // ring of recent open times
	opensN     int
	scratch    []byte // reusable encode buffer, guarded by mu
	logs       logState
	vsync      syncState // Options.VirtualClock (virtual.go)
	// The link manager's state for Dialing (virtual.go). Both fields
	// change only on the application's goroutine or with it parked
	// (enter), so that Dialing follows the image, not the link manager's
	// progress.
	backoffArmed bool          // a redial waits for its timer
	dialAtUS     uint64        // virtual µs when the next dial became due: its HELLO's now_us
	redialGen    uint64        // the current redial timer's number
	redial       chan struct{} // a virtual redial timer fired
	// logSeqStart is the first server log line's sequence number, random
	// at boot — never from Options.Seed (see there).
	logSeqStart uint64
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("kernel: closed")

// ErrStarted is returned by a second Start.
var ErrStarted = errors.New("kernel: already started")

// New validates o and returns a kernel that has not yet booted; call Start.
func New(o Options) (*Kernel, error) {
	if o.Memory == nil {
		return nil, errors.New("kernel: Options.Memory is required")
	}
	if o.IRQ == nil {
		return nil, errors.New("kernel: Options.IRQ is required")
	}
	if o.ABI == nil {
		o.ABI = abi.Device
	}
	if o.DeviceID == "" {
		o.DeviceID = NewDeviceID()
	} else if err := ValidateDeviceID(o.DeviceID); err != nil {
		return nil, err
	}
	if o.Monotonic == nil {
		boot := time.Now()
		o.Monotonic = func() time.Duration { return time.Since(boot) }
	}
	if o.ReconnectDelay <= 0 {
		o.ReconnectDelay = 20 * time.Millisecond
	}
	if o.MaxReconnectDelay < o.ReconnectDelay {
		o.MaxReconnectDelay = max(2*time.Second, o.ReconnectDelay)
	}
	if o.VirtualClock && o.AfterFunc == nil {
		return nil, errors.New("kernel: Options.VirtualClock needs Options.AfterFunc (the virtual clock's timers)")
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rng := seededRand(o.Seed)
	k := &Kernel{
		mem:         o.Memory,
		kmem:        o.Memory,
		abi:         o.ABI,
		irq:         o.IRQ,
		id:          o.DeviceID,
		dial:        o.Dial,
		mono:        o.Monotonic,
		log:         o.Logger,
		opts:        o,
		wake:        make(chan struct{}, 1),
		redial:      make(chan struct{}, 1),
		done:        make(chan struct{}),
		handles:     make(map[uint32]struct{}),
		centres:     make(map[uint32]*centre),
		nets:        make(map[uint32]*network),
		chans:       make(map[uint32]*channel),
		streams:     make(map[uint32]*sysStream),
		neverUsed:   true,
		rng:         rng,
		logSeqStart: drawUint64(nil),
	}
	if p, ok := o.Memory.(mem.Protector); ok {
		k.prot = p
		k.kmem = p.Privileged()
	}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	return k, nil
}

// Start boots the kernel: Microvisor brings the link up for its own use
// until the application takes over networking.
func (k *Kernel) Start() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return ErrClosed
	}
	// One link manager per kernel: a second would race for the link and
	// close k.done twice.
	if k.started {
		return ErrStarted
	}
	k.started = true
	// virtual.go: the first dial is due now (Microvisor's own link).
	k.dialAtUS = k.micros()
	go k.linkManager()
	return nil
}

// Close shuts the kernel down: the link is closed and no further
// notifications are posted. It is idempotent.
func (k *Kernel) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	if k.conn != nil {
		k.conn.Close()
	}
	if !k.started {
		// No link manager will ever close done: Wait must not block.
		close(k.done)
	}
	k.mu.Unlock()
	k.cancel()
	k.nudge()
	return nil
}

// Wait blocks until the kernel's background work has stopped after Close,
// or ctx ends.
func (k *Kernel) Wait(ctx context.Context) error {
	select {
	case <-k.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DeviceID returns the device's ID.
func (k *Kernel) DeviceID() string { return k.id }

// ABI returns the layout the kernel decodes structures with.
func (k *Kernel) ABI() *abi.ABI { return k.abi }

// LinkUp reports whether the link to the cloud is up.
func (k *Kernel) LinkUp() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conn != nil
}

// UpdatePending reports whether the cloud has announced a downloaded
// application update (UPDATEDOWNLOADED): a restart now applies it.
func (k *Kernel) UpdatePending() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.updated
}

func (k *Kernel) nudge() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// NewDeviceID returns a random device ID: "UV" and 32 lower-case hex digits.
func NewDeviceID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "UV" + hex.EncodeToString(b[:])
}

// ValidateDeviceID checks the form of a device ID (spec/abi.md: 34 bytes,
// "UV" + 32 hex digits).
func ValidateDeviceID(id string) error {
	if len(id) != deviceIDLen {
		return fmt.Errorf("device ID %q: want %d characters (UV + 32 hex digits), got %d", id, deviceIDLen, len(id))
	}
	if !strings.HasPrefix(id, "UV") {
		return fmt.Errorf("device ID %q: must start with UV", id)
	}
	if _, err := hex.DecodeString(id[2:]); err != nil {
		return fmt.Errorf("device ID %q: characters after UV must be hex digits", id)
	}
	return nil
}

// newHandleLocked returns a random non-zero handle not in use by any live
// resource (spec/abi.md: handles are never zero and unique while live).
func (k *Kernel) newHandleLocked() uint32 {
	for {
		h := drawUint32(k.rng)
		if h == 0 {
			continue
		}
		if _, used := k.handles[h]; used {
			continue
		}
		k.handles[h] = struct{}{}
		return h
	}
}

func (k *Kernel) freeHandleLocked(h uint32) { delete(k.handles, h) }

func (k *Kernel) micros() uint64 { return uint64(k.mono() / time.Microsecond) }
