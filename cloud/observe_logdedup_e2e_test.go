package cloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// heldLogs is a log store that never finishes storing a line (until the
// caller's context ends), so the cloud never acknowledges it and the
// kernel resends it on its next link.
type heldLogs struct{}

func (heldLogs) AppendLog(ctx context.Context, _ string, _ uint64, _ time.Time, _ []byte) error {
	<-ctx.Done()
	return ctx.Err()
}
func (heldLogs) LoggingEnabled(context.Context, string) (bool, error) { return true, nil }

// TestServerLogObservedOnce: a line the kernel resends on its next link
// (not acknowledged before the link dropped) is observed once.
func TestServerLogObservedOnce(t *testing.T) {
	obs := make(chan cloud.Observation, 64)
	c := testenv.NewCloud(t, cloud.Options{Logs: heldLogs{}, Observe: func(o cloud.Observation) { obs <- o }})
	d := testenv.NewDevice(t, c, device.Options{})
	ctx := testenv.Context(t, 30*time.Second)
	if _, err := d.Connect(ctx, 51); err != nil {
		t.Fatal(err)
	}
	if _, st, err := d.ServerLoggingInit(4096); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLoggingInit: %s %v", st, err)
	}
	var lines []string
	waitFor := func(kind cloud.ObservationKind, text string) {
		t.Helper()
		for {
			select {
			case o := <-obs:
				if o.Kind == cloud.ObserveServerLog {
					lines = append(lines, o.Text)
				}
				if o.Kind == kind && (text == "" || o.Text == text) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %s %q observed; lines %q", kind, text, lines)
			}
		}
	}
	if st, err := d.ServerLog("one"); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLog: %s %v", st, err)
	}
	waitFor(cloud.ObserveServerLog, "one")
	if err := c.Faults().DropLink(d.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(cloud.ObserveLinkDown, "")
	if err := c.Faults().RestoreLink(d.ID()); err != nil {
		t.Fatal(err)
	}
	waitFor(cloud.ObserveLinkUp, "")
	if st, err := d.ServerLog("two"); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLog: %s %v", st, err)
	}
	waitFor(cloud.ObserveServerLog, "two")
	if len(lines) != 2 {
		t.Errorf("observed lines %q, want each once", lines)
	}
}
