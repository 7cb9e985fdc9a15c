package cloud

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/link"
)

// TestDrainRefusesAHandshakeFinishingAfter: a link whose handshake began
// before Drain and ends after it (Drain returned already: no session was
// left) is refused, not run as a session Drain no longer waits for.
func TestDrainRefusesAHandshakeFinishingAfter(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	hello, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
	if err != nil {
		t.Fatal(err)
	}
	cloudEnd, dev := net.Pipe()
	defer dev.Close()
	served := make(chan error, 1)
	go func() { served <- s.ServeConn(cloudEnd) }()
	// net.Pipe: the first byte written is the first byte the cloud read,
	// in its handshake (readHello), past ServeConn's drain check.
	if _, err := dev.Write(hello[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(context.Background()); err != nil {
		t.Fatalf("Drain with no session: %v", err)
	}
	if _, err := dev.Write(hello[1:]); err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(dev) // the cloud's answer, to the close
	if err := <-served; !errors.Is(err, ErrDraining) {
		t.Errorf("ServeConn of a handshake ending after Drain: %v, want ErrDraining", err)
	}
	f, err := link.ReadFrame(bufio.NewReader(bytes.NewReader(answer)))
	if err != nil || f.Type != link.FrameControl || f.Kind != link.ControlError {
		t.Errorf("the device got %x (%v), want CONTROL ERROR", answer, err)
	}
	s.mu.Lock()
	n := len(s.all)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d sessions after the drain", n)
	}
}
