// Package apiclient is a small typed client of the cloud's REST API
// (package cloud/api, docs/rest-api.md): account- and device-scoped configs
// and secrets, the device registry, and the live log stream of a device
// (Server-Sent Events, resumed with Last-Event-ID after a drop).
//
// Errors the API answers with are *Error values carrying the API's status,
// code, message and field; Error() is the API's message, which names the
// field and the rule.
package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one cloud's REST API as one account.
type Client struct {
	// BaseURL is the API's address, e.g. "http://127.0.0.1:8080"; paths
	// start with /v1/ under it.
	BaseURL string
	// AccountSid and AuthToken are the account's HTTP Basic credentials.
	AccountSid string
	AuthToken  string
	// HTTP is the client requests go through (default: a client without
	// an overall timeout; see Timeout).
	HTTP *http.Client
	// Timeout bounds each request other than log streams (default 60 s).
	Timeout time.Duration
	// PageSize is how many items each request of a list asks for (default
	// and at most 1000); lists walk every page regardless.
	PageSize int
}

// New returns a client of the API at baseURL.
func New(baseURL, accountSid, authToken string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("cloud URL %q: want http://host:port or https://host:port", baseURL)
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), AccountSid: accountSid, AuthToken: authToken}, nil
}

// Error is an error answer of the API.
type Error struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// IsStatus reports whether err is an API error with the given HTTP status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// url joins the base URL and path segments, escaping each segment.
func (c *Client) url(segs ...string) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(c.BaseURL, "/"))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (c *Client) newRequest(ctx context.Context, method, u string, form url.Values) (*http.Request, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(c.AccountSid, c.AuthToken)
	return req, nil
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (c *Client) do(ctx context.Context, method, u string, form url.Values, out any) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, u, form)
	if err != nil {
		return err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("cloud at %s: %w", c.BaseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return readError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("cloud at %s: %s %s: bad JSON answer: %w", c.BaseURL, method, req.URL.Path, err)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// readError turns a non-2xx answer into an *Error; an answer that is not
// the API's JSON error still becomes one, with the status text.
func readError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e Error
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		if e.Status == 0 {
			e.Status = resp.StatusCode
		}
		return &e
	}
	msg := strings.TrimSpace(string(b))
	if len(msg) > 200 || msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Code: 20000 + resp.StatusCode, Message: fmt.Sprintf("%s (HTTP %d)", msg, resp.StatusCode)}
}

// meta is the paging part of a list answer.
type meta struct {
	NextPageURL *string `json:"next_page_url"`
}

// maxPages bounds a list walk, against a server whose pages never end.
const maxPages = 10000

// list walks every page of a list, starting at first, calling add with each
// page's body.
func (c *Client) list(ctx context.Context, first string, add func(body []byte) (meta, error)) error {
	size := c.PageSize
	if size <= 0 || size > 1000 {
		size = 1000
	}
	u := first + "?PageSize=" + strconv.Itoa(size)
	for i := 0; i < maxPages; i++ {
		var raw json.RawMessage
		if err := c.do(ctx, http.MethodGet, u, nil, &raw); err != nil {
			return err
		}
		m, err := add(raw)
		if err != nil {
			return fmt.Errorf("cloud at %s: bad list answer: %w", c.BaseURL, err)
		}
		if m.NextPageURL == nil || *m.NextPageURL == "" {
			return nil
		}
		u = c.followURL(*m.NextPageURL)
	}
	return fmt.Errorf("cloud at %s: a list of more than %d pages", c.BaseURL, maxPages)
}

// followURL keeps a meta URL's path and query but sends it to BaseURL: the
// server builds them from its own idea of its address (a proxy's, or the
// Host header), which may not be how this client reaches it.
func (c *Client) followURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil || base.Path != "" && base.Path != "/" {
		return s // a base with a path prefix: trust the server
	}
	return strings.TrimRight(c.BaseURL, "/") + p
}
