package broker

import (
	"context"
	"testing"
	"time"
)

// startBroker starts a broker for the test and closes it at the end; a
// Close that hangs fails the test with the broker's goroutines.
func startBroker(t testing.TB, o Options) *Broker {
	t.Helper()
	b := New(o)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		done := make(chan error, 1)
		go func() { done <- b.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Close: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Close hangs:\n%s", brokerGoroutines())
		}
	})
	return b
}
