// Package gdbtest runs a real debugger (gdb-multiarch) in batch mode against
// a GDB remote stub, for tests of the stub and end-to-end tests of firmware
// debugging. When gdb-multiarch is not installed the test is skipped, or
// fails under CI=true (internal/testenv/tool).
package gdbtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// Options describe one gdb session.
type Options struct {
	// Addr is the stub's host:port.
	Addr string
	// ELF, if set, is the program gdb loads symbols from (file ELF), so
	// commands can name functions and variables ("break main", "bt").
	ELF string
	// Arch is given to "set architecture" when there is no ELF to take it
	// from; default armv8-m.main (Cortex-M33); "auto" lets gdb take it
	// from the stub's target description.
	Arch string
	// Commands run in order after "target remote Addr".
	Commands []string
	// Timeout bounds the whole session so a hung stub fails the test
	// instead of hanging it; default 2 minutes (generous for a loaded
	// machine: gdb normally needs well under a second).
	Timeout time.Duration
}

// Result is what gdb printed and how it exited.
type Result struct {
	Output string // stdout and stderr, interleaved as written
	Err    error  // gdb's exit status (batch mode: non-zero when the last command failed)
}

// Run runs gdb-multiarch -batch -nx with o's commands to the end and
// returns its output. It does not fail the test for gdb's exit status:
// callers assert on Output (and Err when they mean the last command to
// succeed).
func Run(t testing.TB, o Options) Result {
	t.Helper()
	return Start(t, o).Wait()
}

// Session is a gdb-multiarch running in the background.
type Session struct {
	t       testing.TB
	cmd     *exec.Cmd
	out     *syncBuffer
	cancel  context.CancelFunc
	ctx     context.Context
	timeout time.Duration
	done    chan struct{}
	err     error
}

// Start starts gdb-multiarch with o's commands and returns at once, for a
// test that must act while gdb runs (Interrupt, as a user's ^C).
func Start(t testing.TB, o Options) *Session {
	t.Helper()
	gdb := tool.Require(t, "gdb-multiarch")
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	s := &Session{t: t, out: &syncBuffer{}, cancel: cancel, ctx: ctx, timeout: timeout, done: make(chan struct{})}
	s.cmd = exec.CommandContext(ctx, gdb, args(o)...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("starting gdb-multiarch: %v", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// Output returns what gdb has printed so far.
func (s *Session) Output() string { return s.out.String() }

// Interrupt sends gdb SIGINT, as typing ^C does: gdb asks the stub to stop
// the running target.
func (s *Session) Interrupt() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.t.Fatalf("interrupting gdb: %v", err)
	}
}

// Wait waits for gdb to finish its commands and exit.
func (s *Session) Wait() Result {
	s.t.Helper()
	<-s.done
	if s.ctx.Err() == context.DeadlineExceeded {
		s.t.Fatalf("gdb-multiarch did not finish within %v; output:\n%s", s.timeout, s.Output())
	}
	return Result{Output: s.Output(), Err: s.err}
}

// args renders o as gdb's command line.
func args(o Options) []string {
	a := []string{"-batch", "-nx",
		"-ex", "set pagination off",
		"-ex", "set width 0",
		"-ex", "set confirm off",
		// A loaded CI machine may be slow to answer; gdb's default is 2s.
		"-ex", "set remotetimeout 60",
	}
	if o.ELF != "" {
		a = append(a, "-ex", "file "+o.ELF)
	} else {
		arch := o.Arch
		if arch == "" {
			arch = "armv8-m.main"
		}
		a = append(a, "-ex", "set architecture "+arch)
	}
	a = append(a, "-ex", "target remote "+o.Addr)
	for _, c := range o.Commands {
		a = append(a, "-ex", c)
	}
	return a
}

// syncBuffer collects gdb's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
