package cloud

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/internal/testenv/poll"
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
		s.drain.told = func(n, later int) {
			mu.Lock()
			defer mu.Unlock()
			batches = append(batches, n)
			if later != 0 {
				t.Errorf("rate %d: %d sessions deferred, though every device had its WELCOME", tc.rate, later)
			}
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
		// The hook runs after its batch went out, maybe after the devices
		// left: wait for it.
		var got []int
		poll.Until(t, "every batch reported", func() bool {
			mu.Lock()
			defer mu.Unlock()
			got = slices.Clone(batches)
			sum := 0
			for _, n := range got {
				sum += n
			}
			return sum >= tc.devices
		})
		if !slices.Equal(got, tc.batches) {
			t.Fatalf("rate %d, %d devices: GOAWAY batches %v, want %v", tc.rate, tc.devices, got, tc.batches)
		}
	}
}

// gateRegistry holds the first DeviceRegistered call until released: the
// device is in the server's table but has not had its WELCOME.
type gateRegistry struct {
	entered, release chan struct{}
	once             sync.Once
}

func (r *gateRegistry) DeviceRegistered(ctx context.Context, id string) (bool, error) {
	r.once.Do(func() {
		close(r.entered)
		<-r.release
	})
	return true, nil
}

func (r *gateRegistry) WatchDeletedDevices(ctx context.Context, fn func(string)) error { return nil }

// TestDrainDuringAdmission: a device admitted just before Drain began,
// whose WELCOME is not out yet, cannot be told GOAWAY at once (nothing
// may precede WELCOME); Drain tells it on a later tick instead of
// forgetting it and waiting for ever.
func TestDrainDuringAdmission(t *testing.T) {
	reg := &gateRegistry{entered: make(chan struct{}), release: make(chan struct{})}
	s, err := New(Options{Registry: reg, DrainRate: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	c, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dev := fakedev.New(t, c)
	dev.Send(link.Frame{Type: link.FrameHello, Version: link.Version, DeviceID: fakedev.ID(1)})
	<-reg.entered
	deferred := make(chan struct{})
	var once sync.Once
	s.drain.told = func(n, later int) {
		if later > 0 {
			once.Do(func() { close(deferred) })
		}
	}
	drained := make(chan error, 1)
	go func() { drained <- s.Drain(context.Background()) }()
	select {
	case <-deferred:
	case <-time.After(fakedev.Wait):
		t.Fatal("Drain did not defer the device being admitted")
	}
	close(reg.release)
	dev.Expect(link.FrameWelcome)
	if f := dev.Next(); f.Type != link.FrameControl || f.Kind != link.ControlGoAway {
		t.Fatalf("got %v %+v, want CONTROL GOAWAY", f.Type, f)
	}
	_ = c.Close()
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
}
