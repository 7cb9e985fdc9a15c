package periph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BoardVersion is the board file format this package reads ("version").
const BoardVersion = 1

// The buses a board has: those of the STM32U585 (RM0456).
var (
	I2CBusNames = []string{"I2C1", "I2C2", "I2C3", "I2C4"}
	SPIBusNames = []string{"SPI1", "SPI2", "SPI3"}
)

// Board is a set of buses with devices on them.
type Board struct {
	now   func() time.Duration
	i2c   map[string]*I2CBus
	spi   map[string]*SPIBus
	uart  map[string]*UARTPort
	notes []string

	pinMu sync.Mutex
	watch map[string][]pinWatch // output pin → devices following it (gpio.go)
	in    boardInputs
}

// NewBoard returns a board whose buses are all empty. now is the time since
// the board started, read by timelines (nil: time since NewBoard).
func NewBoard(now func() time.Duration) *Board {
	if now == nil {
		start := time.Now()
		now = func() time.Duration { return time.Since(start) }
	}
	b := &Board{now: now, i2c: map[string]*I2CBus{}, spi: map[string]*SPIBus{}, uart: map[string]*UARTPort{},
		watch: map[string][]pinWatch{}}
	for _, n := range UARTNames {
		b.uart[n] = newUARTPort(n, now)
	}
	for _, n := range I2CBusNames {
		b.i2c[n] = NewI2CBus(n)
	}
	for _, n := range SPIBusNames {
		b.spi[n] = NewSPIBus(n)
	}
	return b
}

// I2C returns the bus named name ("I2C1" …), nil if there is none.
func (b *Board) I2C(name string) *I2CBus { return b.i2c[name] }

// SPI returns the bus named name ("SPI1" …), nil if there is none.
func (b *Board) SPI(name string) *SPIBus { return b.spi[name] }

// Devices describes what the board holds, one line per device
// ("I2C1 0x18 mcp9808").
func (b *Board) Devices() []string { return append([]string(nil), b.notes...) }

// Placement places one device on a board (a board file's "devices" entry).
type Placement struct {
	Bus     string  // "I2C1" … or "SPI1" …
	Address uint16  // I2C
	CS      string  // SPI: "NSS" or a pin "PA4"
	Model   string  // a registered model's name
	Values  []Point // constant inputs: one point at 0
	// Interpolation between timeline points.
	Interpolation Interpolation
	// Pins wires the part's output lines (Model.Outputs) to GPIO input
	// pins: {"alert": "PB11"}.
	Pins map[string]string
}

// Point is one point of an input timeline: inputs' values from At on.
type Point struct {
	At     time.Duration
	Values map[string]float64
}

// Place builds p's model and attaches it. Errors name the problem; the
// board file's reader adds the field and line.
func (b *Board) Place(p Placement) error {
	m, err := lookupFor(p.Model, "a bus device", func(m Model) bool { return m.NewI2C != nil || m.NewSPI != nil })
	if err != nil {
		return err
	}
	inputs := map[string]series{}
	var last time.Duration
	for i, pt := range p.Values {
		if i > 0 && pt.At <= last {
			return &fieldError{fmt.Sprintf("values[%d].at", i), fmt.Errorf("%v is not after the previous point's %v", pt.At, last)}
		}
		if pt.At < 0 {
			return &fieldError{fmt.Sprintf("values[%d].at", i), fmt.Errorf("%v is negative", pt.At)}
		}
		last = pt.At
		for k, v := range pt.Values {
			if _, ok := m.Inputs[k]; !ok {
				return &fieldError{"values", fmt.Errorf("model %s has no input %q (it has: %s)", m.Name, k, inputNames(m))}
			}
			inputs[k] = append(inputs[k], point{pt.At, v})
		}
	}
	how := p.Interpolation
	env := Env{Bus: p.Bus, Address: p.Address, CS: p.CS, Now: b.now}
	env.Input = func(name string) float64 {
		if s, ok := inputs[name]; ok {
			return s.value(b.now(), how)
		}
		return m.Inputs[name]
	}
	switch {
	case b.i2c[p.Bus] != nil:
		if m.NewI2C == nil {
			return &fieldError{"bus", fmt.Errorf("%s is not an I2C part", m.Name)}
		}
		if p.CS != "" {
			return &fieldError{"cs", errors.New("an I2C device has an address, not a chip select")}
		}
		if len(m.Addresses) > 0 && !hasAddr(m.Addresses, p.Address) {
			return &fieldError{"address", fmt.Errorf("0x%02x: a %s answers at %s", p.Address, m.Name, addrList(m.Addresses))}
		}
		dev := m.NewI2C(env)
		if err := b.checkOutputs(m, p.Pins, dev); err != nil {
			return err
		}
		if err := b.i2c[p.Bus].Attach(p.Address, m.Name, dev); err != nil {
			return &fieldError{"address", err}
		}
		bus := b.i2c[p.Bus]
		b.wireOutputs(p.Pins, dev, func(f func()) { bus.mu.Lock(); defer bus.mu.Unlock(); f() })
		b.notes = append(b.notes, fmt.Sprintf("%s 0x%02x %s", p.Bus, p.Address, m.Name))
	case b.spi[p.Bus] != nil:
		if m.NewSPI == nil {
			return &fieldError{"bus", fmt.Errorf("%s is not an SPI part", m.Name)}
		}
		if p.CS == "" {
			return &fieldError{"cs", fmt.Errorf("missing (%q for the hardware NSS line, or a GPIO pin such as \"PA4\")", NSS)}
		}
		cs, err := CanonicalCS(p.CS)
		if err != nil {
			return &fieldError{"cs", err}
		}
		env.CS = cs
		dev := m.NewSPI(env)
		if err := b.checkOutputs(m, p.Pins, dev); err != nil {
			return err
		}
		if err := b.spi[p.Bus].Attach(cs, m.Name, dev); err != nil {
			return &fieldError{"cs", err}
		}
		sbus := b.spi[p.Bus]
		b.wireOutputs(p.Pins, dev, func(f func()) { sbus.mu.Lock(); defer sbus.mu.Unlock(); f() })
		if cs != NSS {
			bus := b.spi[p.Bus]
			b.watchPin(cs, m.Name, PinFunc(func(level int) { bus.SetPin(cs, level) }))
		}
		p.CS = cs
		b.notes = append(b.notes, fmt.Sprintf("%s %s %s", p.Bus, p.CS, m.Name))
	default:
		return &fieldError{"bus", fmt.Errorf("%q is not a bus (want one of %s, %s)", p.Bus, strings.Join(I2CBusNames, ", "), strings.Join(SPIBusNames, ", "))}
	}
	return nil
}

func hasAddr(list []uint16, a uint16) bool {
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

func addrList(list []uint16) string {
	var s []string
	for _, a := range list {
		s = append(s, fmt.Sprintf("0x%02x", a))
	}
	return strings.Join(s, " or ")
}

func inputNames(m Model) string {
	var s []string
	for k := range m.Inputs {
		s = append(s, k)
	}
	if len(s) == 0 {
		return "none"
	}
	sort.Strings(s)
	return strings.Join(s, ", ")
}

// fieldError is a problem with one field of a device entry.
type fieldError struct {
	field string
	err   error
}

func (e *fieldError) Error() string { return e.field + ": " + e.err.Error() }

// BoardError is a bad board file: the file, the line, the field (a path
// such as "devices[1].address"; "" for the file as a whole) and the reason.
type BoardError struct {
	File  string
	Line  int
	Field string
	Err   error
}

func (e *BoardError) Error() string {
	s := e.File
	switch {
	case e.Line > 0 && s == "":
		s = "line " + strconv.Itoa(e.Line)
	case e.Line > 0:
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *BoardError) Unwrap() error { return e.Err }

// LoadBoard reads the board file at path (ParseBoard).
func LoadBoard(path string, now func() time.Duration) (*Board, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBoard(path, data, now)
}

// deviceJSON is one entry of "devices".
type deviceJSON struct {
	Bus           string            `json:"bus"`
	Address       json.RawMessage   `json:"address"`
	CS            string            `json:"cs"`
	Model         string            `json:"model"`
	Values        json.RawMessage   `json:"values"`
	Interpolation string            `json:"interpolation"`
	Pins          map[string]string `json:"pins"`
}

// ParseBoard reads a board file (docs/peripherals.md); file names it in
// errors, which are *BoardError.
func ParseBoard(file string, data []byte, now func() time.Duration) (*Board, error) {
	fail := func(off int64, field string, err error) error {
		return &BoardError{File: file, Line: lineAt(data, off), Field: field, Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := expectDelim(dec, '{'); err != nil {
		return nil, jsonFail(fail, data, err)
	}
	var version *int
	type entry struct {
		off int64
		raw json.RawMessage
	}
	sections := map[string][]entry{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonFail(fail, data, err)
		}
		key, _ := tok.(string)
		switch key {
		case "version":
			var v int
			if err := dec.Decode(&v); err != nil {
				return nil, fail(off, "version", errors.New("want a number"))
			}
			version = &v
		case "devices", "gpio", "uart":
			if err := expectDelim(dec, '['); err != nil {
				return nil, fail(off, key, fmt.Errorf("want an array of %s entries", key))
			}
			for dec.More() {
				start := skipSpace(data, dec.InputOffset())
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return nil, jsonFail(fail, data, err)
				}
				sections[key] = append(sections[key], entry{start, raw})
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonFail(fail, data, err)
			}
		default:
			return nil, fail(skipSpace(data, off), strconv.Quote(key), fmt.Errorf("unknown field (want version, devices, gpio, uart)"))
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonFail(fail, data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(dec.InputOffset(), "", errors.New("data after the board object"))
	}
	if version == nil {
		return nil, fail(0, "version", fmt.Errorf("missing (this mvnet reads version %d)", BoardVersion))
	}
	if *version != BoardVersion {
		return nil, fail(0, "version", fmt.Errorf("%d is not supported (this mvnet reads version %d)", *version, BoardVersion))
	}
	b := NewBoard(now)
	place := map[string]func(json.RawMessage) error{
		"devices": func(raw json.RawMessage) error {
			p, err := decodeDevice(raw)
			if err == nil {
				err = b.Place(p)
			}
			return err
		},
		"gpio": b.placeGPIO,
		"uart": b.placeUART,
	}
	for _, key := range []string{"devices", "gpio", "uart"} {
		for i, d := range sections[key] {
			field := fmt.Sprintf("%s[%d]", key, i)
			err := place[key](d.raw)
			var fe *fieldError
			if errors.As(err, &fe) {
				return nil, fail(d.off, field+"."+fe.field, fe.err)
			}
			if err != nil {
				return nil, fail(d.off, field, err)
			}
		}
	}
	return b, nil
}

func decodeDevice(raw json.RawMessage) (Placement, error) {
	var d deviceJSON
	if err := decodeStrict(raw, &d, "bus, address, cs, model, values, interpolation, pins"); err != nil {
		return Placement{}, err
	}
	p := Placement{Bus: d.Bus, CS: d.CS, Model: d.Model, Pins: d.Pins}
	if d.Bus == "" {
		return p, &fieldError{"bus", errors.New("missing")}
	}
	if d.Model == "" {
		return p, &fieldError{"model", errors.New("missing")}
	}
	if strings.HasPrefix(d.Bus, "I2C") {
		if len(d.Address) == 0 {
			return p, &fieldError{"address", errors.New("missing (an I2C device needs its 7-bit address)")}
		}
		a, err := parseAddress(d.Address)
		if err != nil {
			return p, &fieldError{"address", err}
		}
		p.Address = a
	} else if len(d.Address) != 0 {
		return p, &fieldError{"address", errors.New("an SPI device has a chip select (cs), not an address")}
	}
	switch d.Interpolation {
	case "", "step":
	case "linear":
		p.Interpolation = Linear
	default:
		return p, &fieldError{"interpolation", fmt.Errorf("%q: want step or linear", d.Interpolation)}
	}
	pts, err := parseValues(d.Values)
	if err != nil {
		return p, err
	}
	p.Values = pts
	return p, nil
}

// parseAddress reads 24 or "0x18".
func parseAddress(raw json.RawMessage) (uint16, error) {
	var n json.Number
	var s string
	if err := json.Unmarshal(raw, &n); err == nil {
		s = n.String()
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errors.New("want a number or a string such as \"0x18\"")
	}
	v, err := strconv.ParseUint(s, 0, 16)
	if err != nil || v < MinI2CAddr || v > MaxI2CAddr {
		return 0, fmt.Errorf("%s is not a 7-bit device address (0x%02x–0x%02x; not shifted left)", s, MinI2CAddr, MaxI2CAddr)
	}
	return uint16(v), nil
}

// parseValues reads {"temperature_c": 21.5} (constant) or
// [{"at":"0s","temperature_c":21.5}, …] (a timeline).
func parseValues(raw json.RawMessage) ([]Point, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '{' {
		var m map[string]float64
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, &fieldError{"values", errors.New("want input names with numbers, e.g. {\"temperature_c\": 21.5}")}
		}
		return []Point{{At: 0, Values: m}}, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, &fieldError{"values", errors.New("want an object of inputs or an array of timeline points")}
	}
	var pts []Point
	for i, m := range list {
		field := fmt.Sprintf("values[%d]", i)
		d, err := parseAt(m, field)
		if err != nil {
			return nil, err
		}
		pt := Point{At: d, Values: map[string]float64{}}
		for k, v := range m {
			if k == "at" {
				continue
			}
			var f float64
			if err := json.Unmarshal(v, &f); err != nil {
				return nil, &fieldError{field + "." + k, errors.New("want a number")}
			}
			pt.Values[k] = f
		}
		pts = append(pts, pt)
	}
	return pts, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q", string(want))
	}
	return nil
}

// jsonFail turns a decoding error into a BoardError at its offset.
func jsonFail(fail func(int64, string, error) error, data []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fail(se.Offset, "", err)
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return fail(int64(len(data)), "", errors.New("unexpected end of the file"))
	}
	return fail(0, "", err)
}

func skipSpace(data []byte, off int64) int64 {
	for off < int64(len(data)) && strings.IndexByte(" \t\r\n,:", data[off]) >= 0 {
		off++
	}
	return off
}

// lineAt is the 1-based line of byte offset off.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}
