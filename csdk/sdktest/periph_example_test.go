package sdktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExampleI2CSensor builds examples/c/i2c-sensor with its Makefile and
// its CMakeLists.txt and runs it with its board file: it reads the
// simulated MCP9808 through the I2C HAL, checks the IDs, and the reading
// reaches the cloud's log. Without a board the sensor NACKs: the example
// says so and does no network work at all.
func TestExampleI2CSensor(t *testing.T) {
	t.Parallel()
	needLib(t)
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "c", "i2c-sensor"))
	if err != nil {
		t.Fatal(err)
	}
	builds := exampleBuilds("i2c-sensor")
	for system, build := range builds {
		t.Run(system, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for _, f := range []string{"main.c", "Makefile", "CMakeLists.txt", "board.json"} {
				b, err := os.ReadFile(filepath.Join(src, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			bin := build(t, dir)

			r := run(t, bin, map[string]string{"MVNET_BOARD": filepath.Join(dir, "board.json")}, time.Minute)
			if r.code != 0 {
				t.Fatalf("with the board: %v", r)
			}
			for _, w := range []string{"manufacturer 0x0054, device 0x0400", "temperature 21.50 C", "network connected", "logged"} {
				if !strings.Contains(r.stdout, w+"\n") {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			var logged []string
			for _, l := range r.lines("serverlog") {
				s, _ := l["line"].(string)
				logged = append(logged, s)
			}
			if len(logged) != 1 || logged[0] != "temperature 21.50 C" {
				t.Errorf("server log lines %q, want the reading", logged)
			}
			if n := len(r.lines("i2c")); n < 5 {
				t.Errorf("%d i2c trace events, want init, ready and three reads", n)
			}

			r = run(t, bin, nil, time.Minute)
			if r.code != 1 || !strings.Contains(r.stdout, "sensor absent: HAL_I2C_IsDeviceReady -> 1, error 0x20\n") {
				t.Fatalf("without a board: %v", r)
			}
			for _, l := range r.lines("syscall") {
				t.Errorf("network work without a sensor: %v", l)
			}
			if n := len(r.lines("serverlog")); n != 0 {
				t.Errorf("%d server log lines without a sensor", n)
			}
		})
	}
}
