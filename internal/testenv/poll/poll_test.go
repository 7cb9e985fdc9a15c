package poll

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	if !Wait(Deadline, func() bool { return n.Load() == 5 }) {
		t.Fatal("a condition that comes true was not seen")
	}
	if Wait(10*time.Millisecond, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported as holding")
	}
}
