// Package periph models the peripherals a Microvisor application talks to
// over its buses: devices on I2C and SPI buses, each a Go model that
// answers bus transactions the way the part's datasheet says.
//
// The host C SDK's HAL (HAL_I2C_Master_Transmit, HAL_I2C_Mem_Read,
// HAL_SPI_TransmitReceive …) reaches these models through libmvnet; a CPU
// emulator's I2C/SPI register models will turn register accesses into the
// same transactions. This package depends on neither.
//
// # Buses and transactions
//
// An I2CBus holds I2CDevices at 7-bit addresses. I2CBus.Transfer runs one
// transaction as the controller drives it: START, the address with the R/W
// bit, bytes, a repeated START for the next segment, STOP. The addressed
// device ACKs or NACKs its address and every byte written to it; nothing
// answers an absent address, which NACKs as on hardware. An SPIBus holds
// SPIDevices, each selected by a chip-select line; SPIBus.Transfer clocks
// bytes full-duplex while one is selected.
//
// # Models
//
// Built-in models (see Models): "mcp9808" (temperature sensor), "lis3dh"
// (accelerometer), "ht16k33" (LED matrix / 7-segment driver). A model is
// registered with Register under a name a board file can use. Most I2C
// parts are a register map behind a pointer byte; RegisterFile implements
// that shape, so a model supplies only its registers (see the example).
//
// # Board file
//
// A board file (ParseBoard, LoadBoard; docs/peripherals.md) places models on
// buses and gives their inputs (a temperature, an acceleration) as
// constants or as timelines over the run. Without a board every bus is
// empty and every address NACKs.
package periph
