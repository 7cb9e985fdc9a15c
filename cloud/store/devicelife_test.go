package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/nats-io/nats.go/jetstream"
)

// Two creates racing for one UniqueName: one wins, and the loser leaves no
// device behind (issue 8: it used to stay registered without a name).
func TestCreateDeviceNameRace(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	for round := range 10 {
		name := "pump-" + string(rune('a'+round))
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateDevice(ctx, devID(100*round+i), name)
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			_, gerr := s.GetDevice(ctx, devID(100*round+i))
			switch {
			case err == nil:
				won++
				if gerr != nil {
					t.Fatalf("winner %d not registered: %v", i, gerr)
				}
			case errors.Is(err, ErrConflict):
				if !errors.Is(gerr, ErrNotFound) {
					t.Fatalf("round %d: loser %d (%v) left registered: %v", round, i, err, gerr)
				}
			default:
				t.Fatalf("create %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates won the name, want 1 (%v)", round, won, errs)
		}
	}
	must[Device](t)(s.CreateDevice(ctx, devID(9999), ""))
	if _, err := s.CreateDevice(ctx, devID(9999), ""); !errors.Is(err, ErrConflict) {
		t.Fatalf("create of a registered SID: %v, want ErrConflict", err)
	}
}

func TestDeleteDevice(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	a, b := devID(1), devID(2)
	must[Device](t)(s.CreateDevice(ctx, a, "kitchen"))
	must[Device](t)(s.CreateDevice(ctx, b, "hall"))
	for _, d := range []string{a, b} {
		must[Config](t)(s.PutConfig(ctx, DeviceScope(d), "room", []byte(d), Upsert))
		must[SecretInfo](t)(s.PutSecret(ctx, DeviceScope(d), "token", []byte(d), Upsert))
		if err := s.AppendLog(ctx, d, 1, time.Now(), []byte("hello from "+d)); err != nil {
			t.Fatal(err)
		}
	}
	deleted := make(chan string, 4)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := s.WatchDeletedDevices(wctx, func(sid string) { deleted <- sid }); err != nil {
		t.Fatal(err)
	}

	d, err := s.DeleteDevice(ctx, "kitchen")
	if err != nil || d.Sid != a {
		t.Fatalf("DeleteDevice: %+v, %v", d, err)
	}
	select {
	case sid := <-deleted:
		if sid != a {
			t.Fatalf("watch reported %s, want %s", sid, a)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the watch did not report the deletion")
	}
	if ok, err := s.DeviceRegistered(ctx, a); ok || err != nil {
		t.Fatalf("DeviceRegistered after delete: %v, %v", ok, err)
	}
	if _, err := s.GetDevice(ctx, "kitchen"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetDevice by the deleted name: %v", err)
	}
	if _, err := s.DeleteDevice(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
	// Re-created with the same SID, it starts empty; the name is free.
	must[Device](t)(s.CreateDevice(ctx, a, "kitchen"))
	if l := must[List[Config]](t)(s.ListConfigs(ctx, DeviceScope(a), Page{})); len(l.Items) != 0 {
		t.Fatalf("configs survived the delete: %+v", l.Items)
	}
	if l := must[List[SecretInfo]](t)(s.ListSecrets(ctx, DeviceScope(a), Page{})); len(l.Items) != 0 {
		t.Fatalf("secrets survived the delete: %+v", l.Items)
	}
	if l := must[[]LogLine](t)(s.ReadLogs(ctx, a, LogFrom{}, 10)); len(l) != 0 {
		t.Fatalf("logs survived the delete: %+v", l)
	}
	// The other device keeps everything.
	if v, ok := fetch(t, s, b, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "room"); !ok || v != b {
		t.Fatalf("other device's config: %q %v", v, ok)
	}
	if l := must[[]LogLine](t)(s.ReadLogs(ctx, b, LogFrom{}, 10)); len(l) != 1 {
		t.Fatalf("other device's logs: %+v", l)
	}
}

// A delete that failed after removing the record (the store failing half
// way) left the device's configs, secrets and logs behind: a retry by SID
// removes them, and a device created with the SID does not inherit them.
// Before, the retry was ErrNotFound and the new device got the old one's
// secrets.
func TestDeleteDeviceLeftovers(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	leave := func(sid string) {
		t.Helper()
		must[Device](t)(s.CreateDevice(ctx, sid, ""))
		must[Config](t)(s.PutConfig(ctx, DeviceScope(sid), "room", []byte(sid), Upsert))
		must[SecretInfo](t)(s.PutSecret(ctx, DeviceScope(sid), "token", []byte(sid), Upsert))
		if err := s.AppendLog(ctx, sid, 1, time.Now(), []byte("hello from "+sid)); err != nil {
			t.Fatal(err)
		}
		// What DeleteDevice had done when the store failed.
		if err := s.devices.Purge(ctx, sid); err != nil {
			t.Fatal(err)
		}
	}
	empty := func(what, sid string) {
		t.Helper()
		if l := must[List[Config]](t)(s.ListConfigs(ctx, DeviceScope(sid), Page{})); len(l.Items) != 0 {
			t.Fatalf("%s: configs left: %+v", what, l.Items)
		}
		if l := must[List[SecretInfo]](t)(s.ListSecrets(ctx, DeviceScope(sid), Page{})); len(l.Items) != 0 {
			t.Fatalf("%s: secrets left: %+v", what, l.Items)
		}
		if l := must[[]LogLine](t)(s.ReadLogs(ctx, sid, LogFrom{}, 10)); len(l) != 0 {
			t.Fatalf("%s: logs left: %+v", what, l)
		}
	}
	retried, recreated, registered := devID(1), devID(2), devID(3)
	for _, sid := range []string{retried, recreated, registered} {
		leave(sid)
	}
	if _, err := s.DeleteDevice(ctx, retried); !errors.Is(err, ErrNotFound) {
		t.Fatalf("retried delete: %v, want ErrNotFound", err)
	}
	// Gone with no device registered: the store itself holds none of it.
	for _, kv := range []jetstream.KeyValue{s.deviceConfigs, s.deviceSecrets} {
		kl, err := kv.ListKeysFiltered(ctx, retried+".*")
		if err != nil {
			t.Fatal(err)
		}
		for k := range kl.Keys() {
			t.Errorf("after a retried delete: %s left in %s", k, kv.Bucket())
		}
	}
	if info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(logSubject(retried))); err != nil {
		t.Fatal(err)
	} else if n := info.State.Subjects[logSubject(retried)]; n != 0 {
		t.Errorf("after a retried delete: %d log lines left", n)
	}
	must[Device](t)(s.CreateDevice(ctx, retried, ""))
	empty("after a retried delete", retried)
	must[Device](t)(s.CreateDevice(ctx, recreated, "kitchen"))
	empty("created again", recreated)
	must[Device](t)(s.RegisterDevice(ctx, registered))
	empty("registered again", registered)
}
