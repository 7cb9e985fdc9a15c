package hal_test

import (
	"strings"
	"testing"
)

// The SPI and I2C HALs against a bus stand-in (testdata/hal_periph_trace.c):
// trace lines stay JSON and keep a 31-character model name whole after a
// long transfer (and, on I2C, beside the longest model state), and 24-bit
// SPI frames are 3 bytes on the wire.
func TestPeriphTraceAndFrames(t *testing.T) {
	t.Parallel()
	bin := buildProgram(t, "hal_periph_trace")
	name := strings.Repeat("\x01", 31)
	for _, c := range []struct {
		name, kind string
		lines      int
	}{{"spi_long", "spi", 1}, {"i2c_long", "i2c", 2}, {"spi_24", "spi", 1}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runCase(t, bin, c.name, "MVNET_TRACE_STDERR=1")
			var xfers []map[string]any
			for _, e := range filterKind(traceEvents(t, r.stderr), c.kind) { // fails on a line that is not JSON
				if e["op"] != "init" {
					xfers = append(xfers, e)
				}
			}
			if len(xfers) != c.lines {
				t.Fatalf("%d %s transfer lines, want %d: %v", len(xfers), c.kind, c.lines, xfers)
			}
			for _, e := range xfers {
				if e["device"] != name {
					t.Errorf("device %q, want the whole 31-byte name: %v", e["device"], e)
				}
			}
		})
	}
}
