package runner

import (
	"fmt"
	"strings"
)

// formatPeriph renders an "i2c" or "spi" event of the HAL stand-in
// (csdk/hal/hal_i2c.c, hal_spi.c; docs/peripherals.md) on one line:
//
//	⇄ I2C1 0x18 mem_read w=05 r=c1 50 → HAL_OK (mcp9808)
//	⇄ I2C1 0x0c transmit w=07 NACK address → HAL_ERROR
//	⇄ I2C1 0x18 ready ×3 NACK address → HAL_ERROR
//	⇄ SPI1 PA4 transmit_receive w=8f r=ff 33 → HAL_OK (lis3dh)
//	I2C1 init timing=0x00c01f67
func formatPeriph(t string, e map[string]any) string {
	str := func(k string) string { s, _ := e[k].(string); return s }
	op, bus := str("op"), str("bus")
	if msg := str("error"); msg != "" {
		return fmt.Sprintf("%s  %v %s: %s", t, e["kind"], op, msg)
	}
	switch op {
	case "init", "deinit":
		s := fmt.Sprintf("%s  %s %s", t, bus, op)
		for _, k := range []string{"timing", "mode", "nss"} {
			if v := str(k); v != "" {
				s += " " + k + "=" + v
			}
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  ⇄ %s", t, bus)
	for _, k := range []string{"addr", "cs"} {
		if v := str(k); v != "" {
			b.WriteString(" " + v)
		}
	}
	b.WriteString(" " + op)
	if n := num(e["trials"]); n > 1 {
		fmt.Fprintf(&b, " ×%v", n)
	}
	if w := str("w"); w != "" {
		b.WriteString(" w=" + w)
	}
	if r := str("r"); r != "" {
		b.WriteString(" r=" + r)
	}
	if tr, _ := e["truncated"].(bool); tr {
		b.WriteString(" …")
	}
	if n := str("nack"); n != "" {
		b.WriteString(" NACK " + n)
	}
	fmt.Fprintf(&b, " → %s", str("status"))
	if d := str("device"); d != "" {
		b.WriteString(" (" + d + ")")
	}
	if s := str("state"); s != "" {
		b.WriteString("  [" + s + "]")
	}
	return b.String()
}
