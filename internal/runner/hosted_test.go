package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/cliconfig"
)

// envApp prints the library's settings it was given and exits 0.
const envApp = `#!/bin/sh
echo "bundle=${MVNET_BUNDLE:+set} id=$MVNET_DEVICE_ID allow=$MVNET_ALLOW resolve=$MVNET_RESOLVE ca=$MVNET_CA_FILE plain=$MVNET_MQTT_PLAINTEXT config=$MVNET_CONFIG_FILE update=$MVNET_UPDATE_SIGNAL."
`

// TestHostedAPIAndEnvironment: with --api the hosted cloud serves its REST
// API (reachable with the printed credentials, which know the device),
// --api-env writes the export lines a shell sources, and the application
// runs joined (MVNET_BUNDLE) without the settings that now belong to the
// hosted cloud.
func TestHostedAPIAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	app := filepath.Join(dir, "app")
	if err := os.WriteFile(app, []byte(envApp), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MVNET_CONFIG_FILE", "")
	apiEnv := filepath.Join(dir, "run.env")
	// An earlier run's file is not what a script waiting for this one's
	// reads.
	if err := os.WriteFile(apiEnv, []byte("export MVNET_CLOUD=stale\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var during []byte
	const dev = "UV00000000000000000000000000000a11"
	var out, errOut bytes.Buffer
	var got int
	var devices string
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := Run(ctx, Options{
		App: app, DeviceID: dev, API: "127.0.0.1:0", APIEnv: apiEnv,
		Allow: []string{"127.0.0.0/8"}, Resolve: []string{"a.test:443:127.0.0.1"}, MQTTPlaintext: true, UpdateAfter: time.Hour,
		Stdout: &out, Stderr: &errOut,
		OnHosted: func(h *Hosted) error {
			var err error
			if during, err = os.ReadFile(apiEnv); err != nil {
				return err
			}
			req, err := http.NewRequestWithContext(ctx, "GET", h.Node.APIURL+"/v1/Devices/"+dev, nil)
			if err != nil {
				return err
			}
			req.SetBasicAuth(h.Account, h.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			got = resp.StatusCode
			var d struct {
				Sid string `json:"sid"`
			}
			err = json.NewDecoder(resp.Body).Decode(&d)
			devices = d.Sid
			return err
		},
	})
	if err != nil {
		t.Fatalf("Run = %v\n%s", err, errOut.String())
	}
	if got != http.StatusOK || devices != dev {
		t.Errorf("GET /v1/Devices/%s on the hosted API: %d, sid %q", dev, got, devices)
	}
	if want := "bundle=set id=" + dev + " allow= resolve= ca= plain= config= update=."; !strings.Contains(out.String(), want) {
		t.Errorf("the application saw %q, want %q", out.String(), want)
	}
	b := during
	if _, err := os.Stat(apiEnv); err == nil {
		t.Error("the --api-env file outlives the run")
	}
	if !strings.Contains(errOut.String(), string(b)) || !strings.Contains(errOut.String(), "hosted cloud API http://127.0.0.1:") {
		t.Errorf("stderr lacks the API line and the export lines %q:\n%s", b, errOut.String())
	}
	// A shell sourcing the file has the CLI's settings and the device.
	if err := os.WriteFile(apiEnv, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", fmt.Sprintf(". %s && echo \"$%s $%s $%s $%s\"", apiEnv, cliconfig.EnvURL, cliconfig.EnvAccountSid, cliconfig.EnvAuthToken, EnvDevice))
	vals, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(vals))
	if len(f) != 4 || !strings.HasPrefix(f[0], "http://127.0.0.1:") || !strings.HasPrefix(f[1], "AC") || f[2] == "" || f[3] != dev {
		t.Errorf("sourcing %s gives %q", apiEnv, vals)
	}
}

// Hosted mode refuses --bundle (another cloud), and --api-env needs --api.
func TestHostedRefusals(t *testing.T) {
	dir := t.TempDir()
	app, marker := markerApp(t, dir)
	bundle := filepath.Join(dir, "b.json")
	writeBundle(t, bundle)
	err := Run(context.Background(), Options{App: app, Bundle: bundle, Hosted: true})
	if err == nil || !strings.Contains(err.Error(), "--bundle") {
		t.Errorf("hosted with a bundle: %v", err)
	}
	err = Run(context.Background(), Options{App: app, APIEnv: filepath.Join(dir, "env")})
	if err == nil || !strings.Contains(err.Error(), "--api-env needs --api") {
		t.Errorf("--api-env without --api: %v", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the application started")
	}
}

// The transcript renders fault lines; Observe's SyscallStatus reads a
// system call's status, also from a repeat line.
func TestFaultLineAndSyscallStatus(t *testing.T) {
	for line, want := range map[string]string{
		`{"t":1500,"kind":"fault","phase":"start","id":"FT01","fault":"link-flap period=2s"}`:     "    1.500 ms  fault  start  link-flap period=2s  (FT01)",
		`{"t":2500,"kind":"fault","phase":"end","id":"FT01","fault":"link-drop","why":"expired"}`: "    2.500 ms  fault  end  link-drop  (FT01)  expired",
		`{"t":2500,"kind":"serverlog","seq":3,"line":"hello"}`:                                    "    2.500 ms  serverlog line=hello", // seq: random per boot, left out
	} {
		if got := Format(line); got != want {
			t.Errorf("Format(%s)\n = %q\nwant %q", line, got, want)
		}
	}
	call, st, ok := SyscallStatus(`{"t":9,"kind":"repeat","count":3,"first":1,"last":9,"event":{"kind":"syscall","call":"mvGetNetworkStatus","status":"MV_STATUS_OKAY"}}`)
	if !ok || call != "mvGetNetworkStatus" || st != "MV_STATUS_OKAY" {
		t.Errorf("SyscallStatus(repeat) = %q %q %v", call, st, ok)
	}
	if _, _, ok := SyscallStatus(`{"t":9,"kind":"start"}`); ok {
		t.Error("SyscallStatus(start) ok")
	}
	if seq, ok := serverLogSeq(`{"t":9,"kind":"syscall","call":"mvServerLog","status":"MV_STATUS_OKAY","seq":18446744073709551615}`); !ok || seq != 1<<64-1 {
		t.Errorf("serverLogSeq = %d %v, want the call's seq", seq, ok)
	}
	if _, ok := serverLogSeq(`{"t":9,"kind":"syscall","call":"mvServerLog","status":"MV_STATUS_LOGGINGDISABLEDBYSERVER"}`); ok {
		t.Error("serverLogSeq of a call that did not return OKAY: ok")
	}
}

// A --json run prints the runner's own lines (fault, serverlog) as the
// JSON lines they are, among the library's, and keeps them in --trace.
func TestInjectedLinesRawAndKept(t *testing.T) {
	var transcript, keep bytes.Buffer
	d := &demux{transcript: &transcript, keep: &keep, raw: true, obs: newObservers(nil)}
	d.feed(`{"t":100,"kind":"start","device":"UV0","pid":1,"restarts":0}` + "\n")
	line := `{"t":150,"kind":"fault","phase":"start","id":"FT01","fault":"link-drop"}`
	d.injectAt(150, line)
	if got := transcript.String(); !strings.HasSuffix(got, line+"\n") {
		t.Errorf("--json transcript:\n%s", got)
	}
	if !strings.HasSuffix(keep.String(), line+"\n") {
		t.Errorf("kept trace:\n%s", keep.String())
	}
	if n := d.now(); n < 100 {
		t.Errorf("now() = %d µs, want at least the start line's t (100)", n)
	}
}
