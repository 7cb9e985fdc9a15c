package process

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/periph"
)

func TestConfigBoard(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(good, []byte(`{"version":1,"devices":[{"bus":"I2C2","address":"0x19","model":"mcp9808","values":{"temperature_c":-4}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("{\"version\":1,\n\"devices\":[{\"bus\":\"I2C2\",\"model\":\"mcp9808\"}]}"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvBoard {
				return v
			}
			return ""
		}
	}

	c, err := ConfigFromEnv(env(good))
	if err != nil || c.Board == nil {
		t.Fatalf("good board: %v, %v", c.Board, err)
	}
	p := &Process{cfg: c}
	buf := make([]byte, 2)
	r := p.I2CTransfer(1, 0x19, periph.I2CSegment{Data: []byte{periph.MCP9808RegTA}}, periph.I2CSegment{Read: true, Data: buf})
	if !r.OK() || r.Device != "mcp9808" || (uint16(buf[0])<<8|uint16(buf[1]))&0x1FFF != 0x2000-4*16 {
		t.Errorf("I2C2 0x19: %+v % x, want −4 °C", r, buf)
	}
	if r := p.I2CTransfer(0, 0x19); !r.AddrNACK {
		t.Errorf("I2C1 is empty but answered: %+v", r)
	}
	if r := p.I2CTransfer(7, 0x19); !r.AddrNACK {
		t.Errorf("no bus I2C8, yet: %+v", r)
	}

	_, err = ConfigFromEnv(env(bad))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Var != EnvBoard || !strings.Contains(err.Error(), "line 2: devices[0].address: missing") ||
		strings.Count(err.Error(), bad) != 1 {
		t.Errorf("bad board: %v", err)
	}
	_, err = ConfigFromEnv(env(filepath.Join(dir, "none.json")))
	if !errors.As(err, &ce) || ce.Var != EnvBoard || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing board: %v", err)
	}

	// No board: empty buses, nothing selected on SPI.
	p = &Process{}
	if r := p.I2CTransfer(0, 0x18); !r.AddrNACK {
		t.Errorf("no board, yet: %+v", r)
	}
	rx := []byte{0, 0}
	if r := p.SPITransfer(0, true, []byte{1, 2}, rx); r.Device != "" || rx[0] != 0xFF {
		t.Errorf("no board SPI: %+v % x", r, rx)
	}
	p.GPIODriven(0, 4, 0) // no chip selects: nothing to do, no panic
}

// The process's GPIO and UART entry points reach the board: pin numbers
// both ways, pin models through the one output hook, UART text and models.
func TestProcessBoardGPIOUART(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.json")
	if err := os.WriteFile(path, []byte(`{"version":1,
 "gpio":[{"pin":"PI15","input":1},{"pin":"PA5","model":"led"}],
 "uart":[{"port":"LPUART1","text":"hi"},{"port":"USART1","model":"echo"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ConfigFromEnv(func(k string) string {
		if k == EnvBoard {
			return path
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{cfg: c}
	if port, pin, level, ok, _ := p.GPIONextInput(-1); !ok || port != 8 || pin != 15 || level != 1 {
		t.Errorf("input: port %d pin %d level %d ok %v, want PI15 = 1", port, pin, level, ok)
	}
	if _, _, _, ok, done := p.GPIONextInput(-1); ok || !done {
		t.Errorf("after the constant: ok %v done %v", ok, done)
	}
	if r := p.GPIODriven(0, 5, 1); r != (periph.PinResult{Device: "led", State: "on"}) {
		t.Errorf("PA5 high: %+v", r)
	}
	if r := p.GPIODriven(9, 0, 1); r != (periph.PinResult{}) {
		t.Errorf("no port J: %+v", r)
	}
	buf := make([]byte, 8)
	if n := p.UARTReceive(5, buf, -1); string(buf[:n]) != "hi" {
		t.Errorf("LPUART1: %q", buf[:n])
	}
	if dev := p.UARTTransmitted(0, []byte("x\n")); dev != "echo" {
		t.Errorf("USART1 device %q", dev)
	}
	if n := p.UARTReceive(0, buf, -1); string(buf[:n]) != "x\n" {
		t.Errorf("USART1 echo: %q", buf[:n])
	}
	if n := p.UARTReceive(6, buf, 0); n != 0 || p.UARTTransmitted(6, []byte("x")) != "" {
		t.Errorf("no seventh UART, yet %d", n)
	}
}
