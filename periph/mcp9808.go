package periph

import "math"

// MCP9808 registers (Microchip DS25095A, section 5.1: the pointer register's
// low nibble selects one).
const (
	MCP9808RegConfig     = 0x01 // 16-bit
	MCP9808RegTUpper     = 0x02 // 16-bit, 0.25 °C steps in bits 12:2
	MCP9808RegTLower     = 0x03
	MCP9808RegTCrit      = 0x04
	MCP9808RegTA         = 0x05 // ambient temperature, read-only
	MCP9808RegManufID    = 0x06 // read-only, 0x0054
	MCP9808RegDeviceID   = 0x07 // read-only, device ID 0x04, revision 0x00
	MCP9808RegResolution = 0x08 // 8-bit, 0x03 at power-up (0.0625 °C)

	MCP9808ManufID  = 0x0054
	MCP9808DeviceID = 0x0400
)

// CONFIG bits (DS25095A register 5-2).
const (
	mcpHyst      = 3 << 9 // T_HYST
	mcpShutdown  = 1 << 8
	mcpCritLock  = 1 << 7
	mcpWinLock   = 1 << 6
	mcpIntClear  = 1 << 5
	mcpAlertStat = 1 << 4
	mcpAlertCnt  = 1 << 3
	mcpAlertSel  = 1 << 2
	mcpAlertPol  = 1 << 1
	mcpAlertMod  = 1 << 0
	mcpAlertBits = mcpAlertCnt | mcpAlertSel | mcpAlertPol | mcpAlertMod
)

// MCP9808 is Microchip's MCP9808 digital temperature sensor: a pointer
// register and 16-bit registers, most significant byte first (the
// resolution register is 8-bit). Temperature is read from Temperature on
// each read of T_A, so timelines show through at once (the part's 30–250 ms
// conversion time is not modelled).
type MCP9808 struct {
	RegisterFile
	// Temperature returns the ambient temperature in °C.
	Temperature func() float64

	config     uint16
	upper      uint16
	lower      uint16
	crit       uint16
	resolution uint8
	frozen     int32 // T_A in 1/16 °C at shutdown
	latched    bool  // interrupt mode: an event not yet cleared
	zone       int8  // interrupt mode: T_A at the last evaluation, −1 below T_LOWER, 0 inside, +1 above T_UPPER
}

// NewMCP9808 returns a sensor in its power-up state reading temp.
func NewMCP9808(temp func() float64) *MCP9808 {
	m := &MCP9808{Temperature: temp, resolution: 0x03}
	m.RegisterFile = RegisterFile{
		Pointer: func(b byte) (byte, bool, bool) { return b & 0x0F, false, true },
		Size: func(reg byte) int {
			if reg == MCP9808RegResolution {
				return 1
			}
			return 2
		},
		Load:  m.load,
		Store: m.store,
	}
	return m
}

// sixteenths is the temperature as the ADC gives it: 13-bit two's
// complement in 1/16 °C (range −256 … +255.9375), with the bits below the
// resolution register's setting read as 0.
func (m *MCP9808) sixteenths() int32 {
	if m.config&mcpShutdown != 0 {
		return m.frozen
	}
	t := math.Floor(m.Temperature() * 16)
	t = math.Max(-4096, math.Min(4095, t))
	drop := 3 - uint(m.resolution&0x03) // 0.5 °C: the 3 lowest bits are 0
	return int32(t) &^ (1<<drop - 1)
}

// limit reads a T_UPPER/T_LOWER/T_CRIT register in 1/16 °C.
func limit(r uint16) int32 {
	v := int32(r & 0x1FFC)
	if v&0x1000 != 0 {
		v -= 0x2000
	}
	return v
}

// alert is the state of the alert output's condition and T_A's flag bits.
func (m *MCP9808) flags(ta int32) (crit, upper, lower bool) {
	return ta >= limit(m.crit), ta > limit(m.upper), ta < limit(m.lower)
}

// asserted is the alert output (DS25095A 5.2.3): comparator mode follows
// the window (or only T_CRIT with Alert Sel); interrupt mode asserts when
// T_A crosses T_UPPER or T_LOWER (in either direction) and stays asserted
// until Int Clear, after which only the next crossing asserts it again;
// T_CRIT always acts as a comparator. Crossings are seen when T_A is
// evaluated, i.e. at each read of CONFIG or T_A (the part converts
// continuously; the model converts on demand).
func (m *MCP9808) asserted(ta int32) bool {
	crit, upper, lower := m.flags(ta)
	window := m.config&mcpAlertSel == 0
	if m.config&mcpAlertCnt == 0 || m.config&mcpAlertMod == 0 || !window {
		// Not watching for window events: entering interrupt mode
		// starts from "inside", so a T_A already outside asserts.
		m.zone = 0
		if m.config&mcpAlertCnt == 0 {
			return false
		}
		return crit || window && (upper || lower)
	}
	var zone int8
	switch {
	case upper:
		zone = 1
	case lower:
		zone = -1
	}
	if zone != m.zone {
		m.latched = true
	}
	m.zone = zone
	return crit || m.latched
}

// OutputLevel is the alert output (PinOutputs, line "alert"): open drain,
// pulling low while asserted with Alert Pol (CONFIG bit 1) 0, high while
// asserted with it 1; released (reading 1 through the pull-up) while not
// asserted in active-low mode or with the output disabled (Alert Cnt 0).
func (m *MCP9808) OutputLevel(name string) int {
	if name != "alert" || m.config&mcpAlertCnt == 0 {
		return 1
	}
	activeHigh := m.config&mcpAlertPol != 0
	if m.asserted(m.sixteenths()) == activeHigh {
		return 1
	}
	return 0
}

func (m *MCP9808) load(reg byte) uint32 {
	switch reg {
	case MCP9808RegConfig:
		c := m.config
		if m.asserted(m.sixteenths()) {
			c |= mcpAlertStat
		}
		return uint32(c)
	case MCP9808RegTUpper:
		return uint32(m.upper)
	case MCP9808RegTLower:
		return uint32(m.lower)
	case MCP9808RegTCrit:
		return uint32(m.crit)
	case MCP9808RegTA:
		ta := m.sixteenths()
		m.asserted(ta)
		v := uint32(ta) & 0x1FFF
		crit, upper, lower := m.flags(ta)
		if crit {
			v |= 1 << 15
		}
		if upper {
			v |= 1 << 14
		}
		if lower {
			v |= 1 << 13
		}
		return v
	case MCP9808RegManufID:
		return MCP9808ManufID
	case MCP9808RegDeviceID:
		return MCP9808DeviceID
	case MCP9808RegResolution:
		return uint32(m.resolution)
	}
	return 0
}

// store writes a register. Read-only registers and locked fields keep
// their values; the byte is still acknowledged, as on the part.
func (m *MCP9808) store(reg byte, v uint32) bool {
	locked := m.config&(mcpCritLock|mcpWinLock) != 0
	switch reg {
	case MCP9808RegConfig:
		n := uint16(v) & 0x07EF // Alert Stat is read-only
		// Int Clear cannot be set in shutdown (DS25095A register 5-2);
		// it reads as 0.
		if n&mcpIntClear != 0 && m.config&mcpShutdown == 0 {
			m.latched = false
		}
		n &^= mcpIntClear
		// Lock bits stay set until power-on reset. While either is set,
		// T_HYST and the alert bits cannot change and SHDN cannot be set,
		// though it can be cleared (register 5-2).
		n |= m.config & (mcpCritLock | mcpWinLock)
		if locked {
			n = n&^(mcpAlertBits|mcpHyst) | m.config&(mcpAlertBits|mcpHyst)
			if m.config&mcpShutdown == 0 {
				n &^= mcpShutdown
			}
		}
		if n&mcpShutdown != 0 && m.config&mcpShutdown == 0 {
			m.frozen = m.sixteenths()
		}
		m.config = n
	case MCP9808RegTUpper:
		if m.config&mcpWinLock == 0 {
			m.upper = uint16(v) & 0x1FFC
		}
	case MCP9808RegTLower:
		if m.config&mcpWinLock == 0 {
			m.lower = uint16(v) & 0x1FFC
		}
	case MCP9808RegTCrit:
		if m.config&mcpCritLock == 0 {
			m.crit = uint16(v) & 0x1FFC
		}
	case MCP9808RegResolution:
		m.resolution = uint8(v) & 0x03
	}
	return true
}

func init() {
	MustRegister(Model{
		Name:      "mcp9808",
		Summary:   "Microchip MCP9808 temperature sensor (I2C)",
		Inputs:    map[string]float64{"temperature_c": 20},
		Addresses: []uint16{0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x1F},
		Outputs:   []string{"alert"},
		NewI2C: func(e Env) I2CDevice {
			return NewMCP9808(func() float64 { return e.Input("temperature_c") })
		},
	})
}
