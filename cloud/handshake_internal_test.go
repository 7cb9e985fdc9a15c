package cloud

import (
	"runtime"
	"testing"
)

// TestDefaultMaxHandshakesScalesWithCPUs: without Options.MaxHandshakes the
// cap is HandshakesPerCPU per GOMAXPROCS, never under DefaultMaxHandshakes
// (handshake.go has the measurement).
func TestDefaultMaxHandshakesScalesWithCPUs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct{ procs, want int }{{1, 64}, {2, 64}, {3, 96}, {8, 256}} {
		runtime.GOMAXPROCS(tc.procs)
		s, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := cap(s.hsSlots); got != tc.want {
			t.Errorf("GOMAXPROCS %d: %d handshake slots, want %d", tc.procs, got, tc.want)
		}
		s.Shutdown(t.Context())
		s, err = New(Options{MaxHandshakes: 5})
		if err != nil {
			t.Fatal(err)
		}
		if got := cap(s.hsSlots); got != 5 {
			t.Errorf("GOMAXPROCS %d, MaxHandshakes 5: %d slots", tc.procs, got)
		}
		s.Shutdown(t.Context())
	}
}
