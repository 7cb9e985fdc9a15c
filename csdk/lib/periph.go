package main

// The simulated board behind the HAL stand-in's I2C, SPI, GPIO and UART calls
// (csdk/hal/mvnet_periph.h). These exports carry the names the HAL refers to
// (weakly), so no C forwarding is needed; their wrappers live in the same
// object as the other exports, which every link of the library pulls in.

/*
#cgo CFLAGS: -I${SRCDIR}/../hal
#include <string.h>
#include "mvnet_periph.h"
*/
import "C"

import (
	"time"
	"unsafe"

	"github.com/mvnet/mvnet/periph"
)

// cbytes views n bytes of C memory at p (nil for none); valid for the call.
func cbytes(p *C.uint8_t, n C.uint32_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// cstring copies s into the C array dst of n bytes, cut and NUL-terminated.
func cstring(dst *C.char, n int, s string) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(dst)), n)
	k := copy(b[:n-1], s)
	b[k] = 0
}

// mvnet_periph_i2c runs one HAL I2C transaction on the board.
//
//export mvnet_periph_i2c
func mvnet_periph_i2c(x *C.struct_mvnet_periph_i2c_xfer) {
	var segs []periph.I2CSegment
	if x.has_write != 0 {
		w := append(cbytes(&x.pre[0], x.pre_len)[:x.pre_len:x.pre_len], cbytes(x.tx, x.tx_len)...)
		segs = append(segs, periph.I2CSegment{Data: w})
	}
	if x.has_read != 0 {
		segs = append(segs, periph.I2CSegment{Read: true, Data: cbytes(x.rx, x.rx_len)})
	}
	r := proc().I2CTransfer(int(x.bus), uint16(x.addr), segs...)
	switch {
	case r.AddrNACK:
		x.result = C.MVNET_I2C_ADDR_NACK
	case r.DataNACK:
		x.result = C.MVNET_I2C_DATA_NACK
	default:
		x.result = C.MVNET_I2C_ACK
	}
	x.written = C.uint32_t(r.Written)
	cstring(&x.device[0], len(x.device), r.Device)
	cstring(&x.state[0], len(x.state), r.State)
}

// mvnet_periph_spi runs one HAL SPI transfer on the board.
//
//export mvnet_periph_spi
func mvnet_periph_spi(x *C.struct_mvnet_periph_spi_xfer) {
	r := proc().SPITransfer(int(x.bus), x.hard_nss != 0, cbytes(x.tx, x.len), cbytes(x.rx, x.len))
	cstring(&x.device[0], len(x.device), r.Device)
	cstring(&x.cs[0], len(x.cs), r.CS)
}

// waitFor is a C wait in milliseconds (negative: no limit).
func waitFor(ms C.int32_t) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// mvnet_periph_gpio is the one GPIO output hook: SPI chip selects and pin
// models follow the level; x.device/x.state tell a pin model's state.
//
//export mvnet_periph_gpio
func mvnet_periph_gpio(x *C.struct_mvnet_periph_pin) {
	r := proc().GPIODriven(int(x.port), int(x.pin), int(x.level))
	cstring(&x.device[0], len(x.device), r.Device)
	cstring(&x.state[0], len(x.state), r.State)
}

// mvnet_periph_gpio_input waits for the next level the board drives onto
// an input pin: 1 with x filled, 0 when none came within wait_ms, -1 when
// the board drives no more.
//
//export mvnet_periph_gpio_input
func mvnet_periph_gpio_input(x *C.struct_mvnet_periph_pin, waitMS C.int32_t) C.int {
	port, pin, level, ok, done := proc().GPIONextInput(waitFor(waitMS))
	switch {
	case done:
		return -1
	case !ok:
		return 0
	}
	x.port, x.pin, x.level = C.uint32_t(port), C.uint32_t(pin), C.uint32_t(level)
	return 1
}

// mvnet_periph_uart_tx hands bytes the application transmits to the model
// on the UART; device gets its name ("" for none).
//
//export mvnet_periph_uart_tx
func mvnet_periph_uart_tx(x *C.struct_mvnet_periph_uart_tx) {
	name := proc().UARTTransmitted(int(x.uart), cbytes(x.data, x.len))
	cstring(&x.device[0], len(x.device), name)
}

// mvnet_periph_uart_rx moves up to n received bytes into buf, waiting at
// most wait_ms for the first; it returns how many.
//
//export mvnet_periph_uart_rx
func mvnet_periph_uart_rx(uart C.uint32_t, buf *C.uint8_t, n C.uint32_t, waitMS C.int32_t) C.uint32_t {
	return C.uint32_t(proc().UARTReceive(int(uart), cbytes(buf, n), waitFor(waitMS)))
}
