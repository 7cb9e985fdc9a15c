package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Compare-and-swap retries. A read-modify-write of a KV entry (Update with
// the revision read, Create of a key, Purge at the last revision) fails when
// another writer got in between; the writer then reads again and retries,
// after a jittered, growing pause so that many writers of one key spread out
// instead of colliding again. casAttempts bounds the attempts: with the
// pauses below, 20 writers updating one key 25 times each all succeed
// (TestConcurrentWritersOneKey).
const (
	casAttempts = 40
	casMinPause = time.Millisecond
	casMaxPause = 100 * time.Millisecond
)

// casConflict reports whether err is a lost compare-and-swap: nats.go reports
// ErrKeyRevisionMismatch for Update and for Purge/Delete at a revision, and
// ErrKeyExists for Create of a key that exists.
func casConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// casRetry reports whether a writer that lost a race on attempt (0-based)
// may try again, after waiting a random pause in [p/2, p), p doubling from
// casMinPause to casMaxPause. It returns false once casAttempts are used
// up or ctx ends.
func casRetry(ctx context.Context, attempt int) bool {
	if attempt+1 >= casAttempts {
		return false
	}
	p := min(casMinPause<<min(attempt, 16), casMaxPause)
	t := time.NewTimer(p/2 + rand.N(p/2))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
