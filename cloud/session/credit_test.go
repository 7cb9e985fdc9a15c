package session_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/fakedev"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

// chunkConn records what each Read returned: over a net.Pipe, a Read
// returns bytes of one Write only, so the chunks show how the peer
// grouped its frames into writes.
type chunkConn struct {
	net.Conn
	mu     sync.Mutex
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		c.chunks = append(c.chunks, bytes.Clone(p[:n]))
		c.mu.Unlock()
	}
	return n, err
}

// TestRequestCreditRidesWithResponse: the CREDIT for an HTTP request
// reaches the device in the same write as the response (credit.go), not
// in one of its own, and before it. The credit's delay is made longer
// than any response can take here: on a busy machine the response could
// take longer than the real one (100 ms), and the CREDIT then rightly
// goes alone (TestRequestCreditWithoutResponse).
func TestRequestCreditRidesWithResponse(t *testing.T) {
	srv, e := upstream(t, func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	devEnd, cloudEnd := link.Pipe()
	cc := &chunkConn{Conn: devEnd}
	r := &run{dev: fakedev.New(t, cc), sess: session.New(cloudEnd, session.Config{HTTP: e}), errc: make(chan error, 1)}
	r.sess.SetCreditDelay(time.Hour)
	go func() { r.errc <- r.sess.Run(context.Background()) }()
	t.Cleanup(func() {
		r.sess.Close()
		r.wait(t)
	})
	r.dev.Hello(fakedev.ID(1))

	const ch = 7
	r.dev.Open(ch, httpCh, 1024, 512)
	n := r.dev.SendHTTP(ch, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000}, 512)
	if cr := r.dev.Expect(link.FrameCredit); cr.Chan != ch || cr.Credit != uint32(n) {
		t.Fatalf("CREDIT %+v, want %d bytes on channel %d", cr, n, ch)
	}
	if resp, _ := r.dev.ReadHTTP(ch, 1024); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "ok" {
		t.Fatalf("response %+v", resp)
	}
	credit, err := link.AppendFrame(nil, &link.Frame{Type: link.FrameCredit, Chan: ch, Credit: uint32(n)})
	if err != nil {
		t.Fatal(err)
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, c := range cc.chunks {
		i := bytes.Index(c, credit)
		if i < 0 {
			continue
		}
		rest := c[i+len(credit):]
		if len(rest) < 5 || link.FrameType(rest[4]) != link.FrameData || binary.BigEndian.Uint32(rest[5:]) != ch {
			t.Fatalf("CREDIT written as % x, not followed by the response's DATA in the same write", c[i:])
		}
		return
	}
	t.Fatalf("no read held the CREDIT frame % x whole: %d chunks", credit, len(cc.chunks))
}

// TestRequestCreditWithoutResponse: while the response is slower than the
// credit's delay, the CREDIT for the request goes alone, so that a device
// sees its send ring emptied (credit.go).
func TestRequestCreditWithoutResponse(t *testing.T) {
	release := make(chan struct{})
	r, srv := httpSetupWith(t, func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
		w.Write([]byte("late"))
	}, func(s *session.Session) { s.SetCreditDelay(time.Millisecond) })
	r.dev.Open(1, httpCh, 512, 512)
	n := r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 512)
	// The handler waits for release: the CREDIT can only come first.
	if cr := r.dev.Expect(link.FrameCredit); cr.Chan != 1 || cr.Credit != uint32(n) {
		t.Fatalf("CREDIT %+v, want %d bytes on channel 1", cr, n)
	}
	close(release)
	if resp, _ := r.dev.ReadHTTP(1, 512); resp.Result != uint32(abi.HTTPResultOK) || string(resp.Body) != "late" {
		t.Fatalf("response %+v", resp)
	}
	r.dev.SyncQuiet() // and no second CREDIT
}
