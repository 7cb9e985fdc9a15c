package sdktest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The timer time base delivers the periods its interrupt missed while the
// interrupt thread was held (testdata/hal_timebase_catchup.c stalls it for
// 500 ms with another handler), so HAL_GetTick keeps up with the clock
// instead of losing a tick per missed period.
func TestHALTimeBaseCatchesUp(t *testing.T) {
	t.Parallel()
	timebase, err := filepath.Abs(filepath.Join("testdata", "hal_timebase_tim.c"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "hal_timebase_catchup", l, timebase)
			r := run(t, bin, nil, 120*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "PASS") {
				t.Fatalf("hal_timebase_catchup: %v", r)
			}
			t.Log(strings.TrimSpace(r.stdout))
		})
	}
}
