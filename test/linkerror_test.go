package test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// TestLinkErrorReportedOnceThenOnChange: a device redialling an
// unreachable cloud reports its link error once, again only when the
// error changes, and reports the link up when it finally connects.
func TestLinkErrorReportedOnceThenOnChange(t *testing.T) {
	srv := testenv.NewCloud(t, cloud.Options{})
	var (
		mu    sync.Mutex
		dials int
	)
	errA, errB := errors.New("network unreachable (A)"), errors.New("no route to host (B)")
	dial := func(ctx context.Context) (net.Conn, error) {
		mu.Lock()
		dials++
		n := dials
		mu.Unlock()
		switch {
		case n <= 3:
			return nil, errA
		case n <= 6:
			return nil, errB
		}
		return srv.Dial(ctx)
	}
	events := make(chan device.TraceEvent, 64)
	d := testenv.NewDevice(t, srv, device.Options{Dial: dial, Trace: func(e device.TraceEvent) {
		if e.Kind == "link-error" || e.Kind == "link-up" {
			events <- e
		}
	}})
	ctx := testenv.Context(t, 30*time.Second)
	if _, err := d.Connect(ctx, irq); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 3 {
		select {
		case e := <-events:
			got = append(got, e.Kind+": "+e.Text)
		case <-ctx.Done():
			t.Fatalf("events so far %q", got)
		}
	}
	want := []string{
		"link-error: cannot reach the cloud: dial: " + errA.Error(),
		"link-error: cannot reach the cloud: dial: " + errB.Error(),
		"link-up: link up",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %q, want %q", got, want)
		}
	}
	if d.LinkError() != "" {
		t.Fatalf("LinkError %q after the link came up", d.LinkError())
	}
}
