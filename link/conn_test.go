package link

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// connPair returns the two ends of a Pipe wrapped in Conns, closed at the end
// of the test.
func connPair(t *testing.T) (device, cloud *Conn) {
	t.Helper()
	d, c := Pipe()
	device, cloud = NewConn(d), NewConn(c)
	t.Cleanup(func() {
		device.Close()
		cloud.Close()
	})
	return device, cloud
}

// within runs f and fails the test if it has not returned by the deadline.
func within(t *testing.T, d time.Duration, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v: deadlock?", d)
	}
}

func seqFrame(ch uint32, seq int, size int) *Frame {
	p := make([]byte, max(size, 8))
	binary.BigEndian.PutUint64(p, uint64(seq))
	return &Frame{Type: FrameData, Chan: ch, Payload: p}
}

// TestConnBothSidesSendFromReaders has each side blast frames at the other
// while each side's reader goroutine answers every frame it gets with a
// frame of its own. Over a synchronous net.Pipe this deadlocks unless Send
// never waits for the peer.
func TestConnBothSidesSendFromReaders(t *testing.T) {
	const n = 3000
	device, cloud := connPair(t)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	run := func(name string, c *Conn) {
		// The reader: expects n originals (chan 1) and n replies (chan 2),
		// each in order, and replies to every original from here.
		wg.Go(func() {
			next := map[uint32]int{1: 0, 2: 0}
			for got := 0; got < 2*n; got++ {
				f, err := c.Recv()
				if err != nil {
					errs <- fmt.Errorf("%s: Recv after %d frames: %v", name, got, err)
					return
				}
				seq := int(binary.BigEndian.Uint64(f.Payload))
				if f.Type != FrameData || seq != next[f.Chan] {
					errs <- fmt.Errorf("%s: frame %v chan %d seq %d, want seq %d", name, f.Type, f.Chan, seq, next[f.Chan])
					return
				}
				next[f.Chan]++
				if f.Chan == 1 {
					if err := c.Send(seqFrame(2, seq, 64)); err != nil {
						errs <- fmt.Errorf("%s: reply: %v", name, err)
						return
					}
				}
			}
		})
		// The blaster.
		wg.Go(func() {
			for i := range n {
				if err := c.Send(seqFrame(1, i, 1+i%2000)); err != nil {
					errs <- fmt.Errorf("%s: Send %d: %v", name, i, err)
					return
				}
			}
		})
	}
	within(t, 20*time.Second, func() {
		run("device", device)
		run("cloud", cloud)
		wg.Wait()
	})
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestConnCloseIdempotent(t *testing.T) {
	device, cloud := connPair(t)
	recvErr := make(chan error, 1)
	go func() {
		_, err := device.Recv()
		recvErr <- err
	}()
	if device.Err() != nil {
		t.Fatalf("Err() on an open Conn = %v", device.Err())
	}
	for i := range 3 {
		if err := device.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	select {
	case <-device.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after Close")
	}
	if err := device.Err(); err != ErrClosed {
		t.Errorf("Err() = %v, want ErrClosed", err)
	}
	if err := device.Send(&Frame{Type: FrameTime}); err != ErrClosed {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	select {
	case err := <-recvErr:
		if err != ErrClosed {
			t.Errorf("blocked Recv returned %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Recv still blocked after Close")
	}
	if _, err := device.Recv(); err != ErrClosed {
		t.Errorf("Recv after Close = %v, want ErrClosed", err)
	}

	// The peer sees the link go down.
	within(t, 5*time.Second, func() {
		if _, err := cloud.Recv(); err != io.EOF {
			t.Errorf("peer Recv = %v, want io.EOF", err)
		}
	})
	<-cloud.Done()
	if err := cloud.Err(); err != io.EOF {
		t.Errorf("peer Err() = %v, want io.EOF", err)
	}
	if err := cloud.Send(&Frame{Type: FrameTime}); err != ErrClosed {
		t.Errorf("peer Send = %v, want ErrClosed", err)
	}
}

func TestConnSendInvalidFrame(t *testing.T) {
	device, cloud := connPair(t)
	if err := device.Send(&Frame{Type: FrameData, Chan: 1}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Send of empty DATA = %v, want ErrMalformed", err)
	}
	if err := device.Send(&Frame{Type: FrameCredit, Chan: 1, Credit: 5}); err != nil {
		t.Fatalf("Send after an invalid frame: %v", err)
	}
	within(t, 5*time.Second, func() {
		f, err := cloud.Recv()
		if err != nil || f.Type != FrameCredit || f.Credit != 5 {
			t.Errorf("Recv = %+v, %v", f, err)
		}
	})
}

// TestConnMalformedThenError: a malformed frame ends receiving but lets the
// receiver report it with CONTROL ERROR, flush and close.
func TestConnMalformedThenError(t *testing.T) {
	raw, c := Pipe()
	cloud := NewConn(c)
	defer cloud.Close()
	defer raw.Close()
	go raw.Write([]byte{0, 0, 0, 2, byte(FrameData), 0}) // DATA too short

	var err error
	within(t, 5*time.Second, func() { _, err = cloud.Recv() })
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Recv = %v, want ErrMalformed", err)
	}
	if _, err2 := cloud.Recv(); err2 != err {
		t.Fatalf("second Recv = %v, want the same error", err2)
	}
	if cloud.Err() != nil {
		t.Fatalf("Conn failed on a malformed frame: %v", cloud.Err())
	}
	if err := cloud.Send(&Frame{Type: FrameControl, Kind: ControlError, Payload: []byte(err.Error())}); err != nil {
		t.Fatal(err)
	}
	peer := NewConn(raw)
	got := make(chan Frame, 1)
	go func() {
		f, _ := peer.Recv()
		got <- f
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cloud.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	cloud.Close()
	f := <-got
	if f.Type != FrameControl || f.Kind != ControlError || len(f.Payload) == 0 {
		t.Fatalf("peer got %+v, want CONTROL ERROR", f)
	}
}

func TestConnFlushTimeout(t *testing.T) {
	device, _ := connPair(t) // nobody reads the cloud end
	if err := device.Send(&Frame{Type: FrameTime, WallTimeUS: 1}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := device.Flush(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Flush = %v, want DeadlineExceeded", err)
	}
	// Nothing queued: Flush returns at once.
	d2, _ := connPair(t)
	if err := d2.Flush(context.Background()); err != nil {
		t.Fatalf("Flush of an empty queue: %v", err)
	}
}

func TestConnQueueOverflow(t *testing.T) {
	device, _ := connPair(t) // nobody reads the cloud end
	big := &Frame{Type: FrameData, Chan: 1, Payload: make([]byte, MaxFrameLen-5)}
	var err error
	for i := 0; i < 40 && err == nil; i++ {
		err = device.Send(big)
	}
	if !errors.Is(err, ErrClosed) {
		t.Fatalf("Send with a full queue = %v, want an error wrapping ErrClosed", err)
	}
	<-device.Done()
	if !errors.Is(device.Err(), ErrClosed) || device.Err() == ErrClosed {
		t.Fatalf("Err() = %v, want the overflow error", device.Err())
	}
}

// TestConnOverTCP runs a short exchange over a real socket.
func TestConnOverTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	dc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	device := NewConn(dc)
	defer device.Close()
	cloud := NewConn(<-accepted)
	defer cloud.Close()
	if device.RemoteAddr().String() != ln.Addr().String() || cloud.LocalAddr().String() != ln.Addr().String() {
		t.Errorf("addresses: %v %v", device.RemoteAddr(), cloud.LocalAddr())
	}
	within(t, 10*time.Second, func() {
		if err := device.Send(&Frame{Type: FrameHello, Version: Version, DeviceID: testDeviceID}); err != nil {
			t.Error(err)
			return
		}
		f, err := cloud.Recv()
		if err != nil || f.DeviceID != testDeviceID {
			t.Errorf("cloud Recv = %+v, %v", f, err)
			return
		}
		if err := cloud.Send(&Frame{Type: FrameWelcome, Version: Version, WallTimeUS: 77}); err != nil {
			t.Error(err)
			return
		}
		f, err = device.Recv()
		if err != nil || f.Type != FrameWelcome || f.WallTimeUS != 77 {
			t.Errorf("device Recv = %+v, %v", f, err)
		}
	})
}

// TestHoldWritesOnce: frames sent while a Conn is held, from any
// goroutine, are not written before the last Release, and then leave in
// one write (over a net.Pipe, one Read returns the bytes of one Write).
func TestHoldWritesOnce(t *testing.T) {
	d, peer := Pipe()
	c := NewConn(d)
	t.Cleanup(func() {
		c.Close()
		peer.Close()
	})
	frames := []*Frame{
		{Type: FrameCredit, Chan: 7, Credit: 50},
		seqFrame(7, 1, 100),
		{Type: FrameClose, Chan: 7, Reason: 1},
	}
	c.Hold()
	c.Hold() // holds nest
	if err := c.Send(frames[0]); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error)
	go func() { sent <- c.Send(frames[1]) }() // another goroutine's frame waits too
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	c.Release() // not the last: writes nothing, so the next frame joins the same write
	if err := c.Send(frames[2]); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte, 1)
	go func() {
		buf := make([]byte, 4096)
		n, _ := peer.Read(buf)
		read <- buf[:n]
	}()
	within(t, 10*time.Second, c.Release) // writes, here: returns once the peer has read
	var want []byte
	for _, f := range frames {
		var err error
		if want, err = AppendFrame(want, f); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-read; !bytes.Equal(got, want) {
		t.Fatalf("first write % x, want the three frames % x", got, want)
	}
	// Released, the Conn writes as before.
	go func() {
		buf := make([]byte, 4096)
		n, _ := peer.Read(buf)
		read <- buf[:n]
	}()
	if err := c.Send(frames[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := AppendFrame(nil, frames[0]); !bytes.Equal(<-read, got) {
		t.Fatal("a frame sent after the Release was not written")
	}
}

// TestHoldStopsRunningWriter: a writer at work when the Conn is held
// finishes its write and leaves what was queued meanwhile to the Release,
// which writes it all at once.
func TestHoldStopsRunningWriter(t *testing.T) {
	d, peer := Pipe()
	w := &writeSignal{Conn: d, entered: make(chan struct{}, 1)}
	c := NewConn(w)
	t.Cleanup(func() {
		c.Close()
		peer.Close()
	})
	first, a, b := seqFrame(1, 0, 16), &Frame{Type: FrameCredit, Chan: 7, Credit: 50}, seqFrame(7, 1, 100)
	read := func() []byte {
		buf := make([]byte, 4096)
		n, err := peer.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	if err := c.Send(first); err != nil {
		t.Fatal(err)
	}
	<-w.entered // the writer is in Write, waiting for a reader
	c.Hold()
	if err := c.Send(a); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), mustAppend(t, nil, first); !bytes.Equal(got, want) {
		t.Fatalf("first write % x, want % x", got, want)
	}
	// The writer is done with its write; it must not take a alone.
	if err := c.Send(b); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() { got <- read() }()
	within(t, 10*time.Second, c.Release)
	if g, want := <-got, mustAppend(t, mustAppend(t, nil, a), b); !bytes.Equal(g, want) {
		t.Fatalf("write after the Release % x, want both held frames % x", g, want)
	}
}

func mustAppend(t *testing.T, b []byte, f *Frame) []byte {
	t.Helper()
	b, err := AppendFrame(b, f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeSignal is a net.Conn that signals entered when a Write starts.
type writeSignal struct {
	net.Conn
	entered chan struct{}
}

func (w *writeSignal) Write(p []byte) (int, error) {
	select {
	case w.entered <- struct{}{}:
	default:
	}
	return w.Conn.Write(p)
}
