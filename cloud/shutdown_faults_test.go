package cloud_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
)

// TestShutdownEndsFaults: Shutdown ends every fault in force (subscribers
// see why "shutdown" before it returns), so no flap or For timer outlives
// the cloud, and a later Apply fails.
func TestShutdownEndsFaults(t *testing.T) {
	s, err := cloud.New(cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	why := map[string]string{}
	s.Faults().Subscribe(func(e faults.Event) {
		if e.Phase == faults.Ended {
			mu.Lock()
			why[e.Fault.ID] = e.Why
			mu.Unlock()
		}
	})
	flap, err := s.Faults().Apply(fakedev.ID(1), faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	lat, err := s.Faults().Apply(fakedev.ID(2), faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second), For: faults.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fakedev.Wait)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := map[string]string{flap.ID: why[flap.ID], lat.ID: why[lat.ID]}
	mu.Unlock()
	if got[flap.ID] != "shutdown" || got[lat.ID] != "shutdown" {
		t.Fatalf("ends after Shutdown: %v, want both with why shutdown", got)
	}
	if l := s.Faults().List(""); len(l) != 0 {
		t.Fatalf("faults in force after Shutdown: %v", l)
	}
	if _, err := s.Faults().Apply(fakedev.ID(1), faults.Spec{Kind: faults.LinkDrop}); !errors.Is(err, faults.ErrClosed) {
		t.Fatalf("Apply after Shutdown: %v, want ErrClosed", err)
	}
}

// TestDroppedLinkIsNotTheLink: right after a link-drop, the dropped link
// (its session still ending) is no longer the device's link for the
// faults that act on one: an update or a channel close is refused as not
// connected instead of going to a closed link (TestFaultCLI's effects saw
// an update succeed while the link was dropped, under load).
func TestDroppedLinkIsNotTheLink(t *testing.T) {
	s := newServer(t)
	for n := 1; n <= 20; n++ {
		connect(t, s, n)
		id := fakedev.ID(n)
		if err := s.Faults().DropLink(id); err != nil {
			t.Fatal(err)
		}
		if err := s.Faults().AnnounceUpdate(id, "v2"); !errors.Is(err, faults.ErrNotConnected) {
			t.Fatalf("device %d: update right after its link was dropped: %v, want ErrNotConnected", n, err)
		}
		if err := s.Faults().CloseChannel(id, 1); !errors.Is(err, faults.ErrNotConnected) {
			t.Fatalf("device %d: channel close right after its link was dropped: %v, want ErrNotConnected", n, err)
		}
	}
}

// TestWaitObservations: WaitObservations returns only once the device's
// observations made so far have been delivered to Observe (a scenario
// judged at the application's exit waits for them), and with ctx's error
// while Observe is still busy with them.
func TestWaitObservations(t *testing.T) {
	release := make(chan struct{})
	var got sync.WaitGroup
	got.Add(1)
	var once sync.Once
	s, err := cloud.New(cloud.Options{Observe: func(o cloud.Observation) {
		if o.Kind == cloud.ObserveLinkUp {
			once.Do(got.Done)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), fakedev.Wait)
		defer cancel()
		_ = s.Shutdown(ctx)
	})
	if err := s.WaitObservations(context.Background(), fakedev.ID(9)); err != nil {
		t.Fatalf("a device with nothing observed: %v", err)
	}
	connect(t, s, 1)
	got.Wait() // the link-up is being delivered, and Observe holds it
	short, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.WaitObservations(short, fakedev.ID(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("while Observe still holds the link-up: %v, want context.Canceled", err)
	}
	close(release)
	ctx, cancel2 := context.WithTimeout(context.Background(), fakedev.Wait)
	defer cancel2()
	if err := s.WaitObservations(ctx, fakedev.ID(1)); err != nil {
		t.Fatalf("after Observe returned: %v", err)
	}
}
