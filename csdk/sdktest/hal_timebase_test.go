package sdktest

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// An application's timer time base (ST's timebase_tim template shape,
// testdata/hal_timebase_tim.c) drives HAL_GetTick and HAL_Delay through
// TIM6's interrupt, linked statically and against libmvnet.so; the trace
// records the timer's start, not its periods.
func TestHALTimeBase(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			r := runTimeBaseProgram(t, "hal_timebase", l)
			tim := r.lines("tim")
			var ops []string
			for _, e := range tim {
				name, _ := e["instance"].(string)
				if msg, ok := e["error"].(string); ok {
					name = msg
				}
				ops = append(ops, fmt.Sprintf("%v %s", e["op"], name))
			}
			want := []string{"init TIM6", "start TIM6", "init TIM6", "start TIM6", "init TIM7", "start TIM7", "stop TIM7", "deinit TIM7", "init bad instance"}
			if strings.Join(ops, ",") != strings.Join(want, ",") {
				t.Errorf("tim trace lines %v, want %v (init/start/stop only, never one per period)", ops, want)
			}
			if len(tim) > 0 && (tim[1]["it"] != true || tim[1]["period_us"] != float64(1000)) {
				t.Errorf("TIM6 start line %v, want it:true period_us:1000", tim[1])
			}
			var handled int
			for _, e := range r.lines("interrupt") {
				if e["handler"] == "TIM6_IRQHandler" {
					handled++
				}
			}
			t.Logf("%s; %d interrupt lines for TIM6", strings.TrimSpace(r.stdout), handled)
		})
	}
}

// runTimeBaseProgram builds testdata/NAME.c with the application's time base
// file (testdata/hal_timebase_tim.c), runs it and requires its PASS.
func runTimeBaseProgram(t *testing.T, name string, l linkage) result {
	t.Helper()
	timebase, err := filepath.Abs(filepath.Join("testdata", "hal_timebase_tim.c"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, compileFile(t, name, l, timebase), nil, 120*time.Second)
	if r.code != 0 || !strings.Contains(r.stdout, "PASS") {
		t.Fatalf("%s: %v", name, r)
	}
	return r
}
