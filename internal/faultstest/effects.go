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
	"github.com/mvnet/mvnet/internal/testenv/poll"
)

// effect applies a fault of its kind through the door and asserts what
// the device sees through the ABI; it leaves the device on the network
// with no fault in force.
type effect func(t *testing.T, r *Rig, d Door)

// effects holds the device-side check of every kind, keyed by kind. A kind
// of faults.Kinds() missing here fails Effects: a new kind comes with its
// effect check.
var effects = map[faults.Kind]effect{
	faults.LinkDrop:        linkDrop,
	faults.LinkFlap:        linkFlap,
	faults.CloudRestart:    cloudRestart,
	faults.ChannelClose:    closedBy(faults.ChannelClose, abi.ClosureReasonChannelClosedByServer),
	faults.ChannelReset:    closedBy(faults.ChannelReset, abi.ClosureReasonChannelResetByServer),
	faults.Latency:         latency,
	faults.UpdateAnnounced: update,
	faults.ClockUnset:      clockUnset,
	faults.ClockSkew:       clockSkew,
	faults.LoggingDisabled: loggingDisabled,
	faults.DNSFailure:      dnsFailure,
	faults.HTTPStatus:      httpStatus,
	faults.HTTPDelay:       httpDelay,
	faults.HTTPReset:       httpFailed(faults.HTTPReset, nil, "connection reset by peer"),
	faults.HTTPTruncate:    httpFailed(faults.HTTPTruncate, map[string]string{"bytes": "1"}, "unexpected EOF"),
	faults.HTTPTLS:         httpFailed(faults.HTTPTLS, map[string]string{"url": "https://127.0.0.1:*"}, "TLS certificate verification failed"),
	faults.MQTTRefuse:      mqttRefuse,
	faults.MQTTDisconnect:  mqttDisconnect,
	faults.MQTTDrop:        mqttDrop,
	faults.MQTTDelay:       mqttDelay,
}

// Effects applies every kind of faults.Kinds() through the door and
// asserts what the device sees through the ABI (docs/fault-injection.md),
// each kind in its own subtest named after it; a kind with no check in
// this package fails. The rig needs Broker (a plaintext Mosquitto the
// cloud may reach) and Reboot for the MQTT and clock kinds.
//
//   - link-drop: the channel is not connected (CONNECTIONTERMINATED), the
//     network CONNECTING; a one-shot that needs the link (update) fails
//     saying the device is not connected; cleared by kind, the network is
//     CONNECTED again.
//   - link-flap: the network goes CONNECTING and CONNECTED, twice, and is
//     CONNECTED once the flap is cleared.
//   - cloud-restart: the network goes CONNECTING and CONNECTED again; the
//     fault ends by itself.
//   - channel-close, channel-reset: the channel is not connected with
//     CHANNELCLOSEDBYSERVER, CHANNELRESETBYSERVER.
//   - latency: a response still arrives, no sooner than the delay.
//   - update: UPDATEDOWNLOADED on an UPDATE system notification stream.
//   - clock-unset: a device booting while it is in force has its network
//     but no wall time (TIMENOTSET) until it is cleared.
//   - clock-skew: mvGetWallTime is off by the skew until cleared.
//   - logging-disabled: mvServerLog answers LOGGINGDISABLEDBYSERVER until
//     cleared.
//   - dns-failure, http-reset, http-truncate, http-tls, http-delay: the
//     request's result is REQUESTFAILED with a diagnostic naming the
//     cause; http-status: the status and body given.
//   - mqtt-refuse: the connect completes with the refusal's reason code;
//     mqtt-disconnect: a connected session gets DISCONNECTRESPONSE
//     NOTCONNECTED and its channel closes (CONNECTIONTERMINATED);
//     mqtt-drop: a message on the topic never arrives, the next one does;
//     mqtt-delay: the message arrives no sooner than the delay.
//
// After each kind every request, connect and log line works again.
func Effects(t *testing.T, r *Rig, d Door) {
	for _, k := range faults.Kinds() {
		t.Run(string(k.Kind), func(t *testing.T) {
			check, ok := effects[k.Kind]
			if !ok {
				t.Fatalf("internal/faultstest has no effect check for fault kind %s: add one to effects", k.Kind)
			}
			defer func() {
				// A failed check may leave its fault in force: clear it so
				// that the next kinds start clean.
				if n, err := d.ClearKind(""); err != nil || (n != 0 && !t.Failed()) {
					t.Fatalf("faults left in force after %s: %d (%v)", k.Kind, n, err)
				}
				r.WaitNetwork(t, abi.NetworkStatusConnected)
			}()
			check(t, r, d)
		})
	}
}

// apply applies kind with params through the door, failing the test on
// an error.
func apply(t *testing.T, d Door, kind faults.Kind, params map[string]string) string {
	t.Helper()
	f, err := d.Apply(string(kind), params)
	if err != nil {
		t.Fatalf("apply %s %v: %v", kind, params, err)
	}
	return f.Sid
}

// clear clears the fault sid through the door.
func clear(t *testing.T, d Door, sid string) {
	t.Helper()
	if err := d.Clear(sid); err != nil {
		t.Fatalf("clear %s: %v", sid, err)
	}
}

func linkDrop(t *testing.T, r *Rig, d Door) {
	c := r.OpenHTTP(t)
	defer r.Dev.CloseChannel(c.ch)
	sid := apply(t, d, faults.LinkDrop, nil)
	r.WaitEvent(t, c.tag, abi.EventTypeChannelNotConnected)
	if why, st := r.Dev.GetChannelClosureReason(c.ch); st != abi.StatusOkay || why != abi.ClosureReasonConnectionTerminated {
		t.Fatalf("closure reason %s (%s), want CONNECTIONTERMINATED", why, st)
	}
	r.WaitNetwork(t, abi.NetworkStatusConnecting)
	if _, ok := listed(t, d, sid); !ok {
		t.Fatal("link-drop not listed while in force")
	}
	// A one-shot that acts on the link cannot while it is dropped.
	if _, err := d.Apply(string(faults.UpdateAnnounced), map[string]string{"description": "v2"}); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Fatalf("update while the link is dropped: %v, want an error saying the device is not connected", err)
	}
	// Still CONNECTING: the kernel's redials are refused.
	if st, _ := r.Dev.GetNetworkStatus(r.Net.Handle); st != abi.NetworkStatusConnecting {
		t.Fatalf("network %s while the link is dropped, want CONNECTING", st)
	}
	n, err := d.ClearKind(string(faults.LinkDrop))
	if err != nil || n != 1 {
		t.Fatalf("clear --kind link-drop: %d, %v; want 1 cleared", n, err)
	}
	r.WaitNetwork(t, abi.NetworkStatusConnected)
}

func linkFlap(t *testing.T, r *Rig, d Door) {
	sid := apply(t, d, faults.LinkFlap, map[string]string{"period": "600ms"})
	for range 2 {
		r.WaitNetwork(t, abi.NetworkStatusConnecting)
		r.WaitNetwork(t, abi.NetworkStatusConnected)
	}
	clear(t, d, sid)
}

func cloudRestart(t *testing.T, r *Rig, d Door) {
	sid := apply(t, d, faults.CloudRestart, nil) // down: the default 1s
	r.WaitNetwork(t, abi.NetworkStatusConnecting)
	r.WaitNetwork(t, abi.NetworkStatusConnected)
	poll.Until(t, "the restart's end", func() bool {
		_, ok := listed(t, d, sid)
		return !ok
	})
}

// closedBy checks channel-close and channel-reset: the channel closes
// with want; the same again names the problem.
func closedBy(kind faults.Kind, want abi.ClosureReason) effect {
	return func(t *testing.T, r *Rig, d Door) {
		c := r.OpenHTTP(t)
		defer r.Dev.CloseChannel(c.ch)
		p := map[string]string{"channel": "0x" + strconv.FormatUint(uint64(c.ch.Handle), 16)}
		f, err := d.Apply(string(kind), p)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != "done" {
			t.Fatalf("status %q, want done", f.Status)
		}
		r.WaitEvent(t, c.tag, abi.EventTypeChannelNotConnected)
		if why, st := r.Dev.GetChannelClosureReason(c.ch); st != abi.StatusOkay || why != want {
			t.Fatalf("closure reason %s (%s), want %s", why, st, want)
		}
		if _, err := d.Apply(string(kind), p); err == nil || !strings.Contains(err.Error(), "no open channel") {
			t.Fatalf("closing a closed channel: %v, want an error saying there is no such open channel", err)
		}
	}
}

func latency(t *testing.T, r *Rig, d Door) {
	const delay = 200 * time.Millisecond
	sid := apply(t, d, faults.Latency, map[string]string{"delay": delay.String()})
	start := time.Now()
	resp := r.Fetch(t, 10000)
	// A lower bound only: the frames were held at least the delay.
	if took := time.Since(start); resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || took < delay {
		t.Fatalf("with latency %v: %s %d after %v", delay, resp.Result, resp.StatusCode, took)
	}
	clear(t, d, sid)
}

func update(t *testing.T, r *Rig, d Door) {
	const tag = 0x75706474 // "updt"
	h, st := r.Dev.OpenSystemNotification(r.Net.Centre, tag, abi.SystemNotificationSourceUpdate)
	if st != abi.StatusOkay {
		t.Fatalf("mvOpenSystemNotification(UPDATE): %s", st)
	}
	defer r.Dev.CloseSystemNotification(h)
	f, err := d.Apply(string(faults.UpdateAnnounced), map[string]string{"description": "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != "done" || f.Parameters["description"] != "1.2.3" {
		t.Fatalf("update applied as %+v", f)
	}
	r.WaitEvent(t, tag, abi.EventTypeUpdateDownloaded)
}

func clockUnset(t *testing.T, r *Rig, d Door) {
	sid := apply(t, d, faults.ClockUnset, nil)
	r.Reboot(t)
	if _, st := r.Dev.GetWallTime(); st != abi.StatusTimeNotSet {
		t.Fatalf("mvGetWallTime on a device booted under clock-unset, network up: %s, want TIMENOTSET", st)
	}
	clear(t, d, sid)
	WallNear(t, r.Dev, 0)
}

func clockSkew(t *testing.T, r *Rig, d Door) {
	WallNear(t, r.Dev, 0)
	const skew = -3 * time.Hour
	sid := apply(t, d, faults.ClockSkew, map[string]string{"skew": skew.String()})
	WallNear(t, r.Dev, skew)
	clear(t, d, sid)
	WallNear(t, r.Dev, 0)
}

func loggingDisabled(t *testing.T, r *Rig, d Door) {
	if _, st, err := r.Dev.ServerLoggingInit(4096); err != nil || st != abi.StatusOkay {
		t.Fatalf("mvServerLoggingInit: %s %v", st, err)
	}
	r.LogStatus(t, abi.StatusOkay)
	sid := apply(t, d, faults.LoggingDisabled, nil)
	r.LogStatus(t, abi.StatusLoggingDisabledByServer)
	clear(t, d, sid)
	r.LogStatus(t, abi.StatusOkay)
}

// WallNear polls d's wall time until it is within a minute of
// time.Now()+skew.
func WallNear(t *testing.T, d *device.Device, skew time.Duration) {
	t.Helper()
	var us uint64
	var st abi.Status
	ok := poll.Wait(Wait, func() bool {
		us, st = d.GetWallTime()
		want := time.Now().Add(skew)
		got := time.UnixMicro(int64(us))
		return st == abi.StatusOkay && got.After(want.Add(-time.Minute)) && got.Before(want.Add(time.Minute))
	})
	if !ok {
		t.Fatalf("mvGetWallTime: %s %v, want OKAY within a minute of now%+v", st, time.UnixMicro(int64(us)).UTC(), skew)
	}
}

// LogStatus polls mvServerLog until it answers want.
func (r *Rig) LogStatus(t *testing.T, want abi.Status) {
	t.Helper()
	poll.Until(t, "mvServerLog "+want.String(), func() bool {
		st, _ := r.Dev.ServerLog("faultstest")
		return st == want
	})
}

// Fetch performs GET r.URL on a new channel (waiting while channel opens
// are RATELIMITED).
func (r *Rig) Fetch(t *testing.T, timeoutMS uint32) *device.HTTPResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	var resp *device.HTTPResponse
	var err error
	poll.Until(t, "an HTTP channel past RATELIMITED", func() bool {
		resp, err = r.Dev.HTTP(ctx, r.Net, device.HTTPRequest{Method: "GET", URL: r.URL, TimeoutMS: timeoutMS}, 4096, 1024)
		return err == nil || !strings.Contains(err.Error(), abi.StatusRateLimited.String())
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
