package session

import (
	"context"
	"sync"
	"time"

	"github.com/mvnet/mvnet/internal/vclock"
	"github.com/mvnet/mvnet/link"
)

// outbox sends the session's frames in order, each no earlier than the
// latency in force when it was queued (faults.Injector.SetLatency). Without
// latency and with nothing queued, a frame goes straight to the link, which
// never blocks. The goroutine that sends delayed frames (run) starts with
// the first one: a session without latency has none (a cloud holds many
// idle sessions).
//
// On a device's virtual clock (setClock) there is no goroutine: each
// delayed frame sets a timer on the clock at its due time, whose callback
// (run as the device's time reaches it, virtual.go) sends what is due, in
// order. sendNow sends past the delayed frames (CONTROL SYNCED: they are
// still in flight at the device's time).
type outbox struct {
	conn    *link.Conn
	latency func() time.Duration
	wake    chan struct{} // capacity 1: something was queued or stop called
	done    chan struct{} // closed when run returns (or by stop, if it never started)

	mu      sync.Mutex
	q       []queued      // q[0] is sent first; it stays queued until sent
	empty   chan struct{} // closed when q becomes empty; nil while it is
	stopped bool
	running bool            // run has started
	vc      *vclock.Virtual // the device's virtual clock, or nil: wall time
}

type queued struct {
	f     link.Frame
	due   time.Time
	stop  func() bool // the frame's timer on vc, if it has one
	timed time.Time   // on vc: the latest due of a timer set so far
}

func newOutbox(conn *link.Conn, latency func() time.Duration) *outbox {
	o := &outbox{
		conn:    conn,
		latency: latency,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	return o
}

// setClock puts the outbox on the device's virtual clock, before the first
// frame is sent.
func (o *outbox) setClock(vc *vclock.Virtual) {
	o.mu.Lock()
	o.vc = vc
	o.mu.Unlock()
}

// send queues f. Frames sent after stop are dropped.
func (o *outbox) send(f link.Frame) {
	d := o.latency()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return
	}
	if d <= 0 && len(o.q) == 0 {
		_ = o.conn.Send(&f) // an error means the link is gone; Recv reports it
		return
	}
	if o.vc != nil {
		// A frame due no later than one queued before it goes with that
		// one: it needs no timer of its own.
		q := queued{f: f, due: o.vc.Now().Add(max(d, 0))}
		if len(o.q) == 0 || q.due.After(o.q[len(o.q)-1].timed) {
			q.stop = o.vc.AfterFunc(d, o.sendDue)
			q.timed = q.due
		} else {
			q.timed = o.q[len(o.q)-1].timed
		}
		if len(o.q) == 0 {
			o.empty = make(chan struct{})
		}
		o.q = append(o.q, q)
		return
	}
	if len(o.q) == 0 {
		o.empty = make(chan struct{})
	}
	o.q = append(o.q, queued{f: f, due: time.Now().Add(d)})
	if !o.running {
		o.running = true
		go o.run()
	}
	o.poke()
}

func (o *outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// sendNow sends f ahead of the frames still delayed (dropped after stop).
func (o *outbox) sendNow(f link.Frame) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.stopped {
		_ = o.conn.Send(&f)
	}
}

// sendDue is the callback of a delayed frame's timer on the virtual clock:
// it sends the frames at the head of the queue that are due.
func (o *outbox) sendDue() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped || o.vc == nil {
		return
	}
	now := o.vc.Now()
	for len(o.q) > 0 && !o.q[0].due.After(now) {
		o.sendHeadLocked()
	}
}

// sendHeadLocked sends the frame at the head of the queue.
func (o *outbox) sendHeadLocked() {
	f := o.q[0].f
	o.q[0] = queued{}
	o.q = o.q[1:]
	_ = o.conn.Send(&f)
	if len(o.q) == 0 {
		o.setEmptyLocked()
	}
}

// stop drops queued frames and ends run.
func (o *outbox) stop() {
	o.mu.Lock()
	o.stopped = true
	for _, q := range o.q {
		if q.stop != nil {
			q.stop() // no timer of a dead link on the device's clock
		}
	}
	o.setEmptyLocked()
	running := o.running
	o.running = true // no run from now on
	o.mu.Unlock()
	if !running {
		close(o.done)
		return
	}
	o.poke()
	<-o.done
}

func (o *outbox) setEmptyLocked() {
	o.q = nil
	if o.empty != nil {
		close(o.empty)
		o.empty = nil
	}
}

// drain waits until every queued frame has been handed to the link, or ctx
// ends.
func (o *outbox) drain(ctx context.Context) error {
	o.mu.Lock()
	empty := o.empty
	o.mu.Unlock()
	if empty == nil {
		return nil
	}
	select {
	case <-empty:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *outbox) run() {
	defer close(o.done)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		o.mu.Lock()
		if o.stopped {
			o.mu.Unlock()
			return
		}
		if len(o.q) == 0 {
			o.mu.Unlock()
			<-o.wake
			continue
		}
		wait := time.Until(o.q[0].due)
		if wait <= 0 {
			o.sendHeadLocked()
			o.mu.Unlock()
			continue
		}
		o.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-o.wake:
			// stop, or a new frame (which goes behind the head: keep
			// waiting for the head).
			timer.Stop()
		}
	}
}
