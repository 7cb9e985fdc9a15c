package periph

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clock is a settable board clock.
type clock struct{ t time.Duration }

func (c *clock) now() time.Duration { return c.t }

func TestBoardConstantValue(t *testing.T) {
	b, err := ParseBoard("b.json", []byte(`{"version":1,"devices":[
		{"bus":"I2C1","address":"0x18","model":"mcp9808","values":{"temperature_c":21.5}}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg16(t, b.I2C("I2C1"), 0x18, MCP9808RegTA) & 0x1FFF; got != 344 {
		t.Errorf("T_A = %#x, want 21.5 °C (0x158)", got)
	}
	if got := b.Devices(); len(got) != 1 || got[0] != "I2C1 0x18 mcp9808" {
		t.Errorf("Devices = %q", got)
	}
	for _, n := range []string{"I2C2", "I2C3", "I2C4"} {
		if r := b.I2C(n).Transfer(0x18); !r.AddrNACK {
			t.Errorf("%s is not empty: %+v", n, r)
		}
	}
}

func TestBoardTimelines(t *testing.T) {
	for _, c := range []struct {
		interp string
		at     time.Duration
		want   float64
	}{
		{"", 0, 10}, {"", 5 * time.Second, 10}, {"", 10 * time.Second, 30}, {"", time.Hour, 30},
		{"step", 9 * time.Second, 10},
		{"linear", 0, 10}, {"linear", 5 * time.Second, 20}, {"linear", 7500 * time.Millisecond, 25},
		{"linear", 10 * time.Second, 30}, {"linear", time.Minute, 30},
	} {
		ck := &clock{}
		interp := ""
		if c.interp != "" {
			interp = `,"interpolation":"` + c.interp + `"`
		}
		b, err := ParseBoard("b.json", []byte(`{"version":1,"devices":[
			{"bus":"I2C3","address":24,"model":"mcp9808"`+interp+`,
			 "values":[{"at":"0s","temperature_c":10},{"at":"10s","temperature_c":30}]}]}`), ck.now)
		if err != nil {
			t.Fatal(err)
		}
		ck.t = c.at
		got := float64(reg16(t, b.I2C("I2C3"), 0x18, MCP9808RegTA)&0x0FFF) / 16
		if got != c.want {
			t.Errorf("%q at %v: %v °C, want %v", c.interp, c.at, got, c.want)
		}
	}
}

func TestBoardDefaultInput(t *testing.T) {
	b, err := ParseBoard("b.json", []byte(`{"version":1,"devices":[{"bus":"I2C1","address":"0x1f","model":"mcp9808"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := reg16(t, b.I2C("I2C1"), 0x1F, MCP9808RegTA) & 0x1FFF; got != 20*16 {
		t.Errorf("T_A without values = %#x, want the default 20 °C", got)
	}
}

func TestBoardErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"syntax", "{\"version\":1,\n\"devices\":[\n{\"bus\":\"I2C1\",}]}", "b.json:3: invalid character '}'"},
		{"truncated", "{\"version\":1,\"devices\":[", "b.json:1: unexpected end of the file"},
		{"no version", `{"devices":[]}`, "b.json:1: version: missing (this mvnet reads version 1)"},
		{"version 2", `{"version":2}`, "version: 2 is not supported"},
		{"top field", "{\"version\":1,\n \"devics\":[]}", `b.json:2: "devics": unknown field`},
		{"device field", "{\"version\":1,\"devices\":[\n{\"bus\":\"I2C1\",\"adress\":24,\"model\":\"mcp9808\"}]}", "b.json:2: devices[0].adress: unknown field"},
		{"bad bus", "{\"version\":1,\"devices\":[{\"bus\":\"I2C9\",\"address\":24,\"model\":\"mcp9808\"}]}", `devices[0].bus: "I2C9" is not a bus`},
		{"no address", `{"version":1,"devices":[{"bus":"I2C1","model":"mcp9808"}]}`, "devices[0].address: missing"},
		{"8-bit address", `{"version":1,"devices":[{"bus":"I2C1","address":"0x30","model":"mcp9808"}]}`, "devices[0].address: 0x30: a mcp9808 answers at 0x18 or"},
		{"reserved address", `{"version":1,"devices":[{"bus":"I2C1","address":"0x7c","model":"mcp9808"}]}`, "devices[0].address: 0x7c is not a 7-bit device address"},
		{"address type", `{"version":1,"devices":[{"bus":"I2C1","address":true,"model":"mcp9808"}]}`, "devices[0].address: want a number or a string"},
		{"unknown model", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"bmp280"}]}`, `devices[0].model: unknown model "bmp280" (known: `},
		{"twice", "{\"version\":1,\"devices\":[{\"bus\":\"I2C1\",\"address\":24,\"model\":\"mcp9808\"},\n\n{\"bus\":\"I2C1\",\"address\":24,\"model\":\"mcp9808\"}]}", "b.json:3: devices[1].address: I2C1 already has mcp9808 at 0x18"},
		{"bad input", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","values":{"humidity":3}}]}`, `devices[0].values: model mcp9808 has no input "humidity" (it has: temperature_c)`},
		{"bad at", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","values":[{"at":"soon","temperature_c":3}]}]}`, `devices[0].values[0].at: "soon" is not a duration`},
		{"no at", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","values":[{"temperature_c":3}]}]}`, `devices[0].values[0].at: missing`},
		{"backwards", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","values":[{"at":"2s","temperature_c":3},{"at":"1s","temperature_c":4}]}]}`, `devices[0].values[1].at: 1s is not after the previous point's 2s`},
		{"not a number", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","values":[{"at":"2s","temperature_c":"hot"}]}]}`, `devices[0].values[0].temperature_c: want a number`},
		{"interpolation", `{"version":1,"devices":[{"bus":"I2C1","address":24,"model":"mcp9808","interpolation":"cubic"}]}`, `devices[0].interpolation: "cubic": want step or linear`},
		{"spi part on i2c", `{"version":1,"devices":[{"bus":"SPI1","cs":"PA4","model":"mcp9808"}]}`, `devices[0].bus: mcp9808 is not an SPI part`},
		{"trailing", `{"version":1} {}`, `data after the board object`},
		{"spi no cs", `{"version":1,"devices":[{"bus":"SPI1","model":"lis3dh"}]}`, `devices[0].cs: missing ("NSS" for the hardware NSS line`},
		{"spi bad cs", `{"version":1,"devices":[{"bus":"SPI1","cs":"PJ4","model":"lis3dh"}]}`, `devices[0].cs: "PJ4" is not a chip select`},
		{"spi address", `{"version":1,"devices":[{"bus":"SPI1","cs":"PA4","address":24,"model":"lis3dh"}]}`, `devices[0].address: an SPI device has a chip select`},
		{"spi twice", `{"version":1,"devices":[{"bus":"SPI1","cs":"PA4","model":"lis3dh"},{"bus":"SPI1","cs":"gpioa4","model":"lis3dh"}]}`, `devices[1].cs: SPI1 already has lis3dh on PA4`},
		{"i2c only part on spi", `{"version":1,"devices":[{"bus":"SPI1","cs":"PA4","model":"ht16k33"}]}`, `devices[0].bus: ht16k33 is not an SPI part`},
		{"cs on i2c", `{"version":1,"devices":[{"bus":"I2C1","address":24,"cs":"PA4","model":"mcp9808"}]}`, `devices[0].cs: an I2C device has an address`},
	} {
		_, err := ParseBoard("b.json", []byte(c.src), nil)
		var be *BoardError
		if !errors.As(err, &be) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want a *BoardError containing %q", c.name, err, c.want)
		}
	}
}

func TestLoadBoard(t *testing.T) {
	if _, err := LoadBoard(filepath.Join(t.TempDir(), "missing.json"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "board.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"devices":[{"bus":"I2C2","address":"0x19","model":"mcp9808"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBoard(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.I2C("I2C2").Transfer(0x19); !r.OK() {
		t.Errorf("probe: %+v", r)
	}
}

func TestBoardSPIChipSelects(t *testing.T) {
	b, err := ParseBoard("b.json", []byte(`{"version":1,"devices":[
		{"bus":"SPI1","cs":"pa4","model":"lis3dh"},
		{"bus":"SPI3","cs":"nss","model":"lis3dh"}]}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !b.WatchesPins() {
		t.Error("WatchesPins = false with a GPIO chip select")
	}
	rx := make([]byte, 2)
	b.SetPin("PA4", 0)
	if r := b.SPI("SPI1").Transfer(false, []byte{0x8F, 0}, rx); r.CS != "PA4" || rx[1] != 0x33 {
		t.Errorf("PA4 low: %+v % x", r, rx)
	}
	b.SetPin("PA4", 1)
	if r := b.SPI("SPI1").Transfer(false, []byte{0x8F, 0}, rx); r.Device != "" {
		t.Errorf("PA4 high: %+v", r)
	}
	if r := b.SPI("SPI3").Transfer(true, []byte{0x8F, 0}, rx); r.CS != "NSS" || rx[1] != 0x33 {
		t.Errorf("hardware NSS: %+v % x", r, rx)
	}
	if r := b.SPI("SPI3").Transfer(false, []byte{0x8F, 0}, rx); r.Device != "" {
		t.Errorf("NSS device answered a software-NSS transfer: %+v", r)
	}
	only, err := ParseBoard("b.json", []byte(`{"version":1,"devices":[{"bus":"SPI1","cs":"NSS","model":"lis3dh"}]}`), nil)
	if err != nil || only.WatchesPins() {
		t.Errorf("NSS only: WatchesPins %v, %v", only.WatchesPins(), err)
	}
}
