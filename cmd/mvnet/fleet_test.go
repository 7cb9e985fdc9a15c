package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mvnet/mvnet/internal/fleet"
	"github.com/mvnet/mvnet/internal/testenv"
)

// runSplit runs mvnet with stdout and stderr apart.
func runSplit(args ...string) (stdout, stderr string, err error) {
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// TestFleetCommand: `mvnet fleet` drives a running `mvnet cloud serve`
// with devices from `mvnet device create --count`: the JSON report's
// counts are what the HTTPS server saw; a failing target gives errors by
// status and a non-zero exit unless --max-error-rate allows them.
func TestFleetCommand(t *testing.T) {
	isolateCLI(t)
	var hits atomic.Int64
	web := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/fail" {
			http.Error(w, "failing on purpose", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	dir := t.TempDir()
	caFile := filepath.Join(dir, "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0",
		"--allow", "127.0.0.0/8", "--resolve", web.Resolve, "--ca-file", caFile)
	bundles := filepath.Join(dir, "fleet")
	const n = 10
	if out, err := run("device", "create", "--data-dir", data, "--count", "10", "--name-prefix", "load", "--out", bundles); err != nil {
		t.Fatalf("device create --count: %v\n%s", err, out)
	}

	stdout, stderr, err := runSplit("fleet", "--bundles", bundles, "--scenario", "http,logs", "--url", web.URL("/ok"), "--output", "json")
	if err != nil {
		t.Fatalf("mvnet fleet: %v\n%s%s", err, stdout, stderr)
	}
	var rep fleet.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("the JSON report does not decode: %v\n%s", err, stdout)
	}
	if rep.Connect.Connected != n || rep.Op("http") == nil || rep.Op("http").OK != n || rep.Op("logs") == nil || rep.Op("logs").OK != n || rep.LogsUnacknowledged != 0 {
		t.Fatalf("report:\n%s", stdout)
	}
	if hits.Load() != n {
		t.Fatalf("the HTTPS server answered %d requests, the report says %d", hits.Load(), n)
	}
	if !strings.Contains(stderr, "devices 10/10 connected") {
		t.Fatalf("no progress on stderr:\n%s", stderr)
	}

	// A failing target: errors by status, exit non-zero, report printed.
	stdout, _, err = runSplit("fleet", "--bundles", bundles, "--devices", "4", "--scenario", "http", "--url", web.URL("/fail"), "--quiet")
	if err == nil || !strings.Contains(err.Error(), "--max-error-rate") {
		t.Fatalf("a failing target: err = %v", err)
	}
	for _, want := range []string{"HTTP 503", "4/4 devices", "http"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("the text report lacks %q:\n%s", want, stdout)
		}
	}
	if _, _, err := runSplit("fleet", "--bundles", bundles, "--devices", "2", "--scenario", "http", "--url", web.URL("/fail"), "--quiet", "--max-error-rate", "1"); err != nil {
		t.Fatalf("--max-error-rate 1 with every request failing: %v", err)
	}
}

func TestFleetFlagErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--bundles"},
		{[]string{"--bundles", dir}, "no bundle"},
		{[]string{"--bundles", filepath.Join(dir, "none")}, "--bundles"},
		{[]string{"--bundles", dir, "--scenario", "http,ftp"}, `"ftp" is not an operation`},
		{[]string{"--bundles", dir, "--ramp", "fast"}, "--ramp"},
		{[]string{"--bundles", dir, "--ramp", "0/s"}, "--ramp"},
		{[]string{"--bundles", dir, "--devices", "-1"}, "--devices"},
		{[]string{"--bundles", dir, "--max-error-rate", "2"}, "--max-error-rate"},
		{[]string{"--bundles", dir, "--broker-ca", filepath.Join(dir, "none.pem")}, "--broker-ca"},
		{[]string{"--bundles", dir, "--output", "yaml"}, "--output"},
	} {
		args := append([]string{"fleet"}, c.args...)
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(args, " "), err, c.want)
		}
	}
}

// The run's own checks name the flag too (they need bundles to get there).
func TestFleetOptionErrors(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	stop()
	bundles := filepath.Join(dir, "fleet")
	if out, err := run("device", "create", "--data-dir", data, "--count", "2", "--out", bundles); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--devices", "3"}, "--devices 3: only 2 bundles"},
		{[]string{"--rate", "10"}, "needs --duration"},
		{[]string{"--duration", "1s"}, "--duration needs --rate"},
		{[]string{"--scenario", "http"}, "--url"},
		{[]string{"--scenario", "mqtt"}, "--broker"},
		{[]string{"--scenario", "mqtt", "--broker", "nohost"}, "--broker"},
	} {
		args := append([]string{"fleet", "--bundles", bundles, "--quiet"}, c.args...)
		if _, err := run(args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(args, " "), err, c.want)
		}
	}
	out, err := run("fleet", "--help")
	if err != nil || !strings.Contains(out, "mvnet fleet --bundles ./fleet --scenario logs") || !strings.Contains(out, "Exit status") {
		t.Fatalf("fleet --help: %v\n%s", err, out)
	}
}
