package sdktest

import (
	"strings"
	"testing"
	"time"
)

// A task's critical section keeps libmvnet's interrupt handlers out, as on
// the device, and disabling an IRQ or all interrupts inside one does not
// deadlock against a handler waiting in taskENTER_CRITICAL_FROM_ISR
// (testdata/freertos_crit.c).
func TestFreeRTOSCriticalSectionMasksHandlers(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "freertos_crit", l)
			r := run(t, bin, nil, 120*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
				t.Fatalf("freertos_crit: %v", r)
			}
		})
	}
}
