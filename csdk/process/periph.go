package process

import (
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/periph"
)

// EnvBoard names a board file (docs/peripherals.md): the simulated devices
// on the application's I2C and SPI buses. Unset, every bus is empty and
// every I2C address NACKs.
const EnvBoard = "MVNET_BOARD"

// EnvBoardEpoch carries the board's start across mvRestart and
// NVIC_SystemReset (Unix time in nanoseconds; set by the library): an MCU
// reset does not power-cycle the parts on the board, so their timelines go
// on from where they were. The models' register state does not cross the
// exec — the process is replaced and the board file read again — so it
// starts from power-up (docs/peripherals.md).
const EnvBoardEpoch = "MVNET_BOARD_EPOCH"

// readBoard builds the board MVNET_BOARD names, once, at start-up; its
// timelines count from then, or from EnvBoardEpoch after a restart.
func (c *Config) readBoard(getenv func(string) string) error {
	v := getenv(EnvBoard)
	if v == "" {
		return nil
	}
	start := time.Now()
	// A wall clock stepped back across the exec must not put the board's
	// start in the future.
	if !c.BoardStart.IsZero() && c.BoardStart.Before(start) {
		start = c.BoardStart
	}
	c.BoardStart = start
	clock := &boardClock{start: start}
	b, err := periph.LoadBoard(v, clock.now)
	var be *periph.BoardError
	if errors.As(err, &be) {
		// The variable's value names the file already.
		e := *be
		e.File = ""
		return &e
	}
	if err != nil {
		return err
	}
	c.Board, c.boardClock = b, clock
	return nil
}

// boardClock is the board's timeline clock: the wall clock since start,
// or the process's Options.Monotonic once New has set it (the emulator's
// virtual time, so that a firmware run's sensor readings repeat).
type boardClock struct {
	start   time.Time
	virtual atomic.Pointer[func() time.Duration]
}

func (c *boardClock) now() time.Duration {
	if v := c.virtual.Load(); v != nil {
		return (*v)()
	}
	return time.Since(c.start)
}

// boardEnv is what a restarted image needs to go on with the same board
// timeline (restartEnv).
func (p *Process) boardEnv() []string {
	if p.cfg.Board == nil {
		return nil
	}
	return []string{EnvBoardEpoch + "=" + strconv.FormatInt(p.cfg.BoardStart.UnixNano(), 10)}
}

var (
	emptyBoardOnce sync.Once
	emptyBoard     *periph.Board
)

// Board is the application's board: MVNET_BOARD's, or one with empty buses.
func (p *Process) Board() *periph.Board {
	if p.cfg.Board != nil {
		return p.cfg.Board
	}
	emptyBoardOnce.Do(func() { emptyBoard = periph.NewBoard(nil) })
	return emptyBoard
}

// I2CTransfer runs one transaction of the HAL on bus I2C<bus+1> (csdk/hal:
// hal_i2c.c); an unknown bus has no devices.
func (p *Process) I2CTransfer(bus int, addr uint16, segs ...periph.I2CSegment) periph.I2CResult {
	b := p.Board().I2C(busName(periph.I2CBusNames, bus))
	if b == nil {
		return periph.I2CResult{AddrNACK: true}
	}
	return b.Transfer(addr, segs...)
}

// SPIBus returns bus SPI<bus+1>, nil if there is none.
func (p *Process) SPIBus(bus int) *periph.SPIBus {
	return p.Board().SPI(busName(periph.SPIBusNames, bus))
}

func busName(names []string, i int) string {
	if i < 0 || i >= len(names) {
		return ""
	}
	return names[i]
}

// SPITransfer runs one HAL transfer on bus SPI<bus+1> (hal_spi.c): tx out,
// rx in (same length). An unknown bus has nothing selected.
func (p *Process) SPITransfer(bus int, hardNSS bool, tx, rx []byte) periph.SPIResult {
	b := p.Board().SPI(busName(periph.SPIBusNames, bus))
	if b == nil {
		for i := range rx {
			rx[i] = 0xFF
		}
		return periph.SPIResult{}
	}
	return b.Transfer(hardNSS, tx, rx)
}

// GPIODriven is a GPIO output (port 0…8 = GPIOA…GPIOI) driven to level by
// the HAL (hal_gpio.c): the board's one GPIO hook, which SPI chip selects
// and pin models follow. It returns the pin model's visible state, if any.
func (p *Process) GPIODriven(port, pin, level int) periph.PinResult {
	b := p.Board()
	name := periph.PinName(port, pin)
	if name == "" || !b.WatchesPins() {
		return periph.PinResult{}
	}
	return b.SetPin(name, level)
}

// GPIONextInput is the next level the board puts on an input pin (port
// 0…8, pin 0…15), waiting at most wait (negative: as long as it takes):
// ok=false when none came, done=true when the board has no more.
func (p *Process) GPIONextInput(wait time.Duration) (port, pin, level int, ok, done bool) {
	c, ok, done := p.Board().NextInput(wait)
	if !ok {
		return 0, 0, 0, false, done
	}
	port, pin, _ = periph.PinNumbers(c.Pin)
	return port, pin, c.Level, true, false
}

// uartPort is UART uart (0…5 in periph.UARTNames order), nil if none.
func (p *Process) uartPort(uart int) *periph.UARTPort {
	return p.Board().UART(busName(periph.UARTNames, uart))
}

// UARTTransmitted is the application sending data on UART uart
// (hal_uart.c): the model attached there hears it. It returns the model's
// name ("" for none).
func (p *Process) UARTTransmitted(uart int, data []byte) string {
	u := p.uartPort(uart)
	if u == nil {
		return ""
	}
	u.Transmit(data)
	return u.Device()
}

// UARTReceive moves bytes the board sent on UART uart into buf, waiting at
// most wait for the first (negative: as long as it takes).
func (p *Process) UARTReceive(uart int, buf []byte, wait time.Duration) int {
	u := p.uartPort(uart)
	if u == nil {
		return 0
	}
	return u.Read(buf, wait)
}
