package broker

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// listener is a mochi listeners.Listener over a net.Listener we opened
// ourselves, so that the bound address (port 0) is known at once. Unlike
// mochi's TCP listener it
//
//   - bounds the time to CONNECT (ConnectTimeout);
//   - keeps track of every accepted connection and closes them all on Close:
//     a client that never sent CONNECT would otherwise hold mochi's Close
//     forever;
//   - makes Close return only once every connection handler has entered
//     mochi's attachClient, which calls Listeners.ClientsWg.Add(1) first
//     thing: mochi's Close calls ClientsWg.Wait() right after the listener's
//     Close, and an Add racing with that Wait is a WaitGroup misuse (the race
//     detector reports it);
//   - disconnects clients without mochi's CloseFn (see the disconnect field);
//   - lets the broker wait for the connection handlers.
type listener struct {
	id  string
	ln  net.Listener
	log *slog.Logger
	// disconnect sends DISCONNECT to the connected clients and stops them.
	// It replaces mochi's CloseFn, whose Clients.GetByListener can deadlock
	// (see disconnectClients).
	disconnect func()

	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
	wg     sync.WaitGroup // connection handlers and Serve
}

var _ listeners.Listener = (*listener)(nil)

// trackedConn is an accepted connection that tells when mochi first reads
// from it: by then attachClient has done ClientsWg.Add(1).
type trackedConn struct {
	net.Conn
	once    sync.Once
	entered chan struct{} // closed at the first Read
	done    chan struct{} // closed when the handler has returned
}

func (c *trackedConn) Read(p []byte) (int, error) {
	c.once.Do(func() { close(c.entered) })
	return c.Conn.Read(p)
}

func (l *listener) ID() string       { return l.id }
func (l *listener) Address() string  { return l.ln.Addr().String() }
func (l *listener) Protocol() string { return "tcp" }

func (l *listener) Init(log *slog.Logger) error {
	l.log = log
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	l.wg.Add(1) // Serve
	return nil
}

func (l *listener) Serve(establish listeners.EstablishFn) {
	defer l.wg.Done()
	var delay time.Duration
	for {
		raw, err := l.ln.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			l.log.Warn("accept failed", "error", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		conn := &trackedConn{Conn: raw, entered: make(chan struct{}), done: make(chan struct{})}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			raw.Close()
			return
		}
		l.conns[conn] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		// mochi replaces this deadline with the keepalive's once CONNECT is
		// accepted.
		_ = raw.SetDeadline(time.Now().Add(ConnectTimeout))
		go func() {
			defer l.wg.Done()
			defer close(conn.done)
			err := establish(l.id, conn)
			raw.Close()
			l.mu.Lock()
			delete(l.conns, conn)
			l.mu.Unlock()
			if err != nil {
				l.log.Debug("connection ended", "remote", raw.RemoteAddr().String(), "error", err)
			}
		}()
	}
}

func (l *listener) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// Close is called by mochi's Server.Close: it disconnects the clients mochi
// knows, stops accepting, closes any other connection and waits until every
// connection handler has entered attachClient (or returned). It ignores
// mochi's CloseFn (see the disconnect field).
func (l *listener) Close(listeners.CloseFn) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()

	l.disconnect()
	_ = l.ln.Close()

	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		_ = c.Conn.Close()
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		select {
		case <-c.entered:
		case <-c.done:
		}
	}
}

// wait waits for Serve and every connection handler to return.
func (l *listener) wait() { l.wg.Wait() }
