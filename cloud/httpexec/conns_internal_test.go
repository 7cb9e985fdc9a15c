package httpexec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mvnet/mvnet/link"
)

// TestReadBodyKnownLength: a body whose length is known is read into one
// allocation of that length (io.ReadAll grows its buffer several times for
// 64 KiB), never more than the limit; a truncated body is an error.
func TestReadBodyKnownLength(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 64<<10)
	var r bytes.Reader
	allocs := testing.AllocsPerRun(20, func() {
		r.Reset(data)
		b, err := readBody(&r, int64(len(data)), int64(len(data))+1)
		if err != nil || len(b) != len(data) {
			t.Fatalf("read %d bytes, err %v", len(b), err)
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations to read a 64 KiB body of known length, want 1", allocs)
	}
	// Announced larger than the limit: the limit is read, no more.
	r.Reset(data)
	if b, err := readBody(&r, int64(len(data)), 1001); err != nil || len(b) != 1001 {
		t.Errorf("over the limit: read %d bytes, err %v; want 1001", len(b), err)
	}
	// Unknown length: read up to the limit.
	if b, err := readBody(strings.NewReader("hello"), -1, 3); err != nil || string(b) != "hel" {
		t.Errorf("unknown length: %q, %v", b, err)
	}
	// Truncated (net/http's body reader says so): an error.
	if _, err := readBody(io.MultiReader(strings.NewReader("hel"), iotest.ErrReader(io.ErrUnexpectedEOF)), 10, 100); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated body: err %v, want io.ErrUnexpectedEOF", err)
	}
	// A reader that ends early: what it had.
	if b, err := readBody(strings.NewReader("hel"), 10, 100); err != nil || string(b) != "hel" {
		t.Errorf("early EOF, 10 bytes announced: %q, %v", b, err)
	}
}

// TestHeaderLinesAllocs pins headerLines at two allocations (the lines and
// the string they share), whatever the number of headers (issue 11).
func TestHeaderLinesAllocs(t *testing.T) {
	h := http.Header{"Date": {"Mon, 07 Dec 2026 08:00:00 GMT"}, "Content-Type": {"text/plain"},
		"Content-Length": {"600"}, "X-Two": {"a", "b"}}
	want := []string{"Content-Length: 600", "Content-Type: text/plain", "Date: Mon, 07 Dec 2026 08:00:00 GMT", "X-Two: a", "X-Two: b"}
	if got := headerLines(h); !slices.Equal(got, want) {
		t.Fatalf("headerLines = %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(100, func() { headerLines(h) }); n > 2 {
		t.Fatalf("headerLines: %.0f allocations, want at most 2", n)
	}
}

// TestHTTPRequestAllocs pins the outgoing request of a GET at one
// allocation, the request itself (issue 11: rendering and re-parsing the
// URL and a header map replaced at once cost four more).
func TestHTTPRequestAllocs(t *testing.T) {
	r, _, err := validate(&link.HTTPRequest{Method: "GET", URL: "https://example.com:8443/a?b=c", Headers: []string{"Accept: */*"}, TimeoutMS: 5000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if hreq := r.httpRequest(ctx); hreq.Host != "example.com:8443" || hreq.URL != r.url || hreq.Header.Get("Accept") != "*/*" || hreq.Body != nil {
		t.Fatalf("request %+v", hreq)
	}
	if n := testing.AllocsPerRun(100, func() { r.httpRequest(ctx) }); n > 1 {
		t.Fatalf("httpRequest: %.0f allocations, want 1", n)
	}
}
