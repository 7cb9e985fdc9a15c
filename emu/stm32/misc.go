package stm32

// The blocks HAL_Init and the clock setup touch that are accepted rather
// than modelled: stored and read back, with what the HAL waits on answered
// at once. Register offsets and bits from RM0456.
var acceptedTable = []*acceptedSpec{
	{
		name: "FLASH", base: flashBase, clock: &clockGate{rccAHB1ENR, 8},
		// NSCR LOCK and OPTLOCK set at reset; NSSR reads 0 (never busy).
		reset:    map[uint32]uint32{0x28: 1<<31 | 1<<30},
		regNames: map[uint32]string{0x00: "ACR", 0x08: "NSKEYR", 0x10: "OPTKEYR", 0x20: "NSSR", 0x28: "NSCR", 0x40: "OPTR"},
		write: func(regs map[uint32]uint32, off, v uint32) {
			switch off {
			case 0x08: // NSKEYR: KEY1 then KEY2 unlock NSCR
				if regs[0x08] == 0x45670123 && v == 0xCDEF89AB {
					regs[0x28] &^= 1 << 31
				}
				regs[0x08] = v
			case 0x20: // NSSR: status flags, write 1 to clear
				regs[0x20] &^= v
			default:
				regs[off] = v
			}
		},
		read: func(regs map[uint32]uint32, off uint32) uint32 {
			if off == 0x08 || off == 0x10 {
				return 0 // key registers are write-only
			}
			return regs[off]
		},
	},
	{
		name: "PWR", base: pwrBase, clock: &clockGate{rccAHB3ENR, 2},
		// VOSR: range 1 with the booster on, which 160 MHz needs (RM0456
		// voltage scaling) and so Microvisor leaves it.
		reset:    map[uint32]uint32{0x0C: 3<<16 | 1<<18},
		regNames: map[uint32]string{0x00: "CR1", 0x08: "CR3", 0x0C: "VOSR", 0x28: "DBPR", 0x38: "SR", 0x3C: "SVMSR"},
		// VOSR reads VOSRDY (bit 15) and BOOSTRDY (bit 14) when BOOSTEN (bit 18)
		// is set; SVMSR reports the regulator CR3.REGSEL chose (REGS, bit 1) and
		// the active range: ACTVOS (bits 17:16) = VOS, ACTVOSRDY (bit 15).
		read: func(regs map[uint32]uint32, off uint32) uint32 {
			switch off {
			case 0x0C:
				v := regs[0x0C] | 1<<15
				if v&(1<<18) != 0 {
					v |= 1 << 14
				}
				return v
			case 0x3C:
				return regs[0x3C]&^(3<<16|1<<15|1<<1) | regs[0x0C]&(3<<16) | 1<<15 | (regs[0x08]>>1&1)<<1
			}
			return regs[off]
		},
	},
	{
		name: "ICACHE", base: icacheBase,
		regNames: map[uint32]string{0x00: "CR", 0x04: "SR", 0x08: "IER", 0x0C: "FCR"},
		write:    cacheWrite,
	},
	{
		name: "DCACHE1", base: dcacheBase, clock: &clockGate{rccAHB1ENR, 30},
		regNames: map[uint32]string{0x00: "CR", 0x04: "SR", 0x08: "IER", 0x0C: "FCR"},
		write:    cacheWrite,
	},
	{name: "SYSCFG", base: syscfgBase, clock: &clockGate{rccAPB3ENR, 1}},
}

// cacheWrite is ICACHE's and DCACHE1's: CR CACHEINV (bit 1) completes at
// once, setting SR BSYENDF (bit 1) with BUSYF (bit 0) never set; FCR
// CBSYENDF clears BSYENDF; SR is read-only.
func cacheWrite(regs map[uint32]uint32, off, v uint32) {
	switch off {
	case 0x00:
		if v&2 != 0 {
			regs[0x04] |= 2
		}
		regs[0x00] = v &^ 2
	case 0x0C:
		regs[0x04] &^= v & 2
	case 0x04:
	default:
		regs[off] = v
	}
}
