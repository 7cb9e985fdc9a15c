package link

import (
	"errors"
	"sync"
	"testing"
)

func TestWindowAccounting(t *testing.T) {
	w := NewWindow(1024)
	if w.Size() != 1024 || w.Available() != 1024 {
		t.Fatalf("new window: size %d, available %d", w.Size(), w.Available())
	}
	if n := w.Take(300); n != 300 {
		t.Fatalf("Take(300) = %d", n)
	}
	if n := w.Take(1000); n != 724 {
		t.Fatalf("Take(1000) = %d, want the remaining 724", n)
	}
	if n := w.Take(1); n != 0 || w.Available() != 0 {
		t.Fatalf("Take on an empty window = %d (available %d)", n, w.Available())
	}
	if n := w.Take(0); n != 0 {
		t.Fatalf("Take(0) = %d", n)
	}
	if n := w.Take(-5); n != 0 {
		t.Fatalf("Take(-5) = %d", n)
	}
	if err := w.Grant(512); err != nil {
		t.Fatal(err)
	}
	if err := w.Grant(0); err != nil {
		t.Fatal(err)
	}
	if w.Available() != 512 {
		t.Fatalf("Available after Grant(512) = %d", w.Available())
	}
	if err := w.Grant(513); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Grant beyond the window = %v, want ErrProtocol", err)
	}
	if err := w.Grant(-1); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Grant(-1) = %v, want ErrProtocol", err)
	}
	if w.Available() != 512 {
		t.Fatalf("a refused Grant changed the window: %d", w.Available())
	}
	if err := w.Grant(512); err != nil || w.Available() != 1024 {
		t.Fatalf("Grant to full: %v, available %d", err, w.Available())
	}
	if err := w.Grant(1); err == nil {
		t.Fatal("Grant on a full window succeeded")
	}
}

func TestWindowConsume(t *testing.T) {
	w := NewWindow(100)
	if err := w.Consume(60); err != nil {
		t.Fatal(err)
	}
	if err := w.Consume(41); !errors.Is(err, ErrProtocol) {
		t.Fatalf("Consume beyond credit = %v, want ErrProtocol", err)
	}
	if w.Available() != 40 {
		t.Fatalf("a refused Consume changed the window: %d", w.Available())
	}
	if err := w.Consume(-1); err == nil {
		t.Fatal("Consume(-1) succeeded")
	}
	if err := w.Consume(40); err != nil || w.Available() != 0 {
		t.Fatalf("Consume(40): %v, available %d", err, w.Available())
	}
	if NewWindow(-3).Size() != 0 {
		t.Fatal("negative window size not clamped to 0")
	}
}

// TestWindowConcurrent moves credit back and forth from many goroutines;
// the total is conserved (run with -race).
func TestWindowConcurrent(t *testing.T) {
	const size = 4096
	w := NewWindow(size)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 5000 {
				n := w.Take(1 + i%100)
				if err := w.Grant(n); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if w.Available() != size {
		t.Fatalf("Available = %d after balanced Take/Grant, want %d", w.Available(), size)
	}
}
