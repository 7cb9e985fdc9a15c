package session_test

import (
	"testing"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// TestVirtualObserveHolds: an observation of a device on a virtual clock
// holds the clock until its release is called: with link-up's release
// kept, the device's first SYNC is not answered and one hold is left on
// the clock once the HELLO's own (until CONTROL LOGGING) has gone; after
// the release, SYNCED comes.
func TestVirtualObserveHolds(t *testing.T) {
	rels := make(chan func(), 16)
	r := startVirtual(t, session.Config{Observe: func(o session.Observation, release func()) {
		if o.Kind == session.ObserveLinkUp {
			rels <- release
			return
		}
		release()
	}})
	r.dev.Hello(fakedev.ID(3), 0)
	rel := <-rels
	if f := r.dev.Next(); f.Type != link.FrameControl || f.Kind != link.ControlLogging {
		t.Fatalf("after WELCOME: %v %+v, want CONTROL LOGGING", f.Type, f)
	}
	r.dev.Send(link.Frame{Type: link.FrameControl, Kind: link.ControlSync, Seq: 1, NowUS: 1000})
	// The HELLO's hold goes once LOGGING is queued; the observation's stays.
	poll.Until(t, "the HELLO's hold released", func() bool { return r.clock.Holds() <= 1 })
	if n := r.clock.Holds(); n != 1 {
		t.Fatalf("%d holds on the clock while link-up's observer has not released it, want 1", n)
	}
	if !r.clock.Now().Equal(vt0) {
		t.Fatalf("the clock moved to %v while held by an observation", r.clock.Now().Sub(vt0))
	}
	rel()
	f := r.dev.Next()
	if f.Type != link.FrameControl || f.Kind != link.ControlSynced || f.Seq != 1 {
		t.Fatalf("after the release: %v %+v, want SYNCED 1", f.Type, f)
	}
	if got := r.clock.Now().Sub(vt0); got.Microseconds() != 1000 {
		t.Fatalf("the clock is at %v after SYNC at 1 ms", got)
	}
}
