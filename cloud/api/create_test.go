package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mvnet/mvnet/cloud/store"
)

func TestCreateDevice(t *testing.T) {
	var issued atomic.Int32
	e := newEnvWith(t, func(ctx context.Context, id string) ([]byte, error) {
		issued.Add(1)
		return json.Marshal(map[string]string{"device_sid": id, "private_key": "KEY " + id})
	})

	// A generated SID and a UniqueName.
	r := e.want(e.do("POST", "/v1/Devices", fv("UniqueName", "sensor-1")), http.StatusCreated)
	dev, _ := r.body["device"].(map[string]any)
	bundle, _ := r.body["bundle"].(map[string]any)
	sid, _ := dev["sid"].(string)
	if !strings.HasPrefix(sid, "UV") || len(sid) != 34 || dev["unique_name"] != "sensor-1" || dev["logging_enabled"] != true {
		t.Fatalf("device %v", dev)
	}
	if bundle["device_sid"] != sid || bundle["private_key"] != "KEY "+sid {
		t.Fatalf("bundle %v, want the issued one for %s", bundle, sid)
	}
	d, err := e.st.GetDevice(context.Background(), "sensor-1")
	if err != nil || d.Sid != sid {
		t.Fatalf("store: %+v, %v", d, err)
	}
	e.want(e.do("GET", "/v1/Devices/sensor-1", nil), http.StatusOK)

	// A given DeviceId, no name.
	r = e.want(e.do("POST", "/v1/Devices", fv("DeviceId", devID(7))), http.StatusCreated)
	if dev, _ := r.body["device"].(map[string]any); dev["sid"] != devID(7) || dev["unique_name"] != nil {
		t.Fatalf("device %v", dev)
	}
	// No body at all.
	e.want(e.do("POST", "/v1/Devices", nil), http.StatusCreated)
	if n := issued.Load(); n != 3 {
		t.Fatalf("%d bundles issued, want 3", n)
	}

	// Conflicts and bad input write nothing and issue nothing.
	before, _ := e.st.ListDevices(context.Background(), store.Page{})
	e.wantErr(e.do("POST", "/v1/Devices", fv("UniqueName", "sensor-1")), http.StatusConflict, "UniqueName", "unique")
	e.wantErr(e.do("POST", "/v1/Devices", fv("DeviceId", devID(7))), http.StatusConflict, "DeviceId", "already registered")
	e.wantErr(e.do("POST", "/v1/Devices", fv("DeviceId", "UV123")), http.StatusBadRequest, "DeviceId", "UV followed by 32 hex digits")
	e.wantErr(e.do("POST", "/v1/Devices", fv("DeviceId", "XX"+strings.Repeat("0", 32))), http.StatusBadRequest, "DeviceId", "UV followed by 32 hex digits")
	e.wantErr(e.do("POST", "/v1/Devices", fv("UniqueName", devID(9))), http.StatusBadRequest, "UniqueName", "must not look like a device SID")
	e.wantErr(e.do("POST", "/v1/Devices", fv("UniqueName", "")), http.StatusBadRequest, "UniqueName", "must be 1 to")
	e.wantErr(e.do("POST", "/v1/Devices", fv("Sid", devID(8))), http.StatusBadRequest, "Sid", "is not a parameter")
	after, _ := e.st.ListDevices(context.Background(), store.Page{})
	if len(after.Items) != len(before.Items) || issued.Load() != 3 {
		t.Fatalf("refused creates wrote: %d devices before, %d after; %d issued", len(before.Items), len(after.Items), issued.Load())
	}
	// Authentication is required.
	e.want(e.doAuth("POST", "/v1/Devices", fv("UniqueName", "x"), "", ""), http.StatusUnauthorized)
}

func TestCreateDeviceWithoutIssuer(t *testing.T) {
	e := newEnv(t)
	e.wantErr(e.do("POST", "/v1/Devices", fv("UniqueName", "sensor-1")), http.StatusNotImplemented, "", "cannot issue device credentials")
	if _, err := e.st.GetDevice(context.Background(), "sensor-1"); err == nil {
		t.Fatal("a 501 registered the device")
	}
	// Input is still checked first.
	e.wantErr(e.do("POST", "/v1/Devices", fv("DeviceId", "UV1")), http.StatusBadRequest, "DeviceId", "UV followed")
}
