package runner

import (
	"errors"
	"fmt"
	"os"
	"strconv"
)

// EmulateCommand is the hidden subcommand of mvnet that runs an application
// image on the Cortex-M33 emulator as a process of its own: `mvnet run
// --firmware app.elf` runs `mvnet __emulate … app.elf` as the application,
// so that everything the runner does for a host application — the
// transcript from the trace on fd 3, hosted mode, bundles, scenarios,
// record and replay, restarts — applies to firmware unchanged.
const EmulateCommand = "__emulate"

// FirmwareOptions are the runner's settings for an application image
// (Options.Firmware); the emulate command takes them as flags.
type FirmwareOptions struct {
	// Image is the ELF file, or a raw binary with LoadAddress.
	Image string
	// LoadAddress is where a raw binary goes (0: the image must be an
	// ELF, which says where it goes itself).
	LoadAddress uint32
	// Realtime paces the virtual clock to the wall clock and applies the
	// cloud's replies as they come (not deterministic).
	Realtime bool
	// GDB, if set, is the address of a GDB remote-serial-protocol stub
	// (e.g. 127.0.0.1:3333); the image waits for the debugger.
	GDB string
	// Self is the mvnet binary that runs the emulate command. Default:
	// this executable (os.Executable).
	Self string
}

// Args returns the emulate command's arguments for these settings.
func (f FirmwareOptions) Args() []string {
	args := []string{EmulateCommand}
	if f.LoadAddress != 0 {
		args = append(args, "--load-address", fmt.Sprintf("%#08x", f.LoadAddress))
	}
	if f.Realtime {
		args = append(args, "--realtime")
	}
	if f.GDB != "" {
		args = append(args, "--gdb", f.GDB)
	}
	return append(args, "--", f.Image)
}

// ParseLoadAddress reads --load-address: a 32-bit address in C notation
// (0x08000000, or decimal).
func ParseLoadAddress(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("--load-address %q: want a 32-bit address such as 0x08000000", s)
	}
	if v == 0 {
		return 0, fmt.Errorf("--load-address %q: the address must not be 0", s)
	}
	return uint32(v), nil
}

// firmwareApp makes the run's application the emulate command for
// o.Firmware, after CheckImage has looked at the image.
func firmwareApp(o *Options, check func(path string, loadAddress uint32) error) error {
	f := o.Firmware
	if o.App != "" {
		return errors.New("--firmware runs an application image: give no application after --")
	}
	if check != nil {
		if err := check(f.Image, f.LoadAddress); err != nil {
			return err
		}
	}
	self := f.Self
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("--firmware: finding mvnet's own binary to run the emulator: %w", err)
		}
		self = exe
	}
	o.App, o.Args = self, f.Args()
	o.virtualTime = !f.Realtime
	o.Firmware = FirmwareOptions{} // done: a nested Run (runCI) runs App
	return nil
}
