package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
)

// TestDeviceCreateWhileCloudRuns: with the cloud running on its data
// directory, device create goes through its REST API (credentials from the
// file the first start wrote), and a device joins with the bundle.
func TestDeviceCreateWhileCloudRuns(t *testing.T) {
	isolateCLI(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	_, first := startCloud(t, "--data-dir", data, "--listen-devices", addr)
	account, token, apiURL := field(first.String(), "account"), field(first.String(), "token"), field(first.String(), "api")
	caPEM, err := os.ReadFile(filepath.Join(data, devcaDir, devca.CertFile))
	if err != nil {
		t.Fatal(err)
	}

	bundle := filepath.Join(dir, "dev.json")
	out, err := run("device", "create", "--data-dir", data, "--unique-name", "sensor-2", "--out", bundle)
	if err != nil {
		t.Fatalf("device create with the cloud running: %v\n%s", err, out)
	}
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v, %v", fi, err)
	}
	b, err := device.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if b.CloudAddress != addr || b.UniqueName != "sensor-2" || b.CloudCA != string(caPEM) || !strings.Contains(out, b.DeviceSid) {
		t.Fatalf("bundle: address %q (want %q), unique name %q, CA matches %v; output %q", b.CloudAddress, addr, b.UniqueName, b.CloudCA == string(caPEM), out)
	}
	// The existing flags keep their meaning.
	if _, err := run("device", "create", "--data-dir", data, "--out", bundle); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("device create over an existing bundle: %v", err)
	}
	if _, err := run("device", "create", "--data-dir", data, "--unique-name", "sensor-2", "--out", filepath.Join(dir, "x.json")); err == nil || !strings.Contains(err.Error(), "unique") {
		t.Fatalf("a taken UniqueName: %v", err)
	}
	if _, err := run("device", "create", "--data-dir", data, "--device-id", b.DeviceSid, "--out", filepath.Join(dir, "y.json")); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("a registered device ID: %v", err)
	}
	id := "UV" + strings.Repeat("ab", 16)
	out, err = run("device", "create", "--data-dir", data, "--device-id", id, "--out", "-")
	if err != nil {
		t.Fatal(err)
	}
	var sb device.Bundle
	if err := jsonDecode(out, &sb); err != nil || sb.DeviceSid != id || sb.Check() != nil {
		t.Fatalf("stdout bundle: %v, %+v\n%s", err, sb.DeviceSid, out)
	}
	// --cloud names the API outright; the data directory is not needed.
	out, err = run("device", "create", "--data-dir", filepath.Join(dir, "none"), "--cloud", apiURL,
		"--account-sid", account, "--auth-token", token, "--unique-name", "sensor-3", "--out", filepath.Join(dir, "s3.json"), "--cloud-address", "cloud.example:7443")
	if err != nil {
		t.Fatalf("device create --cloud: %v\n%s", err, out)
	}
	if b3, err := device.LoadBundle(filepath.Join(dir, "s3.json")); err != nil || b3.CloudAddress != "cloud.example:7443" || b3.UniqueName != "sensor-3" {
		t.Fatalf("--cloud bundle: %+v, %v", b3, err)
	}
	if _, err := run("device", "create", "--cloud", apiURL, "--account-sid", account, "--auth-token", "wrong", "--out", "-"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("device create with a wrong token: %v", err)
	}
	out, err = run("device", "list")
	if err != nil || !strings.Contains(out, "sensor-2") || !strings.Contains(out, "sensor-3") || !strings.Contains(out, id) {
		t.Fatalf("device list: %v\n%s", err, out)
	}

	// The device joins the running cloud with its bundle.
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: b.DeviceSid, Dial: dial,
		ReconnectDelay: time.Millisecond, MaxReconnectDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once
	t.Cleanup(func() { closeOnce.Do(func() { _ = d.Close() }) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := d.Connect(ctx, 51); err != nil {
		t.Fatalf("device %s with the API-issued bundle: %v", b.DeviceSid, err)
	}
}
