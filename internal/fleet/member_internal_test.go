package fleet

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
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
	m.iterate(context.Background(), r)
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
