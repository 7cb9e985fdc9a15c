package kernel_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/mem"
)

func TestSetupNotificationsStatuses(t *testing.T) {
	h := newHarness(t)
	h.alloc(64, 16)            // so that the bytes before used.buf are SRAM
	used := h.newCentre(50, 4) // occupies IRQ 50 and 64 bytes at used.buf

	// setup runs one case: a setup structure at sp (or a fresh valid one
	// with the given fields) and the handle pointer.
	type tc struct {
		name      string
		setupPtr  mem.Addr // 0: write the structure below to fresh memory
		irq       uint32
		buf       mem.Addr // 0: a fresh 64-byte buffer
		size      uint32
		handleOut mem.Addr // 0: fresh memory
		want      abi.Status
	}
	var cases []tc
	for _, b := range badReadPtrs {
		if b.addr == 0 {
			continue // 0 means "fresh" below; null is covered by unmapped
		}
		cases = append(cases, tc{name: "setup " + b.name, setupPtr: b.addr, irq: 1, size: 64, want: abi.StatusParameterFault})
	}
	for _, b := range badWritePtrs {
		if b.addr == 0 {
			continue
		}
		cases = append(cases,
			tc{name: "handle " + b.name, irq: 1, size: 64, handleOut: b.addr, want: abi.StatusParameterFault},
			tc{name: "buffer " + b.name, irq: 1, buf: b.addr, size: 64, want: abi.StatusParameterFault})
	}
	cases = append(cases,
		tc{name: "buffer runs off SRAM", irq: 1, buf: sramEnd - 32, size: 48, want: abi.StatusParameterFault},
		// Pointer faults come before every other check.
		tc{name: "buffer in flash, bad size", irq: 1, buf: flashBase, size: 40, want: abi.StatusParameterFault},
		tc{name: "bad handle ptr, bad IRQ", irq: 200, size: 64, handleOut: 0x10, want: abi.StatusParameterFault},

		tc{name: "size 0", irq: 1, size: 0, want: abi.StatusInvalidBufferSize},
		tc{name: "size 16", irq: 1, size: 16, want: abi.StatusInvalidBufferSize},
		tc{name: "size 40", irq: 1, size: 40, want: abi.StatusInvalidBufferSize},
		tc{name: "size 33", irq: 1, size: 33, want: abi.StatusInvalidBufferSize},
		tc{name: "size 16, IRQ in use", irq: 50, size: 16, want: abi.StatusInvalidBufferSize},

		tc{name: "same buffer", irq: 1, buf: used.buf, size: 64, want: abi.StatusBufferAlreadyInUse},
		tc{name: "overlaps start", irq: 1, buf: used.buf - 16, size: 32, want: abi.StatusBufferAlreadyInUse},
		tc{name: "overlaps end", irq: 1, buf: used.buf + 48, size: 32, want: abi.StatusBufferAlreadyInUse},
		tc{name: "inside", irq: 1, buf: used.buf + 16, size: 32, want: abi.StatusBufferAlreadyInUse},
		tc{name: "in use and IRQ in use", irq: 50, buf: used.buf, size: 64, want: abi.StatusBufferAlreadyInUse},

		tc{name: "IRQ 125", irq: 125, size: 64, want: abi.StatusInvalidInterrupt},
		tc{name: "IRQ 0xFFFFFFFF", irq: 0xFFFFFFFF, size: 64, want: abi.StatusInvalidInterrupt},
		tc{name: "IRQ of another centre", irq: 50, size: 64, want: abi.StatusInvalidInterrupt},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			buf := c.buf
			if buf == 0 {
				buf = h.alloc(64, 16)
			}
			hp := c.handleOut
			if hp == 0 {
				hp = h.out(4)
			}
			var st abi.Status
			if c.setupPtr != 0 {
				st = h.k.SetupNotifications(c.setupPtr, hp)
			} else {
				st = h.setupRaw(c.irq, buf, c.size, hp)
			}
			wantStatus(t, "mvSetupNotifications", st, c.want)
			if c.handleOut == 0 && h.u32(hp) != sentinel {
				t.Fatalf("a failed setup wrote handle %#x", h.u32(hp))
			}
		})
	}

	// Adjacent buffers do not overlap; IRQs 0 and 124 are usable.
	block := h.alloc(128, 16)
	wantStatus(t, "IRQ 0", h.setupRaw(0, block, 64, h.out(4)), abi.StatusOkay)
	wantStatus(t, "IRQ 124, adjacent buffer", h.setupRaw(124, block+64, 64, h.out(4)), abi.StatusOkay)
	// Through the table, with raw words.
	sp := h.alloc(12, 4)
	_ = abi.Device.WriteNotificationSetup(h.a, sp, abi.NotificationSetup{IRQ: 7, Buffer: h.alloc(48, 16), BufferSize: 48})
	hp := h.out(4)
	wantStatus(t, "via Call", h.call("mvSetupNotifications", uint64(sp), uint64(hp)), abi.StatusOkay)
	if h.u32(hp) == 0 || h.u32(hp) == sentinel {
		t.Fatalf("handle %#x", h.u32(hp))
	}
}

func TestSetupNotificationsLimit(t *testing.T) {
	h := newHarness(t)
	seen := map[uint32]bool{}
	for i := range uint32(32) {
		c := h.newCentre(i, 2)
		if seen[c.handle] {
			t.Fatalf("handle %#x given twice", c.handle)
		}
		seen[c.handle] = true
	}
	hp := h.out(4)
	wantStatus(t, "33rd centre", h.setupRaw(100, h.alloc(32, 16), 32, hp), abi.StatusTooManyNotificationBuffers)
	if h.u32(hp) != sentinel {
		t.Fatal("TOOMANYNOTIFICATIONBUFFERS wrote a handle")
	}
	// Earlier checks still win at the limit.
	wantStatus(t, "33rd, IRQ in use", h.setupRaw(3, h.alloc(32, 16), 32, hp), abi.StatusInvalidInterrupt)
	wantStatus(t, "33rd, bad size", h.setupRaw(100, h.alloc(32, 16), 24, hp), abi.StatusInvalidBufferSize)

	// Closing one makes room.
	var any uint32
	for k := range seen {
		any = k
		break
	}
	wantStatus(t, "mvCloseNotifications", h.k.CloseNotifications(h.handleIn(any)), abi.StatusOkay)
	wantStatus(t, "after a close", h.setupRaw(100, h.alloc(32, 16), 32, hp), abi.StatusOkay)
}

func TestCloseNotifications(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	other := h.newCentre(41, 4)

	for _, b := range badWritePtrs {
		if b.name == "flash" {
			continue
		}
		wantStatus(t, "handle ptr "+b.name, h.k.CloseNotifications(b.addr), abi.StatusParameterFault)
	}
	// A valid handle that cannot be zeroed: PARAMETERFAULT, centre kept.
	wantStatus(t, "handle in flash", h.k.CloseNotifications(h.flashHandle(other.handle)), abi.StatusParameterFault)

	closed := h.newCentre(42, 2)
	cp := h.handleIn(closed.handle)
	wantStatus(t, "close", h.k.CloseNotifications(cp), abi.StatusOkay)
	for name, v := range map[string]uint32{
		"zero": 0, "random": 0x1234_5678, "network handle": nw, "closed centre": closed.handle,
	} {
		p := h.handleIn(v)
		wantStatus(t, name, h.k.CloseNotifications(p), abi.StatusInvalidHandle)
		if h.u32(p) != v {
			t.Fatalf("%s: INVALIDHANDLE changed the stored handle", name)
		}
	}

	// Success zeroes the handle; the IRQ and buffer become free.
	op := h.handleIn(other.handle)
	wantStatus(t, "close other", h.call("mvCloseNotifications", uint64(op)), abi.StatusOkay)
	if h.u32(op) != 0 {
		t.Fatalf("handle not zeroed: %#x", h.u32(op))
	}
	if _, _, ok := h.k.NotificationStats(other.handle); ok {
		t.Fatal("NotificationStats still knows the closed centre")
	}
	wantStatus(t, "reuse IRQ and buffer", h.setupRaw(41, other.buf, 64, h.out(4)), abi.StatusOkay)

	// No IRQ is pended for a closed centre: the network keeps changing
	// status, but its centre is gone.
	c.forget()
	before := h.irq.count(c.irq)
	ring := h.bytes(c.buf, uint64(c.slots)*16)
	wantStatus(t, "close the network's centre", h.k.CloseNotifications(h.handleIn(c.handle)), abi.StatusOkay)
	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	h.waitStatus(nw, abi.NetworkStatusConnecting)
	h.cloud.setRefuse(false)
	h.waitStatus(nw, abi.NetworkStatusConnected)
	if got := h.irq.count(c.irq); got != before {
		t.Fatalf("%d IRQs pended after mvCloseNotifications", got-before)
	}
	if got := h.bytes(c.buf, uint64(c.slots)*16); string(got) != string(ring) {
		t.Fatal("the closed centre's ring was written")
	}
}

// TestNotificationRing checks the ring itself: each record goes into the
// next slot and the ring wraps; records are 16 bytes (µs, event type, tag);
// one Pend per record; overruns count only unconsumed records overwritten.
func TestNotificationRing(t *testing.T) {
	h := newHarness(t)
	ctl, nw := h.ready()
	const slots = 4
	// The application fills its ring with 0xFF before setup, as the
	// networking guide's sample does: those slots are not unconsumed
	// records, so writing over them is no overrun.
	buf := h.alloc(slots*16, 16)
	h.store(buf, bytes.Repeat([]byte{0xFF}, slots*16))
	hp := h.out(4)
	wantStatus(t, "setup", h.setupRaw(60, buf, slots*16, hp), abi.StatusOkay)
	c := &centre{h: h, handle: h.u32(hp), irq: 60, buf: buf, slots: slots}
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 4096, 512, 0xC0FFEE)

	// post makes the kernel write exactly one record (CHANNELDATAREADABLE)
	// and waits until it has.
	posted := 0
	post := func() {
		t.Helper()
		h.clk.advance(10 * time.Microsecond)
		h.cloud.sendData(t, ch.handle, []byte{byte(posted)})
		posted++
		eventually(t, "record posted", func() bool {
			p, _, _ := h.k.NotificationStats(c.handle)
			return p == uint64(posted)
		})
	}

	// Fill the ring without consuming: slots 0..3, in order.
	for range slots {
		post()
	}
	for i := range uint32(slots) {
		raw := h.bytes(c.buf+mem.Addr(i*16), 16)
		n := abi.DecodeNotification(raw)
		wantUS := uint64(h.clk.now()/time.Microsecond) - uint64(slots-1-i)*10
		if n.Microseconds != wantUS || n.EventType != abi.EventTypeChannelDataReadable || n.Tag != 0xC0FFEE {
			t.Fatalf("slot %d = %+v, want µs %d, CHANNELDATAREADABLE, tag 0xC0FFEE", i, n, wantUS)
		}
		// The layout, byte by byte: u64 µs, u32 event type, u32 tag.
		if binary.LittleEndian.Uint64(raw[0:]) != wantUS || binary.LittleEndian.Uint32(raw[8:]) != 2 ||
			binary.LittleEndian.Uint32(raw[12:]) != 0xC0FFEE {
			t.Fatalf("slot %d bytes % x", i, raw)
		}
	}
	if got := h.irq.count(c.irq); got != slots {
		t.Fatalf("%d IRQs for %d records", got, slots)
	}
	if _, ov, _ := h.k.NotificationStats(c.handle); ov != 0 {
		t.Fatalf("overruns %d before the ring wrapped", ov)
	}

	// The fifth record wraps to slot 0, overwriting an unconsumed record.
	post()
	if n := c.record(0); n.Microseconds != uint64(h.clk.now()/time.Microsecond) {
		t.Fatalf("slot 0 after wrap: %+v", n)
	}
	if _, ov, _ := h.k.NotificationStats(c.handle); ov != 1 {
		t.Fatalf("overruns = %d after overwriting one unconsumed record, want 1", ov)
	}

	// The application consumes (clears the event type of) slots 1..3: the
	// next three records overwrite consumed slots, no overrun.
	for i := uint32(1); i < slots; i++ {
		h.store(c.buf+mem.Addr(i*16+8), make([]byte, 4))
	}
	for range 3 {
		post()
	}
	if _, ov, _ := h.k.NotificationStats(c.handle); ov != 1 {
		t.Fatalf("overruns = %d after overwriting consumed records, want still 1", ov)
	}
	// Slot 0 is unconsumed again: overwriting it counts.
	post()
	p, ov, ok := h.k.NotificationStats(c.handle)
	if !ok || p != uint64(posted) || ov != 2 {
		t.Fatalf("stats = %d posted, %d overruns, ok %v; want %d, 2", p, ov, ok, posted)
	}
	if got := h.irq.count(c.irq); got != posted {
		t.Fatalf("%d IRQs for %d records", got, posted)
	}
	// The network's own centre saw none of these.
	if n := ctl.count(abi.EventTypeChannelDataReadable, 0xC0FFEE); n != 0 {
		t.Fatalf("%d channel records on the network's centre", n)
	}
	if _, _, ok := h.k.NotificationStats(0x1234); ok {
		t.Fatal("NotificationStats of an unknown handle")
	}
}
