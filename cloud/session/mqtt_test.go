package session_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

const mqttCh = uint8(abi.ChannelTypeMQTT)

// itemReader collects the MQTT items the cloud sends a fake device on
// one channel.
type itemReader struct {
	t   *testing.T
	d   *fakedev.Device
	ch  uint32
	buf []byte // the start of an item still arriving
}

// next reads DATA frames until n more whole items have arrived and returns
// them with the bytes they took; any other frame fails the test.
func (r *itemReader) next(n int) ([]link.MQTTItem, int) {
	r.t.Helper()
	var out []link.MQTTItem
	total := 0
	for {
		for len(out) < n {
			it, used, err := link.ParseMQTTItem(r.buf)
			if errors.Is(err, link.ErrShort) {
				break
			}
			if err != nil {
				r.t.Fatalf("malformed item: %v", err)
			}
			out = append(out, it)
			total += used
			r.buf = r.buf[used:]
		}
		if len(out) == n {
			return out, total
		}
		f := r.d.Next()
		if f.Type != link.FrameData || f.Chan != r.ch {
			r.t.Fatalf("got %v %+v, want DATA on %#x (items so far: %d)", f.Type, f, r.ch, len(out))
		}
		r.buf = append(r.buf, f.Payload...)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return uint16(port)
}

// TestMQTTRequests: requests are taken as they complete (split across
// DATA frames or several in one), their bytes granted back as CREDIT once
// handed to the broker session, and answered as items.
func TestMQTTRequests(t *testing.T) {
	r := hello(t, session.Config{MQTT: &session.MQTTConfig{Plaintext: true}})
	d := r.dev
	d.Open(1, mqttCh, 512, 512)
	rd := &itemReader{t: t, d: d, ch: 1}
	pub := (&link.MQTTPublishRequest{CorrelationID: 5, Topic: "t", Payload: []byte("x"), QoS: 1}).Append(nil)
	// Half a request: nothing to do yet.
	d.Data(1, pub[:7])
	d.SyncQuiet()
	// The rest and a whole subscribe: both taken, both credited.
	sub := (&link.MQTTSubscribeRequest{CorrelationID: 6, Subscriptions: []link.MQTTSubscription{{Topic: "a"}}}).Append(nil)
	d.Data(1, append(pub[7:], sub...))
	if f := d.Expect(link.FrameCredit); f.Chan != 1 || int(f.Credit) != len(pub)+len(sub) {
		t.Fatalf("CREDIT %+v, want %d bytes", f, len(pub)+len(sub))
	}
	got, _ := rd.next(2)
	if p, ok := got[0].(*link.MQTTPublishResponseItem); !ok || *p != (link.MQTTPublishResponseItem{RequestState: uint32(abi.MQTTRequestStateNotConnected), CorrelationID: 5}) {
		t.Fatalf("first item %#v", got[0])
	}
	if s, ok := got[1].(*link.MQTTSubscribeResponseItem); !ok || s.CorrelationID != 6 || s.RequestState != uint32(abi.MQTTRequestStateNotConnected) {
		t.Fatalf("second item %#v", got[1])
	}
	// A connect to a closed port: SOCKETERROR.
	conn := (&link.MQTTConnectRequest{Protocol: 1, CleanStart: true, Port: closedPort(t), Host: "127.0.0.1", ClientID: "c"}).Append(nil)
	d.Data(1, conn)
	d.Expect(link.FrameCredit)
	got, _ = rd.next(1)
	if c, ok := got[0].(*link.MQTTConnectResponseItem); !ok || c.RequestState != uint32(abi.MQTTRequestStateSocketError) {
		t.Fatalf("connect response %#v", got[0])
	}
	d.SyncQuiet() // the channel stays open
	if info := r.sess.Info(); len(info.Channels) != 1 {
		t.Fatalf("channels %+v", info.Channels)
	}
}

// TestMQTTMalformedRequest: a request that does not parse, or one larger
// than the device's send ring could ever hold, closes the channel with
// UNEXPECTEDLYTERMINATED; the link stays up.
func TestMQTTMalformedRequest(t *testing.T) {
	for name, data := range map[string][]byte{
		"an item":     (&link.MQTTDisconnectResponseItem{}).Append(nil),
		"QoS 2":       (&link.MQTTPublishRequest{Topic: "t", QoS: 2}).Append(nil),
		"short total": {3, 0, 0, 0, 6},
		"over the ring": func() []byte {
			b := (&link.MQTTPublishRequest{Topic: "t", Payload: make([]byte, 600)}).Append(nil)
			return b[:512]
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			r := hello(t, session.Config{MQTT: &session.MQTTConfig{Plaintext: true}})
			r.dev.Open(1, mqttCh, 512, 512)
			r.dev.Data(1, data)
			if f := r.dev.Expect(link.FrameClose); f.Chan != 1 || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
				t.Fatalf("got %+v", f)
			}
			r.dev.Data(1, []byte("crossed the CLOSE"))
			r.dev.SyncQuiet()
		})
	}
}

// TestMQTTCloseWaitsForResponses: when the broker session ends, the
// responses and the news queued for the device go before the CLOSE. A
// device that does not make room gets the CLOSE after CloseGrace; one that
// does gets everything, then the CLOSE.
func TestMQTTCloseWaitsForResponses(t *testing.T) {
	mosquitto.Require(t)
	for _, credit := range []bool{false, true} {
		name := "no credit"
		if credit {
			name = "credit"
		}
		t.Run(name, func(t *testing.T) {
			br := mosquitto.Start(t, mosquitto.Options{})
			// Without credit the test waits the grace out; with credit it
			// must make room within it, so there it is far longer than a
			// loaded machine could delay the test.
			grace := 300 * time.Millisecond
			if credit {
				grace = 30 * time.Second
			}
			r := hello(t, session.Config{MQTT: &session.MQTTConfig{CloseGrace: grace, Plaintext: true}})
			d := r.dev
			d.Open(1, mqttCh, 512, 1024)
			rd := &itemReader{t: t, d: d, ch: 1}
			d.Data(1, (&link.MQTTConnectRequest{Protocol: 1, CleanStart: true, Port: uint16(br.Port), Host: "127.0.0.1", ClientID: "grace"}).Append(nil))
			d.Expect(link.FrameCredit)
			_, n := rd.next(1)
			d.Credit(1, uint32(n))
			// 40 QoS 0 publishes (800 bytes): their responses (17 bytes
			// each) overflow the 512-byte receive ring.
			var reqs []byte
			for i := range 40 {
				reqs = (&link.MQTTPublishRequest{CorrelationID: uint32(i), Topic: "t", QoS: 0}).Append(reqs)
			}
			d.Data(1, reqs)
			d.Expect(link.FrameCredit)
			_, got := rd.next(512 / 17)
			stopped := time.Now() // the grace starts after this, when the cloud sees the loss
			br.Stop()
			// The broker closes (CHANNELCLOSEDBYSERVER), or resets a
			// connection it had not read everything from
			// (CONNECTIONTERMINATED).
			checkClose := func(f link.Frame) {
				t.Helper()
				if f.Reason != uint8(abi.ClosureReasonChannelClosedByServer) && f.Reason != uint8(abi.ClosureReasonConnectionTerminated) {
					t.Fatalf("CLOSE %+v", f)
				}
			}
			wantClose := func() { t.Helper(); checkClose(d.Expect(link.FrameClose)) }
			if !credit {
				// Nothing but DATA until the CLOSE, which comes no sooner
				// than the grace after the loss (a lower bound only).
				closed := false
				for _, f := range d.Sync() {
					if f.Type == link.FrameClose && !closed {
						checkClose(f)
						closed = true
						continue
					}
					if f.Type != link.FrameData || closed {
						t.Fatalf("%v %+v while waiting for the CLOSE", f.Type, f)
					}
				}
				if !closed {
					wantClose()
				}
				if el := time.Since(stopped); el < grace {
					t.Fatalf("CLOSE %v after the broker stopped, before the %v grace", el, grace)
				}
				return
			}
			d.Credit(1, uint32(got))
			rest, _ := rd.next(40 - 512/17 + 1)
			if dr, ok := rest[len(rest)-1].(*link.MQTTDisconnectResponseItem); !ok || dr.RequestState != uint32(abi.MQTTRequestStateNotConnected) {
				t.Fatalf("last item %#v, want the news of the disconnect", rest[len(rest)-1])
			}
			wantClose()
		})
	}
}

// TestMQTTHostileDeviceBounded: a device that ignores the kernel's limits
// on requests in flight and never reads its receive ring cannot make the
// cloud hold responses without bound: once more than the receive ring's
// size waits, its request bytes are no longer granted back, so it runs out
// of send window. Reading resumes the grants.
func TestMQTTHostileDeviceBounded(t *testing.T) {
	r := hello(t, session.Config{MQTT: &session.MQTTConfig{Plaintext: true}})
	d := r.dev
	const rx, tx = 512, 512
	d.Open(1, mqttCh, rx, tx)
	pub := (&link.MQTTPublishRequest{CorrelationID: 1, Topic: "t"}).Append(nil) // NOTCONNECTED: answered at once
	window, received := tx, 0
	for range 100 {
		for window >= len(pub) {
			d.Data(1, pub)
			window -= len(pub)
		}
		for _, f := range d.Sync() {
			switch f.Type {
			case link.FrameCredit:
				window += int(f.Credit)
			case link.FrameData:
				received += len(f.Payload)
			}
		}
		if window < len(pub) {
			break
		}
	}
	if window >= len(pub) {
		t.Fatal("the cloud kept granting credit to a device that never reads")
	}
	// Responses are produced asynchronously: the ones already granted may
	// still be on their way when the grants stop. So may grants for
	// requests answered while few responses waited; they count as credit
	// given back once the device reads (below).
	credited := 0
	poll.Wait(fakedev.Wait, func() bool {
		for _, f := range d.Sync() {
			switch f.Type {
			case link.FrameCredit:
				credited += int(f.Credit)
			case link.FrameData:
				received += len(f.Payload)
			}
		}
		return received >= rx
	})
	if received != rx {
		t.Fatalf("the device got %d bytes of DATA, want its whole receive ring (%d)", received, rx)
	}
	// Grants stop once more than rx bytes wait; requests granted before
	// that may still be answered (results come asynchronously): at most
	// the unanswered ones the cloud allows and one send window's worth,
	// 17 bytes of response each.
	if !poll.Wait(fakedev.Wait, func() bool { return r.sess.Pending(1) > rx }) {
		t.Fatalf("the cloud holds %d bytes for the device, want more than %d", r.sess.Pending(1), rx)
	}
	if p, limit := r.sess.Pending(1), rx+(64+1+tx/len(pub))*17; p > limit {
		t.Fatalf("the cloud holds %d bytes for the device, want at most %d", p, limit)
	}
	// The device reads everything: the responses flow, and so do grants.
	for r.sess.Pending(1) > 0 {
		d.Credit(1, uint32(received))
		received = 0
		for _, f := range d.Sync() {
			switch f.Type {
			case link.FrameCredit:
				credited += int(f.Credit)
			case link.FrameData:
				received += len(f.Payload)
			}
		}
	}
	// The grants for requests answered last may still be on their way.
	poll.Wait(fakedev.Wait, func() bool {
		for _, f := range d.Sync() {
			if f.Type == link.FrameCredit {
				credited += int(f.Credit)
			}
		}
		return credited > 0
	})
	if credited == 0 {
		t.Fatal("no credit granted back once the device read its responses")
	}
}
