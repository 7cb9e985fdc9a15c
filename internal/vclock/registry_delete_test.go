package vclock

import (
	"testing"
	"time"
)

// TestRegistryDelete: a deleted device is on Wall again, and its next
// virtual clock is a new one.
func TestRegistryDelete(t *testing.T) {
	var r Registry
	r.Delete("a") // none: nothing to do
	v := r.Virtual("a", t0)
	r.Delete("a")
	if r.For("a") != Wall {
		t.Fatal("a deleted device is not on Wall")
	}
	w := r.Virtual("a", t0.Add(time.Hour))
	if w == v || !w.Now().Equal(t0.Add(time.Hour)) {
		t.Fatal("the clock made after Delete is the old one")
	}
}
