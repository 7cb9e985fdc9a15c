package main

// The simulated buses behind the HAL stand-in's I2C and SPI calls
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

// mvnet_periph_gpio follows a GPIO output to the SPI chip selects.
//
//export mvnet_periph_gpio
func mvnet_periph_gpio(port, pin, level C.uint32_t) {
	proc().GPIODriven(int(port), int(pin), int(level))
}
