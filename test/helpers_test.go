package test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/poll"
	"github.com/mvnet/mvnet/link"
)

// The end-to-end rig: a real local HTTPS server (testenv.NewServer) behind
// an embedded cloud, and emulated devices joined to that cloud, exercised
// through the Go device API only (device → kernel → link → cloud → server).

const (
	// netTag is the notification tag device.Connect requests the network
	// with ("NET").
	netTag = 0x4e4554
	// irq is the notification IRQ every test device uses (TIM8_BRK).
	irq = 51
	// waitLimit bounds any single wait for a notification or a state.
	waitLimit = 15 * time.Second
)

// env is one server and one cloud that trusts and may reach it.
type env struct {
	srv   *testenv.Server
	cloud *cloud.Server
	block *blocker
}

// newEnv starts the rig's server (serving testMux) and cloud.
func newEnv(t *testing.T) *env {
	t.Helper()
	b := newBlocker()
	s := testenv.NewServer(t, testMux(b))
	c := testenv.NewCloud(t, cloud.Options{HTTP: s.HTTPOptions()})
	// Registered last, so it runs first: blocked handlers return before the
	// cloud and the server shut down.
	t.Cleanup(func() { close(b.release) })
	return &env{srv: s, cloud: c, block: b}
}

// url returns the test server's URL for path.
func (e *env) url(path string) string { return e.srv.URL(path) }

// blocker lets a handler hang until the test ends (or the request is
// cancelled), and tells the test when a request has reached it and when one
// was cancelled.
type blocker struct {
	entered   chan string   // the path of each request that reached /block
	cancelled chan string   // the path of each /block request cancelled by the client
	release   chan struct{} // closed when the test ends
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan string, 16), cancelled: make(chan string, 16), release: make(chan struct{})}
}

// waitEntered waits until a request has reached /block.
func (b *blocker) waitEntered(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-b.entered:
	case <-ctx.Done():
		t.Fatalf("no request reached the blocking handler: %v", ctx.Err())
	}
}

// waitCancelled waits until the client (the cloud) has cancelled a request
// to /block.
func (b *blocker) waitCancelled(t *testing.T) {
	t.Helper()
	select {
	case <-b.cancelled:
	case <-time.After(waitLimit):
		t.Fatalf("the cloud did not cancel its request to the server within %v", waitLimit)
	}
}

// patternBody returns n bytes of a non-zero, position-dependent pattern.
func patternBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('!' + (i*7+i/94)%94)
	}
	return b
}

// sizedHeaders are exactly the headers /sized sends for a body of n bytes,
// as the device sees them ("Name: value", canonical names, sorted).
func sizedHeaders(n int) []string {
	return []string{
		"Content-Length: " + strconv.Itoa(n),
		"Content-Type: application/octet-stream",
		"X-Pad: mvnet",
	}
}

// sizedBodyFor returns the body length n for which the /sized response's
// encoding is exactly size bytes.
func sizedBodyFor(t *testing.T, size int) int {
	t.Helper()
	for n := 0; n <= size; n++ {
		r := link.HTTPResponse{Headers: sizedHeaders(n), Body: make([]byte, n)}
		if got := link.HTTPResponseSize(&r); got == size {
			return n
		} else if got > size {
			break
		}
	}
	t.Fatalf("no /sized body length encodes to exactly %d bytes", size)
	return 0
}

// testMux serves every route the tests use.
//
//	/hello        200, X-Custom: mvnet-e2e, body "hello, device"
//	/sized?n=N    200 with exactly sizedHeaders(N) and N pattern bytes
//	/bytes?n=N    200 with N pattern bytes
//	/echo         200; the body describes the request as the server saw it
//	/id?v=V       200, X-Echo: V, body V
//	/headers      200; the body lists the request's headers, "Name: value"
//	              per line, names sorted
//	/redirect     302 to /hello
//	/cookies      204 with three Set-Cookie headers
//	/gzip         200, Content-Encoding: gzip, gzipHello
//	/slowbody     200 and part of the body, then nothing more (like /block)
//	/block        never answers until the request is cancelled or the test
//	              ends
//	anything else 404
func testMux(b *blocker) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Custom", "mvnet-e2e")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello, device")
	})
	mux.HandleFunc("/sized", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		h := w.Header()
		h["Date"] = nil // suppress net/http's automatic Date
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.Itoa(n))
		h.Set("X-Pad", "mvnet")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(patternBody(n))
	})
	mux.HandleFunc("/bytes", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if err != nil || n < 0 {
			http.Error(w, "bad n", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(patternBody(n))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "method=%s\nhost=%s\ncontent-length=%d\nbody-length=%d\nbody=%s\nx-app=%s\n",
			r.Method, r.Host, r.ContentLength, len(body), body, r.Header.Get("X-App"))
	})
	mux.HandleFunc("/id", func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query().Get("v")
		w.Header().Set("X-Echo", v)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, v)
	})
	mux.HandleFunc("/headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for _, name := range slices.Sorted(maps.Keys(r.Header)) {
			for _, v := range r.Header[name] {
				fmt.Fprintf(w, "%s: %s\n", name, v)
			}
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hello", http.StatusFound)
	})
	mux.HandleFunc("/cookies", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Header().Add("Set-Cookie", "c=3")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(gzipHello)
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", "100")
		_, _ = io.WriteString(w, "the first part of the body, then nothing")
		w.(http.Flusher).Flush()
		select {
		case b.entered <- r.URL.Path:
		default:
		}
		select {
		case <-r.Context().Done():
			select {
			case b.cancelled <- r.URL.Path:
			default:
			}
		case <-b.release:
		}
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) {
		select {
		case b.entered <- r.URL.Path:
		default:
		}
		select {
		case <-r.Context().Done():
			select {
			case b.cancelled <- r.URL.Path:
			default:
			}
		case <-b.release:
		}
	})
	return mux
}

// gzipHello is "hello, device" compressed with gzip.
var gzipHello = func() []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = io.WriteString(zw, "hello, device")
	_ = zw.Close()
	return b.Bytes()
}()

// echoField returns the value of "name=" in an /echo body.
func echoField(body []byte, name string) string {
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), name+"="); ok {
			return v
		}
	}
	return "<missing>"
}

// dev is a device joined to an env's cloud, with a connected network and
// its notification centre.
type dev struct {
	t       *testing.T
	e       *env
	d       *device.Device
	n       *device.Net
	ctx     context.Context
	backlog []abi.Notification // received, not yet matched by a wait
	nextTag uint32
}

// newDev boots a device on e's cloud and waits until its network is
// CONNECTED.
func (e *env) newDev(t *testing.T) *dev {
	t.Helper()
	return e.newDevWith(t, device.Options{})
}

// newDevWith is newDev with device options (a trace, say).
func (e *env) newDevWith(t *testing.T, o device.Options) *dev {
	t.Helper()
	d := testenv.NewDevice(t, e.cloud, o)
	ctx := testenv.Context(t, 45*time.Second)
	cctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	n, err := d.Connect(cctx, irq)
	if err != nil {
		t.Fatalf("connecting device: %v", err)
	}
	return &dev{t: t, e: e, d: d, n: n, ctx: ctx, nextTag: 0x100}
}

// open opens a channel on the device's network with its own tag. A
// RATELIMITED open (more than 8 in a second) is retried, as the ABI tells
// applications to.
func (v *dev) open(typ abi.ChannelType, rx, tx uint32) (*device.Channel, uint32) {
	v.t.Helper()
	ch, tag, st := v.tryOpen(typ, rx, tx)
	if st != abi.StatusOkay {
		v.t.Fatalf("mvOpenChannel(%s, rx %d, tx %d): %s", typ, rx, tx, st)
	}
	return ch, tag
}

func (v *dev) tryOpen(typ abi.ChannelType, rx, tx uint32) (*device.Channel, uint32, abi.Status) {
	v.t.Helper()
	tag := v.nextTag
	v.nextTag++
	deadline := time.Now().Add(waitLimit)
	for {
		ch, st, err := v.d.OpenChannel(device.ChannelConfig{
			Centre: v.n.Centre, Tag: tag, Network: v.n.Handle, Type: typ, RxSize: rx, TxSize: tx,
		})
		if err != nil {
			v.t.Fatalf("OpenChannel: %v", err)
		}
		if st != abi.StatusRateLimited || time.Now().After(deadline) {
			if st == abi.StatusOkay {
				v.t.Cleanup(func() { _ = v.d.CloseChannel(ch) })
			}
			return ch, tag, st
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-v.ctx.Done():
			v.t.Fatalf("retrying a rate-limited open: %v", v.ctx.Err())
		}
	}
}

// openHTTP opens an HTTP channel with a 1024-byte send buffer.
func (v *dev) openHTTP(rx uint32) (*device.Channel, uint32) {
	v.t.Helper()
	return v.open(abi.ChannelTypeHTTP, rx, 1024)
}

// send calls mvSendHttpRequest and requires OKAY.
func (v *dev) send(ch *device.Channel, req device.HTTPRequest) {
	v.t.Helper()
	st, err := v.d.SendHTTPRequest(ch, req)
	if err != nil || st != abi.StatusOkay {
		v.t.Fatalf("mvSendHttpRequest(%s %s): %s %v", req.Method, req.URL, st, err)
	}
}

// waitEvent waits for a notification with tag and event type ev. Other
// notifications are kept for later waits.
func (v *dev) waitEvent(tag uint32, ev abi.EventType) abi.Notification {
	v.t.Helper()
	n, err := v.waitEventErr(tag, ev, waitLimit)
	if err != nil {
		v.t.Fatal(err)
	}
	return n
}

func (v *dev) waitEventErr(tag uint32, ev abi.EventType, limit time.Duration) (abi.Notification, error) {
	for i, n := range v.backlog {
		if n.Tag == tag && n.EventType == ev {
			v.backlog = append(v.backlog[:i:i], v.backlog[i+1:]...)
			return n, nil
		}
	}
	ctx, cancel := context.WithTimeout(v.ctx, limit)
	defer cancel()
	for {
		n, err := v.n.Centre.Wait(ctx)
		if err != nil {
			return n, fmt.Errorf("waiting for %s with tag %#x (other notifications: %v): %w", ev, tag, v.backlog, err)
		}
		if n.Tag == tag && n.EventType == ev {
			return n, nil
		}
		v.backlog = append(v.backlog, n)
	}
}

// waitResponse waits for CHANNELDATAREADABLE and reads the response data,
// requiring OKAY.
func (v *dev) waitResponse(ch *device.Channel, tag uint32) abi.HTTPResponseData {
	v.t.Helper()
	v.waitEvent(tag, abi.EventTypeChannelDataReadable)
	data, st := v.d.ReadHTTPResponseData(ch)
	if st != abi.StatusOkay {
		v.t.Fatalf("mvReadHttpResponseData: %s", st)
	}
	return data
}

// do opens an HTTP channel with an rx-byte receive buffer, sends req and
// returns the channel and the response data once readable.
func (v *dev) do(req device.HTTPRequest, rx uint32) (*device.Channel, abi.HTTPResponseData) {
	v.t.Helper()
	ch, tag := v.openHTTP(rx)
	v.send(ch, req)
	return ch, v.waitResponse(ch, tag)
}

// headers reads every header of the response on ch.
func (v *dev) headers(ch *device.Channel, n uint32) []string {
	v.t.Helper()
	var hs []string
	for i := range n {
		h, st := v.d.ReadHTTPResponseHeader(ch, i, 1024)
		if st != abi.StatusOkay {
			v.t.Fatalf("mvReadHttpResponseHeader(%d): %s", i, st)
		}
		hs = append(hs, h)
	}
	return hs
}

// body reads the whole body of the response on ch.
func (v *dev) body(ch *device.Channel, n uint32) []byte {
	v.t.Helper()
	if n == 0 {
		return nil
	}
	b, st, err := v.d.ReadHTTPResponseBody(ch, 0, n)
	if err != nil || st != abi.StatusOkay {
		v.t.Fatalf("mvReadHttpResponseBody: %s %v", st, err)
	}
	return b
}

// closureReason returns the channel's closure reason, requiring OKAY.
func (v *dev) closureReason(ch *device.Channel) abi.ClosureReason {
	v.t.Helper()
	r, st := v.d.GetChannelClosureReason(ch)
	if st != abi.StatusOkay {
		v.t.Fatalf("mvGetChannelClosureReason: %s", st)
	}
	return r
}

// netStatus returns the status of the device's network handle.
func (v *dev) netStatus() abi.NetworkStatus {
	v.t.Helper()
	s, st := v.d.GetNetworkStatus(v.n.Handle)
	if st != abi.StatusOkay {
		v.t.Fatalf("mvGetNetworkStatus: %s", st)
	}
	return s
}

// waitNetStatus waits until the network handle reports want, woken by
// NETWORKSTATUSCHANGED notifications.
func (v *dev) waitNetStatus(want abi.NetworkStatus) {
	v.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if s := v.netStatus(); s == want {
			return
		} else if time.Now().After(deadline) {
			v.t.Fatalf("network status is %s, want %s", s, want)
		}
		if _, err := v.waitEventErr(netTag, abi.EventTypeNetworkStatusChanged, time.Until(deadline)); err != nil &&
			!errors.Is(err, context.DeadlineExceeded) {
			v.t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds or waitLimit passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll.Within(t, waitLimit, what, cond)
}

func get(url string) device.HTTPRequest {
	return device.HTTPRequest{Method: "GET", URL: url, TimeoutMS: 10000}
}
