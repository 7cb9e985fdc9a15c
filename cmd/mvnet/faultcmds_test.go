package main

// mvnet fault … against `mvnet cloud serve` run in-process, with a real
// device joined to it over TLS with its credential bundle.

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/faultstest"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// cliDoor reaches a device's faults through `mvnet fault`.
type cliDoor struct{ device string }

func (d cliDoor) Apply(kind string, params map[string]string) (apiclient.Fault, error) {
	args := []string{"fault", "apply", d.device, kind, "--output", "json"}
	for k, v := range params {
		args = append(args, k+"="+v)
	}
	var f apiclient.Fault
	out, err := run(args...)
	if err == nil {
		err = json.Unmarshal([]byte(out), &f)
	}
	return f, err
}

func (d cliDoor) List() ([]apiclient.Fault, error) {
	var l []apiclient.Fault
	out, err := run("fault", "list", d.device, "--output", "json")
	if err == nil {
		err = json.Unmarshal([]byte(out), &l)
	}
	return l, err
}

func (d cliDoor) Clear(sid string) error {
	out, err := run("fault", "clear", d.device, sid)
	if err == nil && out != "cleared "+sid+"\n" {
		err = fmt.Errorf("clear printed %q", out)
	}
	return err
}

func (d cliDoor) ClearKind(kind string) (int, error) {
	args := []string{"fault", "clear", d.device, "--all"}
	if kind != "" {
		args = []string{"fault", "clear", d.device, "--kind", kind}
	}
	out, err := run(args...)
	if err != nil {
		return 0, err
	}
	var n int
	if _, err := fmt.Sscanf(out, "cleared %d fault(s)\n", &n); err != nil {
		return 0, fmt.Errorf("clear printed %q", out)
	}
	return n, nil
}

// faultCloud runs `mvnet cloud serve` (credentials saved for the CLI;
// MQTT connects plain, to a Mosquitto of the test's own), creates device
// "pump-7" through it and joins the device; it returns the rig and the
// device's SID.
func faultCloud(t *testing.T) (*faultstest.Rig, string) {
	t.Helper()
	isolateCLI(t)
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(web.Close)
	broker := mosquitto.Start(t, mosquitto.Options{})
	dir := t.TempDir()
	caFile := filepath.Join(dir, "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0", "--allow", "127.0.0.0/8", "--ca-file", caFile, "--mqtt-plaintext")
	bundle := filepath.Join(dir, "dev.json")
	if out, err := run("device", "create", "--data-dir", data, "--unique-name", "pump-7", "--out", bundle); err != nil {
		t.Fatalf("device create: %v\n%s", err, out)
	}
	b, err := device.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	return faultstest.Join(t, device.Options{DeviceID: b.DeviceSid, Dial: dial}, web.URL, broker.Addr), b.DeviceSid
}

// TestFaultCLI: every kind applied, listed and cleared with `mvnet fault`,
// every kind's effect on the device asserted through the ABI, and the
// text output, against a running cloud.
func TestFaultCLI(t *testing.T) {
	rig, sid := faultCloud(t)
	t.Run("every kind", func(t *testing.T) { faultstest.EveryKind(t, rig, cliDoor{"pump-7"}) })
	t.Run("effects", func(t *testing.T) { faultstest.Effects(t, rig, cliDoor{sid}) })

	// Text output: the SID and the fault as applied; list shows it.
	out, err := run("fault", "apply", "pump-7", "link-flap", "period=1h", "duty=0.25", "for=1h")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	fsid, rest, _ := strings.Cut(strings.TrimSpace(out), "  ")
	if !strings.HasPrefix(fsid, "FT") || rest != "link-flap period=1h0m0s duty=0.25 for=1h0m0s  (applied)" {
		t.Fatalf("apply printed %q", out)
	}
	// Its first period starts down: the device sees its link go, and its
	// redials are refused while the flap is in force. Waiting for it here
	// keeps the drop, which the cloud carries out after apply answers,
	// from landing after the clear below.
	rig.WaitNetwork(t, abi.NetworkStatusConnecting)
	out, err = run("fault", "list", "pump-7")
	if err != nil || !strings.Contains(out, "SID") || !strings.Contains(out, fsid) || !strings.Contains(out, "link-flap period=1h0m0s") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := run("fault", "clear", "pump-7", fsid); err != nil || out != "cleared "+fsid+"\n" {
		t.Fatalf("clear: %v %q", err, out)
	}
	if out, err := run("fault", "list", "pump-7"); err != nil || out != "no faults in force on pump-7\n" {
		t.Fatalf("list after clear: %v %q", err, out)
	}
	// Update acts once the device is back.
	rig.WaitNetwork(t, abi.NetworkStatusConnected)
	poll.Until(t, "the device back after the link-flap", func() bool {
		out, err = run("fault", "apply", "pump-7", "update", "description=v3")
		return err == nil || !strings.Contains(err.Error()+out, "not connected")
	})
	if err != nil || !strings.HasSuffix(out, `update description="v3"  (done)`+"\n") {
		t.Fatalf("apply update: %v %q", err, out)
	}

	// Errors the cloud finds name the problem.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fault", "apply", "nobody", "link-drop"}, "no device with that SID or UniqueName"},
		{[]string{"fault", "list", "nobody"}, "no device"},
		{[]string{"fault", "clear", "pump-7", "FT00000000000000000000000000000000"}, "no fault"},
		{[]string{"fault", "apply", "pump-7", "channel-close", "channel=7"}, "no open channel"},
		{[]string{"fault", "list", "pump-7", "--auth-token", "wrong"}, "HTTP 401"},
	} {
		if out, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mvnet %s: %v, want an error mentioning %q\n%s", strings.Join(tc.args, " "), err, tc.want, out)
		}
	}
}

// TestFaultCLIArguments: mistakes found before any cloud is reached name
// the problem and fail.
func TestFaultCLIArguments(t *testing.T) {
	isolateCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"fault", "apply", "pump-7", "link-wobble"}, `unknown fault kind "link-wobble"`},
		{[]string{"fault", "apply", "pump-7", "link-flap", "period"}, `"period": parameters are key=value`},
		{[]string{"fault", "apply", "pump-7", "link-flap", "=2s"}, "parameters are key=value"},
		{[]string{"fault", "apply", "pump-7", "link-flap", "period=1s", "period=2s"}, "given twice"},
		{[]string{"fault", "apply", "pump-7", "link-flap", "perod=2s"}, `unknown parameter "perod"`},
		{[]string{"fault", "apply", "pump-7", "link-flap", "period=soon"}, "not a duration"},
		{[]string{"fault", "apply", "pump-7", "link-flap"}, "missing parameter period"},
		{[]string{"fault", "apply", "pump-7"}, "Usage: mvnet fault apply DEVICE KIND"},
		{[]string{"fault", "clear", "pump-7"}, "a FAULT_SID, --all or --kind KIND"},
		{[]string{"fault", "clear", "pump-7", "FT1", "--all"}, "exactly one"},
		{[]string{"fault", "clear", "pump-7", "--kind", "wobble"}, `--kind "wobble": unknown fault kind`},
		{[]string{"fault", "wobble"}, `unknown command "wobble"`},
		{[]string{"fault", "list", "pump-7"}, "MVNET_CLOUD"}, // no cloud configured
	} {
		if out, err := run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mvnet %s: %v, want an error mentioning %q\n%s", strings.Join(tc.args, " "), err, tc.want, out)
		}
	}
}

// TestFaultKindsAndHelp: `mvnet fault kinds` lists every kind (text and
// JSON) and the help teaches with examples and points to the guide.
func TestFaultKindsAndHelp(t *testing.T) {
	out, err := run("fault", "kinds")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range faults.Kinds() {
		acts := "lasting"
		if k.OneShot {
			acts = "one-shot"
		}
		if !strings.Contains(out, string(k.Kind)+" ") || !strings.Contains(out, acts) {
			t.Errorf("fault kinds lacks %s (%s):\n%s", k.Kind, acts, out)
		}
	}
	if !strings.Contains(out, "period*") {
		t.Errorf("fault kinds does not mark required parameters:\n%s", out)
	}
	out, err = run("fault", "kinds", "--output", "json")
	var kinds []kindJSON
	if err != nil || json.Unmarshal([]byte(out), &kinds) != nil || len(kinds) != len(faults.Kinds()) {
		t.Fatalf("fault kinds --output json: %v\n%s", err, out)
	}
	out, err = run("fault", "apply", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"link-flap period=2s", "http-status url=", "mqtt-refuse reason-code=135", "docs/fault-injection.md", "MVNET_CLOUD"} {
		if !strings.Contains(out, want) {
			t.Errorf("fault apply --help lacks %q:\n%s", want, out)
		}
	}
}
