package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --mqtt-plaintext (Options.MQTTPlaintext) reaches the application as
// MVNET_MQTT_PLAINTEXT=1, and only when asked; with a bundle it is refused
// naming the flag (the running cloud decides).
func TestMQTTPlaintextPassedToTheApplication(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\necho \"plaintext=$MVNET_MQTT_PLAINTEXT.\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MVNET_MQTT_PLAINTEXT", "")
	for _, on := range []bool{false, true} {
		var stdout bytes.Buffer
		if err := Run(context.Background(), Options{App: app, MQTTPlaintext: on, Stdout: &stdout, Stderr: &stdout}); err != nil {
			t.Fatal(err)
		}
		want := "plaintext=."
		if on {
			want = "plaintext=1."
		}
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("MQTTPlaintext %v: the application saw %q, want %q", on, stdout.String(), want)
		}
	}
	bundle := filepath.Join(dir, "b.json")
	writeBundle(t, bundle)
	err := Run(context.Background(), Options{App: app, Bundle: bundle, MQTTPlaintext: true})
	if err == nil || !strings.Contains(err.Error(), "--mqtt-plaintext") {
		t.Fatalf("--mqtt-plaintext with --bundle: err = %v, want one naming --mqtt-plaintext", err)
	}
}
