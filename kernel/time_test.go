package kernel_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

func TestGetMicroseconds(t *testing.T) {
	h := newHarness(t)
	out := h.out(8)
	wantStatus(t, "mvGetMicroseconds", h.k.GetMicroseconds(out), abi.StatusOkay)
	if got, want := h.u64(out), uint64(h.clk.now()/time.Microsecond); got != want {
		t.Fatalf("µs = %d, want %d (the injected clock)", got, want)
	}
	h.clk.advance(1500 * time.Microsecond)
	wantStatus(t, "mvGetMicroseconds via Call", h.call("mvGetMicroseconds", uint64(out)), abi.StatusOkay)
	if got, want := h.u64(out), uint64(h.clk.now()/time.Microsecond); got != want {
		t.Fatalf("after 1.5 ms: µs = %d, want %d", got, want)
	}
	for _, b := range badWritePtrs {
		t.Run(b.name, func(t *testing.T) {
			wantStatus(t, "mvGetMicroseconds", h.k.GetMicroseconds(b.addr), abi.StatusParameterFault)
		})
	}
	// Straddling the end of SRAM by one byte.
	wantStatus(t, "8 bytes ending 1 past SRAM", h.k.GetMicroseconds(sramEnd-7), abi.StatusParameterFault)
}

func TestGetWallTimeNotSetBeforeWelcome(t *testing.T) {
	h := newHarness(t, refusing)
	out := h.out(8)
	wantStatus(t, "before WELCOME", h.k.GetWallTime(out), abi.StatusTimeNotSet)
	if h.u32(out) != sentinel {
		t.Fatal("TIMENOTSET wrote the output")
	}
	// Pointer faults come first, even while the time is unknown.
	for _, b := range badWritePtrs {
		wantStatus(t, "bad pointer before WELCOME ("+b.name+")", h.k.GetWallTime(b.addr), abi.StatusParameterFault)
	}

	h.clk.advance(3 * time.Second) // time passing before the link is up is not wall time
	h.cloud.setRefuse(false)
	eventually(t, "wall time set", func() bool { return h.k.GetWallTime(out) == abi.StatusOkay })
	if got := h.u64(out); got != welcomeWallUS {
		t.Fatalf("wall time right after WELCOME = %d, want %d", got, uint64(welcomeWallUS))
	}
	h.clk.advance(2500 * time.Millisecond)
	wantStatus(t, "mvGetWallTime", h.call("mvGetWallTime", uint64(out)), abi.StatusOkay)
	if got, want := h.u64(out), uint64(welcomeWallUS+2_500_000); got != want {
		t.Fatalf("wall time 2.5 s after WELCOME = %d, want %d", got, want)
	}
	for _, b := range badWritePtrs {
		wantStatus(t, "bad pointer after WELCOME ("+b.name+")", h.k.GetWallTime(b.addr), abi.StatusParameterFault)
	}

	// TIME resynchronises the clock.
	const resync = welcomeWallUS + 86_400_000_000
	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: resync})
	eventually(t, "TIME applied", func() bool {
		return h.k.GetWallTime(out) == abi.StatusOkay && h.u64(out) == resync
	})
	h.clk.advance(time.Millisecond)
	wantStatus(t, "mvGetWallTime", h.k.GetWallTime(out), abi.StatusOkay)
	if got := h.u64(out); got != resync+1000 {
		t.Fatalf("wall time 1 ms after TIME = %d, want %d", got, uint64(resync+1000))
	}
}

func TestGetDeviceID(t *testing.T) {
	h := newHarness(t)
	buf := h.out(40)
	wantStatus(t, "mvGetDeviceId(34)", h.k.GetDeviceID(buf, 34), abi.StatusOkay)
	got := h.bytes(buf, 40)
	if string(got[:34]) != h.id {
		t.Fatalf("device ID %q, want %q", got[:34], h.id)
	}
	if !bytes.Equal(got[34:], []byte{0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5}) {
		t.Fatalf("bytes after the ID were written: % x", got[34:])
	}
	if h.k.DeviceID() != h.id {
		t.Fatalf("DeviceID() = %q", h.k.DeviceID())
	}

	for _, n := range []uint32{0, 1, 33, 35, 64} {
		fresh := h.out(64)
		wantStatus(t, "mvGetDeviceId wrong length", h.k.GetDeviceID(fresh, n), abi.StatusInvalidBufferSize)
		if h.u32(fresh) != sentinel {
			t.Fatalf("length %d: INVALIDBUFFERSIZE wrote the buffer", n)
		}
	}
	for _, b := range badWritePtrs {
		t.Run(b.name, func(t *testing.T) {
			wantStatus(t, "mvGetDeviceId(34)", h.k.GetDeviceID(b.addr, 34), abi.StatusParameterFault)
			// The pointer is checked before the length.
			wantStatus(t, "mvGetDeviceId(33)", h.k.GetDeviceID(b.addr, 33), abi.StatusParameterFault)
		})
	}
	wantStatus(t, "34 bytes ending past SRAM", h.k.GetDeviceID(sramEnd-33, 34), abi.StatusParameterFault)
	wantStatus(t, "34 bytes from the last SRAM ones", h.call("mvGetDeviceId", uint64(sramEnd-34), 34), abi.StatusOkay)
}

// Wall time 0 in WELCOME or TIME is "no time" (link version 3; the cloud
// sends it under a clock-unset fault): a fresh device stays TIMENOTSET
// until a real time arrives, and a device that has the time keeps it
// across a link whose WELCOME carries none.
func TestWallTimeZeroIsNoTime(t *testing.T) {
	h := newHarness(t, func(fc *fakeCloud, _ *kernel.Options) { fc.wallUS = 0 })
	h.waitLink()
	out := h.out(8)
	h.cloud.sync(t)
	wantStatus(t, "after a WELCOME with no time", h.k.GetWallTime(out), abi.StatusTimeNotSet)
	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: 0})
	h.cloud.sync(t)
	wantStatus(t, "after a TIME of 0", h.k.GetWallTime(out), abi.StatusTimeNotSet)

	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: welcomeWallUS})
	h.cloud.sync(t)
	wantStatus(t, "after a TIME", h.k.GetWallTime(out), abi.StatusOkay)
	if got := h.u64(out); got != welcomeWallUS {
		t.Fatalf("wall time %d, want %d", got, uint64(welcomeWallUS))
	}

	// A new link whose WELCOME has no time leaves the clock running on.
	links := h.cloud.linkCount()
	h.cloud.drop(t)
	eventually(t, "the link back", func() bool { return h.cloud.linkCount() > links && h.cloud.up() })
	h.cloud.sync(t)
	h.clk.advance(time.Second)
	wantStatus(t, "after a second WELCOME with no time", h.k.GetWallTime(out), abi.StatusOkay)
	if got, want := h.u64(out), uint64(welcomeWallUS+1_000_000); got != want {
		t.Fatalf("wall time %d, want %d (the clock running on)", got, want)
	}
}
