package main

// mvnet device create --count N --out DIR [--name-prefix P]: a fleet's
// devices and bundles in one go, all or nothing.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/fleet"
	"github.com/mvnet/mvnet/internal/node"
	"github.com/mvnet/mvnet/kernel"
)

// createWorkers is how many devices --count registers at once.
const createWorkers = 8

// deviceMaker registers one device and issues its bundle (make), or
// deletes a device it registered (undo): on the data directory's store or
// through a REST API.
type deviceMaker struct {
	make func(ctx context.Context, id, name string) (*device.Bundle, error)
	undo func(ctx context.Context, id string) error
}

// checkCount validates the --count flags.
func checkCount(o deviceCreateOptions) error {
	switch {
	case o.count < 0:
		return fmt.Errorf("--count %d: want a positive number of devices", o.count)
	case o.count == 0:
		return errors.New("--name-prefix needs --count (how many devices to create)")
	case o.out == "" || o.out == "-":
		return errors.New("--count writes one bundle per device into a directory: give --out DIR")
	case o.uniqueName != "":
		return errors.New("--unique-name names one device: with --count give --name-prefix")
	case o.deviceID != "":
		return errors.New("--device-id names one device: --count makes new IDs")
	}
	if o.namePrefix != "" {
		for _, i := range []int{1, o.count} {
			if err := store.CheckUniqueName(countName(o, i)); err != nil {
				return fmt.Errorf("--name-prefix %q: %w", o.namePrefix, err)
			}
		}
	}
	if o.cloudAddress != "" {
		if _, err := parseCloudAddresses(o.cloudAddress); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(o.out); err == nil && !fi.IsDir() {
		return fmt.Errorf("--out %s is a file: with --count it is the directory the bundles go to", o.out)
	}
	return nil
}

// countName is device i's UniqueName (1-based): PREFIX-0001, or "" for
// none; at least 4 digits, more when --count needs them.
func countName(o deviceCreateOptions, i int) string {
	if o.namePrefix == "" {
		return ""
	}
	width := max(4, len(strconv.Itoa(o.count)))
	return fmt.Sprintf("%s-%0*d", o.namePrefix, width, i)
}

// createDevices registers o.count devices and writes their bundles into
// the directory o.out, all or none: the bundles go to a hidden staging
// directory inside o.out and are moved in place once every device is
// registered; on any failure (or when ctx ends) the devices registered so
// far are deleted and the staging directory removed. Progress goes to
// errOut.
func createDevices(ctx context.Context, o deviceCreateOptions, out, errOut io.Writer) error {
	if err := checkCount(o); err != nil {
		return err
	}
	if o.api.creds.URL != "" {
		s, err := o.api.session()
		if err != nil {
			return err
		}
		return createMany(ctx, o, apiMaker(s, o), out, errOut)
	}
	if _, err := os.Stat(filepath.Join(o.dataDir, devcaDir, devca.CertFile)); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s holds no device CA: run 'mvnet cloud serve --data-dir %s' once first", o.dataDir, o.dataDir)
	}
	addrs, serverName, natsURL, err := bundleTarget(o)
	if err != nil {
		return err
	}
	t := storeTarget{dataDir: o.dataDir, natsURL: natsURL, api: o.api}
	return onStore(ctx, t, func(st *store.Store, _ string) error {
		ca, err := devca.Open(filepath.Join(o.dataDir, devcaDir))
		if err != nil {
			return err
		}
		return createMany(ctx, o, deviceMaker{
			make: func(ctx context.Context, id, name string) (*device.Bundle, error) {
				b, err := node.IssueBundle(ca, id, name, addrs, serverName)
				if err != nil {
					return nil, err
				}
				if _, err := st.CreateDevice(ctx, id, name); err != nil {
					return nil, err
				}
				return b, nil
			},
			undo: storeUndo(st),
		}, out, errOut)
	}, func(s *apiSession) error {
		return createMany(ctx, o, apiMaker(s, o), out, errOut)
	})
}

// apiMaker registers devices through the REST API (POST /v1/Devices),
// which issues the bundles.
func apiMaker(s *apiSession, o deviceCreateOptions) deviceMaker {
	return deviceMaker{
		make: func(ctx context.Context, id, name string) (*device.Bundle, error) {
			created, err := s.CreateDevice(ctx, apiclient.NewDevice{UniqueName: name, DeviceID: id})
			if err != nil {
				return nil, s.explain(err)
			}
			b, err := decodeCreated(s, o, created)
			if err != nil {
				if derr := s.DeleteDevice(context.WithoutCancel(ctx), id); derr != nil {
					return nil, fmt.Errorf("%w; device %s stays registered (removing it failed: %v)", err, id, s.explain(derr))
				}
				return nil, err
			}
			return b, nil
		},
		undo: func(ctx context.Context, id string) error {
			if err := s.DeleteDevice(ctx, id); err != nil && !apiclient.IsStatus(err, http.StatusNotFound) {
				return s.explain(err)
			}
			return nil // deleted, or never registered (its create failed)
		},
	}
}

// storeUndo deletes a device from the store; one that is not there (its
// create failed before the store committed it) is undone already.
func storeUndo(st *store.Store) func(ctx context.Context, id string) error {
	return func(ctx context.Context, id string) error {
		if _, err := st.DeleteDevice(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
}

// createMany runs the all-or-nothing creation with mk.
func createMany(ctx context.Context, o deviceCreateOptions, mk deviceMaker, out, errOut io.Writer) error {
	if err := os.MkdirAll(o.out, 0o700); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	stage, err := os.MkdirTemp(o.out, ".mvnet-create-*")
	if err != nil {
		return fmt.Errorf("--out: cannot write the bundles there: %w", err)
	}
	defer os.RemoveAll(stage)
	// A failure or ctx's end stops the feed; the devices being registered
	// then finish (their ctx is not cancelled), so each is either
	// registered, and undone below, or not at all.
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	mctx := context.WithoutCancel(ctx)

	var (
		mu      sync.Mutex
		created []string // registered devices, to undo on failure
		// maybe are devices whose create failed: the ID is chosen here,
		// so a create that failed after the cloud committed it (a
		// timeout, a 5xx during a store election) is undone too.
		maybe    []string
		firstErr error
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	prog := startCountProgress(errOut, o.count)
	for range createWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id, name := kernel.NewDeviceID(), countName(o, i)
				b, err := mk.make(mctx, id, name)
				mu.Lock()
				if err == nil {
					created = append(created, id)
				} else {
					maybe = append(maybe, id)
				}
				mu.Unlock()
				if err == nil {
					err = b.Write(filepath.Join(stage, id+".json"))
				}
				if err != nil {
					what := "device " + strconv.Itoa(i)
					if name != "" {
						what += " (" + name + ")"
					}
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("creating %s of %d: %w", what, o.count, err)
					}
					mu.Unlock()
					halt()
					continue
				}
				prog.add()
			}
		}()
	}
feed:
	for i := 1; i <= o.count; i++ {
		select {
		case jobs <- i:
		case <-stop:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	prog.stop()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("interrupted after %d of %d devices: %w", len(created), o.count, ctx.Err())
	}
	if firstErr == nil {
		firstErr = placeBundles(stage, o.out, created)
	}
	if firstErr != nil {
		return undoCreated(ctx, mk, append(created, maybe...), firstErr)
	}
	fmt.Fprintf(out, "devices  %d\nbundles  %s\n", o.count, o.out)
	return nil
}

// placeBundles moves the staged bundles into dir; on failure it takes the
// ones it moved out again.
func placeBundles(stage, dir string, ids []string) error {
	for i, id := range ids {
		if err := os.Rename(filepath.Join(stage, id+".json"), filepath.Join(dir, id+".json")); err != nil {
			for _, done := range ids[:i] {
				_ = os.Remove(filepath.Join(dir, done+".json"))
			}
			return fmt.Errorf("writing the bundles into %s: %w", dir, err)
		}
	}
	return nil
}

// undoCreated deletes the devices registered before err (and those whose
// create failed: mk.undo treats one not there as undone) and says what is
// left.
func undoCreated(ctx context.Context, mk deviceMaker, ids []string, err error) error {
	ctx = context.WithoutCancel(ctx)
	var (
		mu   sync.Mutex
		left []string
		why  error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, createWorkers)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if derr := mk.undo(ctx, id); derr != nil {
				mu.Lock()
				left, why = append(left, id), derr
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(left) > 0 {
		return fmt.Errorf("%w; %d devices stay registered without their keys (removing them failed: %v): delete them with 'mvnet device delete SID': %v",
			err, len(left), why, left)
	}
	return fmt.Errorf("%w (no device was kept, no bundle written)", err)
}

// countProgress prints "created n/N devices" to w.
type countProgress struct {
	w     io.Writer
	total int
	mu    sync.Mutex
	n     int
	last  time.Time
	term  bool
}

func startCountProgress(w io.Writer, total int) *countProgress {
	f, ok := w.(*os.File)
	return &countProgress{w: w, total: total, term: ok && fleet.IsTerminal(f)}
}

func (p *countProgress) add() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	every := 2 * time.Second
	if p.term {
		every = 250 * time.Millisecond
	}
	if time.Since(p.last) >= every {
		p.last = time.Now()
		p.printLocked()
	}
}

func (p *countProgress) printLocked() {
	if p.term {
		fmt.Fprintf(p.w, "\r\033[Kcreated %d/%d devices", p.n, p.total)
	} else {
		fmt.Fprintf(p.w, "created %d/%d devices\n", p.n, p.total)
	}
}

func (p *countProgress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printLocked()
	if p.term {
		fmt.Fprintln(p.w)
	}
}
