package main

// mvnet device list|get|update, through the REST API. The lead attaches
// deviceListCmd(), deviceGetCmd() and deviceUpdateCmd() under `mvnet device`.

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/internal/apiclient"
)

func deviceListCmd() *cobra.Command {
	var (
		af     apiFlags
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the account's devices",
		Long: `List the account's devices, sorted by SID, from a running cloud's REST API.

` + apiCredentialsHelp,
		Example: `  mvnet device list
  mvnet device list --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			items, err := s.ListDevices(ctxOf(cmd))
			if err != nil {
				return s.explain(err)
			}
			return printList(cmd.OutOrStdout(), output, items, "no devices (register one with 'mvnet device create')",
				"SID\tUNIQUE NAME\tLOGGING\tCREATED", func(d apiclient.Device) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s", d.Sid, cell(d.Name(), 40), onOff(d.LoggingEnabled), d.DateCreated)
				})
		},
	}
	af.register(cmd.Flags())
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func printDevice(w io.Writer, d apiclient.Device, output outputFlag) error {
	if output == "json" {
		return printJSON(w, d)
	}
	tw := newTable(w)
	fmt.Fprintf(tw, "sid\t%s\n", d.Sid)
	fmt.Fprintf(tw, "unique name\t%s\n", cell(d.Name(), 0))
	fmt.Fprintf(tw, "logging\t%s\n", onOff(d.LoggingEnabled))
	fmt.Fprintf(tw, "created\t%s\n", d.DateCreated)
	fmt.Fprintf(tw, "updated\t%s\n", d.DateUpdated)
	fmt.Fprintf(tw, "url\t%s\n", d.URL)
	return tw.Flush()
}

func deviceGetCmd() *cobra.Command {
	var (
		af     apiFlags
		output outputFlag
	)
	cmd := &cobra.Command{
		Use:   "get SID|UniqueName",
		Short: "Show a device",
		Long: `Show a device, by SID or UniqueName, from a running cloud's REST API.

` + apiCredentialsHelp,
		Example: `  mvnet device get UV0123456789abcdef0123456789abcdef
  mvnet device get pump-7 --output json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := af.session()
			if err != nil {
				return err
			}
			d, err := s.GetDevice(ctxOf(cmd), args[0])
			if err != nil {
				return s.explain(err)
			}
			return printDevice(cmd.OutOrStdout(), d, output)
		},
	}
	af.register(cmd.Flags())
	addOutputFlag(cmd.Flags(), &output)
	return cmd
}

func parseOnOff(flag, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "on", "true", "yes", "1":
		return true, nil
	case "off", "false", "no", "0":
		return false, nil
	}
	return false, fmt.Errorf("--%s %q: want on or off", flag, s)
}

func deviceUpdateCmd() *cobra.Command {
	var (
		af      apiFlags
		output  outputFlag
		name    string
		logging string
	)
	cmd := &cobra.Command{
		Use:   "update SID|UniqueName [--unique-name NAME] [--logging on|off]",
		Short: "Rename a device or turn its server logging on or off",
		Long: `Change a device through a running cloud's REST API: its UniqueName
(--unique-name ""  removes it) and whether it may log to the cloud
(--logging off makes mvServerLog return LOGGINGDISABLEDBYSERVER; a connected
device hears of the change at once). Both changes are made together or not
at all. Prints the updated device.

` + apiCredentialsHelp,
		Example: `  mvnet device update UV0123456789abcdef0123456789abcdef --unique-name pump-7
  mvnet device update pump-7 --logging off`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u apiclient.DeviceUpdate
			f := cmd.Flags()
			if f.Changed("unique-name") {
				u.UniqueName = &name
			}
			if f.Changed("logging") {
				b, err := parseOnOff("logging", logging)
				if err != nil {
					return err
				}
				u.LoggingEnabled = &b
			}
			if u.UniqueName == nil && u.LoggingEnabled == nil {
				return fmt.Errorf("nothing to update: give --unique-name NAME and/or --logging on|off")
			}
			s, err := af.session()
			if err != nil {
				return err
			}
			d, err := s.UpdateDevice(ctxOf(cmd), args[0], u)
			if err != nil {
				return s.explain(err)
			}
			return printDevice(cmd.OutOrStdout(), d, output)
		},
	}
	f := cmd.Flags()
	af.register(f)
	addOutputFlag(f, &output)
	f.StringVar(&name, "unique-name", "", `the device's new UniqueName ("" removes it)`)
	f.StringVar(&logging, "logging", "", "server logging: on or off")
	return cmd
}
