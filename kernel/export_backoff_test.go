package kernel

import "time"

// SetBackoffHooks makes every kernel booted until restore is called seed
// its redial backoff with seed(deviceID) (when it says ok) instead of
// crypto/rand, and report each delay it waits before redialling to drawn
// (goAway: after a GOAWAY). Either may be nil.
func SetBackoffHooks(seed func(deviceID string) ([32]byte, bool), drawn func(deviceID string, d time.Duration, goAway bool)) (restore func()) {
	old := backoffHook.Swap(&backoffHooks{seed: seed, drawn: drawn})
	return func() { backoffHook.Store(old) }
}

// Backoff is a kernel's redial backoff, for tests.
type Backoff struct{ b *redialBackoff }

// NewBackoff returns the backoff a kernel with these options uses, seeded
// with seed, or from crypto/rand as a kernel's is when seed is nil.
func NewBackoff(first, max time.Duration, seed *[32]byte) Backoff {
	if seed != nil {
		return Backoff{newRedialBackoff(first, max, *seed)}
	}
	k := &Kernel{opts: Options{ReconnectDelay: first, MaxReconnectDelay: max}}
	return Backoff{k.newRedialBackoff()}
}

// Next draws the delay after a failure.
func (b Backoff) Next() time.Duration { return b.b.next() }

// GoAway draws the delay after a GOAWAY.
func (b Backoff) GoAway() time.Duration { return b.b.goAway() }

// Reset restarts the backoff.
func (b Backoff) Reset() { b.b.reset() }
