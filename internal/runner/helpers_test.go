package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
)

// writeCA writes a CA certificate (PEM) to path: the runner checks
// --ca-file with the library's own check before the application starts.
func writeCA(t *testing.T, path string) {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeBundle writes a valid credential bundle to path.
func writeBundle(t *testing.T, path string) {
	t.Helper()
	ca, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := "UV" + strings.Repeat("0a", 16)
	cert, key, err := ca.IssueDevice(id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: "127.0.0.1:7443",
		CloudCA: string(ca.CertPEM()), Certificate: string(cert), PrivateKey: string(key)}
	if err := b.Write(path); err != nil {
		t.Fatal(err)
	}
}

// markerApp writes dir/app, a program that only creates dir/ran, and
// returns both paths: a test tells whether the application started.
func markerApp(t *testing.T, dir string) (app, marker string) {
	t.Helper()
	marker = filepath.Join(dir, "ran")
	app = filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return app, marker
}
