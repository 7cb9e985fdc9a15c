package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
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
