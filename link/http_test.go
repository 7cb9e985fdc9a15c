package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"
)

var sampleRequests = []HTTPRequest{
	{Method: "GET", URL: "https://example.com/", TimeoutMS: 10000},
	{
		Method:    "POST",
		URL:       "https://api.example.com/v1/things?x=1",
		Headers:   []string{"Content-Type: application/json", "X-Empty:", ""},
		Body:      []byte(`{"a":1}`),
		TimeoutMS: 5000,
	},
	{},
}

var sampleResponses = []HTTPResponse{
	{Result: 0, StatusCode: 200, Headers: []string{"Content-Type: text/plain", "Date: today"}, Body: []byte("hello")},
	{Result: 4}, // REQUESTFAILED
	{StatusCode: 204, Headers: []string{""}},
	{StatusCode: 200, Body: bytes.Repeat([]byte{0xAB}, 3000)},
}

func TestHTTPRequestRoundTrip(t *testing.T) {
	for _, r := range sampleRequests {
		b := AppendHTTPRequest([]byte("pre"), &r)
		b = b[3:]
		if len(b) != HTTPRequestSize(&r) {
			t.Fatalf("encoded %d bytes, HTTPRequestSize says %d", len(b), HTTPRequestSize(&r))
		}
		if total := binary.LittleEndian.Uint32(b); int(total) != len(b) {
			t.Fatalf("total %d, encoded %d bytes", total, len(b))
		}
		// Followed by another message: only the first is consumed.
		stream := append(append([]byte(nil), b...), 0xFF, 0xFF)
		got, n, err := ParseHTTPRequest(stream)
		if err != nil || n != len(b) || !reflect.DeepEqual(got, r) {
			t.Fatalf("ParseHTTPRequest = %+v, %d, %v; want %+v, %d", got, n, err, r, len(b))
		}
		// Every proper prefix is short.
		for i := range len(b) {
			if _, _, err := ParseHTTPRequest(b[:i]); err != ErrShort {
				t.Fatalf("prefix of %d of %d bytes: %v, want ErrShort", i, len(b), err)
			}
		}
	}
}

func TestHTTPRequestWireBytes(t *testing.T) {
	r := HTTPRequest{Method: "GET", URL: "u", Headers: []string{"h"}, Body: []byte("b"), TimeoutMS: 0x1388}
	want := []byte{
		34, 0, 0, 0, // total
		0x88, 0x13, 0, 0, // timeout_ms
		3, 0, 0, 0, // method_len
		1, 0, 0, 0, // url_len
		1, 0, 0, 0, // num_headers
		1, 0, 0, 0, // body_len
		'G', 'E', 'T', 'u',
		1, 0, 0, 0, 'h',
		'b',
	}
	if got := AppendHTTPRequest(nil, &r); !bytes.Equal(got, want) {
		t.Fatalf("AppendHTTPRequest = %v, want %v", got, want)
	}
}

func TestHTTPResponseRoundTrip(t *testing.T) {
	for _, r := range sampleResponses {
		b := AppendHTTPResponse(nil, &r)
		if len(b) != HTTPResponseSize(&r) {
			t.Fatalf("encoded %d bytes, HTTPResponseSize says %d", len(b), HTTPResponseSize(&r))
		}
		got, n, err := ParseHTTPResponse(append(b, 1, 2, 3))
		if err != nil || n != len(b) || !reflect.DeepEqual(got, r) {
			t.Fatalf("ParseHTTPResponse = %+v, %d, %v; want %+v", got, n, err, r)
		}
		x, err := IndexHTTPResponse(b)
		if err != nil {
			t.Fatal(err)
		}
		if int(x.Total) != len(b) || x.Result != r.Result || x.StatusCode != r.StatusCode || len(x.Headers) != len(r.Headers) {
			t.Fatalf("IndexHTTPResponse = %+v", x)
		}
		for i, s := range x.Headers {
			if string(b[s.Off:s.Off+s.Len]) != r.Headers[i] {
				t.Errorf("header %d span %+v = %q, want %q", i, s, b[s.Off:s.Off+s.Len], r.Headers[i])
			}
		}
		if !bytes.Equal(b[x.Body.Off:x.Body.Off+x.Body.Len], r.Body) || int(x.Body.Off+x.Body.Len) != len(b) {
			t.Errorf("body span %+v wrong", x.Body)
		}
		for i := range len(b) {
			if _, _, err := ParseHTTPResponse(b[:i]); err != ErrShort {
				t.Fatalf("prefix of %d of %d bytes: %v, want ErrShort", i, len(b), err)
			}
		}
	}
}

func TestHTTPResponseWireBytes(t *testing.T) {
	r := HTTPResponse{Result: 1, StatusCode: 404, Headers: []string{"ab"}, Body: []byte("z")}
	want := []byte{
		27, 0, 0, 0, // total
		1, 0, 0, 0, // result
		0x94, 1, 0, 0, // status_code
		1, 0, 0, 0, // num_headers
		1, 0, 0, 0, // body_len
		2, 0, 0, 0, 'a', 'b',
		'z',
	}
	if got := AppendHTTPResponse(nil, &r); !bytes.Equal(got, want) {
		t.Fatalf("AppendHTTPResponse = %v, want %v", got, want)
	}
	x, err := IndexHTTPResponse(want)
	wantX := HTTPResponseIndex{Total: 27, Result: 1, StatusCode: 404, Headers: []Span{{24, 2}}, Body: Span{26, 1}}
	if err != nil || !reflect.DeepEqual(x, wantX) {
		t.Fatalf("IndexHTTPResponse = %+v, %v; want %+v", x, err, wantX)
	}
}

// le builds a message from little-endian u32s and raw strings.
func le(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch p := p.(type) {
		case int:
			b = binary.LittleEndian.AppendUint32(b, uint32(p))
		case string:
			b = append(b, p...)
		}
	}
	return b
}

func TestHTTPMalformed(t *testing.T) {
	responses := []struct {
		name string
		b    []byte
	}{
		{"total under fixed", le(19, 0, 0, 0, 0)},
		{"total 0", le(0)},
		{"body_len too big", le(21, 0, 200, 0, 2, "x")},
		{"body_len too small", le(22, 0, 200, 0, 1, "xy")},
		{"num_headers too big", le(24, 0, 200, 2, 0, 0)},
		{"num_headers huge", le(20, 0, 200, -1, 0)},
		{"header runs past total", le(26, 0, 200, 1, 0, 3, "ab")},
		{"header length huge", le(26, 0, 200, 1, 0, -1, "ab")},
		{"header length field cut", le(22, 0, 200, 1, 0, "ab")},
	}
	for _, tt := range responses {
		t.Run("response "+tt.name, func(t *testing.T) {
			if _, _, err := ParseHTTPResponse(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseHTTPResponse: %v, want ErrMalformed", err)
			}
			if _, err := IndexHTTPResponse(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("IndexHTTPResponse: %v, want ErrMalformed", err)
			}
		})
	}
	requests := []struct {
		name string
		b    []byte
	}{
		{"total under fixed", le(23, 0, 0, 0, 0, 0)},
		{"method past total", le(24, 0, 1, 0, 0, 0)},
		{"method+url past total", le(26, 0, 1, 2, 0, 0, "GE")},
		{"lengths wrap u32", le(26, 0, -1, 3, 0, 0, "GE")},
		{"body_len too big", le(27, 0, 3, 0, 0, 1, "GET")},
		{"body_len too small", le(28, 0, 3, 0, 0, 0, "GETx")},
		{"num_headers too big", le(28, 0, 0, 0, 2, 0, 0)},
		{"header past total", le(30, 0, 0, 0, 1, 0, 5, "ab")},
	}
	for _, tt := range requests {
		t.Run("request "+tt.name, func(t *testing.T) {
			if _, _, err := ParseHTTPRequest(tt.b); !errors.Is(err, ErrMalformed) {
				t.Errorf("ParseHTTPRequest: %v, want ErrMalformed", err)
			}
		})
	}
	// A total larger than the bytes present is short, not malformed.
	if _, _, err := ParseHTTPRequest(le(1000, 0, 0, 0, 0, 0)); err != ErrShort {
		t.Errorf("long total: %v, want ErrShort", err)
	}
}

// FuzzParseHTTPRequest checks that ParseHTTPRequest never panics and that a
// request it accepts re-encodes to the bytes it consumed.
func FuzzParseHTTPRequest(f *testing.F) {
	for _, r := range sampleRequests {
		f.Add(AppendHTTPRequest(nil, &r))
	}
	f.Add(le(30, 0, 0, 0, 1, 0, 5, "ab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseHTTPRequest(b)
		if err != nil {
			if err != ErrShort && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n < HTTPRequestFixedLen || n > len(b) {
			t.Fatalf("consumed %d of %d bytes", n, len(b))
		}
		enc := AppendHTTPRequest(nil, &r)
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, b[:n])
		}
		r2, n2, err := ParseHTTPRequest(enc)
		if err != nil || n2 != n || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v, %v", r2, err)
		}
	})
}

// FuzzParseHTTPResponse checks that ParseHTTPResponse and IndexHTTPResponse
// never panic, agree with each other, and that a response they accept
// re-encodes to the bytes consumed.
func FuzzParseHTTPResponse(f *testing.F) {
	for _, r := range sampleResponses {
		f.Add(AppendHTTPResponse(nil, &r))
	}
	f.Add(le(26, 0, 200, 1, 0, 3, "ab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, n, err := ParseHTTPResponse(b)
		x, xerr := IndexHTTPResponse(b)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("Parse error %v, Index error %v", err, xerr)
		}
		if err != nil {
			if err != ErrShort && !errors.Is(err, ErrMalformed) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n != int(x.Total) || n < HTTPResponseFixedLen || n > len(b) {
			t.Fatalf("consumed %d of %d bytes (index total %d)", n, len(b), x.Total)
		}
		enc := AppendHTTPResponse(nil, &r)
		if !bytes.Equal(enc, b[:n]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", enc, b[:n])
		}
		r2, n2, err := ParseHTTPResponse(enc)
		if err != nil || n2 != n || !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip: %+v, %v", r2, err)
		}
	})
}

// TestAppendHTTPRequestSpace checks that filling the spaces gives the same
// bytes as AppendHTTPRequest, after a prefix already in dst.
func TestAppendHTTPRequestSpace(t *testing.T) {
	r := &HTTPRequest{Method: "POST", URL: "https://example.com/x", Headers: []string{"A: b", "", "Content-Type: text/plain"},
		Body: []byte("hello"), TimeoutMS: 1234}
	want := AppendHTTPRequest([]byte("pre"), r)
	lens := make([]uint32, len(r.Headers))
	for i, h := range r.Headers {
		lens[i] = uint32(len(h))
	}
	got, spans := AppendHTTPRequestSpace([]byte("pre"), r.TimeoutMS, uint32(len(r.Method)), uint32(len(r.URL)), lens, uint32(len(r.Body)), nil)
	if len(spans) != len(r.Headers)+3 {
		t.Fatalf("%d spans, want %d", len(spans), len(r.Headers)+3)
	}
	fields := append(append([]string{r.Method, r.URL}, r.Headers...), string(r.Body))
	msg := got[len("pre"):]
	for i, sp := range spans {
		if int(sp.Len) != len(fields[i]) {
			t.Fatalf("span %d: %d bytes, want %d", i, sp.Len, len(fields[i]))
		}
		copy(msg[sp.Off:sp.Off+sp.Len], fields[i])
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}
}

// TestParseHTTPRequestAllocs: a GET's method is not allocated (one of the
// methods an application may send); its URL is.
func TestParseHTTPRequestAllocs(t *testing.T) {
	b := AppendHTTPRequest(nil, &HTTPRequest{Method: "GET", URL: "https://example.com/", TimeoutMS: 1000})
	allocs := testing.AllocsPerRun(100, func() {
		if r, _, err := ParseHTTPRequest(b); err != nil || r.Method != "GET" {
			t.Fatal(r, err)
		}
	})
	if allocs > 1 {
		t.Errorf("%.1f allocations per GET parsed, want 1 (the URL)", allocs)
	}
}
