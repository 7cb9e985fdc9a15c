package node

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/kernel"
)

// A node serves devices and its REST API; Customize sees the cloud's
// options before cloud.New; CreateDevice registers the device and issues a
// bundle naming the node's address, which the API then knows.
func TestNodeStartsCreatesDevicesAndServesAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	customized := false
	n, err := Start(ctx, Options{
		DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0", ListenAPI: "127.0.0.1:0",
		Customize: func(o *cloud.Options) { customized = o.Registry != nil && o.Config != nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if !customized {
		t.Error("Customize did not see the cloud's options")
	}
	account, token, created, err := n.EnsureAccount(ctx)
	if err != nil || !created || token == "" {
		t.Fatalf("EnsureAccount = %q, %q, %v, %v", account, token, created, err)
	}
	id := kernel.NewDeviceID()
	b, err := n.CreateDevice(ctx, id, "sensor-1")
	if err != nil {
		t.Fatal(err)
	}
	if b.DeviceSid != id || b.UniqueName != "sensor-1" || b.CloudAddress != n.Devices.String() || b.CloudAddress != n.Advertise {
		t.Errorf("bundle %s %s %s, node at %s", b.DeviceSid, b.UniqueName, b.CloudAddress, n.Devices)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", n.APIURL+"/v1/Devices/sensor-1", nil)
	req.SetBasicAuth(account, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/Devices/sensor-1: %d", resp.StatusCode)
	}
	n.Close()
	select {
	case err := <-n.Served():
		if err != cloud.ErrShutdown {
			t.Errorf("served: %v, want cloud.ErrShutdown", err)
		}
	case <-ctx.Done():
		t.Fatal("the device listener did not end with Close")
	}
}

// A node that cannot start leaves nothing running: its data directory can
// be opened again at once, and the error names the setting.
func TestNodeStartFailureUndoes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	busy, err := Start(ctx, Options{DataDir: t.TempDir(), ListenDevices: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = Start(ctx, Options{DataDir: dir, ListenDevices: "127.0.0.1:0", ListenAPI: busy.Devices.String()})
	if err == nil || !strings.Contains(err.Error(), "--listen-api") {
		t.Fatalf("Start with a taken API address: %v", err)
	}
	n, err := Start(ctx, Options{DataDir: dir, ListenDevices: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("the data directory after a failed start: %v", err)
	}
	n.Close()
	if _, err := Start(ctx, Options{DataDir: dir, ListenDevices: "nowhere"}); err == nil || !strings.Contains(err.Error(), "--listen-devices") {
		t.Errorf("bad --listen-devices: %v", err)
	}
}
