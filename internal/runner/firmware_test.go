package runner

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// --firmware makes the run's application mvnet's own emulate command with
// the image and the emulator's flags, after the image is checked.
func TestFirmwareAppRunsTheEmulateCommand(t *testing.T) {
	o := Options{Firmware: FirmwareOptions{Image: "app.bin", LoadAddress: 0x0800_0000, Realtime: true,
		GDB: "127.0.0.1:3333", Self: "/opt/mvnet"}}
	var checked string
	check := func(path string, addr uint32) error { checked = path; return nil }
	if err := firmwareApp(&o, check); err != nil {
		t.Fatal(err)
	}
	want := []string{EmulateCommand, "--load-address", "0x08000000", "--realtime", "--gdb", "127.0.0.1:3333", "--", "app.bin"}
	if o.App != "/opt/mvnet" || !reflect.DeepEqual(o.Args, want) || checked != "app.bin" || o.Firmware.Image != "" {
		t.Fatalf("app %q args %q (checked %q, firmware left %+v)", o.App, o.Args, checked, o.Firmware)
	}
	bad := errors.New("firmware image app.bin: not an ELF file")
	o = Options{Firmware: FirmwareOptions{Image: "app.bin"}}
	if err := firmwareApp(&o, func(string, uint32) error { return bad }); err != bad || o.App != "" {
		t.Fatalf("a bad image: %v, app %q", err, o.App)
	}
	o = Options{App: "./app", Firmware: FirmwareOptions{Image: "app.elf"}}
	if err := firmwareApp(&o, nil); err == nil || !strings.Contains(err.Error(), "give no application after --") {
		t.Fatalf("both an application and --firmware: %v", err)
	}
	for _, c := range []struct {
		in   string
		want uint32
		err  string
	}{{"0x08000000", 0x0800_0000, ""}, {"134217728", 0x0800_0000, ""}, {"flash", 0, "want a 32-bit address"},
		{"0x100000000", 0, "want a 32-bit address"}, {"0", 0, "must not be 0"}} {
		got, err := ParseLoadAddress(c.in)
		if got != c.want || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("ParseLoadAddress(%q) = %#x, %v", c.in, got, err)
		}
	}
}
