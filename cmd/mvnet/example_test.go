package main

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/internal/pki"
)

// TestDeviceCreateExampleWorks runs the example of `mvnet device create
// --help` as written, in a fresh directory: the cloud, the device, the demo
// as that device. Only the cloud gets test-only flags, so that
// https://example.com/ is a local HTTPS server (offline) and its ports are
// free.
func TestDeviceCreateExampleWorks(t *testing.T) {
	for _, v := range []string{cliconfig.EnvURL, cliconfig.EnvAccountSid, cliconfig.EnvAuthToken, envDataDir} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	t.Chdir(dir)

	ca, err := pki.NewCA("example test CA")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := ca.ServerTLS("example.com")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("hello from the example's server"))
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	offline := []string{"--listen-devices", freePort(t),
		"--resolve", "example.com:443:127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"--allow", "127.0.0.0/8", "--ca-file", caFile}

	var commands [][]string
	for _, line := range strings.Split(newDeviceCreateCmd().Example, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "mvnet" {
			commands = append(commands, f[1:])
		}
	}
	if len(commands) != 3 || strings.Join(commands[0][:2], " ") != "cloud serve" {
		t.Fatalf("the example is not cloud serve, device create, demo: %q", commands)
	}
	startCloud(t, append(commands[0][2:], offline...)...)
	for _, args := range commands[1:] {
		out, err := run(args...)
		if err != nil {
			t.Fatalf("mvnet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if args[0] == "demo" && !strings.Contains(out, "hello from the example's server") {
			t.Fatalf("mvnet %s did not fetch the page:\n%s", strings.Join(args, " "), out)
		}
	}
}
