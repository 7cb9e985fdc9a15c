package httpexec

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

func goodRequest() *link.HTTPRequest {
	return &link.HTTPRequest{
		Method:    "GET",
		URL:       "https://example.com/path?q=1",
		Headers:   []string{"Accept: */*"},
		TimeoutMS: 5000,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(r *link.HTTPRequest)
		want abi.HTTPResult
	}{
		{"good", func(r *link.HTTPRequest) {}, abi.HTTPResultOK},
		{"upper-case scheme", func(r *link.HTTPRequest) { r.URL = "HTTPS://example.com/" }, abi.HTTPResultOK},
		{"http scheme", func(r *link.HTTPRequest) { r.URL = "http://example.com/" }, abi.HTTPResultUnsupportedURIScheme},
		{"ftp scheme", func(r *link.HTTPRequest) { r.URL = "ftp://example.com/" }, abi.HTTPResultUnsupportedURIScheme},
		{"no scheme", func(r *link.HTTPRequest) { r.URL = "example.com/" }, abi.HTTPResultUnsupportedURIScheme},
		{"empty url", func(r *link.HTTPRequest) { r.URL = "" }, abi.HTTPResultUnsupportedURIScheme},
		{"unparsable url", func(r *link.HTTPRequest) { r.URL = "https://exa mple.com:port/" }, abi.HTTPResultUnsupportedURIScheme},
		{"control char in url", func(r *link.HTTPRequest) { r.URL = "https://example.com/\n" }, abi.HTTPResultUnsupportedURIScheme},
		{"lower-case method", func(r *link.HTTPRequest) { r.Method = "get" }, abi.HTTPResultUnsupportedMethod},
		{"TRACE", func(r *link.HTTPRequest) { r.Method = "TRACE" }, abi.HTTPResultUnsupportedMethod},
		{"CONNECT", func(r *link.HTTPRequest) { r.Method = "CONNECT" }, abi.HTTPResultUnsupportedMethod},
		{"empty method", func(r *link.HTTPRequest) { r.Method = "" }, abi.HTTPResultUnsupportedMethod},
		{"timeout 0", func(r *link.HTTPRequest) { r.TimeoutMS = 0 }, abi.HTTPResultInvalidTimeout},
		{"timeout 4999", func(r *link.HTTPRequest) { r.TimeoutMS = 4999 }, abi.HTTPResultInvalidTimeout},
		{"timeout 5000", func(r *link.HTTPRequest) { r.TimeoutMS = 5000 }, abi.HTTPResultOK},
		{"timeout 10000", func(r *link.HTTPRequest) { r.TimeoutMS = 10000 }, abi.HTTPResultOK},
		{"timeout 10001", func(r *link.HTTPRequest) { r.TimeoutMS = 10001 }, abi.HTTPResultInvalidTimeout},
		{"header no colon", func(r *link.HTTPRequest) { r.Headers = []string{"Accept */*"} }, abi.HTTPResultInvalidHeaders},
		{"header empty name", func(r *link.HTTPRequest) { r.Headers = []string{": x"} }, abi.HTTPResultInvalidHeaders},
		{"header space before colon", func(r *link.HTTPRequest) { r.Headers = []string{"Accept : x"} }, abi.HTTPResultInvalidHeaders},
		{"header bad name char", func(r *link.HTTPRequest) { r.Headers = []string{"X(y): x"} }, abi.HTTPResultInvalidHeaders},
		{"header CRLF injection", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: 1\r\nX-B: 2"} }, abi.HTTPResultInvalidHeaders},
		{"header LF", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: 1\n"} }, abi.HTTPResultInvalidHeaders},
		{"header NUL", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: a\x00b"} }, abi.HTTPResultInvalidHeaders},
		{"header DEL", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: a\x7fb"} }, abi.HTTPResultInvalidHeaders},
		{"header empty line", func(r *link.HTTPRequest) { r.Headers = []string{""} }, abi.HTTPResultInvalidHeaders},
		{"header tab in value", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: a\tb"} }, abi.HTTPResultOK},
		{"header empty value", func(r *link.HTTPRequest) { r.Headers = []string{"X-A:"} }, abi.HTTPResultOK},
		{"header utf-8 value", func(r *link.HTTPRequest) { r.Headers = []string{"X-A: café"} }, abi.HTTPResultOK},
		// The order of the checks: scheme, method, timeout, headers.
		{"scheme before method", func(r *link.HTTPRequest) { r.URL, r.Method = "http://x/", "BREW" }, abi.HTTPResultUnsupportedURIScheme},
		{"method before timeout", func(r *link.HTTPRequest) { r.Method, r.TimeoutMS = "BREW", 1 }, abi.HTTPResultUnsupportedMethod},
		{"timeout before headers", func(r *link.HTTPRequest) { r.TimeoutMS, r.Headers = 1, []string{"bad"} }, abi.HTTPResultInvalidTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodRequest()
			tt.edit(r)
			_, got, err := validate(r)
			if got != tt.want {
				t.Fatalf("result %v (%v), want %v", got, err, tt.want)
			}
			if (err == nil) != (got == abi.HTTPResultOK) {
				t.Fatalf("result %v with error %v", got, err)
			}
		})
	}
}

func TestValidateHeaders(t *testing.T) {
	r := goodRequest()
	r.Headers = []string{"host: evil.example", "content-length: 99", "x-multi:  a ", "X-Multi: b", "Content-Type: text/plain"}
	v, res, err := validate(r)
	if err != nil {
		t.Fatalf("validate: %v (%v)", err, res)
	}
	want := http.Header{"X-Multi": {"a", "b"}, "Content-Type": {"text/plain"}}
	if len(v.header) != len(want) {
		t.Fatalf("headers %v, want %v", v.header, want)
	}
	for k, vs := range want {
		if got := v.header[k]; len(got) != len(vs) || got[0] != vs[0] || got[len(got)-1] != vs[len(vs)-1] {
			t.Fatalf("header %s = %q, want %q", k, got, vs)
		}
	}
}

func TestValidateDropsConnectionHeaders(t *testing.T) {
	r := goodRequest()
	r.Headers = []string{
		"Connection: keep-alive, Upgrade", "keep-alive: timeout=5", "Proxy-Connection: close",
		"Transfer-Encoding: chunked", "upgrade: websocket", "Trailer: X-T", "TE: gzip",
		"te: Trailers", "TE: trailers", "X-App: yes",
	}
	v, res, err := validate(r)
	if err != nil {
		t.Fatalf("validate: %v (%v)", err, res)
	}
	want := http.Header{"Te": {"trailers"}, "X-App": {"yes"}}
	if len(v.header) != len(want) || !slices.Equal(v.header["Te"], want["Te"]) || !slices.Equal(v.header["X-App"], want["X-App"]) {
		t.Fatalf("headers %v, want %v", v.header, want)
	}
	// A TE other than "trailers" alone is dropped, not kept empty.
	r.Headers = []string{"TE: trailers, deflate"}
	if v, _, err := validate(r); err != nil || len(v.header) != 0 {
		t.Fatalf("headers %v (err %v), want none", v.header, err)
	}
	// Dropped headers must still be well formed.
	r.Headers = []string{"Connection: a\x00b"}
	if _, res, _ := validate(r); res != abi.HTTPResultInvalidHeaders {
		t.Fatalf("malformed Connection header: result %v, want INVALIDHEADERS", res)
	}
}

func TestParseResolve(t *testing.T) {
	good := []struct {
		in   string
		host string
		port uint16
		addr string
		to   uint16
	}{
		{"example.test:443:127.0.0.1", "example.test", 443, "127.0.0.1", 0},
		{"API.Example.com:443:127.0.0.1:8443", "api.example.com", 443, "127.0.0.1", 8443},
		{"h:443:::1", "h", 443, "::1", 0},
		{"h:443:[::1]", "h", 443, "::1", 0},
		{"h:443:[::1]:8443", "h", 443, "::1", 8443},
		{"h:443:::ffff:10.0.0.1", "h", 443, "10.0.0.1", 0},
	}
	for _, g := range good {
		k, tg, err := parseResolve(g.in)
		if err != nil {
			t.Errorf("parseResolve(%q): %v", g.in, err)
			continue
		}
		if k.host != g.host || k.port != g.port || tg.addr.String() != g.addr || tg.port != g.to {
			t.Errorf("parseResolve(%q) = %+v %+v", g.in, k, tg)
		}
	}
	bad := []string{"", "host", "host:443", "host:443:", ":443:1.2.3.4", "host:x:1.2.3.4", "host:0:1.2.3.4",
		"host:70000:1.2.3.4", "host:443:localhost", "host:443:1.2.3.4:0", "host:443:1.2.3.4:x", "host:443:1.2.3.4:5:6"}
	for _, b := range bad {
		if _, _, err := parseResolve(b); err == nil {
			t.Errorf("parseResolve(%q) succeeded", b)
		}
	}
	if _, err := New(Options{Resolve: []string{"a:443:1.2.3.4", "A:443:1.2.3.5"}}); err == nil {
		t.Error("New accepted two entries for the same host:port")
	}
	_, err := New(Options{Resolve: []string{"a:443:not-an-ip"}})
	if err == nil || !strings.Contains(err.Error(), `"a:443:not-an-ip"`) {
		t.Errorf("New error %v does not name the bad entry", err)
	}
}
