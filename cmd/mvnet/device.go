package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/kernel"
)

func newDeviceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Manage the cloud's devices",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDeviceCreateCmd(), deviceListCmd(), deviceGetCmd(), deviceUpdateCmd())
	return cmd
}

type deviceCreateOptions struct {
	dataDir      string
	natsURL      string
	uniqueName   string
	deviceID     string
	out          string
	force        bool
	cloudAddress string
	serverName   string
}

func newDeviceCreateCmd() *cobra.Command {
	var o deviceCreateOptions
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Register a device and write its credential bundle",
		Long: `Register a new device in the cloud's store and write its credential bundle:
the device's SID, a client certificate and key issued by the cloud's device
CA, the cloud's device address and the CA's certificate (JSON, mode 0600).
A device presenting the bundle's certificate is that device and no other.

'mvnet device create' works on the cloud's data directory itself, so with the
embedded store it must run while 'mvnet cloud serve' is stopped (the data
directory is locked while the cloud runs). With an external NATS
(--nats-url) it may run at any time. The cloud's address comes from the
data directory (where the cloud last listened) unless --cloud-address says
otherwise. See docs/cloud.md.`,
		Example: `  mvnet device create --data-dir ./mvnet-data --unique-name sensor-1 --out sensor-1.json
  mvnet demo --cloud sensor-1.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return createDevice(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", dataDirDefault(), "the cloud's data directory (env "+envDataDir+")")
	f.StringVar(&o.natsURL, "nats-url", "", "the cloud's external NATS (default: the one the cloud last used, else embedded)")
	f.StringVar(&o.uniqueName, "unique-name", "", "the device's UniqueName (unique across the account)")
	f.StringVar(&o.deviceID, "device-id", "", "the device's ID, UV + 32 hex digits (default: a new random one)")
	f.StringVarP(&o.out, "out", "o", "", "bundle file to write (default DEVICE_SID.json; - for stdout)")
	f.BoolVar(&o.force, "force", false, "overwrite an existing bundle file")
	f.StringVar(&o.cloudAddress, "cloud-address", "", "host:port devices connect to (default: from the data directory)")
	f.StringVar(&o.serverName, "server-name", "", "name to check the cloud's certificate against (default: the address's host)")
	return cmd
}

// createDevice registers a device and writes its bundle; it prints the
// device's SID and the bundle's path to out.
func createDevice(ctx context.Context, o deviceCreateOptions, out io.Writer) error {
	id := o.deviceID
	if id == "" {
		id = kernel.NewDeviceID()
	} else if err := kernel.ValidateDeviceID(id); err != nil {
		return fmt.Errorf("--device-id: %w", err)
	}
	if o.uniqueName != "" {
		if err := store.CheckUniqueName(o.uniqueName); err != nil {
			return fmt.Errorf("--unique-name: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(o.dataDir, devcaDir, devca.CertFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no device CA: run 'mvnet cloud serve --data-dir %s' once first", o.dataDir, o.dataDir)
	}
	addr, serverName, natsURL := o.cloudAddress, o.serverName, o.natsURL
	if addr == "" || natsURL == "" {
		ci, err := readCloudInfo(o.dataDir)
		if err != nil && addr == "" {
			return err
		}
		if addr == "" {
			addr = ci.DeviceAddress
			if serverName == "" {
				serverName = ci.ServerName
			}
		}
		if natsURL == "" {
			natsURL = ci.NATSURL
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("cloud address %q: want host:port", addr)
	}
	path := o.out
	if path == "" {
		path = id + ".json"
	}
	if path != "-" && !o.force {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: choose another --out or give --force", path)
		}
	}
	if natsURL == "" {
		// The embedded store: only while no cloud runs on the directory.
		unlock, err := lockDataDir(o.dataDir)
		if errors.Is(err, errLocked) {
			return fmt.Errorf("%w: stop it to create devices with its embedded store, or run the cloud with --nats-url", err)
		}
		if err != nil {
			return err
		}
		defer unlock()
	}
	ca, err := devca.Open(filepath.Join(o.dataDir, devcaDir))
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{DataDir: o.dataDir, URL: natsURL})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.RegisterDevice(ctx, id); err != nil {
		return err
	}
	if o.uniqueName != "" {
		if _, err := st.UpdateDevice(ctx, id, &o.uniqueName, nil); err != nil {
			return fmt.Errorf("--unique-name: %w", err)
		}
	}
	certPEM, keyPEM, err := ca.IssueDevice(id, 0)
	if err != nil {
		return err
	}
	b := &device.Bundle{
		Version:      device.BundleVersion,
		DeviceSid:    id,
		UniqueName:   o.uniqueName,
		CloudAddress: addr,
		ServerName:   serverName,
		CloudCA:      string(ca.CertPEM()),
		Certificate:  string(certPEM),
		PrivateKey:   string(keyPEM),
	}
	if err := b.Check(); err != nil {
		return err
	}
	if path == "-" {
		return b.Encode(out)
	}
	if err := b.Write(path); err != nil {
		return err
	}
	fmt.Fprintf(out, "device   %s\nbundle   %s\ncloud    %s\n", id, path, addr)
	return nil
}
