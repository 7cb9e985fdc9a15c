package kernel

import (
	"fmt"
	"math"
	"time"

	"github.com/mvnet/mvnet/link"
)

// A virtual clock (Options.VirtualClock; link/doc.go, "Virtual time").
//
// Under the firmware emulator in deterministic mode the kernel's
// Monotonic is the machine's virtual time, which advances only as the
// image runs, and the cloud times what it does for the device on a clock
// of its own that follows the device's. The kernel then:
//
//   - says so in HELLO (flag link.HelloVirtualClock, now_us = Monotonic);
//   - at the host's sync points (Sync) sends CONTROL SYNC seq now_us when
//     it has sent a frame other than PING or PONG since the last SYNC (or
//     since the link came up), or when virtual time has reached the last
//     SYNCED's next_us; otherwise there is nothing to sync and a tight
//     loop of system calls costs no round trip;
//   - applies SYNCED like every other frame from the cloud, through
//     Options.Exec, so everything the cloud sent before it is applied
//     first; it keeps next_us and asks the host for a timer at it
//     (Options.AfterFunc), where the host makes a sync point;
//   - waits before a redial on the host's timers (Options.AfterFunc), not
//     the wall clock, and shows the host a dial in progress (Dialing),
//     so that the host holds virtual time until the dial's outcome is
//     applied: the link up, or the failure recorded with the next dial's
//     timer already set. The number of failed dials, and the instant the
//     link comes up, are then the same on every run.
//
// The host's sync point, after a system call or at one of its timers:
// run the Exec queue; while Dialing, keep running it; then while Sync
// reports a SYNC outstanding, keep running it (until SYNCED is applied or
// the link is lost). The image runs on while the link is down.

// syncState is the kernel's side of virtual time, guarded by k.mu.
type syncState struct {
	seq     uint64     // the last SYNC's number
	on      *link.Conn // the link of an outstanding SYNC; nil: none
	dirty   bool       // a frame other than PING/PONG sent since the last SYNC
	sentUS  uint64     // now_us of the last SYNC
	nextUS  uint64     // the last SYNCED's next_us; link.NoDeadline: none
	timerUS uint64     // the instant of the last sync timer asked for
}

// linkUp starts a new link's sync state: HELLO was sent, so the first
// sync point syncs, and the old link's next_us is forgotten.
func (s *syncState) linkUp() {
	s.on, s.dirty, s.nextUS = nil, true, link.NoDeadline
}

// sent notes a frame sent to the cloud.
func (s *syncState) sent(f *link.Frame) {
	if !keepAlive(f) {
		s.dirty = true
	}
}

// Sync is a sync point of a kernel on a virtual clock (Options
// .VirtualClock), called on the application's goroutine with the Exec
// queue run. It reports whether the host must wait, running the Exec
// queue, and call Sync again: a CONTROL SYNC is outstanding on the link
// (sent now, or earlier and not yet answered). It sends SYNC if none is
// outstanding and the kernel has sent a frame other than PING or PONG
// since the last SYNC, or virtual time has reached the last SYNCED's
// next_us. It reports false when there is nothing to wait for: the link is
// down (or lost while waiting), nothing needs syncing, or the clock is not
// virtual.
func (k *Kernel) Sync() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.opts.VirtualClock || k.closed || k.conn == nil {
		return false
	}
	s := &k.vsync
	if s.on == k.conn {
		return true
	}
	now := k.micros()
	due := s.nextUS != link.NoDeadline && now >= s.nextUS && now > s.sentUS
	if !s.dirty && !due {
		return false
	}
	s.seq++
	s.on, s.dirty, s.sentUS = k.conn, false, now
	// Not sendLocked: a SYNC is not what a SYNC reports.
	if err := k.conn.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: s.seq, NowUS: now}); err != nil {
		k.log.Debug("link: send failed", "err", err)
	}
	return true
}

// SyncsSent is the number of CONTROL SYNC frames the kernel has sent
// since boot (its hosts' statistics and tests).
func (k *Kernel) SyncsSent() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.vsync.seq
}

// syncedLocked applies CONTROL SYNCED from link c: the outstanding SYNC is
// answered, and the host is asked for a sync point at next_us.
func (k *Kernel) syncedLocked(c *link.Conn, f *link.Frame) error {
	s := &k.vsync
	if s.on != c || f.Seq != s.seq {
		return fmt.Errorf("CONTROL SYNCED %d answers no SYNC", f.Seq)
	}
	s.on = nil
	s.nextUS = f.NextUS
	if f.NextUS != link.NoDeadline && f.NextUS != s.timerUS {
		s.timerUS = f.NextUS
		k.opts.AfterFunc(untilMicros(k.micros(), f.NextUS), func() {})
	}
	return nil
}

// untilMicros is the time from now to at, both in µs since boot: 0 if at
// has passed, and bounded so that a far next_us does not overflow.
func untilMicros(now, at uint64) time.Duration {
	if at <= now {
		return 0
	}
	return time.Duration(min(at-now, math.MaxInt64/uint64(time.Microsecond))) * time.Microsecond
}

// Dialing reports whether the kernel is about to dial the cloud, or
// dialling, and the outcome has not been applied yet (through Options
// .Exec: the link up, or the failure recorded and the next dial's timer
// set). A host on a virtual clock holds its time while Dialing.
func (k *Kernel) Dialing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dialPending && k.conn == nil && k.wantLinkLocked()
}

// startDialLocked marks a dial due when someone now wants the link and
// the link manager is not waiting before a redial: it dials at once
// (from its idle wait, or from its way back from a link the kernel took
// down), and the host holds its virtual time for the outcome (Dialing)
// from the call that wanted the link.
func (k *Kernel) startDialLocked() {
	if !k.backingOff && k.conn == nil && k.wantLinkLocked() {
		k.dialPending = true
	}
}

// endDial marks the dial's outcome applied (after a failure: the next
// dial's timer is set).
func (k *Kernel) endDial() {
	k.mu.Lock()
	k.dialPending = false
	k.mu.Unlock()
}

// redialAfter starts the wait of d before the next dial (goAway: the
// short wait after a GOAWAY) and returns the function that waits, false
// if the kernel closed. On a virtual clock the wait is a host timer
// (Options.AfterFunc), set now — the caller has parked the application —
// at Monotonic()+d; when it fires the dial is due (Dialing) and the link
// manager dials. Otherwise it is a wall-clock timer.
func (k *Kernel) redialAfter(d time.Duration, goAway bool) (wait func() bool) {
	if h := backoffHook.Load(); h != nil && h.drawn != nil {
		h.drawn(k.id, d, goAway)
	}
	k.mu.Lock()
	k.backingOff = true
	k.redialGen++
	gen := k.redialGen
	k.mu.Unlock()
	if !k.opts.VirtualClock {
		return func() bool {
			t := time.NewTimer(d)
			defer t.Stop()
			defer k.endBackoff()
			select {
			case <-t.C:
				return true
			case <-k.ctx.Done():
				return false
			}
		}
	}
	if k.ctx.Err() != nil {
		return func() bool { return false }
	}
	k.opts.AfterFunc(d, func() {
		k.mu.Lock()
		current := gen == k.redialGen
		if current {
			k.backingOff = false
			k.dialPending = true
		}
		k.mu.Unlock()
		if current {
			select {
			case k.redial <- struct{}{}:
			default:
			}
		}
	})
	return func() bool {
		select {
		case <-k.redial:
			return true
		case <-k.ctx.Done():
			return false
		}
	}
}

// endBackoff ends a wall-clock wait before a redial.
func (k *Kernel) endBackoff() {
	k.mu.Lock()
	k.backingOff = false
	k.mu.Unlock()
}

// LogsInFlight reports whether server log lines were sent on the link
// that is up and not yet acknowledged (while the cloud has logging on):
// a host about to end the application waits for their LOGACK.
func (k *Kernel) LogsInFlight() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conn != nil && k.logs.sent > 0 && !k.logs.disabled
}
