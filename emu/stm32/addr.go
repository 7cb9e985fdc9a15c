package stm32

import "fmt"

// Addresses and interrupt numbers of the STM32U585's peripherals: the
// non-secure bases (*_BASE_NS) and IRQn values of ST's CMSIS device header
// stm32u585xx.h (STMicroelectronics/STM32CubeU5,
// Drivers/CMSIS/Device/ST/STM32U5xx/Include/stm32u585xx.h, the header the
// Microvisor HAL builds against). Facts to match; every model uses these
// and nothing else.
const (
	apb1Base = PeriphBase              // APB1PERIPH_BASE_NS
	apb2Base = PeriphBase + 0x00010000 // APB2PERIPH_BASE_NS
	ahb1Base = PeriphBase + 0x00020000 // AHB1PERIPH_BASE_NS
	ahb2Base = PeriphBase + 0x02020000 // AHB2PERIPH_BASE_NS
	apb3Base = PeriphBase + 0x06000000 // APB3PERIPH_BASE_NS
	ahb3Base = PeriphBase + 0x06020000 // AHB3PERIPH_BASE_NS

	gpioBase   = ahb2Base          // GPIOA_BASE_NS; GPIOB…GPIOI follow every 0x400
	rccBase    = ahb3Base + 0x0C00 // RCC_BASE_NS = 0x46020C00
	pwrBase    = ahb3Base + 0x0800 // PWR_BASE_NS = 0x46020800
	flashBase  = ahb1Base + 0x2000 // FLASH_R_BASE_NS = 0x40022000
	icacheBase = ahb1Base + 0x10400
	dcacheBase = ahb1Base + 0x11400
	syscfgBase = apb3Base + 0x0400
	extiBase   = ahb3Base + 0x2000 // EXTI_BASE_NS = 0x46022000
)

// RCC clock-enable registers the gates use, and their bits below (RM0456
// RCC register map; offsets and bits checked against the STM32U585 SVD as
// ZhiYi-R/EmbeddedPlusPlus Device/STM32U585/RCC.hpp renders it).
const (
	rccAHB1ENR  = 0x88
	rccAHB2ENR1 = 0x8C
	rccAHB3ENR  = 0x94
	rccAPB1ENR1 = 0x9C
	rccAPB1ENR2 = 0xA0
	rccAPB2ENR  = 0xA4
	rccAPB3ENR  = 0xA8
)

type usartSpec struct {
	name  string
	base  uint32
	irq   uint32
	clock clockGate
	lp    bool // LPUART: BRR is 256·fck/baud
}

var usartTable = []usartSpec{
	{"USART1", apb2Base + 0x3800, 61, clockGate{rccAPB2ENR, 14}, false}, // USART1_IRQn = 61
	{"USART2", apb1Base + 0x4400, 62, clockGate{rccAPB1ENR1, 17}, false},
	{"USART3", apb1Base + 0x4800, 63, clockGate{rccAPB1ENR1, 18}, false},
	{"UART4", apb1Base + 0x4C00, 64, clockGate{rccAPB1ENR1, 19}, false},
	{"UART5", apb1Base + 0x5000, 65, clockGate{rccAPB1ENR1, 20}, false},
	{"LPUART1", apb3Base + 0x2400, 66, clockGate{rccAPB3ENR, 6}, true},
}

type i2cSpec struct {
	name   string
	base   uint32
	ev, er uint32 // I2Cx_EV_IRQn, I2Cx_ER_IRQn
	clock  clockGate
}

var i2cTable = []i2cSpec{
	{"I2C1", apb1Base + 0x5400, 55, 56, clockGate{rccAPB1ENR1, 21}},
	{"I2C2", apb1Base + 0x5800, 57, 58, clockGate{rccAPB1ENR1, 22}},
	{"I2C3", apb3Base + 0x2800, 88, 89, clockGate{rccAPB3ENR, 7}},
	{"I2C4", apb1Base + 0x8400, 101, 100, clockGate{rccAPB1ENR2, 1}},
}

type spiSpec struct {
	name  string
	base  uint32
	irq   uint32
	clock clockGate
	fifo  int // FIFO size in bytes (RM0456: SPI1/SPI2 16, SPI3 8)
}

var spiTable = []spiSpec{
	{"SPI1", apb2Base + 0x3000, 59, clockGate{rccAPB2ENR, 12}, 16},
	{"SPI2", apb1Base + 0x3800, 60, clockGate{rccAPB1ENR1, 14}, 16},
	{"SPI3", apb3Base + 0x2000, 99, clockGate{rccAPB3ENR, 5}, 8},
}

type timSpec struct {
	name  string
	base  uint32
	irq   uint32
	clock clockGate
	wide  bool // 32-bit counter (TIM2, TIM5)
	basic bool // TIM6/TIM7: no capture/compare
}

var timTable = []timSpec{
	{"TIM2", apb1Base + 0x0000, 45, clockGate{rccAPB1ENR1, 0}, true, false},
	{"TIM3", apb1Base + 0x0400, 46, clockGate{rccAPB1ENR1, 1}, false, false},
	{"TIM4", apb1Base + 0x0800, 47, clockGate{rccAPB1ENR1, 2}, false, false},
	{"TIM5", apb1Base + 0x0C00, 48, clockGate{rccAPB1ENR1, 3}, true, false},
	{"TIM6", apb1Base + 0x1000, 49, clockGate{rccAPB1ENR1, 4}, false, true},
	{"TIM7", apb1Base + 0x1400, 50, clockGate{rccAPB1ENR1, 5}, false, true},
}

// named is an unmodelled peripheral's slot, for traces.
type named struct {
	name string
	base uint32
}

// unmodelledNames names the other peripherals of the part (stm32u585xx.h).
var unmodelledNames = []named{
	{"WWDG", apb1Base + 0x2C00}, {"IWDG", apb1Base + 0x3000}, {"CRS", apb1Base + 0x6000},
	{"LPTIM2", apb1Base + 0x9400}, {"FDCAN1", apb1Base + 0xA400}, {"UCPD1", apb1Base + 0xDC00},
	{"TIM1", apb2Base + 0x2C00}, {"TIM8", apb2Base + 0x3400}, {"TIM15", apb2Base + 0x4000},
	{"TIM16", apb2Base + 0x4400}, {"TIM17", apb2Base + 0x4800}, {"SAI1", apb2Base + 0x5400},
	{"SAI2", apb2Base + 0x5800}, {"LPTIM1", apb3Base + 0x4400}, {"LPTIM3", apb3Base + 0x4800},
	{"LPTIM4", apb3Base + 0x4C00}, {"OPAMP", apb3Base + 0x5000}, {"COMP", apb3Base + 0x5400},
	{"VREFBUF", apb3Base + 0x7400}, {"RTC", apb3Base + 0x7800}, {"TAMP", apb3Base + 0x7C00},
	{"GPDMA1", ahb1Base}, {"CORDIC", ahb1Base + 0x1000}, {"FMAC", ahb1Base + 0x1400},
	{"CRC", ahb1Base + 0x3000}, {"TSC", ahb1Base + 0x4000}, {"MDF1", ahb1Base + 0x5000},
	{"RAMCFG", ahb1Base + 0x6000}, {"DMA2D", ahb1Base + 0xB000}, {"GTZC_TZSC1", ahb1Base + 0x12400},
	{"GTZC_TZIC1", ahb1Base + 0x12800}, {"GTZC_MPCBB1", ahb1Base + 0x12C00}, {"GTZC_MPCBB2", ahb1Base + 0x13000},
	{"GTZC_MPCBB3", ahb1Base + 0x13400}, {"ADC1", ahb2Base + 0x8000}, {"DCMI", ahb2Base + 0xC000},
	{"PSSI", ahb2Base + 0xC400}, {"AES", ahb2Base + 0xA0000}, {"HASH", ahb2Base + 0xA0400},
	{"RNG", ahb2Base + 0xA0800}, {"SAES", ahb2Base + 0xA0C00}, {"PKA", ahb2Base + 0xA2000},
	{"OCTOSPIM", ahb2Base + 0xA4000}, {"OTFDEC1", ahb2Base + 0xA5000}, {"OTFDEC2", ahb2Base + 0xA5400},
	{"SDMMC1", ahb2Base + 0xA8000}, {"SDMMC2", ahb2Base + 0xA8C00}, {"FMC", ahb2Base + 0xB0400},
	{"OCTOSPI1", ahb2Base + 0xB1400}, {"OCTOSPI2", ahb2Base + 0xB2400}, {"LPGPIO1", ahb3Base},
	{"ADC4", ahb3Base + 0x1000}, {"DAC1", ahb3Base + 0x1800},
	{"GTZC_TZSC2", ahb3Base + 0x3000}, {"GTZC_TZIC2", ahb3Base + 0x3400}, {"GTZC_MPCBB4", ahb3Base + 0x3800},
	{"ADF1", ahb3Base + 0x4000}, {"LPDMA1", ahb3Base + 0x5000},
}

// peripheralAt names what the part has at addr: "CRC offset 0x4", or
// the bus region when no peripheral sits there.
func peripheralAt(addr uint32) string {
	for _, n := range unmodelledNames {
		if addr >= n.base && addr < n.base+blockSize {
			return fmt.Sprintf("%s offset %#x", n.name, addr-n.base)
		}
	}
	regions := []named{{"AHB3", ahb3Base}, {"APB3", apb3Base}, {"AHB2", ahb2Base}, {"AHB1", ahb1Base}, {"APB2", apb2Base}, {"APB1", apb1Base}}
	for _, r := range regions {
		if addr >= r.base {
			return fmt.Sprintf("%s space, no peripheral", r.name)
		}
	}
	return "peripheral space"
}
