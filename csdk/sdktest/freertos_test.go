package sdktest

import (
	"os"
	"os/exec"
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

// A file of the application compiled without FreeRTOSConfig.h on its
// include path (and linked first) does not replace the configuration the
// others were compiled with by FreeRTOS's defaults.
func TestFreeRTOSConfigFromTheFilesThatHaveIt(t *testing.T) {
	t.Parallel()
	needLib(t)
	other := filepath.Join(t.TempDir(), "other.c")
	src := "#include \"cmsis_os.h\"\nint other_tick_rate(void);\nint other_tick_rate(void) { return (int)configTICK_RATE_HZ; }\n"
	if err := os.WriteFile(other, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-std=c11", "-Wall", "-Wextra", "-Werror", "-I" + lib.include, "-c", other, "-o", other + ".o"}
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %v: %v\n%s", args, err, out)
	}
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "freertos_mixed", l, freertosConfig(t), other+".o")
			r := run(t, bin, nil, 120*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "minimal=256 tick=500 max=7") {
				t.Fatalf("freertos_mixed with a file compiled without the configuration: %v", r)
			}
		})
	}
}
