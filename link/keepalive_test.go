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

// TestKeepAlivePingsAndSurvivesAnsweringPeer: a quiet link PINGs its peer
// again and again, with increasing tokens; each PONG read restarts the
// idle clock, and a peer that answers keeps the link up. The timeout is far
// above the test's length so that no round trip has to beat it on a loaded
// machine (TestKeepAliveDropsStalledPeer shows the timeout firing); that the
// idle clock restarts is checked on the clock itself.
func TestKeepAlivePingsAndSurvivesAnsweringPeer(t *testing.T) {
	device, cloud := connPair(t)
	device.KeepAlive(5*time.Millisecond, time.Hour)
	pongs := make(chan struct{})
	go func() { // the device's reader
		for {
			f, err := device.Recv()
			if err != nil {
				return
			}
			if f.Type == FrameControl && f.Kind == ControlPong {
				pongs <- struct{}{}
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
		sent := time.Since(device.born)
		if err := cloud.Send(&Frame{Type: FrameControl, Kind: ControlPong, Token: f.Token}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-pongs:
		case <-time.After(30 * time.Second):
			t.Fatal("the device never read the PONG")
		}
		if read := time.Duration(device.lastRead.Load()); read < sent {
			t.Fatalf("PONG %d read, but the idle clock still counts from %v (PONG sent at %v)", f.Token, read, sent)
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
