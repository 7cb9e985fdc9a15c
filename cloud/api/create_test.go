package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
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

// A create whose bundle cannot be issued leaves no device and the name
// free (issue 8: nothing issued may be half-done).
func TestCreateDeviceIssueFailureRollsBack(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	e := newEnvWith(t, func(ctx context.Context, id string) ([]byte, error) {
		if fail.Load() {
			return nil, errors.New("CA unavailable")
		}
		return json.Marshal(map[string]string{"device_sid": id})
	})
	e.want(e.do("POST", "/v1/Devices", fv("UniqueName", "sensor-1", "DeviceId", devID(3))), http.StatusInternalServerError)
	if l, _ := e.st.ListDevices(context.Background(), store.Page{}); len(l.Items) != 0 {
		t.Fatalf("a failed create left %+v", l.Items)
	}
	fail.Store(false)
	e.want(e.do("POST", "/v1/Devices", fv("UniqueName", "sensor-1", "DeviceId", devID(3))), http.StatusCreated)
}

// Concurrent creates claiming one UniqueName: one 201, the others 409, and
// only the winner is registered.
func TestCreateDeviceNameRace(t *testing.T) {
	e := newEnvWith(t, func(ctx context.Context, id string) ([]byte, error) {
		return json.Marshal(map[string]string{"device_sid": id})
	})
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.doQuiet("POST", "/v1/Devices", fv("UniqueName", "contested", "DeviceId", devID(10+i)))
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	l, _ := e.st.ListDevices(context.Background(), store.Page{})
	if created != 1 || len(l.Items) != 1 || l.Items[0].UniqueName != "contested" {
		t.Fatalf("statuses %v; registered %+v: want one device, named", statuses, l.Items)
	}
}

func TestDeleteDevice(t *testing.T) {
	e := newEnvWith(t, func(ctx context.Context, id string) ([]byte, error) {
		return json.Marshal(map[string]string{"device_sid": id})
	})
	e.want(e.do("POST", "/v1/Devices", fv("UniqueName", "pump-7", "DeviceId", devID(7))), http.StatusCreated)
	e.want(e.do("POST", "/v1/Devices/pump-7/Configs", fv("Key", "k", "Value", "v")), http.StatusCreated)
	r := e.do("DELETE", "/v1/Devices/pump-7", nil)
	if r.status != http.StatusNoContent || r.raw != "" {
		t.Fatalf("DELETE: %d %q", r.status, r.raw)
	}
	e.wantErr(e.do("GET", "/v1/Devices/"+devID(7), nil), http.StatusNotFound, "DeviceSid", "no such device")
	e.wantErr(e.do("DELETE", "/v1/Devices/"+devID(7), nil), http.StatusNotFound, "DeviceSid", "")
	e.wantErr(e.do("DELETE", "/v1/Devices/"+devID(7)+"?x=1", nil), http.StatusBadRequest, "x", "")
	// The name and the SID are free again, and nothing of the old device
	// is left.
	e.want(e.do("POST", "/v1/Devices", fv("UniqueName", "pump-7", "DeviceId", devID(7))), http.StatusCreated)
	if l, _ := e.st.ListConfigs(context.Background(), store.DeviceScope(devID(7)), store.Page{}); len(l.Items) != 0 {
		t.Fatalf("configs survived: %+v", l.Items)
	}
	e.want(e.doAuth("DELETE", "/v1/Devices/pump-7", nil, "", ""), http.StatusUnauthorized)
}

// doQuiet sends an authenticated request from any goroutine and returns
// its status (0 if it could not be sent).
func (e *env) doQuiet(method, path string, form url.Values) int {
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(e.sid, e.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// POST /v1/AuthToken rotates the token: the answer holds the new one, and
// the old one is refused at once although it was just verified (cached).
func TestRotateToken(t *testing.T) {
	e := newEnv(t)
	e.want(e.do("GET", "/v1/Devices", nil), http.StatusOK) // cached now
	r := e.want(e.do("POST", "/v1/AuthToken", nil), http.StatusOK)
	token, _ := r.body["auth_token"].(string)
	if r.body["account_sid"] != e.sid || len(token) != 32 || token == e.token {
		t.Fatalf("rotate answered %v", r.body)
	}
	e.want(e.do("GET", "/v1/Devices", nil), http.StatusUnauthorized)
	e.want(e.doAuth("GET", "/v1/Devices", nil, e.sid, token), http.StatusOK)
	e.want(e.doAuth("GET", "/v1/AuthToken", nil, e.sid, token), http.StatusMethodNotAllowed)
	e.want(e.doAuth("POST", "/v1/AuthToken", fv("X", "1"), e.sid, token), http.StatusBadRequest)
}
