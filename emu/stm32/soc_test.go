package stm32

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The models sit at stm32u585xx.h's non-secure bases and the catch-all
// covers the rest of 0x40000000–0x4FFFFFFF without a hole; the secure
// aliases are not mapped.
func TestMappingsPlacePeripherals(t *testing.T) {
	r := newRig(t, nil)
	want := map[uint32]string{
		0x46020C00: "RCC", 0x46020800: "PWR", 0x40022000: "FLASH", 0x40030400: "ICACHE",
		0x42020000: "GPIOA", 0x42020400: "GPIOB", 0x42022000: "GPIOI",
		0x40013800: "USART1", 0x40004400: "USART2", 0x40004800: "USART3", 0x40004C00: "UART4",
		0x40005000: "UART5", 0x46002400: "LPUART1",
		0x40005400: "I2C1", 0x40005800: "I2C2", 0x46002800: "I2C3", 0x40008400: "I2C4",
		0x40013000: "SPI1", 0x40003800: "SPI2", 0x46002000: "SPI3",
		0x40000000: "TIM2", 0x40000400: "TIM3", 0x40000800: "TIM4", 0x40000C00: "TIM5", 0x40001000: "TIM6", 0x40001400: "TIM7",
	}
	for addr, name := range want {
		mp, ok := r.m.Find(addr)
		if !ok || mp.Name != name || mp.Base != addr {
			t.Errorf("%#08x: got %q at %#08x (found %v), want %s", addr, mp.Name, mp.Base, ok, name)
		}
	}
	next := uint64(PeriphBase)
	for _, mp := range r.soc.Mappings() {
		if uint64(mp.Base) != next {
			t.Fatalf("hole or overlap at %#x (next mapping %s at %#08x)", next, mp.Name, mp.Base)
		}
		next = uint64(mp.Base) + uint64(mp.Size)
	}
	if next != PeriphEnd {
		t.Fatalf("mappings end at %#x, want %#x", next, PeriphEnd)
	}
	if _, ok := r.m.Load(0x50000000, 4); ok {
		t.Error("the secure alias 0x50000000 answered; want a bus error")
	}
	if _, ok := r.m.Load(0x3FFFFFFC, 4); ok {
		t.Error("0x3FFFFFFC answered; want a bus error")
	}
}

func TestUnmodelledTracedOncePerRegister(t *testing.T) {
	r := newRig(t, nil)
	const crc = 0x40023004 // CRC offset 0x4
	if v := r.r32(crc); v != 0 {
		t.Fatalf("unmodelled register read %#x, want 0", v)
	}
	r.w32(crc, 0xFFFF)
	if v := r.r32(crc); v != 0 {
		t.Fatalf("unmodelled register read %#x after a write, want 0 (writes ignored)", v)
	}
	r.load(crc+2, 2) // the same register, another lane
	lines := r.tracesWith("unmodelled")
	if len(lines) != 1 || !strings.Contains(lines[0], "0x40023004") || !strings.Contains(lines[0], "CRC offset 0x4") {
		t.Fatalf("traces %q, want one line naming 0x40023004 and CRC offset 0x4", lines)
	}
	r.r32(crc + 4)
	r.w32(0x4FFFFFFC, 1)
	if n := len(r.tracesWith("unmodelled")); n != 3 {
		t.Fatalf("%d unmodelled traces after two more registers, want 3: %q", n, r.traces)
	}
}

// HAL_RCC_GetSysClockFreq's arithmetic on the reset registers gives the
// 160 MHz Microvisor runs the part at.
func TestRCCResetClockIs160MHz(t *testing.T) {
	r := newRig(t, nil)
	cfgr1 := r.r32(rccBase + rccCFGR1)
	pllcfgr, divr := r.r32(rccBase+rccPLL1CFGR), r.r32(rccBase+rccPLL1DIVR)
	if cfgr1>>2&3 != 3 || pllcfgr&3 != 2 || r.r32(rccBase+rccCR)&(1<<10) == 0 {
		t.Fatalf("CFGR1 %#x PLL1CFGR %#x: want SWS = PLL1 fed by a ready HSI16", cfgr1, pllcfgr)
	}
	m := uint64(pllcfgr>>8&0xF) + 1
	n := uint64(divr&0x1FF) + 1
	rdiv := uint64(divr>>24&0x7F) + 1
	if hz := 16_000_000 / m * n / rdiv; hz != 160_000_000 {
		t.Fatalf("SYSCLK %d Hz, want 160 MHz", hz)
	}
}

// The oscillator and PLL sequence of HAL_RCC_OscConfig and the switch of
// HAL_RCC_ClockConfig complete, and enable registers read back.
func TestRCCAnswersReady(t *testing.T) {
	r := newRig(t, nil)
	const cr, cfgr1 = rccBase + rccCR, rccBase + rccCFGR1
	if r.r32(cr)&(1<<25) == 0 || r.r32(cfgr1)&0xC != 0xC {
		t.Fatalf("reset: CR %#x CFGR1 %#x, want PLL1 ready and selected (as Microvisor leaves it)", r.r32(cr), r.r32(cfgr1))
	}
	r.clear(cr, 1<<24) // __HAL_RCC_PLL_DISABLE
	r.wait(cr, "PLL1RDY clear", func(v uint32) bool { return v&(1<<25) == 0 })
	r.set(cr, 1<<8) // HSION
	r.flagSet(cr, 1<<10, "HSIRDY")
	r.set(cr, 1<<24)
	r.flagSet(cr, 1<<25, "PLL1RDY")
	r.set(rccBase+rccBDCR, 1) // LSEON
	r.flagSet(rccBase+rccBDCR, 1<<1, "LSERDY")
	r.modify(cfgr1, 3, 1) // SW = HSI16
	r.wait(cfgr1, "SWS = HSI16", func(v uint32) bool { return v>>2&3 == 1 })
	if got := r.tracesWith("HCLK"); len(got) != 1 || !strings.Contains(got[0], "16000000 Hz from HSI16") {
		t.Fatalf("traces %q, want one saying HCLK is now 16 MHz from HSI16", got)
	}
	r.modify(cfgr1, 3, 3) // back to PLL1: 160 MHz again, nothing to say
	if n := len(r.tracesWith("HCLK")); n != 1 {
		t.Fatalf("%d HCLK traces after switching back to 160 MHz, want still 1: %q", n, r.traces)
	}
	r.enableClock(clockGate{rccAPB1ENR1, 17})
	r.clear(rccBase+rccAPB1ENR1, 1<<17)
	if r.r32(rccBase+rccAPB1ENR1)&(1<<17) != 0 {
		t.Fatal("APB1ENR1 USART2EN still set after clearing it")
	}
}

func TestClockOffTracedOnce(t *testing.T) {
	r := newRig(t, nil)
	r.r32(gpioBase + gpioIDR)
	r.r32(gpioBase + gpioODR)
	lines := r.tracesWith("clock off")
	if len(lines) != 1 || !strings.Contains(lines[0], "GPIOA") || !strings.Contains(lines[0], "AHB2ENR1 bit 0") {
		t.Fatalf("traces %q, want one line for GPIOA naming AHB2ENR1 bit 0", lines)
	}
	r.enableClock(clockGate{rccAHB2ENR1, 1})
	r.r32(gpioBase + 0x400 + gpioIDR)
	if n := len(r.tracesWith("GPIOB accessed")); n != 0 {
		t.Fatalf("GPIOB with its clock on traced: %q", r.traces)
	}
}

// mvPeriphPoke32 as the Microvisor HAL's MV_SET_BIT/MV_CLEAR_BIT use it.
func TestPeriphPeekPoke(t *testing.T) {
	r := newRig(t, nil)
	en := uint32(rccBase + rccAPB1ENR1)
	if !r.soc.PeriphPoke32(en, 1<<21, 1<<21) { // MV_SET_BIT(RCC->APB1ENR1, I2C1EN)
		t.Fatal("poke refused")
	}
	if v, ok := r.soc.PeriphPeek32(en); !ok || v != 1<<21 {
		t.Fatalf("peek %#x %v, want %#x", v, ok, 1<<21)
	}
	r.soc.PeriphPoke32(en, 0xFFFFFFFF, 1<<17) // MV_WRITE_REG
	r.soc.PeriphPoke32(en, 0, 1<<17|1<<4)     // toggle: USART2EN off, TIM6EN on
	if v, _ := r.soc.PeriphPeek32(en); v != 1<<4 {
		t.Fatalf("after the toggle: %#x, want %#x", v, 1<<4)
	}
	if v, ok := r.soc.PeriphPeek32(en + 0x10000000); !ok || v != 1<<4 { // RCC_S
		t.Fatalf("peek through the secure alias: %#x %v", v, ok)
	}
	if _, ok := r.soc.PeriphPeek32(0x40023004); ok {
		t.Error("peek of an unmodelled register succeeded")
	}
	if _, ok := r.soc.PeriphPeek32(gpioBase + gpioMODER); ok {
		t.Error("peek of a GPIO register succeeded: Microvisor serves RCC only")
	}
	if r.soc.PeriphPoke32(usartTable[1].base+usartCR1, 1, 1) {
		t.Error("poke of a USART register succeeded: Microvisor serves RCC only")
	}
	if _, ok := r.soc.PeriphPeek32(en + 1); ok {
		t.Error("peek of an unaligned address succeeded")
	}
}

// What HAL_Init and SystemClock_Config wait on completes; the registers
// read back; each is traced once as accepted.
func TestAcceptedBlocks(t *testing.T) {
	r := newRig(t, nil)
	const acr = flashBase
	r.modify(acr, 0xF, 4) // __HAL_FLASH_SET_LATENCY(FLASH_LATENCY_4)
	if r.r32(acr)&0xF != 4 {
		t.Fatalf("FLASH ACR latency %d, want 4", r.r32(acr)&0xF)
	}
	r.r32(acr)
	if n := len(r.tracesWith("FLASH ACR")); n != 1 {
		t.Fatalf("%d FLASH ACR traces, want 1: %q", n, r.traces)
	}
	const vosr = pwrBase + 0x0C
	r.modify(vosr, 3<<16|1<<18, 3<<16|1<<18) // range 1 with the booster
	r.flagSet(vosr, 1<<15, "VOSRDY")
	r.flagSet(vosr, 1<<14, "BOOSTRDY")
	r.wait(pwrBase+0x3C, "ACTVOS = range 1", func(v uint32) bool { return v>>16&3 == 3 && v&(1<<15) != 0 })
	r.set(icacheBase, 1<<1) // HAL_ICACHE_Invalidate
	r.flagSet(icacheBase+4, 1<<1, "ICACHE BSYENDF")
	r.w32(icacheBase+0x0C, 1<<1)
	if r.r32(icacheBase+4)&2 != 0 {
		t.Fatal("ICACHE BSYENDF not cleared by FCR")
	}
	if r.r32(flashBase+0x28)&(1<<31) == 0 {
		t.Fatal("FLASH NSCR not locked at reset")
	}
	r.w32(flashBase+0x08, 0x45670123)
	r.w32(flashBase+0x08, 0xCDEF89AB)
	if r.r32(flashBase+0x28)&(1<<31) != 0 {
		t.Fatal("FLASH NSCR still locked after the key sequence")
	}
}

// __HAL_RCC_xxx_FORCE_RESET/RELEASE_RESET put a model back to its reset
// state; what it held outside (a timer's next update, an open I2C
// transaction) lets go.
func TestRCCResetRestartsModels(t *testing.T) {
	r := newRig(t, nil)
	u := usartTable[1]
	uartInit(r, u.base)
	rst := rccBase + u.clock.reg - rccENRToRSTR
	r.set(rst, 1<<u.clock.bit)
	r.clear(rst, 1<<u.clock.bit)
	if r.r32(u.base+usartCR1) != 0 || r.r32(u.base+usartBRR) != 0 {
		t.Fatalf("after the reset CR1 %#x BRR %#x, want 0 0", r.r32(u.base+usartCR1), r.r32(u.base+usartBRR))
	}
	if got := r.tracesWith("USART2 reset"); len(got) != 1 || !strings.Contains(got[0], "APB1RSTR1 bit 17") {
		t.Fatalf("traces %q, want one \"USART2 reset (RCC APB1RSTR1 bit 17)\"", got)
	}

	tm := timTable[4] // TIM6, 1 ms period
	timBaseInit(r, tm.base, 15999, 9, true)
	r.set(tm.base+timDIER, timUIE)
	r.set(tm.base+timCR1, timCEN)
	r.set(rccBase+tm.clock.reg-rccENRToRSTR, 1<<tm.clock.bit)
	r.clk.advance(5 * time.Millisecond)
	if r.irqCount(tm.irq) != 0 || r.r32(tm.base+timCR1) != 0 {
		t.Fatalf("a timer reset before its update still pended %d times (CR1 %#x)", r.irqCount(tm.irq), r.r32(tm.base+timCR1))
	}

	dev := &recorder{}
	if err := r.board.I2C("I2C4").Attach(0x30, "recorder", dev); err != nil {
		t.Fatal(err)
	}
	h := hal{r, i2cTable[3].base}
	h.init()
	h.transferConfig(0x30<<1, 2, halSoftEnd, halStartWrite)
	r.set(rccBase+i2cTable[3].clock.reg-rccENRToRSTR, 1<<i2cTable[3].clock.bit)
	if fmt.Sprint(dev.log) != "[start read=false stop]" {
		t.Fatalf("the target saw %v, want the reset to end the transaction with a STOP", dev.log)
	}
	if r.r32(h.base+i2cCR1) != 0 || r.r32(h.base+i2cISR)&i2cBUSY != 0 {
		t.Fatal("I2C4 not back to its reset state")
	}
}

// Reset puts every model back in its reset state and lets go of what they
// held (a running timer's next update).
func TestSoCReset(t *testing.T) {
	r := newRig(t, nil)
	r.enableClock(clockGate{rccAPB1ENR1, 17})
	uartInit(r, usartTable[1].base)
	tm := timTable[4]
	timBaseInit(r, tm.base, 15999, 9, true)
	r.set(tm.base+timDIER, timUIE)
	r.set(tm.base+timCR1, timCEN)
	r.modify(rccBase+rccCFGR1, 3, 1)
	r.soc.Reset()
	if r.r32(usartTable[1].base+usartCR1) != 0 || r.r32(rccBase+rccAPB1ENR1)&(1<<17) != 0 {
		t.Fatal("USART2 or its clock enable survived the reset")
	}
	if r.r32(rccBase+rccCFGR1)>>2&3 != 3 {
		t.Fatal("RCC not back to PLL1 after the reset")
	}
	r.clk.advance(5 * time.Millisecond)
	if r.irqCount(tm.irq) != 0 {
		t.Fatalf("TIM6 pended %d times after the reset stopped it", r.irqCount(tm.irq))
	}
}
