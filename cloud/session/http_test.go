package session_test

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/session"
	"github.com/mvnet/mvnet/link"
)

// httpSetup starts a local TLS server with h and a session whose executor
// trusts it and may reach loopback.
func httpSetup(t *testing.T, h http.HandlerFunc) (*run, *httptest.Server) {
	t.Helper()
	return httpSetupWith(t, h, nil)
}

// httpSetupWith is httpSetup with set, if not nil, called on the session
// before it runs.
func httpSetupWith(t *testing.T, h http.HandlerFunc, set func(*session.Session)) (*run, *httptest.Server) {
	t.Helper()
	srv, e := upstream(t, h)
	return helloWith(t, session.Config{HTTP: e}, set), srv
}

// upstream starts a local TLS server with h and returns it with an
// executor that trusts it and may reach loopback.
func upstream(t *testing.T, h http.HandlerFunc) (*httptest.Server, *httpexec.Executor) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	e, err := httpexec.New(httpexec.Options{
		AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		RootCAs:       []*x509.Certificate{srv.Certificate()},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return srv, e
}

// abort ends a handler whose request was cancelled without a response (see
// the same helper in httpexec's tests).
func abort() { panic(http.ErrAbortHandler) }

func TestHTTPEndToEnd(t *testing.T) {
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		w.Header().Set("X-Echo", req.Header.Get("X-App"))
		w.WriteHeader(201)
		w.Write(bytes.ToUpper(b))
	})
	d := r.dev
	const ch = 0xc0ffee
	d.Open(ch, httpCh, 2048, 1024)
	req := &link.HTTPRequest{Method: "POST", URL: srv.URL + "/up", Headers: []string{"X-App: yes"}, Body: []byte("hello"), TimeoutMS: 5000}
	n := d.SendHTTP(ch, req, 10) // in several DATA frames
	cr := d.Expect(link.FrameCredit)
	if cr.Chan != ch || cr.Credit != uint32(n) {
		t.Fatalf("CREDIT %+v, want %d bytes", cr, n)
	}
	resp, _ := d.ReadHTTP(ch, 2048)
	if resp.Result != uint32(abi.HTTPResultOK) || resp.StatusCode != 201 || string(resp.Body) != "HELLO" ||
		!slices.Contains(resp.Headers, "X-Echo: yes") {
		t.Fatalf("response %+v", resp)
	}
	d.SyncQuiet()
	wantAnswered(t, r, ch, httpCh)
}

// wantAnswered checks that the cloud has forgotten ch, a request channel
// of type typ whose whole response the device has read (link/doc.go, "Channels"): the
// cloud no longer lists it, a CLOSE for it (one that crossed the response)
// is ignored, the handle can be opened again, and DATA on it, a channel
// that is not open, is a protocol error.
func wantAnswered(t *testing.T, r *run, ch uint32, typ uint8) {
	t.Helper()
	if info := r.sess.Info(); len(info.Channels) != 0 {
		t.Fatalf("after the response the cloud lists %+v, want no channel", info.Channels)
	}
	r.dev.Close(ch, uint8(abi.ClosureReasonClosedByApplication))
	r.dev.SyncQuiet()
	r.dev.Open(ch, typ, 512, 512)
	r.dev.SyncQuiet()
	if info := r.sess.Info(); len(info.Channels) != 1 || info.Channels[0].Chan != ch {
		t.Fatalf("after opening the handle again the cloud lists %+v", info.Channels)
	}
	r.dev.Close(ch, uint8(abi.ClosureReasonClosedByApplication))
	r.dev.Data(ch, []byte{1})
	wantProtocolError(t, r, "not open")
}

func TestHTTPValidationFailureComesBack(t *testing.T) {
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {})
	r.dev.Open(1, httpCh, 512, 512)
	r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: strings.Replace(srv.URL, "https", "http", 1), TimeoutMS: 5000}, 512)
	r.dev.Expect(link.FrameCredit)
	resp, _ := r.dev.ReadHTTP(1, 512)
	if resp.Result != uint32(abi.HTTPResultUnsupportedURIScheme) {
		t.Fatalf("response %+v", resp)
	}
}

func TestHTTPResponseInSeveralFrames(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 4000) // 40000 bytes
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		w.Write(body)
	})
	const rx = 48 << 10
	r.dev.Open(1, httpCh, rx, 512)
	r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000}, 512)
	r.dev.Expect(link.FrameCredit)
	resp, frames := r.dev.ReadHTTP(1, rx) // checks ≤ 16 KiB per frame and ≤ rx in all
	if resp.Result != uint32(abi.HTTPResultOK) || !bytes.Equal(resp.Body, body) {
		t.Fatalf("result %d, %d body bytes", resp.Result, len(resp.Body))
	}
	if frames < 3 {
		t.Fatalf("response came in %d frames, want at least 3", frames)
	}
}

func TestHTTPResponseTooLarge(t *testing.T) {
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		w.WriteHeader(202)
		w.Write(make([]byte, 600))
	})
	r.dev.Open(1, httpCh, 512, 512)
	r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000}, 512)
	r.dev.Expect(link.FrameCredit)
	resp, _ := r.dev.ReadHTTP(1, 512)
	if resp.Result != uint32(abi.HTTPResultResponseTooLarge) || resp.StatusCode != 202 || len(resp.Headers) != 0 || len(resp.Body) != 0 {
		t.Fatalf("response %+v", resp)
	}
}

func TestHTTPMalformedRequest(t *testing.T) {
	r, _ := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {})
	r.dev.Open(1, httpCh, 512, 512)
	// total says 30 bytes, but the lengths inside do not add up.
	b := link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: "https://x/", TimeoutMS: 5000})
	b[8] = 200 // method_len
	r.dev.Data(1, b)
	f := r.dev.Expect(link.FrameClose)
	if f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v", f)
	}
	// Bytes after a whole request close the channel too.
	r.dev.Open(2, httpCh, 512, 512)
	b = link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "GET", URL: "https://x/", TimeoutMS: 5000})
	r.dev.Data(2, append(b, 0))
	if f := r.dev.Expect(link.FrameClose); f.Chan != 2 || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v", f)
	}
	r.dev.SyncQuiet()
}

func TestHTTPRequestLargerThanSendRing(t *testing.T) {
	r, _ := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {})
	r.dev.Open(1, httpCh, 512, 512)
	b := link.AppendHTTPRequest(nil, &link.HTTPRequest{Method: "POST", URL: "https://x/", Body: make([]byte, 600), TimeoutMS: 5000})
	r.dev.Data(1, b[:512]) // all the credit, and still incomplete
	if f := r.dev.Expect(link.FrameClose); f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v", f)
	}
}

func TestCloseCancelsInFlightRequest(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	release := make(chan struct{})
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		select {
		case <-req.Context().Done():
			close(cancelled)
			abort()
		case <-release:
		}
	})
	defer close(release)
	r.dev.Open(1, httpCh, 512, 512)
	r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 512)
	r.dev.Expect(link.FrameCredit)
	waitFor(t, entered, "the request to reach the server")
	r.dev.Close(1, uint8(abi.ClosureReasonClosedByApplication))
	waitFor(t, cancelled, "the server to see the request cancelled")
	r.dev.SyncQuiet() // and no response comes
}

func TestLinkLossCancelsInFlightRequest(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	release := make(chan struct{})
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		close(entered)
		select {
		case <-req.Context().Done():
			close(cancelled)
			abort()
		case <-release:
		}
	})
	defer close(release)
	r.dev.Open(1, httpCh, 512, 512)
	r.dev.SendHTTP(1, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 512)
	waitFor(t, entered, "the request to reach the server")
	r.sess.Close()
	waitFor(t, cancelled, "the server to see the request cancelled")
	if err := r.wait(t); err != nil {
		t.Fatalf("Run returned %v", err)
	}
}

// TestAtMostFourRequestsInFlight: one request per HTTP channel and at most
// four channels bound the requests a device has in flight.
func TestAtMostFourRequestsInFlight(t *testing.T) {
	var mu sync.Mutex
	inFlight, most := 0, 0
	entered := make(chan struct{}, 8)
	release := make(chan struct{})
	r, srv := httpSetup(t, func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		defer func() {
			mu.Lock()
			inFlight--
			mu.Unlock()
		}()
		entered <- struct{}{}
		select {
		case <-release:
		case <-req.Context().Done():
			abort()
		}
	})
	d := r.dev
	for ch := uint32(1); ch <= 4; ch++ {
		d.Open(ch, httpCh, 512, 512)
		d.SendHTTP(ch, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 512)
		d.Expect(link.FrameCredit)
	}
	for range 4 {
		waitFor(t, entered, "four requests to reach the server")
	}
	// A fifth channel is refused, so no fifth request can start (and a
	// second request on an open channel closes it: TestHTTPEndToEnd).
	d.Open(5, httpCh, 512, 512)
	if f := d.Expect(link.FrameClose); f.Chan != 5 || f.Reason != uint8(abi.ClosureReasonUnexpectedlyTerminated) {
		t.Fatalf("got %+v", f)
	}
	d.SendHTTP(5, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 512) // crossed the CLOSE: ignored
	d.SyncQuiet()
	close(release)
	// The responses come in any order, each in one DATA frame.
	got := map[uint32]bool{}
	for range 4 {
		f := d.Expect(link.FrameData)
		resp, n, err := link.ParseHTTPResponse(f.Payload)
		if err != nil || n != len(f.Payload) || resp.Result != uint32(abi.HTTPResultOK) || got[f.Chan] {
			t.Fatalf("channel %d: response %+v, %v", f.Chan, resp, err)
		}
		got[f.Chan] = true
	}
	d.SyncQuiet()
	mu.Lock()
	defer mu.Unlock()
	if most != 4 {
		t.Fatalf("at most %d requests in flight, want 4", most)
	}
}
