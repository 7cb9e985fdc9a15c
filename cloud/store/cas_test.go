package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Issue 8: concurrent updates of one key failed with "key revision
// mismatch" (HTTP 500): the CAS retry looked for ErrKeyExists, which
// nats.go's Update does not report. 20 writers × 25 updates must all
// succeed.
func TestConcurrentWritersOneKey(t *testing.T) {
	ctx := context.Background()
	s := open(t, Options{DataDir: t.TempDir()})
	dev := devID(7)
	must[Device](t)(s.RegisterDevice(ctx, dev))
	const writers, updates = 20, 25
	for _, tc := range []struct {
		name string
		put  func(i, j int) error
	}{
		{"config", func(i, j int) error {
			_, err := s.PutConfig(ctx, AccountScope, "shared", fmt.Appendf(nil, "%d/%d", i, j), Upsert)
			return err
		}},
		{"secret", func(i, j int) error {
			_, err := s.PutSecret(ctx, DeviceScope(dev), "shared", fmt.Appendf(nil, "%d/%d", i, j), Upsert)
			return err
		}},
		{"device", func(i, j int) error {
			on := (i+j)%2 == 0
			_, err := s.UpdateDevice(ctx, dev, nil, &on)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, writers*updates)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range updates {
						if err := tc.put(i, j); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				if n == 0 {
					t.Errorf("first failure: %v", err)
				}
				n++
			}
			if n > 0 {
				t.Errorf("%d of %d updates failed", n, writers*updates)
			}
		})
	}
}
