//go:build !unix

package httpexec

// fileLimit: no RLIMIT_NOFILE here; DefaultMaxConns uses fallbackMaxConns.
func fileLimit() (uint64, bool) { return 0, false }
