package kernel_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/kernel"
	"github.com/mvnet/mvnet/link"
)

// maxHeapGrowth bounds what one system call may allocate, whatever its
// arguments (issue 8: "a bounded heap (say ≤ 64 MiB growth)").
const maxHeapGrowth = 64 << 20

// allocated returns the bytes allocated while f ran (TotalAlloc grows with
// every allocation and never shrinks, whatever the collector does).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A key of length 0xFFFFFFF0 behind a bad pointer is LATEFAULT without the
// 4 GiB the length asks for ever being allocated: lengths are checked
// against application memory before anything is sized by them.
func TestConfigFetchHugeKeyAllocatesNothing(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	for _, key := range []abi.SizedString{
		{Data: 0x10, Length: 0xFFFFFFF0},     // bad pointer
		{Data: sramBase, Length: 0xFFFFFFF0}, // good start, runs past SRAM
	} {
		ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 1)
		kp := h.alloc(16, 4)
		if err := abi.Device.WriteConfigKeysToFetch(h.a, kp, []abi.ConfigKeyToFetch{{Scope: 0, Store: 1, Key: key}}); err != nil {
			t.Fatal(err)
		}
		params := h.configParamsRaw(abi.ConfigKeyFetchParams{NumItems: 1, KeysToFetch: kp})
		var st abi.Status
		n := allocated(func() { st = h.k.SendConfigFetchRequest(ch.handle, params) })
		wantStatus(t, "huge key", st, abi.StatusLateFault)
		if n > maxHeapGrowth {
			t.Fatalf("key of %#x bytes at %#x: the call allocated %d MiB", key.Length, uint64(key.Data), n>>20)
		}
		h.closeChannel(ch)
	}
}

// A config response must answer every key requested, one item each; a
// RESPONSETOOLARGE has none. Any other count ends the channel like any
// malformed response: CHANNELNOTCONNECTED, then CHANNELCLOSED.
func TestConfigResponseItemCountMustMatch(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	item := link.ConfigItem{Result: uint8(abi.ConfigKeyFetchResultOK), Value: []byte("v")}
	for i, tc := range []struct {
		name  string
		resp  link.ConfigResponse
		valid bool
	}{
		{"fewer items than keys", link.ConfigResponse{Items: []link.ConfigItem{item}}, false},
		{"more items than keys", link.ConfigResponse{Items: []link.ConfigItem{item, item, item}}, false},
		{"no items", link.ConfigResponse{}, false},
		{"RESPONSETOOLARGE with items", link.ConfigResponse{Result: uint32(abi.ConfigFetchResultResponseTooLarge), Items: []link.ConfigItem{item, item}}, false},
		{"one item per key", link.ConfigResponse{Items: []link.ConfigItem{item, item}}, true},
		{"RESPONSETOOLARGE", link.ConfigResponse{Result: uint32(abi.ConfigFetchResultResponseTooLarge)}, true},
	} {
		func() {
			tag := uint32(0x100 + i)
			ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, tag)
			wantStatus(t, tc.name+": fetch", h.fetch(ch, acctCfg("a"), acctCfg("b")), abi.StatusOkay)
			h.cloud.sendData(t, ch.handle, link.AppendConfigResponse(nil, &tc.resp))
			d, st := abi.ConfigResponseData{}, abi.Status(0)
			if tc.valid {
				c.wait(abi.EventTypeChannelDataReadable, tag)
				d, st = h.configData(ch)
				wantStatus(t, tc.name+": response data", st, abi.StatusOkay)
				if d.NumItems != uint32(len(tc.resp.Items)) {
					t.Fatalf("%s: num_items %d, want %d", tc.name, d.NumItems, len(tc.resp.Items))
				}
			} else {
				c.wait(abi.EventTypeChannelNotConnected, tag)
				if r := h.closureReason(ch); r != abi.ClosureReasonUnexpectedlyTerminated {
					t.Fatalf("%s: closure reason %v", tc.name, r)
				}
				_, st = h.configData(ch)
				wantStatus(t, tc.name+": response data", st, abi.StatusChannelClosed)
				_, _, st = h.readItem(ch, 0, 16)
				wantStatus(t, tc.name+": item 0", st, abi.StatusChannelClosed)
				if n := c.count(abi.EventTypeChannelDataReadable, tag); n != 0 {
					t.Fatalf("%s: %d CHANNELDATAREADABLE for a refused response", tc.name, n)
				}
			}
			h.closeChannel(ch)
		}()
	}
}

// A TIME (or WELCOME) past year 10000 — 2^64−1 say — is ignored: it would
// wrap mvGetWallTime. Before any valid time the clock stays TIMENOTSET;
// afterwards the last valid time runs on.
func TestWallTimeOutOfRangeIgnored(t *testing.T) {
	const huge = ^uint64(0)
	h := newHarness(t, func(fc *fakeCloud, _ *kernel.Options) { fc.wallUS = huge })
	h.waitLink()
	out := h.out(8)
	h.cloud.sync(t)
	wantStatus(t, "after a WELCOME of 2^64-1", h.k.GetWallTime(out), abi.StatusTimeNotSet)
	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: huge - 5})
	h.cloud.sync(t)
	wantStatus(t, "after a TIME of 2^64-6", h.k.GetWallTime(out), abi.StatusTimeNotSet)

	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: welcomeWallUS})
	h.cloud.sync(t)
	wantStatus(t, "after a valid TIME", h.k.GetWallTime(out), abi.StatusOkay)
	for _, bad := range []uint64{huge, 253_402_300_800_000_001} {
		h.clk.advance(time.Second)
		h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: bad})
		h.cloud.sync(t)
		wantStatus(t, "after an out-of-range TIME", h.k.GetWallTime(out), abi.StatusOkay)
		if got := h.u64(out); got < welcomeWallUS || got > welcomeWallUS+10_000_000 {
			t.Fatalf("wall time %d after a TIME of %d: want the previous clock running on from %d", got, bad, uint64(welcomeWallUS))
		}
	}
	// The last acceptable time is accepted and does not wrap.
	h.cloud.send(t, link.Frame{Type: link.FrameTime, WallTimeUS: 253_402_300_800_000_000})
	h.cloud.sync(t)
	h.clk.advance(time.Hour)
	wantStatus(t, "after the latest valid TIME", h.k.GetWallTime(out), abi.StatusOkay)
	if got, want := h.u64(out), uint64(253_402_300_800_000_000+3_600_000_000); got != want {
		t.Fatalf("wall time %d, want %d", got, want)
	}
}

// A subscribe or unsubscribe response must carry one reason code per topic
// requested when it completed (an unsubscribe may carry none: MQTT 3.1.1),
// and none when it did not (link/mqtt_doc.go; MQTT: one code per topic
// filter, in order). Any other count ends the channel like a malformed
// item: the request is answered NOTCONNECTED.
func TestMQTTResponseCodesMustMatchTopics(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	completed := uint32(abi.MQTTRequestStateRequestCompleted)
	for i, tc := range []struct {
		name  string
		unsub bool
		state uint32
		codes []byte
		valid bool
	}{
		{"subscribe, fewer codes than topics", false, completed, []byte{1}, false},
		{"subscribe, more codes than topics", false, completed, []byte{1, 1, 1}, false},
		{"unsubscribe, fewer codes than topics", true, completed, []byte{0}, false},
		{"subscribe refused with codes", false, uint32(abi.MQTTRequestStateInvalidParameters), []byte{0x80, 0x80}, false},
		{"subscribe, one code per topic", false, completed, []byte{1, 0x80}, true},
		{"unsubscribe, one code per topic", true, completed, []byte{0, 0x11}, true},
		{"unsubscribe, no codes (MQTT 3.1.1)", true, completed, nil, true},
		{"subscribe refused without codes", false, uint32(abi.MQTTRequestStateInvalidParameters), nil, true},
	} {
		tag := uint32(0x200 + i)
		h.clk.advance(time.Second)
		ch := h.mqttConnected(c, nw, 1024, 512, tag)
		var item link.MQTTItem
		if tc.unsub {
			wantStatus(t, tc.name, h.k.MQTTRequestUnsubscribe(ch.handle, h.unsubReq(7, "a", "b")), abi.StatusOkay)
			item = &link.MQTTUnsubscribeResponseItem{RequestState: tc.state, CorrelationID: 7, ReasonCodes: tc.codes}
		} else {
			wantStatus(t, tc.name, h.k.MQTTRequestSubscribe(ch.handle, h.subReq(7, h.sub("a", 1), h.sub("b", 0))), abi.StatusOkay)
			item = &link.MQTTSubscribeResponseItem{RequestState: tc.state, CorrelationID: 7, ReasonCodes: tc.codes}
		}
		h.cloud.waitRequests(t, ch.handle, 2)
		h.cloud.item(t, ch.handle, item)
		r, st := codesResp{}, abi.Status(0)
		if tc.valid {
			c.wait(abi.EventTypeChannelDataReadable, tag)
			r, st = h.readSub(ch, tc.unsub, 8)
			wantStatus(t, tc.name, st, abi.StatusOkay)
			if uint32(r.state) != tc.state || len(r.codes) != len(tc.codes) {
				t.Fatalf("%s: response %+v", tc.name, r)
			}
		} else {
			c.wait(abi.EventTypeChannelNotConnected, tag)
			if rs := h.closureReason(ch); rs != abi.ClosureReasonUnexpectedlyTerminated {
				t.Fatalf("%s: closure reason %v", tc.name, rs)
			}
			r, st = h.readSub(ch, tc.unsub, 8)
			wantStatus(t, tc.name, st, abi.StatusOkay)
			if r.state != abi.MQTTRequestStateNotConnected || len(r.codes) != 0 {
				t.Fatalf("%s: the request was answered %+v, want NOTCONNECTED without codes", tc.name, r)
			}
		}
		h.closeChannel(ch)
		c.forget()
	}
}
