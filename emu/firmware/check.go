package firmware

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

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

// errNoImage is Run's error without Options.Image.
var errNoImage = errors.New("firmware: no image given")
