package test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
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

// TestLinkErrorWithEphemeralPortReportedOnce: a cloud address that accepts
// each link, reads the HELLO and resets it fails every dial with the same
// cause, though the error names a fresh local port each time ("read tcp
// 127.0.0.1:54022->…: connection reset by peer"): the device reports it
// once, not once per dial.
func TestLinkErrorWithEphemeralPortReportedOnce(t *testing.T) {
	addr, accepts := testenv.ResettingListener(t)
	var (
		mu   sync.Mutex
		errs []string
	)
	var dialer net.Dialer
	d := testenv.NewDevice(t, nil, device.Options{
		Dial: func(ctx context.Context) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		Trace: func(e device.TraceEvent) {
			if e.Kind == "link-error" {
				mu.Lock()
				errs = append(errs, e.Text)
				mu.Unlock()
			}
		},
	})
	ctx := testenv.Context(t, 60*time.Second)
	c, st, err := d.SetupNotifications(irq, 16)
	if err != nil || st != abi.StatusOkay {
		t.Fatal(st, err)
	}
	if _, st := d.RequestNetwork(c, 1); st != abi.StatusOkay {
		t.Fatal(st)
	}
	// The 4th accept comes after the 3rd dial failed and was reported.
	for i := 0; i < 4; i++ {
		select {
		case <-accepts:
		case <-ctx.Done():
			t.Fatalf("%d dials accepted", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 {
		t.Fatalf("after 3 failed dials, link errors %q, want 1", errs)
	}
	if !strings.Contains(errs[0], "connection reset by peer") || strings.Contains(errs[0], "->") {
		t.Fatalf("link error %q: want the reset, without the local address", errs[0])
	}
}
