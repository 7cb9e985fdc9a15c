package firmware

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/emu"
	"github.com/mvnet/mvnet/emu/cpu"
	"github.com/mvnet/mvnet/emu/gdb"
	"github.com/mvnet/mvnet/emu/loader"
	"github.com/mvnet/mvnet/emu/stm32"
	"github.com/mvnet/mvnet/mem"
)

// ExitCrash is the exit status of a run that ended with a crash report (a
// fault the image does not handle): not a status mvTestingComplete gives
// a test that merely failed.
const ExitCrash = 70

// ExitKilled is the exit status after a debugger killed the run.
const ExitKilled = 137

// Options configure Run.
type Options struct {
	Image       string // the ELF file, or a raw binary with LoadAddress
	LoadAddress uint32 // where a raw binary goes; 0 for an ELF
	Realtime    bool   // pace to the wall clock; replies applied as they come
	// GDB, if set, is the address the GDB stub listens on; the image then
	// starts stopped at its reset handler until a debugger continues it.
	GDB string
	// OnGDB, if set, is told the stub's address once it listens.
	OnGDB func(addr string)

	// Getenv is the library's configuration (csdk/process: MVNET_TRACE,
	// MVNET_BUNDLE, MVNET_BOARD …). Default os.Getenv.
	Getenv func(string) string
	// Stdout receives the image's U(S)ART output, a line at a time;
	// Stderr the crash report and configuration errors.
	Stdout, Stderr io.Writer
	// Restart re-executes the emulator for mvRestart (process.Options).
	// Default: process.ExecSelf.
	Restart func(env []string) error
}

// exitStatus is the machine's Halt error for mvTestingComplete with a
// non-zero status.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("the image exited with status %d", int(e)) }

// ExitCode is the status (for a debugger's exit report).
func (e exitStatus) ExitCode() int { return int(e) }

// haltError is Halt's error for mvTestingComplete(code): nil for 0, so
// that the machine (and an attached debugger: "exited normally") sees a
// clean end.
func haltError(code int) error {
	if code == 0 {
		return nil
	}
	return exitStatus(code)
}

// Run loads the image and runs it until mvTestingComplete, a crash, a
// debugger's kill or ctx's end, and returns the exit status: the status
// mvTestingComplete gave, ExitCrash after a crash report (printed on
// Stderr), ExitKilled. An error is a failure to start (a bad image, a bad
// configuration) or ctx's end.
func Run(ctx context.Context, o Options) (int, error) {
	if o.Image == "" {
		return 0, errNoImage
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	r, err := build(o)
	if r != nil {
		defer r.p.Close()
	}
	if err != nil {
		return 0, err
	}
	return r.run(ctx)
}

// rig is one run's parts: the image, the process serving its system
// calls, the machine, and the queue between the kernel and the machine.
type rig struct {
	o   Options
	im  *loader.Image
	p   *process.Process
	m   *emu.Machine
	q   *queue
	out *lineWriter // the U(S)ARTs' output, a line at a time
}

// build loads the image into a firmware Arena and builds the process, the
// peripherals and the machine around it, reset and ready to run. A rig
// returned with an error still needs its process closed.
func build(o Options) (*rig, error) {
	im, err := load(o.Image, o.LoadAddress)
	if err != nil {
		return nil, err
	}
	arena, err := mem.NewArena(mem.FirmwareArenaConfig())
	if err != nil {
		return nil, err
	}
	flash, sram := arena.Raw()
	copy(flash.Data, im.Flash)
	copy(sram.Data, im.SRAM)

	r := &rig{o: o, im: im, q: newQueue()}
	r.out = &lineWriter{w: o.Stdout, line: func(name string, b []byte) { traceUART(r.p, name, b) }}
	// r.m is set below; the process and the peripherals call it only from
	// the machine's goroutine, or while the kernel has it parked.
	now := func() time.Duration {
		if r.m == nil {
			return 0 // the trace's start line, before the machine exists
		}
		return r.m.Now()
	}
	po := process.Options{
		ABI: abi.Device, Memory: arena,
		Pend:      func(irq uint32) { r.m.PendIRQ(irq) },
		Getenv:    o.Getenv,
		Exit:      func(code int) { r.out.flush(); r.m.Halt(haltError(code)) },
		Restart:   o.Restart,
		Stderr:    o.Stderr,
		Monotonic: now,
		Exec:      r.q.push,
	}
	if !o.Realtime {
		// Deterministic: handles follow the image, not chance (the log's
		// sequence numbers stay random: kernel.Options.Seed), and the
		// kernel's clock is the machine's virtual one, which the cloud
		// follows (kernel/virtual.go).
		seed := sha256.Sum256(im.Flash)
		po.Seed = &seed
		po.VirtualClock = true
		po.AfterFunc = r.afterFunc
	}
	if r.p, err = process.New(po); err != nil {
		return nil, err
	}
	gw, err := newGateways(r.p, func() { r.out.flush(); settleBeforeExit(r.q, r.p) })
	if err != nil {
		return r, err
	}
	soc, err := stm32.New(stm32.Options{
		Board:   r.p.Board(),
		PendIRQ: func(n uint32) { r.m.PendIRQ(n) },
		Now:     now,
		At:      func(t time.Duration, fn func()) { r.m.At(t, fn) },
		Out:     func(name string, b []byte) { r.out.Write(name, b) },
		Trace:   func(line string) { traceText(r.p, "stm32", line) },
	})
	if err != nil {
		return r, err
	}
	eo := emu.Options{
		Regions: []cpu.Region{
			{Base: uint32(flash.Base), Data: flash.Data, Exec: true},
			{Base: uint32(sram.Base), Data: sram.Data, Exec: true, Writable: true},
		},
		Peripherals: soc.Mappings(),
		Trap:        gw.trap,
		Realtime:    o.Realtime,
		Unhandled:   func(_ int, handler uint32) bool { return im.SpinsForever(handler) },
		Symbolize:   im.Symbolize,
		Paused:      o.GDB != "",
		SyncEvery:   syncEvery,
		Trace:       func(line string) { traceText(r.p, "emu", line) },
	}
	if !o.Realtime {
		eo.Settle = func(ctx context.Context, serve <-chan func()) error { return r.q.settle(ctx, serve, r.p) }
	}
	if o.GDB == "" {
		// NVIC_SystemReset (AIRCR.SYSRESETREQ) restarts the application
		// as mvRestart does — the kernel, its handles and channels go
		// with the old image — not the core alone. Under --gdb the
		// debugger's own resets come here too and must keep the session,
		// so there the reset stays the core's.
		eo.OnReset = func() {
			settleBeforeExit(r.q, r.p)
			r.p.SystemReset() // returns only if re-executing failed
			r.m.Halt(errors.New("NVIC_SystemReset: re-executing the application failed"))
		}
	}
	if r.m, err = emu.New(eo); err != nil {
		return r, err
	}
	guardProtected(arena, r.m) // protect.go
	if testHookMachine != nil {
		testHookMachine(r.m)
	}
	if testHookProcess != nil {
		testHookProcess(r.p)
	}
	gw.excReturn = r.m.ExceptionReturn
	r.q.setNudge(r.m.Exec)
	if err := r.m.Reset(); err != nil {
		return r, fmt.Errorf("firmware image: %w", err)
	}
	return r, nil
}

// run runs the machine (with the GDB stub if asked) and turns its end
// into the exit status.
func (r *rig) run(ctx context.Context) (int, error) {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if r.o.GDB != "" {
		stop, err := r.serveGDB(runCtx)
		if err != nil {
			return 0, err
		}
		defer stop(cancel)
	}
	err := r.m.Run(runCtx)
	r.q.detach() // the machine has stopped: this goroutine owns memory now
	r.out.flush()
	var st exitStatus
	var crash *emu.Crash
	switch {
	case err == nil: // Halt(nil): mvTestingComplete(0)
		return 0, nil
	case errors.As(err, &st):
		return int(st), nil
	case errors.As(err, &crash):
		fmt.Fprintf(r.o.Stderr, "\n%s\n", crash.Report())
		r.p.Exited(true, ExitCrash)
		return ExitCrash, nil
	case errors.Is(err, emu.ErrKilled):
		r.p.Exited(true, ExitKilled)
		return ExitKilled, nil
	}
	return 0, err
}

// serveGDB listens at Options.GDB and serves the stub until ctx ends. The
// function it returns waits, after the run, for the debugger to hear the
// end and detach (at most gdbGoodbye), then cancels the stub with cancel.
func (r *rig) serveGDB(ctx context.Context) (stop func(cancel func()), err error) {
	if err := CheckGDBAddress(r.o.GDB); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", r.o.GDB)
	if err != nil {
		return nil, fmt.Errorf("--gdb: %w", err)
	}
	if r.o.OnGDB != nil {
		r.o.OnGDB(ln.Addr().String())
	}
	fmt.Fprintf(r.o.Stderr, "mvnet: GDB stub at %s: the image waits at its reset handler (gdb-multiarch %s -ex 'target remote %s')\n",
		ln.Addr(), r.o.Image, ln.Addr())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gdb.Serve(ctx, ln, r.m.Debugger())
	}()
	return func(cancel func()) {
		select {
		case <-served:
		case <-time.After(gdbGoodbye):
		}
		cancel()
		ln.Close()
	}, nil
}

// afterFunc is the kernel's virtual timer (kernel.Options.AfterFunc): at
// virtual now+d, on the machine goroutine, f runs and then a sync point
// (emu.Machine.SyncPoint: settle, as after a system call — Halt ends its
// wait, and a debugger's requests are served meanwhile). The kernel calls
// it on the machine goroutine or with the machine parked (its Exec).
func (r *rig) afterFunc(d time.Duration, f func()) {
	if r.q.isDetached() {
		return // the machine has stopped: no virtual time any more
	}
	r.m.At(r.m.Now()+d, func() {
		f()
		r.m.SyncPoint()
	})
}

// syncEvery adds a deterministic sync point every 10 ms of virtual time
// (emu.Options.SyncEvery): an image that neither sleeps nor makes system
// calls still gets the input nobody asked for, and the kernel's link
// reader, waiting for the image to park, is not held for longer.
const syncEvery = 10 * time.Millisecond

// testHookMachine, set by benchmarks, gets the machine Run built (to read
// its instruction count after the run).
var testHookMachine func(*emu.Machine)

// testHookProcess, set by tests, gets the process Run built (to read its
// kernel's figures after the run).
var testHookProcess func(*process.Process)

// gdbGoodbye is how long an attached debugger has, after the run ended,
// to hear the end and detach.
const gdbGoodbye = 5 * time.Second

// exitSettle bounds the wait for the cloud's answers before the image
// exits or restarts (the library's own bound for logged lines).
const exitSettle = 5 * time.Second

// settleBeforeExit applies the kernel's pending deliveries before
// mvTestingComplete, mvRestart or NVIC_SystemReset ends the process, and
// the echo of every line logged (at most exitSettle: a line the cloud
// dropped never comes back): the library then waits for the cloud to
// acknowledge the lines logged, which it can only see
// once the kernel has applied the acknowledgements (in realtime mode too,
// where nothing else waits for them).
func settleBeforeExit(q *queue, p *process.Process) {
	ctx, cancel := context.WithTimeout(context.Background(), exitSettle)
	defer cancel()
	_ = q.settleFor(ctx, nil, p, true)
}

// traceUART records a line a USART transmitted in the trace, as the host
// SDK's UART model does: {"kind":"uart","op":"transmit","instance":name,
// "len":n,"data":line} — the transcript shows it.
func traceUART(p *process.Process, name string, line []byte) {
	inst, _ := json.Marshal(name)
	data, _ := json.Marshal(string(line))
	p.TraceEvent("uart", fmt.Sprintf(`"op":"transmit","instance":%s,"len":%d,"data":%s`, inst, len(line), data))
}

// traceText records a line of the emulator's own (a peripheral model's)
// in the trace as {"kind":kind,"text":line}.
func traceText(p *process.Process, kind, line string) {
	b, _ := json.Marshal(line)
	p.TraceEvent(kind, `"text":`+string(b))
}

// lineWriter passes the image's U(S)ART output on a line at a time: the
// trace shares the application's stdout pipe (internal/runner), and a
// trace line must not land inside a half-written application line.
type lineWriter struct {
	w    io.Writer
	line func(name string, b []byte) // each line as it goes out: the trace
	name string                      // the USART of buf
	buf  []byte
}

// Write takes what USART name transmitted.
func (l *lineWriter) Write(name string, b []byte) {
	if name != l.name {
		l.flush() // a line is one USART's
		l.name = name
	}
	for _, c := range b {
		l.buf = append(l.buf, c)
		if c == '\n' || len(l.buf) >= maxLine {
			l.flush()
		}
	}
}

// maxLine bounds a line held back: longer output goes out in pieces.
const maxLine = 4096

func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		if l.line != nil {
			l.line(l.name, l.buf)
		}
		_, _ = l.w.Write(l.buf)
		l.buf = l.buf[:0]
	}
}
