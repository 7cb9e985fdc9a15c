// Package faultstest checks a door of the fault model (cloud/faults) — the
// REST API, the CLI — end to end: every kind applied, listed and cleared
// through the door, and the effects a device sees through the system-call
// ABI (package device), for every kind. The REST API's tests (cloud/api) and the CLI's
// (cmd/mvnet) run the same checks, each through its own door, so a kind
// added to faults.Kinds() is covered by both without a change here — unless
// it takes a parameter this package has no sample value for, which fails
// loudly (add one to samples).
package faultstest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/apiclient"
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// Door is one way of reaching a device's faults.
type Door interface {
	// Apply applies a fault of kind with params (ParseSpec names).
	Apply(kind string, params map[string]string) (apiclient.Fault, error)
	// List lists the faults in force.
	List() ([]apiclient.Fault, error)
	// Clear clears one fault by its SID.
	Clear(sid string) error
	// ClearKind clears the faults of kind, or every fault for "".
	ClearKind(kind string) (int, error)
}

// Rig is a device joined to the cloud behind the door.
type Rig struct {
	Dev *device.Device
	Net *device.Net
	// URL is an HTTPS URL the cloud may request for the device (its
	// outbound policy and trust allow it) that answers 200.
	URL string
	// Broker is the host:port of a plaintext MQTT broker the cloud may
	// reach for the device (Effects' MQTT kinds).
	Broker string

	opts device.Options
}

// Join boots a device with opts (a quick redial is added when opts has
// none), connects it and returns the rig; the device is closed when the
// test ends.
func Join(t *testing.T, opts device.Options, url, broker string) *Rig {
	t.Helper()
	if opts.ReconnectDelay == 0 {
		opts.ReconnectDelay, opts.MaxReconnectDelay = time.Millisecond, 20*time.Millisecond
	}
	r := &Rig{URL: url, Broker: broker, opts: opts}
	r.boot(t)
	t.Cleanup(func() { _ = r.Dev.Close() }) // the device booted last
	return r
}

func (r *Rig) boot(t *testing.T) {
	t.Helper()
	d, err := device.New(r.opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	n, err := d.Connect(ctx, 51)
	if err != nil {
		_ = d.Close()
		t.Fatal(err)
	}
	r.Dev, r.Net = d, n
}

// Reboot closes the device and boots it again (same ID): a new kernel
// with no wall time, joined to the cloud.
func (r *Rig) Reboot(t *testing.T) {
	t.Helper()
	_ = r.Dev.Close()
	r.boot(t)
}

// Wait bounds every wait for an event.
const Wait = poll.Deadline

// samples are the parameter values the kinds table applies with, by
// parameter name (faults.KindHelp.Params). "channel" is filled in with an
// open channel's handle.
var samples = map[string]string{
	"period":      "1h",
	"duty":        "0.5",
	"loss":        "0.5",
	"seed":        "7",
	"delay":       "1ms",
	"jitter":      "1ms",
	"down":        "1s",
	"host":        "nowhere.test",
	"url":         "https://nowhere.test/*",
	"status":      "503",
	"body":        "busy",
	"bytes":       "3",
	"reason-code": "135",
	"topic":       "t/#",
	"skew":        "1h",
	"description": "v2",
}

// params are the parameters the kinds table gives a kind: its required
// ones and its first optional one, so that the listing shows parameters
// for every kind that takes any.
func params(t *testing.T, k faults.KindHelp, channel uint32) map[string]string {
	t.Helper()
	names := append([]string{}, k.Required...)
	for _, p := range k.Params {
		if !contains(k.Required, p) {
			names = append(names, p)
			break
		}
	}
	out := map[string]string{}
	for _, p := range names {
		if p == "channel" {
			out[p] = strconv.FormatUint(uint64(channel), 10)
			continue
		}
		v, ok := samples[p]
		if !ok {
			t.Fatalf("%s takes parameter %s, which internal/faultstest has no sample value for: add one to samples", k.Kind, p)
		}
		out[p] = v
	}
	if _, err := faults.ParseSpec(string(k.Kind), out); err != nil {
		t.Fatalf("the sample parameters of %s do not parse (%v): adjust samples in internal/faultstest", k.Kind, err)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sameSpec checks that a fault as the door shows it is the spec applied:
// its parameters and its CLI form both parse back to it.
func sameSpec(t *testing.T, f apiclient.Fault, kind string, params map[string]string) {
	t.Helper()
	want, err := faults.ParseSpec(kind, params)
	if err != nil {
		t.Fatal(err)
	}
	got, err := faults.ParseSpec(f.Kind, f.Parameters)
	if err != nil {
		t.Fatalf("the parameters shown (%v) do not parse: %v", f.Parameters, err)
	}
	if got != want || f.Kind != kind {
		t.Fatalf("fault shown as %s %v, applied as %s %v", f.Kind, f.Parameters, kind, params)
	}
	if f.Spec != want.String() {
		t.Fatalf("spec %q, want %q", f.Spec, want.String())
	}
	if !strings.HasPrefix(f.Sid, "FT") || f.Applied == "" {
		t.Fatalf("fault %+v: want an FT… SID and an applied time", f)
	}
}

func listed(t *testing.T, d Door, sid string) (apiclient.Fault, bool) {
	t.Helper()
	l, err := d.List()
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, f := range l {
		if f.Sid == sid {
			return f, true
		}
	}
	return apiclient.Fault{}, false
}

// EveryKind applies every kind of faults.Kinds() through the door with
// sample parameters and checks it: a lasting fault is listed with its
// parameters until cleared; a one-shot fault acts at once and is reported
// done (not listed). mqtt-disconnect, which cuts the device's broker
// sessions, must be refused while the rig's device has none, naming why
// (its effect, with a broker, is Effects'). Between kinds the device is back on the network.
func EveryKind(t *testing.T, r *Rig, d Door) {
	for _, k := range faults.Kinds() {
		t.Run(string(k.Kind), func(t *testing.T) {
			var ch uint32
			if contains(k.Params, "channel") {
				c := r.OpenHTTP(t)
				defer r.Dev.CloseChannel(c.ch)
				ch = c.ch.Handle
			}
			p := params(t, k, ch)
			f, err := d.Apply(string(k.Kind), p)
			if k.Kind == faults.MQTTDisconnect {
				if err == nil || !strings.Contains(err.Error(), faults.ErrNoBrokerSession.Error()) {
					t.Fatalf("apply %s %v with no broker session: %v, want an error saying %q", k.Kind, p, err, faults.ErrNoBrokerSession)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply %s %v: %v", k.Kind, p, err)
			}
			sameSpec(t, f, string(k.Kind), p)
			if k.Kind == faults.LinkDrop || k.Kind == faults.LinkFlap || k.Kind == faults.CloudRestart {
				// The link goes after apply answers: wait until the device
				// sees it, or it could go after the fault has ended and the
				// next kind found the device not connected.
				r.WaitNetwork(t, abi.NetworkStatusConnecting)
			}
			if k.OneShot {
				// Done at once, or in force while its action lasts
				// (cloud-restart's down time), then done.
				if f.Status != "done" && f.Status != "active" {
					t.Fatalf("one-shot %s: status %q, want done or active", k.Kind, f.Status)
				}
				if f.Status == "done" {
					if _, ok := listed(t, d, f.Sid); ok {
						t.Fatalf("one-shot %s reported done but still listed", k.Kind)
					}
				}
				poll.Until(t, string(k.Kind)+" to end", func() bool {
					_, ok := listed(t, d, f.Sid)
					return !ok
				})
			} else {
				if f.Status != "active" {
					t.Fatalf("%s: status %q, want active", k.Kind, f.Status)
				}
				l, ok := listed(t, d, f.Sid)
				if !ok {
					t.Fatalf("%s not listed after apply", k.Kind)
				}
				sameSpec(t, l, string(k.Kind), p)
				if err := d.Clear(f.Sid); err != nil {
					t.Fatalf("clear %s: %v", f.Sid, err)
				}
				if _, ok := listed(t, d, f.Sid); ok {
					t.Fatalf("%s still listed after clear", k.Kind)
				}
				if err := d.Clear(f.Sid); err == nil || !strings.Contains(err.Error(), f.Sid) {
					t.Fatalf("clearing %s again: %v, want an error naming it", f.Sid, err)
				}
			}
			r.WaitNetwork(t, abi.NetworkStatusConnected)
		})
	}
}

// Channel is an HTTP channel the cloud has open (no request on it yet).
type Channel struct {
	ch  *device.Channel
	tag uint32
}

var nextTag = uint32(0x6661756c) // "faul"

// newChannel opens an HTTP channel with a tag of its own.
func (r *Rig) newChannel(t *testing.T) Channel {
	t.Helper()
	nextTag++
	return Channel{r.open(t, nextTag, abi.ChannelTypeHTTP), nextTag}
}

// OpenHTTP opens an HTTP channel and returns once the cloud has it open:
// a request on a second channel, opened after it, is answered after the
// cloud handled the first one's OPEN (it handles a link's frames in
// order). The channel itself carries no request, since the cloud forgets
// a channel once it has sent its response (link/doc.go, "Channels").
func (r *Rig) OpenHTTP(t *testing.T) Channel {
	t.Helper()
	c := r.newChannel(t)
	probe := r.newChannel(t)
	defer r.Dev.CloseChannel(probe.ch)
	if data := r.Request(t, probe); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("request on a new channel: %s %d", data.Result, data.StatusCode)
	}
	return c
}

// open opens a channel of typ, waiting while Microvisor's limit of channel
// opens per second answers RATELIMITED (spec/abi.md: eight a second), as
// an application would.
func (r *Rig) open(t *testing.T, tag uint32, typ abi.ChannelType) *device.Channel {
	t.Helper()
	var ch *device.Channel
	var st abi.Status
	var err error
	poll.Until(t, "mvOpenChannel past RATELIMITED", func() bool {
		ch, st, err = r.Dev.OpenChannel(device.ChannelConfig{Centre: r.Net.Centre, Tag: tag, Network: r.Net.Handle,
			Type: typ, RxSize: 4096, TxSize: 1024})
		return err != nil || st != abi.StatusRateLimited
	})
	if err != nil || st != abi.StatusOkay {
		t.Fatalf("mvOpenChannel(%s): %s %v", typ, st, err)
	}
	return ch
}

// Request sends GET r.URL on the channel and waits for the response.
func (r *Rig) Request(t *testing.T, c Channel) abi.HTTPResponseData {
	t.Helper()
	if st, err := r.Dev.SendHTTPRequest(c.ch, device.HTTPRequest{Method: "GET", URL: r.URL, TimeoutMS: 10000}); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvSendHttpRequest: %s %v", st, err)
	}
	r.WaitEvent(t, c.tag, abi.EventTypeChannelDataReadable)
	data, st := r.Dev.ReadHTTPResponseData(c.ch)
	if st != abi.StatusOkay {
		t.Fatalf("mvReadHttpResponseData: %s", st)
	}
	return data
}

// WaitEvent waits for a notification with tag and event type.
func (r *Rig) WaitEvent(t *testing.T, tag uint32, ev abi.EventType) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	if _, err := r.Net.Centre.WaitFor(ctx, tag, ev); err != nil {
		t.Fatal(err)
	}
}

// WaitNetwork waits until the network handle's status is want.
func (r *Rig) WaitNetwork(t *testing.T, want abi.NetworkStatus) {
	t.Helper()
	poll.Until(t, "network "+want.String(), func() bool {
		st, s := r.Dev.GetNetworkStatus(r.Net.Handle)
		return s == abi.StatusOkay && st == want
	})
}
