package sdktest

import (
	"strings"
	"testing"
	"time"
)

func TestInterrupts(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "interrupts", l)
			r := run(t, bin, nil, 60*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
				t.Fatalf("interrupts test failed: %v", r)
			}
			notes := r.lines("notification")
			if len(notes) < 2 {
				t.Fatalf("%d notification lines", len(notes))
			}
			var brk, unhandled int
			for _, l := range r.lines("interrupt") {
				switch l["handler"] {
				case "TIM8_BRK_IRQHandler":
					brk++
				case "TIM8_UP_IRQHandler":
					if l["unhandled"] == true && l["irq"] == float64(52) {
						unhandled++
					}
				}
			}
			if brk != len(notes) {
				t.Errorf("%d TIM8_BRK deliveries traced for %d notifications", brk, len(notes))
			}
			if unhandled != 1 {
				t.Errorf("%d unhandled TIM8_UP deliveries traced, want 1", unhandled)
			}
			if !strings.Contains(r.stderr, "TIM8_UP_IRQHandler") {
				t.Errorf("no warning about the missing handler on stderr:\n%s", r.stderr)
			}
		})
	}
}

// TestHALAndRTOSHooks checks the C library's hooks for the HAL and RTOS
// stand-ins, statically and shared (where their weak defaults sit in the
// same library as the real definitions).
func TestHALAndRTOSHooks(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "hal_rtos", l)
			r := run(t, bin, nil, 60*time.Second)
			if r.code != 0 {
				t.Fatalf("hal_rtos: %v", r)
			}
			if len(r.lines("gpio")) == 0 {
				t.Errorf("no gpio line in the trace: %v", r.trace)
			}
			if r.trace[0]["kind"] != "start" {
				t.Errorf("the trace does not open with the start line: %v", r.trace[0])
			}
			if it := r.lines("interrupt"); len(it) != 1 || it[0]["handler"] != "TIM2_IRQHandler" {
				t.Errorf("interrupt lines %v", it)
			}
		})
	}
}
