package cloud

import (
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/mvnet/mvnet/internal/vclock"
)

// Devices' clocks (link/doc.go, "Virtual time").
//
// What the cloud times for a device — its faults (faults.Injector
// SetClocks), the frames a latency fault delays, its requests' timeouts
// (package session) — runs on the device's clock: the wall clock, or for an
// emulated device in deterministic mode (its HELLO says so) its virtual
// clock, which advances only as the device says. The server keeps one
// virtual clock per device, made at the device's first such HELLO or
// earlier by VirtualDeviceClock, while the device's links are virtual: a
// device that reconnects finds its clock where its time left it, and a
// HELLO without the flag (a real device, or the image run in real time)
// puts the device back on the wall clock, with the timers of its faults in
// force (deviceClocks.wall). A clock's start, Options.Now when it is made,
// is the device's time 0 (its base), and the device's wall time (WELCOME,
// TIME) is its clock's: with a fixed Options.Now a run gives the device
// the same wall times every time.
//
// A clock never goes back, but a device's time does when it boots again
// (a new emulator run, mvRestart, a system reset: its time restarts at 0):
// a HELLO whose now_us is before the clock's time rebases the device,
// base = the clock's time - now_us, so that its timers are set from its
// new boot's time and the clock runs on from where it was.

// deviceClocks is the server's devices' virtual clocks, each with its
// base, keyed by devid.Canon.
type deviceClocks struct {
	now func() time.Time // Options.Now
	mu  sync.Mutex
	m   map[string]*devClock
}

// devClock is a device's virtual clock and the clock's time at the
// device's time 0.
type devClock struct {
	v    *vclock.Virtual
	base time.Time
}

// getLocked returns device key's clock, making it if the device has none
// (c.mu held).
func (c *deviceClocks) getLocked(key string) *devClock {
	d, ok := c.m[key]
	if !ok {
		base := c.now()
		d = &devClock{v: vclock.NewVirtual(base), base: base}
		if c.m == nil {
			c.m = make(map[string]*devClock)
		}
		c.m[key] = d
	}
	return d
}

// virtual returns the virtual clock of device id, making it if the
// device has none.
func (c *deviceClocks) virtual(id string) *vclock.Virtual {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(devid.Canon(id)).v
}

// attach returns the virtual clock of device id, whose HELLO said its
// time is virtual and now nowUS µs (in range: the session checks), and
// the device's base on it, rebased if the device's time went back (it
// booted again): its time nowUS is then the clock's time.
func (c *deviceClocks) attach(id string, nowUS uint64) (*vclock.Virtual, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.getLocked(devid.Canon(id))
	now := time.Duration(nowUS) * time.Microsecond
	if at := d.v.Now(); d.base.Add(now).Before(at) {
		d.base = at.Add(-now)
	}
	return d.v, d.base
}

// wall puts device id back on the wall clock: its HELLO did not say its
// time is virtual. It reports whether the device had a virtual clock.
// Whoever holds the old clock keeps it, but nothing advances it any more.
func (c *deviceClocks) wall(id string) bool {
	key := devid.Canon(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok {
		return false
	}
	delete(c.m, key)
	return true
}

// clock is device id's clock: its virtual clock if it has one, else Wall.
func (c *deviceClocks) clock(id string) vclock.Clock {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d, ok := c.m[devid.Canon(id)]; ok {
		return d.v
	}
	return vclock.Wall
}

// deviceTime is device id's own time at instant at of its virtual clock;
// ok is false when it has none.
func (c *deviceClocks) deviceTime(id string, at time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[devid.Canon(id)]
	if !ok {
		return 0, false
	}
	return at.Sub(d.base), true
}

// DeviceClock is the clock the cloud times device deviceID's faults,
// delayed frames and requests on: its virtual clock while it has one (its
// last HELLO said so, or VirtualDeviceClock made it and no link came
// since), else vclock.Wall.
func (s *Server) DeviceClock(deviceID string) vclock.Clock {
	return s.clocks.clock(deviceID)
}

// VirtualDeviceClock returns device deviceID's virtual clock, making it if
// the device has none: made ahead of the device's HELLO, it lets a caller
// (the runner's scenario) set timers on the device's time from its start.
// The clock's time when made (Options.Now) is the device's time 0. A HELLO
// without the virtual flag forgets it (the device is on Wall again).
func (s *Server) VirtualDeviceClock(deviceID string) *vclock.Virtual {
	return s.clocks.virtual(deviceID)
}

// wallClock puts device id on the wall clock (deviceClocks.wall): its
// HELLO did not say its time is virtual. The timers of its faults in force
// move to the wall clock with the time they had left.
func (s *Server) wallClock(id string) {
	if s.clocks.wall(id) {
		s.faults.Reclock(id)
	}
}

// VirtualDeviceTime is device deviceID's own time — since its boot, as its
// trace and mvGetMicroseconds count it — at instant at of its virtual
// clock: at minus the device's base, which a HELLO after a reboot moves.
// ok is false when the device has no virtual clock. The runner dates a
// fault's events with it (internal/runner).
func (s *Server) VirtualDeviceTime(deviceID string, at time.Time) (d time.Duration, ok bool) {
	return s.clocks.deviceTime(deviceID, at)
}
