package stm32

import "fmt"

// RCC registers (RM0456, RCC register map) the model gives behaviour to;
// every other offset in the block is stored and read back.
const (
	rccCR       = 0x00
	rccCFGR1    = 0x1C
	rccPLL1CFGR = 0x28
	rccPLL1DIVR = 0x34
	rccCIFR     = 0x54
	rccCICR     = 0x58
	rccBDCR     = 0xF0
	rccCSR      = 0xF4
	rccICSCR1   = 0x08
	rccCFGR2    = 0x20

	rccAHB1RSTR = 0x60
	rccAPB3RSTR = 0x80
	// rccENRToRSTR: each RSTR register sits 0x28 below the ENR register
	// with the same bit layout (AHB1RSTR 0x60 / AHB1ENR 0x88 … APB3RSTR
	// 0x80 / APB3ENR 0xA8).
	rccENRToRSTR = 0x28
)

// Oscillator ON bits and their ready flags: RCC_CR MSISON→MSISRDY,
// MSIKON→MSIKRDY, HSION→HSIRDY, HSI48ON→HSI48RDY, SHSION→SHSIRDY,
// HSEON→HSERDY, PLL1ON→PLL1RDY, PLL2ON→PLL2RDY, PLL3ON→PLL3RDY; RCC_BDCR
// LSEON→LSERDY, LSESYSEN→LSESYSRDY, LSION→LSIRDY.
var (
	crReady   = [][2]uint32{{0, 2}, {4, 5}, {8, 10}, {12, 13}, {14, 15}, {16, 17}, {24, 25}, {26, 27}, {28, 29}}
	bdcrReady = [][2]uint32{{0, 1}, {7, 11}, {26, 27}}
)

var rccNames = map[uint32]string{
	0x00: "CR", 0x08: "ICSCR1", 0x0C: "ICSCR2", 0x10: "ICSCR3", 0x14: "CRRCR", 0x1C: "CFGR1", 0x20: "CFGR2",
	0x24: "CFGR3", 0x28: "PLL1CFGR", 0x2C: "PLL2CFGR", 0x30: "PLL3CFGR", 0x34: "PLL1DIVR", 0x38: "PLL1FRACR",
	0x3C: "PLL2DIVR", 0x40: "PLL2FRACR", 0x44: "PLL3DIVR", 0x48: "PLL3FRACR", 0x50: "CIER", 0x54: "CIFR",
	0x58: "CICR", 0x60: "AHB1RSTR", 0x64: "AHB2RSTR1", 0x68: "AHB2RSTR2", 0x6C: "AHB3RSTR", 0x74: "APB1RSTR1",
	0x78: "APB1RSTR2", 0x7C: "APB2RSTR", 0x80: "APB3RSTR", 0x88: "AHB1ENR", 0x8C: "AHB2ENR1", 0x90: "AHB2ENR2",
	0x94: "AHB3ENR", 0x9C: "APB1ENR1", 0xA0: "APB1ENR2", 0xA4: "APB2ENR", 0xA8: "APB3ENR", 0xE0: "CCIPR1",
	0xE4: "CCIPR2", 0xE8: "CCIPR3", 0xF0: "BDCR", 0xF4: "CSR", 0x110: "SECCFGR", 0x114: "PRIVCFGR",
}

func rccRegName(off uint32) string {
	if n, ok := rccNames[off]; ok {
		return n
	}
	return fmt.Sprintf("offset %#x", off)
}

// rcc models RCC as Microvisor leaves it for the application: the system
// clock already on PLL1 at 160 MHz (HSI16 /1 ·20 /2), every oscillator
// it is asked to start ready at once, the clock switch status following
// the request, and enable/reset registers that read back what was written.
type rcc struct {
	s    *SoC
	regs map[uint32]uint32
}

func newRCC(s *SoC) *rcc {
	return &rcc{s: s, regs: map[uint32]uint32{
		rccCR:       1<<0 | 1<<2 | 1<<4 | 1<<5 | 1<<8 | 1<<10 | 1<<24 | 1<<25, // MSIS, MSIK, HSI16, PLL1 on and ready
		rccCFGR1:    3 | 3<<2,                                                 // SW = SWS = PLL1
		rccPLL1CFGR: 2 | 3<<2 | 1<<18,                                         // PLL1SRC = HSI16, PLL1RGE 8–16 MHz, PLL1M = 1, PLL1REN
		rccPLL1DIVR: 19 | 1<<9 | 1<<16 | 1<<24,                                // N = 20, P = Q = R = 2
		0x08:        4<<28 | 4<<24,                                            // ICSCR1 MSISRANGE, MSIKRANGE = 4 MHz
		rccCSR:      3<<26 | 4<<12 | 4<<8,                                     // CSR PINRSTF BORRSTF, MSISSRANGE, MSIKSRANGE = 4 MHz
		rccAHB1ENR:  1<<8 | 1<<30 | 1<<31,                                     // FLASHEN, DCACHE1EN, SRAM1EN
		rccAHB2ENR1: 1<<30 | 1<<31,                                            // SRAM2EN, SRAM3EN
		rccAHB3ENR:  1 << 31,                                                  // SRAM4EN
	}}
}

func (r *rcc) enabled(g clockGate) bool { return r.regs[g.reg]&(1<<g.bit) != 0 }

func (r *rcc) read(off uint32, size int) uint32 {
	switch off {
	case rccCICR:
		return 0
	case rccCIFR:
		return 0 // no clock-security or ready interrupts are raised
	}
	return r.regs[off]
}

func (r *rcc) write(off uint32, size int, v, mask uint32) {
	v = merge(r.regs[off], v, mask)
	switch off {
	case rccCR:
		v = mirrorReady(v, crReady)
	case rccBDCR:
		v = mirrorReady(v, bdcrReady)
	case rccCFGR1:
		v = v&^(3<<2) | (v&3)<<2 // SWS follows SW at once
	case rccCICR:
		return
	}
	rising := v &^ r.regs[off]
	r.regs[off] = v
	switch off {
	case rccCR, rccCFGR1, rccCFGR2, rccPLL1CFGR, rccPLL1DIVR:
		r.checkClock()
	}
	if off >= rccAHB1RSTR && off <= rccAPB3RSTR {
		for bit := range uint32(32) {
			if rising&(1<<bit) != 0 {
				if reset, ok := r.s.resets[clockGate{off, bit}]; ok {
					reset() // the model restarts from its reset state
				}
			}
		}
	}
}

// mirrorReady sets each ready flag to its ON bit: an oscillator or PLL is
// ready the moment it is switched on, and not ready once off.
func mirrorReady(v uint32, pairs [][2]uint32) uint32 {
	for _, p := range pairs {
		v = v&^(1<<p[1]) | (v>>p[0]&1)<<p[1]
	}
	return v
}

// msiRange is the MSIS frequency of each range (RM0456 RCC_ICSCR1
// MSISRANGE).
var msiRange = [16]uint64{48e6, 24e6, 16e6, 12e6, 4e6, 2e6, 1.5e6, 1e6, 3.072e6, 1.536e6, 1.024e6, 768e3, 400e3, 200e3, 150e3, 100e3}

// hclk is the AHB clock the registers select, as HAL_RCC_GetSysClockFreq
// and the HPRE prescaler compute it; src names the source (hz is 0 for
// HSE, whose frequency is the board's).
func (r *rcc) hclk() (hz uint64, src string) {
	msi := r.regs[rccCSR] >> 12 & 0xF
	if r.regs[rccICSCR1]&(1<<23) != 0 { // MSIRGSEL
		msi = r.regs[rccICSCR1] >> 28
	}
	pll := r.regs[rccPLL1CFGR]
	divr := r.regs[rccPLL1DIVR]
	switch r.regs[rccCFGR1] >> 2 & 3 {
	case 0:
		hz, src = msiRange[msi], "MSIS"
	case 1:
		hz, src = 16e6, "HSI16"
	case 2:
		return 0, "HSE"
	case 3:
		switch pll & 3 {
		case 1:
			hz, src = msiRange[msi], "PLL1 from MSIS"
		case 2:
			hz, src = 16e6, "PLL1 from HSI16"
		default:
			return 0, "PLL1 from HSE or nothing"
		}
		hz = hz / uint64(pll>>8&0xF+1) * uint64(divr&0x1FF+1) / uint64(divr>>24&0x7F+1)
	}
	if hpre := r.regs[rccCFGR2] & 0xF; hpre >= 8 {
		hz >>= [8]uint{1, 2, 3, 4, 6, 7, 8, 9}[hpre-8]
	}
	return hz, src
}

// checkClock traces, once per setting, a clock tree that no longer gives
// the core the frequency the emulator runs it at: firmware that derives
// time from its own idea of the clock (SysTick reloads, baud rates) is
// off by the ratio.
func (r *rcc) checkClock() {
	hz, src := r.hclk()
	if hz == r.s.o.PClk {
		return
	}
	what := fmt.Sprintf("%d Hz from %s", hz, src)
	if hz == 0 {
		what = "an unknown frequency from " + src
	}
	r.s.traceOnce("hclk "+what, fmt.Sprintf("stm32: RCC now gives HCLK %s; the emulator keeps running the core at %d Hz", what, r.s.o.PClk))
}
