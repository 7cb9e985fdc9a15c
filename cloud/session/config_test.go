package session_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

const cfgCh = uint8(abi.ChannelTypeConfigFetch)

const (
	acct   = uint8(abi.ConfigKeyFetchScopeAccount)
	dev    = uint8(abi.ConfigKeyFetchScopeDevice)
	config = uint8(abi.ConfigKeyFetchStoreConfig)
	secret = uint8(abi.ConfigKeyFetchStoreSecret)
)

// fetch sends a config request on a new channel with receive ring rx and
// returns the response.
func fetch(t *testing.T, d *fakedev.Device, ch uint32, rx uint32, keys ...link.ConfigKey) link.ConfigResponse {
	t.Helper()
	d.Open(ch, cfgCh, rx, 512)
	b := link.AppendConfigRequest(nil, &link.ConfigRequest{Keys: keys})
	d.Data(ch, b[:3])
	d.Data(ch, b[3:])
	if cr := d.Expect(link.FrameCredit); cr.Chan != ch || cr.Credit != uint32(len(b)) {
		t.Fatalf("CREDIT %+v, want %d", cr, len(b))
	}
	var buf []byte
	for {
		f := d.Expect(link.FrameData)
		buf = append(buf, f.Payload...)
		if len(buf) > int(rx) {
			t.Fatalf("%d bytes beyond the receive ring's %d", len(buf), rx)
		}
		resp, n, err := link.ParseConfigResponse(buf)
		if errors.Is(err, link.ErrShort) {
			continue
		}
		if err != nil || n != len(buf) {
			t.Fatalf("response: %v (%d of %d bytes)", err, n, len(buf))
		}
		return resp
	}
}

func TestConfigFetch(t *testing.T) {
	st := newMemStore()
	id := fakedev.ID(1)
	st.set("", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreConfig, "host", "mqtt.example.com")
	st.set(id, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "key", "s3cr3t")
	st.set(fakedev.ID(2), abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "other", "not yours")
	st.failKey = "broken"
	r := hello(t, session.Config{Config: st})
	resp := fetch(t, r.dev, 7, 512,
		link.ConfigKey{Scope: acct, Store: config, Key: "host"},
		link.ConfigKey{Scope: dev, Store: secret, Key: "key"},
		link.ConfigKey{Scope: acct, Store: secret, Key: "host"}, // wrong store
		link.ConfigKey{Scope: dev, Store: secret, Key: "other"}, // another device's
		link.ConfigKey{Scope: acct, Store: config, Key: "broken"},
		link.ConfigKey{Scope: 5, Store: config, Key: "host"},
	)
	ok, nf, se := uint8(abi.ConfigKeyFetchResultOK), uint8(abi.ConfigKeyFetchResultKeyNotFound), uint8(abi.ConfigKeyFetchResultServerError)
	want := link.ConfigResponse{Items: []link.ConfigItem{
		{Result: ok, Value: []byte("mqtt.example.com")}, {Result: ok, Value: []byte("s3cr3t")},
		{Result: nf}, {Result: nf}, {Result: se}, {Result: se},
	}}
	if !reflect.DeepEqual(resp, want) {
		t.Fatalf("response %+v, want %+v", resp, want)
	}
	wantAnswered(t, r, 7, cfgCh)
}

func TestConfigFetchResponseTooLarge(t *testing.T) {
	st := newMemStore()
	// A response of exactly 1024 bytes fits a 1024-byte ring; one byte more
	// does not.
	fits := 1024 - link.ConfigResponseFixedLen - link.ConfigItemFixedLen
	st.set("", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreConfig, "fits", strings.Repeat("v", fits))
	st.set("", abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreConfig, "over", strings.Repeat("v", fits+1))
	r := hello(t, session.Config{Config: st})
	resp := fetch(t, r.dev, 1, 1024, link.ConfigKey{Scope: acct, Store: config, Key: "fits"})
	if resp.Result != uint32(abi.ConfigFetchResultOK) || len(resp.Items) != 1 || len(resp.Items[0].Value) != fits {
		t.Fatalf("exact fit: result %d, %d items", resp.Result, len(resp.Items))
	}
	resp = fetch(t, r.dev, 2, 1024, link.ConfigKey{Scope: acct, Store: config, Key: "over"})
	if resp.Result != uint32(abi.ConfigFetchResultResponseTooLarge) || len(resp.Items) != 0 {
		t.Fatalf("one byte over: %+v", resp)
	}
}

func TestConfigFetchWithoutStore(t *testing.T) {
	r := hello(t, session.Config{})
	resp := fetch(t, r.dev, 1, 512, link.ConfigKey{Scope: acct, Store: config, Key: "a"}, link.ConfigKey{Scope: dev, Store: secret, Key: "b"})
	se := uint8(abi.ConfigKeyFetchResultServerError)
	if !reflect.DeepEqual(resp.Items, []link.ConfigItem{{Result: se}, {Result: se}}) {
		t.Fatalf("items %+v", resp.Items)
	}
	// Logging is disabled without a LogStore.
	if f := r.dev.NextLog(); f.Kind != link.ControlLogging || f.Logging {
		t.Fatalf("got %+v, want LOGGING 0", f)
	}
}

func TestConfigFetchBadRequests(t *testing.T) {
	r := hello(t, session.Config{Config: newMemStore()})
	keys := make([]link.ConfigKey, session.MaxConfigKeys+1)
	for i := range keys {
		keys[i] = link.ConfigKey{Scope: acct, Store: config, Key: "k"}
	}
	for i, b := range [][]byte{
		link.AppendConfigRequest(nil, &link.ConfigRequest{Keys: keys}),
		{8, 0, 0, 0, 2, 0, 0, 0},      // wrong kind
		bytes.Repeat([]byte{0xff}, 4), // total over the ring: waits, then the ring is full
	} {
		ch := uint32(10 + i)
		r.dev.Open(ch, cfgCh, 512, 512)
		if i == 2 {
			b = append([]byte{0, 2, 0, 0, 1}, make([]byte, 507)...) // total 512+: never completes within 512
		}
		r.dev.Data(ch, b)
		for {
			f := r.dev.Next()
			if f.Type == link.FrameClose {
				if f.Chan != ch || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
					t.Fatalf("request %d: %+v", i, f)
				}
				break
			}
			if f.Type != link.FrameCredit {
				t.Fatalf("request %d: got %+v", i, f)
			}
		}
	}
}
