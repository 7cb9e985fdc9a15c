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
// earlier by VirtualDeviceClock, and keeps it for its lifetime (a device
// that reconnects finds its clock where its time left it). A clock's
// start, Options.Now when it is made, is the device's time 0, and the
// device's wall time (WELCOME, TIME) is its clock's: with a fixed
// Options.Now a run gives the device the same wall times every time.

// deviceClocks is the server's devices' virtual clocks, keyed by
// devid.Canon.
type deviceClocks struct {
	now   func() time.Time // Options.Now
	reg   vclock.Registry
	mu    sync.Mutex
	bases map[string]time.Time // each clock's start
}

// virtual returns the virtual clock of device id and its start, making it
// if the device has none.
func (c *deviceClocks) virtual(id string) (*vclock.Virtual, time.Time) {
	key := devid.Canon(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	base, ok := c.bases[key]
	if !ok {
		base = c.now()
		if c.bases == nil {
			c.bases = make(map[string]time.Time)
		}
		c.bases[key] = base
	}
	return c.reg.Virtual(key, base), base
}

// clock is device id's clock: its virtual clock if it has one, else Wall.
func (c *deviceClocks) clock(id string) vclock.Clock {
	return c.reg.For(devid.Canon(id))
}

// DeviceClock is the clock the cloud times device deviceID's faults,
// delayed frames and requests on: its virtual clock if it has one (it said
// so in HELLO, or VirtualDeviceClock made it), else vclock.Wall.
func (s *Server) DeviceClock(deviceID string) vclock.Clock {
	return s.clocks.clock(deviceID)
}

// VirtualDeviceClock returns device deviceID's virtual clock, making it if
// the device has none: made ahead of the device's HELLO, it lets a caller
// (the runner's scenario) set timers on the device's time from its start.
// The clock's time when made (Options.Now) is the device's time 0.
func (s *Server) VirtualDeviceClock(deviceID string) *vclock.Virtual {
	v, _ := s.clocks.virtual(deviceID)
	return v
}
