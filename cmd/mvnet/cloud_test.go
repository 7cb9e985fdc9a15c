package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/device"
	"github.com/nats-io/nats-server/v2/server"
)

// startCloud runs `mvnet cloud serve args…` in-process until the test
// ends or stop is called; it returns once the device listener is up.
func startCloud(t *testing.T, args ...string) (stop func(), out *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out = &syncBuffer{}
	var errOut syncBuffer
	root := newRoot()
	root.SetOut(out)
	root.SetErr(&errOut)
	if !slices.Contains(args, "--listen-api") {
		args = append(args, "--listen-api", "127.0.0.1:0")
	}
	root.SetArgs(append([]string{"cloud", "serve"}, args...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	// "data" is the last line serveCloud prints once it listens.
	for !strings.Contains(out.String(), "data     ") {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("mvnet cloud serve ended before listening: %v\n%s%s", err, out.String(), errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("mvnet cloud serve not listening after 30s:\n%s%s", out.String(), errOut.String())
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("mvnet cloud serve: %v\n%s", err, errOut.String())
				}
			case <-time.After(30 * time.Second):
				t.Error("mvnet cloud serve did not stop within 30s of its context's end")
			}
		})
	}
	t.Cleanup(stop)
	return stop, out
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestCloudServeAndDeviceJoin(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the web")
	}))
	t.Cleanup(web.Close)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	addr := freePort(t)
	args := []string{"--data-dir", data, "--listen-devices", addr, "--allow", "127.0.0.0/8", "--ca-file", caFile}

	// First start: creates the device CA and records the address.
	stop, first := startCloud(t, args...)
	account, token := field(first.String(), "account"), field(first.String(), "token")
	if !strings.HasPrefix(account, "AC") || token == "" {
		t.Fatalf("first start shows no account credentials:\n%s", first.String())
	}
	caPEM, err := os.ReadFile(filepath.Join(data, devcaDir, devca.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	// While it runs, the embedded store is the cloud's alone: without CLI
	// credentials for its REST API, device create is refused.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	bundle := filepath.Join(dir, "dev.json")
	if _, err := run("device", "create", "--data-dir", data, "--out", bundle); err == nil || !strings.Contains(err.Error(), "running") {
		t.Fatalf("device create with the cloud running: %v, want the data directory locked", err)
	}
	stop()

	out, err := run("device", "create", "--data-dir", data, "--unique-name", "sensor-1", "--out", bundle)
	if err != nil {
		t.Fatalf("device create: %v\n%s", err, out)
	}
	if _, err := run("device", "create", "--data-dir", data, "--out", bundle); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("device create over an existing bundle: %v", err)
	}
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle file: %v, %v", fi, err)
	}
	b, err := device.LoadBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if b.CloudAddress != addr || b.UniqueName != "sensor-1" || b.CloudCA != string(caPEM) {
		t.Fatalf("bundle: address %q unique name %q, CA matches %v", b.CloudAddress, b.UniqueName, b.CloudCA == string(caPEM))
	}

	// Second start on the same data directory: same CA and account (the
	// token is not shown again), the device joins.
	_, second := startCloud(t, args...)
	if field(second.String(), "account") != account || field(second.String(), "token") != "" {
		t.Fatalf("second start:\n%s", second.String())
	}
	// The REST API serves the registry.
	req, _ := http.NewRequest("GET", field(second.String(), "api")+"/v1/Devices/sensor-1", nil)
	req.SetBasicAuth(account, token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), b.DeviceSid) {
		t.Fatalf("GET /v1/Devices/sensor-1: %s %s", res.Status, body)
	}
	again, err := os.ReadFile(filepath.Join(data, devcaDir, devca.CertFile))
	if err != nil || !bytes.Equal(again, caPEM) {
		t.Fatalf("the device CA changed across a restart (err %v)", err)
	}
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: b.DeviceSid, Dial: dial,
		ReconnectDelay: time.Millisecond, MaxReconnectDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var closeOnce sync.Once // (*device.Device).Close is not idempotent
	closeDev := func() { closeOnce.Do(func() { _ = d.Close() }) }
	t.Cleanup(closeDev)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := d.Connect(ctx, 51)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := d.HTTP(ctx, n, device.HTTPRequest{Method: "GET", URL: web.URL, TimeoutMS: 5000}, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || string(resp.Body) != "hello from the web" {
		t.Fatalf("response %+v", resp)
	}
	closeDev() // one link per device: the demo below is the same device

	// mvnet demo --cloud joins the running cloud as the bundle's device.
	if out, err := run("demo", "--cloud", bundle); err == nil || !strings.Contains(err.Error(), "--url") {
		t.Fatalf("demo --cloud without --url: %v\n%s", err, out)
	}
	out, err = run("demo", "--cloud", bundle, "--url", web.URL)
	if err != nil {
		t.Fatalf("demo --cloud: %v\n%s", err, out)
	}
	for _, want := range []string{b.DeviceSid, "joined with a credential bundle", "hello from the web", "MV_HTTPRESULT_OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo --cloud transcript lacks %q:\n%s", want, out)
		}
	}
}

func TestDeviceCreateRegistersInTheStore(t *testing.T) {
	data := t.TempDir()
	stop, _ := startCloud(t, "--data-dir", data, "--listen-devices", "127.0.0.1:0")
	stop()
	out, err := run("device", "create", "--data-dir", data, "--unique-name", "meter", "--out", "-")
	if err != nil {
		t.Fatal(err)
	}
	var b device.Bundle
	if err := jsonDecode(out, &b); err != nil {
		t.Fatalf("stdout is not a bundle: %v\n%s", err, out)
	}
	st, err := store.Open(context.Background(), store.Options{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dev, err := st.GetDevice(context.Background(), "meter")
	if err != nil || dev.Sid != b.DeviceSid {
		t.Fatalf("GetDevice(meter) = %+v, %v; want %s", dev, err, b.DeviceSid)
	}
	// A taken UniqueName is refused.
	st.Close()
	if _, err := run("device", "create", "--data-dir", data, "--unique-name", "meter", "--out", "-"); err == nil || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second device named meter: %v, want ErrConflict", err)
	}
}

func TestCloudFlagsGiveClearErrors(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cloud", "serve", "--data-dir", data, "--allow", "10.0.0.0"}, "want a CIDR prefix"},
		{[]string{"cloud", "serve", "--data-dir", data, "--listen-devices", "nope"}, "--listen-devices"},
		{[]string{"device", "create", "--data-dir", data}, "no device CA"},
		{[]string{"device", "create", "--data-dir", data, "--device-id", "UV12"}, "--device-id"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mvnet %s: err = %v, want it to mention %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// field returns the first word after name on the line of out that starts
// with name, or "".
func field(out, name string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == name {
			return f[1]
		}
	}
	return ""
}

func jsonDecode(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// With an external NATS the data directory holds no store, so devices can
// be created while the cloud runs; a second node sharing the NATS, the CA
// and the secret key serves the same device.
func TestCloudServeExternalNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	node1 := t.TempDir()
	startCloud(t, "--data-dir", node1, "--listen-devices", "127.0.0.1:0", "--nats-url", ns.ClientURL())
	if _, err := os.Stat(filepath.Join(node1, "jetstream")); err == nil {
		t.Error("an external-NATS cloud made an embedded store")
	}
	// The cloud is running: device create uses the NATS it recorded.
	out, err := run("device", "create", "--data-dir", node1, "--unique-name", "shared", "--out", "-")
	if err != nil {
		t.Fatalf("device create beside a running external-NATS cloud: %v\n%s", err, out)
	}
	var b device.Bundle
	if err := jsonDecode(out, &b); err != nil {
		t.Fatal(err)
	}

	// Node 2: a copy of node 1's device CA and secret key.
	node2 := t.TempDir()
	for _, f := range []string{filepath.Join(devcaDir, devca.CertFile), filepath.Join(devcaDir, devca.KeyFile), store.SecretKeyFile} {
		data, err := os.ReadFile(filepath.Join(node1, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(node2, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(node2, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	_, out2 := startCloud(t, "--data-dir", node2, "--listen-devices", "127.0.0.1:0", "--nats-url", ns.ClientURL())
	b.CloudAddress = field(out2.String(), "devices")
	dial, err := b.Dial()
	if err != nil {
		t.Fatal(err)
	}
	d, err := device.New(device.Options{DeviceID: b.DeviceSid, Dial: dial, ReconnectDelay: time.Millisecond, MaxReconnectDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := d.Connect(ctx, 51); err != nil {
		t.Fatalf("device of node 1's bundle on node 2: %v", err)
	}
}

// TestCLIRoundTripAgainstRunningCloud: the first `cloud serve` writes the
// CLI's credentials file, and the config, secret and device commands work
// against the running cloud's REST API with nothing else given.
func TestCLIRoundTripAgainstRunningCloud(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, v := range []string{"MVNET_CLOUD", "MVNET_ACCOUNT_SID", "MVNET_AUTH_TOKEN"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	dir := t.TempDir()
	_, out := startCloud(t, "--data-dir", filepath.Join(dir, "data"), "--listen-devices", freePort(t))
	if !strings.Contains(out.String(), "credentials written to") {
		t.Fatalf("first start wrote no CLI credentials:\n%s", out.String())
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"config", "set", "broker", "mqtt.example.com"}, ""},
		{[]string{"config", "get", "broker"}, "mqtt.example.com"},
		{[]string{"config", "list"}, "broker"},
		{[]string{"secret", "set", "api-key", "hunter2"}, ""},
		{[]string{"secret", "list"}, "api-key"},
		{[]string{"config", "delete", "broker"}, ""},
		{[]string{"device", "list"}, "no devices"},
	}
	for _, s := range steps {
		got, err := run(s.args...)
		if err != nil {
			t.Fatalf("mvnet %s: %v\n%s", strings.Join(s.args, " "), err, got)
		}
		if !strings.Contains(got, s.want) {
			t.Errorf("mvnet %s printed %q, want it to contain %q", strings.Join(s.args, " "), got, s.want)
		}
		if strings.Contains(got, "hunter2") {
			t.Fatalf("mvnet %s printed the secret's value", strings.Join(s.args, " "))
		}
	}
	if _, err := run("config", "get", "broker"); err == nil {
		t.Error("config get after delete succeeded")
	}
}
