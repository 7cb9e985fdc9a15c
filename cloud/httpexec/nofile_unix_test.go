//go:build unix

package httpexec

import (
	"syscall"
	"testing"
)

// TestDefaultMaxConnsHalfTheFileLimit: MaxConns defaults to half of the
// process's open-file limit (within its bounds).
func TestDefaultMaxConnsHalfTheFileLimit(t *testing.T) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	half := uint64(l.Cur) / 2
	if half < minMaxConns || half > maxMaxConns {
		t.Skipf("RLIMIT_NOFILE %d: half is outside [%d, %d]", l.Cur, minMaxConns, maxMaxConns)
	}
	if got := DefaultMaxConns(); got != int(half) {
		t.Errorf("DefaultMaxConns() = %d with RLIMIT_NOFILE %d, want %d", got, l.Cur, half)
	}
}
