package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
)

// countedBundles checks that dir holds exactly n bundles, mode 0600,
// named prefix-0001… (prefix "" for none), and nothing else; it returns
// them.
func countedBundles(t *testing.T, dir string, n int, prefix string) []*device.Bundle {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%s holds %d entries, want %d bundles: %v", dir, len(ents), n, names)
	}
	names := map[string]bool{}
	var out []*device.Bundle
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v, %v (want mode 0600)", p, fi.Mode(), err)
		}
		b, err := device.LoadBundle(p)
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() != b.DeviceSid+".json" {
			t.Fatalf("%s holds device %s", p, b.DeviceSid)
		}
		names[b.UniqueName] = true
		out = append(out, b)
	}
	if prefix != "" {
		for _, want := range []string{prefix + "-0001", fmt.Sprintf("%s-%04d", prefix, n)} {
			if !names[want] {
				t.Fatalf("no device named %s: %v", want, names)
			}
		}
	}
	return out
}

// deviceCount is the number of devices the data directory's store holds.
func deviceCount(t *testing.T, data string) int {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l, err := st.ListDevices(context.Background(), store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}

// TestDeviceCreateCount: --count N registers N devices and writes N
// bundles into --out, on the data directory and through a running
// cloud's API; a failure part-way (a name already taken) leaves no device
// of the run registered and no bundle written.
func TestDeviceCreateCount(t *testing.T) {
	isolateCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	stop()

	// On the data directory (the cloud stopped).
	fleetDir := filepath.Join(dir, "fleet")
	out, err := run("device", "create", "--data-dir", data, "--count", "5", "--name-prefix", "load", "--out", fleetDir)
	if err != nil {
		t.Fatalf("device create --count: %v\n%s", err, out)
	}
	if !strings.Contains(out, "created 5/5 devices") || !strings.Contains(out, "devices  5") {
		t.Fatalf("output lacks the progress or the summary:\n%s", out)
	}
	countedBundles(t, fleetDir, 5, "load")
	if n := deviceCount(t, data); n != 5 {
		t.Fatalf("the store holds %d devices, want 5", n)
	}
	// Part-way failure: clash-0003 is taken.
	if _, err := run("device", "create", "--data-dir", data, "--unique-name", "clash-0003", "--out", filepath.Join(dir, "c3.json")); err != nil {
		t.Fatal(err)
	}
	failDir := filepath.Join(dir, "fail")
	_, err = run("device", "create", "--data-dir", data, "--count", "6", "--name-prefix", "clash", "--out", failDir)
	if err == nil || !strings.Contains(err.Error(), "clash-0003") || !strings.Contains(err.Error(), "no device was kept") {
		t.Fatalf("a taken name part-way: %v", err)
	}
	countedBundles(t, failDir, 0, "")
	if n := deviceCount(t, data); n != 6 {
		t.Fatalf("after the failed run the store holds %d devices, want 6", n)
	}
	// A cluster's nodes in --cloud-address: every bundle lists them all.
	clusterDir := filepath.Join(dir, "cluster")
	nodes := []string{"127.0.0.1:7001", "127.0.0.2:7002"}
	if out, err := run("device", "create", "--data-dir", data, "--count", "2", "--out", clusterDir,
		"--cloud-address", nodes[0]+", "+nodes[1]); err != nil {
		t.Fatalf("device create --count --cloud-address LIST: %v\n%s", err, out)
	}
	for _, b := range countedBundles(t, clusterDir, 2, "") {
		if got := b.Addresses(); !slices.Equal(got, nodes) || b.CloudAddress != nodes[0] {
			t.Fatalf("bundle addresses %v (cloud_address %s), want %v", got, b.CloudAddress, nodes)
		}
	}

	// Through the running cloud's REST API.
	_, served := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	creds := savedCredentials(t)
	api := []string{"--cloud", field(served.String(), "api"), "--account-sid", creds.AccountSid, "--auth-token", creds.AuthToken}
	apiDir := filepath.Join(dir, "api")
	if out, err := run("device", "create", "--data-dir", data, "--count", "3", "--out", apiDir); err != nil {
		t.Fatalf("device create --count through the API: %v\n%s", err, out)
	}
	countedBundles(t, apiDir, 3, "")
	_, err = run("device", "create", "--data-dir", data, "--count", "4", "--name-prefix", "clash", "--out", failDir)
	if err == nil || !strings.Contains(err.Error(), "clash-0003") || !strings.Contains(err.Error(), "no device was kept") {
		t.Fatalf("a taken name part-way, through the API: %v", err)
	}
	countedBundles(t, failDir, 0, "")
	out, err = run(append([]string{"device", "list", "--output", "json"}, api...)...)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, `"sid"`); n != 11 {
		t.Fatalf("after the failed run through the API the cloud lists %d devices, want 11:\n%s", n, out)
	}
}

func TestDeviceCreateCountFlagErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--count", "-1", "--out", dir}, "--count -1"},
		{[]string{"--name-prefix", "x", "--out", dir}, "--name-prefix needs --count"},
		{[]string{"--count", "3"}, "give --out DIR"},
		{[]string{"--count", "3", "--out", "-"}, "give --out DIR"},
		{[]string{"--count", "3", "--out", dir, "--unique-name", "a"}, "--unique-name names one device"},
		{[]string{"--count", "3", "--out", dir, "--device-id", "UV" + strings.Repeat("ab", 16)}, "--device-id names one device"},
		{[]string{"--count", "3", "--out", file}, "is a file"},
		{[]string{"--count", "3", "--out", dir, "--name-prefix", "bad\x01"}, "--name-prefix"},
		{[]string{"--count", "3", "--out", dir, "--cloud-address", "127.0.0.1:7001,nohost"}, `entry "nohost": want host:port`},
		{[]string{"--count", "3", "--out", dir, "--cloud-address", "127.0.0.1:7001,"}, `entry "": want host:port`},
	} {
		args := append([]string{"device", "create", "--data-dir", filepath.Join(dir, "data")}, c.args...)
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(args, " "), err, c.want)
		}
	}
}

// TestDeviceCreateCountUndoesFailedCreate: a create that fails after the
// store committed it (as a timeout or a 5xx during a store election
// would) is undone with the rest: "no device was kept" holds.
func TestDeviceCreateCountUndoesFailedCreate(t *testing.T) {
	data := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := deviceMaker{
		make: func(ctx context.Context, id, name string) (*device.Bundle, error) {
			if _, err := st.CreateDevice(ctx, id, name); err != nil {
				return nil, err
			}
			if name == "late-0002" {
				return nil, errors.New("timeout waiting for the answer (the store committed)")
			}
			return &device.Bundle{Version: device.BundleVersion, DeviceSid: id, UniqueName: name}, nil
		},
		undo: storeUndo(st),
	}
	o := deviceCreateOptions{count: 4, namePrefix: "late", out: filepath.Join(t.TempDir(), "out")}
	err = createMany(ctx, o, mk, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "late-0002") || !strings.Contains(err.Error(), "no device was kept") {
		t.Fatalf("createMany: %v", err)
	}
	l, err := st.ListDevices(ctx, store.Page{Size: store.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 0 {
		t.Fatalf("%d devices stay registered after 'no device was kept': %+v", len(l.Items), l.Items)
	}
}
