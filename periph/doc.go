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
// (accelerometer), "ht16k33" (LED matrix / 7-segment driver), "led" (a
// GPIO output), "echo" (a UART peer answering lines). A model is
// registered with Register under a name a board file can use. Most I2C
// parts are a register map behind a pointer byte; RegisterFile implements
// that shape, so a model supplies only its registers (see the example).
//
// # GPIO and UART
//
// A board also drives GPIO input pins (Board.DriveInput: a level or a
// timeline; Board.NextInput hands the levels out in time order on the
// board's clock), follows the GPIO outputs the application drives
// (Board.SetPin, the one GPIO hook: SPI chip selects and PinDevice models
// such as "led") and attaches devices to UARTs (UARTPort: text timelines
// with Board.SendText, UARTDevice models such as "echo" with
// Board.AttachUART; UARTPort.Read is what the application receives).
//
// # Board file
//
// A board file (ParseBoard, LoadBoard; docs/peripherals.md) places models on
// buses and gives their inputs (a temperature, an acceleration) as
// constants or as timelines over the run. Without a board every bus is
// empty and every address NACKs.
package periph
