package test

// A device in this process joins `mvnet cloud serve` running in another
// process, over TLS 1.3 with the credential bundle `mvnet device create`
// wrote; wrong credentials are refused.

import (
	"bufio"
	"context"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
)

// buildMvnet builds the mvnet command into a temporary directory.
func buildMvnet(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the mvnet command")
	}
	bin := filepath.Join(t.TempDir(), "mvnet")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/mvnet/mvnet/cmd/mvnet")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serveCloud runs `mvnet cloud serve args…` in its own process until the
// test ends; it returns once the cloud prints its device address.
func serveCloud(t testing.TB, bin string, args ...string) (devices string) {
	t.Helper()
	devices, _ = serveCloudProcess(t, bin, args...)
	return devices
}

// serveCloudProcess is serveCloud, also returning the cloud's process ID.
func serveCloudProcess(t testing.TB, bin string, args ...string) (devices string, pid int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"cloud", "serve", "--listen-api", ""}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := filepath.Join(t.TempDir(), "stderr")
	ef, err := os.Create(stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close() // the child keeps its own descriptor
	cmd.Stderr = ef
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				log, _ := os.ReadFile(stderr)
				t.Errorf("mvnet cloud serve: %v\n%s", err, log)
			}
		case <-time.After(waitLimit):
			_ = cmd.Process.Kill()
			t.Error("mvnet cloud serve did not stop on SIGTERM")
		}
	})
	timeout := time.After(waitLimit)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				log, _ := os.ReadFile(stderr)
				t.Fatalf("mvnet cloud serve exited before listening:\n%s", log)
			}
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "devices" {
				go func() { // keep draining
					for range lines {
					}
				}()
				return f[1], cmd.Process.Pid
			}
		case <-timeout:
			t.Fatalf("mvnet cloud serve not listening after %v", waitLimit)
		}
	}
}

func TestDeviceJoinsCloudServeInAnotherProcess(t *testing.T) {
	bin := buildMvnet(t)
	web := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served across processes")
	}))
	dir := t.TempDir()
	caFile := filepath.Join(dir, "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	b := serveCloudWithDevice(t, bin, "--allow", "127.0.0.0/8", "--resolve", web.Resolve, "--ca-file", caFile)
	d := joinWith(t, b)
	ctx := testenv.Context(t, waitLimit)
	n, err := d.Connect(ctx, irq)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: web.URL("/"), TimeoutMS: 5000}, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || string(resp.Body) != "served across processes" {
		t.Fatalf("response %+v", resp)
	}

	// Wrong credentials: another CA's certificate for the same device never
	// gets the network up.
	other, err := devca.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := other.IssueDevice(b.DeviceSid, 0)
	if err != nil {
		t.Fatal(err)
	}
	forged := *b
	forged.Certificate, forged.PrivateKey = string(certPEM), string(keyPEM)
	fd := joinWith(t, &forged)
	short, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := fd.Connect(short, irq); err == nil {
		t.Fatal("a device with another CA's certificate connected")
	}
}

// serveCloudWithDevice creates a data directory with one device in it,
// runs `mvnet cloud serve args…` on it in its own process and returns the
// device's bundle.
func serveCloudWithDevice(t *testing.T, bin string, args ...string) *device.Bundle {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	// `mvnet device create` needs the CA, made by the cloud's first start.
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := devca.Open(filepath.Join(data, "devca")); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "device.json")
	out, err := exec.Command(bin, "device", "create", "--data-dir", data, "--cloud-address", addr, "--out", bundle).CombinedOutput()
	if err != nil {
		t.Fatalf("mvnet device create: %v\n%s", err, out)
	}
	serveCloud(t, bin, append([]string{"--data-dir", data, "--listen-devices", addr}, args...)...)
	b, err := device.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func joinWith(t *testing.T, b *device.Bundle) *device.Device {
	t.Helper()
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: b.DeviceSid, Dial: dial,
		ReconnectDelay: 5 * time.Millisecond, MaxReconnectDelay: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}
