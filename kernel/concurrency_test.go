package kernel_test

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// streamByte is byte i of the stream the cloud sends.
func streamByte(i int) byte { return byte(i*31 + i>>8) }

// TestConcurrentSyscallsWhileCloudStreams runs, all at once: the cloud
// streaming into an opaque channel under flow control, a reader draining
// it, a writer streaming out on another channel, an HTTP open/send/close
// loop, an ISR draining the notification ring, a clock, TIME frames from
// the cloud, and goroutines hammering the read-only calls. Run with -race.
func TestConcurrentSyscallsWhileCloudStreams(t *testing.T) {
	const streamLen = 96 << 10
	const writeLen = 64 << 10
	h := newHarness(t)
	h.cloud.setAutoCredit(true)
	c, nw := h.ready()
	other := h.newCentre(41, 16)
	rx := h.open(c, nw, abi.ChannelTypeOpaqueBytes, 1000, 512, 0xCAFE)
	wr := h.open(other, nw, abi.ChannelTypeOpaqueBytes, 512, 1024, 0xD00D)
	httpCentre := h.newCentre(42, 16)

	// Everything the goroutines use is allocated up front: the harness's
	// helpers may fail the test, which only the test goroutine may do.
	type outs struct{ a, b, c mem.Addr }
	alloc := func() outs { return outs{h.out(8), h.out(8), h.out(64)} }
	readerOut, writerOut, httpOut := alloc(), alloc(), alloc()
	var misc [4]outs
	for i := range misc {
		misc[i] = alloc()
	}
	writeSrc := make([]byte, writeLen)
	for i := range writeSrc {
		writeSrc[i] = byte(i*13 + 7)
	}
	writeData := h.place(writeSrc)
	httpParams := h.alloc(44, 4)
	_ = abi.Device.WriteOpenChannelParams(h.a, httpParams, h.chanParams(httpCentre, nw, abi.ChannelTypeHTTP, 512, 512, 0xEE))
	httpReqAddr := h.writeRequest(h.httpRequest(getReq))

	var (
		wg      sync.WaitGroup
		done    = make(chan struct{})
		readOK  atomic.Bool
		writeOK atomic.Bool
	)
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	stopped := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}

	// The cloud streams, never beyond the credit the device granted.
	run(func() {
		sent := 0
		for sent < streamLen && !stopped() {
			avail := int(rx.rxLen) - (sent - int(h.cloud.credit(rx.handle)))
			if avail <= 0 {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			n := min(avail, 1+sent%333, streamLen-sent)
			p := make([]byte, n)
			for i := range p {
				p[i] = streamByte(sent + i)
			}
			if err := h.cloud.trySend(link.Frame{Type: link.FrameData, Chan: rx.handle, Payload: p}); err != nil {
				t.Errorf("stream: %v", err)
				return
			}
			sent += n
		}
	})
	// The reader drains in uneven amounts and checks every byte.
	run(func() {
		got := 0
		for got < streamLen && !stopped() {
			if st := h.k.ReadChannel(rx.handle, readerOut.a, readerOut.b); st != abi.StatusOkay {
				t.Errorf("mvReadChannel: %v", st)
				return
			}
			pb, _ := h.a.Bytes(readerOut.a, 4)
			lb, _ := h.a.Bytes(readerOut.b, 4)
			ptr, n := mem.Addr(binary.LittleEndian.Uint32(pb)), int(binary.LittleEndian.Uint32(lb))
			if n == 0 {
				time.Sleep(50 * time.Microsecond)
				continue
			}
			take := min(n, 1+got%97)
			data, err := h.a.Bytes(ptr, uint64(take))
			if err != nil {
				t.Errorf("read pointer %s: %v", ptr, err)
				return
			}
			for i, b := range data {
				if b != streamByte(got+i) {
					t.Errorf("stream byte %d = %#x, want %#x", got+i, b, streamByte(got+i))
					return
				}
			}
			if st := h.k.ReadChannelComplete(rx.handle, uint32(take)); st != abi.StatusOkay {
				t.Errorf("mvReadChannelComplete: %v", st)
				return
			}
			got += take
		}
		readOK.Store(got == streamLen)
	})
	// The writer streams out; the cloud credits everything back.
	run(func() {
		put := 0
		for put < writeLen && !stopped() {
			n := uint32(min(writeLen-put, 1+put%700))
			if st := h.k.WriteChannelStream(wr.handle, writeData+mem.Addr(put), n, writerOut.a); st != abi.StatusOkay {
				t.Errorf("mvWriteChannelStream: %v", st)
				return
			}
			b, _ := h.a.Bytes(writerOut.a, 4)
			w := int(binary.LittleEndian.Uint32(b))
			if w == 0 {
				time.Sleep(50 * time.Microsecond)
			}
			put += w
		}
		writeOK.Store(put == writeLen)
	})
	// HTTP channels come and go on their own centre.
	run(func() {
		for !stopped() {
			st := h.k.OpenChannel(httpParams, httpOut.a)
			if st == abi.StatusRateLimited {
				time.Sleep(100 * time.Microsecond)
				continue
			}
			if st != abi.StatusOkay {
				t.Errorf("mvOpenChannel: %v", st)
				return
			}
			b, _ := h.a.Bytes(httpOut.a, 4)
			ch := binary.LittleEndian.Uint32(b)
			if st := h.k.SendHTTPRequest(ch, httpReqAddr); st != abi.StatusOkay {
				t.Errorf("mvSendHttpRequest: %v", st)
			}
			if st := h.k.ReadHTTPResponseData(ch, httpOut.c); st != abi.StatusResponseNotPresent {
				t.Errorf("mvReadHttpResponseData: %v", st)
			}
			if st := h.k.CloseChannel(httpOut.a); st != abi.StatusOkay {
				t.Errorf("mvCloseChannel: %v", st)
				return
			}
		}
	})
	// Time passes; the cloud resynchronises it now and then.
	run(func() {
		for i := 0; !stopped(); i++ {
			h.clk.advance(7 * time.Millisecond)
			if i%50 == 0 {
				_ = h.cloud.trySend(link.Frame{Type: link.FrameTime, WallTimeUS: welcomeWallUS + uint64(i)})
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	// The ISRs: consume every record, as the application would.
	for _, ctr := range []*centre{c, other, httpCentre} {
		run(func() {
			for !stopped() {
				for {
					slot := ctr.buf + mem.Addr(ctr.next*16)
					b, _ := h.a.Bytes(slot, 16)
					if abi.DecodeNotification(b).EventType == abi.EventTypeNoEvent {
						break
					}
					_ = h.a.Store(slot+8, make([]byte, 4))
					ctr.next = (ctr.next + 1) % ctr.slots
				}
				time.Sleep(100 * time.Microsecond)
			}
		})
	}
	// Read-only calls from several goroutines.
	for i := range misc {
		o := misc[i]
		run(func() {
			for !stopped() {
				check := func(what string, st abi.Status, ok ...abi.Status) {
					for _, s := range append(ok, abi.StatusOkay) {
						if st == s {
							return
						}
					}
					t.Errorf("%s: %v", what, st)
				}
				check("mvGetMicroseconds", h.k.GetMicroseconds(o.a))
				check("mvGetWallTime", h.k.GetWallTime(o.a))
				check("mvGetNetworkStatus", h.k.GetNetworkStatus(nw, o.a))
				check("mvGetNetworkReasons", h.k.GetNetworkReasons(o.a, o.b))
				check("mvGetDeviceId", h.k.GetDeviceID(o.c, 34))
				check("mvGetChannelClosureReason", h.k.GetChannelClosureReason(rx.handle, o.b))
				check("mvWriteChannel query", h.k.WriteChannel(wr.handle, 0, 0, o.b))
				check("mvReadHttpResponseData on opaque", h.k.ReadHTTPResponseData(rx.handle, o.c), abi.StatusInvalidHandle)
				time.Sleep(20 * time.Microsecond)
			}
		})
	}

	eventually(t, "stream read and written", func() bool { return readOK.Load() && writeOK.Load() || t.Failed() })
	close(done)
	wg.Wait()
	if t.Failed() {
		return
	}
	eventually(t, "written data at the cloud", func() bool { return len(h.cloud.data(wr.handle)) == writeLen })
	if !bytes.Equal(h.cloud.data(wr.handle), writeSrc) {
		t.Fatal("the cloud received different bytes from the writer")
	}
	eventually(t, "all stream credit returned", func() bool { return h.cloud.credit(rx.handle) == streamLen })
	if r := h.closureReason(rx); r != abi.ClosureReasonNone {
		t.Fatalf("stream channel reason %v", r)
	}
	if _, ov, _ := h.k.NotificationStats(c.handle); ov != 0 {
		t.Logf("%d overruns on the stream's centre (the ISR fell behind)", ov)
	}
}
