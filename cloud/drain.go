package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mvnet/mvnet/cloud/session"
)

// Draining: a node being stopped asks its devices to move before it closes
// their links (link/doc.go, "Going away"). Drain stops accepting links,
// tells each device GOAWAY — DrainRate a second, so that the nodes taking
// the devices over are not stampeded by TLS handshakes — and waits for
// the devices to leave; Shutdown then closes whatever is left.

// DefaultDrainRate is Options.DrainRate's default: links told to go away
// per second. 10,000 devices leave in 20 s, and the nodes taking them over
// handshake 500 links a second between them.
const DefaultDrainRate = 500

// minDrainTick is the shortest pause between two batches of GOAWAYs: at a
// high DrainRate, several links are told per batch.
const minDrainTick = 10 * time.Millisecond

// drainReason is the text of the GOAWAYs Drain sends.
const drainReason = "draining"

// ErrDraining refuses a new link (Dial, ServeConn, HELLO) while the
// server drains.
var ErrDraining = errors.New("cloud: server draining: connect to another node")

// drainState is the Server's draining state; its fields are guarded by
// Server.mu, except rate (set by New) and told (a test hook, set before
// Drain).
type drainState struct {
	rate    int                // Options.DrainRate
	on      bool               // Drain was called
	empty   chan struct{}      // closed once no session is left, after on
	emptied bool               // empty is closed
	told    func(n, later int) // test hook: a batch of n GOAWAYs went out, later sessions wait for WELCOME
}

// Drain stops the server accepting links — it closes the listeners (Serve
// returns ErrShutdown), and Dial, ServeConn and a HELLO on a link being
// handshaken are refused (ErrDraining) — then tells every connected
// device to go away (CONTROL GOAWAY), Options.DrainRate a second, and
// waits until every link has ended or ctx is done. A device redials at
// once and its dial moves on to another node. Shutdown after Drain closes
// the links left. Drain may be called more than once: every call waits.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.shutdown:
		s.mu.Unlock()
		return ErrShutdown
	case !s.started:
		s.mu.Unlock()
		return ErrNotStarted
	}
	if !s.drain.on {
		s.drain.on = true
		s.drain.empty = make(chan struct{})
		for ln := range s.lns {
			_ = ln.Close() // Serve returns ErrShutdown
		}
		sessions := make([]*session.Session, 0, len(s.byID))
		for _, sess := range s.byID {
			sessions = append(sessions, sess)
		}
		s.log.Info("cloud draining", "devices", len(sessions), "rate", s.drain.rate)
		s.conns.Add(1) // Shutdown waits for goAway
		go s.goAway(sessions)
		s.drainedLocked()
	}
	empty := s.drain.empty
	s.mu.Unlock()
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		n := len(s.all)
		s.mu.Unlock()
		return fmt.Errorf("cloud: drain: links still up: %d: %w", n, ctx.Err())
	}
}

// Draining reports whether Drain has been called: the server accepts no
// new link (a readiness check fails on it).
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drain.on
}

// drainedLocked closes drain.empty once the server drains and no session
// is left; serveConn calls it as each session ends.
func (s *Server) drainedLocked() {
	if s.drain.on && !s.drain.emptied && len(s.all) == 0 {
		s.drain.emptied = true
		close(s.drain.empty)
	}
}

// goAway tells sessions GOAWAY at the drain rate: a batch per tick.
func (s *Server) goAway(sessions []*session.Session) {
	defer s.conns.Done()
	tick, batch := drainPace(s.drain.rate)
	t := time.NewTicker(tick)
	defer t.Stop()
	for len(sessions) > 0 {
		n := 0
		var later []*session.Session
		for n < batch && len(sessions) > 0 {
			sess := sessions[0]
			sessions = sessions[1:]
			switch {
			case sess.Closing():
				// Gone already: not worth a slot.
			case sess.GoAway(drainReason):
				n++
			default:
				// Admitted before Drain began, but WELCOME is not out
				// yet: the next tick.
				later = append(later, sess)
			}
		}
		sessions = append(sessions, later...)
		if (n > 0 || len(later) > 0) && s.drain.told != nil {
			s.drain.told(n, len(later))
		}
		if len(sessions) == 0 {
			return
		}
		select {
		case <-t.C:
		case <-s.ctx.Done(): // Shutdown closes the rest
			return
		}
	}
}

// drainPace turns a rate (links a second) into a pause between batches
// and a batch size: one link per 1/rate, or as many per minDrainTick.
func drainPace(rate int) (tick time.Duration, batch int) {
	tick = max(time.Second/time.Duration(rate), minDrainTick)
	batch = int((int64(rate)*int64(tick) + int64(time.Second) - 1) / int64(time.Second))
	return tick, max(batch, 1)
}
