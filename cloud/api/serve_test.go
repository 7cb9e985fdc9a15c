package api

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// newServedEnv is newEnv served by NewServer(o) on LimitListener(max).
func newServedEnv(t *testing.T, o ServerOptions, max int, state func(net.Conn, http.ConnState)) *env {
	return newEnvServer(t, nil, func(ts *httptest.Server) {
		ts.Config = NewServer(ts.Config.Handler, o)
		ts.Config.ConnState = state
		ts.Listener = LimitListener(ts.Listener, max)
	})
}

// rawConn opens a TCP connection to e's server.
func (e *env) rawConn() net.Conn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed waits (at most 10 s) for the server to close c, reading and
// dropping whatever it sends.
func waitClosed(t *testing.T, c net.Conn, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

// An idle keep-alive connection is closed after IdleTimeout (issue 8: only
// ReadHeaderTimeout was set, and idle connections were kept for ever).
func TestIdleConnectionClosed(t *testing.T) {
	e := newServedEnv(t, ServerOptions{IdleTimeout: 100 * time.Millisecond}, 0, nil)
	c := e.rawConn()
	auth := base64.StdEncoding.EncodeToString([]byte(e.sid + ":" + e.token))
	fmt.Fprintf(c, "GET /v1/Devices HTTP/1.1\r\nHost: api\r\nAuthorization: Basic %s\r\n\r\n", auth)
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", res.StatusCode, res.Close)
	}
	waitClosed(t, c, "idle keep-alive connection")
}

// A request whose body stalls is cut at ReadTimeout; so is a connection
// that never finishes its headers.
func TestStalledRequestCut(t *testing.T) {
	e := newServedEnv(t, ServerOptions{ReadTimeout: 200 * time.Millisecond, ReadHeaderTimeout: 100 * time.Millisecond}, 0, nil)
	body := e.rawConn()
	auth := base64.StdEncoding.EncodeToString([]byte(e.sid + ":" + e.token))
	fmt.Fprintf(body, "POST /v1/Configs HTTP/1.1\r\nHost: api\r\nAuthorization: Basic %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nKey=k&Va", auth)
	waitClosed(t, body, "stalled body")
	headers := e.rawConn()
	fmt.Fprintf(headers, "GET /v1/Devices HTTP/1.1\r\nHost: api\r\n")
	waitClosed(t, headers, "stalled headers")
}

// At most MaxConns connections are accepted at once; the rest wait until
// one closes.
func TestConnectionCap(t *testing.T) {
	const max = 2
	var accepted atomic.Int32
	e := newServedEnv(t, ServerOptions{}, max, func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	})
	var conns []net.Conn
	for range max + 3 {
		conns = append(conns, e.rawConn())
	}
	poll.Until(t, fmt.Sprintf("%d connections accepted", max), func() bool { return accepted.Load() >= max })
	// A window of 100 ms in which no more may be accepted.
	if poll.Wait(100*time.Millisecond, func() bool { return accepted.Load() > max }) {
		t.Fatalf("%d connections accepted at once, cap %d", accepted.Load(), max)
	}
	for _, c := range conns[:max] {
		c.Close()
	}
	poll.Until(t, fmt.Sprintf("%d connections accepted after two closed", max+2), func() bool { return accepted.Load() >= max+2 })
}

// A log stream keeps delivering past the server's WriteTimeout and
// ReadTimeout.
func TestLogStreamOutlivesTimeouts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	e := newServedEnv(t, ServerOptions{WriteTimeout: timeout, ReadTimeout: timeout, IdleTimeout: timeout}, 0, nil)
	dev := e.register(1)
	s := e.stream("/v1/Devices/"+dev+"/Logs/Stream", nil)
	for i := uint64(1); i <= 2; i++ {
		if err := e.st.AppendLog(context.Background(), dev, i, time.Now(), fmt.Appendf(nil, "line %d", i)); err != nil {
			t.Fatal(err)
		}
		if ev := s.next(t); ev.Line != fmt.Sprintf("line %d", i) {
			t.Fatalf("event %+v", ev)
		}
		// Let the server's timeouts pass (this is the point of the test,
		// not a wait for an event).
		time.Sleep(3 * timeout)
	}
}
