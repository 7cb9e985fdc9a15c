package cloud_test

import (
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
)

// TestVirtualDeviceTime: the device's own time at an instant of its
// clock follows the device's boots: 50 s into the first boot, then 0 s at
// the second boot's HELLO (the clock, at 50 s, rebased the device), and
// no device time without a virtual clock.
func TestVirtualDeviceTime(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	s := newServerWith(t, cloud.Options{Now: func() time.Time { return start }})
	id := fakedev.ID(0x53)
	if _, ok := s.VirtualDeviceTime(id, start); ok {
		t.Fatal("a device time for a device with no virtual clock")
	}
	d := dialVirtual(t, s)
	d.Hello(id, 0)
	d.FirstSync(0)
	d.SyncQuiet(50_000_000)
	if dt, ok := s.VirtualDeviceTime(id, s.DeviceClock(id).Now()); !ok || dt != 50*time.Second {
		t.Fatalf("first boot at 50 s: device time %v %v, want 50s", dt, ok)
	}
	_ = d.Conn.Close()

	d = dialVirtual(t, s) // the second boot: its time is 0 again
	d.Hello(id, 1_000)
	d.FirstSync(1_000)
	if dt, ok := s.VirtualDeviceTime(id, s.DeviceClock(id).Now()); !ok || dt != time.Millisecond {
		t.Fatalf("second boot at 1 ms: device time %v %v, want 1ms (its own, not the first boot's 50 s on)", dt, ok)
	}
}
