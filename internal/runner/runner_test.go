package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeApp writes trace lines to $MVNET_TRACE as the C library would, prints
// its environment settings, and exits with status 3.
const fakeApp = `#!/bin/sh
echo '{"t":5,"kind":"start","device":"'"$MVNET_DEVICE_ID"'","pid":1,"restarts":0}' >> "$MVNET_TRACE"
echo '{"t":812,"kind":"syscall","call":"mvSetupNotifications","args":{"notifications":"0x10","handle_out":"0x20"},"status":"MV_STATUS_OKAY","out":{"handle_out":"0x2c41e0a7"}}' >> "$MVNET_TRACE"
echo '{"t":1204,"kind":"notification","irq":51,"centre":"0x2c41e0a7","slot":0,"event":"MV_EVENTTYPE_NETWORKSTATUSCHANGED","tag":7,"us":1203}' >> "$MVNET_TRACE"
echo '{"t":1230,"kind":"interrupt","irq":51,"handler":"TIM8_BRK_IRQHandler"}' >> "$MVNET_TRACE"
echo "resolve=$MVNET_RESOLVE allow=$MVNET_ALLOW ca=$(cat "$MVNET_CA_FILE" | head -c 7)"
echo '{"t":9001,"kind":"exit","status":3}' >> "$MVNET_TRACE"
exit 3
`

func TestRunPassesSettingsAndPrintsTranscript(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte(fakeApp), 0o755); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "trace.jsonl")
	var stdout, transcript bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := Run(ctx, Options{
		App: app, DeviceID: "UV0123456789abcdef0123456789abcdef",
		Resolve: []string{"a.test:443:127.0.0.1", "b.test:443:127.0.0.2"}, Allow: []string{"127.0.0.0/8"},
		CAFiles: []string{ca}, TracePath: keep,
		Stdout: &stdout, Stderr: &stdout, Transcript: &transcript,
	})
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("Run = %v, want exit status 3", err)
	}
	if got := stdout.String(); !strings.Contains(got, "resolve=a.test:443:127.0.0.1,b.test:443:127.0.0.2 allow=127.0.0.0/8 ca=-----BE") {
		t.Errorf("application saw %q", got)
	}
	for _, want := range []string{
		"device UV0123456789abcdef0123456789abcdef started",
		"mvSetupNotifications(handle_out=0x20 notifications=0x10) → MV_STATUS_OKAY  handle_out=0x2c41e0a7",
		"⚡ MV_EVENTTYPE_NETWORKSTATUSCHANGED tag=7 (IRQ 51, slot 0)",
		"↳ TIM8_BRK_IRQHandler",
		"exit 3",
	} {
		if !strings.Contains(transcript.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript.String())
		}
	}
	if b, err := os.ReadFile(keep); err != nil || strings.Count(string(b), "\n") != 5 {
		t.Errorf("kept trace: %v, %d lines", err, strings.Count(string(b), "\n"))
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	if err := Run(ctx, Options{}); err == nil || !strings.Contains(err.Error(), "no application") {
		t.Errorf("no app: %v", err)
	}
	if err := Run(ctx, Options{App: "/nonexistent/app"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/app") {
		t.Errorf("missing app: %v", err)
	}
	if err := Run(ctx, Options{App: "true", CAFiles: []string{"/nonexistent/ca.pem"}}); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestFormatLeavesForeignLinesAlone(t *testing.T) {
	if got := Format("not json"); got != "not json" {
		t.Errorf("Format = %q", got)
	}
}

func TestUpdateAfterSendsSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	script := "#!/bin/sh\ntrap 'echo got-update; exit 0' USR1\ni=0\nwhile [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\nexit 1\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	err := Run(context.Background(), Options{App: app, UpdateAfter: 300 * time.Millisecond, Stdout: &stdout, Stderr: &stdout})
	if err != nil || !strings.Contains(stdout.String(), "got-update") {
		t.Fatalf("Run = %v, output %q: the application did not get SIGUSR1", err, stdout.String())
	}
}
