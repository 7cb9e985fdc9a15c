package httpexec_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/link"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// newServer starts a TLS server on loopback; its certificate (a CA, valid
// for 127.0.0.1, ::1, example.com and *.example.com) is returned for
// RootCAs.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *x509.Certificate) {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv, srv.Certificate()
}

// abort ends a handler whose request was cancelled without a response:
// returning normally would send one, which can still reach a client that is
// closing the connection, racing its cancellation.
func abort() { panic(http.ErrAbortHandler) }

func newExec(t *testing.T, o httpexec.Options) *httpexec.Executor {
	t.Helper()
	e, err := httpexec.New(o)
	if err != nil {
		t.Fatalf("httpexec.New: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// trusted returns an Executor that trusts root and may reach loopback.
func trusted(t *testing.T, root *x509.Certificate) *httpexec.Executor {
	return newExec(t, httpexec.Options{AllowPrefixes: loopback, RootCAs: []*x509.Certificate{root}})
}

func get(u string) *link.HTTPRequest {
	return &link.HTTPRequest{Method: "GET", URL: u, TimeoutMS: 5000}
}

func do(t *testing.T, e *httpexec.Executor, req *link.HTTPRequest, rx uint32) link.HTTPResponse {
	t.Helper()
	resp, err := e.Perform(context.Background(), req, rx)
	if (err == nil) != (resp.Result == uint32(abi.HTTPResultOK)) {
		t.Fatalf("result %d with error %v", resp.Result, err)
	}
	if err != nil {
		t.Logf("result %d: %v", resp.Result, err)
	}
	return resp
}

func wantResult(t *testing.T, resp link.HTTPResponse, want abi.HTTPResult) {
	t.Helper()
	if resp.Result != uint32(want) {
		t.Fatalf("result %d, want %d (%v)", resp.Result, want, want)
	}
}

func TestOKWithHeadersAndBody(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Date"] = nil
		h.Set("Content-Type", "text/plain")
		h.Add("X-B", "1")
		h.Add("X-A", "2")
		h.Add("X-A", "3")
		w.WriteHeader(200)
		io.WriteString(w, "hello "+r.URL.RawQuery)
	})
	e := trusted(t, root)
	resp := do(t, e, get(srv.URL+"/x?q=1"), 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if resp.StatusCode != 200 || string(resp.Body) != "hello q=1" {
		t.Fatalf("status %d body %q", resp.StatusCode, resp.Body)
	}
	want := []string{"Content-Length: 9", "Content-Type: text/plain", "X-A: 2", "X-A: 3", "X-B: 1"}
	if !slices.Equal(resp.Headers, want) {
		t.Fatalf("headers %q, want %q", resp.Headers, want)
	}
}

func TestNotFoundPassesThrough(t *testing.T) {
	srv, root := newServer(t, http.NotFound)
	resp := do(t, trusted(t, root), get(srv.URL+"/missing"), 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if resp.StatusCode != 404 {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	resp := do(t, trusted(t, root), get(srv.URL+"/"), 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if resp.StatusCode != 302 || !slices.Contains(resp.Headers, "Location: /elsewhere") {
		t.Fatalf("status %d headers %q", resp.StatusCode, resp.Headers)
	}
}

func TestValidationFailuresAreNotSent(t *testing.T) {
	var mu sync.Mutex
	hits := 0
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	})
	e := trusted(t, root)
	cases := []struct {
		req  link.HTTPRequest
		want abi.HTTPResult
	}{
		{link.HTTPRequest{Method: "GET", URL: strings.Replace(srv.URL, "https", "http", 1), TimeoutMS: 5000}, abi.HTTPResultUnsupportedURIScheme},
		{link.HTTPRequest{Method: "BREW", URL: srv.URL, TimeoutMS: 5000}, abi.HTTPResultUnsupportedMethod},
		{link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 4999}, abi.HTTPResultInvalidTimeout},
		{link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10001}, abi.HTTPResultInvalidTimeout},
		{link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 5000, Headers: []string{"X: a\r\nY: b"}}, abi.HTTPResultInvalidHeaders},
	}
	for _, c := range cases {
		wantResult(t, do(t, e, &c.req, 4096), c.want)
	}
	// 10000 ms is valid: the request is sent (and answered at once).
	wantResult(t, do(t, e, &link.HTTPRequest{Method: "GET", URL: srv.URL, TimeoutMS: 10000}, 4096), abi.HTTPResultOK)
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("server saw %d requests, want 1", hits)
	}
}

// A server that never answers fails the request when the request's own
// timeout ends. Two requests wait on it: the first with the longest
// timeout (10 s), then one with the shortest (5 s). The short one must fail
// first, however slow the machine: were a fixed timeout applied (say the
// 10 s maximum), the earlier request would end first. Its duration is
// checked only from below; nothing bounds how late a result may come. The
// long one is then cancelled (its context), which must also end it.
func TestServerNeverAnswers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan string, 2)
	cancelled := make(chan string, 2)
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		entered <- r.URL.Path
		select {
		case <-r.Context().Done():
			cancelled <- r.URL.Path
			abort()
		case <-release:
		}
	})
	defer close(release)
	e := trusted(t, root)
	type outcome struct {
		name string
		resp link.HTTPResponse
		took time.Duration
	}
	done := make(chan outcome, 2)
	perform := func(ctx context.Context, name string, timeoutMS uint32) {
		start := time.Now()
		resp, _ := e.Perform(ctx, &link.HTTPRequest{Method: "GET", URL: srv.URL + "/" + name, TimeoutMS: timeoutMS}, 4096)
		done <- outcome{name, resp, time.Since(start)}
	}
	waitEntered := func(want string) {
		t.Helper()
		select {
		case p := <-entered:
			if p != "/"+want {
				t.Fatalf("server entered %s, want /%s", p, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("request %s never reached the server", want)
		}
	}
	waitDone := func() outcome {
		t.Helper()
		select {
		case o := <-done:
			wantResult(t, o.resp, abi.HTTPResultRequestFailed)
			return o
		case <-time.After(60 * time.Second):
			t.Fatal("no result within 60 s")
		}
		return outcome{}
	}
	longCtx, cancelLong := context.WithCancel(context.Background())
	defer cancelLong()
	go perform(longCtx, "long", httpexec.MaxTimeoutMS)
	waitEntered("long")
	go perform(context.Background(), "short", httpexec.MinTimeoutMS)
	waitEntered("short")
	first := waitDone()
	if first.name != "short" {
		t.Fatalf("%s failed first after %v: the 5 s request should fail before the 10 s one", first.name, first.took)
	}
	if min := httpexec.MinTimeoutMS * time.Millisecond; first.took < min {
		t.Errorf("short failed after %v, before its %v timeout", first.took, min)
	}
	cancelLong()
	if o := waitDone(); o.name != "long" {
		t.Fatalf("second result %s", o.name)
	}
	for range 2 {
		select {
		case <-cancelled:
		case <-time.After(30 * time.Second):
			t.Fatal("server's request context was not cancelled")
		}
	}
}

func TestSlowBodyCountsAgainstTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			abort()
		case <-release:
		}
	})
	defer close(release)
	resp := do(t, trusted(t, root), get(srv.URL), 4096)
	wantResult(t, resp, abi.HTTPResultRequestFailed)
}

func TestContextCancelStopsRequest(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-r.Context().Done():
			abort()
		case <-release:
		}
	})
	defer close(release)
	e := trusted(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-entered
		cancel()
	}()
	resp, err := e.Perform(ctx, get(srv.URL), 4096)
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("result %d err %v, want REQUESTFAILED with context.Canceled", resp.Result, err)
	}
}

func TestUnresolvableHost(t *testing.T) {
	e := newExec(t, httpexec.Options{})
	resp := do(t, e, get("https://no-such-host.invalid/"), 4096)
	wantResult(t, resp, abi.HTTPResultRequestFailed)
}

func TestLoopbackRefusedUnlessAllowed(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	e := newExec(t, httpexec.Options{RootCAs: []*x509.Certificate{root}})
	resp, err := e.Perform(context.Background(), get(srv.URL), 4096)
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, httpexec.ErrRefused) {
		t.Fatalf("result %d err %v, want REQUESTFAILED with ErrRefused", resp.Result, err)
	}
	// "localhost" resolves to loopback: refused the same way.
	u, _ := url.Parse(srv.URL)
	resp, err = e.Perform(context.Background(), get("https://localhost:"+u.Port()+"/"), 4096)
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, httpexec.ErrRefused) {
		t.Fatalf("localhost: result %d err %v, want REQUESTFAILED with ErrRefused", resp.Result, err)
	}
	// Allow-listing a different prefix does not help.
	e = newExec(t, httpexec.Options{RootCAs: []*x509.Certificate{root}, AllowPrefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	wantResult(t, do(t, e, get(srv.URL), 4096), abi.HTTPResultRequestFailed)
	// Allow-listing 127.0.0.0/8 does.
	wantResult(t, do(t, trusted(t, root), get(srv.URL), 4096), abi.HTTPResultOK)
}

func TestPolicyRefusesReservedTargets(t *testing.T) {
	e := newExec(t, httpexec.Options{})
	for _, host := range []string{"10.1.2.3", "192.168.1.1", "172.16.0.1", "169.254.169.254", "0.0.0.0", "[::1]", "[fe80::1]", "[fd00::1]", "224.0.0.1", "[::ffff:127.0.0.1]"} {
		resp, err := e.Perform(context.Background(), get("https://"+host+"/"), 4096)
		if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, httpexec.ErrRefused) {
			t.Errorf("%s: result %d err %v, want REQUESTFAILED with ErrRefused", host, resp.Result, err)
		}
	}
}

func TestResolveOverride(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "host="+r.Host)
	})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	// host:port:addr:port — the URL's default port 443 goes to PORT.
	e := newExec(t, httpexec.Options{
		AllowPrefixes: loopback,
		RootCAs:       []*x509.Certificate{root},
		Resolve: []string{
			"api.example.com:443:127.0.0.1:" + port,
			"example.com:" + port + ":127.0.0.1",
		},
	})
	resp := do(t, e, get("https://api.example.com/"), 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if string(resp.Body) != "host=api.example.com" {
		t.Fatalf("body %q", resp.Body)
	}
	// host:port:addr — same port.
	resp = do(t, e, get("https://example.com:"+port+"/"), 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if string(resp.Body) != "host=example.com:"+port {
		t.Fatalf("body %q", resp.Body)
	}
	// The override still goes through the policy.
	e = newExec(t, httpexec.Options{RootCAs: []*x509.Certificate{root}, Resolve: []string{"api.example.com:443:127.0.0.1:" + port}})
	resp, err := e.Perform(context.Background(), get("https://api.example.com/"), 4096)
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, httpexec.ErrRefused) {
		t.Fatalf("result %d err %v, want REQUESTFAILED with ErrRefused", resp.Result, err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {})
	e := newExec(t, httpexec.Options{AllowPrefixes: loopback})
	resp, err := e.Perform(context.Background(), get(srv.URL), 4096)
	var uae x509.UnknownAuthorityError
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.As(err, &uae) {
		t.Fatalf("result %d err %v, want REQUESTFAILED with an unknown authority", resp.Result, err)
	}
}

func TestSystemSuppliesHostAndContentLength(t *testing.T) {
	type seen struct {
		host   string
		length int64
		hdr    []string
		body   string
		other  string
	}
	got := make(chan seen, 1)
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Host, r.ContentLength, r.Header.Values("Content-Length"), string(b), r.Header.Get("X-App")}
	})
	req := &link.HTTPRequest{
		Method:    "POST",
		URL:       srv.URL + "/p",
		Headers:   []string{"Host: evil.example", "Content-Length: 999", "X-App: yes"},
		Body:      []byte("hello"),
		TimeoutMS: 5000,
	}
	wantResult(t, do(t, trusted(t, root), req, 4096), abi.HTTPResultOK)
	s := <-got
	u, _ := url.Parse(srv.URL)
	if s.host != u.Host || s.length != 5 || s.body != "hello" || s.other != "yes" {
		t.Fatalf("server saw %+v, want host %s, length 5", s, u.Host)
	}
	if len(s.hdr) > 1 || (len(s.hdr) == 1 && s.hdr[0] != "5") {
		t.Fatalf("server saw Content-Length headers %q", s.hdr)
	}
}

func TestHeadHasNoBody(t *testing.T) {
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
	})
	req := get(srv.URL)
	req.Method = "HEAD"
	resp := do(t, trusted(t, root), req, 4096)
	wantResult(t, resp, abi.HTTPResultOK)
	if len(resp.Body) != 0 || !slices.Contains(resp.Headers, "Content-Length: 1000") {
		t.Fatalf("body %d bytes, headers %q", len(resp.Body), resp.Headers)
	}
}

func TestResponseTooLargeBoundary(t *testing.T) {
	body := strings.Repeat("b", 700)
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(201)
		io.WriteString(w, body)
	})
	e := trusted(t, root)
	full := do(t, e, get(srv.URL), 1<<20)
	wantResult(t, full, abi.HTTPResultOK)
	size := link.HTTPResponseSize(&full)
	if size <= len(body) {
		t.Fatalf("size %d not larger than the body", size)
	}
	// size == rxSize: fits.
	resp := do(t, e, get(srv.URL), uint32(size))
	wantResult(t, resp, abi.HTTPResultOK)
	if string(resp.Body) != body || !slices.Equal(resp.Headers, full.Headers) {
		t.Fatalf("response at the boundary differs: %d body bytes, headers %q", len(resp.Body), resp.Headers)
	}
	// size == rxSize+1: too large, status kept, no headers, no body.
	resp = do(t, e, get(srv.URL), uint32(size-1))
	wantResult(t, resp, abi.HTTPResultResponseTooLarge)
	if resp.StatusCode != 201 || resp.Headers != nil || resp.Body != nil {
		t.Fatalf("too large: status %d headers %q body %d bytes", resp.StatusCode, resp.Headers, len(resp.Body))
	}
}

func TestHugeBodyIsNotRead(t *testing.T) {
	wrote := make(chan int64, 1)
	srv, root := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		var n int64
		defer func() { wrote <- n }()
		for n < 1<<30 { // 1 GiB unless the client stops reading
			m, err := w.Write(chunk)
			n += int64(m)
			if err != nil {
				return
			}
		}
	})
	resp := do(t, trusted(t, root), get(srv.URL), 2048)
	wantResult(t, resp, abi.HTTPResultResponseTooLarge)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	select {
	case n := <-wrote:
		if n >= 1<<30 {
			t.Fatalf("server wrote the whole body")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server kept writing after the client gave up")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	if _, err := httpexec.New(httpexec.Options{Resolve: []string{"nonsense"}}); err == nil || !strings.Contains(err.Error(), `"nonsense"`) {
		t.Fatalf("bad Resolve: err %v", err)
	}
	if _, err := httpexec.New(httpexec.Options{MaxIdleConnsPerHost: -1}); err == nil {
		t.Fatal("negative MaxIdleConnsPerHost accepted")
	}
	if _, err := httpexec.New(httpexec.Options{RootCAs: []*x509.Certificate{nil}}); err == nil {
		t.Fatal("nil root accepted")
	}
}

func TestHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	e := trusted(t, srv.Certificate())
	for range 2 { // the second request reuses the connection
		resp := do(t, e, get(srv.URL), 4096)
		wantResult(t, resp, abi.HTTPResultOK)
		if string(resp.Body) != "HTTP/2.0" {
			t.Fatalf("body %q, want HTTP/2.0", resp.Body)
		}
	}
}

// TestConnectionHeadersDropped checks that the application's
// connection-specific headers are dropped, so that the request succeeds and
// the server sees none of them whether ALPN picks HTTP/1.1 or HTTP/2. Over
// HTTP/2 Go's transport would otherwise refuse Connection,
// Transfer-Encoding and Upgrade, and the server a TE other than "trailers".
func TestConnectionHeadersDropped(t *testing.T) {
	dropped := []string{
		"Connection: close",
		"Connection: keep-alive, Upgrade",
		"Keep-Alive: timeout=5, max=100",
		"Proxy-Connection: keep-alive",
		"Transfer-Encoding: chunked",
		"Transfer-Encoding: gzip",
		"Upgrade: websocket",
		"Upgrade: h2c",
		"TE: gzip",
		"TE: trailers, deflate",
		"Trailer: X-T",
	}
	type seen struct {
		proto string
		hdr   http.Header
		te    []string // r.TransferEncoding
		body  string
	}
	for _, h2 := range []bool{false, true} {
		want := "HTTP/1.1"
		if h2 {
			want = "HTTP/2.0"
		}
		t.Run(want, func(t *testing.T) {
			got := make(chan seen, 1)
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				got <- seen{r.Proto, r.Header.Clone(), r.TransferEncoding, string(b)}
				io.WriteString(w, "ok")
			}))
			srv.EnableHTTP2 = h2
			srv.StartTLS()
			t.Cleanup(srv.Close)
			e := trusted(t, srv.Certificate())
			check := func(t *testing.T, headers []string, wantTE string) {
				t.Helper()
				req := &link.HTTPRequest{
					Method: "POST", URL: srv.URL, TimeoutMS: 5000, Body: []byte("body"),
					Headers: append(slices.Clone(headers), "X-App: yes"),
				}
				resp := do(t, e, req, 4096)
				wantResult(t, resp, abi.HTTPResultOK)
				if resp.StatusCode != 200 || string(resp.Body) != "ok" {
					t.Fatalf("status %d body %q", resp.StatusCode, resp.Body)
				}
				s := <-got
				if s.proto != want {
					t.Fatalf("server spoke %s, want %s", s.proto, want)
				}
				if s.body != "body" || s.hdr.Get("X-App") != "yes" || len(s.te) != 0 {
					t.Fatalf("server saw body %q, X-App %q, transfer encoding %q", s.body, s.hdr.Get("X-App"), s.te)
				}
				for _, name := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Trailer"} {
					if v, ok := s.hdr[name]; ok {
						t.Fatalf("server saw %s: %q", name, v)
					}
				}
				if te := strings.Join(s.hdr.Values("Te"), ","); te != wantTE {
					t.Fatalf("server saw TE %q, want %q", te, wantTE)
				}
			}
			for _, h := range dropped {
				t.Run(h, func(t *testing.T) { check(t, []string{h}, "") })
			}
			t.Run("all at once", func(t *testing.T) { check(t, dropped, "") })
			t.Run("TE: trailers kept", func(t *testing.T) { check(t, []string{"TE: Trailers", "te: trailers"}, "trailers") })
		})
	}
}

// TestDialContextAppliesPolicy: the exported dialer (used for MQTT brokers)
// refuses what HTTPS requests may not reach, honours AllowPrefixes and
// Resolve, and reports an unresolvable name as a *net.DNSError.
func TestDialContextAppliesPolicy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx := context.Background()

	strict := newExec(t, httpexec.Options{})
	for _, addr := range []string{ln.Addr().String(), "localhost:" + port, "10.1.2.3:1883", "[::1]:1883"} {
		if c, err := strict.DialContext(ctx, "tcp", addr); !errors.Is(err, httpexec.ErrRefused) {
			if c != nil {
				c.Close()
			}
			t.Errorf("%s: err %v, want ErrRefused", addr, err)
		}
	}
	var dnsErr *net.DNSError
	if _, err := strict.DialContext(ctx, "tcp", "broker.mvnet.invalid:1883"); !errors.As(err, &dnsErr) {
		t.Errorf("unresolvable name: err %v, want a *net.DNSError", err)
	}
	if _, err := strict.DialContext(ctx, "udp", "example.com:1883"); err == nil {
		t.Error("udp: dialled")
	}

	allowed := newExec(t, httpexec.Options{AllowPrefixes: loopback, Resolve: []string{"broker.example.com:1883:127.0.0.1:" + port}})
	for _, addr := range []string{ln.Addr().String(), "broker.example.com:1883"} {
		c, err := allowed.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		c.Close()
	}
	// Resolve overrides still go through the policy.
	resolveOnly := newExec(t, httpexec.Options{Resolve: []string{"broker.example.com:1883:127.0.0.1:" + port}})
	if _, err := resolveOnly.DialContext(ctx, "tcp", "broker.example.com:1883"); !errors.Is(err, httpexec.ErrRefused) {
		t.Errorf("override to loopback without AllowPrefixes: err %v, want ErrRefused", err)
	}
}

// TestDialRefusesEmbeddedIPv4 (issue 8): IPv6 addresses that carry an IPv4
// address — IPv4-compatible ::/96 and NAT64 64:ff9b::/96, 64:ff9b:1::/48 —
// are refused unless allow-listed.
func TestDialRefusesEmbeddedIPv4(t *testing.T) {
	addrs := []string{"[::127.0.0.1]:443", "[::a00:1]:443", "[::8.8.8.8]:443", "[64:ff9b::7f00:1]:443",
		"[64:ff9b::10.0.0.1]:1883", "[64:ff9b::8.8.8.8]:443", "[64:ff9b:1::a00:1]:443"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	strict := newExec(t, httpexec.Options{})
	for _, addr := range addrs {
		c, err := strict.DialContext(ctx, "tcp", addr)
		if c != nil {
			c.Close()
		}
		if !errors.Is(err, httpexec.ErrRefused) {
			t.Errorf("%s: err %v, want ErrRefused", addr, err)
		}
	}
	resp, err := strict.Perform(ctx, get("https://[::127.0.0.1]/"), 4096)
	if resp.Result != uint32(abi.HTTPResultRequestFailed) || !errors.Is(err, httpexec.ErrRefused) {
		t.Errorf("HTTPS to [::127.0.0.1]: result %d err %v, want REQUESTFAILED with ErrRefused", resp.Result, err)
	}
	// Allow-listed, the same addresses pass the policy: checked without
	// dialling (TestAllowListLiftsEmbeddedIPv4), since they are not loopback
	// addresses and tests send traffic only to loopback.
}
