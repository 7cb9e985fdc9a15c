package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/internal/node"
	"github.com/mvnet/mvnet/kernel"
)

func newDeviceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "device",
		Short: "Manage the cloud's devices",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newDeviceCreateCmd(), deviceListCmd(), deviceGetCmd(), deviceUpdateCmd(), newDeviceDeleteCmd())
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
	api          apiFlags
	// --count N: N devices, their bundles in the directory --out
	// (devicecount.go).
	count      int
	namePrefix string
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

While 'mvnet cloud serve' runs on the data directory (embedded store), or
when --cloud URL is given, the device is created through the cloud's REST
API (POST /v1/Devices): the cloud issues the bundle, with the address it
advertises. The API address and credentials come from --cloud,
--account-sid and --auth-token, else MVNET_CLOUD, MVNET_ACCOUNT_SID and
MVNET_AUTH_TOKEN, else the credentials file the cloud's first start wrote
(the URL defaults to where the data directory's cloud serves its API).

Otherwise 'mvnet device create' works on the data directory itself (the
cloud stopped, or an external NATS via --nats-url). The cloud's address
comes from the data directory (where the cloud last listened) unless
--cloud-address says otherwise: host:port, or a comma-separated list of
a cluster's nodes (host:port,host:port,...), which the bundle lists all
(the device connects to any and moves on when one fails). See
docs/cloud.md.

With --count N it registers N devices and writes their bundles into the
directory --out (created if missing), one DEVICE_SID.json each, for
'mvnet fleet --bundles DIR' (docs/scaling.md). It is all or nothing: the
bundles are written in a hidden directory inside DIR and moved in place
once every device is registered; if any device fails (or on Ctrl-C) the
devices registered so far are deleted again and no bundle is left (the
error names any device that could not be deleted). Progress goes to
stderr. For instance, 1000 devices named load-0001 … load-1000 for
'mvnet fleet --bundles ./fleet':

  mvnet device create --data-dir ./mvnet-data --count 1000 --name-prefix load --out ./fleet`,
		Example: `  # In another terminal: the cloud (its first start creates the data directory)
  mvnet cloud serve --data-dir ./mvnet-data
  # Then register a device and run the demo's request as that device
  mvnet device create --data-dir ./mvnet-data --unique-name sensor-1 --out sensor-1.json
  mvnet demo --cloud sensor-1.json --url https://example.com/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.count != 0 || o.namePrefix != "" {
				return createDevices(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
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
	f.StringVar(&o.cloudAddress, "cloud-address", "", "host:port devices connect to, or a comma-separated list of a cluster's nodes (default: from the data directory)")
	f.StringVar(&o.serverName, "server-name", "", "name to check the cloud's certificate against (default: the address's host)")
	f.IntVar(&o.count, "count", 0, "register this many devices and write their bundles into the directory --out (DIR/DEVICE_SID.json), all or none")
	f.StringVar(&o.namePrefix, "name-prefix", "", "with --count: UniqueNames PREFIX-0001, PREFIX-0002, … (default: no UniqueName)")
	o.api.register(f)
	return cmd
}

// createDevice registers a device and writes its bundle; it prints the
// device's SID and the bundle's path to out. With --cloud it asks that
// cloud's REST API; otherwise it works on the data directory, unless a
// running cloud holds it (embedded store) and the CLI's credentials resolve,
// in which case it asks the running cloud's REST API.
func createDevice(ctx context.Context, o deviceCreateOptions, out io.Writer) error {
	id := o.deviceID
	if id != "" {
		if err := kernel.ValidateDeviceID(id); err != nil {
			return fmt.Errorf("--device-id: %w", err)
		}
	}
	if o.uniqueName != "" {
		if err := store.CheckUniqueName(o.uniqueName); err != nil {
			return fmt.Errorf("--unique-name: %w", err)
		}
	}
	if o.cloudAddress != "" {
		if _, err := parseCloudAddresses(o.cloudAddress); err != nil {
			return err
		}
	}
	if o.out != "" && o.out != "-" && !o.force {
		if _, err := os.Stat(o.out); err == nil {
			return fmt.Errorf("%s exists: choose another --out or give --force", o.out)
		}
	}
	if o.api.creds.URL != "" {
		s, err := o.api.session()
		if err != nil {
			return err
		}
		return createDeviceViaAPI(ctx, s, o, out)
	}
	if id == "" {
		id = kernel.NewDeviceID()
	}
	if _, err := os.Stat(filepath.Join(o.dataDir, devcaDir, devca.CertFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no device CA: run 'mvnet cloud serve --data-dir %s' once first", o.dataDir, o.dataDir)
	}
	addrs, serverName, natsURL, err := bundleTarget(o)
	if err != nil {
		return err
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
	// The embedded store only while no cloud runs on the directory; while
	// one does, ask it through its REST API.
	t := storeTarget{dataDir: o.dataDir, natsURL: natsURL, api: o.api}
	return onStore(ctx, t, func(st *store.Store, _ string) error {
		ca, err := devca.Open(filepath.Join(o.dataDir, devcaDir))
		if err != nil {
			return err
		}
		b, err := node.IssueBundle(ca, id, o.uniqueName, addrs, serverName)
		if err != nil {
			return err
		}
		// All or nothing: the bundle's file first, then the device, then
		// the file put in place; a failure undoes what was done.
		bf, err := stageBundle(path, out)
		if err != nil {
			return err
		}
		if _, err := st.CreateDevice(ctx, id, o.uniqueName); err != nil {
			bf.abort()
			return err
		}
		if err := bf.commit(b, path); err != nil {
			if _, derr := st.DeleteDevice(context.WithoutCancel(ctx), id); derr != nil {
				return fmt.Errorf("%w; device %s stays registered without its key (removing it failed: %v): delete it with 'mvnet device delete %s'", err, id, derr, id)
			}
			return fmt.Errorf("%w (device %s was not registered)", err, id)
		}
		return nil
	}, func(s *apiSession) error {
		o.deviceID = id
		return createDeviceViaAPI(ctx, s, o, out)
	})
}

// parseCloudAddresses splits --cloud-address: host:port, or a
// comma-separated list of them (a cluster's nodes); an error names the
// entry that is not host:port.
func parseCloudAddresses(s string) ([]string, error) {
	var addrs []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			if !strings.Contains(s, ",") {
				return nil, fmt.Errorf("--cloud-address %q: want host:port", s)
			}
			return nil, fmt.Errorf("--cloud-address %q: entry %q: want host:port", s, a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// bundleTarget is, for a device created on the data directory, the
// cloud's addresses and server name to put in its bundle and the store's
// NATS: the flags, else what the data directory's cloud recorded.
func bundleTarget(o deviceCreateOptions) (addrs []string, serverName, natsURL string, err error) {
	addr, serverName, natsURL := o.cloudAddress, o.serverName, o.natsURL
	if addr == "" || natsURL == "" {
		ci, err := readCloudInfo(o.dataDir)
		if err != nil && addr == "" {
			return nil, "", "", err
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
	if addrs, err = parseCloudAddresses(addr); err != nil {
		return nil, "", "", err
	}
	return addrs, serverName, natsURL, nil
}

// bundleFile is where device create puts a bundle. It is opened before the
// device is registered — a temporary file beside the destination, so that an
// unwritable --out registers nothing — and put in place once the device is
// (commit), or removed (abort).
type bundleFile struct {
	tmp *os.File // nil for "-": the bundle goes to out
	out io.Writer
}

// stageBundle opens the bundle file for path ("-" for out; "" for a
// DEVICE_SID.json in the current directory, its name known later).
func stageBundle(path string, out io.Writer) (*bundleFile, error) {
	bf := &bundleFile{out: out}
	if path == "-" {
		return bf, nil
	}
	dir := "."
	if path != "" {
		dir = filepath.Dir(path)
	}
	tmp, err := os.CreateTemp(dir, ".mvnet-bundle-*.tmp") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("cannot write the bundle there: %w", err)
	}
	bf.tmp = tmp
	return bf, nil
}

// commit writes b and puts it at path (or on out for "-"), and reports what
// it wrote.
func (bf *bundleFile) commit(b *device.Bundle, path string) error {
	if bf.tmp == nil {
		return b.Encode(bf.out)
	}
	name := bf.tmp.Name()
	err := bf.tmp.Close()
	if err == nil {
		err = b.Write(name)
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("writing the bundle %s: %w", path, err)
	}
	fmt.Fprintf(bf.out, "device   %s\nbundle   %s\ncloud    %s\n", b.DeviceSid, path, b.CloudAddress)
	return nil
}

// abort removes the staged file.
func (bf *bundleFile) abort() {
	if bf.tmp != nil {
		_ = bf.tmp.Close()
		_ = os.Remove(bf.tmp.Name())
	}
}

// createDeviceViaAPI registers the device through a running cloud's REST
// API (POST /v1/Devices), which issues the bundle.
func createDeviceViaAPI(ctx context.Context, s *apiSession, o deviceCreateOptions, out io.Writer) error {
	path := o.out
	if path != "" && path != "-" && !o.force {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: choose another --out or give --force", path)
		}
	}
	if path == "" && o.deviceID != "" {
		// Known before asking: refuse an existing file without registering.
		path = o.deviceID + ".json"
		if !o.force {
			if _, err := os.Stat(path); err == nil {
				return fmt.Errorf("%s exists: choose another --out or give --force", path)
			}
		}
	}
	bf, err := stageBundle(path, out)
	if err != nil {
		return err
	}
	created, err := s.CreateDevice(ctx, apiclient.NewDevice{UniqueName: o.uniqueName, DeviceID: o.deviceID})
	if err != nil {
		bf.abort()
		return s.explain(err)
	}
	if err := writeCreated(s, o, created, path, bf); err != nil {
		bf.abort()
		// Undo the registration: the key would be lost with the device
		// registered and its name taken.
		if derr := s.DeleteDevice(context.WithoutCancel(ctx), created.Device.Sid); derr != nil {
			return fmt.Errorf("%w; device %s stays registered without its key (removing it failed: %v): delete it with 'mvnet device delete %s'", err, created.Device.Sid, s.explain(derr), created.Device.Sid)
		}
		return fmt.Errorf("%w (device %s was not registered)", err, created.Device.Sid)
	}
	return nil
}

// writeCreated checks the bundle the API issued and writes it.
func writeCreated(s *apiSession, o deviceCreateOptions, created apiclient.CreatedDevice, path string, bf *bundleFile) error {
	b, err := decodeCreated(s, o, created)
	if err != nil {
		return err
	}
	if path == "" {
		path = b.DeviceSid + ".json"
		if !o.force {
			if _, err := os.Stat(path); err == nil {
				// The device is registered; keep its only copy of the key.
				path = b.DeviceSid + ".new.json"
				if _, err := os.Stat(path); err == nil {
					return fmt.Errorf("%s.json and %s exist: the bundle of device %s was not written", b.DeviceSid, path, b.DeviceSid)
				}
			}
		}
	}
	return bf.commit(b, path)
}

// decodeCreated checks the bundle the API issued, with the address and
// server name the flags give, if any.
func decodeCreated(s *apiSession, o deviceCreateOptions, created apiclient.CreatedDevice) (*device.Bundle, error) {
	var b device.Bundle
	if err := json.Unmarshal(created.Bundle, &b); err != nil {
		return nil, fmt.Errorf("cloud at %s: the bundle of device %s: %w", s.BaseURL, created.Device.Sid, err)
	}
	if b.DeviceSid != created.Device.Sid {
		return nil, fmt.Errorf("cloud at %s: the bundle is device %s's, not %s's", s.BaseURL, b.DeviceSid, created.Device.Sid)
	}
	if o.cloudAddress != "" {
		addrs, err := parseCloudAddresses(o.cloudAddress)
		if err != nil {
			return nil, err
		}
		b.CloudAddress, b.CloudAddresses = addrs[0], nil
		if len(addrs) > 1 {
			b.CloudAddresses = addrs
		}
	}
	if o.serverName != "" {
		b.ServerName = o.serverName
	}
	if err := b.Check(); err != nil {
		return nil, fmt.Errorf("cloud at %s: the bundle of device %s: %w", s.BaseURL, b.DeviceSid, err)
	}
	return &b, nil
}

// apiSessionFor is o's API session with apiURL (the REST API of the cloud
// running on the data directory, from cloud.json) as the URL when neither
// --cloud nor MVNET_CLOUD gives one; the account SID and auth token resolve
// as usual (flags, environment, credentials file).
func apiSessionFor(a apiFlags, apiURL string) (*apiSession, error) {
	if a.creds.URL == "" && os.Getenv(cliconfig.EnvURL) == "" && apiURL != "" {
		a.creds.URL = apiURL
	}
	return a.session()
}
