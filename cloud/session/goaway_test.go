package session_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

// TestGoAway: GoAway sends CONTROL GOAWAY with the reason (shortened to
// MaxDiagLen), never before WELCOME; the device then hangs up and Run
// returns nil.
func TestGoAway(t *testing.T) {
	device, cloudEnd := link.Pipe()
	dev := fakedev.New(t, device)
	sess := session.New(cloudEnd, session.Config{})
	errc := make(chan error, 1)
	go func() { errc <- sess.Run(context.Background()) }()
	t.Cleanup(sess.Close)
	if sess.GoAway("too early") { // before HELLO: nothing may precede WELCOME
		t.Fatal("GoAway before HELLO: queued")
	}
	dev.Hello(fakedev.ID(1))
	reason := "node draining: " + strings.Repeat("x", 2*link.MaxDiagLen)
	if !sess.GoAway(reason) {
		t.Fatal("GoAway after WELCOME: not queued")
	}
	f := dev.Next()
	if f.Type != link.FrameControl || f.Kind != link.ControlGoAway {
		t.Fatalf("got %v %+v, want CONTROL GOAWAY", f.Type, f)
	}
	if got := string(f.Payload); got != link.TruncateDiag(reason) || len(got) > link.MaxDiagLen {
		t.Fatalf("GOAWAY reason %q (%d bytes), want %q", got, len(got), link.TruncateDiag(reason))
	}
	dev.SyncQuiet() // the session goes on until the device leaves
	_ = device.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("Run: %v after the device left on GOAWAY, want nil", err)
		}
	case <-time.After(fakedev.Wait):
		t.Fatal("session did not end after the device left")
	}
	if sess.GoAway("after the end") {
		t.Fatal("GoAway after the end: queued")
	}
}

func TestGoAwayFromDeviceIsAProtocolError(t *testing.T) {
	r := hello(t, session.Config{})
	r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlGoAway, Payload: []byte("bye")})
	wantProtocolError(t, r, "cloud's to send")
}

// TestOlderDeviceRefused: version 4 added GOAWAY, which a version 3 device
// would take for a malformed frame; as for every version (link/doc.go),
// the cloud refuses a HELLO of the previous one, naming both.
func TestOlderDeviceRefused(t *testing.T) {
	r := start(t, session.Config{})
	r.dev.Send(link.Frame{Type: link.FrameHello, Version: link.Version - 1, DeviceID: fakedev.ID(1)})
	wantProtocolError(t, r, fmt.Sprintf("HELLO version %d not supported (want %d)", link.Version-1, link.Version))
}
