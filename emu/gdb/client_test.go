package gdb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// testDeadline bounds how long a test waits for an event that should come
// promptly; it fails the test rather than hanging, and is generous for a
// loaded two-core machine.
const testDeadline = 2 * time.Minute

// server is a Serve running on a loopback port for one test.
type server struct {
	addr   string
	done   chan error
	cancel context.CancelFunc
}

func startServer(t *testing.T, tgt Target, opts ...Option) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: ln.Addr().String(), done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- Serve(ctx, ln, tgt, opts...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(testDeadline):
			t.Error("Serve did not return after its context ended")
		}
	})
	return s
}

// wait returns Serve's result.
func (s *server) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(testDeadline):
		t.Fatal("Serve did not return")
		return nil
	}
}

// client is a minimal debugger side of the protocol for tests.
type client struct {
	t     *testing.T
	c     net.Conn
	r     *bufio.Reader
	noAck bool
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testDeadline))
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: bufio.NewReader(c)}
}

func frame(payload string) string {
	return fmt.Sprintf("$%s#%02x", payload, checksum([]byte(payload)))
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// send sends a packet and, in ack mode, expects the stub's '+'.
func (c *client) send(payload string) {
	c.t.Helper()
	c.write(frame(payload))
	if !c.noAck {
		c.expectByte('+')
	}
}

func (c *client) expectByte(want byte) {
	c.t.Helper()
	b, err := c.r.ReadByte()
	if err != nil {
		c.t.Fatalf("waiting for %q: %v", want, err)
	}
	if b != want {
		c.t.Fatalf("got %q, want %q", b, want)
	}
}

// recvFrame reads one packet, checking its checksum, without acking it.
func (c *client) recvFrame() string {
	c.t.Helper()
	if _, err := c.r.ReadString('$'); err != nil {
		c.t.Fatalf("waiting for a packet: %v", err)
	}
	body, err := c.r.ReadString('#')
	if err != nil {
		c.t.Fatalf("reading a packet: %v", err)
	}
	body = body[:len(body)-1]
	var cs [2]byte
	if _, err := io.ReadFull(c.r, cs[:]); err != nil {
		c.t.Fatal(err)
	}
	if want := fmt.Sprintf("%02x", checksum([]byte(body))); string(cs[:]) != want {
		c.t.Fatalf("packet %q has checksum %s, want %s", body, cs, want)
	}
	return body
}

// recv reads one packet and acks it in ack mode.
func (c *client) recv() string {
	c.t.Helper()
	body := c.recvFrame()
	if !c.noAck {
		c.write("+")
	}
	return body
}

// do sends a packet and returns the reply.
func (c *client) do(payload string) string {
	c.t.Helper()
	c.send(payload)
	return c.recv()
}

// expect sends a packet and checks the reply.
func (c *client) expect(payload, want string) {
	c.t.Helper()
	if got := c.do(payload); got != want {
		c.t.Fatalf("%s -> %q, want %q", payload, got, want)
	}
}

// startNoAck switches to no-ack mode as gdb does.
func (c *client) startNoAck() {
	c.t.Helper()
	c.expect("QStartNoAckMode", "OK")
	c.noAck = true
}

// expectClosed checks that the stub closed the connection.
func (c *client) expectClosed() {
	c.t.Helper()
	for {
		_, err := c.r.ReadByte()
		if err == io.EOF {
			return
		}
		if err != nil {
			c.t.Fatalf("waiting for the stub to close: %v", err)
		}
	}
}

// waitChan waits for a signal from the fake target.
func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testDeadline):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// connect starts a server for f and attaches a client in no-ack mode, as
// gdb runs after its handshake.
func connect(t *testing.T, f *fakeTarget) (*server, *client) {
	t.Helper()
	srv := startServer(t, f)
	c := dial(t, srv.addr)
	c.startNoAck()
	return srv, c
}
