package hal_test

import (
	"path/filepath"
	"testing"
)

// The TIM and UART flag-clearing macros (testdata/hal_flags.c): a clear of
// one TIM flag never wipes UIF set meanwhile by a timer thread, and a UART
// clear takes ICR bits and clears the ISR flags they name.
func TestFlagClearMacros(t *testing.T) {
	t.Parallel()
	gcc := need(t, "gcc")
	bin := filepath.Join(t.TempDir(), "hal_flags")
	args := append(append(append([]string{}, cFlags...), includeFlags(t)...), "-O2", "-o", bin,
		filepath.Join("testdata", "hal_flags.c"))
	runTool(t, gcc, append(append(args, sources(t)...), "-lpthread", "-ldl")...)
	for _, name := range []string{"tim", "uart"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			runCase(t, bin, name)
		})
	}
}
