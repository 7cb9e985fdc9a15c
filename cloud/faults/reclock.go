package faults

import (
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/internal/vclock"
)

// Reclock moves the timers of the device's faults in force to the clock
// SetClocks gives it now, when that is another than the one they started
// on (the cloud: the device's link is no longer on its virtual clock,
// which nothing advances any more). Each timer keeps the time it had left
// on its old clock: the For expiry, link-flap's periods, cloud-restart's
// down time. The faults' Applied and Ends stay as they were reported;
// their Ended event has the new clock's time. The http-delay and
// mqtt-delay waits started after it are on the new clock.
func (i *Injector) Reclock(deviceID string) {
	id := devid.Canon(deviceID)
	c := i.clock(id)
	var moves []func()
	i.mu.Lock()
	for _, a := range i.byDev[id] {
		old := a.clock
		if old == nil || old == c || a.done {
			continue
		}
		a.clock = c
		shift := c.Now().Sub(old.Now())
		if a.timer != nil && a.timer() {
			a.timer = c.AfterFunc(a.f.Ends.Add(shift).Sub(c.Now()), func() { i.end(a, "expired") })
		}
		if r := a.reclock; r != nil {
			moves = append(moves, func() { r(c, shift) })
		}
	}
	i.mu.Unlock()
	for _, m := range moves { // outside i.mu: a flap's lock is taken before it
		m()
	}
}

// reclock moves the flap's timers to c, each time shifted by shift: the
// flap keeps its place in its period.
func (fl *flapper) reclock(c vclock.Clock, shift time.Duration) {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.stopped {
		return
	}
	fl.start = fl.start.Add(shift)
	fl.clock = c
	if fl.cancel != nil && fl.cancel() {
		fl.at(fl.due.Add(shift), fl.fn)
	}
	// Else the timer is firing, waiting for fl.mu: it acts, and sets the
	// next timer, on c.
}

// movable is a timer on a device's clock that Reclock can move to
// another clock.
type movable struct {
	mu      sync.Mutex
	at      time.Time // on the clock it is set on
	f       func()
	stopped bool
	cancel  func() bool
}

// newMovable calls f at t on c.
func newMovable(c vclock.Clock, t time.Time, f func()) *movable {
	m := &movable{at: t, f: f}
	m.cancel = c.AfterFunc(t.Sub(c.Now()), f)
	return m
}

// move sets the timer again on c, at its time shifted by shift, unless it
// has fired or was stopped.
func (m *movable) move(c vclock.Clock, shift time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped || !m.cancel() {
		return
	}
	m.at = m.at.Add(shift)
	m.cancel = c.AfterFunc(m.at.Sub(c.Now()), m.f)
}

// stop stops the timer.
func (m *movable) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	m.cancel()
}
