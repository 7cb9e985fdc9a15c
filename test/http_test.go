package test

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/link"
)

// HTTP requests end to end: results, status codes, headers, bodies and the
// receive buffer's size limit.

func TestHTTPGet200(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, data := v.do(get(e.url("/hello")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	hs := v.headers(ch, data.NumHeaders)
	if !slices.Contains(hs, "X-Custom: mvnet-e2e") {
		t.Errorf("headers %q lack X-Custom: mvnet-e2e", hs)
	}
	if !slices.Contains(hs, "Content-Type: text/plain") {
		t.Errorf("headers %q lack Content-Type: text/plain", hs)
	}
	if data.BodyLength != uint32(len("hello, device")) {
		t.Fatalf("body_length %d, want %d", data.BodyLength, len("hello, device"))
	}
	if b := v.body(ch, data.BodyLength); string(b) != "hello, device" {
		t.Errorf("body %q, want %q", b, "hello, device")
	}
	// One past the last header is INDEXINVALID.
	if _, st := v.d.ReadHTTPResponseHeader(ch, data.NumHeaders, 64); st != abi.StatusIndexInvalid {
		t.Errorf("mvReadHttpResponseHeader(num_headers): %s, want INDEXINVALID", st)
	}
	// A header read into a buffer shorter than the header copies a prefix.
	if h, st := v.d.ReadHTTPResponseHeader(ch, uint32(slices.Index(hs, "X-Custom: mvnet-e2e")), 8); st != abi.StatusOkay || h != "X-Custom" {
		t.Errorf("8-byte header read: %q %s, want %q OKAY", h, st, "X-Custom")
	}
}

func TestHTTP404PassesThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, data := v.do(get(e.url("/no/such/thing")), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 404 {
		t.Fatalf("result %s status %d, want OK 404", data.Result, data.StatusCode)
	}
	if b := v.body(ch, data.BodyLength); string(b) != "404 page not found\n" {
		t.Errorf("body %q", b)
	}
}

func TestHTTPResponseTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 2500 // with its headers, more than 2048 bytes and less than 4096
	url := e.url("/bytes?n=" + strconv.Itoa(n))
	for _, rx := range []uint32{512, 1024, 2048} {
		t.Run(strconv.Itoa(int(rx)), func(t *testing.T) {
			v := e.newDev(t)
			_, data := v.do(get(url), rx)
			if data.Result != abi.HTTPResultResponseTooLarge {
				t.Fatalf("rx %d: result %s, want RESPONSETOOLARGE", rx, data.Result)
			}
			if data.NumHeaders != 0 || data.BodyLength != 0 {
				t.Errorf("rx %d: RESPONSETOOLARGE with %d headers and %d body bytes, want none", rx, data.NumHeaders, data.BodyLength)
			}
		})
	}
	t.Run("4096", func(t *testing.T) {
		v := e.newDev(t)
		ch, data := v.do(get(url), 4096)
		if data.Result != abi.HTTPResultOK || data.StatusCode != 200 || data.BodyLength != n {
			t.Fatalf("result %s status %d body_length %d, want OK 200 %d", data.Result, data.StatusCode, data.BodyLength, n)
		}
		if b := v.body(ch, n); !bytes.Equal(b, patternBody(n)) {
			t.Errorf("body differs from what the server sent")
		}
	})
}

// TestHTTPResponseExactFit: a response whose encoding (link.HTTPResponseSize)
// is exactly the receive buffer fits; one byte more does not. /sized sends
// only headers the test controls (no Date; explicit Content-Type and
// Content-Length), so the size is known in advance.
func TestHTTPResponseExactFit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, rx := range []uint32{512, 1024, 2048, 4096} {
		t.Run(strconv.Itoa(int(rx)), func(t *testing.T) {
			v := e.newDev(t)
			n := sizedBodyFor(t, int(rx))
			url := e.url("/sized?n=" + strconv.Itoa(n))

			// With room to spare, the device sees exactly the headers the
			// size was computed from.
			ch, data := v.do(get(url), 8192)
			if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
				t.Fatalf("probe: result %s status %d", data.Result, data.StatusCode)
			}
			got := link.HTTPResponse{Headers: v.headers(ch, data.NumHeaders), Body: v.body(ch, data.BodyLength)}
			if !slices.Equal(got.Headers, sizedHeaders(n)) {
				t.Fatalf("probe: headers %q, want exactly %q", got.Headers, sizedHeaders(n))
			}
			if size := link.HTTPResponseSize(&got); size != int(rx) {
				t.Fatalf("probe: response encodes to %d bytes, want %d", size, rx)
			}

			// Exactly the buffer: fits.
			ch, data = v.do(get(url), rx)
			if data.Result != abi.HTTPResultOK || data.StatusCode != 200 || data.BodyLength != uint32(n) {
				t.Fatalf("exact fit (%d bytes in %d): result %s status %d body_length %d", rx, rx, data.Result, data.StatusCode, data.BodyLength)
			}
			if hs := v.headers(ch, data.NumHeaders); !slices.Equal(hs, sizedHeaders(n)) {
				t.Errorf("exact fit: headers %q", hs)
			}
			if b := v.body(ch, data.BodyLength); !bytes.Equal(b, patternBody(n)) {
				t.Errorf("exact fit: body differs from what the server sent")
			}

			// One byte more: too large.
			over := link.HTTPResponse{Headers: sizedHeaders(n + 1), Body: make([]byte, n+1)}
			if size := link.HTTPResponseSize(&over); size != int(rx)+1 {
				t.Fatalf("n+1 encodes to %d bytes, want %d", size, rx+1)
			}
			_, data = v.do(get(e.url("/sized?n="+strconv.Itoa(n+1))), rx)
			if data.Result != abi.HTTPResultResponseTooLarge {
				t.Fatalf("one byte over (%d bytes in %d): result %s, want RESPONSETOOLARGE", rx+1, rx, data.Result)
			}
		})
	}
}

// TestHTTPValidation: requests the cloud refuses come back as results, not
// as statuses of mvSendHttpRequest.
func TestHTTPValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := e.url("/hello")
	cases := []struct {
		name    string
		req     device.HTTPRequest
		want    abi.HTTPResult
		wantTwo bool // also check status 200
	}{
		{"scheme http", device.HTTPRequest{Method: "GET", URL: "http://" + e.srv.Base[len("https://"):] + "/hello", TimeoutMS: 10000}, abi.HTTPResultUnsupportedURIScheme, false},
		{"scheme ftp", device.HTTPRequest{Method: "GET", URL: "ftp://example.com/file", TimeoutMS: 10000}, abi.HTTPResultUnsupportedURIScheme, false},
		{"method TRACE", device.HTTPRequest{Method: "TRACE", URL: ok, TimeoutMS: 10000}, abi.HTTPResultUnsupportedMethod, false},
		{"method get", device.HTTPRequest{Method: "get", URL: ok, TimeoutMS: 10000}, abi.HTTPResultUnsupportedMethod, false},
		{"timeout 4999", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 4999}, abi.HTTPResultInvalidTimeout, false},
		{"timeout 10001", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10001}, abi.HTTPResultInvalidTimeout, false},
		{"timeout 5000", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 5000}, abi.HTTPResultOK, true},
		{"timeout 10000", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000}, abi.HTTPResultOK, true},
		{"header without colon", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"X-App yes"}}, abi.HTTPResultInvalidHeaders, false},
		{"header bad name", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"X App: yes"}}, abi.HTTPResultInvalidHeaders, false},
		{"header empty name", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{": yes"}}, abi.HTTPResultInvalidHeaders, false},
		{"header CRLF in value", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"X-App: a\r\nX-Evil: b"}}, abi.HTTPResultInvalidHeaders, false},
		{"header LF in value", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"X-App: a\nb"}}, abi.HTTPResultInvalidHeaders, false},
		{"header CR in value", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"X-App: a\rb"}}, abi.HTTPResultInvalidHeaders, false},
		{"valid header", device.HTTPRequest{Method: "GET", URL: ok, TimeoutMS: 10000, Headers: []string{"Accept: */*", "X-App:yes"}}, abi.HTTPResultOK, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			v := e.newDev(t)
			_, data := v.do(c.req, 4096)
			if data.Result != c.want {
				t.Fatalf("result %s, want %s", data.Result, c.want)
			}
			if c.wantTwo && data.StatusCode != 200 {
				t.Fatalf("status %d, want 200", data.StatusCode)
			}
			if !c.wantTwo && (data.NumHeaders != 0 || data.BodyLength != 0) {
				t.Errorf("refused request has %d headers and %d body bytes", data.NumHeaders, data.BodyLength)
			}
		})
	}
}

func TestHTTPUnresolvableHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	_, data := v.do(device.HTTPRequest{Method: "GET", URL: "https://nonexistent.invalid/", TimeoutMS: 5000}, 4096)
	if data.Result != abi.HTTPResultRequestFailed {
		t.Fatalf("result %s status %d, want REQUESTFAILED", data.Result, data.StatusCode)
	}
}

// TestHTTPServerNeverAnswers takes the request's whole 5 s timeout.
func TestHTTPServerNeverAnswers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.openHTTP(4096)
	start := time.Now()
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/block"), TimeoutMS: 5000})
	e.block.waitEntered(t, v.ctx)
	data := v.waitResponse(ch, tag)
	elapsed := time.Since(start)
	if data.Result != abi.HTTPResultRequestFailed {
		t.Fatalf("result %s status %d, want REQUESTFAILED", data.Result, data.StatusCode)
	}
	// Not before the request's own timeout. (How late is not bounded: a
	// loaded machine may be slow. That the request's timeout, not a fixed
	// one, decides is cloud/httpexec's TestServerNeverAnswers.)
	if elapsed < 5*time.Second {
		t.Errorf("REQUESTFAILED after %v, before the 5 s timeout", elapsed)
	}
	e.block.waitCancelled(t)
}

// TestHTTPBodyTooSlow: the timeout covers the whole exchange: a server that
// sends its headers and then stalls in the body fails the request.
func TestHTTPBodyTooSlow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.openHTTP(4096)
	start := time.Now()
	v.send(ch, device.HTTPRequest{Method: "GET", URL: e.url("/slowbody"), TimeoutMS: 5000})
	e.block.waitEntered(t, v.ctx)
	data := v.waitResponse(ch, tag)
	elapsed := time.Since(start)
	if data.Result != abi.HTTPResultRequestFailed {
		t.Fatalf("result %s status %d, want REQUESTFAILED", data.Result, data.StatusCode)
	}
	if elapsed < 5*time.Second { // a lower bound only, as above
		t.Errorf("REQUESTFAILED after %v, before the 5 s timeout", elapsed)
	}
	if data.NumHeaders != 0 || data.BodyLength != 0 {
		t.Errorf("failed request has %d headers and %d body bytes", data.NumHeaders, data.BodyLength)
	}
}

// TestHTTPSystemHeaders: Host and Content-Length come from the URL and the
// body; the application's own are ignored.
func TestHTTPSystemHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	body := []byte("hello, server")
	ch, data := v.do(device.HTTPRequest{
		Method: "POST", URL: e.url("/echo"), TimeoutMS: 10000, Body: body,
		Headers: []string{"Host: evil.example.com", "Content-Length: 999", "X-App: kept", "content-length: 1"},
	}, 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
	b := v.body(ch, data.BodyLength)
	want := map[string]string{
		"method":         "POST",
		"host":           e.srv.Base[len("https://"):],
		"content-length": strconv.Itoa(len(body)),
		"body-length":    strconv.Itoa(len(body)),
		"body":           string(body),
		"x-app":          "kept",
	}
	for k, w := range want {
		if g := echoField(b, k); g != w {
			t.Errorf("server saw %s=%q, want %q (echo: %q)", k, g, w, b)
		}
	}
}

// TestHTTPBodyAtOffsets reads a body in pieces with small buffers.
func TestHTTPBodyAtOffsets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	const n = 3000
	want := patternBody(n)
	ch, data := v.do(get(e.url("/bytes?n="+strconv.Itoa(n))), 4096)
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 || data.BodyLength != n {
		t.Fatalf("result %s status %d body_length %d", data.Result, data.StatusCode, data.BodyLength)
	}

	var got []byte
	for off := uint32(0); off < n; off += 100 {
		b, st, err := v.d.ReadHTTPResponseBody(ch, off, 100)
		if err != nil || st != abi.StatusOkay {
			t.Fatalf("mvReadHttpResponseBody(offset %d, 100): %s %v", off, st, err)
		}
		got = append(got, b...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("body reassembled from 100-byte reads differs from what the server sent")
	}

	// Reads into a buffer pre-filled with a marker, straight through the
	// kernel call, to see which bytes it touches.
	const size = 100
	buf, err := v.d.Alloc(size, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.d.Free(buf) })
	read := func(off uint32) ([]byte, abi.Status) {
		t.Helper()
		if err := v.d.Arena.Store(buf, bytes.Repeat([]byte{0xa5}, size)); err != nil {
			t.Fatal(err)
		}
		st := v.d.Kernel.ReadHTTPResponseBody(ch.Handle, off, buf, size)
		out := make([]byte, size)
		if err := v.d.Arena.Load(out, buf); err != nil {
			t.Fatal(err)
		}
		return out, st
	}
	// A short final read copies what is left and leaves the rest alone.
	b, st := read(n - 30)
	if st != abi.StatusOkay {
		t.Fatalf("short final read: %s", st)
	}
	if !bytes.Equal(b[:30], want[n-30:]) || !bytes.Equal(b[30:], bytes.Repeat([]byte{0xa5}, size-30)) {
		t.Errorf("short final read: buffer %q, want the last 30 body bytes then untouched 0xa5", b)
	}
	// offset == body_length copies nothing.
	b, st = read(n)
	if st != abi.StatusOkay {
		t.Errorf("read at offset body_length: %s, want OKAY", st)
	}
	if !bytes.Equal(b, bytes.Repeat([]byte{0xa5}, size)) {
		t.Errorf("read at offset body_length wrote into the buffer: %q", b)
	}
	// Past the body: OFFSETINVALID.
	for _, off := range []uint32{n + 1, 1 << 31} {
		if _, st := read(off); st != abi.StatusOffsetInvalid {
			t.Errorf("read at offset %d: %s, want OFFSETINVALID", off, st)
		}
	}
}

// TestHTTPOneRequestPerChannel: after a request is accepted — whatever its
// outcome — the channel refuses another.
func TestHTTPOneRequestPerChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		name string
		req  device.HTTPRequest
		want abi.HTTPResult
	}{
		{"after success", get(e.url("/hello")), abi.HTTPResultOK},
		{"after a failed result", device.HTTPRequest{Method: "GET", URL: "ftp://example.com/", TimeoutMS: 10000}, abi.HTTPResultUnsupportedURIScheme},
		{"after a request failure", device.HTTPRequest{Method: "GET", URL: e.url("/hello"), TimeoutMS: 4999}, abi.HTTPResultInvalidTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := e.newDev(t)
			ch, tag := v.openHTTP(4096)
			v.send(ch, c.req)
			// Before the response too.
			if st, err := v.d.SendHTTPRequest(ch, get(e.url("/hello"))); err != nil || st != abi.StatusRequestAlreadySent {
				t.Errorf("second send before the response: %s %v, want REQUESTALREADYSENT", st, err)
			}
			data := v.waitResponse(ch, tag)
			if data.Result != c.want {
				t.Fatalf("result %s, want %s", data.Result, c.want)
			}
			if st, err := v.d.SendHTTPRequest(ch, get(e.url("/hello"))); err != nil || st != abi.StatusRequestAlreadySent {
				t.Errorf("second send after the response: %s %v, want REQUESTALREADYSENT", st, err)
			}
			// The first response is still the one readable.
			if again, st := v.d.ReadHTTPResponseData(ch); st != abi.StatusOkay || again != data {
				t.Errorf("response data after the refused send: %+v %s, want %+v", again, st, data)
			}
		})
	}
}

// TestHTTPRejectedSendLeavesChannelUsable: a request mvSendHttpRequest
// refuses (too big for the send buffer) is not issued; the channel takes
// the next one.
func TestHTTPRejectedSendLeavesChannelUsable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	ch, tag := v.open(abi.ChannelTypeHTTP, 4096, 512)
	big := device.HTTPRequest{Method: "POST", URL: e.url("/echo"), TimeoutMS: 10000, Body: bytes.Repeat([]byte("x"), 600)}
	if st, err := v.d.SendHTTPRequest(ch, big); err != nil || st != abi.StatusInvalidBufferSize {
		t.Fatalf("request larger than the send buffer: %s %v, want INVALIDBUFFERSIZE", st, err)
	}
	v.send(ch, get(e.url("/hello")))
	if data := v.waitResponse(ch, tag); data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Fatalf("result %s status %d, want OK 200", data.Result, data.StatusCode)
	}
}

// TestHTTPMethods: every allowed method reaches the server as it was sent,
// with its body; HEAD has no body.
func TestHTTPMethods(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	v := e.newDev(t)
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} {
		ch, data := v.do(device.HTTPRequest{Method: m, URL: e.url("/echo"), TimeoutMS: 10000, Body: []byte(m)}, 4096)
		checkEchoedMethod(t, v, ch, m, data)
		if st := v.d.CloseChannel(ch); st != abi.StatusOkay {
			t.Fatalf("mvCloseChannel: %s", st)
		}
	}
}

func checkEchoedMethod(t *testing.T, v *dev, ch *device.Channel, m string, data abi.HTTPResponseData) {
	t.Helper()
	if data.Result != abi.HTTPResultOK || data.StatusCode != 200 {
		t.Errorf("%s: result %s status %d, want OK 200", m, data.Result, data.StatusCode)
		return
	}
	if m == "HEAD" {
		if data.BodyLength != 0 {
			t.Errorf("HEAD: body_length %d, want 0", data.BodyLength)
		}
		return
	}
	b := v.body(ch, data.BodyLength)
	if g := echoField(b, "method"); g != m {
		t.Errorf("%s: server saw method %q", m, g)
	}
	if g := echoField(b, "body"); g != m {
		t.Errorf("%s: server saw body %q", m, g)
	}
}
