// Package hal holds the C sources of mvnet's host stand-in for the STM32U5
// HAL subset that Microvisor applications use: the millisecond tick,
// HAL_Delay, SystemCoreClock, no-op clock enables, GPIO (every action
// recorded in the trace) and a UART that writes to stdout. The header is
// csdk/include/stm32u5xx_hal.h; libmvnet compiles the C files in this
// directory into itself. See README.md for what is and is not emulated.
//
// The package has no Go API. Its tests compile the C sources with the host's
// gcc together with the C programs in testdata and check their behaviour and
// trace output.
package hal
