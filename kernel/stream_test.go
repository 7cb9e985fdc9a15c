package kernel_test

import (
	"bytes"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// pattern returns n bytes that differ from their neighbours.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// waitData waits until the cloud has received want on channel ch, exactly.
func (h *harness) waitData(ch uint32, want []byte) {
	h.t.Helper()
	eventually(h.t, "DATA at the cloud", func() bool { return len(h.cloud.data(ch)) >= len(want) })
	if got := h.cloud.data(ch); !bytes.Equal(got, want) {
		h.t.Fatalf("cloud received %d bytes % x…, want %d bytes % x…", len(got), got[:min(16, len(got))], len(want), want[:min(16, len(want))])
	}
}

func TestWriteChannel(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x51)
	avail := h.out(4)

	first := pattern(300, 1)
	data := h.place(first)
	wantStatus(t, "write 300", h.k.WriteChannel(ch.handle, data, 300, avail), abi.StatusOkay)
	if h.u32(avail) != 212 {
		t.Fatalf("available %d after 300 of 512, want 212", h.u32(avail))
	}
	if !bytes.Equal(h.bytes(ch.tx, 300), first) {
		t.Fatal("send ring does not hold the data")
	}
	h.waitData(ch.handle, first)

	// All or nothing: 300 more does not fit.
	h.put32(avail, sentinel)
	second := pattern(300, 100)
	data2 := h.place(second)
	wantStatus(t, "write 300 into 212", h.k.WriteChannel(ch.handle, data2, 300, avail), abi.StatusInvalidBufferSize)
	if h.u32(avail) != 212 {
		t.Fatalf("INVALIDBUFFERSIZE reported available %d, want 212", h.u32(avail))
	}
	if !bytes.Equal(h.bytes(ch.tx+300, 212), make([]byte, 212)) {
		t.Fatal("a rejected write touched the ring")
	}
	// Length 0 asks for the free space.
	h.put32(avail, sentinel)
	wantStatus(t, "query", h.k.WriteChannel(ch.handle, 0, 0, avail), abi.StatusOkay)
	if h.u32(avail) != 212 {
		t.Fatalf("query: %d, want 212", h.u32(avail))
	}

	// The cloud consumes the first write: CHANNELDATAWRITESPACE, and the
	// space is free again.
	h.cloud.send(t, link.Frame{Type: link.FrameCredit, Chan: ch.handle, Credit: 300})
	c.wait(abi.EventTypeChannelDataWriteSpace, 0x51)
	wantStatus(t, "query", h.call("mvWriteChannel", uint64(ch.handle), 0, 0, uint64(avail)), abi.StatusOkay)
	if h.u32(avail) != 512 {
		t.Fatalf("after CREDIT 300: available %d, want 512", h.u32(avail))
	}
	// The next write wraps around the end of the ring.
	wantStatus(t, "write 300 (wraps)", h.k.WriteChannel(ch.handle, data2, 300, avail), abi.StatusOkay)
	if h.u32(avail) != 212 {
		t.Fatalf("available %d, want 212", h.u32(avail))
	}
	if !bytes.Equal(h.bytes(ch.tx+300, 212), second[:212]) || !bytes.Equal(h.bytes(ch.tx, 88), second[212:]) {
		t.Fatal("wrapped write is not at ring offsets 300..511, 0..87")
	}
	h.waitData(ch.handle, append(append([]byte(nil), first...), second...))

	// Flash is readable: data may come from there.
	fp, _ := h.a.LoadFlash([]byte("const"), 1)
	wantStatus(t, "data in flash", h.k.WriteChannel(ch.handle, fp, 5, avail), abi.StatusOkay)
	if h.u32(avail) != 207 {
		t.Fatalf("available %d, want 207", h.u32(avail))
	}
	// Filling the ring exactly is allowed.
	wantStatus(t, "fill", h.k.WriteChannel(ch.handle, h.place(pattern(207, 9)), 207, avail), abi.StatusOkay)
	if h.u32(avail) != 0 {
		t.Fatalf("available %d, want 0", h.u32(avail))
	}
	wantStatus(t, "one more byte", h.k.WriteChannel(ch.handle, data, 1, avail), abi.StatusInvalidBufferSize)
}

func TestWriteChannelFaults(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x52)
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0x53)
	closed := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x54)
	h.closeChannel(closed)
	data := h.place(pattern(64, 3))

	for _, b := range badReadPtrs {
		wantStatus(t, "data "+b.name, h.k.WriteChannel(ch.handle, b.addr, 16, h.out(4)), abi.StatusParameterFault)
		wantStatus(t, "stream data "+b.name, h.k.WriteChannelStream(ch.handle, b.addr, 16, h.out(4)), abi.StatusParameterFault)
		// Pointers before the handle.
		wantStatus(t, "data "+b.name+", bad handle", h.k.WriteChannel(0, b.addr, 16, h.out(4)), abi.StatusParameterFault)
	}
	wantStatus(t, "data runs off SRAM", h.k.WriteChannel(ch.handle, sramEnd-8, 16, h.out(4)), abi.StatusParameterFault)
	wantStatus(t, "data 4 GiB", h.k.WriteChannel(ch.handle, data, 0xFFFFFFFF, h.out(4)), abi.StatusParameterFault)

	for name, v := range map[string]uint32{
		"zero": 0, "random": 0x600D, "network": nw, "centre": c.handle, "HTTP channel": httpCh.handle, "closed": closed.handle,
	} {
		out := h.out(4)
		wantStatus(t, "write "+name, h.k.WriteChannel(v, data, 8, out), abi.StatusInvalidHandle)
		wantStatus(t, "stream "+name, h.k.WriteChannelStream(v, data, 8, out), abi.StatusInvalidHandle)
		if h.u32(out) != sentinel {
			t.Fatalf("%s: INVALIDHANDLE wrote the output", name)
		}
	}
	h.cloud.sync(t)
	if n := len(h.cloud.received(func(f link.Frame) bool { return f.Type == link.FrameData })); n != 0 {
		t.Fatalf("%d DATA frames after only failed writes", n)
	}

	// available/written unwritable: nothing queued → PARAMETERFAULT;
	// data queued → LATEFAULT (seed 003: "written is not a valid pointer,
	// but data has been written to the channel").
	for _, b := range badWritePtrs {
		wantStatus(t, "query, out "+b.name, h.k.WriteChannel(ch.handle, 0, 0, b.addr), abi.StatusParameterFault)
		wantStatus(t, "too big, out "+b.name, h.k.WriteChannel(ch.handle, data, 600, b.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "write, available in flash", h.k.WriteChannel(ch.handle, data, 10, flashBase), abi.StatusLateFault)
	wantStatus(t, "stream, written unmapped", h.k.WriteChannelStream(ch.handle, data+10, 10, 0x10), abi.StatusLateFault)
	h.waitData(ch.handle, h.bytes(data, 20))
	avail := h.out(4)
	wantStatus(t, "query", h.k.WriteChannel(ch.handle, 0, 0, avail), abi.StatusOkay)
	if h.u32(avail) != 492 {
		t.Fatalf("available %d after two late-faulted writes of 10, want 492", h.u32(avail))
	}

	// CHANNELCLOSED once the channel is disconnected.
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelResetByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 0x52)
	out := h.out(4)
	wantStatus(t, "write after disconnect", h.k.WriteChannel(ch.handle, data, 8, out), abi.StatusChannelClosed)
	wantStatus(t, "stream after disconnect", h.k.WriteChannelStream(ch.handle, data, 8, out), abi.StatusChannelClosed)
	wantStatus(t, "query after disconnect", h.k.WriteChannel(ch.handle, 0, 0, out), abi.StatusChannelClosed)
	if h.u32(out) != sentinel {
		t.Fatal("CHANNELCLOSED wrote the output")
	}
	// A bad pointer still comes first.
	wantStatus(t, "bad data after disconnect", h.k.WriteChannel(ch.handle, 0x10, 8, out), abi.StatusParameterFault)
}

func TestWriteChannelStream(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x61)
	src := pattern(600, 5)
	data := h.place(src)
	written := h.out(4)

	wantStatus(t, "stream 600 into 512", h.k.WriteChannelStream(ch.handle, data, 600, written), abi.StatusOkay)
	if h.u32(written) != 512 {
		t.Fatalf("written %d, want 512", h.u32(written))
	}
	h.waitData(ch.handle, src[:512])
	wantStatus(t, "stream into a full ring", h.k.WriteChannelStream(ch.handle, data+512, 88, written), abi.StatusOkay)
	if h.u32(written) != 0 {
		t.Fatalf("written %d into a full ring, want 0", h.u32(written))
	}
	h.cloud.send(t, link.Frame{Type: link.FrameCredit, Chan: ch.handle, Credit: 50})
	c.wait(abi.EventTypeChannelDataWriteSpace, 0x61)
	wantStatus(t, "stream after CREDIT 50", h.call("mvWriteChannelStream", uint64(ch.handle), uint64(data+512), 88, uint64(written)), abi.StatusOkay)
	if h.u32(written) != 50 {
		t.Fatalf("written %d, want 50", h.u32(written))
	}
	h.waitData(ch.handle, src[:562])
	if !bytes.Equal(h.bytes(ch.tx, 50), src[512:562]) {
		t.Fatal("the streamed bytes did not wrap to the ring's start")
	}
	wantStatus(t, "stream 0", h.k.WriteChannelStream(ch.handle, data, 0, written), abi.StatusOkay)
	if h.u32(written) != 0 {
		t.Fatalf("written %d for length 0", h.u32(written))
	}
}

// readChannel calls mvReadChannel and returns the pointer and length.
func (h *harness) readChannel(ch *channel) (mem.Addr, uint32) {
	h.t.Helper()
	pp, lp := h.out(4), h.out(4)
	wantStatus(h.t, "mvReadChannel", h.k.ReadChannel(ch.handle, pp, lp), abi.StatusOkay)
	return mem.Addr(h.u32(pp)), h.u32(lp)
}

func TestReadChannel(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	// An odd-sized, unaligned receive ring is fine for OPAQUEBYTES.
	p := h.chanParams(c, nw, abi.ChannelTypeOpaqueBytes, 200, 512, 0x71)
	p.ReceiveBuffer += 1
	p.ReceiveBufferLen = 100
	ch := h.openWith(p)

	if ptr, n := h.readChannel(ch); n != 0 || ptr != ch.rx {
		t.Fatalf("empty ring: %s, %d; want %s, 0", ptr, n, ch.rx)
	}
	in := pattern(60, 11)
	h.cloud.sendData(t, ch.handle, in)
	c.wait(abi.EventTypeChannelDataReadable, 0x71)
	ptr, n := h.readChannel(ch)
	if ptr != ch.rx || n != 60 || !bytes.Equal(h.bytes(ptr, uint64(n)), in) {
		t.Fatalf("read %s, %d; want %s, 60 and the data", ptr, n, ch.rx)
	}
	wantStatus(t, "complete 60", h.k.ReadChannelComplete(ch.handle, 60), abi.StatusOkay)
	eventually(t, "CREDIT 60", func() bool { return h.cloud.credit(ch.handle) == 60 })
	if n := c.count(abi.EventTypeChannelDataReadable, 0x71); n != 0 {
		t.Fatalf("%d CHANNELDATAREADABLE with nothing left", n)
	}

	// 70 bytes wrap: 40 at offset 60, 30 at the start.
	in2 := pattern(70, 22)
	h.cloud.sendData(t, ch.handle, in2)
	c.wait(abi.EventTypeChannelDataReadable, 0x71)
	ptr, n = h.readChannel(ch)
	if ptr != ch.rx+60 || n != 40 || !bytes.Equal(h.bytes(ptr, 40), in2[:40]) {
		t.Fatalf("read %s, %d; want %s, 40 (contiguous part)", ptr, n, ch.rx+60)
	}
	// Consuming part of what remains posts a further CHANNELDATAREADABLE.
	wantStatus(t, "complete 25", h.k.ReadChannelComplete(ch.handle, 25), abi.StatusOkay)
	c.wait(abi.EventTypeChannelDataReadable, 0x71)
	ptr, n = h.readChannel(ch)
	if ptr != ch.rx+85 || n != 15 {
		t.Fatalf("read %s, %d; want %s, 15", ptr, n, ch.rx+85)
	}
	wantStatus(t, "complete 15", h.k.ReadChannelComplete(ch.handle, 15), abi.StatusOkay)
	c.wait(abi.EventTypeChannelDataReadable, 0x71)
	ptr, n = h.readChannel(ch)
	if ptr != ch.rx || n != 30 || !bytes.Equal(h.bytes(ptr, 30), in2[40:]) {
		t.Fatalf("read %s, %d; want %s, 30 (wrapped part)", ptr, n, ch.rx)
	}
	// Consuming more than is unread is clamped.
	wantStatus(t, "complete 1000", h.call("mvReadChannelComplete", uint64(ch.handle), 1000), abi.StatusOkay)
	eventually(t, "CREDIT for all 130 bytes", func() bool { return h.cloud.credit(ch.handle) == 130 })
	if n := c.count(abi.EventTypeChannelDataReadable, 0x71); n != 0 {
		t.Fatalf("%d CHANNELDATAREADABLE after draining", n)
	}
	wantStatus(t, "complete 0", h.k.ReadChannelComplete(ch.handle, 0), abi.StatusOkay)

	// The ring can be filled exactly; data arriving is readable after the
	// link drops, and CHANNELCLOSED comes only once it is drained.
	full := pattern(100, 33)
	h.cloud.sendData(t, ch.handle, full)
	c.wait(abi.EventTypeChannelDataReadable, 0x71)
	h.cloud.setRefuse(true)
	h.cloud.drop(t)
	c.wait(abi.EventTypeChannelNotConnected, 0x71)
	pp, lp := h.out(4), h.out(4)
	wantStatus(t, "read after disconnect", h.call("mvReadChannel", uint64(ch.handle), uint64(pp), uint64(lp)), abi.StatusOkay)
	if mem.Addr(h.u32(pp)) != ch.rx+30 || h.u32(lp) != 70 || !bytes.Equal(h.bytes(ch.rx+30, 70), full[:70]) {
		t.Fatalf("read after disconnect: %#x, %d", h.u32(pp), h.u32(lp))
	}
	wantStatus(t, "complete after disconnect", h.k.ReadChannelComplete(ch.handle, 70), abi.StatusOkay)
	ptr, n = h.readChannel(ch)
	if ptr != ch.rx || n != 30 || !bytes.Equal(h.bytes(ptr, 30), full[70:]) {
		t.Fatalf("second read after disconnect: %s, %d", ptr, n)
	}
	wantStatus(t, "complete the rest", h.k.ReadChannelComplete(ch.handle, 30), abi.StatusOkay)
	if got := h.cloud.credit(ch.handle); got != 130 {
		t.Fatalf("CREDIT %d: sent on a dead link", got)
	}
	h.put32(lp, sentinel)
	wantStatus(t, "read when drained", h.k.ReadChannel(ch.handle, pp, lp), abi.StatusChannelClosed)
	if h.u32(lp) != sentinel {
		t.Fatal("CHANNELCLOSED wrote the length")
	}
	wantStatus(t, "complete when drained", h.k.ReadChannelComplete(ch.handle, 1), abi.StatusChannelClosed)
}

func TestReadChannelFaults(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x72)
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 0x73)
	closed := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 512, 512, 0x74)
	h.closeChannel(closed)

	for _, b := range badWritePtrs {
		pp, lp := h.out(4), h.out(4)
		wantStatus(t, "ptr out "+b.name, h.k.ReadChannel(ch.handle, b.addr, lp), abi.StatusParameterFault)
		wantStatus(t, "len out "+b.name, h.k.ReadChannel(ch.handle, pp, b.addr), abi.StatusParameterFault)
		wantStatus(t, "len out "+b.name+", bad handle", h.k.ReadChannel(0, pp, b.addr), abi.StatusParameterFault)
		if h.u32(pp) != sentinel || h.u32(lp) != sentinel {
			t.Fatalf("%s: PARAMETERFAULT wrote an output", b.name)
		}
	}
	for name, v := range map[string]uint32{
		"zero": 0, "random": 0x7777, "network": nw, "centre": c.handle, "HTTP channel": httpCh.handle, "closed": closed.handle,
	} {
		pp, lp := h.out(4), h.out(4)
		wantStatus(t, "read "+name, h.k.ReadChannel(v, pp, lp), abi.StatusInvalidHandle)
		wantStatus(t, "complete "+name, h.k.ReadChannelComplete(v, 1), abi.StatusInvalidHandle)
		if h.u32(pp) != sentinel || h.u32(lp) != sentinel {
			t.Fatalf("%s: INVALIDHANDLE wrote an output", name)
		}
	}
	// Disconnected with nothing to read.
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 0x72)
	wantStatus(t, "read", h.k.ReadChannel(ch.handle, h.out(4), h.out(4)), abi.StatusChannelClosed)
	wantStatus(t, "complete", h.k.ReadChannelComplete(ch.handle, 0), abi.StatusChannelClosed)
	// Data for a disconnected channel is ignored; the link survives.
	h.cloud.sendData(t, ch.handle, []byte("late"))
	h.cloud.sync(t)
	wantStatus(t, "read after late data", h.k.ReadChannel(ch.handle, h.out(4), h.out(4)), abi.StatusChannelClosed)
	if !h.k.LinkUp() {
		t.Fatal("late data broke the link")
	}
}
