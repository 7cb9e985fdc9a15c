package httpexec

import "time"

// SetDialTimeout sets how long e's dials may take (dialTimeout), for a
// test that must not see its stalled dials give up: call it before e
// performs anything.
func SetDialTimeout(e *Executor, d time.Duration) { e.dial.dialTimeout = d }
