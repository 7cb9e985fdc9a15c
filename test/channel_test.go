package test

import (
	"bytes"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
)

// Byte-stream (OPAQUEBYTES) channels against the cloud's echo service, and
// what releasing the network does to open channels.

// readStream reads from an OPAQUEBYTES channel until want bytes have
// arrived, consuming them as it goes.
func (v *dev) readStream(ch *device.Channel, tag uint32, want int) []byte {
	v.t.Helper()
	var got []byte
	for len(got) < want {
		b, st := v.d.ReadChannel(ch)
		if st != abi.StatusOkay {
			v.t.Fatalf("mvReadChannel after %d of %d bytes: %s", len(got), want, st)
		}
		if len(b) == 0 {
			v.waitEvent(tag, abi.EventTypeChannelDataReadable)
			continue
		}
		got = append(got, b...)
		if st := v.d.ReadChannelComplete(ch, uint32(len(b))); st != abi.StatusOkay {
			v.t.Fatalf("mvReadChannelComplete(%d): %s", len(b), st)
		}
	}
	return got
}

func TestOpaqueEcho(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.open(abi.ChannelTypeOpaqueBytes, 512, 512)
	msg := []byte("hello, cloud")
	avail, st, err := v.d.WriteChannel(ch, msg)
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvWriteChannel: %s %v", st, err)
	}
	if avail > 512-uint32(len(msg)) {
		t.Errorf("mvWriteChannel reports %d bytes free after writing %d into 512", avail, len(msg))
	}
	v.waitEvent(tag, abi.EventTypeChannelDataReadable)
	if got := v.readStream(ch, tag, len(msg)); !bytes.Equal(got, msg) {
		t.Fatalf("echo %q, want %q", got, msg)
	}
	// Nothing more is readable, and the channel is still connected.
	if b, st := v.d.ReadChannel(ch); st != abi.StatusOkay || len(b) != 0 {
		t.Errorf("mvReadChannel with nothing left: %q %s, want empty OKAY", b, st)
	}
	if r := v.closureReason(ch); r != abi.ClosureReasonNone {
		t.Errorf("closure reason %s while connected, want NONE", r)
	}

	// All or nothing: a write larger than the send buffer is refused.
	if _, st, err := v.d.WriteChannel(ch, make([]byte, 513)); err != nil || st != abi.StatusInvalidBufferSize {
		t.Errorf("mvWriteChannel of 513 bytes into a 512-byte send buffer: %s %v, want INVALIDBUFFERSIZE", st, err)
	}
	// Once the echo's credit is back, the send buffer is all free again.
	eventually(t, "the send buffer is empty again", func() bool {
		free, st, _ := v.d.WriteChannel(ch, nil)
		return st == abi.StatusOkay && free == 512
	})
}

// TestOpaqueBackpressure: a device that does not read fills its receive ring
// (512 bytes); the cloud then holds what it cannot echo and stops granting
// credit, so the send ring (512 bytes) fills too and reports no free space.
// Reading then lets everything through, in order.
func TestOpaqueBackpressure(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const rx, tx = 512, 512
	ch, tag := v.open(abi.ChannelTypeOpaqueBytes, rx, tx)
	const capacity = rx + tx // bytes in flight once both rings are full
	data := patternBody(capacity + 200)

	written := 0
	for written < capacity {
		n, st, err := v.d.WriteChannelStream(ch, data[written:min(written+100, len(data))])
		if err != nil || st != abi.StatusOkay {
			t.Fatalf("mvWriteChannelStream after %d bytes: %s %v", written, st, err)
		}
		written += int(n)
		if n == 0 {
			// The send ring is full: wait for the cloud's credit.
			if _, err := v.waitEventErr(tag, abi.EventTypeChannelDataWriteSpace, waitLimit); err != nil {
				t.Fatalf("the send ring stayed full after %d bytes (want %d before it stops): %v", written, capacity, err)
			}
		}
	}
	if written != capacity {
		t.Fatalf("wrote %d bytes, want %d", written, capacity)
	}
	// Both rings are full: no free space, and a stream write takes nothing.
	if free, st, _ := v.d.WriteChannel(ch, nil); st != abi.StatusOkay || free != 0 {
		t.Fatalf("free space with both rings full: %d %s, want 0 OKAY", free, st)
	}
	if n, st, _ := v.d.WriteChannelStream(ch, data[written:written+1]); st != abi.StatusOkay || n != 0 {
		t.Fatalf("mvWriteChannelStream with both rings full: wrote %d, %s; want 0 OKAY", n, st)
	}
	if free, st, _ := v.d.WriteChannel(ch, data[written:written+1]); st != abi.StatusInvalidBufferSize || free != 0 {
		t.Fatalf("mvWriteChannel with both rings full: %s free %d, want INVALIDBUFFERSIZE 0", st, free)
	}
	// The receive ring holds exactly its size, unread.
	if b, st := v.d.ReadChannel(ch); st != abi.StatusOkay || len(b) != rx || !bytes.Equal(b, data[:rx]) {
		t.Fatalf("mvReadChannel with a full ring: %d bytes %s, want the first %d bytes written", len(b), st, rx)
	}

	// Read everything; writing the rest meanwhile.
	var got []byte
	for len(got) < len(data) {
		if written < len(data) {
			n, st, err := v.d.WriteChannelStream(ch, data[written:])
			if err != nil || st != abi.StatusOkay {
				t.Fatalf("mvWriteChannelStream: %s %v", st, err)
			}
			written += int(n)
		}
		b, st := v.d.ReadChannel(ch)
		if st != abi.StatusOkay {
			t.Fatalf("mvReadChannel after %d bytes: %s", len(got), st)
		}
		if len(b) == 0 {
			v.waitEvent(tag, abi.EventTypeChannelDataReadable)
			continue
		}
		got = append(got, b...)
		if st := v.d.ReadChannelComplete(ch, uint32(len(b))); st != abi.StatusOkay {
			t.Fatalf("mvReadChannelComplete: %s", st)
		}
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < len(got) && got[i] == data[i] {
			i++
		}
		t.Fatalf("read back %d bytes differing from what was written at byte %d", len(got), i)
	}
}

// TestReleaseLastNetworkHandle: releasing the last network handle takes the
// link down; every open channel gets CHANNELNOTCONNECTED with
// NETWORKDISCONNECTED.
func TestReleaseLastNetworkHandle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	httpCh, httpTag := v.openHTTP(4096)
	opaqueCh, opaqueTag := v.open(abi.ChannelTypeOpaqueBytes, 512, 512)
	eventually(t, "the cloud lists both channels", func() bool {
		return cloudHasChannel(e, v.d.ID(), httpCh.Handle) && cloudHasChannel(e, v.d.ID(), opaqueCh.Handle)
	})

	if st := v.d.ReleaseNetwork(v.n.Handle); st != abi.StatusOkay {
		t.Fatalf("mvReleaseNetwork: %s", st)
	}
	v.waitEvent(httpTag, abi.EventTypeChannelNotConnected)
	v.waitEvent(opaqueTag, abi.EventTypeChannelNotConnected)
	for _, ch := range []*device.Channel{httpCh, opaqueCh} {
		if r := v.closureReason(ch); r != abi.ClosureReasonNetworkDisconnected {
			t.Errorf("channel %#x: closure reason %s, want NETWORKDISCONNECTED", ch.Handle, r)
		}
	}
	if st, _ := v.d.SendHTTPRequest(httpCh, get(e.url("/hello"))); st != abi.StatusChannelClosed {
		t.Errorf("mvSendHttpRequest after the release: %s, want CHANNELCLOSED", st)
	}
	if _, st, _ := v.d.WriteChannel(opaqueCh, []byte("x")); st != abi.StatusChannelClosed {
		t.Errorf("mvWriteChannel after the release: %s, want CHANNELCLOSED", st)
	}
	if _, st := v.d.GetNetworkStatus(v.n.Handle); st != abi.StatusInvalidHandle {
		t.Errorf("mvGetNetworkStatus on the released handle: %s, want INVALIDHANDLE", st)
	}
	// No handle is left, so the device lets the link go.
	eventually(t, "the cloud no longer lists the device", func() bool {
		for _, d := range e.cloud.Devices() {
			if d.DeviceID == v.d.ID() {
				return false
			}
		}
		return true
	})

	// Requesting the network again brings it back.
	h, st := v.d.RequestNetwork(v.n.Centre, netTag)
	if st != abi.StatusOkay {
		t.Fatalf("mvRequestNetwork: %s", st)
	}
	v.n.Handle = h
	v.waitNetStatus(abi.NetworkStatusConnected)
	for _, ch := range []*device.Channel{httpCh, opaqueCh} {
		if st := v.d.CloseChannel(ch); st != abi.StatusOkay {
			t.Errorf("mvCloseChannel: %s", st)
		}
	}
	if _, data := v.do(get(e.url("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("after requesting the network again: result %s status %d", data.Result, data.StatusCode)
	}
}
