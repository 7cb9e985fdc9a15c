package firmware

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad input is named before anything starts.
func TestCheckNamesTheProblem(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	elf := write("app.elf", []byte("\x7fELF\x01\x01\x01"))
	vectors := make([]byte, 64) // a raw image: initial SP, then a reset handler in flash
	copy(vectors, []byte{0x00, 0x00, 0x08, 0x20, 0x41, 0x00, 0x00, 0x08})
	bin := write("app.bin", vectors)
	for _, c := range []struct {
		path string
		addr uint32
		want string // "" = accepted
	}{
		{filepath.Join(dir, "missing.elf"), 0, "no such file"},
		{dir, 0, "is a directory"},
		{write("empty.elf", nil), 0, "the file is empty"},
		{bin, 0, "not an ELF file; a raw binary needs --load-address"},
		{bin, 0x0800_0000, ""},
		{bin, 0x2000_0000, "do not fit the flash"},
		{bin, 0x080F_FFF0, "must be at the start of the flash, 0x08000000"},
		{bin, 0x0800_1000, "--load-address 0x08001000: a raw binary starts with its vector table"},
		{bin, 0x0810_0000, "do not fit the flash"},
		{elf, 0, "firmware image: " + elf},
		{elf, 0x0800_0000, "--load-address is for a raw .bin"},
	} {
		err := Check(c.path, c.addr)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Check(%s, %#x) = %v, want %q", filepath.Base(c.path), c.addr, err, c.want)
		}
	}
}

// The GDB stub listens on loopback only: it has no authentication.
func TestCheckGDBAddress(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:3333", "[::1]:3333", "localhost:3333", "127.0.0.1:0", "127.1.2.3:9"} {
		if err := CheckGDBAddress(ok); err != nil {
			t.Errorf("CheckGDBAddress(%q) = %v, want nil", ok, err)
		}
	}
	for addr, want := range map[string]string{
		"0.0.0.0:3333":     "loopback address only",
		":3333":            "loopback address only",
		"192.168.1.5:3333": "loopback address only",
		"example.com:3333": "loopback address only",
		"3333":             "want HOST:PORT",
		"127.0.0.1:gdb":    "is not a number",
		"127.0.0.1:70000":  "is not a number",
	} {
		err := CheckGDBAddress(addr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckGDBAddress(%q) = %v, want an error saying %q", addr, err, want)
		}
	}
}
