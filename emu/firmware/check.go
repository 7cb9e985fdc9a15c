package firmware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/mvnet/mvnet/emu/loader"
	"github.com/mvnet/mvnet/mem"
)

// Check loads an application image before anything starts, so that
// `mvnet run --firmware` fails at once with an error naming the problem: a
// missing or empty file, a raw binary without a load address or one that
// does not fit the flash at that address, an ELF with one, and whatever
// emu/loader finds wrong with the image (segments outside flash and SRAM,
// no vector table …).
func Check(path string, loadAddress uint32) error {
	_, err := load(path, loadAddress)
	return err
}

// load checks and loads the image.
func load(path string, loadAddress uint32) (*loader.Image, error) {
	if err := precheck(path, loadAddress); err != nil {
		return nil, err
	}
	im, err := loader.Load(path, loader.Options{LoadAddress: loadAddress, Raw: loadAddress != 0})
	if err != nil {
		return nil, fmt.Errorf("firmware image: %w", err)
	}
	return im, nil
}

// precheck is what the loader does not say the way the CLI wants it said.
func precheck(path string, loadAddress uint32) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("firmware image: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("firmware image: %w", err)
	}
	if st.IsDir() {
		return fmt.Errorf("firmware image %s: is a directory, want an ELF file or a raw .bin", path)
	}
	if st.Size() == 0 {
		return fmt.Errorf("firmware image %s: the file is empty", path)
	}
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	isELF := bytes.Equal(magic[:n], []byte("\x7fELF"))
	switch {
	case isELF && loadAddress != 0:
		return fmt.Errorf("firmware image %s: an ELF file says where it loads: --load-address is for a raw .bin", path)
	case isELF:
		return nil
	case loadAddress == 0:
		return fmt.Errorf("firmware image %s: not an ELF file; a raw binary needs --load-address (e.g. %#08x)", path, uint32(mem.FirmwareFlashBase))
	}
	end := uint64(mem.FirmwareFlashBase) + mem.FirmwareFlashSize
	if loadAddress != uint32(mem.FirmwareFlashBase) && uint64(loadAddress) >= uint64(mem.FirmwareFlashBase) && uint64(loadAddress) < end {
		// The core starts from the vector table at VTOR's reset value, the
		// flash base (spec/firmware.md): a raw image starts with it.
		return fmt.Errorf("firmware image %s: --load-address %#08x: a raw binary starts with its vector table, which must be at the start of the flash, %#08x",
			path, loadAddress, uint32(mem.FirmwareFlashBase))
	}
	if uint64(loadAddress) < uint64(mem.FirmwareFlashBase) || uint64(loadAddress)+uint64(st.Size()) > end {
		return fmt.Errorf("firmware image %s: %d bytes at %#08x do not fit the flash %#08x-%#08x (spec/firmware.md)",
			path, st.Size(), loadAddress, uint32(mem.FirmwareFlashBase), end)
	}
	return nil
}

// CheckGDBAddress refuses a --gdb address that is not HOST:PORT on a
// loopback address. The stub has no authentication and gives whoever
// connects the whole emulated device (its memory, registers and run), so
// it does not listen on a network; a debugger elsewhere reaches it through
// a forwarded port. Port 0 picks a free port (mvnet prints the address).
func CheckGDBAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--gdb %s: want HOST:PORT, e.g. 127.0.0.1:3333", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("--gdb %s: the port %q is not a number from 0 to 65535", addr, port)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--gdb %s: the GDB stub has no authentication and controls the whole emulated device, so it listens on a loopback address only (127.0.0.1:PORT or [::1]:PORT); to debug from another machine, forward the port (e.g. ssh -L 3333:127.0.0.1:3333 HOST)", addr)
	}
	return nil
}

// errNoImage is Run's error without Options.Image.
var errNoImage = errors.New("firmware: no image given")
