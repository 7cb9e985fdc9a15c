package faults_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mvnet/mvnet/cloud/devctx"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/internal/vclock"
)

// waitLent waits until v has no hold in force: a sleeper has lent the
// test's work's hold (the test itself holds none).
func waitLent(t *testing.T, v *vclock.Virtual) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := v.WaitIdle(ctx); err != nil {
		t.Fatal("the sleeper never let its hold go:", err)
	}
}

// An http-delay runs on the device's clock: a request made holding it
// (as the session does) reaches the server at exactly virtual 3 s, and
// the clock cannot pass 3 s before the request is over.
func TestVirtualHTTPDelay(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(3 * time.Second)})
	reached := make(chan time.Duration, 1)
	rt := i.WrapTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		reached <- v.Now().Sub(epoch)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	}))
	release := v.Hold() // the session's hold for the request
	done := make(chan error, 1)
	go func() {
		defer release()
		resp, err := do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	advance(t, v, 3*time.Second-time.Nanosecond)
	select {
	case at := <-reached:
		t.Fatalf("the server was reached at virtual %v, before 3 s", at)
	default:
	}
	advance(t, v, 10*time.Second) // returns once the request's hold is released
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the clock moved on while the request still held it")
	}
	if at := <-reached; at != 3*time.Second {
		t.Fatalf("the server was reached at virtual %v, want 3s", at)
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}

// A request cancelled during its virtual delay returns at once, holding
// the clock again as it did (the lent hold is back), and never reaches the
// server; no timer is left.
func TestVirtualHTTPDelayCancelled(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(3 * time.Second)})
	calls := 0
	rt := i.WrapTransport(chunked("x", &calls))
	ctx, cancel := context.WithCancel(devctx.With(context.Background(), dev))
	release := v.Hold()
	type outcome struct {
		err   error
		holds int
	}
	done := make(chan outcome, 1)
	go func() {
		_, err := do(t, rt, ctx, "https://a.example/x")
		done <- outcome{err, v.Holds()}
		release()
	}()
	waitLent(t, v)
	cancel()
	o := <-done
	if !errors.Is(o.err, context.Canceled) || calls != 0 {
		t.Fatalf("cancelled delayed request: %v, %d upstream calls", o.err, calls)
	}
	if o.holds != 1 {
		t.Fatalf("%d holds when the cancelled request returned, want the caller's 1", o.holds)
	}
	if at, ok := v.Next(); ok {
		t.Fatalf("timer left at %v", at.Sub(epoch))
	}
}

// readPacket reads one MQTT packet from br: its type and body.
func readPacket(t *testing.T, br *bufio.Reader) (byte, []byte) {
	t.Helper()
	hb, err := br.ReadByte()
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	n, _, err := packets.DecodeLength(br)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Error(err)
	}
	return hb >> 4, body
}

// virtualStream connects through i's WrapConnect to a pipe and returns
// the device's stream and the broker's end.
func virtualStream(t *testing.T, i *faults.Injector) (net.Conn, net.Conn) {
	t.Helper()
	base, ends := brokerPipe()
	conn, err := i.WrapConnect(base)(devctx.With(context.Background(), dev), "b:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, <-ends
}

// An mqtt-delay holds a PUBLISH nobody asked for until virtual now+Delay,
// and holds the clock there until the bridge comes back for the next
// packet: the message is handed on at its instant.
func TestVirtualMQTTDelay(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(2 * time.Second)})
	conn, broker := virtualStream(t, i)
	got := make(chan time.Duration, 2)
	handed := make(chan struct{})
	go func() {
		br := bufio.NewReader(conn)
		readPacket(t, br)
		got <- v.Now().Sub(epoch)
		<-handed // the bridge hands the message on, then reads on
		readPacket(t, br)
		got <- 0
	}()
	go func() {
		_, _ = broker.Write(publish(t, "t", []byte("held")))
		_, _ = broker.Write([]byte{0xD0, 0x00}) // PINGRESP
	}()
	// The stream holds the clock from the wake-up: wait until the delay
	// has started (its timer is set) before advancing.
	poll.Until(t, "the delay's timer", func() bool { _, ok := v.Next(); return ok })
	// The bridge does not count the wait against its ping timeout.
	holder := conn.(mqttbridge.PacketHolder)
	if !holder.Holding() {
		t.Fatal("not Holding during the delay on a virtual clock")
	}
	advance(t, v, 2*time.Second-time.Nanosecond)
	select {
	case at := <-got:
		t.Fatalf("the PUBLISH came through at virtual %v, before 2 s", at)
	default:
	}
	advanced := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		advanced <- v.AdvanceTo(ctx, epoch.Add(5*time.Second))
	}()
	if at := <-got; at != 2*time.Second {
		t.Fatalf("the PUBLISH came through at virtual %v, want 2s", at)
	}
	select {
	case err := <-advanced:
		t.Fatalf("the clock moved on (%v) before the bridge read on", err)
	default:
	}
	if holder.Holding() {
		t.Fatal("Holding after the delay")
	}
	close(handed)
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	<-got // the packet after, not delayed
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}

// A delayed PUBLISH ahead of an ack the session waits for (holding the
// clock) lends that hold too: the clock reaches the wake-up, and the ack
// behind the PUBLISH comes through after it.
func TestVirtualMQTTDelayAheadOfAck(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(2 * time.Second)})
	conn, broker := virtualStream(t, i)
	go func() { // the broker: reads SUBSCRIBE, sends the retained PUBLISH first, then SUBACK
		br := bufio.NewReader(broker)
		if typ, _ := readPacket(t, br); typ != packets.Subscribe {
			t.Errorf("the broker read packet type %d, want SUBSCRIBE", typ)
		}
		_, _ = broker.Write(publish(t, "t", []byte("retained")))
		_, _ = broker.Write([]byte{packets.Suback << 4, 3, 0, 1, 0})
	}()
	release := v.Hold() // the session's hold for the subscribe
	sub := []byte{packets.Subscribe<<4 | 2, 6, 0, 1, 0, 1, 't', 0}
	if _, err := conn.Write(sub); err != nil {
		t.Fatal(err)
	}
	got := readTwo(t, conn, v, func() {
		release() // SUBACK handed on: the subscribe is answered
	})
	waitLent(t, v)
	advance(t, v, 2*time.Second) // would wait forever if the subscribe's hold were not lent
	wantPublishSuback(t, v, got)
}

// A request made without holding the device's clock (no session's hold
// to lend) does not upset the clock's holds: it waits for its virtual
// delay on a hold of its own.
func TestVirtualHTTPDelayUnheld(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.HTTPDelay, Delay: faults.Duration(3 * time.Second)})
	reached := make(chan time.Duration, 1)
	rt := i.WrapTransport(rtFunc(func(r *http.Request) (*http.Response, error) {
		reached <- v.Now().Sub(epoch)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
	}))
	done := make(chan error, 1)
	go func() {
		resp, err := do(t, rt, devctx.With(context.Background(), dev), "https://a.example/x")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	poll.Until(t, "the delay's timer", func() bool { _, ok := v.Next(); return ok })
	waitLent(t, v) // the timer is set just before the request's own hold is lent
	advance(t, v, 3*time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if at := <-reached; at != 3*time.Second {
		t.Fatalf("the server was reached at virtual %v, want 3s", at)
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}

// The session's hold lent by a delayed PUBLISH may be released while it
// is lent (the bridge answered its request another way: its session
// ended), and the stream closed then: nothing panics and no hold is left.
func TestVirtualMQTTDelayLoanReleased(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(time.Hour)})
	conn, broker := virtualStream(t, i)
	go func() {
		br := bufio.NewReader(broker)
		readPacket(t, br) // SUBSCRIBE
		_, _ = broker.Write(publish(t, "t", []byte("retained")))
	}()
	release := v.Hold() // the session's hold for the subscribe
	if _, err := conn.Write([]byte{packets.Subscribe<<4 | 2, 6, 0, 1, 0, 1, 't', 0}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := conn.Read(make([]byte, 64))
		done <- err
	}()
	waitLent(t, v)
	release() // the bridge gave up on the subscribe
	conn.Close()
	if err := <-done; err == nil {
		t.Fatal("read a held PUBLISH")
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
	if at, ok := v.Next(); ok {
		t.Fatalf("timer left at %v", at.Sub(epoch))
	}
}

// A request the bridge writes while a delayed PUBLISH waits (its ack will
// come behind it) has its hold lent too: the clock still reaches the
// wake-up, and the ack comes through after the PUBLISH.
func TestVirtualMQTTDelayRequestDuringWait(t *testing.T) {
	i, v, _ := virtualSetup(t)
	mustApply(t, i, dev, faults.Spec{Kind: faults.MQTTDelay, Delay: faults.Duration(2 * time.Second)})
	conn, broker := virtualStream(t, i)
	subscribed := make(chan struct{})
	go func() { // the broker: a PUBLISH, then the SUBACK for the SUBSCRIBE it reads meanwhile
		_, _ = broker.Write(publish(t, "t", []byte("early")))
		br := bufio.NewReader(broker)
		if typ, _ := readPacket(t, br); typ != packets.Subscribe {
			t.Errorf("the broker read packet type %d, want SUBSCRIBE", typ)
		}
		close(subscribed)
		_, _ = broker.Write([]byte{packets.Suback << 4, 3, 0, 1, 0})
	}()
	var release func()
	handed := make(chan struct{})
	got := readTwo(t, conn, v, func() {
		<-handed
		release() // SUBACK handed on: the subscribe is answered
	})
	poll.Until(t, "the delay's timer", func() bool { _, ok := v.Next(); return ok })
	release = v.Hold() // the session's hold for a subscribe asked during the wait
	if _, err := conn.Write([]byte{packets.Subscribe<<4 | 2, 6, 0, 1, 0, 1, 't', 0}); err != nil {
		t.Fatal(err)
	}
	<-subscribed
	close(handed)
	advance(t, v, 2*time.Second) // would wait forever if the subscribe's hold were not lent
	wantPublishSuback(t, v, got)
}

// pkt is a packet the bridge read: its type and the device's time then.
type pkt struct {
	typ byte
	at  time.Duration
}

// readTwo reads two packets from conn as the bridge would, noting each,
// then calls done.
func readTwo(t *testing.T, conn net.Conn, v *vclock.Virtual, done func()) <-chan pkt {
	got := make(chan pkt, 2)
	go func() {
		br := bufio.NewReader(conn)
		for range 2 {
			typ, _ := readPacket(t, br)
			got <- pkt{typ, v.Now().Sub(epoch)}
		}
		done()
	}()
	return got
}

// wantPublishSuback checks that the bridge read the delayed PUBLISH, then
// the SUBACK behind it, both at virtual 2 s, and that no hold is left.
func wantPublishSuback(t *testing.T, v *vclock.Virtual, got <-chan pkt) {
	t.Helper()
	for _, want := range []byte{packets.Publish, packets.Suback} {
		p := <-got
		if p.typ != want || p.at != 2*time.Second {
			t.Fatalf("got packet type %d at virtual %v, want %d at 2s", p.typ, p.at, want)
		}
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}
