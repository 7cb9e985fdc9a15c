package runner

import (
	"bytes"
	"context"
	"errors"
	"github.com/mvnet/mvnet/internal/testenv/poll"
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
echo '{"t":1300,"kind":"syscall","call":"mvGetHClk","args":{"hz":"0x7ffc10"},"status":"MV_STATUS_OKAY","out":{"hz":160000000}}' >> "$MVNET_TRACE"
echo '{"t":1400,"kind":"syscall","call":"mvGetNetworkStatus","args":{"handle":"0x5f0c2d11","status":"0x7ffc18"},"status":"MV_STATUS_OKAY","out":{"status":"MV_NETWORKSTATUS_CONNECTED"}}' >> "$MVNET_TRACE"
echo "resolve=$MVNET_RESOLVE allow=$MVNET_ALLOW ca=$(cat "$MVNET_CA_FILE" | head -c 7) linebuf=$MVNET_STDOUT_LINEBUF update=$MVNET_UPDATE_SIGNAL."
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
	writeCA(t, ca)
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
	if got := stdout.String(); !strings.Contains(got, "resolve=a.test:443:127.0.0.1,b.test:443:127.0.0.2 allow=127.0.0.0/8 ca=-----BE linebuf=1 update=.") {
		t.Errorf("application saw %q", got)
	}
	for _, want := range []string{
		"device UV0123456789abcdef0123456789abcdef started",
		"mvSetupNotifications(handle_out=0x20 notifications=0x10) → MV_STATUS_OKAY  handle_out=0x2c41e0a7",
		"⚡ MV_EVENTTYPE_NETWORKSTATUSCHANGED tag=7 (IRQ 51, slot 0)",
		"↳ TIM8_BRK_IRQHandler",
		"mvGetHClk(hz=0x7ffc10) → MV_STATUS_OKAY  hz=160000000",
		"mvGetNetworkStatus(handle=0x5f0c2d11 status=0x7ffc18) → MV_STATUS_OKAY  status=MV_NETWORKSTATUS_CONNECTED",
		"exit 3",
	} {
		if !strings.Contains(transcript.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, transcript.String())
		}
	}
	if b, err := os.ReadFile(keep); err != nil || strings.Count(string(b), "\n") != 7 {
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

// TestUpdateAfterSendsSIGUSR1: --update-after counts from the library's
// start line. The application below installs its SIGUSR1 handler 0.6 s
// after it starts, then writes the start line, as the library does; a
// signal sent 0.1 s after the process started would kill it.
func TestUpdateAfterSendsSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	script := `#!/bin/sh
sleep 0.6
[ "$MVNET_UPDATE_SIGNAL" = 1 ] || { echo "MVNET_UPDATE_SIGNAL=$MVNET_UPDATE_SIGNAL"; exit 2; }
trap 'echo got-update; exit 0' USR1
echo '{"t":1,"kind":"start","device":"UV0","pid":1,"restarts":0}' >> "$MVNET_TRACE"
i=0
while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exit 1
`
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	err := Run(context.Background(), Options{App: app, UpdateAfter: 100 * time.Millisecond, Stdout: &stdout, Stderr: &stdout})
	if err != nil || !strings.Contains(stdout.String(), "got-update") {
		t.Fatalf("Run = %v, output %q: the application did not get SIGUSR1 after its start line", err, stdout.String())
	}
}

// TestUpdateAfterWaitsForStart: no start line, no signal.
func TestUpdateAfterWaitsForStart(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	script := "#!/bin/sh\ntrap 'echo got-update; exit 0' USR1\nsleep 0.5\nexit 0\n"
	if err := os.WriteFile(app, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	err := Run(context.Background(), Options{App: app, UpdateAfter: 50 * time.Millisecond, Stdout: &stdout, Stderr: &stdout})
	if err != nil || strings.Contains(stdout.String(), "got-update") {
		t.Fatalf("Run = %v, output %q: SIGUSR1 was sent before any start line", err, stdout.String())
	}
}

// TestUpdateAfterSkipsRestart: when the time comes between a restart line
// and the next start line, the signal waits for the new image's start.
func TestUpdateAfterSkipsRestart(t *testing.T) {
	var sent int
	u := &updater{after: 10 * time.Millisecond, send: func() { sent++ }}
	u.lifecycle("start")
	u.lifecycle("restart")
	// Wait for the timer to have fired (it marks the signal due) rather
	// than sleeping and hoping it has.
	poll.Until(t, "the update timer to fire", func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.due
	})
	u.mu.Lock()
	if sent != 0 {
		t.Fatalf("sent %d while restarting", sent)
	}
	u.mu.Unlock()
	u.lifecycle("start")
	u.lifecycle("start")
	u.stop()
	if sent != 1 {
		t.Fatalf("sent %d times, want once", sent)
	}
}

// TestFormatNumbersExactly: numbers keep their digits; a line without an
// exit status and the truncated line read sensibly.
func TestFormatNumbersExactly(t *testing.T) {
	for line, want := range map[string]string{
		`{"t":1500,"kind":"syscall","call":"mvGetSysClk","args":{"hz":"0x10"},"status":"MV_STATUS_OKAY","out":{"hz":160000000}}`:                                      "hz=160000000",
		`{"t":1500,"kind":"syscall","call":"mvGetMicroseconds","args":{"microseconds":"0x10"},"status":"MV_STATUS_OKAY","out":{"microseconds":18446744073709551615}}`: "microseconds=18446744073709551615",
		`{"t":123456789,"kind":"exit"}`:                                                   "123456.789 ms  exit",
		`{"t":5,"kind":"truncated","max":67108864}`:                                       "MVNET_TRACE_MAX=67108864 bytes",
		`{"t":5,"kind":"gpio","op":"write","pin":5,"level":1}`:                            "gpio level=1 op=write pin=5",
		`{"t":5,"kind":"link-error","text":"cannot reach the cloud: x"}`:                  "⚠ link: cannot reach the cloud: x",
		`{"t":5,"kind":"link-up","text":"link up"}`:                                       "✓ link up",
		`{"t":5,"kind":"diagnostic","channel":"0x2a","text":"connection refused by a:1"}`: "ℹ cloud, channel 0x2a: connection refused by a:1",
	} {
		if got := Format(line); !strings.Contains(got, want) {
			t.Errorf("Format(%s) = %q, want %q in it", line, got, want)
		}
	}
}

func TestBundlePassedToTheApplication(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\necho \"bundle=$MVNET_BUNDLE\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	bundle := filepath.Join(dir, "b.json")
	writeBundle(t, bundle)
	var stdout bytes.Buffer
	if err := Run(context.Background(), Options{App: app, Bundle: bundle, Stdout: &stdout, Stderr: &stdout}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "bundle="+bundle) {
		t.Fatalf("the application saw %q", stdout.String())
	}
}
