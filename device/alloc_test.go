package device

import (
	"testing"

	"github.com/mvnet/mvnet/abi"
)

// TestUntracedCallAllocs: a device API call that returns a number
// allocates nothing when no trace is set (issue 11: the scratch allocator
// and the trace's formatted arguments were allocated on every call).
func TestUntracedCallAllocs(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	allocs := testing.AllocsPerRun(100, func() {
		if _, st := d.GetMicroseconds(); st != abi.StatusOkay {
			t.Fatal(st)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per GetMicroseconds, want 0", allocs)
	}
}

// TestTracedCallArgs: with a trace, a call's arguments and result are
// still described.
func TestTracedCallArgs(t *testing.T) {
	var got []TraceEvent
	d, err := New(Options{Trace: func(e TraceEvent) { got = append(got, e) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, st := d.GetDeviceID(); st != abi.StatusOkay {
		t.Fatal(st)
	}
	if len(got) != 1 || got[0].Call != "mvGetDeviceId" || got[0].Args != "length=34" || got[0].Result == "" {
		t.Fatalf("trace %+v", got)
	}
}
