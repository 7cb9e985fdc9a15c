package periph

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PinDevice is a model wired to a GPIO pin the application drives (an LED,
// a part's enable or reset line): the board calls Pin with every level the
// application drives the pin to, changed or not, never concurrently.
type PinDevice interface {
	Pin(level int)
}

// PinFunc adapts a function to PinDevice.
type PinFunc func(level int)

// Pin calls f.
func (f PinFunc) Pin(level int) { f(level) }

// CanonicalPin spells a GPIO pin the one way, "PC13" (from "pc13",
// "GPIOC13", "PC013").
func CanonicalPin(pin string) (string, error) {
	u := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(pin)), "GPIO")
	u = strings.TrimPrefix(u, "P")
	var port byte
	var n int
	var rest string
	if k, _ := fmt.Sscanf(u, "%c%d%s", &port, &n, &rest); k != 2 || port < 'A' || port > 'I' || n < 0 || n > 15 {
		return "", fmt.Errorf("%q is not a GPIO pin (want PA0 … PI15)", pin)
	}
	return fmt.Sprintf("P%c%d", port, n), nil
}

// PinName is the pin of port 0…8 (GPIOA … GPIOI), number 0…15: "PC13";
// "" when out of range.
func PinName(port, pin int) string {
	if port < 0 || port > 8 || pin < 0 || pin > 15 {
		return ""
	}
	return fmt.Sprintf("P%c%d", 'A'+port, pin)
}

// PinNumbers is PinName's inverse: "PC13" → port 2, pin 13; ok=false for
// anything CanonicalPin would not return.
func PinNumbers(name string) (port, pin int, ok bool) {
	c, err := CanonicalPin(name)
	if err != nil || c != name {
		return 0, 0, false
	}
	pin, _ = strconv.Atoi(name[2:])
	return int(name[1] - 'A'), pin, true
}

// pinWatch is one device following an output pin.
type pinWatch struct {
	model string
	dev   PinDevice
}

// PinResult is what an output level reached: the last model on the pin
// that has a visible state, and that state.
type PinResult struct {
	Device string
	State  string
}

// watchPin makes dev follow output pin (canonical).
func (b *Board) watchPin(pin, model string, dev PinDevice) {
	b.pinMu.Lock()
	defer b.pinMu.Unlock()
	b.watch[pin] = append(b.watch[pin], pinWatch{model, dev})
}

// WatchesPins reports whether something on the board follows GPIO outputs
// (an SPI device's chip select, a pin model), so that they need to reach
// SetPin at all.
func (b *Board) WatchesPins() bool {
	b.pinMu.Lock()
	defer b.pinMu.Unlock()
	return len(b.watch) > 0
}

// SetPin is the one GPIO hook: output pin ("PA4") driven to level by the
// application. Every device wired to it follows: SPI devices whose chip
// select it is are selected at 0 and deselected at 1, pin models (Pin) hear
// the level.
func (b *Board) SetPin(pin string, level int) PinResult {
	b.pinMu.Lock()
	ws := b.watch[pin]
	b.pinMu.Unlock()
	var r PinResult
	for _, w := range ws {
		w.dev.Pin(level)
		if s, ok := w.dev.(Stater); ok {
			r = PinResult{Device: w.model, State: s.State()}
		}
	}
	return r
}

// WatchPin places model (one with NewPin) on output pin.
func (b *Board) WatchPin(pin, model string) error {
	p, err := CanonicalPin(pin)
	if err != nil {
		return &fieldError{"pin", err}
	}
	m, err := lookupFor(model, "a pin model", func(m Model) bool { return m.NewPin != nil })
	if err != nil {
		return err
	}
	env := Env{Pin: p, Now: b.now, Input: func(name string) float64 { return m.Inputs[name] }}
	b.watchPin(p, m.Name, m.NewPin(env))
	b.notes = append(b.notes, fmt.Sprintf("%s %s", p, m.Name))
	return nil
}

// Level is one point of an input pin's timeline: the level from At on.
type Level struct {
	At    time.Duration
	Level int
}

// inputPin is one pin the board drives and where its timeline has got to.
type inputPin struct {
	pin    string
	levels []Level
	next   int // index of the next level to deliver
}

// outputSample is how often the board samples the devices' output lines
// wired to input pins: the MCP9808's fastest conversion time (DS25095A
// table 1-1: 30 ms at +0.5 °C), when its alert output can change.
const outputSample = 30 * time.Millisecond

// outputPin is a device's output line wired to an input pin.
type outputPin struct {
	pin    string
	sample func() int
	last   int
	sent   bool
}

// boardInputs are the input pins the board drives.
type boardInputs struct {
	mu         sync.Mutex
	pins       []*inputPin
	outs       []*outputPin
	nextSample time.Duration
	pending    []InputChange // output changes not yet handed out
}

// drivenLocked reports whether pin is already driven (b.in.mu held).
func (b *Board) drivenLocked(pin string) bool {
	for _, x := range b.in.pins {
		if x.pin == pin {
			return true
		}
	}
	for _, x := range b.in.outs {
		if x.pin == pin {
			return true
		}
	}
	return false
}

// checkOutputs validates a device's "pins" before it is attached.
func (b *Board) checkOutputs(m Model, pins map[string]string, dev any) error {
	if len(pins) == 0 {
		return nil
	}
	if _, ok := dev.(PinOutputs); !ok || len(m.Outputs) == 0 {
		return &fieldError{"pins", fmt.Errorf("model %s has no output lines", m.Name)}
	}
	seen := map[string]bool{}
	for name, pin := range pins {
		field := "pins." + name
		known := false
		for _, o := range m.Outputs {
			known = known || o == name
		}
		if !known {
			return &fieldError{field, fmt.Errorf("model %s has no output %q (it has: %s)", m.Name, name, strings.Join(m.Outputs, ", "))}
		}
		p, err := CanonicalPin(pin)
		if err != nil {
			return &fieldError{field, err}
		}
		b.in.mu.Lock()
		taken := b.drivenLocked(p) || seen[p]
		b.in.mu.Unlock()
		if taken {
			return &fieldError{field, fmt.Errorf("%s is driven by an earlier entry", p)}
		}
		seen[p] = true
	}
	return nil
}

// wireOutputs makes the device's output lines drive their input pins;
// locked runs a function with the device's bus held.
func (b *Board) wireOutputs(pins map[string]string, dev any, locked func(func())) {
	outs, ok := dev.(PinOutputs)
	if !ok {
		return
	}
	b.in.mu.Lock()
	defer b.in.mu.Unlock()
	for name, pin := range pins {
		p, _ := CanonicalPin(pin)
		name := name
		b.in.outs = append(b.in.outs, &outputPin{pin: p, sample: func() int {
			var l int
			locked(func() { l = outs.OutputLevel(name) })
			return l
		}})
		b.notes = append(b.notes, fmt.Sprintf("%s %s output", p, name))
	}
}

// DriveInput makes the board drive input pin from the start: levels is a
// timeline (At strictly increasing; a single point is a constant). Before
// its first point the pin has that point's level.
func (b *Board) DriveInput(pin string, levels []Level) error {
	p, err := CanonicalPin(pin)
	if err != nil {
		return &fieldError{"pin", err}
	}
	if len(levels) == 0 {
		return &fieldError{"input", fmt.Errorf("no levels")}
	}
	for i, l := range levels {
		if l.Level != 0 && l.Level != 1 {
			return &fieldError{fmt.Sprintf("input[%d].level", i), fmt.Errorf("%d: want 0 or 1", l.Level)}
		}
		if l.At < 0 {
			return &fieldError{fmt.Sprintf("input[%d].at", i), fmt.Errorf("%v is negative", l.At)}
		}
		if i > 0 && l.At <= levels[i-1].At {
			return &fieldError{fmt.Sprintf("input[%d].at", i), fmt.Errorf("%v is not after the previous point's %v", l.At, levels[i-1].At)}
		}
	}
	b.in.mu.Lock()
	defer b.in.mu.Unlock()
	if b.drivenLocked(p) {
		return &fieldError{"pin", fmt.Errorf("%s is driven by an earlier entry", p)}
	}
	b.in.pins = append(b.in.pins, &inputPin{pin: p, levels: append([]Level(nil), levels...)})
	b.notes = append(b.notes, fmt.Sprintf("%s input", p))
	return nil
}

// DrivesInputs reports whether the board drives any input pin.
func (b *Board) DrivesInputs() bool {
	b.in.mu.Lock()
	defer b.in.mu.Unlock()
	return len(b.in.pins) > 0 || len(b.in.outs) > 0
}

// InputChange is one level the board puts on an input pin.
type InputChange struct {
	Pin   string // "PC13"
	Level int
}

// NextInput returns the next level the board puts on an input pin, in time
// order across pins, waiting on the board's clock for it: timeline points
// when they are due (each pin's first at once), and the changes of the
// devices' output lines wired to pins (sampled every 30 ms; each line's
// first level at once). It returns ok=false when nothing came within wait
// (negative: wait as long as it takes) and done=true when nothing more can
// come. One caller at a time (the C SDK's GPIO thread).
func (b *Board) NextInput(wait time.Duration) (c InputChange, ok, done bool) {
	var deadline <-chan time.Time
	if wait >= 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	for {
		b.in.mu.Lock()
		now := b.now()
		if len(b.in.outs) > 0 && now >= b.in.nextSample {
			for _, o := range b.in.outs {
				if l := o.sample(); !o.sent || l != o.last {
					o.last, o.sent = l, true
					b.in.pending = append(b.in.pending, InputChange{o.pin, l})
				}
			}
			b.in.nextSample = now + outputSample
		}
		if len(b.in.pending) > 0 {
			c = b.in.pending[0]
			b.in.pending = b.in.pending[1:]
			b.in.mu.Unlock()
			return c, true, false
		}
		var first *inputPin
		for _, p := range b.in.pins {
			if p.next < len(p.levels) && (first == nil || p.due() < first.due()) {
				first = p
			}
		}
		if first == nil && len(b.in.outs) == 0 {
			b.in.mu.Unlock()
			return InputChange{}, false, true
		}
		until := time.Duration(-1)
		if first != nil {
			until = first.due() - now
			if until <= 0 {
				c = InputChange{first.pin, first.levels[first.next].Level}
				first.next++
				b.in.mu.Unlock()
				return c, true, false
			}
		}
		if len(b.in.outs) > 0 && (until < 0 || b.in.nextSample-now < until) {
			until = b.in.nextSample - now
		}
		b.in.mu.Unlock()
		t := time.NewTimer(until)
		select {
		case <-t.C:
		case <-deadline:
			t.Stop()
			return InputChange{}, false, false
		}
	}
}

// due is when the pin's next level applies (its first at once).
func (p *inputPin) due() time.Duration {
	if p.next == 0 {
		return 0
	}
	return p.levels[p.next].At
}

// led is the built-in "led" pin model: an LED from the pin to ground
// through a resistor, lit while the pin is driven high.
type led struct {
	mu    sync.Mutex
	level int
}

func (l *led) Pin(level int) {
	l.mu.Lock()
	l.level = level
	l.mu.Unlock()
}

// State is "on" or "off".
func (l *led) State() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.level == 1 {
		return "on"
	}
	return "off"
}

func init() {
	MustRegister(Model{
		Name:    "led",
		Summary: "an LED on a GPIO output, lit at level 1",
		NewPin:  func(Env) PinDevice { return &led{} },
	})
}
