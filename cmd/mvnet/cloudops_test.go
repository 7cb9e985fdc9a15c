package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// `mvnet cloud serve --listen-ops` prints the ops URL and serves /healthz,
// /readyz and /metrics there; a bad address is refused naming the flag.
func TestCloudServeListenOps(t *testing.T) {
	if _, err := run("cloud", "serve", "--data-dir", t.TempDir(), "--listen-ops", "nope"); err == nil || !strings.Contains(err.Error(), "--listen-ops") {
		t.Errorf("--listen-ops nope: err = %v, want it to name the flag", err)
	}
	_, out := startCloud(t, "--data-dir", t.TempDir(), "--listen-devices", "127.0.0.1:0", "--listen-ops", "127.0.0.1:0")
	ops := field(out.String(), "ops")
	if !strings.HasPrefix(ops, "http://127.0.0.1:") {
		t.Fatalf("no ops URL in the output:\n%s", out.String())
	}
	for path, want := range map[string]string{"/healthz": "ok\n", "/metrics": "mvnet_devices_connected 0"} {
		resp, err := http.Get(ops + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body without %q", path, resp.StatusCode, want)
		}
	}
}
