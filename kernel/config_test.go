package kernel_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
	"github.com/mvnet/mvnet/mem"
)

// configParams places keys in SRAM and returns an MvConfigKeyFetchParams
// pointing at them.
func (h *harness) configParams(keys []link.ConfigKey) mem.Addr {
	h.t.Helper()
	v := abi.ConfigKeyFetchParams{NumItems: uint32(len(keys))}
	if len(keys) > 0 {
		ks := make([]abi.ConfigKeyToFetch, len(keys))
		for i, k := range keys {
			ks[i] = abi.ConfigKeyToFetch{Scope: abi.ConfigKeyFetchScope(k.Scope), Store: abi.ConfigKeyFetchStore(k.Store), Key: h.str(k.Key)}
		}
		v.KeysToFetch = h.alloc(uint64(16*len(ks)), 4)
		if err := abi.Device.WriteConfigKeysToFetch(h.a, v.KeysToFetch, ks); err != nil {
			h.t.Fatal(err)
		}
	}
	return h.configParamsRaw(v)
}

func (h *harness) configParamsRaw(v abi.ConfigKeyFetchParams) mem.Addr {
	h.t.Helper()
	p := h.alloc(8, 4)
	if err := abi.Device.WriteConfigKeyFetchParams(h.a, p, v); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) fetch(ch *channel, keys ...link.ConfigKey) abi.Status {
	h.t.Helper()
	return h.k.SendConfigFetchRequest(ch.handle, h.configParams(keys))
}

// readItem reads item i with a buffer of size bytes.
func (h *harness) readItem(ch *channel, i, size uint32) (abi.ConfigKeyFetchResult, []byte, abi.Status) {
	h.t.Helper()
	res, buf, ln := h.out(4), h.out(uint64(max(size, 1))), h.out(4)
	p := h.alloc(20, 4)
	if err := abi.Device.WriteConfigResponseReadItemParams(h.a, p, abi.ConfigResponseReadItemParams{
		ItemIndex: i, Result: res, Buf: abi.SizedStringBuffer{Data: buf, Size: size, Length: ln},
	}); err != nil {
		h.t.Fatal(err)
	}
	st := h.k.ReadConfigResponseItem(ch.handle, p)
	if st != abi.StatusOkay {
		if h.u32(res) != sentinel || h.u32(ln) != sentinel {
			h.t.Fatalf("mvReadConfigResponseItem %v wrote its outputs", st)
		}
		return 0, nil, st
	}
	return abi.ConfigKeyFetchResult(h.u32(res)), h.bytes(buf, uint64(h.u32(ln))), st
}

func (h *harness) configData(ch *channel) (abi.ConfigResponseData, abi.Status) {
	h.t.Helper()
	out := h.out(8)
	st := h.k.ReadConfigFetchResponseData(ch.handle, out)
	d, err := abi.Device.ReadConfigResponseData(h.a, out)
	if err != nil {
		h.t.Fatal(err)
	}
	return d, st
}

var (
	acctCfg = func(k string) link.ConfigKey {
		return link.ConfigKey{Scope: uint8(abi.ConfigKeyFetchScopeAccount), Store: uint8(abi.ConfigKeyFetchStoreConfig), Key: k}
	}
	devSecret = func(k string) link.ConfigKey {
		return link.ConfigKey{Scope: uint8(abi.ConfigKeyFetchScopeDevice), Store: uint8(abi.ConfigKeyFetchStoreSecret), Key: k}
	}
)

func TestConfigFetchItemsInOrder(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 1024, 512, 0xC1)
	keys := []link.ConfigKey{acctCfg("broker-host"), devSecret("api-key"), acctCfg("missing"), acctCfg("broken")}
	wantStatus(t, "mvSendConfigFetchRequest", h.fetch(ch, keys...), abi.StatusOkay)
	eventually(t, "request at the cloud", func() bool {
		_, _, err := link.ParseConfigRequest(h.cloud.data(ch.handle))
		return err == nil
	})
	req, _, _ := link.ParseConfigRequest(h.cloud.data(ch.handle))
	if !reflect.DeepEqual(req.Keys, keys) {
		t.Fatalf("cloud got %+v, want %+v", req.Keys, keys)
	}
	if !bytes.Equal(h.bytes(ch.tx, uint64(link.ConfigRequestSize(&req))), h.cloud.data(ch.handle)) {
		t.Fatal("the send ring differs from what the cloud received")
	}
	d, st := h.configData(ch)
	wantStatus(t, "mvReadConfigFetchResponseData before the answer", st, abi.StatusResponseNotPresent)
	_, _, st = h.readItem(ch, 0, 64)
	wantStatus(t, "mvReadConfigResponseItem before the answer", st, abi.StatusResponseNotPresent)

	resp := link.ConfigResponse{Items: []link.ConfigItem{
		{Result: uint8(abi.ConfigKeyFetchResultOK), Value: []byte("mqtt.example.com")},
		{Result: uint8(abi.ConfigKeyFetchResultOK), Value: []byte("s3cr3t")},
		{Result: uint8(abi.ConfigKeyFetchResultKeyNotFound)},
		{Result: uint8(abi.ConfigKeyFetchResultServerError)},
	}}
	enc := link.AppendConfigResponse(nil, &resp)
	h.cloud.sendData(t, ch.handle, enc[:7]) // in two pieces
	h.cloud.sendData(t, ch.handle, enc[7:])
	c.wait(abi.EventTypeChannelDataReadable, 0xC1)
	d, st = h.configData(ch)
	wantStatus(t, "mvReadConfigFetchResponseData", st, abi.StatusOkay)
	if d.Result != abi.ConfigFetchResultOK || d.NumItems != 4 {
		t.Fatalf("response data %+v", d)
	}
	for i, want := range resp.Items {
		res, v, st := h.readItem(ch, uint32(i), 64)
		wantStatus(t, "mvReadConfigResponseItem", st, abi.StatusOkay)
		if uint8(res) != want.Result || !bytes.Equal(v, want.Value) {
			t.Fatalf("item %d: %v %q, want %d %q", i, res, v, want.Result, want.Value)
		}
	}
	// Items stay readable: again, out of order, via Call.
	if _, v, _ := h.readItem(ch, 1, 6); string(v) != "s3cr3t" {
		t.Fatalf("item 1 again: %q", v)
	}
	// A buffer one byte too small: PARAMETERFAULT (no INVALIDBUFFERSIZE is
	// listed), nothing written, nothing consumed.
	_, _, st = h.readItem(ch, 0, uint32(len("mqtt.example.com")-1))
	wantStatus(t, "item buffer too small", st, abi.StatusParameterFault)
	if _, v, _ := h.readItem(ch, 0, 16); string(v) != "mqtt.example.com" {
		t.Fatalf("item 0 after a too-small read: %q", v)
	}
	_, _, st = h.readItem(ch, 4, 64)
	wantStatus(t, "index 4 of 4", st, abi.StatusIndexInvalid)
	wantStatus(t, "second request", h.fetch(ch, acctCfg("x")), abi.StatusRequestAlreadySent)

	// Closed by the cloud after the answer: still readable.
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 0xC1)
	if _, st := h.configData(ch); st != abi.StatusOkay {
		t.Fatalf("after CLOSE: %v", st)
	}
}

func TestSendConfigFetchRequestStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 1)
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 2)
	good := []link.ConfigKey{acctCfg("k")}
	many := make([]link.ConfigKey, 17)
	for i := range many {
		many[i] = acctCfg("k")
	}
	long := make([]link.ConfigKey, 16)
	for i := range long {
		long[i] = acctCfg(strings.Repeat("x", 40)) // 16 × 46 + 7 > 512
	}
	for _, tc := range []struct {
		name string
		p    mem.Addr
		h    uint32
		want abi.Status
	}{
		{"params null", 0, ch.handle, abi.StatusParameterFault},
		{"params in flash end", sramEnd - 4, ch.handle, abi.StatusParameterFault},
		{"not a channel", h.configParams(good), 0x1234, abi.StatusInvalidHandle},
		{"HTTP channel", h.configParams(good), httpCh.handle, abi.StatusInvalidHandle},
		{"larger than the send buffer", h.configParams(long), ch.handle, abi.StatusInvalidBufferSize},
		{"17 keys", h.configParams(many), ch.handle, abi.StatusTooManyConfigKeys},
		{"17 keys, array unreadable", h.configParamsRaw(abi.ConfigKeyFetchParams{NumItems: 17, KeysToFetch: 0x10}), ch.handle, abi.StatusTooManyConfigKeys},
		{"scope 2", h.configParams([]link.ConfigKey{acctCfg("a"), {Scope: 2, Store: 1, Key: "b"}}), ch.handle, abi.StatusUnknownConfigScope},
		{"scope before store", h.configParams([]link.ConfigKey{{Scope: 0, Store: 7, Key: "a"}, {Scope: 9, Store: 1, Key: "b"}}), ch.handle, abi.StatusUnknownConfigScope},
		{"store 2", h.configParams([]link.ConfigKey{{Scope: 1, Store: 2, Key: "b"}}), ch.handle, abi.StatusUnknownConfigStore},
		{"store before key", h.configParams([]link.ConfigKey{{Scope: 1, Store: 2, Key: "ok"}, acctCfg("b\n")}), ch.handle, abi.StatusUnknownConfigStore},
		{"key with newline", h.configParams([]link.ConfigKey{acctCfg("a\nb")}), ch.handle, abi.StatusInvalidConfigKey},
		{"key with DEL", h.configParams([]link.ConfigKey{acctCfg("a\x7f")}), ch.handle, abi.StatusInvalidConfigKey},
		{"key with UTF-8", h.configParams([]link.ConfigKey{acctCfg("clé")}), ch.handle, abi.StatusInvalidConfigKey},
		{"empty key", h.configParams([]link.ConfigKey{acctCfg("")}), ch.handle, abi.StatusInvalidConfigKey},
		{"key of 101 bytes", h.configParams([]link.ConfigKey{acctCfg(strings.Repeat("k", 101))}), ch.handle, abi.StatusInvalidConfigKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, "mvSendConfigFetchRequest", h.k.SendConfigFetchRequest(tc.h, tc.p), tc.want)
		})
	}
	h.cloud.sync(t)
	if d := h.cloud.data(ch.handle); len(d) != 0 {
		t.Fatalf("rejected requests sent %d bytes", len(d))
	}
	// The channel is still usable: 16 keys of 100 bytes fit a larger ring.
	wantStatus(t, "valid request", h.fetch(ch, acctCfg(strings.Repeat("k", 100)), acctCfg(" ~")), abi.StatusOkay)
	wantStatus(t, "REQUESTALREADYSENT", h.fetch(ch, good...), abi.StatusRequestAlreadySent)
	wantStatus(t, "REQUESTALREADYSENT before key checks", h.fetch(ch, many...), abi.StatusRequestAlreadySent)

	// LATEFAULT: a bad key array or key bytes leave the channel unusable.
	for _, bad := range []abi.ConfigKeyFetchParams{
		{NumItems: 1, KeysToFetch: 0x10},
		{NumItems: 1, KeysToFetch: func() mem.Addr {
			p := h.alloc(16, 4)
			_ = abi.Device.WriteConfigKeysToFetch(h.a, p, []abi.ConfigKeyToFetch{{Scope: 0, Store: 1, Key: abi.SizedString{Data: sramEnd - 2, Length: 8}}})
			return p
		}()},
	} {
		late := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 3)
		wantStatus(t, "bad nested pointer", h.k.SendConfigFetchRequest(late.handle, h.configParamsRaw(bad)), abi.StatusLateFault)
		wantStatus(t, "after LATEFAULT", h.fetch(late, good...), abi.StatusChannelClosed)
		_, st := h.configData(late)
		wantStatus(t, "response data after LATEFAULT", st, abi.StatusChannelClosed)
		h.closeChannel(late)
	}

	// CHANNELCLOSED: the cloud closed the channel.
	closed := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 4)
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: closed.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 4)
	wantStatus(t, "closed channel", h.fetch(closed, good...), abi.StatusChannelClosed)
	wantStatus(t, "closed channel, 17 keys", h.fetch(closed, many...), abi.StatusChannelClosed)
}

func TestReadConfigStatuses(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 1)
	httpCh := h.open(c, nw, abi.ChannelTypeHTTP, 512, 512, 2)

	// mvReadConfigFetchResponseData: PARAMETERFAULT, CHANNELCLOSED,
	// RESPONSENOTPRESENT.
	for _, bad := range badWritePtrs {
		wantStatus(t, "response data to "+bad.name, h.k.ReadConfigFetchResponseData(ch.handle, bad.addr), abi.StatusParameterFault)
	}
	wantStatus(t, "response data, HTTP handle", h.k.ReadConfigFetchResponseData(httpCh.handle, h.out(8)), abi.StatusParameterFault)
	wantStatus(t, "response data, handle 0", h.call("mvReadConfigFetchResponseData", 0, uint64(h.out(8))), abi.StatusParameterFault)
	wantStatus(t, "response data, no request", h.k.ReadConfigFetchResponseData(ch.handle, h.out(8)), abi.StatusResponseNotPresent)

	// mvReadConfigResponseItem: PARAMETERFAULT, INVALIDHANDLE,
	// RESPONSENOTPRESENT, CHANNELCLOSED, INDEXINVALID.
	wantStatus(t, "item params null", h.k.ReadConfigResponseItem(ch.handle, 0), abi.StatusParameterFault)
	itemParams := func(v abi.ConfigResponseReadItemParams) mem.Addr {
		p := h.alloc(20, 4)
		_ = abi.Device.WriteConfigResponseReadItemParams(h.a, p, v)
		return p
	}
	okBuf := abi.SizedStringBuffer{Data: h.out(16), Size: 16, Length: h.out(4)}
	wantStatus(t, "result ptr in flash", h.k.ReadConfigResponseItem(ch.handle, itemParams(abi.ConfigResponseReadItemParams{Result: flashBase, Buf: okBuf})), abi.StatusParameterFault)
	wantStatus(t, "buf.data bad", h.k.ReadConfigResponseItem(ch.handle, itemParams(abi.ConfigResponseReadItemParams{Result: h.out(4),
		Buf: abi.SizedStringBuffer{Data: sramEnd - 8, Size: 16, Length: h.out(4)}})), abi.StatusParameterFault)
	wantStatus(t, "buf.length bad", h.k.ReadConfigResponseItem(ch.handle, itemParams(abi.ConfigResponseReadItemParams{Result: h.out(4),
		Buf: abi.SizedStringBuffer{Data: h.out(16), Size: 16, Length: 0}})), abi.StatusParameterFault)
	good := itemParams(abi.ConfigResponseReadItemParams{Result: h.out(4), Buf: okBuf})
	wantStatus(t, "item, HTTP handle", h.k.ReadConfigResponseItem(httpCh.handle, good), abi.StatusInvalidHandle)
	wantStatus(t, "item, no request", h.k.ReadConfigResponseItem(ch.handle, good), abi.StatusResponseNotPresent)

	wantStatus(t, "fetch", h.fetch(ch, acctCfg("a")), abi.StatusOkay)
	wantStatus(t, "item, before the answer", h.k.ReadConfigResponseItem(ch.handle, good), abi.StatusResponseNotPresent)
	h.cloud.sendData(t, ch.handle, link.AppendConfigResponse(nil, &link.ConfigResponse{Items: []link.ConfigItem{{Value: []byte("v")}}}))
	c.wait(abi.EventTypeChannelDataReadable, 1)
	wantStatus(t, "item 0", h.k.ReadConfigResponseItem(ch.handle, good), abi.StatusOkay)
	wantStatus(t, "item 1", h.k.ReadConfigResponseItem(ch.handle, itemParams(abi.ConfigResponseReadItemParams{ItemIndex: 1, Result: h.out(4), Buf: okBuf})), abi.StatusIndexInvalid)

	// CHANNELCLOSED: closed before any answer.
	ch2 := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 3)
	wantStatus(t, "fetch", h.fetch(ch2, acctCfg("a")), abi.StatusOkay)
	h.cloud.send(t, link.Frame{Type: link.FrameClose, Chan: ch2.handle, Reason: uint8(abi.ClosureReasonChannelClosedByServer)})
	c.wait(abi.EventTypeChannelNotConnected, 3)
	_, st := h.configData(ch2)
	wantStatus(t, "response data, closed", st, abi.StatusChannelClosed)
	wantStatus(t, "item, closed", h.k.ReadConfigResponseItem(ch2.handle, good), abi.StatusChannelClosed)
}

// A response larger than the receive ring breaks the protocol (the cloud
// must answer RESPONSETOOLARGE instead): the kernel ends the channel.
func TestConfigResponseOverTheRing(t *testing.T) {
	h := newHarness(t)
	c, nw := h.ready()
	ch := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 1)
	wantStatus(t, "fetch", h.fetch(ch, acctCfg("big")), abi.StatusOkay)
	resp := link.ConfigResponse{Items: []link.ConfigItem{{Value: make([]byte, 512-link.ConfigResponseFixedLen-link.ConfigItemFixedLen+1)}}}
	enc := link.AppendConfigResponse(nil, &resp)
	h.cloud.sendData(t, ch.handle, enc[:512]) // all the credit there is
	c.wait(abi.EventTypeChannelNotConnected, 1)
	if r := h.closureReason(ch); r != abi.ClosureReasonUnexpectedlyTerminated {
		t.Fatalf("closure reason %v", r)
	}
	// The cloud's answer instead: RESPONSETOOLARGE, no items.
	ch2 := h.open(c, nw, abi.ChannelTypeConfigFetch, 512, 512, 2)
	wantStatus(t, "fetch", h.fetch(ch2, acctCfg("big")), abi.StatusOkay)
	h.cloud.sendData(t, ch2.handle, link.AppendConfigResponse(nil, &link.ConfigResponse{Result: uint32(abi.ConfigFetchResultResponseTooLarge)}))
	c.wait(abi.EventTypeChannelDataReadable, 2)
	d, st := h.configData(ch2)
	if st != abi.StatusOkay || d.Result != abi.ConfigFetchResultResponseTooLarge || d.NumItems != 0 {
		t.Fatalf("response data %+v %v", d, st)
	}
}
