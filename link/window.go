package link

import (
	"errors"
	"fmt"
	"sync"
)

// ErrProtocol is wrapped by errors about a peer breaking the protocol's
// rules, such as flow control (as opposed to its encoding, ErrMalformed).
var ErrProtocol = errors.New("link: protocol error")

// Window is the credit for one direction of one channel, in bytes. It starts
// full, at its size (the receiving ring's size, from OPEN). The sender calls
// Take before sending DATA and Grant when CREDIT arrives; the receiver may
// keep its own Window of what the peer may still send, calling Consume for
// each DATA received and Grant when it sends CREDIT. A Window is safe for
// concurrent use.
type Window struct {
	size int // immutable

	mu    sync.Mutex
	avail int // 0 ≤ avail ≤ size
}

// NewWindow returns a full window of n bytes (n < 0 is taken as 0).
func NewWindow(n int) *Window {
	w := new(Window)
	w.Init(n)
	return w
}

// Init makes the zero Window w a full window of n bytes (n < 0 is taken
// as 0), for a Window held by value in a larger struct (one allocation
// less per channel). Call it before any other method.
func (w *Window) Init(n int) {
	n = max(n, 0)
	w.size, w.avail = n, n
}

// Size returns the window's size, the most it can hold.
func (w *Window) Size() int { return w.size }

// Available returns the credit available now.
func (w *Window) Available() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.avail
}

// Take consumes and returns as much credit as is available, up to max (0 if
// max ≤ 0): the number of bytes that may be sent now.
func (w *Window) Take(max int) int {
	if max <= 0 {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(max, w.avail)
	w.avail -= n
	return n
}

// Consume takes exactly n bytes of credit, for DATA that has arrived. If
// less than n is available it takes nothing and returns an error wrapping
// ErrProtocol: the peer sent beyond its credit.
func (w *Window) Consume(n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n < 0 || n > w.avail {
		return fmt.Errorf("%w: %d bytes of DATA with %d bytes of credit", ErrProtocol, n, w.avail)
	}
	w.avail -= n
	return nil
}

// Grant returns n bytes of credit. It fails, granting nothing, if n < 0 or
// the credit would exceed the window's size: the peer granted bytes it was
// never sent, a protocol error (wraps ErrProtocol).
func (w *Window) Grant(n int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if n < 0 || n > w.size-w.avail {
		return fmt.Errorf("%w: credit of %d bytes with %d of %d available", ErrProtocol, n, w.avail, w.size)
	}
	w.avail += n
	return nil
}
