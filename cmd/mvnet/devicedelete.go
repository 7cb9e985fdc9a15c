package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud/store"
)

func newDeviceDeleteCmd() *cobra.Command {
	var t storeTarget
	cmd := &cobra.Command{
		Use:   "delete SID|UniqueName",
		Short: "Delete a device: its certificate is refused from then on",
		Long: `Delete a device from the cloud's registry, with its device-scoped configs
and secrets and its server logs. The registry is the source of truth for
who may connect: a running cloud drops the device's live link at once and
refuses its certificate from then on (no CRL to distribute). Its SID and
UniqueName are free again; 'mvnet device create --device-id SID' issues it
a new bundle.

Like 'mvnet device create', it goes through the REST API (DELETE
/v1/Devices/{Sid}) with --cloud, or while 'mvnet cloud serve' runs on the
data directory; otherwise it works on the data directory's store itself.

` + apiCredentialsHelp,
		Example: `  mvnet device delete pump-7
  mvnet device delete UV0123456789abcdef0123456789abcdef --data-dir /var/lib/mvnet`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return deleteDevice(ctxOf(cmd), t, args[0], cmd.OutOrStdout())
		},
	}
	t.register(cmd.Flags())
	return cmd
}

// deleteDevice deletes the device sidOrName and prints "deleted  SID".
func deleteDevice(ctx context.Context, t storeTarget, sidOrName string, out io.Writer) error {
	return onStore(ctx, t, func(st *store.Store, _ string) error {
		d, err := st.DeleteDevice(ctx, sidOrName)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "deleted  %s\n", d.Sid)
		return nil
	}, func(s *apiSession) error {
		// The SID for the report: the argument may be a UniqueName.
		d, err := s.GetDevice(ctx, sidOrName)
		if err != nil {
			return s.explain(err)
		}
		if err := s.DeleteDevice(ctx, d.Sid); err != nil {
			return s.explain(err)
		}
		fmt.Fprintf(out, "deleted  %s\n", d.Sid)
		return nil
	})
}
