package link

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrShort is returned by the channel message parsers when the bytes given
// do not yet hold a whole message: more must arrive first.
var ErrShort = errors.New("link: incomplete message")

// HTTPRequestFixedLen and HTTPResponseFixedLen are the sizes of the fixed
// parts of the HTTP channel messages, before the variable-length fields.
const (
	HTTPRequestFixedLen  = 24
	HTTPResponseFixedLen = 20
)

// HTTPRequest is the message the kernel writes into an HTTP channel's send
// ring for mvSendHttpRequest. Encoding (little endian):
//
//	total u32 | timeout_ms u32 | method_len u32 | url_len u32 |
//	num_headers u32 | body_len u32 | method | url |
//	{ header_len u32 | header }* | body
//
// where total counts every byte of the message, itself included.
type HTTPRequest struct {
	Method    string
	URL       string
	Headers   []string // each as the application gave it, e.g. "Accept: */*"
	Body      []byte
	TimeoutMS uint32
}

// HTTPResponse is the message the cloud sends back on an HTTP channel and the
// kernel reads from the receive ring. Encoding (little endian):
//
//	total u32 | result u32 | status_code u32 | num_headers u32 |
//	body_len u32 | { header_len u32 | header }* | body
//
// Result is an MvHttpResult; when it is not OK the status code, headers and
// body are normally empty.
type HTTPResponse struct {
	Result     uint32
	StatusCode uint32
	Headers    []string // each "Name: value"
	Body       []byte
}

// Span locates bytes within a message: b[Off : Off+Len].
type Span struct{ Off, Len uint32 }

// HTTPResponseIndex locates the parts of an encoded HTTPResponse without
// copying them, so the kernel can read them in place from the receive ring.
type HTTPResponseIndex struct {
	Total, Result, StatusCode uint32
	Headers                   []Span
	Body                      Span
}

func headersSize(h []string) int {
	n := 0
	for _, s := range h {
		n += 4 + len(s)
	}
	return n
}

// HTTPRequestSize returns the encoded size of r.
func HTTPRequestSize(r *HTTPRequest) int {
	return HTTPRequestFixedLen + len(r.Method) + len(r.URL) + headersSize(r.Headers) + len(r.Body)
}

// HTTPResponseSize returns the encoded size of r.
func HTTPResponseSize(r *HTTPResponse) int {
	return HTTPResponseFixedLen + headersSize(r.Headers) + len(r.Body)
}

// checkSize panics if a message cannot be encoded: its total must fit in a
// u32. Callers compare the size with a ring's size first, so this is a
// programming error.
func checkSize(n int) {
	if uint64(n) > math.MaxUint32 {
		panic("link: channel message larger than 4 GiB")
	}
}

func appendHeaders(dst []byte, h []string) []byte {
	for _, s := range h {
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// AppendHTTPRequest appends the encoding of r to dst. It panics if
// HTTPRequestSize(r) exceeds math.MaxUint32.
func AppendHTTPRequest(dst []byte, r *HTTPRequest) []byte {
	n := HTTPRequestSize(r)
	checkSize(n)
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	dst = le.AppendUint32(dst, r.TimeoutMS)
	dst = le.AppendUint32(dst, uint32(len(r.Method)))
	dst = le.AppendUint32(dst, uint32(len(r.URL)))
	dst = le.AppendUint32(dst, uint32(len(r.Headers)))
	dst = le.AppendUint32(dst, uint32(len(r.Body)))
	dst = append(dst, r.Method...)
	dst = append(dst, r.URL...)
	dst = appendHeaders(dst, r.Headers)
	return append(dst, r.Body...)
}

// methodString returns b as a string, without allocating for the methods
// an application may send (spec/abi.md: GET POST PUT PATCH HEAD DELETE
// OPTIONS).
func methodString(b []byte) string {
	switch string(b) { // no allocation: the compiler compares in place
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "PATCH":
		return "PATCH"
	case "HEAD":
		return "HEAD"
	case "DELETE":
		return "DELETE"
	case "OPTIONS":
		return "OPTIONS"
	}
	return string(b)
}

// AppendHTTPRequestSpace appends the encoding of a request with timeout
// timeoutMS whose method, URL, headers and body have the given lengths,
// leaving their bytes to be filled in place: it returns the encoding and
// where each one's bytes go within the message (offsets from its start; method, URL, each header, body, in
// order), appended to spans. The kernel copies them straight from
// application memory this way, without building an HTTPRequest. It panics
// if the encoded size exceeds math.MaxUint32.
func AppendHTTPRequestSpace(dst []byte, timeoutMS uint32, methodLen, urlLen uint32, headerLens []uint32, bodyLen uint32, spans []Span) ([]byte, []Span) {
	n := HTTPRequestFixedLen + int(methodLen) + int(urlLen) + int(bodyLen)
	for _, l := range headerLens {
		n += 4 + int(l)
	}
	checkSize(n)
	start := len(dst)
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	dst = le.AppendUint32(dst, timeoutMS)
	dst = le.AppendUint32(dst, methodLen)
	dst = le.AppendUint32(dst, urlLen)
	dst = le.AppendUint32(dst, uint32(len(headerLens)))
	dst = le.AppendUint32(dst, bodyLen)
	space := func(l uint32) {
		spans = append(spans, Span{Off: uint32(len(dst) - start), Len: l})
		dst = append(dst, make([]byte, l)...)
	}
	space(methodLen)
	space(urlLen)
	for _, l := range headerLens {
		dst = le.AppendUint32(dst, l)
		space(l)
	}
	space(bodyLen)
	return dst, spans
}

// AppendHTTPResponse appends the encoding of r to dst. It panics if
// HTTPResponseSize(r) exceeds math.MaxUint32.
func AppendHTTPResponse(dst []byte, r *HTTPResponse) []byte {
	n := HTTPResponseSize(r)
	checkSize(n)
	le := binary.LittleEndian
	dst = le.AppendUint32(dst, uint32(n))
	dst = le.AppendUint32(dst, r.Result)
	dst = le.AppendUint32(dst, r.StatusCode)
	dst = le.AppendUint32(dst, uint32(len(r.Headers)))
	dst = le.AppendUint32(dst, uint32(len(r.Body)))
	dst = appendHeaders(dst, r.Headers)
	return append(dst, r.Body...)
}

// message returns the first message in b, b[:total], after checking its
// total against the fixed part's size: ErrShort if b does not hold all of
// it yet.
func message(b []byte, fixed int, what string) ([]byte, error) {
	if len(b) < 4 {
		return nil, ErrShort
	}
	total := binary.LittleEndian.Uint32(b)
	if total < uint32(fixed) {
		return nil, malformed("%s total %d is under the fixed part's %d bytes", what, total, fixed)
	}
	if uint64(len(b)) < uint64(total) {
		return nil, ErrShort
	}
	return b[:total], nil
}

// indexHeaders reads n headers of the form { len u32 | bytes } from m at
// off, checking every length against the end of m. It returns their spans
// and the offset after them.
func indexHeaders(m []byte, off uint64, n uint32, what string) ([]Span, uint64, error) {
	// Each header takes at least 4 bytes: bound n before allocating.
	if uint64(n) > (uint64(len(m))-off)/4 {
		return nil, 0, malformed("%s has %d headers, more than its %d bytes can hold", what, n, len(m))
	}
	if n == 0 {
		return nil, off, nil
	}
	spans := make([]Span, n)
	for i := range spans {
		if off+4 > uint64(len(m)) {
			return nil, 0, malformed("%s header %d length runs past total", what, i)
		}
		l := uint64(binary.LittleEndian.Uint32(m[off:]))
		off += 4
		if l > uint64(len(m))-off {
			return nil, 0, malformed("%s header %d of %d bytes runs past total", what, i, l)
		}
		spans[i] = Span{Off: uint32(off), Len: uint32(l)}
		off += l
	}
	return spans, off, nil
}

// IndexHTTPResponse checks the first message in b and returns where its
// parts are, as offsets into b. It returns ErrShort if b does not yet hold
// the whole message, and ErrMalformed (wrapped) if its lengths are
// inconsistent: every length must fit, and together they must account for
// exactly total bytes.
func IndexHTTPResponse(b []byte) (HTTPResponseIndex, error) {
	m, err := message(b, HTTPResponseFixedLen, "HTTP response")
	if err != nil {
		return HTTPResponseIndex{}, err
	}
	le := binary.LittleEndian
	x := HTTPResponseIndex{
		Total:      uint32(len(m)),
		Result:     le.Uint32(m[4:]),
		StatusCode: le.Uint32(m[8:]),
	}
	numHeaders, bodyLen := le.Uint32(m[12:]), le.Uint32(m[16:])
	var off uint64
	x.Headers, off, err = indexHeaders(m, HTTPResponseFixedLen, numHeaders, "HTTP response")
	if err != nil {
		return HTTPResponseIndex{}, err
	}
	if uint64(bodyLen) != uint64(len(m))-off {
		return HTTPResponseIndex{}, malformed("HTTP response body_len %d, but %d bytes remain of total", bodyLen, uint64(len(m))-off)
	}
	x.Body = Span{Off: uint32(off), Len: bodyLen}
	return x, nil
}

// bytesAt returns b[s.Off : s.Off+s.Len], or nil if it is empty.
func bytesAt(b []byte, s Span) []byte { return nilIfEmpty(b[s.Off : s.Off+s.Len]) }

func stringsAt(b []byte, spans []Span) []string {
	if len(spans) == 0 {
		return nil
	}
	h := make([]string, len(spans))
	for i, s := range spans {
		h[i] = string(b[s.Off : s.Off+s.Len])
	}
	return h
}

// ParseHTTPResponse decodes the first message in b and returns it and its
// length. Errors are those of IndexHTTPResponse. Headers are copied; Body
// aliases b (nil when empty).
func ParseHTTPResponse(b []byte) (HTTPResponse, int, error) {
	x, err := IndexHTTPResponse(b)
	if err != nil {
		return HTTPResponse{}, 0, err
	}
	r := HTTPResponse{
		Result:     x.Result,
		StatusCode: x.StatusCode,
		Headers:    stringsAt(b, x.Headers),
		Body:       bytesAt(b, x.Body),
	}
	return r, int(x.Total), nil
}

// ParseHTTPRequest decodes the first message in b and returns it and its
// length n. It returns ErrShort if b does not yet hold the whole message,
// and ErrMalformed (wrapped) if its lengths are inconsistent with each other
// or with total. Strings are copied; Body aliases b (nil when empty).
func ParseHTTPRequest(b []byte) (req HTTPRequest, n int, err error) {
	const what = "HTTP request"
	m, err := message(b, HTTPRequestFixedLen, what)
	if err != nil {
		return HTTPRequest{}, 0, err
	}
	le := binary.LittleEndian
	req.TimeoutMS = le.Uint32(m[4:])
	methodLen, urlLen := uint64(le.Uint32(m[8:])), uint64(le.Uint32(m[12:]))
	numHeaders, bodyLen := le.Uint32(m[16:]), uint64(le.Uint32(m[20:]))
	off := uint64(HTTPRequestFixedLen)
	if methodLen+urlLen > uint64(len(m))-off {
		return HTTPRequest{}, 0, malformed("%s method_len %d and url_len %d run past total %d", what, methodLen, urlLen, len(m))
	}
	req.Method = methodString(m[off : off+methodLen])
	off += methodLen
	req.URL = string(m[off : off+urlLen])
	off += urlLen
	spans, off, err := indexHeaders(m, off, numHeaders, what)
	if err != nil {
		return HTTPRequest{}, 0, err
	}
	if bodyLen != uint64(len(m))-off {
		return HTTPRequest{}, 0, malformed("%s body_len %d, but %d bytes remain of total", what, bodyLen, uint64(len(m))-off)
	}
	req.Headers = stringsAt(m, spans)
	req.Body = nilIfEmpty(m[off:])
	return req, len(m), nil
}
