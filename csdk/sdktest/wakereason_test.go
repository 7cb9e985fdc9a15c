package sdktest

import (
	"regexp"
	"testing"
	"time"
)

// TestWakeReasonAfterRestart: a C program reads COLDBOOT (0) at first and,
// after mvRestart or NVIC_SystemReset, REMOTEAPPLICATIONRESTART (2), never
// COLDBOOT again (testdata/restart.c prints wake=N on each run).
func TestWakeReasonAfterRestart(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "restart", static)
	for _, arg := range []string{"arg1", "reset"} {
		r := run(t, bin, nil, 60*time.Second, arg)
		if r.code != 0 {
			t.Fatalf("restart %s: %v", arg, r)
		}
		m := regexp.MustCompile(`run=(\d) id=UV[0-9a-f]{32} args=2 `+arg+` wake=(\d+)`).FindAllStringSubmatch(r.stdout, -1)
		if len(m) != 2 || m[0][2] != "0" || m[1][2] != "2" {
			t.Fatalf("restart %s: want wake=0 (COLDBOOT) and then wake=2 (REMOTEAPPLICATIONRESTART): %q", arg, r.stdout)
		}
	}
}
