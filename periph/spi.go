package periph

import (
	"fmt"
	"strings"
	"sync"
)

// SPIDevice is a target on an SPI bus. The bus calls it only while it is
// selected, never concurrently.
type SPIDevice interface {
	// Select is its chip select going active (low).
	Select()
	// Exchange clocks one byte each way: mosi from the controller, the
	// returned byte back on MISO.
	Exchange(mosi byte) byte
	// Deselect is its chip select going inactive.
	Deselect()
}

// NSS is the chip-select name of a device wired to the SPI peripheral's
// hardware NSS output: selected for the length of each HAL transfer.
const NSS = "NSS"

// SPIBus is one SPI bus (SPI1 …) and the devices on it, each behind its
// chip-select line.
type SPIBus struct {
	Name string

	mu       sync.Mutex // serialises transfers and chip-select changes
	devs     map[string]SPIDevice
	names    map[string]string
	selected map[string]bool // GPIO chip selects held low
}

// NewSPIBus returns an empty bus.
func NewSPIBus(name string) *SPIBus {
	return &SPIBus{Name: name, devs: map[string]SPIDevice{}, names: map[string]string{}, selected: map[string]bool{}}
}

// CanonicalCS spells a chip select the one way: "NSS", or a pin as "PA4"
// (from "pa4", "GPIOA4", "PA04").
func CanonicalCS(cs string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(cs))
	if u == NSS {
		return NSS, nil
	}
	p, err := CanonicalPin(cs)
	if err != nil {
		return "", fmt.Errorf("%q is not a chip select (want \"NSS\" or a pin PA0…PI15)", cs)
	}
	return p, nil
}

// Attach places d behind chip select cs under the model name model.
func (b *SPIBus) Attach(cs, model string, d SPIDevice) error {
	c, err := CanonicalCS(cs)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.devs[c]; ok {
		return fmt.Errorf("%s already has %s on %s", b.Name, b.names[c], c)
	}
	b.devs[c], b.names[c] = d, model
	return nil
}

// SetPin is a GPIO pin ("PA4") driven to level: a device whose chip select
// it is becomes selected at 0 and deselected at 1. Other pins are ignored.
func (b *SPIBus) SetPin(pin string, level int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.devs[pin]
	if !ok || pin == NSS {
		return
	}
	switch sel := level == 0; {
	case sel && !b.selected[pin]:
		b.selected[pin] = true
		d.Select()
	case !sel && b.selected[pin]:
		delete(b.selected, pin)
		d.Deselect()
	}
}

// HasPin reports whether pin is some device's chip select.
func (b *SPIBus) HasPin(pin string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.devs[pin]
	return ok && pin != NSS
}

// SPIResult is what a transfer reached.
type SPIResult struct {
	// Device is the selected model's name; "" when nothing was selected
	// (MISO then reads 0xFF, the idle level of a pulled-up line).
	Device string
	// CS is the selected device's chip select.
	CS string
}

// Transfer clocks len(tx) bytes out and fills rx (same length, or nil to
// drop what comes back). With nss, the device on the hardware NSS line is
// selected for this transfer; otherwise the device whose GPIO chip select
// is low answers.
func (b *SPIBus) Transfer(nss bool, tx, rx []byte) SPIResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	var r SPIResult
	var d SPIDevice
	if nss {
		if dev, ok := b.devs[NSS]; ok {
			d, r.CS = dev, NSS
			d.Select()
			defer d.Deselect()
		}
	}
	if d == nil {
		for cs := range b.selected {
			d, r.CS = b.devs[cs], cs
			break
		}
	}
	if d != nil {
		r.Device = b.names[r.CS]
	}
	for i, c := range tx {
		in := byte(0xFF)
		if d != nil {
			in = d.Exchange(c)
		}
		if rx != nil {
			rx[i] = in
		}
	}
	return r
}
