package sdktest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freertosConfig is the -I flag of the test FreeRTOSConfig.h, shaped like
// the sample projects' Config/FreeRTOSConfig.h.
func freertosConfig(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "rtos", "testdata", "freertos"))
	if err != nil {
		t.Fatal(err)
	}
	return "-I" + dir
}

// TestFreeRTOSAPI runs every FreeRTOS call libmvnet serves, with the
// application's FreeRTOSConfig.h honoured (tick rate, priorities, heap, task
// names, static-allocation hooks) and the FromISR calls made from TIM2's
// handler on libmvnet's interrupt thread while tasks wait on the objects.
// Statically and shared: the configuration reaches libmvnet.so as well.
func TestFreeRTOSAPI(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "freertos_api", l, freertosConfig(t))
			r := run(t, bin, nil, 120*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
				t.Fatalf("freertos_api: %v", r)
			}
		})
	}
}

// TestFreeRTOSWithCMSIS uses each kind of object made by one API through
// the other (a task is its CMSIS thread, a queue made by xQueueCreate takes
// osMessageQueuePut…), after including only cmsis_os.h, which brings in
// FreeRTOS.h and the application's FreeRTOSConfig.h as ST's does:
// configMINIMAL_STACK_SIZE and friends are defined, from the application's
// configuration when there is one and FreeRTOS's defaults otherwise.
func TestFreeRTOSWithCMSIS(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"app-config", []string{freertosConfig(t)}, "minimal=256 tick=500 max=7"},
		{"defaults", nil, "minimal=128 tick=1000 max=56"},
	} {
		for _, l := range []linkage{static, shared} {
			t.Run(c.name+"/"+l.String(), func(t *testing.T) {
				bin := compileFile(t, "freertos_mixed", l, c.flags...)
				r := run(t, bin, nil, 120*time.Second)
				if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
					t.Fatalf("freertos_mixed: %v", r)
				}
				if !strings.Contains(r.stdout, c.want) {
					t.Fatalf("want %q in the output: %v", c.want, r)
				}
			})
		}
	}
}
