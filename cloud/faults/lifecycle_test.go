package faults_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
)

// recorder collects fault events.
type recorder struct {
	mu sync.Mutex
	ev []faults.Event
}

func (r *recorder) add(e faults.Event) {
	r.mu.Lock()
	r.ev = append(r.ev, e)
	r.mu.Unlock()
}

func (r *recorder) events() []faults.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]faults.Event(nil), r.ev...)
}

// TestCloseEndsEveryFault: Close ends the faults in force on every device
// (why "shutdown", reported before it returns), so no flap goroutine or
// For timer outlives it, and refuses later Applies.
func TestCloseEndsEveryFault(t *testing.T) {
	inj, _ := setup()
	var r recorder
	inj.Subscribe(r.add)
	flap, err := inj.Apply(dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	lat, err := inj.Apply(other, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Second), For: faults.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	inj.Close()
	ended := map[string]string{}
	for _, e := range r.events() {
		if e.Phase == faults.Ended {
			ended[e.Fault.ID] = e.Why
		}
	}
	if ended[flap.ID] != "shutdown" || ended[lat.ID] != "shutdown" {
		t.Fatalf("ends after Close: %v, want both faults ended with why shutdown", ended)
	}
	if l := inj.List(""); len(l) != 0 {
		t.Fatalf("faults in force after Close: %v", l)
	}
	if inj.LinkDropped(dev) || inj.Latency(other) != 0 {
		t.Fatal("a fault's effect outlived Close")
	}
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.LinkDrop}); !errors.Is(err, faults.ErrClosed) {
		t.Fatalf("Apply after Close: %v, want ErrClosed", err)
	}
	inj.Close() // again: no-op
}

// TestClearWhileStarting: a ClearAll that comes while the fault is
// starting (here from the flap's first decision, inside Apply) reports the
// end after the start, and the fault's teardown still runs: the flap's
// goroutine returns, so Close (which waits for it) returns.
func TestClearWhileStarting(t *testing.T) {
	inj, _ := setup()
	var r recorder
	inj.Subscribe(r.add)
	faults.SetFlapHook(func(f faults.Fault, period int, down bool) {
		if period == 0 {
			if _, err := inj.ClearAll(f.Device); err != nil {
				t.Error(err)
			}
		}
	})
	defer faults.SetFlapHook(nil)
	if _, err := inj.Apply(dev, faults.Spec{Kind: faults.LinkFlap, Period: faults.Duration(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ev := r.events()
	if len(ev) != 2 || ev[0].Phase != faults.Started || ev[1].Phase != faults.Ended || ev[1].Why != "cleared" {
		t.Fatalf("events %+v, want start then end (cleared)", ev)
	}
	if inj.LinkDropped(dev) {
		t.Fatal("link down after the flap was cleared")
	}
	closed := make(chan struct{})
	go func() { inj.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close did not return: the cleared flap's goroutine still runs")
	}
}

// TestDeviceIDCase: an ID with upper-case hex names the same device as
// the lower-case one the cloud issues.
func TestDeviceIDCase(t *testing.T) {
	inj, l := setup()
	upper := "UV" + strings.ToUpper(dev[2:])
	upper = upper[:len(upper)-1] + "A" // make sure a letter is upper case
	lower := "UV" + strings.ToLower(upper[2:])
	f, err := inj.Apply(upper, faults.Spec{Kind: faults.LinkDrop})
	if err != nil {
		t.Fatal(err)
	}
	if f.Device != lower {
		t.Fatalf("Fault.Device %q, want %q", f.Device, lower)
	}
	if !inj.LinkDropped(lower) || !inj.LinkDropped(upper) || len(inj.List(lower)) != 1 || len(inj.List(upper)) != 1 {
		t.Fatal("the fault applied with upper-case hex is not found by either case")
	}
	if err := inj.Clear(lower, f.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := inj.Apply(strings.Replace(dev, "UV", "UV", 1), faults.Spec{Kind: faults.LinkDrop}); err != nil {
		t.Fatal(err)
	}
	if !l.dropped {
		t.Fatal("link not dropped")
	}
}

// TestDropLinkDoesNotStack: DropLink while a link-drop is in force adds
// none, so List shows one and one RestoreLink undoes it.
func TestDropLinkDoesNotStack(t *testing.T) {
	inj, _ := setup()
	for range 3 {
		if err := inj.DropLink(dev); err != nil {
			t.Fatal(err)
		}
	}
	if l := inj.List(dev); len(l) != 1 {
		t.Fatalf("List after three DropLinks: %d faults, want 1", len(l))
	}
	if err := inj.RestoreLink(dev); err != nil {
		t.Fatal(err)
	}
	if inj.LinkDropped(dev) {
		t.Fatal("dropped after RestoreLink")
	}
}
