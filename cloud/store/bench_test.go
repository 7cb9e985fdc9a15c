package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
)

func TestEmbeddedSyncsAlways(t *testing.T) {
	s := open(t, Options{DataDir: t.TempDir()})
	if c := s.srv.JetStreamConfig(); c == nil || !c.SyncAlways {
		t.Fatalf("embedded JetStream config %+v: want SyncAlways", c)
	}
}

// The cost of SyncAlways: go test -run X -bench . ./cloud/store
func BenchmarkWrites(b *testing.B) {
	ctx := context.Background()
	for _, sync := range []bool{true, false} {
		name := map[bool]string{true: "sync", false: "nosync"}[sync]
		s := open(b, Options{DataDir: b.TempDir(), noSync: !sync})
		b.Run("PutSecret/"+name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if _, err := s.PutSecret(ctx, AccountScope, fmt.Sprint("k", i%100), []byte("value"), Upsert); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("AppendLog/"+name, func(b *testing.B) {
			dev := devID(1 + len(name))
			for i := 0; b.Loop(); i++ {
				if err := s.AppendLog(ctx, dev, uint64(i), time.Now(), []byte("a log line of typical length, forty-ish")); err != nil {
					b.Fatal(err)
				}
			}
		})
		s.Close()
	}
}

func BenchmarkFetch(b *testing.B) {
	ctx := context.Background()
	s := open(b, Options{DataDir: b.TempDir()})
	dev := devID(1)
	if _, err := s.RegisterDevice(ctx, dev); err != nil {
		b.Fatal(err)
	}
	if _, err := s.PutSecret(ctx, DeviceScope(dev), "k", []byte("value"), Upsert); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, ok, err := s.Fetch(ctx, dev, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "k"); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkOpen is the start-up the embedded store adds: server start,
// buckets and stream checked, secret key read (second and later starts).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	open(b, Options{DataDir: dir}).Close()
	for b.Loop() {
		s, err := Open(context.Background(), Options{DataDir: dir, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkAppendLogParallel: many devices logging at once (SyncAlways);
// JetStream batches their fsyncs less than one might hope, so compare with
// AppendLog/sync.
func BenchmarkAppendLogParallel(b *testing.B) {
	ctx := context.Background()
	s := open(b, Options{DataDir: b.TempDir()})
	var next atomic.Int64
	b.SetParallelism(50) // 100 goroutines on 2 CPUs: 100 devices
	b.RunParallel(func(pb *testing.PB) {
		dev := devID(int(next.Add(1)))
		for seq := uint64(0); pb.Next(); seq++ {
			if err := s.AppendLog(ctx, dev, seq, time.Now(), []byte("a log line of typical length, forty-ish")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
