package cloud

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/link"
)

func TestDrainPace(t *testing.T) {
	for _, tc := range []struct {
		rate  int
		tick  time.Duration
		batch int
	}{
		{1, time.Second, 1},
		{20, 50 * time.Millisecond, 1},
		{100, minDrainTick, 1},
		{DefaultDrainRate, minDrainTick, 5},
		{1000, minDrainTick, 10},
		{150, minDrainTick, 2}, // 1.5 per tick, rounded up
	} {
		if tick, batch := drainPace(tc.rate); tick != tc.tick || batch != tc.batch {
			t.Errorf("drainPace(%d) = %v, %d; want %v, %d", tc.rate, tick, batch, tc.tick, tc.batch)
		}
	}
}

// TestDrainRateSpreadsGoAways: Drain tells its devices GOAWAY in batches
// of at most DrainRate·tick, one batch per tick, each device once: the
// batches observed, not the time taken, show the spreading.
func TestDrainRateSpreadsGoAways(t *testing.T) {
	for _, tc := range []struct {
		rate, devices int
		batches       []int
	}{
		{20, 4, []int{1, 1, 1, 1}},
		{1000, 25, []int{10, 10, 5}},
	} {
		s, err := New(Options{DrainRate: tc.rate})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		var devs []*fakedev.Device
		var conns []net.Conn
		for i := range tc.devices {
			c, err := s.Dial(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			d := fakedev.New(t, c)
			d.Hello(fakedev.ID(i + 1))
			devs, conns = append(devs, d), append(conns, c)
		}
		var mu sync.Mutex
		var batches []int
		s.drain.told = func(n int) {
			mu.Lock()
			defer mu.Unlock()
			batches = append(batches, n)
		}
		drained := make(chan error, 1)
		go func() { drained <- s.Drain(context.Background()) }()
		// Each device gets one GOAWAY and leaves.
		for _, d := range devs {
			if f := d.Next(); f.Type != link.FrameControl || f.Kind != link.ControlGoAway {
				t.Fatalf("rate %d: got %v %+v, want CONTROL GOAWAY", tc.rate, f.Type, f)
			}
		}
		for _, d := range devs {
			d.SyncQuiet() // no second GOAWAY
		}
		for _, c := range conns {
			_ = c.Close() // the device leaves
		}
		if err := <-drained; err != nil {
			t.Fatalf("rate %d: Drain: %v", tc.rate, err)
		}
		mu.Lock()
		got := slices.Clone(batches)
		mu.Unlock()
		if !slices.Equal(got, tc.batches) {
			t.Fatalf("rate %d, %d devices: GOAWAY batches %v, want %v", tc.rate, tc.devices, got, tc.batches)
		}
	}
}
