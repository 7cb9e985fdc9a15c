package faults_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
)

// fakeLink records what the Injector asked of it.
type fakeLink struct {
	dropped bool
	closed  map[uint32]abi.ClosureReason
	open    map[uint32]bool
	updates []string
}

func (l *fakeLink) Drop() { l.dropped = true }

func (l *fakeLink) AnnounceUpdate(d string) { l.updates = append(l.updates, d) }

func (l *fakeLink) CloseChannel(ch uint32, reason abi.ClosureReason) error {
	if !l.open[ch] {
		return fmt.Errorf("channel %d: %w", ch, faults.ErrUnknownChannel)
	}
	delete(l.open, ch)
	l.closed[ch] = reason
	return nil
}

type links map[string]*fakeLink

func (m links) Link(id string) (faults.Link, bool) {
	l, ok := m[id]
	if !ok {
		return nil, false
	}
	return l, true
}

const (
	dev   = "UV00000000000000000000000000000001"
	other = "UV00000000000000000000000000000002"
)

func setup() (*faults.Injector, *fakeLink) {
	l := &fakeLink{closed: map[uint32]abi.ClosureReason{}, open: map[uint32]bool{1: true, 2: true}}
	return faults.New(links{dev: l}), l
}

func TestDropAndRestore(t *testing.T) {
	inj, l := setup()
	if err := inj.DropLink(dev); err != nil {
		t.Fatal(err)
	}
	if !l.dropped || !inj.LinkDropped(dev) || inj.LinkDropped(other) {
		t.Fatalf("dropped=%v LinkDropped=%v/%v", l.dropped, inj.LinkDropped(dev), inj.LinkDropped(other))
	}
	if err := inj.DropLink(other); err != nil { // not connected: still marked
		t.Fatal(err)
	}
	if !inj.LinkDropped(other) {
		t.Fatal("other not dropped")
	}
	if err := inj.RestoreLink(dev); err != nil {
		t.Fatal(err)
	}
	if inj.LinkDropped(dev) {
		t.Fatal("still dropped after RestoreLink")
	}
	if err := inj.RestoreLink(dev); err != nil {
		t.Fatalf("second RestoreLink: %v", err)
	}
}

func TestCloseAndReset(t *testing.T) {
	inj, l := setup()
	if err := inj.CloseChannel(dev, 1); err != nil {
		t.Fatal(err)
	}
	if err := inj.ResetChannel(dev, 2); err != nil {
		t.Fatal(err)
	}
	if l.closed[1] != abi.ClosureReasonChannelClosedByServer || l.closed[2] != abi.ClosureReasonChannelResetByServer {
		t.Fatalf("closed %v", l.closed)
	}
	if err := inj.CloseChannel(dev, 1); !errors.Is(err, faults.ErrUnknownChannel) {
		t.Fatalf("closing again: %v", err)
	}
	if err := inj.ResetChannel(other, 1); !errors.Is(err, faults.ErrNotConnected) {
		t.Fatalf("unconnected device: %v", err)
	}
}

func TestLatency(t *testing.T) {
	inj, _ := setup()
	if err := inj.SetLatency(other, time.Second); err != nil {
		t.Fatal(err)
	}
	if inj.Latency(other) != time.Second || inj.Latency(dev) != 0 {
		t.Fatalf("latency %v / %v", inj.Latency(other), inj.Latency(dev))
	}
	if err := inj.SetLatency(other, 0); err != nil || inj.Latency(other) != 0 {
		t.Fatalf("clearing: %v, latency %v", err, inj.Latency(other))
	}
	if err := inj.SetLatency(dev, -1); err == nil {
		t.Fatal("negative latency accepted")
	}
}

func TestMalformedDeviceIDs(t *testing.T) {
	inj, _ := setup()
	for _, id := range []string{"", "UV12", "XX00000000000000000000000000000001", "UV0000000000000000000000000000000g"} {
		for name, err := range map[string]error{
			"DropLink":     inj.DropLink(id),
			"RestoreLink":  inj.RestoreLink(id),
			"CloseChannel": inj.CloseChannel(id, 1),
			"ResetChannel": inj.ResetChannel(id, 1),
			"SetLatency":   inj.SetLatency(id, time.Second),
		} {
			if err == nil {
				t.Errorf("%s(%q) succeeded", name, id)
			}
		}
	}
}

func TestAnnounceUpdate(t *testing.T) {
	l := &fakeLink{closed: map[uint32]abi.ClosureReason{}, open: map[uint32]bool{}}
	i := faults.New(links{dev: l})
	if err := i.AnnounceUpdate(dev, "v2"); err != nil {
		t.Fatal(err)
	}
	if len(l.updates) != 1 || l.updates[0] != "v2" {
		t.Fatalf("updates = %q", l.updates)
	}
	if err := i.AnnounceUpdate(other, ""); !errors.Is(err, faults.ErrNotConnected) {
		t.Fatalf("unknown device: %v", err)
	}
	if err := i.AnnounceUpdate("nope", ""); err == nil {
		t.Fatal("malformed device ID accepted")
	}
}
