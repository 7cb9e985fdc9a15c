package link

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Send after the Conn was closed or failed, and by
// Recv and Err after Close.
var ErrClosed = errors.New("link: connection closed")

// MaxQueued is how many encoded bytes Send may hold for the writer before
// the Conn fails: a peer that stops reading must not make its sender grow
// without bound. Credit-based flow control keeps a healthy link far below it.
const MaxQueued = 16 * MaxFrameLen

// errQueueOverflow is the Conn's error when MaxQueued is exceeded.
var errQueueOverflow = fmt.Errorf("%w: send queue over %d bytes (peer not reading)", ErrClosed, MaxQueued)

// Conn carries frames over a net.Conn (a TLS connection, or one end of a
// Pipe). Send never blocks on the peer: it encodes the frame, appends it to
// a queue and returns, and a writer goroutine drains the queue in order (it
// runs while there is something to write, so an idle link has none: a
// cloud holds thousands). So
// both ends of a synchronous net.Pipe may send from their reader goroutines
// without deadlock. Hold and Release let a goroutine send several frames
// in one write, which it makes itself. Recv is for one reader goroutine.
// Send, Hold, Release, Flush, Close, Done and Err may be called from any
// goroutine.
type Conn struct {
	nc   net.Conn
	br   *bufio.Reader // used only by the Recv goroutine
	done chan struct{} // closed when the Conn is closed or failed

	closeOnce sync.Once
	recvErr   error // sticky Recv error; used only by the Recv goroutine

	born     time.Time    // when NewConn ran; lastRead counts from it
	lastRead atomic.Int64 // ns after born of the last byte read from nc
	// kaTimer is the keep-alive's timer (KeepAlive), stopped when the Conn
	// ends so that a closed link is not kept in memory until it fires.
	kaTimer atomic.Pointer[time.Timer]

	mu       sync.Mutex
	pending  []byte        // encoded frames not yet handed to the writer
	spare    []byte        // the writer's last buffer, for reuse
	writing  bool          // writeLoop is running: it will take what is queued
	holds    int           // Holds not yet Released: Send starts no writer
	writer   func()        // c.writeLoop, made once: a go statement of a method value allocates each time
	queued   uint64        // frames ever queued
	written  uint64        // frames ever written to nc
	progress chan struct{} // made by a waiting Flush; closed (and cleared) when written advances
	err      error         // why the Conn ended; nil while open
}

// readBufferSize is the link's read buffer. It only batches the reads of
// small frames (ReadFrame parses those in it; a larger frame is read
// straight into a buffer of its own), and a TLS connection buffers a whole
// decrypted record already, so a small one is enough: a cloud holding
// thousands of idle links pays for each (issue 11, memory per idle
// device; 4 KiB before).
const readBufferSize = 512

// keptWriteBuffer is the largest write buffer a Conn keeps while it has
// nothing to write: enough for a request's frames, reused without
// allocating; a burst's larger buffers are dropped.
const keptWriteBuffer = 4 << 10

// NewConn starts a Conn over c. The Conn owns c from now on: Close closes it.
func NewConn(c net.Conn) *Conn {
	conn := &Conn{
		nc:   c,
		born: time.Now(),
		done: make(chan struct{}),
	}
	conn.writer = conn.writeLoop
	conn.br = bufio.NewReaderSize(activityReader{conn}, readBufferSize)
	return conn
}

// Pipe returns the two ends of an in-process, synchronous link (net.Pipe).
func Pipe() (device, cloud net.Conn) { return net.Pipe() }

// Send encodes f and queues it for writing. It does not wait for the peer.
// It returns the error of AppendFrame for an invalid frame (the Conn stays
// usable), and ErrClosed once the Conn has been closed or has failed. If the
// queue would exceed MaxQueued the Conn fails and Send returns an error that
// wraps ErrClosed.
func (c *Conn) Send(f *Frame) error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return ErrClosed
	}
	n0 := len(c.pending)
	b, err := AppendFrame(c.pending, f)
	if err != nil {
		c.mu.Unlock()
		return err
	}
	if len(b) > MaxQueued {
		c.pending = b[:n0]
		c.mu.Unlock()
		c.fail(errQueueOverflow)
		return errQueueOverflow
	}
	c.pending = b
	c.queued++
	if !c.writing && c.holds == 0 {
		c.writing = true
		go c.writer()
	}
	c.mu.Unlock()
	return nil
}

// Hold makes Send queue frames without starting the writer goroutine
// until the matching Release, whose caller then writes them itself (a
// writer already at work stops after its current write). A
// goroutine that sends a few frames and may then wait for the write (a
// cloud worker with a response) saves the writer's start and wakeup
// (issue 11: a goroutine handoff per write); frames that others send
// meanwhile wait for the Release. Holds nest.
func (c *Conn) Hold() {
	c.mu.Lock()
	c.holds++
	c.mu.Unlock()
}

// Release ends a Hold. The last one writes what is queued in the calling
// goroutine, unless a writer is still in its write (it then takes the
// frames, in one write): it blocks while the write does, so it is not for
// a goroutine that must not wait for the peer (over a synchronous
// net.Pipe, the peer's reader).
func (c *Conn) Release() {
	c.mu.Lock()
	c.holds--
	if c.holds > 0 || c.writing || len(c.pending) == 0 || c.err != nil {
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	c.writeLoop()
}

// writeLoop writes queued frames to nc in order until none is left (or the
// Conn ends, or is held); Send starts it when it queues a frame and none
// runs, and the last Release runs it when none does.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		if c.holds > 0 && c.err == nil {
			// Held: the last Release writes what is queued, in one write.
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.pending) == 0 || c.err != nil {
			c.writing = false
			// An idle link keeps only small buffers.
			if cap(c.spare) > keptWriteBuffer {
				c.spare = nil
			}
			if cap(c.pending) > keptWriteBuffer {
				c.pending = nil
			}
			c.mu.Unlock()
			return
		}
		buf, upTo := c.pending, c.queued
		c.pending, c.spare = c.spare[:0], nil
		c.mu.Unlock()

		if _, err := c.nc.Write(buf); err != nil {
			c.fail(err)
			return // writing stays true: nothing is written any more
		}

		c.mu.Lock()
		if cap(buf) <= 2*MaxFrameLen { // don't hoard a burst's buffer
			c.spare = buf[:0]
		}
		c.written = upTo
		if c.progress != nil { // a Flush waits: wake it (no channel per write otherwise)
			close(c.progress)
			c.progress = nil
		}
		c.mu.Unlock()
	}
}

// Flush waits until every frame queued before the call has been written to
// the underlying connection (over a net.Pipe: read by the peer). It returns
// ctx's error if ctx ends first, or the Conn's error if it fails. Use it to
// deliver a last frame, such as CONTROL ERROR, before Close.
func (c *Conn) Flush(ctx context.Context) error {
	c.mu.Lock()
	target := c.queued
	for {
		if c.written >= target {
			c.mu.Unlock()
			return nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return err
		}
		if c.progress == nil {
			c.progress = make(chan struct{})
		}
		ch := c.progress
		c.mu.Unlock()
		select {
		case <-ch:
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		c.mu.Lock()
	}
}

// Recv reads the next frame. Only one goroutine may call it. Its slices are
// freshly allocated. After an error every later call returns the same error.
//
// A malformed frame (ErrMalformed) ends receiving but leaves the Conn open,
// so that the caller can Send a CONTROL ERROR, Flush and Close. Any other
// error (the peer closed, an I/O error) fails the Conn; after Close, Recv
// returns ErrClosed.
func (c *Conn) Recv() (Frame, error) {
	if c.recvErr != nil {
		return Frame{}, c.recvErr
	}
	f, err := ReadFrame(c.br)
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			c.fail(err)
			err = c.Err() // ErrClosed if we closed first
		}
		c.recvErr = err
		return Frame{}, err
	}
	return f, nil
}

// fail ends the Conn with err (the first error is kept) and closes nc.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.nc.Close()
		if t := c.kaTimer.Load(); t != nil {
			t.Stop()
		}
	})
}

// Close closes the Conn and the underlying connection. Frames still queued
// may be dropped (Flush first to deliver them). It is idempotent and
// returns nil.
func (c *Conn) Close() error {
	c.fail(ErrClosed)
	return nil
}

// Done returns a channel that is closed when the Conn is closed or fails.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the Conn ended: nil while it is open, ErrClosed after
// Close, or the error that failed it (io.EOF when the peer closed).
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// activityReader reads from the Conn's net.Conn and notes when bytes
// arrive, for the keep-alive: a peer in the middle of a large frame is
// alive.
type activityReader struct{ c *Conn }

func (r activityReader) Read(p []byte) (int, error) {
	n, err := r.c.nc.Read(p)
	if n > 0 {
		r.c.lastRead.Store(int64(time.Since(r.c.born)))
	}
	return n, err
}

// ErrTimeout is wrapped by the Conn's error when the keep-alive found the
// peer silent for longer than its timeout (the transport stalled).
var ErrTimeout = errors.New("link: peer silent")

// Keep-alive defaults (link/doc.go, "Keep-alive"): a side sends PING after
// DefaultPingInterval without receiving anything and drops the link after
// DefaultIdleTimeout without receiving anything.
const (
	DefaultPingInterval = 15 * time.Second
	DefaultIdleTimeout  = 45 * time.Second
)

// KeepAlive starts the link's keep-alive: whenever nothing has been
// received from the peer for interval, the Conn sends CONTROL PING (the
// peer's PONG, like any frame, shows it is alive); when nothing has been
// received for timeout, the Conn fails with an error wrapping ErrTimeout
// and is closed, so Recv returns that error. interval ≤ 0 means
// DefaultPingInterval, timeout ≤ 0 DefaultIdleTimeout; a timeout below
// interval is raised to 2×interval. Call it once, after the handshake.
func (c *Conn) KeepAlive(interval, timeout time.Duration) {
	if interval <= 0 {
		interval = DefaultPingInterval
	}
	if timeout <= 0 {
		timeout = DefaultIdleTimeout
	}
	if timeout < interval {
		timeout = 2 * interval
	}
	// A timer rather than a goroutine: a cloud holds many idle links
	// (docs/performance.md, memory per idle device).
	ka := &keepAlive{c: c, interval: interval, timeout: timeout}
	ka.mu.Lock()
	defer ka.mu.Unlock()
	ka.t = time.AfterFunc(interval, ka.check)
	c.kaTimer.Store(ka.t)
	select {
	case <-c.done: // ended before the timer was stored: fail could not stop it
		ka.t.Stop()
	default:
	}
}

// keepAlive is one Conn's keep-alive timer.
type keepAlive struct {
	c                 *Conn
	interval, timeout time.Duration

	mu    sync.Mutex
	t     *time.Timer
	token uint64 // of the last PING
}

// check runs when the timer fires: it fails the Conn after timeout of
// silence, sends PING after interval of silence, and re-arms the timer.
func (ka *keepAlive) check() {
	ka.mu.Lock()
	defer ka.mu.Unlock()
	c := ka.c
	select {
	case <-c.done:
		return
	default:
	}
	idle := time.Since(c.born) - time.Duration(c.lastRead.Load())
	if idle >= ka.timeout {
		c.fail(fmt.Errorf("%w: nothing received for %v (keep-alive timeout)", ErrTimeout, ka.timeout))
		return
	}
	next := ka.interval - idle
	if idle >= ka.interval {
		ka.token++
		_ = c.Send(&Frame{Type: FrameControl, Kind: ControlPing, Token: ka.token})
		next = min(ka.interval, ka.timeout-idle)
	}
	ka.t.Reset(next)
	select {
	case <-c.done: // ended meanwhile (the PING's write failed, say)
		ka.t.Stop()
	default:
	}
}

// LocalAddr returns the underlying connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the underlying connection's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }
