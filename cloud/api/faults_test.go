package api

// The Faults resource against a real cloud (package cloud) with a real
// device (package device) joined to it: every kind through the REST door,
// the effects the device sees through the ABI, and the errors.

import (
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/faultstest"
	"github.com/mvnet/mvnet/internal/mosquitto"
)

// restDoor reaches a device's faults through the REST API (apiclient).
type restDoor struct {
	c      *apiclient.Client
	device string
}

func (d restDoor) Apply(kind string, params map[string]string) (apiclient.Fault, error) {
	return d.c.ApplyFault(context.Background(), d.device, kind, params)
}

func (d restDoor) List() ([]apiclient.Fault, error) {
	return d.c.ListFaults(context.Background(), d.device)
}

func (d restDoor) Clear(sid string) error { return d.c.ClearFault(context.Background(), d.device, sid) }

func (d restDoor) ClearKind(kind string) (int, error) {
	return d.c.ClearFaults(context.Background(), d.device, kind)
}

// faultEnv is a store, a cloud admitting the devices the store registers
// (its MQTT connects plain, to a Mosquitto of the test's own), and the API
// serving both, with device 1 registered as "pump-7". With join, the
// device is connected and its network CONNECTED.
func faultEnv(t *testing.T, join bool) (*env, *cloud.Server, *faultstest.Rig) {
	t.Helper()
	e := openEnv(t)
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(web.Close)
	broker := ""
	if join {
		broker = mosquitto.Start(t, mosquitto.Options{}).Addr
	}
	srv, err := cloud.New(cloud.Options{
		HTTP: httpexec.Options{
			AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			RootCAs:       []*x509.Certificate{web.Certificate()},
		},
		MQTT:     cloud.MQTTOptions{Plaintext: true},
		Registry: e.st, Config: e.st, Logs: e.st, Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	e.serve(New(Options{Store: e.st, Cloud: srv, Logger: quiet, Faults: srv.Faults()}), nil)
	sid := e.register(1)
	name := "pump-7"
	if _, err := e.st.UpdateDevice(context.Background(), sid, &name, nil); err != nil {
		t.Fatal(err)
	}
	if !join {
		return e, srv, &faultstest.Rig{URL: web.URL}
	}
	return e, srv, faultstest.Join(t, device.Options{DeviceID: sid, Dial: srv.Dial}, web.URL, broker)
}

func (e *env) client() *apiclient.Client {
	c, err := apiclient.New(e.srv.URL, e.sid, e.token)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// TestFaultsEveryKind: every kind of faults.Kinds() applied, listed with
// its parameters and cleared through the REST API (the device named by
// its UniqueName).
func TestFaultsEveryKind(t *testing.T) {
	e, _, rig := faultEnv(t, true)
	faultstest.EveryKind(t, rig, restDoor{e.client(), "pump-7"})
}

// TestFaultsDeviceEffects: every kind applied through the REST API does to
// the device what docs/fault-injection.md says, asserted through the ABI
// (the device named by its SID).
func TestFaultsDeviceEffects(t *testing.T) {
	e, _, rig := faultEnv(t, true)
	faultstest.Effects(t, rig, restDoor{e.client(), devID(1)})
}

func TestFaultsErrors(t *testing.T) {
	e, srv, _ := faultEnv(t, false)
	base := "/v1/Devices/" + devID(1) + "/Faults"

	e.wantErr(e.do("POST", base, fv("Kind", "link-wobble")), 400, "Kind", `unknown fault kind "link-wobble"`)
	e.wantErr(e.do("POST", base, fv("Period", "2s")), 400, "Kind", "is required")
	e.wantErr(e.do("POST", base, fv("Kind", "link-flap", "Period", "soon")), 400, "Period", "not a duration")
	e.wantErr(e.do("POST", base, fv("Kind", "link-flap", "Perod", "2s")), 400, "Perod", `unknown parameter "perod"`)
	e.wantErr(e.do("POST", base, fv("Kind", "link-flap")), 400, "period", "missing parameter period")
	e.wantErr(e.do("POST", base, fv("Kind", "http-status", "Status", "999")), 400, "Status", "not an HTTP status")
	e.wantErr(e.do("POST", base, fv("Kind", "link-flap", "Period", "2s", "period", "3s")), 400, "period", "again")
	e.wantErr(e.do("POST", base, fv("Kind", "link-drop", "Kind", "latency")), 400, "Kind", "once")
	e.wantErr(e.do("POST", base+"?Kind=link-drop", nil), 400, "", "form body")

	// A one-shot that needs the link, on a device that is not connected.
	e.wantErr(e.do("POST", base, fv("Kind", "update", "Description", "v2")), 409, "", "not connected")
	e.wantErr(e.do("POST", base, fv("Kind", "channel-close", "Channel", "7")), 409, "", "not connected")

	// Unknown device (not registered: 404, even though its ID is well
	// formed), unknown UniqueName, unknown fault.
	e.wantErr(e.do("POST", "/v1/Devices/"+devID(2)+"/Faults", fv("Kind", "link-drop")), 404, "DeviceSid", "no such device")
	e.wantErr(e.do("GET", "/v1/Devices/nobody/Faults", nil), 404, "DeviceSid", "no device with that SID or UniqueName")
	e.wantErr(e.do("GET", base+"/FT00000000000000000000000000000000", nil), 404, "FaultSid", "no fault")
	e.wantErr(e.do("DELETE", base+"/FT00000000000000000000000000000000", nil), 404, "FaultSid", "no fault")
	e.wantErr(e.do("DELETE", base+"?Kind=wobble", nil), 400, "Kind", `unknown fault kind "wobble"`)
	e.wantErr(e.do("PUT", base, nil), 405, "", "not allowed")

	// No credentials, wrong ones.
	e.want(e.doAuth("GET", base, nil, "", ""), 401)
	e.want(e.doAuth("POST", base, fv("Kind", "link-drop"), e.sid, "wrong"), 401)
	if l := srv.Faults().List(devID(1)); len(l) != 0 {
		t.Fatalf("faults in force after failed requests: %v", l)
	}
}

// TestFaultsResource: the JSON shape, PascalCase parameters, For, paging,
// clearing by kind and all, by SID and UniqueName.
func TestFaultsResource(t *testing.T) {
	e, srv, _ := faultEnv(t, false)
	base := "/v1/Devices/pump-7/Faults"

	r := e.want(e.do("POST", base, fv("Kind", "mqtt-refuse", "ReasonCode", "135", "Host", "broker.*", "For", "1h")), 201)
	f := r.body
	sid, _ := f["sid"].(string)
	if !strings.HasPrefix(sid, "FT") || f["device_sid"] != devID(1) || f["kind"] != "mqtt-refuse" || f["status"] != "active" ||
		f["spec"] != `mqtt-refuse host="broker.*" reason-code=135 for=1h0m0s` || f["applied"] == "" || f["ends"] == nil {
		t.Fatalf("applied fault %s", r.raw)
	}
	if p, _ := f["parameters"].(map[string]any); p["reason-code"] != "135" || p["host"] != "broker.*" || p["for"] != "1h0m0s" || len(p) != 3 {
		t.Fatalf("parameters %v", f["parameters"])
	}
	if u, _ := f["url"].(string); !strings.HasSuffix(u, "/v1/Devices/"+devID(1)+"/Faults/"+sid) {
		t.Fatalf("url %v", f["url"])
	}
	got := e.want(e.do("GET", base+"/"+sid, nil), 200)
	if got.body["sid"] != sid || got.body["spec"] != f["spec"] {
		t.Fatalf("GET %s: %s", sid, got.raw)
	}
	// In the injector, as the Go door sees it.
	if l := srv.Faults().List(devID(1)); len(l) != 1 || l[0].ID != sid || l[0].Spec.ReasonCode != 135 {
		t.Fatalf("injector lists %+v", l)
	}

	// snake_case and kebab-case names are ParseSpec's own.
	e.want(e.do("POST", base, fv("Kind", "latency", "delay", "1ms")), 201)
	e.want(e.do("POST", base, fv("kind", "latency", "jitter", "2ms")), 201)
	e.want(e.do("POST", base, fv("Kind", "mqtt-refuse", "reason_code", "5")), 201)

	// Paging: oldest first, two at a time.
	var sids []string
	next := base + "?PageSize=2"
	for pages := 0; next != ""; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		p := e.want(e.do("GET", next, nil), 200)
		sids = append(sids, keysOf(items(p, "faults"), "sid")...)
		next = ""
		if n, ok := p.body["meta"].(map[string]any)["next_page_url"].(string); ok {
			u, _ := url.Parse(n)
			next = u.RequestURI()
		}
	}
	if len(sids) != 4 || sids[0] != sid {
		t.Fatalf("paged list %v, want 4 faults starting with %s", sids, sid)
	}
	e.wantErr(e.do("GET", base+"?PageToken=zz", nil), 400, "PageToken", "not a token")

	// Clear by kind, one, then all.
	if c := e.want(e.do("DELETE", base+"?Kind=latency", nil), 200); c.body["cleared"] != float64(2) {
		t.Fatalf("clear latency: %s", c.raw)
	}
	e.want(e.do("DELETE", base+"/"+sid, nil), 204)
	e.wantErr(e.do("GET", base+"/"+sid, nil), 404, "FaultSid", sid)
	if c := e.want(e.do("DELETE", "/v1/Devices/"+devID(1)+"/Faults", nil), 200); c.body["cleared"] != float64(1) {
		t.Fatalf("clear all: %s", c.raw)
	}
	if l := e.want(e.do("GET", base, nil), 200); len(items(l, "faults")) != 0 {
		t.Fatalf("faults left: %s", l.raw)
	}
}

// TestFaultsWithoutInjector: an API built without Options.Faults says so.
func TestFaultsWithoutInjector(t *testing.T) {
	e := newEnv(t)
	e.register(1)
	e.wantErr(e.do("GET", "/v1/Devices/"+devID(1)+"/Faults", nil), 501, "", "serves no faults")
	e.wantErr(e.do("POST", "/v1/Devices/"+devID(1)+"/Faults", fv("Kind", "link-drop")), 501, "", "serves no faults")
}
