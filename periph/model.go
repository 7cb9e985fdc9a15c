package periph

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Env is what a model is built with: where the board put it and how to
// read its inputs.
type Env struct {
	// Bus is the bus's name: "I2C1" … "I2C4", "SPI1" … "SPI3".
	Bus string
	// Address is the 7-bit I2C address (I2C models).
	Address uint16
	// CS is the chip-select line (SPI models): "NSS" or a pin such as "PA4".
	CS string
	// Input returns the current value of one of the model's inputs (a name
	// in Model.Inputs): the board's constant or timeline, else the default.
	Input func(name string) float64
	// Now is the time since the board started (the application's start).
	Now func() time.Duration
	// Pin is the GPIO pin a pin model is wired to ("PA5").
	Pin string
	// UART is the UART a UART model is attached to ("USART2").
	UART string
	// Send puts bytes on the UART's line to the application (UART models).
	Send func(data []byte)
}

// Model describes a kind of device a board file can name.
type Model struct {
	// Name is the board file's "model" value: lower case, e.g. "mcp9808".
	Name string
	// Summary is one line for listings.
	Summary string
	// Inputs are the model's physical inputs (board file "values" keys)
	// and their defaults, e.g. {"temperature_c": 20}.
	Inputs map[string]float64
	// Addresses are the I2C addresses the part can be strapped to; a board
	// naming another is an error. Empty: any valid address.
	Addresses []uint16
	// NewI2C builds the device for an I2C bus (nil: not an I2C part).
	NewI2C func(Env) I2CDevice
	// NewSPI builds the device for an SPI bus (nil: not an SPI part).
	NewSPI func(Env) SPIDevice
	// NewPin builds the device for a GPIO output pin (nil: not a pin
	// model), e.g. an LED.
	NewPin func(Env) PinDevice
	// NewUART builds the device attached to a UART (nil: not a UART model).
	NewUART func(Env) UARTDevice
	// Outputs names the part's output lines a board file can wire to GPIO
	// input pins (a device's "pins"), e.g. "alert"; the device implements
	// PinOutputs.
	Outputs []string
}

// PinOutputs is implemented by devices with output lines (Model.Outputs):
// OutputLevel is the level the part puts on the line now (an open-drain
// output not pulling low reads 1, as through its pull-up). The board
// samples it with the bus held, so it needs no lock of its own.
type PinOutputs interface {
	OutputLevel(name string) int
}

// Stater is implemented by models whose visible state is worth showing
// after each transaction (a display's RAM): State returns it compactly, or
// "" when there is nothing to show. The C SDK puts it in the trace.
type Stater interface {
	State() string
}

var (
	modelsMu sync.Mutex
	models   = map[string]Model{}
)

// Register makes a model available to board files under m.Name. It fails
// when the name is taken or the model builds no device.
func Register(m Model) error {
	if m.Name == "" {
		return fmt.Errorf("periph: a model needs a name")
	}
	if m.NewI2C == nil && m.NewSPI == nil && m.NewPin == nil && m.NewUART == nil {
		return fmt.Errorf("periph: model %q builds no device (NewI2C, NewSPI, NewPin, NewUART)", m.Name)
	}
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if _, ok := models[m.Name]; ok {
		return fmt.Errorf("periph: model %q is already registered", m.Name)
	}
	models[m.Name] = m
	return nil
}

// MustRegister is Register that panics on error, for package init.
func MustRegister(m Model) {
	if err := Register(m); err != nil {
		panic(err)
	}
}

// Lookup returns the model registered as name.
func Lookup(name string) (Model, bool) {
	modelsMu.Lock()
	defer modelsMu.Unlock()
	m, ok := models[name]
	return m, ok
}

// Models lists the registered models by name.
func Models() []Model {
	modelsMu.Lock()
	defer modelsMu.Unlock()
	out := make([]Model, 0, len(models))
	for _, m := range models {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// lookupFor finds model name for a use ("an I2C part", "a pin model"):
// errors for the board file's "model" field when it is unknown or has no
// device of that kind (builds returns nil).
func lookupFor(name, kind string, builds func(Model) bool) (Model, error) {
	m, ok := Lookup(name)
	if !ok {
		return m, &fieldError{"model", fmt.Errorf("unknown model %q (known: %s)", name, strings.Join(modelNames(), ", "))}
	}
	if !builds(m) {
		return m, &fieldError{"model", fmt.Errorf("%s is not %s", m.Name, kind)}
	}
	return m, nil
}

func modelNames() []string {
	var names []string
	for _, m := range Models() {
		names = append(names, m.Name)
	}
	return names
}
