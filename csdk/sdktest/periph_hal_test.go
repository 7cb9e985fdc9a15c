package sdktest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeBoard writes a board file into a test directory.
func writeBoard(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "board.json")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const mcp9808Board = `{"version": 1, "devices": [
  {"bus": "I2C1", "address": "0x18", "model": "mcp9808", "values": {"temperature_c": 21.3}},
  {"bus": "I2C3", "address": "0x70", "model": "ht16k33"}
]}`

// The I2C HAL reaches the board's MCP9808 on I2C1 and nothing on I2C2,
// statically and dynamically linked: statuses and error codes as ST's HAL
// gives them, and one trace event per call.
func TestPeriphI2CHAL(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, mcp9808Board)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_i2c", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := []string{
				"uninit 2",
				"init 0 msp 1 state 0x20",
				"filters 0 0 1",
				"ready 0 err 0x00",
				"manuf 0 0054 err 0x00",
				"device 0 0 0400",
				"temp 0 0 21.0000", // 0.5 °C resolution
				"unshifted 1 err 0x04 state 0x20",
				"nodata 1 err 0x200",
				"deinit 0 state 0x00",
				"init 0 msp 2 state 0x20",
				"empty ready 1 err 0x20",
				"empty read 1 err 0x04 buf eeee state 0x20",
				"init 0 msp 3 state 0x20",
				"display 0 0 0",
			}
			if got := strings.Split(strings.TrimSpace(r.stdout), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, strings.Join(want, "\n"))
			}
			ev := r.lines("i2c")
			type row struct{ op, addr, w, r, nack, status, device string }
			var got []row
			for _, e := range ev {
				s := func(k string) string { v, _ := e[k].(string); return v }
				got = append(got, row{s("op"), s("addr"), s("w"), s("r"), s("nack"), s("status"), s("device")})
			}
			wantEv := []row{
				{op: "init"},
				{"ready", "0x18", "", "", "", "HAL_OK", "mcp9808"},
				{"mem_read", "0x18", "06", "00 54", "", "HAL_OK", "mcp9808"},
				{"transmit", "0x18", "07", "", "", "HAL_OK", "mcp9808"},
				{"receive", "0x18", "", "04 00", "", "HAL_OK", "mcp9808"},
				{"mem_write", "0x18", "08 00", "", "", "HAL_OK", "mcp9808"},
				{"mem_read", "0x18", "05", "c1 50", "", "HAL_OK", "mcp9808"},
				{"transmit", "0x0c", "07", "", "address", "HAL_ERROR", ""},
				{op: "deinit"},
				{op: "init"},
				{"ready", "0x18", "", "", "address", "HAL_ERROR", ""},
				{"mem_read", "0x18", "05", "", "address", "HAL_ERROR", ""},
				{op: "init"},
				{"transmit", "0x70", "21", "", "", "HAL_OK", "ht16k33"},
				{"transmit", "0x70", "81", "", "", "HAL_OK", "ht16k33"},
				{"transmit", "0x70", "00 3f 00 06 00 00 00 00 00 00 00 00 00 00 00 00 00", "", "", "HAL_OK", "ht16k33"},
			}
			if len(got) != len(wantEv) {
				t.Fatalf("%d i2c trace events, want %d: %v", len(got), len(wantEv), ev)
			}
			for i := range wantEv {
				if got[i] != wantEv[i] {
					t.Errorf("i2c event %d = %+v, want %+v\n(%v)", i, got[i], wantEv[i], ev[i])
				}
			}
			if n, _ := ev[10]["trials"].(float64); n != 2 {
				t.Errorf("empty-bus ready: trials %v, want 2", ev[10]["trials"])
			}
			if s, _ := ev[15]["state"].(string); s != "on dim=16/16 ram=3f00 0600 0000 0000 0000 0000 0000 0000" {
				t.Errorf("display state in the trace: %q", s)
			}
		})
	}
}

// Without MVNET_BOARD every bus is empty: the sensor NACKs.
func TestPeriphNoBoardNACKs(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "periph_i2c", static)
	r := run(t, bin, nil, time.Minute)
	if r.code != 0 {
		t.Fatalf("%v", r)
	}
	for _, want := range []string{"ready 1 err 0x20", "manuf 1 eeee err 0x04"} {
		if !strings.Contains(r.stdout, want+"\n") {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A bad board file stops the application at its first use of the library
// (here its first I2C call), with a message that names the variable, the
// file's line and the field; mvnet run reports it before starting the
// application (internal/runner).
func TestPeriphBadBoard(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, "{\"version\": 1, \"devices\": [\n  {\"bus\": \"I2C1\", \"address\": \"0x90\", \"model\": \"mcp9808\"}\n]}")
	bin := compileFile(t, "periph_i2c", static)
	r := run(t, bin, map[string]string{"MVNET_BOARD": board}, time.Minute)
	if r.code != 2 || strings.Contains(r.stdout, "\ninit") {
		t.Fatalf("a bad board file did not stop the application:\n%v", r)
	}
	for _, want := range []string{"MVNET_BOARD", "line 2: devices[0].address: 0x90 is not a 7-bit device address"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// The SPI HAL reaches an LIS3DH behind a GPIO chip select (driven with
// HAL_GPIO_WritePin) on SPI1 and one on SPI2's hardware NSS.
func TestPeriphSPIHAL(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, `{"version": 1, "devices": [
  {"bus": "SPI1", "cs": "PA4", "model": "lis3dh", "values": {"accel_z_g": -1}},
  {"bus": "SPI2", "cs": "NSS", "model": "lis3dh"}
]}`)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_spi", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := []string{
				"uninit 2",
				"init 0",
				"unselected 0 ff",
				"whoami 0 33",
				"accel 0 0 0 z=-250", // normal mode ±2 g: 4 mg/digit, 10 bits
				"init 0",
				"nss whoami 0 33 state 1",
				"init 0",
				"target 1 err 0x400",
			}
			if got := strings.TrimSpace(r.stdout); got != strings.Join(want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
			ev := r.lines("spi")
			var ops []string
			for _, e := range ev {
				s := func(k string) string { v, _ := e[k].(string); return v }
				ops = append(ops, strings.TrimSpace(strings.Join([]string{s("op"), s("cs"), s("w"), s("r"), s("device")}, "|")))
			}
			wantOps := []string{
				"init||||",
				"transmit_receive||8f 00|ff ff|",
				"transmit_receive|PA4|8f 00|ff 33|lis3dh",
				"transmit|PA4|20 57|ff ff|lis3dh",
				"transmit|PA4|e8|ff|lis3dh",
				"receive|PA4|ff ff ff ff ff ff|00 00 00 00 80 c1|lis3dh",
				"init||||",
				"transmit_receive|NSS|8f 00|ff 33|lis3dh",
				"deinit||||",
				"init||||",
			}
			if strings.Join(ops, "\n") != strings.Join(wantOps, "\n") {
				t.Errorf("spi events:\n%s\nwant:\n%s", strings.Join(ops, "\n"), strings.Join(wantOps, "\n"))
			}
		})
	}
}

// The I2C interrupt transfers complete through the event interrupt and
// ST's callbacks: held off while the IRQ is disabled (the handle busy),
// then the completion callback, and a NACK as the error callback.
func TestPeriphI2CInterruptTransfers(t *testing.T) {
	t.Parallel()
	board := writeBoard(t, mcp9808Board)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "periph_i2c_it", l)
			r := run(t, bin, map[string]string{"MVNET_BOARD": board}, time.Minute)
			if r.code != 0 {
				t.Fatalf("%v", r)
			}
			want := []string{
				"init 0",
				"started 0 busy 2 state 0x22 callbacks 0",
				"mem rx 1 0054 state 0x20",
				"tx 0 1",
				"nack 0 1 err 0x04 tx 1 state 0x20",
			}
			if got := strings.TrimSpace(r.stdout); got != strings.Join(want, "\n") {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
			var handled int
			for _, e := range r.lines("interrupt") {
				if e["handler"] == "I2C1_EV_IRQHandler" {
					handled++
				}
			}
			if handled != 3 {
				t.Errorf("I2C1_EV_IRQHandler ran %d times in the trace, want 3", handled)
			}
		})
	}
}
