// Package device is mvnet's Go API for a Microvisor device: an emulated
// 32-bit application memory (mem.Arena), an interrupt controller (NVIC) and
// the kernel, with typed calls that mirror the system calls.
//
// Every call marshals its arguments into the Arena in the device ABI, calls
// the kernel with their addresses and decodes the results, so Go programs
// and tests exercise exactly the path a device application takes. Helpers
// allocate aligned buffers and wait for notifications.
//
//	srv, _ := cloud.New(cloud.Options{})
//	_ = srv.Start(ctx)
//	d, _ := device.New(device.Options{Dial: srv.Dial})
//	defer d.Close()
//	resp, err := d.HTTP(ctx, device.HTTPRequest{Method: "GET", URL: "https://example.com/", TimeoutMS: 10000})
package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// Options configure a Device.
type Options struct {
	// DeviceID; default a random "UV…" ID.
	DeviceID string
	// Dial opens the link to the cloud (e.g. (*cloud.Server).Dial). Nil:
	// no cloud, the network never comes up.
	Dial func(ctx context.Context) (net.Conn, error)
	// Arena sizes the application memory; zero values take the defaults.
	Arena mem.ArenaConfig
	// Trace, if set, receives every system call and notification.
	Trace func(TraceEvent)
	// Kernel tuning passed through (see kernel.Options).
	Monotonic         func() time.Duration
	ReconnectDelay    time.Duration
	MaxReconnectDelay time.Duration
	PingInterval      time.Duration // link keep-alive; default 15 s
	IdleTimeout       time.Duration // drop a silent link; default 45 s
	NoOpenRateLimit   bool          // benchmarks and load tests only
	Logger            *slog.Logger
}

// TraceEvent is one line of a device transcript.
type TraceEvent struct {
	// Kind is "syscall", "notification", or what the application cannot
	// see through the ABI (kernel.Event): "link-error" (Text: why the link
	// to the cloud could not be established or was lost; once, then on
	// change), "link-up" (after a link error), "diagnostic" (Channel,
	// Text: the cloud's reason for failing the channel's request).
	Kind   string
	Call   string // system call name
	Args   string
	Status abi.Status
	Result string // outputs, e.g. "handle=0x1234"
	// For notifications:
	Centre       uint32
	Notification abi.Notification
	// For link errors and diagnostics:
	Channel uint32
	Text    string
}

// Device is an emulated Microvisor device.
type Device struct {
	Arena  *mem.Arena
	NVIC   *NVIC
	Kernel *kernel.Kernel
	ABI    *abi.ABI

	trace func(TraceEvent)

	linkMu  sync.Mutex
	linkErr string // the last link error; "" while the link is up

	scratchMu  sync.Mutex
	scratchBuf mem.Addr
	scratch    scratch // the one scratch allocator, reused under scratchMu

	closeOnce sync.Once
	closeErr  error
}

const scratchSize = 16 << 10

// New creates the device's memory, interrupt controller and kernel, and
// boots the kernel.
func New(o Options) (*Device, error) {
	arena, err := mem.NewArena(o.Arena)
	if err != nil {
		return nil, fmt.Errorf("device memory: %w", err)
	}
	d := &Device{Arena: arena, NVIC: newNVIC(), ABI: abi.Device, trace: o.Trace}
	d.scratchBuf, err = arena.Alloc(scratchSize, 16)
	if err != nil {
		d.NVIC.close()
		return nil, fmt.Errorf("device memory: %w", err)
	}
	k, err := kernel.New(kernel.Options{
		Memory: arena, ABI: abi.Device, IRQ: d.NVIC, DeviceID: o.DeviceID, Dial: o.Dial,
		Monotonic: o.Monotonic, ReconnectDelay: o.ReconnectDelay, MaxReconnectDelay: o.MaxReconnectDelay,
		PingInterval: o.PingInterval, IdleTimeout: o.IdleTimeout,
		NoOpenRateLimit: o.NoOpenRateLimit, Logger: o.Logger, OnEvent: d.onEvent,
	})
	if err != nil {
		d.NVIC.close()
		return nil, err
	}
	d.Kernel = k
	if err := k.Start(); err != nil {
		d.NVIC.close()
		return nil, err
	}
	return d, nil
}

// Close shuts the kernel and the interrupt controller down. It is
// idempotent.
func (d *Device) Close() error {
	d.closeOnce.Do(func() {
		d.closeErr = d.Kernel.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Kernel.Wait(ctx)
		d.NVIC.close()
	})
	return d.closeErr
}

// ID returns the device ID.
func (d *Device) ID() string { return d.Kernel.DeviceID() }

// onEvent is the kernel's OnEvent: it keeps the link error and traces.
func (d *Device) onEvent(e kernel.Event) {
	switch e.Kind {
	case kernel.EventLinkError:
		d.linkMu.Lock()
		d.linkErr = e.Text
		d.linkMu.Unlock()
	case kernel.EventLinkUp:
		d.linkMu.Lock()
		d.linkErr = ""
		d.linkMu.Unlock()
	}
	if d.trace != nil {
		d.trace(TraceEvent{Kind: e.Kind.String(), Channel: e.Channel, Text: e.Text})
	}
}

// LinkError returns why the link to the cloud could not be established or
// was lost, or "" while it is up or before any error ("cannot reach the
// cloud: …", "link lost: …").
func (d *Device) LinkError() string {
	d.linkMu.Lock()
	defer d.linkMu.Unlock()
	return d.linkErr
}

// ChannelDiagnostic returns the cloud's reason for failing channel ch's
// request or MQTT connection (link/doc.go, "Diagnostics"), e.g. "connection
// refused by 127.0.0.1:8443"; "" if there is none or ch is not open. The
// application ABI has no room for it: an application sees only the result,
// such as MV_HTTPRESULT_REQUESTFAILED.
func (d *Device) ChannelDiagnostic(ch *Channel) string {
	r, _ := d.Kernel.ChannelDiagnostic(ch.Handle)
	return r
}

// Alloc returns size bytes of zeroed application memory aligned to align
// (for channel buffers: 512).
func (d *Device) Alloc(size, align uint64) (mem.Addr, error) { return d.Arena.Alloc(size, align) }

// Free returns memory from Alloc.
func (d *Device) Free(p mem.Addr) error { return d.Arena.Free(p) }

// scratch hands out application memory for one call's arguments.
type scratch struct {
	d     *Device
	off   uint64
	extra []mem.Addr
	host  []byte // hostBytes's buffer
}

var errScratch = errors.New("device: out of application memory for call arguments")

func (s *scratch) alloc(n uint64) mem.Addr {
	n = (n + 15) &^ 15
	if s.off+n <= scratchSize {
		p := s.d.scratchBuf + mem.Addr(s.off)
		s.off += n
		_ = s.d.Arena.Zero(p, n)
		return p
	}
	p, err := s.d.Arena.Alloc(n, 16)
	if err != nil {
		panic(errScratch)
	}
	s.extra = append(s.extra, p)
	return p
}

// hostBytes returns a Go buffer of n bytes for copying a call's output out
// of application memory, valid until the call returns: the device's one,
// reused under scratchMu (grown when needed, not kept beyond
// maxHostScratch).
func (s *scratch) hostBytes(n int) []byte {
	if n > maxHostScratch {
		return make([]byte, n)
	}
	if cap(s.host) < n {
		s.host = make([]byte, n)
	}
	return s.host[:n]
}

// maxHostScratch bounds the output buffer a device keeps between calls.
const maxHostScratch = 4 << 10

// bytes places b in scratch memory.
func (s *scratch) bytes(b []byte) mem.Addr {
	if len(b) == 0 {
		return 0
	}
	p := s.alloc(uint64(len(b)))
	if err := s.d.Arena.Store(p, b); err != nil {
		panic(err)
	}
	return p
}

func (s *scratch) str(v string) abi.SizedString {
	return abi.SizedString{Data: s.bytes([]byte(v)), Length: uint32(len(v))}
}

// with runs f with a scratch allocator, serialising device API calls'
// argument memory.
func (d *Device) with(f func(s *scratch) abi.Status) (st abi.Status, err error) {
	d.scratchMu.Lock()
	// One scratch per device, reset per call: calls are serialised by
	// scratchMu, and a fresh one per call would escape to the heap.
	s := &d.scratch
	s.d, s.off = d, 0
	defer func() {
		for _, p := range s.extra {
			_ = d.Arena.Free(p)
		}
		s.extra = s.extra[:0]
		d.scratchMu.Unlock()
		if r := recover(); r != nil {
			if e, ok := r.(error); ok && errors.Is(e, errScratch) {
				err = e
				return
			}
			panic(r)
		}
	}()
	return f(s), nil
}

// call runs one system call and traces it.
// result, if not nil, describes the call's outputs for the trace; it is
// called only when tracing and the call succeeded. args, if not nil,
// describes the call's arguments; it is called only when tracing, so that
// an untraced call formats (and allocates) nothing.
func (d *Device) call(name string, f func() abi.Status, result, args func() string) abi.Status {
	st := f()
	if d.trace != nil {
		e := TraceEvent{Kind: "syscall", Call: name, Status: st}
		if args != nil {
			e.Args = args()
		}
		if result != nil && st == abi.StatusOkay {
			e.Result = result()
		}
		d.trace(e)
	}
	return st
}

func (d *Device) traceNotification(c *Centre, n abi.Notification) {
	if d.trace != nil {
		d.trace(TraceEvent{Kind: "notification", Centre: c.Handle, Notification: n})
	}
}
