// Package process is the Go half of libmvnet, mvnet's host C SDK: the
// process-wide state behind the C functions of mv_syscalls.h.
//
// A C application calls mvOpenChannel and friends; libmvnet's C shim (csdk/lib,
// generated from abi.Calls by ShimC) forwards every call by its number — its
// index in abi.Calls — with the address of its arguments as 64-bit words
// (pointers and handles as host addresses) to Process.CallArgs. On the
// first call the process reads its configuration from the environment
// (config.go), starts an embedded cloud with its store (store.go: config
// values, secrets and server logs in NATS JetStream, in the process) and a
// kernel over the process's own memory (mem.Host, decoded with the host ABI
// cgo reports) and dials the cloud in-process, so that ./app just works.
//
// Calls the kernel implements go to it. The header's other calls are
// answered here (emulated.go): clocks with fixed STM32U585 frequencies,
// mvSystemLedEnable, mvTestingComplete (exits), mvRestart (re-executes the
// application), mvGetWakeReason. Everything else — hardware calls with no
// host meaning — returns MV_STATUS_UNAVAILABLE and says so in the trace.
//
// Interrupts are the library's C half: the kernel's InterruptController is
// Options.Pend, which counts the pend in C and wakes the interrupt thread.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/mem"
)

// Options are what the library's C half gives the process.
type Options struct {
	// ABI is the host ABI, from cgo (csdk/internal/hostabi). Required.
	ABI *abi.ABI
	// Memory is the application's memory. Default mem.NewHost().
	Memory mem.Memory
	// Pend pends an IRQ in the interrupt controller. It is called with the
	// kernel's lock held and must not block or call back into the process.
	// Required.
	Pend func(irq uint32)
	// SetTrace tells the interrupt controller whether to report deliveries
	// (IRQDelivered) for the trace. Optional.
	SetTrace func(on bool)
	// Getenv reads the configuration. Default os.Getenv.
	Getenv func(string) string
	// Exit ends the process (mvTestingComplete, bad configuration). The
	// library passes C's exit so that stdio buffers are flushed. Default
	// os.Exit.
	Exit func(code int)
	// Restart re-executes the application with env (mvRestart,
	// NVIC_SystemReset); it returns only on failure. Default: flush
	// nothing, then syscall.Exec of /proc/self/exe with os.Args.
	Restart func(env []string) error
	// Stderr receives configuration errors. Default os.Stderr.
	Stderr io.Writer

	// For the firmware emulator (emu/firmware), which runs the process
	// over an Arena with abi.Device:
	//
	// Monotonic, if set, is the clock of mvGetMicroseconds, notification
	// stamps and the trace's "t" (the emulator's virtual time). Default:
	// the time since New.
	Monotonic func() time.Duration
	// Exec and Seed are the kernel's (kernel.Options): the goroutine that
	// owns application memory, and the seed of handles. Default nil.
	Exec func(fn func())
	Seed *[32]byte
	// VirtualClock and AfterFunc are the kernel's too: Monotonic is a
	// virtual clock (deterministic mode), and AfterFunc sets its timers.
	VirtualClock bool
	AfterFunc    func(d time.Duration, f func())
}

// Process is the application's Microvisor: configuration, trace, and — from
// the first system call on — the embedded cloud and the kernel.
type Process struct {
	o     Options
	cfg   Config
	log   *slog.Logger
	trace *tracer // nil when not tracing
	boot  time.Time
	calls []entry

	startOnce sync.Once
	started   atomic.Bool
	startErr  error
	k         *kernel.Kernel
	srv       *cloud.Server
	store     atomic.Pointer[cloudStore] // the embedded cloud's (store.go)

	led atomic.Bool

	sigs chan os.Signal // UpdateSignal's, when EnvUpdateSignal is set
}

// New reads the configuration and opens the trace; the cloud and kernel
// start at the first Call. A bad environment variable is a *ConfigError.
func New(o Options) (*Process, error) {
	if o.ABI == nil {
		return nil, errors.New("process: Options.ABI is required")
	}
	if o.Pend == nil {
		return nil, errors.New("process: Options.Pend is required")
	}
	if o.Memory == nil {
		o.Memory = newGuardedHost()
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Exit == nil {
		o.Exit = os.Exit
	}
	if o.Restart == nil {
		o.Restart = ExecSelf
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	cfg, err := ConfigFromEnv(o.Getenv)
	if err != nil {
		return nil, err
	}
	lg, _, err := cfg.logger()
	if err != nil {
		return nil, err
	}
	p := &Process{o: o, cfg: cfg, log: lg, boot: time.Now()}
	if o.Monotonic != nil && cfg.boardClock != nil {
		cfg.boardClock.virtual.Store(&o.Monotonic)
	}
	if cfg.TracePath != "" {
		t, err := openTrace(cfg.TracePath, cfg.Restarts > 0, cfg.TraceMax, p)
		if err != nil {
			return nil, &ConfigError{Var: EnvTrace, Value: cfg.TracePath, Err: err}
		}
		p.trace = t
	}
	if p.cfg.DeviceID == "" {
		p.cfg.DeviceID = kernel.NewDeviceID()
	}
	p.calls = buildTable()
	p.countServerLog()
	if cfg.UpdateSignal {
		p.watchUpdateSignal()
	}
	// The trace's first line: the library has started (and, with
	// EnvUpdateSignal, handles SIGUSR1). mvnet run waits for it.
	p.trace.start(p)
	if o.SetTrace != nil {
		o.SetTrace(p.trace != nil)
	}
	return p, nil
}

var (
	globalMu sync.Mutex
	global   atomic.Pointer[Process]
)

// Running returns the process-wide Process if Global has created it, else
// nil; it never creates one.
func Running() *Process { return global.Load() }

// Global returns the process-wide Process, creating it with opts() on first
// use. A bad configuration is reported on stderr, naming the variable, and
// the process exits with status 2.
func Global(opts func() Options) *Process {
	if p := global.Load(); p != nil {
		return p
	}
	globalMu.Lock()
	defer globalMu.Unlock()
	if p := global.Load(); p != nil {
		return p
	}
	o := opts()
	p, err := New(o)
	if err != nil {
		w, exit := o.Stderr, o.Exit
		if w == nil {
			w = os.Stderr
		}
		if exit == nil {
			exit = os.Exit
		}
		fmt.Fprintf(w, "%v\n", err)
		exit(2)
		panic("process: exit returned")
	}
	global.Store(p)
	return p
}

// monotonic is the time since the process's kernel booted, the clock of
// mvGetMicroseconds, notification stamps and the trace.
func (p *Process) monotonic() time.Duration {
	if p.o.Monotonic != nil {
		return p.o.Monotonic()
	}
	return time.Since(p.boot)
}

// StartedKernel returns the kernel if a system call has started it, else
// nil; it never starts one.
func (p *Process) StartedKernel() *kernel.Kernel {
	if !p.started.Load() || p.startErr != nil {
		return nil
	}
	return p.k
}

// DeviceID is the device's ID.
func (p *Process) DeviceID() string { return p.cfg.DeviceID }

// Kernel starts the cloud and the kernel if they are not running yet and
// returns the kernel.
func (p *Process) Kernel() (*kernel.Kernel, error) {
	p.startOnce.Do(func() {
		p.startErr = p.start()
		p.started.Store(true)
	})
	return p.k, p.startErr
}

func (p *Process) start() error {
	if p.cfg.Bundle != nil {
		return p.startJoined()
	}
	cs, err := p.openStore()
	if err != nil {
		return err
	}
	srv, err := cloud.New(cloud.Options{
		HTTP: httpexec.Options{
			AllowPrefixes: p.cfg.Allow,
			Resolve:       p.cfg.Resolve,
			RootCAs:       p.cfg.RootCAs,
		},
		MQTT:   cloud.MQTTOptions{Plaintext: p.cfg.MQTTPlaintext},
		Config: cs,
		Logs:   cs,
		Logger: p.log.With("side", "cloud"),
	})
	if err != nil {
		cs.close()
		return fmt.Errorf("mvnet: embedded cloud: %w", err)
	}
	if err := srv.Start(context.Background()); err != nil {
		cs.close()
		return fmt.Errorf("mvnet: embedded cloud: %w", err)
	}
	p.store.Store(cs)
	k, err := p.newKernel(srv.Dial)
	if err != nil {
		_ = srv.Shutdown(context.Background())
		p.store.Store(nil)
		cs.close()
		return err
	}
	p.srv, p.k = srv, k
	return nil
}

// startJoined starts the kernel as the device of MVNET_BUNDLE, linked to
// that running cloud over TLS; there is no embedded cloud (p.srv is nil).
func (p *Process) startJoined() error {
	dial, err := p.cfg.Bundle.Dial()
	if err != nil {
		return fmt.Errorf("mvnet: %s: %w", EnvBundle, err)
	}
	p.log.Info("joining a running cloud", "cloud", p.cfg.Bundle.CloudAddress, "device", p.cfg.DeviceID)
	k, err := p.newKernel(dial)
	if err != nil {
		return err
	}
	p.k = k
	return nil
}

func (p *Process) newKernel(dial func(context.Context) (net.Conn, error)) (*kernel.Kernel, error) {
	k, err := kernel.New(kernel.Options{
		Memory:    p.o.Memory,
		ABI:       p.o.ABI,
		IRQ:       irqController{p},
		DeviceID:  p.cfg.DeviceID,
		Dial:      dial,
		Monotonic: p.monotonic,
		Exec:      p.o.Exec,
		Seed:      p.o.Seed,
		// kernel/virtual.go: the emulator's deterministic mode.
		VirtualClock: p.o.VirtualClock,
		AfterFunc:    p.o.AfterFunc,
		Logger:       p.log.With("side", "kernel"),
		OnEvent:      p.linkEvent,
		// mvnet run's transcript shows link errors from the trace; one
		// the trace does not get is logged by linkEvent.
		HostShowsLinkErrors: p.transcriptShowsLinkErrors(),
	})
	if err != nil {
		return nil, fmt.Errorf("mvnet: kernel: %w", err)
	}
	if err := k.Start(); err != nil {
		return nil, fmt.Errorf("mvnet: kernel: %w", err)
	}
	return k, nil
}

// transcriptShowsLinkErrors: a transcript (EnvTranscript) reads the link
// errors from the trace, which is open.
func (p *Process) transcriptShowsLinkErrors() bool {
	return p.cfg.Transcript && p.trace != nil
}

// linkEvent is the kernel's OnEvent: the event goes into the trace. A link
// error the kernel left to the transcript (logged at debug level) that the
// trace did not take — past MVNET_TRACE_MAX, or a failed write — is logged
// as a warning here, so that it does not vanish.
func (p *Process) linkEvent(e kernel.Event) {
	if !p.trace.linkEvent(e) && e.Kind == kernel.EventLinkError && p.transcriptShowsLinkErrors() {
		p.log.Warn("link error", "device", p.cfg.DeviceID, "err", e.Text, "side", "kernel")
	}
}

// UpdateSignal makes the embedded cloud announce a downloaded application
// update (UPDATEDOWNLOADED on UPDATE system notification streams): mvnet
// performs no real over-the-air updates, so `kill -USR1 <pid>` (or `mvnet
// run --update-after`) stands in for one. Only with MVNET_UPDATE_SIGNAL=1
// (EnvUpdateSignal), so that an application's own SIGUSR1 handling is left
// alone otherwise; then it is handled from the library's start (the trace's
// start line) on.
const UpdateSignal = syscall.SIGUSR1

// announceWait is how long an update signal waits for the link to the cloud
// to come up.
const announceWait = 5 * time.Second

func (p *Process) watchUpdateSignal() {
	p.sigs = make(chan os.Signal, 1)
	signal.Notify(p.sigs, UpdateSignal)
	go func(ch <-chan os.Signal) {
		for range ch {
			p.announceUpdate()
		}
	}(p.sigs)
}

// announceUpdate announces an update to the device, waiting a little for
// the link if it is not up yet. Before the kernel runs there is no UPDATE
// stream to tell and no link: the signal is only logged.
func (p *Process) announceUpdate() {
	if !p.started.Load() {
		p.log.Warn("update signal: the application has made no system call that starts mvnet's kernel yet; no update announced")
		return
	}
	if p.startErr != nil {
		return
	}
	if p.srv == nil {
		p.log.Warn("update signal: the application is joined to a running cloud (" + EnvBundle + "); the embedded cloud that announces updates is not running")
		return
	}
	deadline := time.Now().Add(announceWait)
	for {
		err := p.srv.Faults().AnnounceUpdate(p.k.DeviceID(), "announced by SIGUSR1")
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			p.log.Warn("update signal: the link is down, no update announced", "err", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Exited records the application's exit (from main or by exit()) in the
// trace, with its exit status if known. The library's exit hook calls it;
// after mvTestingComplete, which writes its own, it writes nothing.
func (p *Process) Exited(known bool, status int) {
	p.finishStore()
	if known {
		p.trace.exit(status & 0xff)
	} else {
		p.trace.exit(-1)
	}
}

// Close stops the kernel and the cloud (tests; an application just exits).
func (p *Process) Close() error {
	if p.sigs != nil {
		signal.Stop(p.sigs)
		close(p.sigs)
		p.sigs = nil
	}
	if p.k != nil {
		_ = p.k.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = p.k.Wait(ctx)
		if p.srv != nil {
			_ = p.srv.Shutdown(ctx)
		}
	}
	if cs := p.store.Load(); cs != nil {
		cs.close()
	}
	p.trace.close()
	return nil
}

// irqController is the kernel's InterruptController: it traces the record
// and pends the IRQ in the library's C controller.
type irqController struct{ p *Process }

func (c irqController) Pend(irq uint32) {
	c.p.trace.pend(irq)
	c.p.o.Pend(irq)
}

// IRQDelivered is called by the interrupt thread as it enters a handler
// (when tracing) or finds none (always): the trace records the delivery,
// and an IRQ without a handler is logged once.
func (p *Process) IRQDelivered(irq uint32, handled bool, vector string) {
	p.trace.interrupt(irq, handled, vector)
	if !handled {
		p.warnUnhandled(irq, vector)
	}
}

// TraceEvent records an event of the HAL stand-in (GPIO, UART …): kind and
// JSON object members without braces, e.g. `"op":"write","pin":5`.
func (p *Process) TraceEvent(kind, fields string) { p.trace.event(kind, fields) }

var unhandledWarned sync.Map

func (p *Process) warnUnhandled(irq uint32, vector string) {
	if _, seen := unhandledWarned.LoadOrStore(irq, true); !seen {
		p.log.Warn("unhandled IRQ: the application defines no handler for it; pends are dropped", "irq", irq, "handler", vector)
	}
}
