package faults

import (
	"sync"
	"time"

	"github.com/mvnet/mvnet/internal/vclock"
)

// The link and device-service faults (docs/fault-injection.md):
//
//   - link-flap: each Period the link is down for Duty×Period (default
//     half of it), then up; with Loss, each whole period is down with that
//     probability, drawn from the fault's seeded random source, so a Seed
//     gives the same pattern every run. Down is what link-drop does: the
//     live link is closed and reconnects are refused (LinkDropped).
//   - cloud-restart: the device's link is closed and reconnects are refused
//     for Down (default DefaultRestartDown), then accepted; the fault ends
//     ("done") when Down has elapsed.
//   - clock-unset: links give the device no wall time (WallTime's ok is
//     false: WELCOME and TIME carry 0, link version 3).
//   - clock-skew: the wall time sent is off by Skew; applying or clearing
//     it sends TIME to a connected device at once.
//   - logging-disabled: server logging is disabled for the device
//     (ServerLoggingDisabled); applying or clearing it tells a connected
//     device (CONTROL LOGGING).

// DefaultRestartDown is how long a cloud-restart keeps the device's links
// refused when the spec gives no Down.
const DefaultRestartDown = time.Second

// defaultDuty is the fraction of each period a link-flap without Duty or
// Loss keeps the link down.
const defaultDuty = 0.5

// ClockLink is a Link that can send the device the wall time again (a TIME
// frame, as WallTime gives it now). The cloud's sessions implement it; the
// clock faults use it when they start and end.
type ClockLink interface {
	SendTime()
}

// LoggingLink is a Link that can tell the device again whether server
// logging is enabled for it (CONTROL LOGGING, from the store's setting
// and ServerLoggingDisabled). The cloud's sessions implement it.
type LoggingLink interface {
	RefreshLogging()
}

func init() {
	starters[LinkFlap] = starter{start: startFlap}
	starters[CloudRestart] = starter{start: startRestart, ownsEnd: true}
	starters[ClockUnset] = starter{start: startTelling(tellTime)}
	starters[ClockSkew] = starter{start: startTelling(tellTime)}
	starters[LoggingDisabled] = starter{start: startTelling(tellLogging)}
}

// flapHook, if set (tests only), sees each period's decision of every
// link-flap started after it is set: the period's index from 0 and whether
// the link is down in it.
var flapHook func(f Fault, period int, down bool)

// startFlap decides the first period and, if it is down, takes the link
// down before Apply returns; timers on the device's clock carry on.
func startFlap(i *Injector, a *active) (func(), error) {
	c := i.clock(a.f.Device)
	fl := &flapper{i: i, a: a, clock: c, hook: flapHook, start: a.f.Applied, period: time.Duration(a.f.Spec.Period)}
	fl.downFor = i.flapPeriod(a, 0, fl.hook)
	if fl.downFor > 0 {
		i.setDown(a, true)
	}
	fl.mu.Lock()
	fl.begin()
	fl.mu.Unlock()
	i.mu.Lock()
	a.reclock = fl.reclock
	i.mu.Unlock()
	return fl.stop, nil
}

// flapPeriod decides how long period n of a link-flap keeps the link down.
func (i *Injector) flapPeriod(a *active, n int, hook func(Fault, int, bool)) time.Duration {
	s := a.f.Spec
	period := time.Duration(s.Period)
	duty := s.Duty
	if duty == 0 {
		duty = defaultDuty
	}
	downFor := time.Duration(duty * float64(period))
	if s.Loss > 0 {
		i.mu.Lock()
		downFor = 0
		if a.rng.Float64() < s.Loss {
			downFor = period
		}
		i.mu.Unlock()
	}
	if hook != nil {
		hook(a.f, n, downFor > 0)
	}
	return downFor
}

// flapper runs a link-flap on the device's clock, one timer at a time:
// each period n (the first decided by startFlap) the link is down for its
// part of the period, then up for the rest. Periods follow the fault's
// start (not the previous timer), so they do not drift; on a virtual clock
// each transition happens at its exact instant.
type flapper struct {
	i      *Injector
	a      *active
	clock  vclock.Clock
	hook   func(Fault, int, bool)
	start  time.Time
	period time.Duration

	// mu is held while a timer acts and by stop, so once stop has
	// returned no transition is under way or to come.
	mu      sync.Mutex
	stopped bool
	cancel  func() bool // stops the pending timer
	due     time.Time   // the pending timer's time and function (at)
	fn      func()
	n       int           // the current period
	downFor time.Duration // how long period n keeps the link down
}

// begin sets the timer that ends period n's down part, or the period
// itself when it is down throughout (fl.mu held).
func (fl *flapper) begin() {
	if fl.downFor < fl.period {
		fl.at(fl.periodStart().Add(fl.downFor), fl.up)
		return
	}
	fl.at(fl.periodStart().Add(fl.period), fl.next)
}

func (fl *flapper) periodStart() time.Time {
	return fl.start.Add(time.Duration(fl.n) * fl.period)
}

// up brings the link up for the rest of period n.
func (fl *flapper) up() {
	if fl.i.setDown(fl.a, false) {
		fl.at(fl.periodStart().Add(fl.period), fl.next)
	}
}

// next starts period n+1.
func (fl *flapper) next() {
	fl.n++
	fl.downFor = fl.i.flapPeriod(fl.a, fl.n, fl.hook)
	if fl.downFor > 0 && !fl.i.setDown(fl.a, true) {
		return
	}
	fl.begin()
}

// at sets the timer that calls f, with fl.mu held, at t on the device's
// clock (at once if t has passed). fl.mu is held.
func (fl *flapper) at(t time.Time, f func()) {
	fl.due, fl.fn = t, f
	fl.cancel = fl.clock.AfterFunc(t.Sub(fl.clock.Now()), func() {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		if !fl.stopped {
			f()
		}
	})
}

// stop ends the flap: it waits for a transition under way and cancels the
// next one. It may be called more than once.
func (fl *flapper) stop() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.stopped = true
	if fl.cancel != nil {
		fl.cancel()
	}
}

// setDown records whether a's link is down and, going down, closes the
// device's live link. The state is recorded before the link is looked up:
// a session registering concurrently either sees it (LinkDropped, under
// the registry's lock) or is found. It reports false once a has ended.
func (i *Injector) setDown(a *active, down bool) bool {
	i.mu.Lock()
	if a.done {
		i.mu.Unlock()
		return false
	}
	a.down = down
	i.mu.Unlock()
	if down {
		if l, ok := i.links.Link(a.f.Device); ok {
			l.Drop()
		}
	}
	return true
}

func startRestart(i *Injector, a *active) (func(), error) {
	down := time.Duration(a.f.Spec.Down)
	if down == 0 {
		down = DefaultRestartDown
	}
	i.setDown(a, true)
	t := newMovable(i.clock(a.f.Device), a.f.Applied.Add(down), func() { i.end(a, "done") })
	i.mu.Lock()
	a.reclock = t.move
	i.mu.Unlock()
	return t.stop, nil
}

// startTelling returns the starter of a fault that changes what the
// device's link should tell it (the time, the logging setting): tell runs
// when the fault starts, once it is recorded, and again when it has ended.
func startTelling(tell func(Link)) func(i *Injector, a *active) (func(), error) {
	return func(i *Injector, a *active) (func(), error) {
		now := func() {
			if l, ok := i.links.Link(a.f.Device); ok {
				tell(l)
			}
		}
		now()
		return now, nil
	}
}

func tellTime(l Link) {
	if c, ok := l.(ClockLink); ok {
		c.SendTime()
	}
}

func tellLogging(l Link) {
	if c, ok := l.(LoggingLink); ok {
		c.RefreshLogging()
	}
}

// linkDownLocked reports whether a link-flap or cloud-restart holds the
// device's link down now.
func (i *Injector) linkDownLocked(deviceID string) bool {
	for _, a := range i.faultsOf(deviceID) {
		if a.down && (a.f.Spec.Kind == LinkFlap || a.f.Spec.Kind == CloudRestart) {
			return true
		}
	}
	return false
}

// WallTime is the wall time the cloud gives the device (in WELCOME and
// TIME) when its own clock reads now: ok is false while a clock-unset
// fault is in force (the device gets no time), else it is now plus the
// skews of the clock-skew faults in force. Sessions consult it, with now
// the wall time they would give (not the device's clock: the skew is
// added to whatever base the caller passes).
func (i *Injector) WallTime(deviceID string, now time.Time) (t time.Time, ok bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.firstLocked(deviceID, ClockUnset) != nil {
		return time.Time{}, false
	}
	for _, a := range i.faultsOf(deviceID) {
		if a.f.Spec.Kind == ClockSkew {
			now = now.Add(time.Duration(a.f.Spec.Skew))
		}
	}
	return now, true
}

// ServerLoggingDisabled reports whether a logging-disabled fault is in
// force on the device: its server logging is then disabled whatever the
// log store says. Sessions consult it.
func (i *Injector) ServerLoggingDisabled(deviceID string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.firstLocked(deviceID, LoggingDisabled) != nil
}
