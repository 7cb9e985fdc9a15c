package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/emu/firmware"
	"github.com/mvnet/mvnet/internal/runner"
)

// newEmulateCmd is the hidden command `mvnet run --firmware` runs as the
// application (internal/runner/firmware.go): it runs the image on the
// emulator with the library's configuration from the environment the
// runner set, and exits with the image's status.
func newEmulateCmd() *cobra.Command {
	var fo runner.FirmwareOptions
	var loadAddress string
	cmd := &cobra.Command{
		Use:    runner.EmulateCommand + " [--load-address A] [--realtime] [--gdb ADDR] -- IMAGE",
		Short:  "Run a firmware image on the emulator as mvnet run's application (internal; use mvnet run --firmware)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if loadAddress != "" {
				a, err := runner.ParseLoadAddress(loadAddress)
				if err != nil {
					return err
				}
				fo.LoadAddress = a
			}
			code, err := firmware.Run(cmd.Context(), firmware.Options{
				Image: args[0], LoadAddress: fo.LoadAddress, Realtime: fo.Realtime, GDB: fo.GDB,
				Stdout: os.Stdout, Stderr: cmd.ErrOrStderr(),
			})
			if err != nil {
				if errors.Is(err, cmd.Context().Err()) {
					os.Exit(130)
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "mvnet:", err)
				os.Exit(2)
			}
			os.Exit(code)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&loadAddress, "load-address", "", "where a raw binary goes")
	f.BoolVar(&fo.Realtime, "realtime", false, "pace the virtual clock to the wall clock")
	f.StringVar(&fo.GDB, "gdb", "", "GDB stub address")
	return cmd
}
