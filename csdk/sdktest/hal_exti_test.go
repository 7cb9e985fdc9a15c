package sdktest

import (
	"strings"
	"testing"
	"time"
)

// An edge on a GPIO pin in an interrupt mode pends its EXTI line's IRQ in
// the library: the application's EXTI11_IRQHandler runs on the interrupt
// thread and HAL_GPIO_EXTI_IRQHandler calls the falling-edge callback.
func TestHALGPIOInterrupt(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			t.Parallel()
			bin := compileFile(t, "hal_exti", l)
			r := run(t, bin, nil, 120*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "PASS") {
				t.Fatalf("hal_exti: %v", r)
			}
			var handled bool
			for _, e := range r.lines("interrupt") {
				handled = handled || e["handler"] == "EXTI11_IRQHandler"
			}
			if !handled {
				t.Errorf("no interrupt line for EXTI11_IRQHandler in %v", r.lines("interrupt"))
			}
		})
	}
}
