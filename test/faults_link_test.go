package test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/faultstest"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
)

// The link and device-service faults (cloud/faults/link.go) applied
// through the Go door, as the device sees them through the ABI, and the
// cloud's Observations.

// recorder keeps the cloud's Observations and the injector's events.
type recorder struct {
	mu     sync.Mutex
	obs    []cloud.Observation
	events []faults.Event
}

func (r *recorder) observe(o cloud.Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.obs = append(r.obs, o)
}

func (r *recorder) event(e faults.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// kinds lists the kinds of the device's observations, in order.
func (r *recorder) kinds(dev string) []cloud.ObservationKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []cloud.ObservationKind
	for _, o := range r.obs {
		if o.Device == dev {
			out = append(out, o.Kind)
		}
	}
	return out
}

// of returns the device's observations of kind k.
func (r *recorder) of(dev string, k cloud.ObservationKind) []cloud.Observation {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []cloud.Observation
	for _, o := range r.obs {
		if o.Device == dev && o.Kind == k {
			out = append(out, o)
		}
	}
	return out
}

// phases lists the fault's events as "start", "end:WHY".
func (r *recorder) phases(id string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Fault.ID == id {
			s := string(e.Phase)
			if e.Phase == faults.Ended {
				s += ":" + e.Why
			}
			out = append(out, s)
		}
	}
	return out
}

// newLinkEnv starts a cloud (with opts) whose Observations and fault
// events r records.
func newLinkEnv(t *testing.T, o cloud.Options) (*env, *recorder) {
	t.Helper()
	r := &recorder{}
	o.Observe = r.observe
	e := &env{cloud: testenv.NewCloud(t, o)}
	t.Cleanup(e.cloud.Faults().Subscribe(r.event))
	return e, r
}

// relink drops v's link and waits until v is CONNECTING, then restores it
// and waits until v is CONNECTED again on a new link.
func (e *env) relink(t *testing.T, v *dev) {
	t.Helper()
	id := v.d.ID()
	if err := e.cloud.Faults().DropLink(id); err != nil {
		t.Fatal(err)
	}
	v.waitNetStatus(abi.NetworkStatusConnecting)
	if err := e.cloud.Faults().RestoreLink(id); err != nil {
		t.Fatal(err)
	}
	v.waitNetStatus(abi.NetworkStatusConnected)
}

// quickRedial makes a device redial fast, so that it is back within a
// flap's up phase.
var quickRedial = device.Options{ReconnectDelay: 2 * time.Millisecond, MaxReconnectDelay: 20 * time.Millisecond}

// apply applies the fault kind with params (ParseSpec's names) to dev.
func apply(t *testing.T, c *cloud.Server, dev string, kind faults.Kind, params map[string]string) faults.Fault {
	t.Helper()
	s, err := faults.ParseSpec(string(kind), params)
	if err != nil {
		t.Fatal(err)
	}
	f, err := c.Faults().Apply(dev, s)
	if err != nil {
		t.Fatalf("Apply(%s): %v", s, err)
	}
	return f
}

// TestFaultLinkFlap: the device's network goes CONNECTING and CONNECTED
// again and again while a link-flap is in force, and stays up once it is
// cleared; another device's link is never touched.
func TestFaultLinkFlap(t *testing.T) {
	t.Parallel()
	e, r := newLinkEnv(t, cloud.Options{})
	v := e.newDevWith(t, quickRedial)
	other := e.newDev(t)
	id := v.d.ID()
	f := apply(t, e.cloud, id, "link-flap", map[string]string{"period": "600ms"})
	for range 2 {
		v.waitNetStatus(abi.NetworkStatusConnecting)
		v.waitNetStatus(abi.NetworkStatusConnected)
	}
	if err := e.cloud.Faults().Clear(id, f.ID); err != nil {
		t.Fatal(err)
	}
	v.waitNetStatus(abi.NetworkStatusConnected)
	if e.cloud.Faults().LinkDropped(id) {
		t.Error("LinkDropped after the flap was cleared")
	}
	if got := r.phases(f.ID); !slices.Equal(got, []string{"start", "end:cleared"}) {
		t.Errorf("fault events %q, want start, end:cleared", got)
	}
	if n := len(r.of(id, cloud.ObserveLinkDown)); n < 2 {
		t.Errorf("%d link-down observations for the flapping device, want at least 2", n)
	}
	if got := r.kinds(other.d.ID()); !slices.Equal(got, []cloud.ObservationKind{cloud.ObserveLinkUp}) {
		t.Errorf("the other device's observations: %q, want only its link-up", got)
	}
	if s := other.netStatus(); s != abi.NetworkStatusConnected {
		t.Errorf("other device: network %s", s)
	}
}

// TestFaultCloudRestart: the link goes, the cloud refuses it for down,
// then takes it back; the fault ends by itself ("done").
func TestFaultCloudRestart(t *testing.T) {
	t.Parallel()
	e, r := newLinkEnv(t, cloud.Options{})
	v := e.newDevWith(t, quickRedial)
	other := e.newDev(t)
	id := v.d.ID()
	f := apply(t, e.cloud, id, "cloud-restart", nil) // down: the default 1 s
	v.waitNetStatus(abi.NetworkStatusConnecting)
	v.waitNetStatus(abi.NetworkStatusConnected)
	eventually(t, "the restart's end", func() bool { return len(r.phases(f.ID)) == 2 })
	if got := r.phases(f.ID); !slices.Equal(got, []string{"start", "end:done"}) {
		t.Errorf("fault events %q, want start, end:done", got)
	}
	eventually(t, "the second link-up", func() bool { return len(r.of(id, cloud.ObserveLinkUp)) == 2 })
	if got := r.kinds(id); !slices.Equal(got, []cloud.ObservationKind{cloud.ObserveLinkUp, cloud.ObserveLinkDown, cloud.ObserveLinkUp}) {
		t.Errorf("observations %q, want link-up, link-down, link-up", got)
	}
	if got := r.kinds(other.d.ID()); !slices.Equal(got, []cloud.ObservationKind{cloud.ObserveLinkUp}) {
		t.Errorf("the other device's observations: %q, want only its link-up", got)
	}
	if list := e.cloud.Faults().List(id); len(list) != 0 {
		t.Errorf("faults in force after the restart: %+v", list)
	}
}

var nextLinkDev = func() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("UV%032x", 0xc10c000+n)
	}
}()

// TestFaultClockUnset: a device that boots while clock-unset is in force
// has no wall time (TIMENOTSET) although its network is up; once the fault
// is cleared the cloud sends TIME and the device has the time.
func TestFaultClockUnset(t *testing.T) {
	t.Parallel()
	e, r := newLinkEnv(t, cloud.Options{})
	id := nextLinkDev()
	f := apply(t, e.cloud, id, "clock-unset", nil)
	v := e.newDevWith(t, device.Options{DeviceID: id})
	other := e.newDev(t)
	if _, st := v.d.GetWallTime(); st != abi.StatusTimeNotSet {
		t.Fatalf("mvGetWallTime with the network up under clock-unset: %s, want TIMENOTSET", st)
	}
	faultstest.WallNear(t, other.d, 0)
	if err := e.cloud.Faults().Clear(id, f.ID); err != nil {
		t.Fatal(err)
	}
	faultstest.WallNear(t, v.d, 0)
	if got := r.phases(f.ID); !slices.Equal(got, []string{"start", "end:cleared"}) {
		t.Errorf("fault events %q", got)
	}

	// Applied to a device that has the time, it changes nothing: the
	// device keeps its clock, across a new link too.
	apply(t, e.cloud, id, "clock-unset", nil)
	e.relink(t, v)
	faultstest.WallNear(t, v.d, 0)
}

// TestFaultClockSkew: the wall time the device gets is off by skew at
// once (TIME), on its next link too, and right again once cleared.
func TestFaultClockSkew(t *testing.T) {
	t.Parallel()
	e, _ := newLinkEnv(t, cloud.Options{})
	v := e.newDev(t)
	other := e.newDev(t)
	id := v.d.ID()
	faultstest.WallNear(t, v.d, 0)
	const skew = -3 * time.Hour
	f := apply(t, e.cloud, id, "clock-skew", map[string]string{"skew": skew.String()})
	faultstest.WallNear(t, v.d, skew)
	faultstest.WallNear(t, other.d, 0)
	// A new link's WELCOME carries the skew as well.
	e.relink(t, v)
	faultstest.WallNear(t, v.d, skew)
	if err := e.cloud.Faults().Clear(id, f.ID); err != nil {
		t.Fatal(err)
	}
	faultstest.WallNear(t, v.d, 0)
	// Skews add up.
	apply(t, e.cloud, id, "clock-skew", map[string]string{"skew": "1h"})
	apply(t, e.cloud, id, "clock-skew", map[string]string{"skew": "1h"})
	faultstest.WallNear(t, v.d, 2*time.Hour)
}

// TestFaultLoggingDisabled: mvServerLog answers LOGGINGDISABLEDBYSERVER
// while the fault is in force, for that device only; once cleared the
// store's own setting applies again.
func TestFaultLoggingDisabled(t *testing.T) {
	t.Parallel()
	st := newMemStore()
	e, r := newLinkEnv(t, cloud.Options{Logs: st, Config: st})
	v := e.newDev(t)
	other := e.newDev(t)
	id := v.d.ID()
	for _, d := range []*device.Device{v.d, other.d} {
		if _, s, err := d.ServerLoggingInit(4096); err != nil || s != abi.StatusOkay {
			t.Fatal(s, err)
		}
	}
	logStatus := func(d *device.Device, want abi.Status, line string) {
		t.Helper()
		eventually(t, "mvServerLog "+want.String(), func() bool {
			s, _ := d.ServerLog(line)
			return s == want
		})
	}
	logStatus(v.d, abi.StatusOkay, "before")
	// Lines arriving while logging is disabled are dropped: this one is in
	// before the fault.
	eventually(t, "the line stored", func() bool { return slices.Contains(st.logged(id), "before") })
	f := apply(t, e.cloud, id, "logging-disabled", nil)
	logStatus(v.d, abi.StatusLoggingDisabledByServer, "refused")
	if s, _ := other.d.ServerLog("other"); s != abi.StatusOkay {
		t.Errorf("the other device's mvServerLog: %s, want OKAY", s)
	}
	// The store disables logging too, meanwhile: clearing the fault leaves
	// the store's setting.
	st.setDisabled(id, true)
	e.cloud.SetLogging(id, false)
	if err := e.cloud.Faults().Clear(id, f.ID); err != nil {
		t.Fatal(err)
	}
	if got := r.phases(f.ID); !slices.Equal(got, []string{"start", "end:cleared"}) {
		t.Errorf("fault events %q", got)
	}
	if s, _ := v.d.ServerLog("still refused"); s != abi.StatusLoggingDisabledByServer {
		t.Errorf("after clearing, with the store disabling logging: %s, want LOGGINGDISABLEDBYSERVER", s)
	}
	// The store re-enables it while no fault is in force: logging again.
	st.setDisabled(id, false)
	e.cloud.SetLogging(id, true)
	logStatus(v.d, abi.StatusOkay, "again")
	eventually(t, "the line stored", func() bool { return slices.Contains(st.logged(id), "again") })
	// Applied, then SetLogging(true) from the store: still disabled.
	apply(t, e.cloud, id, "logging-disabled", nil)
	logStatus(v.d, abi.StatusLoggingDisabledByServer, "refused")
	e.cloud.SetLogging(id, true)
	// The CONTROL LOGGING that answers it says disabled: once the device
	// has it (a PING round trip would prove it; a line stored proves the
	// link is through), mvServerLog still refuses.
	if s, _ := v.d.ServerLog("refused"); s != abi.StatusLoggingDisabledByServer {
		t.Errorf("the store enabling logging under the fault: %s", s)
	}
	if got := r.of(id, cloud.ObserveServerLog); len(got) == 0 || got[0].Text != "before" {
		t.Errorf("server-log observations %+v, want the first to be %q", got, "before")
	}
	for _, o := range r.of(id, cloud.ObserveServerLog) {
		if o.Text == "refused" || o.Text == "still refused" {
			t.Errorf("a line refused by mvServerLog was observed: %+v", o)
		}
	}
}

// TestObservationsHTTPAndLink: link-up, http-request (method and URL as
// the device gave them), server-log and link-down, in the device's order.
func TestObservationsHTTPAndLink(t *testing.T) {
	t.Parallel()
	b := newBlocker()
	srv := testenv.NewServer(t, testMux(b))
	st := newMemStore()
	e, r := newLinkEnv(t, cloud.Options{HTTP: srv.HTTPOptions(), Logs: st})
	t.Cleanup(func() { close(b.release) })
	e.srv, e.block = srv, b
	v := e.newDev(t)
	id := v.d.ID()
	if _, s, err := v.d.ServerLoggingInit(4096); err != nil || s != abi.StatusOkay {
		t.Fatal(s, err)
	}
	eventually(t, "logging enabled", func() bool { s, _ := v.d.ServerLog("hello, cloud"); return s == abi.StatusOkay })
	eventually(t, "the server-log observation", func() bool { return len(r.of(id, cloud.ObserveServerLog)) > 0 })
	if _, data := v.do(device.HTTPRequest{Method: "POST", URL: e.url("/echo"), TimeoutMS: 10000, Body: []byte("x")}, 4096); data.StatusCode != 200 {
		t.Fatalf("POST /echo: %+v", data)
	}
	eventually(t, "the http-request observation", func() bool { return len(r.of(id, cloud.ObserveHTTPRequest)) > 0 })
	reqs := r.of(id, cloud.ObserveHTTPRequest)
	if len(reqs) != 1 || reqs[0].Method != "POST" || reqs[0].URL != e.url("/echo") {
		t.Fatalf("http-request observations %+v, want one POST %s", reqs, e.url("/echo"))
	}
	e.relink(t, v)
	eventually(t, "the second link-up", func() bool { return len(r.of(id, cloud.ObserveLinkUp)) == 2 })
	got := slices.Compact(r.kinds(id))
	want := []cloud.ObservationKind{cloud.ObserveLinkUp, cloud.ObserveServerLog, cloud.ObserveHTTPRequest, cloud.ObserveLinkDown, cloud.ObserveLinkUp}
	if !slices.Equal(got, want) {
		t.Errorf("observations %q, want %q", got, want)
	}
	if o := r.of(id, cloud.ObserveServerLog); o[0].Text != "hello, cloud" {
		t.Errorf("server-log text %q", o[0].Text)
	}
}

// TestObservationsMQTT: mqtt-connect names the broker, mqtt-subscribe the
// filters, mqtt-publish the topic, payload and QoS (a real Mosquitto).
func TestObservationsMQTT(t *testing.T) {
	t.Parallel()
	br := mosquitto.Start(t, mosquitto.Options{})
	r := &recorder{}
	e := newMQTTEnv(t, cloud.Options{Observe: r.observe})
	v := e.newDev(t)
	id := v.d.ID()
	m := v.openMQTT(1024, 1024)
	m.mustConnect(connReq(br, abi.MQTTProtocolVersionV5, "observed"))
	m.subscribe(3, device.MQTTSubscription{Topic: "obs/#", QoS: 1}, device.MQTTSubscription{Topic: "cmd/+", QoS: 0})
	m.publish(4, "out/a", []byte("payload"), 1, false)
	// Observations are delivered on the session's reading goroutine,
	// maybe after the broker's answer reached the device.
	eventually(t, "the mqtt-publish observation", func() bool { return len(r.of(id, cloud.ObserveMQTTPublish)) > 0 })
	conn := r.of(id, cloud.ObserveMQTTConnect)
	if len(conn) != 1 || conn[0].Broker != fmt.Sprintf("127.0.0.1:%d", br.Port) {
		t.Errorf("mqtt-connect observations %+v, want one for 127.0.0.1:%d", conn, br.Port)
	}
	subs := r.of(id, cloud.ObserveMQTTSubscribe)
	if len(subs) != 1 || !slices.Equal(subs[0].Filters, []string{"obs/#", "cmd/+"}) {
		t.Errorf("mqtt-subscribe observations %+v", subs)
	}
	pubs := r.of(id, cloud.ObserveMQTTPublish)
	if len(pubs) != 1 || pubs[0].Topic != "out/a" || string(pubs[0].Payload) != "payload" || pubs[0].QoS != 1 {
		t.Errorf("mqtt-publish observations %+v", pubs)
	}
	want := []cloud.ObservationKind{cloud.ObserveLinkUp, cloud.ObserveMQTTConnect, cloud.ObserveMQTTSubscribe, cloud.ObserveMQTTPublish}
	if got := r.kinds(id); !slices.Equal(got, want) {
		t.Errorf("observations %q, want %q", got, want)
	}
}

// TestObserveMayCallTheCloud: Observe runs on no session's goroutine, so
// it may act on the cloud at once — here, drop the link when the device
// sends a request — and the device sees the effect.
func TestObserveMayCallTheCloud(t *testing.T) {
	t.Parallel()
	b := newBlocker()
	srv := testenv.NewServer(t, testMux(b))
	t.Cleanup(func() { close(b.release) })
	var c *cloud.Server
	ready := make(chan struct{})
	c = testenv.NewCloud(t, cloud.Options{HTTP: srv.HTTPOptions(), Observe: func(o cloud.Observation) {
		<-ready
		if o.Kind == cloud.ObserveHTTPRequest {
			if _, err := c.Faults().Apply(o.Device, faults.Spec{Kind: faults.LinkDrop, For: faults.Duration(100 * time.Millisecond)}); err != nil {
				t.Errorf("Apply from Observe: %v", err)
			}
		}
	}})
	close(ready)
	e := &env{srv: srv, cloud: c, block: b}
	v := e.newDev(t)
	ch, tag := v.openHTTP(4096)
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 10000})
	v.waitEvent(tag, abi.EventTypeChannelNotConnected)
	if r := v.closureReason(ch); r != abi.ClosureReasonConnectionTerminated {
		t.Errorf("closure reason %s, want CONNECTIONTERMINATED", r)
	}
	v.waitNetStatus(abi.NetworkStatusConnected) // the drop expired
}
