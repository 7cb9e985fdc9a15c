package periph

import (
	"testing"
)

// readReg does what applications do: write the pointer, STOP, then read n
// bytes in a second transaction.
func readReg(t *testing.T, b *I2CBus, addr uint16, reg byte, n int) []byte {
	t.Helper()
	if r := b.Transfer(addr, I2CSegment{Data: []byte{reg}}); !r.OK() {
		t.Fatalf("pointer write to 0x%02x: %+v", addr, r)
	}
	buf := make([]byte, n)
	if r := b.Transfer(addr, I2CSegment{Read: true, Data: buf}); !r.OK() {
		t.Fatalf("read from 0x%02x: %+v", addr, r)
	}
	return buf
}

func reg16(t *testing.T, b *I2CBus, addr uint16, reg byte) uint16 {
	t.Helper()
	v := readReg(t, b, addr, reg, 2)
	return uint16(v[0])<<8 | uint16(v[1])
}

func writeReg16(t *testing.T, b *I2CBus, addr uint16, reg byte, v uint16) {
	t.Helper()
	if r := b.Transfer(addr, I2CSegment{Data: []byte{reg, byte(v >> 8), byte(v)}}); !r.OK() {
		t.Fatalf("write 0x%02x: %+v", reg, r)
	}
}

func mcpBus(t *testing.T, temp *float64) (*I2CBus, *MCP9808) {
	b := NewI2CBus("I2C1")
	m := NewMCP9808(func() float64 { return *temp })
	if err := b.Attach(0x18, "mcp9808", m); err != nil {
		t.Fatal(err)
	}
	return b, m
}

func TestMCP9808IDs(t *testing.T) {
	temp := 20.0
	b, _ := mcpBus(t, &temp)
	if got := reg16(t, b, 0x18, MCP9808RegManufID); got != 0x0054 {
		t.Errorf("manufacturer ID = 0x%04x, want 0x0054", got)
	}
	if got := reg16(t, b, 0x18, MCP9808RegDeviceID); got != 0x0400 {
		t.Errorf("device ID/revision = 0x%04x, want 0x0400", got)
	}
	// The same through a repeated START (HAL_I2C_Mem_Read's shape).
	buf := make([]byte, 2)
	if r := b.Transfer(0x18, I2CSegment{Data: []byte{MCP9808RegManufID}}, I2CSegment{Read: true, Data: buf}); !r.OK() || buf[0] != 0x00 || buf[1] != 0x54 {
		t.Errorf("Mem_Read shape: %+v % x", r, buf)
	}
	if got := readReg(t, b, 0x18, MCP9808RegResolution, 1); got[0] != 0x03 {
		t.Errorf("resolution at power-up = 0x%02x, want 0x03", got[0])
	}
}

func TestMCP9808Temperature(t *testing.T) {
	cases := []struct {
		temp float64
		res  byte
		want uint16
	}{
		{25.0, 3, 0x0190},      // 25 × 16 = 400
		{21.5, 3, 0x0158},      // 344
		{0.0625, 3, 0x0001},    // one LSB
		{-0.0625, 3, 0x1FFF},   // 13-bit two's complement, sign bit 12
		{-25.0, 3, 0x1E70},     // 0x2000 − 400
		{21.3, 0, 0x0150},      // 0.5 °C resolution: 21.0 (bits 2:0 read 0)
		{21.3, 1, 0x0154},      // 0.25 °C: 21.25
		{21.3, 2, 0x0154},      // 0.125 °C: 21.25 (21.3 → 340.8 → 340)
		{300, 3, 0x0FFF},       // clamped at +255.9375
		{-300, 3, 0x1000},      // clamped at −256
		{22.99, 3, 22*16 + 15}, // 367.84 → 367 (truncated by the ADC)
	}
	for _, c := range cases {
		temp := c.temp
		b, _ := mcpBus(t, &temp)
		if r := b.Transfer(0x18, I2CSegment{Data: []byte{MCP9808RegResolution, c.res}}); !r.OK() {
			t.Fatal(r)
		}
		if got := reg16(t, b, 0x18, MCP9808RegTA) & 0x1FFF; got != c.want {
			t.Errorf("%v °C at resolution %d: T_A = 0x%04x, want 0x%04x", c.temp, c.res, got, c.want)
		}
	}
}

// At power-up the limits are 0 °C, so a warm part reports T_A >= T_CRIT and
// T_A > T_UPPER (bits 15 and 14), a cold one T_A < T_LOWER: drivers mask
// them off.
func TestMCP9808PowerUpFlags(t *testing.T) {
	temp := 25.0
	b, _ := mcpBus(t, &temp)
	if got := reg16(t, b, 0x18, MCP9808RegTA); got != 0xC190 {
		t.Errorf("25 °C at power-up: T_A = 0x%04x, want 0xC190", got)
	}
	temp = -0.0625
	if got := reg16(t, b, 0x18, MCP9808RegTA); got != 0x3FFF {
		t.Errorf("-0.0625 °C at power-up: T_A = 0x%04x, want 0x3FFF", got)
	}
}

func TestMCP9808LimitsAndAlert(t *testing.T) {
	temp := 25.0
	b, _ := mcpBus(t, &temp)
	// Limits in 0.25 °C steps: bits 15:13 and 1:0 are not stored.
	writeReg16(t, b, 0x18, MCP9808RegTUpper, 0xE000|0x01E0|0x3) // 30 °C + junk bits
	writeReg16(t, b, 0x18, MCP9808RegTLower, 0x0140)            // 20 °C
	writeReg16(t, b, 0x18, MCP9808RegTCrit, 0x0280)             // 40 °C
	if got := reg16(t, b, 0x18, MCP9808RegTUpper); got != 0x01E0 {
		t.Errorf("T_UPPER = 0x%04x, want 0x01E0", got)
	}
	flags := func() uint16 { return reg16(t, b, 0x18, MCP9808RegTA) & 0xE000 }
	if f := flags(); f != 0 {
		t.Errorf("25 °C in [20,30], crit 40: flags 0x%04x, want none", f)
	}
	temp = 31
	if f := flags(); f != 0x4000 {
		t.Errorf("31 °C: flags 0x%04x, want TA>T_UPPER (0x4000)", f)
	}
	temp = 19
	if f := flags(); f != 0x2000 {
		t.Errorf("19 °C: flags 0x%04x, want TA<T_LOWER (0x2000)", f)
	}
	temp = 40
	if f := flags(); f != 0xC000 {
		t.Errorf("40 °C: flags 0x%04x, want TA>=T_CRIT and TA>T_UPPER", f)
	}
	// Alert output, comparator mode, enabled: Alert Stat follows.
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt)
	if c := reg16(t, b, 0x18, MCP9808RegConfig); c&mcpAlertStat == 0 {
		t.Errorf("40 °C with the alert enabled: CONFIG 0x%04x lacks Alert Stat", c)
	}
	temp = 25
	if c := reg16(t, b, 0x18, MCP9808RegConfig); c&mcpAlertStat != 0 {
		t.Errorf("back to 25 °C, comparator mode: CONFIG 0x%04x still has Alert Stat", c)
	}
	// Interrupt mode latches until Int Clear, which reads back as 0.
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt|mcpAlertMod)
	temp = 35
	reg16(t, b, 0x18, MCP9808RegTA)
	temp = 25
	if c := reg16(t, b, 0x18, MCP9808RegConfig); c&mcpAlertStat == 0 {
		t.Errorf("interrupt mode after an excursion: CONFIG 0x%04x lacks Alert Stat", c)
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt|mcpAlertMod|mcpIntClear)
	if c := reg16(t, b, 0x18, MCP9808RegConfig); c&(mcpAlertStat|mcpIntClear) != 0 {
		t.Errorf("after Int Clear: CONFIG 0x%04x, want Alert Stat and Int Clear clear", c)
	}
	// Window lock: T_UPPER/T_LOWER keep their values and the lock stays.
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpWinLock)
	writeReg16(t, b, 0x18, MCP9808RegTUpper, 0x0100)
	writeReg16(t, b, 0x18, MCP9808RegConfig, 0)
	if got := reg16(t, b, 0x18, MCP9808RegTUpper); got != 0x01E0 {
		t.Errorf("T_UPPER under Win Lock = 0x%04x, want 0x01E0 kept", got)
	}
	if c := reg16(t, b, 0x18, MCP9808RegConfig); c&mcpWinLock == 0 {
		t.Errorf("Win Lock cleared by a write: CONFIG 0x%04x", c)
	}
}

func TestMCP9808ShutdownHoldsLastReading(t *testing.T) {
	temp := 21.0
	b, _ := mcpBus(t, &temp)
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpShutdown)
	temp = 30
	if got := reg16(t, b, 0x18, MCP9808RegTA) & 0x1FFF; got != 21*16 {
		t.Errorf("T_A in shutdown = 0x%04x, want the last conversion 0x%04x", got, 21*16)
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, 0)
	if got := reg16(t, b, 0x18, MCP9808RegTA) & 0x1FFF; got != 30*16 {
		t.Errorf("T_A after wake-up = 0x%04x, want 0x%04x", got, 30*16)
	}
}

// Interrupt mode (DS25095A 5.2.3): the alert asserts when T_A crosses a
// limit, Int Clear deasserts it, and it asserts again only at the next
// crossing, not while T_A merely stays outside the window.
func TestMCP9808InterruptModeAssertsOnCrossings(t *testing.T) {
	temp := 25.0
	b, _ := mcpBus(t, &temp)
	writeReg16(t, b, 0x18, MCP9808RegTUpper, 30*16) // 30 °C
	writeReg16(t, b, 0x18, MCP9808RegTLower, 20*16) // 20 °C
	writeReg16(t, b, 0x18, MCP9808RegTCrit, 80*16)  // 80 °C
	const irq = mcpAlertCnt | mcpAlertMod
	writeReg16(t, b, 0x18, MCP9808RegConfig, irq)
	stat := func() bool { return reg16(t, b, 0x18, MCP9808RegConfig)&mcpAlertStat != 0 }
	if stat() {
		t.Fatal("25 °C inside [20,30]: Alert Stat set")
	}
	temp = 35 // crosses T_UPPER
	if !stat() {
		t.Fatal("35 °C after crossing T_UPPER: Alert Stat clear")
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, irq|mcpIntClear)
	if stat() {
		t.Error("after Int Clear with T_A still above T_UPPER: Alert Stat set again (no new crossing)")
	}
	reg16(t, b, 0x18, MCP9808RegTA)
	if stat() {
		t.Error("after Int Clear and a T_A read, no crossing: Alert Stat set")
	}
	temp = 25 // crosses back below T_UPPER: the next event
	if !stat() {
		t.Error("back inside the window: Alert Stat clear, want the crossing latched")
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, irq|mcpIntClear)
	temp = 15 // crosses T_LOWER
	if !stat() {
		t.Error("15 °C after crossing T_LOWER: Alert Stat clear")
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, irq|mcpIntClear)
	if stat() {
		t.Error("after Int Clear below T_LOWER: Alert Stat set")
	}
	// Entering interrupt mode with T_A already outside is an event.
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt)
	reg16(t, b, 0x18, MCP9808RegConfig)
	writeReg16(t, b, 0x18, MCP9808RegConfig, irq)
	if !stat() {
		t.Error("interrupt mode entered at 15 °C (below T_LOWER): Alert Stat clear")
	}
}

// DS25095A register 5-2: while a lock bit is set, SHDN cannot be set but
// can be cleared, and T_HYST and the alert bits keep their values; Int
// Clear cannot be set in shutdown.
func TestMCP9808LockAndShutdownRules(t *testing.T) {
	temp := 25.0
	b, _ := mcpBus(t, &temp)
	cfg := func() uint16 { return reg16(t, b, 0x18, MCP9808RegConfig) }

	// Locked while running: SHDN cannot be set, T_HYST cannot change.
	writeReg16(t, b, 0x18, MCP9808RegConfig, 1<<9|mcpCritLock) // T_HYST 1.5 °C, Crit Lock
	writeReg16(t, b, 0x18, MCP9808RegConfig, 3<<9|mcpShutdown)
	if c := cfg(); c&mcpShutdown != 0 || c&(3<<9) != 1<<9 || c&mcpCritLock == 0 {
		t.Errorf("locked: wrote SHDN and T_HYST 6 °C, CONFIG 0x%04x, want SHDN clear, T_HYST 1.5 °C kept, lock kept", c)
	}

	// Shut down, then locked: SHDN can still be cleared.
	b, _ = mcpBus(t, &temp)
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpShutdown)
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpShutdown|mcpWinLock)
	writeReg16(t, b, 0x18, MCP9808RegConfig, 0)
	if c := cfg(); c&mcpShutdown != 0 || c&mcpWinLock == 0 {
		t.Errorf("locked in shutdown, wrote 0: CONFIG 0x%04x, want SHDN cleared and Win Lock kept", c)
	}

	// Int Clear in shutdown is ignored: a latched event stays.
	b, _ = mcpBus(t, &temp)
	writeReg16(t, b, 0x18, MCP9808RegTUpper, 30*16)
	writeReg16(t, b, 0x18, MCP9808RegTLower, 20*16)
	writeReg16(t, b, 0x18, MCP9808RegTCrit, 80*16)
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt|mcpAlertMod)
	temp = 35
	if c := cfg(); c&mcpAlertStat == 0 {
		t.Fatalf("35 °C in interrupt mode: CONFIG 0x%04x lacks Alert Stat", c)
	}
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt|mcpAlertMod|mcpShutdown)
	writeReg16(t, b, 0x18, MCP9808RegConfig, mcpAlertCnt|mcpAlertMod|mcpShutdown|mcpIntClear)
	if c := cfg(); c&mcpAlertStat == 0 {
		t.Errorf("Int Clear written in shutdown: CONFIG 0x%04x, want the event still latched", c)
	}
}
