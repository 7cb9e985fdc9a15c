package test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/link"
)

// memStore is an in-memory cloud.ConfigStore and cloud.LogStore: what the
// persistent store provides, for these tests only.
type memStore struct {
	mu       sync.Mutex
	values   map[string]string
	lines    map[string][]string
	seen     map[string]map[uint64]bool
	disabled map[string]bool
}

func newMemStore() *memStore {
	return &memStore{values: map[string]string{}, lines: map[string][]string{}, seen: map[string]map[uint64]bool{}, disabled: map[string]bool{}}
}

func storeKey(device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) string {
	if scope == abi.ConfigKeyFetchScopeAccount {
		device = "*"
	}
	return fmt.Sprintf("%d/%d/%s/%s", scope, store, device, key)
}

func (m *memStore) set(device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[storeKey(device, scope, store, key)] = value
}

func (m *memStore) Fetch(_ context.Context, device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[storeKey(device, scope, store, key)]
	return []byte(v), ok, nil
}

func (m *memStore) AppendLog(_ context.Context, device string, seq uint64, _ time.Time, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen[device] == nil {
		m.seen[device] = map[uint64]bool{}
	}
	if !m.seen[device][seq] {
		m.seen[device][seq] = true
		m.lines[device] = append(m.lines[device], string(line))
	}
	return nil
}

func (m *memStore) LoggingEnabled(_ context.Context, device string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.disabled[device], nil
}

func (m *memStore) setDisabled(device string, v bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.disabled[device] = v
}

func (m *memStore) logged(device string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.lines[device]...)
}

var (
	_ cloud.ConfigStore = (*memStore)(nil)
	_ cloud.LogStore    = (*memStore)(nil)
)

const (
	devA = "UV000000000000000000000000000000aa"
	devB = "UV000000000000000000000000000000bb"
)

func TestConfigFetchEndToEnd(t *testing.T) {
	st := newMemStore()
	const (
		acct, devScope = abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchScopeDevice
		cfg, secret    = abi.ConfigKeyFetchStoreConfig, abi.ConfigKeyFetchStoreSecret
	)
	st.set("", acct, cfg, "broker-host", "mqtt.example.com")
	st.set(devA, devScope, secret, "api-key", "a-secret")
	st.set(devB, devScope, secret, "api-key", "b-secret")
	st.set(devB, devScope, cfg, "only-b", "b")
	c := testenv.NewCloud(t, cloud.Options{Config: st, Logs: st})
	ctx := testenv.Context(t, 30*time.Second)
	connect := func(id string) (*device.Device, *device.Net) {
		d := testenv.NewDevice(t, c, device.Options{DeviceID: id})
		n, err := d.Connect(ctx, irq)
		if err != nil {
			t.Fatal(err)
		}
		return d, n
	}
	a, na := connect(devA)
	b, nb := connect(devB)

	keys := []device.ConfigKey{
		{Scope: acct, Store: cfg, Key: "broker-host"},
		{Scope: devScope, Store: secret, Key: "api-key"},
		{Scope: acct, Store: cfg, Key: "missing"},
		{Scope: devScope, Store: cfg, Key: "only-b"}, // another device's key
	}
	res, items, err := a.FetchConfig(ctx, na, keys, 1024, 512)
	if err != nil {
		t.Fatal(err)
	}
	want := []device.ConfigItem{
		{Result: abi.ConfigKeyFetchResultOK, Value: []byte("mqtt.example.com")},
		{Result: abi.ConfigKeyFetchResultOK, Value: []byte("a-secret")},
		{Result: abi.ConfigKeyFetchResultKeyNotFound, Value: []byte{}},
		{Result: abi.ConfigKeyFetchResultKeyNotFound, Value: []byte{}},
	}
	if res != abi.ConfigFetchResultOK || !reflect.DeepEqual(items, want) {
		t.Fatalf("device A: %v %+v, want %+v", res, items, want)
	}
	_, items, err = b.FetchConfig(ctx, nb, keys, 1024, 512)
	if err != nil || string(items[1].Value) != "b-secret" || string(items[3].Value) != "b" {
		t.Fatalf("device B: %+v %v", items, err)
	}

	// The whole answer must fit the receive ring: exactly 1024 bytes does,
	// one more does not.
	fits := 1024 - link.ConfigResponseFixedLen - link.ConfigItemFixedLen
	st.set("", acct, cfg, "fits", strings.Repeat("f", fits))
	st.set("", acct, cfg, "over", strings.Repeat("o", fits+1))
	res, items, err = a.FetchConfig(ctx, na, []device.ConfigKey{{Scope: acct, Store: cfg, Key: "fits"}}, 1024, 512)
	if err != nil || res != abi.ConfigFetchResultOK || len(items) != 1 || len(items[0].Value) != fits {
		t.Fatalf("exact fit: %v %d items %v", res, len(items), err)
	}
	res, items, err = a.FetchConfig(ctx, na, []device.ConfigKey{{Scope: acct, Store: cfg, Key: "over"}}, 1024, 512)
	if err != nil || res != abi.ConfigFetchResultResponseTooLarge || len(items) != 0 {
		t.Fatalf("one byte over: %v %d items %v", res, len(items), err)
	}
}

func TestConfigFetchWithoutStoreEndToEnd(t *testing.T) {
	c := testenv.NewCloud(t, cloud.Options{})
	ctx := testenv.Context(t, 30*time.Second)
	d := testenv.NewDevice(t, c, device.Options{})
	n, err := d.Connect(ctx, irq)
	if err != nil {
		t.Fatal(err)
	}
	_, items, err := d.FetchConfig(ctx, n, []device.ConfigKey{{Key: "a"}, {Key: "b"}}, 512, 512)
	if err != nil || len(items) != 2 || items[0].Result != abi.ConfigKeyFetchResultServerError || items[1].Result != abi.ConfigKeyFetchResultServerError {
		t.Fatalf("%+v %v", items, err)
	}
	// Without a log store, logging is disabled.
	if _, st, err := d.ServerLoggingInit(512); err != nil || st != abi.StatusOkay {
		t.Fatal(st, err)
	}
	eventually(t, "LOGGINGDISABLEDBYSERVER", func() bool {
		st, _ := d.ServerLog("x")
		return st == abi.StatusLoggingDisabledByServer
	})
}

// Lines logged before any network request travel over Microvisor's own
// link; lines logged while the link is down are delivered after it
// returns, each exactly once and in order.
func TestServerLogEndToEnd(t *testing.T) {
	st := newMemStore()
	c := testenv.NewCloud(t, cloud.Options{Config: st, Logs: st})
	d := testenv.NewDevice(t, c, device.Options{DeviceID: devA})
	if _, s, err := d.ServerLoggingInit(4096); err != nil || s != abi.StatusOkay {
		t.Fatal(s, err)
	}
	var want []string
	logLine := func(s string) {
		t.Helper()
		if st, err := d.ServerLog(s); err != nil || st != abi.StatusOkay {
			t.Fatalf("mvServerLog(%q): %v %v", s, st, err)
		}
		want = append(want, s)
	}
	logLine("before the link")
	eventually(t, "link up", d.Kernel.LinkUp)
	for i := range 5 {
		logLine(fmt.Sprintf("boot %d", i))
	}
	eventually(t, "boot lines stored", func() bool { return len(st.logged(devA)) == len(want) })

	// Offline: the link is cut and refused; lines wait in the buffer.
	if err := c.Faults().DropLink(devA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "link down", func() bool { return !d.Kernel.LinkUp() })
	for i := range 10 {
		logLine(fmt.Sprintf("offline %d", i))
	}
	if err := c.Faults().RestoreLink(devA); err != nil {
		t.Fatal(err)
	}
	eventually(t, "offline lines stored", func() bool { return len(st.logged(devA)) >= len(want) })
	// Several reconnects more, while lines keep coming: still once each.
	for r := range 3 {
		logLine(fmt.Sprintf("flap %d", r))
		if err := c.Faults().DropLink(devA); err != nil {
			t.Fatal(err)
		}
		logLine(fmt.Sprintf("flap %d offline", r))
		if err := c.Faults().RestoreLink(devA); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "every line stored", func() bool { return len(st.logged(devA)) >= len(want) })
	// Lines travel in order, so a duplicate of an earlier line would be
	// stored before a line logged now: once that one is stored, the record
	// is final up to it.
	logLine("after the flaps")
	eventually(t, "the last line stored", func() bool { return slices.Contains(st.logged(devA), "after the flaps") })
	if got := st.logged(devA); !reflect.DeepEqual(got, want) {
		t.Fatalf("stored\n%q\nwant\n%q", got, want)
	}

	// The server disables logging for the device.
	st.setDisabled(devA, true)
	if !c.SetLogging(devA, false) {
		t.Fatal("SetLogging: device not connected")
	}
	eventually(t, "LOGGINGDISABLEDBYSERVER", func() bool {
		s, _ := d.ServerLog("refused")
		return s == abi.StatusLoggingDisabledByServer
	})
	st.setDisabled(devA, false)
	c.SetLogging(devA, true)
	eventually(t, "logging again", func() bool {
		s, _ := d.ServerLog("again")
		return s == abi.StatusOkay
	})
	eventually(t, "line stored", func() bool {
		l := st.logged(devA)
		return len(l) > 0 && l[len(l)-1] == "again"
	})
	if s, _ := d.ServerLog(strings.Repeat("x", 513)); s != abi.StatusLogMessageTooLong {
		t.Fatalf("513 bytes: %v", s)
	}
}
