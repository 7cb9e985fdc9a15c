package httpexec

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/link"
)

// Timeout limits, inclusive (abi.MinHTTPTimeoutMS, abi.MaxHTTPTimeoutMS).
const (
	MinTimeoutMS = abi.MinHTTPTimeoutMS
	MaxTimeoutMS = abi.MaxHTTPTimeoutMS
)

// allowedMethods are the methods Microvisor relays, matched exactly (upper
// case). Seed 000, "Request Configuration": "Microvisor supports only these
// methods: GET, POST, PUT, PATCH, HEAD, DELETE, and OPTIONS."
var allowedMethods = map[string]bool{
	http.MethodGet:     true,
	http.MethodPost:    true,
	http.MethodPut:     true,
	http.MethodPatch:   true,
	http.MethodHead:    true,
	http.MethodDelete:  true,
	http.MethodOptions: true,
}

// systemHeaders are supplied by the system from the URL and the body; the
// application's own are dropped. Seed 000: "Microvisor automatically adds a
// Host: header for you. It also includes a Content-Length: header … if you
// do, it will be ignored."
var systemHeaders = map[string]bool{
	"Host":           true,
	"Content-Length": true,
}

// connectionHeaders describe the connection between the cloud and the
// server, not the request (RFC 9110 §7.6.1, RFC 9113 §8.2.2), so the
// application's are dropped like systemHeaders: the cloud's connection is
// not the application's to control. Left in, they would make the outcome
// depend on the protocol ALPN picks: over HTTP/1.1 they are sent as given
// (Connection: close, Upgrade: websocket …), while over HTTP/2 Go's
// transport refuses Connection, Transfer-Encoding and Upgrade
// (REQUESTFAILED), quietly drops Keep-Alive and Proxy-Connection, and
// servers reject a TE other than "trailers". Trailer goes with them: the
// request never has trailers, and HTTP/1.1 would drop it while HTTP/2 sent
// it. TE is handled apart (see validate): "trailers" is the one value both
// protocols carry, and it is kept.
var connectionHeaders = map[string]bool{
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Transfer-Encoding": true,
	"Upgrade":           true,
	"Trailer":           true,
}

// request is a validated device request, ready to perform.
type request struct {
	method  string
	url     *url.URL
	header  http.Header
	body    []byte
	timeout uint32    // ms
	trace   connTrace // Perform's; here to be allocated with the request
}

// validate checks req in the documented order — scheme, method, timeout,
// headers — and returns the first failing check's result with a reason.
// Well-formed headers the application may not set (systemHeaders,
// connectionHeaders, a TE other than "trailers") are dropped silently.
func validate(req *link.HTTPRequest) (*request, abi.HTTPResult, error) {
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, abi.HTTPResultUnsupportedURIScheme, fmt.Errorf("url %q does not parse: %v", req.URL, err)
	}
	// spec/abi.md: only https:// (else UNSUPPORTEDURISCHEME). url.Parse
	// lower-cases the scheme, so HTTPS:// is accepted like https://.
	if u.Scheme != "https" {
		return nil, abi.HTTPResultUnsupportedURIScheme, fmt.Errorf("url %q: scheme %q is not https", req.URL, u.Scheme)
	}
	if !allowedMethods[req.Method] {
		return nil, abi.HTTPResultUnsupportedMethod, fmt.Errorf("method %q is not one of GET POST PUT PATCH HEAD DELETE OPTIONS", req.Method)
	}
	if req.TimeoutMS < MinTimeoutMS || req.TimeoutMS > MaxTimeoutMS {
		return nil, abi.HTTPResultInvalidTimeout, fmt.Errorf("timeout %d ms is outside %d–%d ms", req.TimeoutMS, MinTimeoutMS, MaxTimeoutMS)
	}
	h := make(http.Header, len(req.Headers))
	for i, line := range req.Headers {
		name, value, err := parseHeader(line)
		if err != nil {
			// The value is left out: it may be a credential.
			return nil, abi.HTTPResultInvalidHeaders, fmt.Errorf("header %d: %v", i, err)
		}
		name = http.CanonicalHeaderKey(name)
		switch {
		case systemHeaders[name], connectionHeaders[name]:
			continue
		case name == "Te":
			// Kept only as a single "TE: trailers", the one form HTTP/2
			// allows; any other value is dropped.
			if strings.EqualFold(value, "trailers") {
				h[name] = []string{"trailers"}
			}
			continue
		}
		h[name] = append(h[name], value)
	}
	return &request{
		method:  req.Method,
		url:     u,
		header:  h,
		body:    req.Body,
		timeout: req.TimeoutMS,
	}, abi.HTTPResultOK, nil
}

// parseHeader splits one "Name: value" header line. The name must be a
// non-empty RFC 9110 token directly followed by ':'; the value, with optional
// whitespace (SP, HTAB) around it removed, must hold no control characters
// other than HTAB — in particular no CR, LF or NUL, so an application cannot
// smuggle extra header lines.
func parseHeader(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("no ':' separating name and value")
	}
	if name == "" {
		return "", "", fmt.Errorf("empty name")
	}
	if i := badNameChar(name); i >= 0 {
		return "", "", fmt.Errorf("name has invalid character %q at %d", name[i], i)
	}
	value = strings.Trim(value, " \t")
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", "", fmt.Errorf("%s: value has control character %q at %d", name, c, i)
		}
	}
	return name, value, nil
}

// ValidHeaderName reports whether name is a header field name: a
// non-empty RFC 9110 token.
func ValidHeaderName(name string) bool { return name != "" && badNameChar(name) < 0 }

// badNameChar is the index of name's first byte that is not a tchar, or -1.
func badNameChar(name string) int {
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return i
		}
	}
	return -1
}

// isTokenChar reports whether c is an RFC 9110 tchar:
// "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~" / DIGIT / ALPHA.
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
