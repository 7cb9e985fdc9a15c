package test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

// Moving bytes: the send buffer's limit, bodies larger than one link frame,
// several channels at once, and responses relayed as the server sent them.

// TestHTTPRequestExactFitSendBuffer: a request whose encoding
// (link.HTTPRequestSize) is exactly the send buffer is accepted and arrives
// whole; one byte more is refused with INVALIDBUFFERSIZE.
func TestHTTPRequestExactFitSendBuffer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const tx = 512
	url := e.url("/echo")
	lreq := link.HTTPRequest{Method: "POST", URL: url, Headers: []string{"X-App: fit"}}
	n := tx - link.HTTPRequestSize(&lreq)
	body := bytes.Repeat([]byte("b"), n)
	lreq.Body = body
	if size := link.HTTPRequestSize(&lreq); size != tx {
		t.Fatalf("request encodes to %d bytes, want %d", size, tx)
	}
	req := device.HTTPRequest{Method: "POST", URL: url, Headers: lreq.Headers, Body: body, TimeoutMS: 10000}

	ch, tag := v.open(abi.ChannelTypeHTTP, 4096, tx)
	over := req
	over.Body = append(bytes.Clone(body), 'b')
	if st, err := v.d.SendHTTPRequest(ch, over); err != nil || st != abi.StatusInvalidBufferSize {
		t.Fatalf("request one byte larger than the send buffer: %s %v, want INVALIDBUFFERSIZE", st, err)
	}
	v.send(ch, req)
	data := v.waitResponse(ch, tag)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	b := v.body(ch, data.BodyLength)
	if g := echoField(b, "body-length"); g != strconv.Itoa(n) {
		t.Errorf("server saw a body of %s bytes, want %d", g, n)
	}
	if g := echoField(b, "body"); g != string(body) {
		t.Errorf("server saw body %q", g)
	}
	if g := echoField(b, "x-app"); g != "fit" {
		t.Errorf("server saw X-App %q, want fit", g)
	}
}

// TestHTTPLargeBodies: bodies much larger than one link DATA frame, both
// ways.
func TestHTTPLargeBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)

	const down = 100_000
	ch, data := v.do(get(e.url("/bytes?n="+strconv.Itoa(down))), 128<<10)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 || data.BodyLength != down {
		t.Fatalf("GET %d bytes: result %s status %d body_length %d", down, data.Result, data.StatusCode, data.BodyLength)
	}
	if b := v.body(ch, down); !bytes.Equal(b, patternBody(down)) {
		t.Errorf("GET %d bytes: body differs from what the server sent", down)
	}
	_ = v.d.CloseChannel(ch)

	const up = 60_000
	body := patternBody(up)
	ch, tag := v.open(abi.ChannelTypeHTTP, 128<<10, 64<<10)
	v.send(ch, device.HTTPRequest{Method: "PUT", URL: e.url("/echo"), Body: body, TimeoutMS: 10000})
	data = v.waitResponse(ch, tag)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("PUT %d bytes: result %s status %d", up, data.Result, data.StatusCode)
	}
	b := v.body(ch, data.BodyLength)
	if g := echoField(b, "body-length"); g != strconv.Itoa(up) {
		t.Errorf("PUT: server saw a body of %s bytes, want %d", g, up)
	}
	if g := echoField(b, "content-length"); g != strconv.Itoa(up) {
		t.Errorf("PUT: server saw Content-Length %s, want %d", g, up)
	}
	if g := echoField(b, "body"); g != string(body) {
		t.Errorf("PUT: the body the server saw differs from what the device sent")
	}
}

// TestHTTPFourChannelsAtOnce: a device may have four channels open, each
// with its own request in flight; a fifth is refused until one closes.
func TestHTTPFourChannelsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	type open struct {
		ch  *device.Channel
		tag uint32
		v   string
	}
	var chans []open
	for i := range 4 {
		ch, tag := v.openHTTP(4096)
		chans = append(chans, open{ch, tag, fmt.Sprintf("channel-%d", i)})
	}
	if _, _, st := v.tryOpen(abi.ChannelTypeHTTP, 4096, 1024); st != abi.StatusTooManyChannels {
		t.Fatalf("fifth mvOpenChannel: %s, want TOOMANYCHANNELS", st)
	}
	for _, c := range chans {
		v.send(c.ch, get(e.url("/id?v="+c.v)))
	}
	// Wait in the reverse order of sending: each response belongs to its
	// own channel whatever the order they arrive in.
	for _, c := range slices.Backward(chans) {
		data := v.waitResponse(c.ch, c.tag)
		if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
			t.Fatalf("%s: result %s status %d", c.v, data.Result, data.StatusCode)
		}
		if b := v.body(c.ch, data.BodyLength); string(b) != c.v {
			t.Errorf("%s: body %q", c.v, b)
		}
	}
	if st := v.d.CloseChannel(chans[0].ch); st != abi.StatusOkay {
		t.Fatalf("mvCloseChannel: %s", st)
	}
	if _, data := v.do(get(e.url("/id?v=again")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Errorf("after closing one channel: result %s status %d", data.Result, data.StatusCode)
	}
}

// TestHTTPRedirectNotFollowed: a 3xx comes back to the device as it is.
func TestHTTPRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, data := v.do(get(e.url("/redirect")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 302 {
		t.Fatalf("result %s status %d, want OK 302", data.Result, data.StatusCode)
	}
	if hs := v.headers(ch, data.NumHeaders); !slices.Contains(hs, "Location: /hello") {
		t.Errorf("headers %q lack Location: /hello", hs)
	}
}

// TestHTTPRepeatedHeader: a header the server sends several times arrives as
// several headers, in the server's order.
func TestHTTPRepeatedHeader(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, data := v.do(get(e.url("/cookies")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 204 || data.BodyLength != 0 {
		t.Fatalf("result %s status %d body_length %d, want OK 204 0", data.Result, data.StatusCode, data.BodyLength)
	}
	var cookies []string
	for _, h := range v.headers(ch, data.NumHeaders) {
		if c, ok := strings.CutPrefix(h, "Set-Cookie: "); ok {
			cookies = append(cookies, c)
		}
	}
	if want := []string{"a=1", "b=2", "c=3"}; !slices.Equal(cookies, want) {
		t.Errorf("Set-Cookie headers %q, want %q", cookies, want)
	}
	// An empty body reads as nothing at offset 0 and OFFSETINVALID past it.
	if _, st, _ := v.d.ReadHTTPResponseBody(ch, 0, 16); st != abi.StatusOkay {
		t.Errorf("reading an empty body at offset 0: %s, want OKAY", st)
	}
	if _, st, _ := v.d.ReadHTTPResponseBody(ch, 1, 16); st != abi.StatusOffsetInvalid {
		t.Errorf("reading an empty body at offset 1: %s, want OFFSETINVALID", st)
	}
}

// TestHTTPResponseNotYetPresent: before the response arrives the read calls
// say RESPONSENOTPRESENT.
func TestHTTPResponseNotYetPresent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, _ := v.openHTTP(4096)
	if _, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusResponseNotPresent {
		t.Errorf("mvReadHttpResponseData before sending: %s, want RESPONSENOTPRESENT", st)
	}
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 10000})
	e.block.waitEntered(t, v.ctx)
	if _, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusResponseNotPresent {
		t.Errorf("mvReadHttpResponseData while the server works: %s, want RESPONSENOTPRESENT", st)
	}
	if _, st := v.d.ReadHTTPResponseHeader(ch, 0, 16); st != abi.StatusResponseNotPresent {
		t.Errorf("mvReadHttpResponseHeader while the server works: %s, want RESPONSENOTPRESENT", st)
	}
	if _, st, _ := v.d.ReadHTTPResponseBody(ch, 0, 16); st != abi.StatusResponseNotPresent {
		t.Errorf("mvReadHttpResponseBody while the server works: %s, want RESPONSENOTPRESENT", st)
	}
	// Closing the channel cancels the request; the device can go on.
	if st := v.d.CloseChannel(ch); st != abi.StatusOkay {
		t.Fatalf("mvCloseChannel: %s", st)
	}
	e.block.waitCancelled(t)
	if _, data := v.do(get(e.url("/hello")), 4096); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Errorf("next request: result %s status %d", data.Result, data.StatusCode)
	}
}

// TestHTTPRequestHeadersRelayed: up to 32 application headers reach the
// server — repeated names in order, names canonicalised, values trimmed; a
// 33rd is refused by mvSendHttpRequest.
func TestHTTPRequestHeadersRelayed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	hdrs := []string{"X-Multi: one", "x-lower: v", "X-Spaced: \t  padded value \t", "X-Multi: two"}
	for i := len(hdrs); i < 32; i++ {
		hdrs = append(hdrs, fmt.Sprintf("X-H%02d: %d", i, i))
	}
	ch, tag := v.openHTTP(4096)
	tooMany := get(e.url("/headers"))
	tooMany.Headers = append(slices.Clone(hdrs), "X-One-Too-Many: 33")
	if st, err := v.d.SendHTTPRequest(ch, tooMany); err != nil || st != abi.StatusTooManyElements {
		t.Fatalf("33 headers: %s %v, want TOOMANYELEMENTS", st, err)
	}
	req := get(e.url("/headers"))
	req.Headers = hdrs
	v.send(ch, req)
	data := v.waitResponse(ch, tag)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	seen := strings.Split(strings.TrimSuffix(string(v.body(ch, data.BodyLength)), "\n"), "\n")
	want := []string{"X-Multi: one", "X-Multi: two", "X-Lower: v", "X-Spaced: padded value"}
	for i := 4; i < 32; i++ {
		want = append(want, fmt.Sprintf("X-H%02d: %d", i, i))
	}
	for _, w := range want {
		if !slices.Contains(seen, w) {
			t.Errorf("server did not see %q; it saw %q", w, seen)
		}
	}
	if i, j := slices.Index(seen, "X-Multi: one"), slices.Index(seen, "X-Multi: two"); i < 0 || j != i+1 {
		t.Errorf("X-Multi values out of order: %q", seen)
	}
	if slices.ContainsFunc(seen, func(s string) bool { return strings.HasPrefix(s, "X-One-Too-Many") }) {
		t.Errorf("the refused request's extra header reached the server")
	}
}

// TestHTTPBodyAsSent: the cloud does not decompress: a gzip-encoded body
// reaches the device as the server sent it.
func TestHTTPBodyAsSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	req := get(e.url("/gzip"))
	req.Headers = []string{"Accept-Encoding: gzip"}
	ch, data := v.do(req, 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	if hs := v.headers(ch, data.NumHeaders); !slices.Contains(hs, "Content-Encoding: gzip") {
		t.Errorf("headers %q lack Content-Encoding: gzip", hs)
	}
	if b := v.body(ch, data.BodyLength); !bytes.Equal(b, gzipHello) {
		t.Errorf("body %q, want the gzip bytes the server sent %q", b, gzipHello)
	}
}
