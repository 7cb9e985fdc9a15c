package gdb

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Option configures Serve.
type Option func(*config)

type config struct {
	logf func(format string, args ...any)
}

// WithLog makes Serve log every packet in both directions and each
// connection's start and end through logf (for --gdb debugging of the
// stub itself). By default nothing is logged.
func WithLog(logf func(format string, args ...any)) Option {
	return func(c *config) { c.logf = logf }
}

// Serve accepts debugger connections on ln and debugs t through them, one
// connection at a time: a connection that arrives while a debugger is
// attached is refused (closed at once, which gdb reports as "Remote
// connection closed"); one that arrives once the attached debugger has
// detached ('D'), killed or dropped its connection waits for that session to
// wind up and is then served. When a debugger detaches or its connection is
// lost, the target runs on its own until the next debugger attaches.
//
// Serve returns nil once a debugger has killed the target ('k') or the
// target has exited and its debugger has gone; ctx.Err() when ctx ends
// (a Continue in progress is interrupted first); or the listener's error.
// Serve closes ln before it returns.
func Serve(ctx context.Context, ln net.Listener, t Target, opts ...Option) error {
	cfg := config{logf: func(string, ...any) {}}
	for _, o := range opts {
		o(&cfg)
	}
	defer ln.Close()
	stopAccept := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopAccept()

	var state atomic.Int32 // connIdle, connBusy or connEnding
	conns := make(chan net.Conn)
	acceptErr := make(chan error, 1)
	taken := make(chan struct{}, 1) // the serving loop has marked the slot busy
	returned := make(chan struct{}) // the accept loop must not outlive Serve
	defer close(returned)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				acceptErr <- err
				return
			}
			if state.Load() == connBusy {
				cfg.logf("gdb: refused a second debugger from %s: one is attached", c.RemoteAddr())
				c.Close()
				continue
			}
			select {
			case conns <- c:
			case <-returned:
				c.Close()
				return
			}
			// Accept the next only once the slot is marked busy, so it is
			// refused rather than queued behind this one.
			select {
			case <-taken:
			case <-returned:
				return
			}
		}
	}()

	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-acceptErr:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case c := <-conns:
			state.Store(connBusy)
			taken <- struct{}{}
			cfg.logf("gdb: debugger connected from %s", c.RemoteAddr())
			end := serveConn(ctx, c, t, cfg, func() { state.Store(connEnding) })
			cfg.logf("gdb: debugger from %s gone", c.RemoteAddr())
			state.Store(connIdle)
			if end == endTargetGone {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
}

// States of Serve's one debugger slot.
const (
	connIdle   = iota // no debugger: the next connection is served
	connBusy          // a debugger is attached: another is refused
	connEnding        // the attached one is leaving: the next waits for it
)

// sessionEnd says how a debugger connection ended.
type sessionEnd uint8

const (
	endDetached   sessionEnd = iota // 'D' or connection lost: the target runs on
	endTargetGone                   // killed, or exited: nothing left to debug
)

// session is one debugger connection.
type session struct {
	ctx context.Context
	t   Target
	w   *wire
	cfg config

	last    Stop                    // the latest stop, for '?'
	breaks  map[uint32]uint8        // breakpoint address -> bit per BreakKind inserted there
	watches map[watchpoint]struct{} // inserted watchpoints
	end     sessionEnd
	over    bool   // the serving loop must stop after this packet
	ending  func() // called once the session has decided to end (idempotent)

	// mu guards the interrupt handshake between the reading goroutine and
	// the serving goroutine.
	mu               sync.Mutex
	resumePending    bool               // a resume packet is on its way or being served
	interruptPending bool               // ^C arrived after that resume packet but before Continue began
	cancel           context.CancelFunc // cancels the Continue in progress
	gone             bool               // the connection has ended
}

type watchpoint struct {
	kind    WatchKind
	addr, n uint32
}

func serveConn(ctx context.Context, c net.Conn, t Target, cfg config, ending func()) sessionEnd {
	s := &session{
		ending:  ending,
		ctx:     ctx,
		t:       t,
		w:       newWire(c, cfg.logf),
		cfg:     cfg,
		breaks:  map[uint32]uint8{},
		watches: map[watchpoint]struct{}{},
	}
	stopClose := context.AfterFunc(ctx, func() { c.Close() })
	defer stopClose()
	s.last = t.Attach()
	if s.last.Kind == StopExited {
		s.end = endTargetGone
	}
	go s.w.read(s)
	for in := range s.w.packets {
		reply, ok := s.handle(in.payload)
		if ok {
			if err := s.w.send([]byte(reply)); err != nil {
				cfg.logf("gdb: %v", err)
				break
			}
		}
		if s.over {
			break
		}
	}
	ending()
	c.Close()
	close(s.w.quit)
	<-s.w.done
	if s.end != endTargetGone {
		s.releaseAll()
		t.Detach()
	}
	return s.end
}

// releaseAll removes every breakpoint and watchpoint this debugger set, so
// the target runs on without them.
func (s *session) releaseAll() {
	for addr := range s.breaks {
		if err := s.t.ClearBreakpoint(addr); err != nil {
			s.cfg.logf("gdb: clearing breakpoint %#x: %v", addr, err)
		}
	}
	for w := range s.watches {
		if err := s.t.ClearWatchpoint(w.kind, w.addr, w.n); err != nil {
			s.cfg.logf("gdb: clearing watchpoint %#x: %v", w.addr, err)
		}
	}
	clear(s.breaks)
	clear(s.watches)
}

// interrupt, resumed and lost are the reading goroutine's events.

func (s *session) interrupt() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.cancel != nil:
		s.cancel()
	case s.resumePending:
		s.interruptPending = true
	}
	// Otherwise the target is stopped and gdb has (or is about to receive)
	// a stop reply: nothing to interrupt.
}

func (s *session) resumed([]byte) {
	s.mu.Lock()
	s.resumePending = true
	s.mu.Unlock()
}

func (s *session) lost() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gone = true
	s.ending()
	if s.cancel != nil {
		s.cancel()
	}
}

// errGone is returned by resume when the debugger went away before it.
var errGone = errors.New("gdb: connection lost")

// resume steps or continues the target and records the stop.
func (s *session) resume(step bool) (Stop, error) {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return Stop{}, errGone
	}
	var st Stop
	if step {
		s.mu.Unlock()
		st = s.t.Step()
		s.mu.Lock()
	} else if s.interruptPending {
		st = Stop{Kind: StopInterrupted}
	} else {
		cctx, cancel := context.WithCancel(s.ctx)
		s.cancel = cancel
		s.mu.Unlock()
		st = s.t.Continue(cctx)
		s.mu.Lock()
		s.cancel = nil
		cancel()
	}
	s.resumePending = false
	s.interruptPending = false
	s.mu.Unlock()
	s.last = st
	if st.Kind == StopExited {
		s.end = endTargetGone
	}
	return st, nil
}

// isResume reports whether a packet resumes the target (c, C, s, S, vCont
// with an action).
func isResume(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	switch p[0] {
	case 'c', 'C', 's', 'S':
		return true
	}
	return len(p) > 6 && string(p[:6]) == "vCont;"
}
