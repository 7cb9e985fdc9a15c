// Package poll is the tests' one way to wait for a condition: check it
// every millisecond until it holds, failing the test after a deadline that
// is generous (a loaded CI machine is slow, never wrong). It imports
// nothing of mvnet, so any package's internal tests may use it.
package poll

import (
	"testing"
	"time"
)

// Deadline is what Until waits at most.
const Deadline = 30 * time.Second

// Until waits until cond holds, or fails t after Deadline naming what it
// waited for.
func Until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Within(t, Deadline, what, cond)
}

// Within is Until with its own deadline.
func Within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Wait(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// Wait waits until cond holds, or for d, and reports whether it held: for
// a caller that fails with its own message.
func Wait(d time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		select {
		case <-tick.C:
			if cond() {
				return true
			}
		case <-timeout.C:
			return cond()
		}
	}
}
