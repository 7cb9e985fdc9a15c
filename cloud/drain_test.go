package cloud_test

// Draining a node (drain.go): its devices move to another node over the
// real TLS link.

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// node is one cloud node serving TLS links on a 127.0.0.1 listener.
type node struct {
	s      *cloud.Server
	addr   string
	served chan error // Serve's result
}

// startNode starts a node whose device CA is ca (nodes of one fleet share
// it, docs/cloud.md).
func startNode(t testing.TB, ca *devca.CA, o cloud.Options) *node {
	t.Helper()
	cert, err := ca.ServerCertificate("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	o.TLS = link.ServerTLSConfig(cert, ca.Pool())
	s, err := cloud.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{s: s, addr: ln.Addr().String(), served: make(chan error, 1)}
	go func() { n.served <- s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return n
}

func deviceIDs(s *cloud.Server) []string {
	var ids []string
	for _, d := range s.Devices() {
		ids = append(ids, d.DeviceID)
	}
	return ids
}

// dialAny dials each address's bundle in turn and returns the first link
// up: a device that knows several nodes (the multi-address bundles of
// device/bundle.go do this for real).
func dialAny(t *testing.T, ca *devca.CA, id string, addrs ...string) func(context.Context) (net.Conn, error) {
	t.Helper()
	var dials []func(context.Context) (net.Conn, error)
	for _, a := range addrs {
		dial, err := bundleFor(t, ca, id, a).Dial()
		if err != nil {
			t.Fatal(err)
		}
		dials = append(dials, dial)
	}
	return func(ctx context.Context) (net.Conn, error) {
		var errs []error
		for _, dial := range dials {
			c, err := dial(ctx)
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	}
}

// TestDrainMovesDevicesToAnotherNode: draining node A tells its devices
// GOAWAY; each redials, A refuses, and every device ends up on node B.
// Drain returns once A has no link left; A's listener is closed.
func TestDrainMovesDevicesToAnotherNode(t *testing.T) {
	const n = 5
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := startNode(t, ca, cloud.Options{DrainRate: 50})
	b := startNode(t, ca, cloud.Options{})
	var ids []string
	for i := range n {
		id := fakedev.ID(100 + i)
		ids = append(ids, id)
		d, err := device.New(device.Options{DeviceID: id, Dial: dialAny(t, ca, id, a.addr, b.addr),
			ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		if _, err := d.Connect(ctxT(t), 51); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "every device on A", func() bool { return len(a.s.Devices()) == n })
	if a.s.Draining() {
		t.Fatal("Draining before Drain")
	}

	if err := a.s.Drain(ctxT(t)); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if got := deviceIDs(a.s); len(got) != 0 {
		t.Fatalf("Drain returned with devices %v still on A", got)
	}
	if !a.s.Draining() {
		t.Fatal("Draining false after Drain")
	}
	if err := <-a.served; !errors.Is(err, cloud.ErrShutdown) {
		t.Fatalf("A's Serve returned %v, want ErrShutdown", err)
	}
	poll.Until(t, "every device on B", func() bool { return slices.Equal(deviceIDs(b.s), ids) })
	if err := a.s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

// TestDrainIdle: a node without devices drains at once; afterwards it
// refuses links, and Drain after Shutdown says so.
func TestDrainIdle(t *testing.T) {
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := startNode(t, ca, cloud.Options{})
	if err := a.s.Drain(ctxT(t)); err != nil {
		t.Fatalf("Drain of an idle node: %v", err)
	}
	if err := <-a.served; !errors.Is(err, cloud.ErrShutdown) {
		t.Fatalf("Serve returned %v, want ErrShutdown", err)
	}
	if err := a.s.Drain(ctxT(t)); err != nil {
		t.Fatalf("second Drain: %v", err)
	}
	if _, err := a.s.Dial(ctxT(t)); !errors.Is(err, cloud.ErrDraining) {
		t.Fatalf("Dial while draining: %v, want ErrDraining", err)
	}
	c1, c2 := net.Pipe()
	defer c2.Close()
	if err := a.s.ServeConn(c1); !errors.Is(err, cloud.ErrDraining) {
		t.Fatalf("ServeConn while draining: %v, want ErrDraining", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.s.Serve(ln); !errors.Is(err, cloud.ErrShutdown) {
		t.Fatalf("Serve while draining: %v, want ErrShutdown", err)
	}
	if err := a.s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := a.s.Drain(ctxT(t)); !errors.Is(err, cloud.ErrShutdown) {
		t.Fatalf("Drain after Shutdown: %v, want ErrShutdown", err)
	}
}

func TestDrainOptions(t *testing.T) {
	if _, err := cloud.New(cloud.Options{DrainRate: -1}); err == nil || !strings.Contains(err.Error(), "DrainRate") {
		t.Fatalf("New with DrainRate -1: %v, want an error naming DrainRate", err)
	}
	s, err := cloud.New(cloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Drain(context.Background()); !errors.Is(err, cloud.ErrNotStarted) {
		t.Fatalf("Drain before Start: %v, want ErrNotStarted", err)
	}
}

// TestDrainUntilCtxThenShutdown: a device that ignores GOAWAY keeps Drain
// waiting until its ctx ends (the error says how many links are left);
// Shutdown then closes the link.
func TestDrainUntilCtxThenShutdown(t *testing.T) {
	s := newServer(t)
	c, err := s.Dial(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	dev := fakedev.New(t, c)
	dev.Hello(fakedev.ID(1))

	ctx, cancel := context.WithCancel(context.Background())
	drained := make(chan error, 1)
	go func() { drained <- s.Drain(ctx) }()
	if f := dev.Next(); f.Type != link.FrameControl || f.Kind != link.ControlGoAway || string(f.Payload) == "" {
		t.Fatalf("got %v %+v, want CONTROL GOAWAY with a reason", f.Type, f)
	}
	dev.SyncQuiet() // the link stays up: the device decides when to go
	cancel()
	if err := <-drained; !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "links still up: 1") {
		t.Fatalf("Drain: %v, want context.Canceled naming 1 link left", err)
	}
	if err := s.Shutdown(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	dev.ExpectEnd()
}
