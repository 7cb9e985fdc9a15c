package link

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestKeepAliveDropsStalledPeer: the peer is a stalled transport — it
// neither reads nor writes (a net.Pipe nobody services). The side with the
// keep-alive must fail with ErrTimeout, and its Recv must return that
// error rather than block for ever.
func TestKeepAliveDropsStalledPeer(t *testing.T) {
	a, _ := Pipe() // the other end is never read or written
	c := NewConn(a)
	defer c.Close()
	c.KeepAlive(5*time.Millisecond, 20*time.Millisecond)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Recv()
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("Recv error = %v, want ErrTimeout", err)
		}
		if !strings.Contains(err.Error(), "keep-alive timeout") {
			t.Errorf("error %q does not say it was the keep-alive", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a stalled peer was never detected")
	}
	if !errors.Is(c.Err(), ErrTimeout) {
		t.Errorf("Err() = %v, want ErrTimeout", c.Err())
	}
}

// TestKeepAlivePingsAndSurvivesAnsweringPeer: a peer that answers PING with
// PONG keeps the link up across many timeouts' worth of pings.
func TestKeepAlivePingsAndSurvivesAnsweringPeer(t *testing.T) {
	device, cloud := connPair(t)
	// The PONG's round trip must fit the timeout on a loaded machine; the
	// test outlasts the timeout twice over.
	device.KeepAlive(50*time.Millisecond, 500*time.Millisecond)
	go func() { // the device's reader: discards PONGs
		for {
			if _, err := device.Recv(); err != nil {
				return
			}
		}
	}()
	var last uint64
	for pings := 0; pings < 24; {
		f, err := cloud.Recv()
		if err != nil {
			t.Fatalf("after %d pings: %v (device: %v)", pings, err, device.Err())
		}
		if f.Type != FrameControl || f.Kind != ControlPing {
			t.Fatalf("got %+v, want PING", f)
		}
		if f.Token <= last {
			t.Fatalf("PING token %d after %d: tokens must increase", f.Token, last)
		}
		last = f.Token
		pings++
		if err := cloud.Send(&Frame{Type: FrameControl, Kind: ControlPong, Token: f.Token}); err != nil {
			t.Fatal(err)
		}
	}
	if err := device.Err(); err != nil {
		t.Fatalf("device side failed although every PING was answered: %v", err)
	}
}

func TestTruncateDiag(t *testing.T) {
	short := "outbound policy refused 127.0.0.1:443"
	if got := TruncateDiag(short); got != short {
		t.Errorf("TruncateDiag(%q) = %q", short, got)
	}
	long := strings.Repeat("é", MaxDiagLen) // 2 bytes each
	got := TruncateDiag(long)
	if len(got) > MaxDiagLen || !strings.HasSuffix(got, "…") {
		t.Fatalf("TruncateDiag: %d bytes %q", len(got), got)
	}
	f := Frame{Type: FrameControl, Kind: ControlDiag, Chan: 1, Payload: []byte(got)}
	if _, err := AppendFrame(nil, &f); err != nil {
		t.Fatal(err)
	}
}
