package cloud

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestObserveBacklogBounded: while Observe is blocked, a device's queue
// stops growing at MaxObserveBacklog (count) and MaxObserveBacklogBytes
// (bytes); the observer then gets what was kept, in order, and one
// ObserveDropped counting the rest. Another device's queue is separate.
// Each observation's release (its hold on the device's clock) is called
// once: at once for those dropped, after Observe for the others.
func TestObserveBacklogBounded(t *testing.T) {
	const dev, other = "UV00000000000000000000000000000001", "UV00000000000000000000000000000002"
	for _, tc := range []struct {
		name string
		text string
		n    int // observations made
		kept int
	}{
		{"count", "x", MaxObserveBacklog + 500, MaxObserveBacklog},
		{"bytes", strings.Repeat("y", 2000), 6000, MaxObserveBacklogBytes / (256 + len(dev) + 2000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			entered := make(chan struct{}, 1)
			var mu sync.Mutex
			var got []Observation
			gotAll := make(chan struct{})
			total := 0
			var released atomic.Int64
			rel := func() { released.Add(1) }
			o := newObservers(func(ob Observation) {
				select {
				case entered <- struct{}{}:
				default:
				}
				<-release
				mu.Lock()
				defer mu.Unlock()
				got = append(got, ob)
				if ob.Device == dev {
					if ob.Kind == ObserveDropped {
						total += ob.Dropped
					} else {
						total++
					}
					if total == tc.n {
						close(gotAll)
					}
				}
			})
			// The first is taken by the delivering goroutine (blocked in
			// fn); the rest queue.
			o.add(Observation{Device: dev, Kind: ObserveServerLog, Text: "first"}, rel)
			<-entered
			for k := 1; k < tc.n; k++ {
				o.add(Observation{Device: dev, Kind: ObserveServerLog, Text: tc.text}, rel)
				if k == 1 {
					o.add(Observation{Device: other, Kind: ObserveLinkUp}, rel)
				}
			}
			o.mu.Lock()
			b := o.q[dev]
			queued, bytes := len(b.obs), b.bytes
			o.mu.Unlock()
			if queued > MaxObserveBacklog || bytes > MaxObserveBacklogBytes {
				t.Fatalf("queued %d observations (%d bytes), bounds %d and %d", queued, bytes, MaxObserveBacklog, MaxObserveBacklogBytes)
			}
			if n := released.Load(); n != int64(tc.n-1-queued) {
				t.Fatalf("%d released while Observe is blocked, want the %d dropped", n, tc.n-1-queued)
			}
			close(release)
			select {
			case <-gotAll:
			case <-time.After(time.Minute):
				t.Fatal("observations not delivered")
			}
			o.running.Wait()
			if n := released.Load(); n != int64(tc.n+1) {
				t.Fatalf("%d released after delivery, want all %d", n, tc.n+1)
			}
			mu.Lock()
			defer mu.Unlock()
			var mine []Observation
			sawOther := false
			for _, ob := range got {
				if ob.Device == dev {
					mine = append(mine, ob)
				} else {
					sawOther = true
				}
			}
			if !sawOther {
				t.Fatal("the other device's observation was not delivered")
			}
			last := mine[len(mine)-1]
			if last.Kind != ObserveDropped || len(mine) != 1+queued+1 || last.Dropped != tc.n-1-queued {
				t.Fatalf("delivered %d (last %s, Dropped %d), want first + %d kept + one ObserveDropped of %d", len(mine), last.Kind, last.Dropped, queued, tc.n-1-queued)
			}
			if queued < tc.kept-1 {
				t.Fatalf("kept only %d, want about %d", queued, tc.kept)
			}
			for _, ob := range mine[:len(mine)-1] {
				if ob.Kind == ObserveDropped {
					t.Fatal("ObserveDropped before the kept observations")
				}
			}
		})
	}
}
