package cloud

import (
	"time"

	"github.com/mvnet/mvnet/cloud/internal/devid"
)

// VirtualDeviceTime is device deviceID's own time — since its boot, as its
// trace and mvGetMicroseconds count it — at instant at of its virtual
// clock: at minus the device's base, which a HELLO after a reboot moves
// (clocks.go). ok is false when the device has no virtual clock. The
// runner dates a fault's events with it (internal/runner).
func (s *Server) VirtualDeviceTime(deviceID string, at time.Time) (d time.Duration, ok bool) {
	c := &s.clocks
	c.mu.Lock()
	defer c.mu.Unlock()
	base, ok := c.bases[devid.Canon(deviceID)]
	if !ok {
		return 0, false
	}
	return at.Sub(base), true
}
