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
)

// Effects applies faults through the door and asserts what the device
// sees through the ABI (docs/fault-injection.md):
//
//   - link-drop: the channel is not connected (CONNECTIONTERMINATED), the
//     network CONNECTING; a one-shot that needs the link (update) fails
//     saying the device is not connected; cleared by kind, the network is
//     CONNECTED again.
//   - channel-close, channel-reset: the channel is not connected with
//     CHANNELCLOSEDBYSERVER, CHANNELRESETBYSERVER.
//   - latency: a response still arrives, no sooner than the delay.
//   - update: UPDATEDOWNLOADED on an UPDATE system notification stream.
func Effects(t *testing.T, r *Rig, d Door) {
	t.Run("link-drop", func(t *testing.T) {
		c := r.OpenHTTP(t)
		defer r.Dev.CloseChannel(c.ch)
		f, err := d.Apply(string(faults.LinkDrop), nil)
		if err != nil {
			t.Fatal(err)
		}
		r.WaitEvent(t, c.tag, abi.EventTypeChannelNotConnected)
		if why, st := r.Dev.GetChannelClosureReason(c.ch); st != abi.StatusOkay || why != abi.ClosureReasonConnectionTerminated {
			t.Fatalf("closure reason %s (%s), want CONNECTIONTERMINATED", why, st)
		}
		r.WaitNetwork(t, abi.NetworkStatusConnecting)
		if _, ok := listed(t, d, f.Sid); !ok {
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
	})
	for _, tc := range []struct {
		kind faults.Kind
		want abi.ClosureReason
	}{
		{faults.ChannelClose, abi.ClosureReasonChannelClosedByServer},
		{faults.ChannelReset, abi.ClosureReasonChannelResetByServer},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			c := r.OpenHTTP(t)
			defer r.Dev.CloseChannel(c.ch)
			f, err := d.Apply(string(tc.kind), map[string]string{"channel": "0x" + strconv.FormatUint(uint64(c.ch.Handle), 16)})
			if err != nil {
				t.Fatal(err)
			}
			if f.Status != "done" {
				t.Fatalf("status %q, want done", f.Status)
			}
			r.WaitEvent(t, c.tag, abi.EventTypeChannelNotConnected)
			if why, st := r.Dev.GetChannelClosureReason(c.ch); st != abi.StatusOkay || why != tc.want {
				t.Fatalf("closure reason %s (%s), want %s", why, st, tc.want)
			}
			// The channel is gone: the same again names the problem.
			if _, err := d.Apply(string(tc.kind), map[string]string{"channel": "0x" + strconv.FormatUint(uint64(c.ch.Handle), 16)}); err == nil || !strings.Contains(err.Error(), "no open channel") {
				t.Fatalf("closing a closed channel: %v, want an error saying there is no such open channel", err)
			}
		})
	}
	t.Run("latency", func(t *testing.T) {
		const delay = 200 * time.Millisecond
		f, err := d.Apply(string(faults.Latency), map[string]string{"delay": delay.String()})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), Wait)
		defer cancel()
		start := time.Now()
		resp, err := r.Dev.HTTP(ctx, r.Net, device.HTTPRequest{Method: "GET", URL: r.URL, TimeoutMS: 10000}, 4096, 1024)
		if err != nil {
			t.Fatal(err)
		}
		// A lower bound only: the frames were held at least the delay.
		if took := time.Since(start); resp.Result != abi.HTTPResultOK || resp.StatusCode != 200 || took < delay {
			t.Fatalf("with latency %v: %s %d after %v", delay, resp.Result, resp.StatusCode, took)
		}
		if err := d.Clear(f.Sid); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("update", func(t *testing.T) {
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
	})
	if n, err := d.ClearKind(""); err != nil || n != 0 {
		t.Fatalf("faults left in force after the effects: %d (%v)", n, err)
	}
}
