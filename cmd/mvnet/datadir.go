package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/node"
)

// The cloud's data directory (docs/cloud.md):
//
//	DIR/cloud.lock   held (flock) while `mvnet cloud serve` runs on DIR
//	DIR/cloud.json   where the last cloud on DIR listened (cloudInfo)
//	DIR/devca/       the device CA (package cloud/devca)
//	DIR/secret.key   the store's key for secrets at rest (package cloud/store)
//	DIR/jetstream/   the embedded NATS server's files (package cloud/store)
const (
	lockFile      = "cloud.lock"
	cloudInfoFile = "cloud.json"
	devcaDir      = node.CADir
	// envDataDir is the data directory when --data-dir is not given.
	envDataDir = "MVNET_DATA_DIR"
	// defaultDataDir is the data directory without --data-dir or
	// MVNET_DATA_DIR.
	defaultDataDir = "mvnet-data"
)

// cloudInfo is DIR/cloud.json, written by `mvnet cloud serve` once it
// listens, and read by `mvnet device create` for the address it puts in
// bundles.
type cloudInfo struct {
	// DeviceAddress is where devices connect (host:port), as advertised.
	DeviceAddress string `json:"device_address"`
	// ServerName is what devices check the cloud's certificate against
	// (default: DeviceAddress's host).
	ServerName string `json:"server_name,omitempty"`
	// APIURL is the REST API's base URL ("" if not served).
	APIURL string `json:"api_url,omitempty"`
	// NATSURL is the external NATS the cloud used ("" for embedded).
	NATSURL string `json:"nats_url,omitempty"`
}

func dataDirDefault() string {
	if d := os.Getenv(envDataDir); d != "" {
		return d
	}
	return defaultDataDir
}

func readCloudInfo(dir string) (cloudInfo, error) {
	var ci cloudInfo
	b, err := os.ReadFile(filepath.Join(dir, cloudInfoFile))
	if errors.Is(err, fs.ErrNotExist) {
		return ci, fmt.Errorf("%s has no %s: run 'mvnet cloud serve --data-dir %s' once, or give --cloud-address", dir, cloudInfoFile, dir)
	}
	if err != nil {
		return ci, err
	}
	if err := json.Unmarshal(b, &ci); err != nil {
		return ci, fmt.Errorf("%s: %w", filepath.Join(dir, cloudInfoFile), err)
	}
	return ci, nil
}

func writeCloudInfo(dir string, ci cloudInfo) error {
	b, err := json.MarshalIndent(ci, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+cloudInfoFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, cloudInfoFile))
}

// errLocked is returned by lockDataDir when a running cloud holds the lock.
var errLocked = errors.New("a running 'mvnet cloud serve' holds this data directory")

// lockDataDir takes DIR/cloud.lock (creating DIR, mode 0700): one cloud
// process per data directory, since the embedded NATS server does not lock
// its files. The returned function releases it.
func lockDataDir(dir string) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return func() { funlock(f); f.Close() }, nil
}

// storeTarget is how a command that changes the cloud's store reaches it:
// through a REST API (--cloud, or the running cloud on the data directory)
// or by opening the data directory's store itself.
type storeTarget struct {
	dataDir string
	natsURL string
	api     apiFlags
}

func (t *storeTarget) register(f *pflag.FlagSet) {
	f.StringVar(&t.dataDir, "data-dir", dataDirDefault(), "the cloud's data directory (env "+envDataDir+")")
	f.StringVar(&t.natsURL, "nats-url", "", "the cloud's external NATS (default: the one the cloud last used, else embedded)")
	t.api.register(f)
}

// onStore runs viaAPI through the REST API when --cloud gives one, or when
// a running `mvnet cloud serve` holds the data directory's embedded store
// (at the API address it recorded); otherwise viaStore on the data
// directory's store (the cloud stopped, or an external NATS). apiURL is the
// API the data directory's cloud last served ("" if none).
func onStore(ctx context.Context, t storeTarget, viaStore func(st *store.Store, apiURL string) error, viaAPI func(s *apiSession) error) error {
	if t.api.creds.URL != "" {
		s, err := t.api.session()
		if err != nil {
			return err
		}
		return viaAPI(s)
	}
	if _, err := os.Stat(filepath.Join(t.dataDir, devcaDir)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s holds no cloud: run 'mvnet cloud serve --data-dir %s' once first, or give --cloud URL", t.dataDir, t.dataDir)
	}
	ci, _ := readCloudInfo(t.dataDir) // absent: no API address, embedded NATS
	natsURL := t.natsURL
	if natsURL == "" {
		natsURL = ci.NATSURL
	}
	if natsURL == "" {
		unlock, err := lockDataDir(t.dataDir)
		if errors.Is(err, errLocked) {
			s, serr := apiSessionFor(t.api, ci.APIURL)
			if serr != nil {
				return fmt.Errorf("%w, and its REST API cannot be used (%v): give --cloud URL with --account-sid and --auth-token, or stop the cloud", err, serr)
			}
			return viaAPI(s)
		}
		if err != nil {
			return err
		}
		defer unlock()
	}
	st, err := store.Open(ctx, store.Options{DataDir: t.dataDir, URL: natsURL})
	if err != nil {
		return err
	}
	defer st.Close()
	return viaStore(st, ci.APIURL)
}
