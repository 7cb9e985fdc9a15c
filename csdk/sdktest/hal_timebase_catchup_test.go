package sdktest

import (
	"strings"
	"testing"
)

// The timer time base delivers the periods its interrupt missed while the
// interrupt thread was held (testdata/hal_timebase_catchup.c stalls it for
// 500 ms with another handler), so HAL_GetTick keeps up with the clock
// instead of losing a tick per missed period.
func TestHALTimeBaseCatchesUp(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			r := runTimeBaseProgram(t, "hal_timebase_catchup", l)
			t.Log(strings.TrimSpace(r.stdout))
		})
	}
}
