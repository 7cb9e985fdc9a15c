package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadResolveStopsBeforeAnythingStarts: a bad --resolve is reported
// before the demo starts its servers or mvnet run its application, naming
// the flag once.
func TestBadResolveStopsBeforeAnythingStarts(t *testing.T) {
	want := `--resolve "bad": no host (want host:port:addr or host:port:addr:port`
	out, err := run("demo", "--resolve", "bad")
	if err == nil || !strings.HasPrefix(err.Error(), want) || out != "" {
		t.Fatalf("mvnet demo --resolve bad: err = %v, output %q; want %s… and nothing started", err, out, want)
	}
	dir := t.TempDir()
	// mvnet cloud serve says the same, before it creates its data directory.
	data := filepath.Join(dir, "data")
	out, err = run("cloud", "serve", "--data-dir", data, "--resolve", "bad")
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("mvnet cloud serve --resolve bad: err = %v, output %q; want %s…", err, out, want)
	}
	if _, err := os.Stat(data); err == nil {
		t.Fatalf("mvnet cloud serve --resolve bad created its data directory")
	}
	marker := filepath.Join(dir, "ran")
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\ntouch '"+marker+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--resolve", "bad"}, want},
		{[]string{"--device-id", "UV12"}, `--device-id device ID "UV12": want 34 characters`},
		{[]string{"--allow", "10.0.0.0/33"}, `--allow netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{[]string{"--ca-file", app}, "--ca-file: " + app + ": no PEM certificates found"},
	} {
		args := append(append([]string{"run"}, c.args...), "--", app)
		_, err := run(args...)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want %s…", strings.Join(args, " "), err, c.want)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("mvnet %s started the application", strings.Join(args, " "))
		}
	}
}
