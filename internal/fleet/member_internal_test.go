package fleet

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/node"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/kernel"
)

// unreachableBundle is a valid bundle whose cloud address refuses.
func unreachableBundle(t *testing.T) *device.Bundle {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := kernel.NewDeviceID()
	cert, key, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // refuses from now on
	return &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: addr,
		CloudCA: string(ca.CertPEM()), Certificate: string(cert), PrivateKey: string(key)}
}

// TestConnectFailureClosesDevice: a device that misses its connect
// timeout is closed (it would otherwise keep redialling and hold a link
// the report does not count) and counted once as failed.
func TestConnectFailureClosesDevice(t *testing.T) {
	o := &Options{Bundles: []*device.Bundle{unreachableBundle(t)}, Scenario: []string{OpLogs},
		ConnectTimeout: 100 * time.Millisecond}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := newRun(o)
	defer r.closeAll()
	m := r.members[0]
	m.connect(context.Background(), r)
	if m.connected() {
		t.Fatal("connected to a refusing address")
	}
	if m.d != nil {
		t.Fatal("the device that failed to connect was left running")
	}
	if _, cf, _, failed := r.stats.progress(); cf != 1 || failed != 0 {
		t.Fatalf("%d connect failures, %d operation failures: want 1, 0", cf, failed)
	}
	if n := len(r.stats.connectErr); n != 1 {
		t.Fatalf("connect errors: %v", r.stats.connectErr)
	}
}

// TestLogsSetupFailureOnce: when mvServerLoggingInit fails, each logs
// operation fails once, with the setup's status, and nothing else counts.
func TestLogsSetupFailureOnce(t *testing.T) {
	o := &Options{Bundles: []*device.Bundle{unreachableBundle(t)}, Scenario: []string{OpLogs}}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := newRun(o)
	defer r.closeAll()
	m := r.members[0]
	d, err := newDevice(m.b)
	if err != nil {
		t.Fatal(err)
	}
	m.d = d
	for { // leave no memory for the log buffer
		if _, err := d.Alloc(256, 8); err != nil {
			break
		}
	}
	m.setupLogs()
	m.iterate(context.Background(), r, time.Time{})
	st := r.stats.ops[OpLogs]
	if st == nil || len(st.lat) != 1 || st.failed != 1 {
		t.Fatalf("one logs attempt after a failed setup: %+v, want 1 attempt, 1 failure", st)
	}
	for k, n := range st.errs {
		if !strings.HasPrefix(k, "mvServerLoggingInit: ") || n != 1 {
			t.Fatalf("errors %v: want the setup's failure once", st.errs)
		}
	}
}

// TestRateLatencyFromDue: an iteration that starts after it was due (its
// device fell behind the rate) counts the wait in its operations'
// latencies.
func TestRateLatencyFromDue(t *testing.T) {
	o := &Options{Bundles: []*device.Bundle{unreachableBundle(t)}, Scenario: []string{OpLogs}}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := newRun(o)
	defer r.closeAll()
	m := r.members[0]
	m.logsSetup = "mvServerLoggingInit: failed on purpose" // the operation fails at once
	d, err := newDevice(m.b)
	if err != nil {
		t.Fatal(err)
	}
	m.d = d
	due := time.Now().Add(-time.Hour)
	m.iterate(context.Background(), r, due)
	st := r.stats.ops[OpLogs]
	if st == nil || len(st.lat) != 1 || st.lat[0] < time.Hour {
		t.Fatalf("an iteration due an hour ago: %+v, want a latency of at least an hour", st)
	}
}

// TestLogsOpWaitsForAck: the logs operation is done when the cloud
// acknowledges the line, not when mvServerLog queued it: a device whose
// link is down fails it with "not acknowledged by the cloud".
func TestLogsOpWaitsForAck(t *testing.T) {
	o := &Options{Bundles: []*device.Bundle{unreachableBundle(t)}, Scenario: []string{OpLogs},
		OpTimeout: 200 * time.Millisecond}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := newRun(o)
	defer r.closeAll()
	m := r.members[0]
	d, err := newDevice(m.b)
	if err != nil {
		t.Fatal(err)
	}
	m.d = d
	m.setupLogs()
	if m.logsSetup != "" {
		t.Fatal(m.logsSetup)
	}
	m.iterate(context.Background(), r, time.Time{})
	st := r.stats.ops[OpLogs]
	if st == nil || len(st.lat) != 1 || st.failed != 1 || st.errs[errNotAcked.Error()] != 1 {
		t.Fatalf("a line the cloud never acknowledged: %+v, want 1 attempt failed %q", st, errNotAcked)
	}
}

// TestConnectSpanEndsAtConnected: the connect phase's span ends at the last
// CONNECTED, not when a device that fails gives up.
func TestConnectSpanEndsAtConnected(t *testing.T) {
	ctx := testenv.Context(t, 2*time.Minute)
	n, err := node.Start(ctx, node.Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	good, err := n.CreateDevice(ctx, kernel.NewDeviceID(), "")
	if err != nil {
		t.Fatal(err)
	}
	o := &Options{Bundles: []*device.Bundle{good, unreachableBundle(t)}, Scenario: []string{OpLogs},
		ConnectTimeout: time.Hour}
	if err := o.check(); err != nil {
		t.Fatal(err)
	}
	r := newRun(o)
	defer r.closeAll()
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	before := time.Now()
	go func() {
		defer close(done)
		r.connectAll(cctx)
	}()
	poll.Until(t, "the good device to connect", func() bool { return !r.stats.lastConnected().IsZero() })
	cancel() // the other device gives up now, after the good one connected
	<-done
	if r.connectedCount() != 1 {
		t.Fatalf("%d devices connected, want 1", r.connectedCount())
	}
	if got, limit := r.rep.Connect.Seconds, r.stats.lastConnected().Sub(before).Seconds(); got > limit {
		t.Fatalf("connect span %gs runs past the last CONNECTED (%gs after the start)", got, limit)
	}
}
