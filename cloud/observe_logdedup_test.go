package cloud

import (
	"fmt"
	"slices"
	"testing"
)

// TestDedupLogs: a server log line resent (same device, same sequence
// number, as the kernel resends unacknowledged lines on its next link) is
// observed once; a new boot's numbers, another device's lines and other
// observations pass.
func TestDedupLogs(t *testing.T) {
	var got []string
	fn := dedupLogs(func(ob Observation) { got = append(got, fmt.Sprintf("%s %s %d", ob.Device, ob.Kind, ob.Seq)) })
	log := func(dev string, seq uint64) { fn(Observation{Device: dev, Kind: ObserveServerLog, Seq: seq}) }
	log("a", 10)
	log("a", 11)
	log("a", 12)
	fn(Observation{Device: "a", Kind: ObserveLinkDown})
	fn(Observation{Device: "a", Kind: ObserveLinkUp})
	log("a", 11) // resent: not acknowledged before the link went
	log("a", 12)
	log("a", 13)
	log("b", 11) // another device
	log("a", 5)  // a new boot starts elsewhere
	log("a", 6)
	log("a", 6)
	want := []string{"a server-log 10", "a server-log 11", "a server-log 12", "a link-down 0", "a link-up 0",
		"a server-log 13", "b server-log 11", "a server-log 5", "a server-log 6"}
	if !slices.Equal(got, want) {
		t.Errorf("observed\n%q\nwant\n%q", got, want)
	}
}
