package hal_test

import (
	"path/filepath"
	"testing"
)

// buildProgram compiles testdata/name.c with the HAL sources, linked in.
func buildProgram(t *testing.T, name string) string {
	t.Helper()
	gcc := need(t, "gcc")
	bin := filepath.Join(t.TempDir(), name)
	args := append(append(append([]string{}, cFlags...), includeFlags(t)...), "-O2", "-o", bin,
		filepath.Join("testdata", name+".c"))
	runTool(t, gcc, append(append(args, sources(t)...), "-lpthread", "-ldl")...)
	return bin
}

// The TIM and UART flag-clearing macros (testdata/hal_flags.c): a clear of
// one TIM flag never wipes UIF set meanwhile by a timer thread, and a UART
// clear takes ICR bits and clears the ISR flags they name.
func TestFlagClearMacros(t *testing.T) {
	t.Parallel()
	bin := buildProgram(t, "hal_flags")
	for _, name := range []string{"tim", "uart"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, bin, name)
		})
	}
}

// HAL_SetTickFreq re-runs the application's HAL_InitTick with the new
// frequency and rolls back when it fails, as ST's does
// (testdata/hal_tickfreq.c).
func TestSetTickFreqReinitialisesTheTimeBase(t *testing.T) {
	t.Parallel()
	runCase(t, buildProgram(t, "hal_tickfreq"), "tickfreq")
}
