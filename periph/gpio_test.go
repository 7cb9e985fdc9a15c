package periph

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a board clock the test moves.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Duration  { return time.Duration(c.t.Load()) }
func (c *fakeClock) set(d time.Duration) { c.t.Store(int64(d)) }

func TestBoardGPIOInputs(t *testing.T) {
	var clk fakeClock
	b, err := ParseBoard("b.json", []byte(`{"version": 1,
 "gpio": [
  {"pin": "PC13", "input": [{"at": "0s", "level": 1}, {"at": "1s", "level": 0}, {"at": "1100ms", "level": 1}]},
  {"pin": "gpiob2", "input": 0}
 ]}`), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	if !b.DrivesInputs() || b.WatchesPins() {
		t.Fatalf("DrivesInputs %v WatchesPins %v", b.DrivesInputs(), b.WatchesPins())
	}
	next := func() (InputChange, bool, bool) { return b.NextInput(0) }
	// Each pin's first level at once, then nothing until 1 s.
	var got []InputChange
	for {
		c, ok, _ := next()
		if !ok {
			break
		}
		got = append(got, c)
	}
	if len(got) != 2 || got[0] != (InputChange{"PC13", 1}) || got[1] != (InputChange{"PB2", 0}) {
		t.Fatalf("first levels %v", got)
	}
	clk.set(1050 * time.Millisecond)
	if c, ok, _ := next(); !ok || c != (InputChange{"PC13", 0}) {
		t.Fatalf("at 1.05 s: %v %v", c, ok)
	}
	if _, ok, done := next(); ok || done {
		t.Fatalf("at 1.05 s a second change, or done: %v %v", ok, done)
	}
	// Late: every point is still delivered, in order (no edge lost).
	clk.set(5 * time.Second)
	if c, ok, _ := next(); !ok || c != (InputChange{"PC13", 1}) {
		t.Fatalf("at 5 s: %v %v", c, ok)
	}
	if _, ok, done := next(); ok || !done {
		t.Fatalf("after the last point: ok %v done %v", ok, done)
	}
}

// NextInput waits on the board's clock for a point in the future.
func TestBoardGPIOInputWaits(t *testing.T) {
	b := NewBoard(nil)
	if err := b.DriveInput("PA0", []Level{{0, 1}, {20 * time.Millisecond, 0}}); err != nil {
		t.Fatal(err)
	}
	if c, ok, _ := b.NextInput(-1); !ok || c.Level != 1 {
		t.Fatalf("first: %v %v", c, ok)
	}
	c, ok, _ := b.NextInput(-1)
	if !ok || c != (InputChange{"PA0", 0}) || b.now() < 20*time.Millisecond {
		t.Fatalf("second: %v %v at %v", c, ok, b.now())
	}
}

// Output pins reach SPI chip selects and pin models through one hook.
func TestBoardPinModels(t *testing.T) {
	b, err := ParseBoard("b.json", []byte(`{"version": 1,
 "devices": [{"bus": "SPI1", "cs": "PA4", "model": "lis3dh"}],
 "gpio": [{"pin": "PA5", "model": "led"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !b.WatchesPins() {
		t.Fatal("WatchesPins false")
	}
	if r := b.SetPin("PA5", 1); r != (PinResult{"led", "on"}) {
		t.Errorf("LED high: %+v", r)
	}
	if r := b.SetPin("PA5", 0); r != (PinResult{"led", "off"}) {
		t.Errorf("LED low: %+v", r)
	}
	if r := b.SetPin("PA4", 0); r != (PinResult{}) {
		t.Errorf("chip select: %+v", r)
	}
	rx := make([]byte, 2)
	if r := b.SPI("SPI1").Transfer(false, []byte{0x8F, 0}, rx); r.Device != "lis3dh" || rx[1] != 0x33 {
		t.Errorf("chip select low through SetPin: %+v % x", r, rx)
	}
}

func TestBoardGPIOErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`"gpio": [{"pin": "PJ1", "input": 1}]`, `b.json:2: gpio[0].pin: "PJ1" is not a GPIO pin`},
		{`"gpio": [{"pin": "PC13", "input": 2}]`, `b.json:2: gpio[0].input[0].level: 2: want 0 or 1`},
		{`"gpio": [{"pin": "PC13"}]`, `b.json:2: gpio[0].input: missing`},
		{`"gpio": [{"pin": "PC13", "input": 1, "model": "led"}]`, `b.json:2: gpio[0].model: an entry either drives`},
		{`"gpio": [{"pin": "PC13", "input": [{"at": "1s", "level": 1}, {"at": "1s", "level": 0}]}]`, `gpio[0].input[1].at: 1s is not after`},
		{`"gpio": [{"pin": "PC13", "input": [{"at": "1s"}]}]`, `gpio[0].input[0].level: missing`},
		{`"gpio": [{"pin": "PC13", "input": 1},` + "\n" + `{"pin": "pc13", "input": 0}]`, `b.json:3: gpio[1].pin: PC13 is driven by an earlier entry`},
		{`"gpio": [{"pin": "PA5", "model": "mcp9808"}]`, `gpio[0].model: mcp9808 is not a pin model`},
		{`"gpio": [{"pin": "PA5", "level": 1}]`, `gpio[0].level: unknown field (want pin, input, model)`},
		{`"uart": [{"port": "USART9", "text": "x"}]`, `b.json:2: uart[0].port: "USART9" is not a UART`},
		{`"uart": [{"port": "USART2"}]`, `uart[0].text: missing`},
		{`"uart": [{"port": "USART2", "text": 5}]`, `uart[0].text: want a string`},
		{`"uart": [{"port": "USART2", "text": [{"at": "x", "text": "a"}]}]`, `uart[0].text[0].at: "x" is not a duration`},
		{`"uart": [{"port": "USART2", "model": "led"}]`, `uart[0].model: led is not a UART model`},
		{`"uart": [{"port": "USART2", "model": "echo"},` + "\n" + `{"port": "USART2", "model": "echo"}]`, `b.json:3: uart[1].port: USART2 already has echo`},
		{`"serial": []`, `"serial": unknown field (want version, devices, gpio, uart)`},
	} {
		_, err := ParseBoard("b.json", []byte("{\"version\": 1,\n"+tc.text+"}"), nil)
		var be *BoardError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.text, err, tc.want)
		}
	}
}

// The MCP9808's alert output wired to PB11 drives the pin: released (1)
// until the application enables the output, then low once the temperature
// timeline passes T_UPPER (comparator mode, active low).
func TestMCP9808AlertPin(t *testing.T) {
	var clk fakeClock
	b, err := ParseBoard("b.json", []byte(`{"version": 1, "devices": [
  {"bus": "I2C1", "address": "0x18", "model": "mcp9808", "pins": {"alert": "pb11"},
   "values": [{"at": "0s", "temperature_c": 20}, {"at": "1s", "temperature_c": 30}]}
]}`), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	next := func() (InputChange, bool) { c, ok, done := b.NextInput(0); _ = done; return c, ok }
	if c, ok := next(); !ok || c != (InputChange{"PB11", 1}) {
		t.Fatalf("first level: %v %v", c, ok)
	}
	bus := b.I2C("I2C1")
	// T_UPPER = 25 °C (0x0190), then CONFIG Alert Cnt (comparator, active low).
	for _, w := range [][]byte{{MCP9808RegTUpper, 0x01, 0x90}, {MCP9808RegTLower, 0x00, 0x00}, {MCP9808RegTCrit, 0x05, 0x00}, {MCP9808RegConfig, 0x00, 0x08}} {
		if r := bus.Transfer(0x18, I2CSegment{Data: w}); !r.OK() {
			t.Fatalf("write % x: %+v", w, r)
		}
	}
	clk.set(500 * time.Millisecond)
	if c, ok := next(); ok {
		t.Fatalf("at 20 °C the alert changed: %v", c)
	}
	clk.set(1100 * time.Millisecond)
	if c, ok := next(); !ok || c != (InputChange{"PB11", 0}) {
		t.Fatalf("at 30 °C: %v %v, want PB11 pulled low", c, ok)
	}
	if _, ok, done := b.NextInput(0); ok || done {
		t.Fatalf("a wired output never finishes: ok %v done %v", ok, done)
	}
}

func TestBoardOutputPinErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`"devices": [{"bus": "I2C1", "address": "0x70", "model": "ht16k33", "pins": {"int": "PA1"}}]`, `devices[0].pins: model ht16k33 has no output lines`},
		{`"devices": [{"bus": "I2C1", "address": "0x18", "model": "mcp9808", "pins": {"int": "PA1"}}]`, `devices[0].pins.int: model mcp9808 has no output "int" (it has: alert)`},
		{`"devices": [{"bus": "I2C1", "address": "0x18", "model": "mcp9808", "pins": {"alert": "PZ1"}}]`, `devices[0].pins.alert: "PZ1" is not a GPIO pin`},
		{`"devices": [{"bus": "I2C1", "address": "0x18", "model": "mcp9808", "pins": {"alert": "PB11"}}], "gpio": [{"pin": "PB11", "input": 1}]`, `gpio[0].pin: PB11 is driven by an earlier entry`},
	} {
		_, err := ParseBoard("b.json", []byte("{\"version\": 1,\n"+tc.text+"}"), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant …%s…", tc.text, err, tc.want)
		}
	}
}
