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
//   - says so in HELLO (flag link.HelloVirtualClock, now_us: the instant
//     the dial became due);
//   - dates what it sends: before a frame other than PING, PONG or SYNC,
//     when its virtual time has moved since the last SYNC it sent (or
//     since HELLO), it sends CONTROL SYNC seq now_us, so that the cloud
//     handles the frame at the device's instant; it does not wait for
//     that SYNC's SYNCED here;
//   - at the host's sync points (Sync) sends CONTROL SYNC seq now_us when
//     it has sent a frame other than PING or PONG since the last SYNC (or
//     since the link came up), or when virtual time has reached the last
//     SYNCED's next_us, and has the host wait for the SYNCED of the latest
//     SYNC sent; otherwise there is nothing to sync and a tight loop of
//     system calls costs no round trip;
//   - applies SYNCED like every other frame from the cloud, through
//     Options.Exec, so everything the cloud sent before it is applied
//     first; every SYNCED updates next_us (one answering an older SYNC
//     does not end the wait for the latest), and the kernel asks the host
//     for a timer at it (Options.AfterFunc), where the host makes a sync
//     point;
//   - waits before a redial on the host's timers (Options.AfterFunc), not
//     the wall clock, and shows the host a dial due or in progress
//     (Dialing), so that the host holds virtual time until the dial's
//     outcome is applied: the link up, or the failure recorded with the
//     next dial's timer already set. The number of failed dials, and the
//     instant the link comes up, are then the same on every run.
//
// The kernel reads the machine's clock (Options.Monotonic) only on the
// application's goroutine — system calls, the host's sync points and
// timers — or with the application parked (enter): then the clock stands
// still and the park orders the read after the machine's last step, so a
// frame sent from the link manager's goroutine (a CREDIT while applying a
// frame, a log line resent on a new link) is dated at the instant the
// machine parked. The link manager never reads it otherwise: HELLO
// carries dialAtUS, captured when the dial became due.
//
// The host's sync point, after a system call or at one of its timers:
// run the Exec queue; while Dialing, keep running it; then while Sync
// reports a SYNC outstanding, keep running it (until SYNCED is applied or
// the link is lost). The image runs on while the link is down.

// syncState is the kernel's side of virtual time, guarded by k.mu.
type syncState struct {
	seq     uint64 // the last SYNC's number
	acked   uint64 // the last SYNC answered (SYNCED) on the current link
	dirty   bool   // a frame other than PING/PONG sent since the last SYNC
	sentUS  uint64 // now_us of the last SYNC (or of the link's HELLO)
	nextUS  uint64 // the last SYNCED's next_us; link.NoDeadline: none
	timerUS uint64 // the instant of the last sync timer asked for
}

// linkUp starts a new link's sync state: HELLO was sent with now_us
// helloUS, so the cloud's clock is there, and the first sync point syncs;
// the old link's SYNCs and next_us are forgotten.
func (s *syncState) linkUp(helloUS uint64) {
	s.acked, s.dirty, s.sentUS, s.nextUS = s.seq, true, helloUS, link.NoDeadline
}

// sendLocked queues a frame on c (never blocks; a failed link is noticed by
// its reader). On a virtual clock a frame that is not PING or PONG is
// dated first: SYNC when time moved since the last SYNC (virtual.go).
func (k *Kernel) sendLocked(c *link.Conn, f *link.Frame) {
	if c == nil {
		return
	}
	if k.opts.VirtualClock && !keepAlive(f) {
		if now := k.micros(); c == k.conn && now != k.vsync.sentUS {
			k.sendSyncLocked(now)
		}
		k.vsync.dirty = true
	}
	if err := c.Send(f); err != nil {
		k.log.Debug("link: send failed", "err", err)
	}
}

// sendSyncLocked sends CONTROL SYNC at now_us now on the current link.
func (k *Kernel) sendSyncLocked(now uint64) {
	s := &k.vsync
	s.seq++
	s.dirty, s.sentUS = false, now
	if err := k.conn.Send(&link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: s.seq, NowUS: now}); err != nil {
		k.log.Debug("link: send failed", "err", err)
	}
}

// Sync is a sync point of a kernel on a virtual clock (Options
// .VirtualClock), called on the application's goroutine with the Exec
// queue run. It reports whether the host must wait, running the Exec
// queue, and call Sync again: a CONTROL SYNC sent on the link is not
// answered yet (sent now, or earlier). It sends SYNC if the kernel has
// sent a frame other than PING or PONG since the last SYNC, or virtual
// time has reached the last SYNCED's next_us. It reports false when there
// is nothing to wait for: the link is down (or lost while waiting), every
// SYNC is answered, or the clock is not virtual.
func (k *Kernel) Sync() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.opts.VirtualClock || k.closed || k.conn == nil {
		return false
	}
	s := &k.vsync
	now := k.micros()
	due := s.nextUS != link.NoDeadline && now >= s.nextUS && now > s.sentUS
	if s.dirty || due {
		k.sendSyncLocked(now)
	}
	return s.acked < s.seq
}

// SyncsSent is the number of CONTROL SYNC frames the kernel has sent
// since boot (its hosts' statistics and tests).
func (k *Kernel) SyncsSent() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.vsync.seq
}

// syncedLocked applies CONTROL SYNCED from the current link: the SYNCs up
// to its seq are answered, and the host is asked for a sync point at
// next_us.
func (k *Kernel) syncedLocked(f *link.Frame) error {
	s := &k.vsync
	if f.Seq <= s.acked || f.Seq > s.seq {
		return fmt.Errorf("CONTROL SYNCED %d answers no SYNC", f.Seq)
	}
	s.acked = f.Seq
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
// set). A host on a virtual clock holds its time while Dialing. It is
// computed from state that changes only on the application's goroutine
// or with it parked — the link, the network handles, the redial timer —
// never from how far the link manager's goroutine has got: a network
// requested right after the last handle's release took the link down is
// a dial due at once, though the link manager may still be winding the
// old link up.
func (k *Kernel) Dialing() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.started && k.conn == nil && !k.backoffArmed && k.wantLinkLocked()
}

// dialDueLocked notes, on the application's goroutine, that someone may
// now want the link (mvRequestNetwork): if a dial is due (Dialing) its
// HELLO carries this instant.
func (k *Kernel) dialDueLocked() {
	if k.conn == nil && !k.backoffArmed && k.wantLinkLocked() {
		k.dialAtUS = k.micros()
	}
}

// redialAfter starts the wait of d before the next dial (goAway: the
// short wait after a GOAWAY) and returns the function that waits, false
// if the kernel closed. The caller has parked the application: the
// redial is armed (no dial is due, Dialing is false) until the wait ends.
// On a virtual clock the wait is a host timer (Options.AfterFunc), set
// now at Monotonic()+d; when it fires, on the application's goroutine,
// the dial is due (Dialing, HELLO dated then) and the link manager dials
// if the link is still wanted. Otherwise it is a wall-clock timer.
func (k *Kernel) redialAfter(d time.Duration, goAway bool) (wait func() bool) {
	if h := backoffHook.Load(); h != nil && h.drawn != nil {
		h.drawn(k.id, d, goAway)
	}
	k.mu.Lock()
	k.backoffArmed = true
	k.redialGen++
	gen := k.redialGen
	k.mu.Unlock()
	disarm := func() {
		k.mu.Lock()
		if gen == k.redialGen {
			k.backoffArmed = false
		}
		k.mu.Unlock()
	}
	if !k.opts.VirtualClock {
		return func() bool {
			defer disarm()
			t := time.NewTimer(d)
			defer t.Stop()
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
			k.backoffArmed = false
			k.dialAtUS = k.micros()
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

// LogsInFlight reports whether server log lines were sent on the link
// that is up and not yet acknowledged (while the cloud has logging on):
// a host about to end the application waits for their LOGACK.
func (k *Kernel) LogsInFlight() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conn != nil && k.logs.sent > 0 && !k.logs.disabled
}
