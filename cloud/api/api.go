// Package api is the cloud's REST API, shaped like Microvisor's v1 API:
// account- and device-scoped configs and secrets, the device registry, a
// live log stream per device (Server-Sent Events) and the faults applied to
// a device (cloud/faults). docs/rest-api.md documents every endpoint.
//
// Requests authenticate with HTTP Basic auth: the account SID as user name,
// the auth token as password (store.EnsureAccount creates them). Writes take
// application/x-www-form-urlencoded bodies with PascalCase fields (Key,
// Value, UniqueName, LoggingEnabled); responses are JSON with snake_case
// fields; lists are paged with PageSize (default 50, at most 1000) and an
// opaque PageToken, and carry a meta object with the neighbouring pages'
// URLs. Errors are JSON objects {code, message, field, status}.
//
// Paths are matched on the escaped request path, one segment per name, so a
// key holding '/', '?', '%' or '#' is addressed by percent-encoding it
// (url.PathEscape); the handler does no path cleaning, so keys like "." work.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mvnet/mvnet/cloud/store"
)

// LoggingSetter pushes a device's logging setting to its live connection;
// *cloud.Server satisfies it.
type LoggingSetter interface {
	SetLogging(deviceID string, enabled bool) bool
}

// Options configure New.
type Options struct {
	// Store holds everything the API serves. Required.
	Store *store.Store
	// Cloud learns of LoggingEnabled changes so connected devices hear of
	// them at once (*cloud.Server for its own devices; a cluster member,
	// cloud/cluster, for every node's). May be nil (devices then learn
	// when they reconnect).
	// Beware a typed nil pointer: it is not a nil interface.
	Cloud LoggingSetter
	// BaseURL prefixes the url fields of responses, e.g.
	// "https://cloud.example.com:8443". Empty: taken from each request
	// (scheme from TLS, host from the Host header).
	BaseURL string
	// Logger gets request failures (default slog.Default()). Request bodies
	// are never logged.
	Logger *slog.Logger
	// IssueDevice issues the credential bundle of a device POST /v1/Devices
	// has just registered (device.Bundle as JSON: SID, client certificate
	// and private key, the cloud's address and CA). nil: POST /v1/Devices
	// answers 501, since the API alone holds no device CA.
	IssueDevice func(ctx context.Context, deviceID string) (bundle []byte, err error)
	// Faults applies, lists and clears the faults of devices connected to
	// this node (/v1/Devices/{Sid}/Faults, faults.go); (*cloud.Server).Faults()
	// satisfies it, and a cluster member's (cloud/cluster) routes each
	// operation to the node holding the device's link. nil: those
	// endpoints answer 501.
	Faults Faults
	// Presence tells which node of a cluster holds devices' links, for
	// the connected, node and connected_since fields of devices. nil:
	// Cloud's, if it implements Presence (a cluster member does);
	// otherwise the node is alone and a device is connected when Faults
	// (or Cloud) says so through Linker (*faults.Injector does, from the
	// cloud's own registry), with no node name nor time.
	Presence Presence
}

// Presence is what tells where devices' links are in a cluster;
// cloud/cluster's Member implements it from the store's presence and
// node registry (store.Presences).
type Presence interface {
	// Presences maps each of deviceIDs whose link is up on a live node
	// to its presence; the others are absent.
	Presences(ctx context.Context, deviceIDs []string) (map[string]store.Presence, error)
}

// Limits.
const (
	// MaxBodyBytes is the largest request body accepted (413 beyond).
	MaxBodyBytes = 64 << 10
	// authCacheTTL is how long a verified credential is trusted without
	// hashing it again.
	authCacheTTL = 5 * time.Minute
	// authCacheMax bounds the remembered credentials.
	authCacheMax = 64
	// heartbeat is the interval of SSE comment lines on an idle stream.
	heartbeat = 15 * time.Second
	// retryAfter is the Retry-After (seconds) of a 503 while the store
	// is unavailable: a JetStream election takes a few seconds.
	retryAfter = 2
	// streamWriteTimeout bounds each write of a log stream (the server's
	// WriteTimeout does not apply to streams).
	streamWriteTimeout = 2 * heartbeat
)

type handler struct {
	st     *store.Store
	cloud  LoggingSetter
	issue  func(ctx context.Context, deviceID string) ([]byte, error)
	faults Faults
	// presence, or linker when alone: where devices' links are
	// (links.go).
	presence Presence
	linker   Linker
	baseURL  string
	log      *slog.Logger

	authMu    sync.Mutex
	authOK    map[[32]byte]authEntry // sha256(user ":" password) → when verified
	authSlots chan struct{}          // bounds concurrent Argon2id checks
}

// authEntry is a verified credential: trusted until exp, and only while the
// account's revision is still rev (a rotated token invalidates it at once,
// on every node).
type authEntry struct {
	exp time.Time
	rev uint64
}

// New returns the API's handler. Serve it at the root of a server: paths
// start with /v1/.
func New(o Options) http.Handler {
	if o.Store == nil {
		panic("api: Options.Store is nil")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Presence == nil {
		o.Presence, _ = o.Cloud.(Presence)
	}
	var linker Linker
	if o.Presence == nil {
		if linker, _ = o.Faults.(Linker); linker == nil {
			linker, _ = o.Cloud.(Linker)
		}
	}
	return &handler{
		presence:  o.Presence,
		linker:    linker,
		st:        o.Store,
		cloud:     o.Cloud,
		issue:     o.IssueDevice,
		faults:    o.Faults,
		baseURL:   strings.TrimRight(o.BaseURL, "/"),
		log:       o.Logger.With("component", "api"),
		authOK:    make(map[[32]byte]authEntry),
		authSlots: make(chan struct{}, 4),
	}
}

// apiError is a response error; field names the offending parameter.
type apiError struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// Error codes, after Twilio's where one exists.
func codeFor(status int) int {
	switch status {
	case http.StatusBadRequest:
		return 20001
	case http.StatusUnauthorized:
		return 20003
	case http.StatusMethodNotAllowed:
		return 20004
	}
	return 20000 + status
}

func errorf(status int, field, format string, a ...any) *apiError {
	msg := fmt.Sprintf(format, a...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{Status: status, Code: codeFor(status), Message: msg, Field: field}
}

func badParam(field, format string, a ...any) *apiError {
	return errorf(http.StatusBadRequest, field, format, a...)
}

// fail writes err as a JSON error: *apiError as it is, a store *FieldError
// by its class, the store out of reach (store.Unavailable) as a 503 with
// Retry-After, anything else as a 500 (logged, not shown).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var fe *store.FieldError
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &fe):
		status := http.StatusInternalServerError
		switch {
		case errors.Is(fe, store.ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(fe, store.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(fe, store.ErrConflict):
			status = http.StatusConflict
		}
		ae = &apiError{Status: status, Code: codeFor(status), Message: fe.Error(), Field: fe.Field}
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		return // the client went away
	case store.Unavailable(err):
		// A JetStream leader election, or NATS out of reach: the same
		// request succeeds once it is over.
		h.log.Warn("store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		ae = errorf(http.StatusServiceUnavailable, "", "the store is unavailable for a moment (a leader election?); retry")
	default:
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "", "internal error")
	}
	writeJSON(w, ae.Status, ae)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, `{"status":500,"code":20500,"message":"internal error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ServeHTTP authenticates, then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authenticate(w, r) {
		return
	}
	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		h.fail(w, r, errorf(http.StatusNotFound, "", "the requested resource %s was not found", r.URL.Path))
		return
	}
	rt, ok := route(segs)
	if !ok {
		h.fail(w, r, errorf(http.StatusNotFound, "", "the requested resource %s was not found", r.URL.Path))
		return
	}
	fn := rt.methods[r.Method]
	if fn == nil {
		allow := rt.allow()
		w.Header().Set("Allow", allow)
		h.fail(w, r, errorf(http.StatusMethodNotAllowed, "", "method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
		return
	}
	a := rt.args
	a.account, _, _ = r.BasicAuth()
	if err := fn(h, w, r, a); err != nil {
		h.fail(w, r, err)
	}
}

// authenticate checks HTTP Basic credentials against the account, answering
// 401 itself when they are missing or wrong.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		h.unauthorized(w, "authentication required: HTTP Basic auth with the account SID and auth token")
		return false
	}
	sum := sha256.Sum256([]byte(user + ":" + pass))
	now := time.Now()
	// The revision first: a rotation after this read makes the entry
	// written below stale rather than trusted.
	rev, err := h.st.AccountRevision(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	h.authMu.Lock()
	e, hit := h.authOK[sum]
	h.authMu.Unlock()
	if hit && now.Before(e.exp) && e.rev == rev {
		return true
	}
	select {
	case h.authSlots <- struct{}{}:
	case <-r.Context().Done():
		return false
	}
	good, err := h.st.CheckAccount(r.Context(), user, pass)
	<-h.authSlots
	if err != nil {
		h.fail(w, r, err)
		return false
	}
	if !good {
		h.unauthorized(w, "authentication failed: wrong account SID or auth token")
		return false
	}
	h.authMu.Lock()
	if len(h.authOK) >= authCacheMax {
		for k, e := range h.authOK {
			if now.After(e.exp) || e.rev != rev || len(h.authOK) >= authCacheMax {
				delete(h.authOK, k)
			}
		}
	}
	h.authOK[sum] = authEntry{exp: now.Add(authCacheTTL), rev: rev}
	h.authMu.Unlock()
	return true
}

func (h *handler) unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="mvnet", charset="UTF-8"`)
	writeJSON(w, http.StatusUnauthorized, errorf(http.StatusUnauthorized, "", "%s", msg))
}

// splitPath splits an escaped path into unescaped segments.
func splitPath(escaped string) ([]string, error) {
	if !strings.HasPrefix(escaped, "/") {
		return nil, errors.New("relative path")
	}
	parts := strings.Split(escaped[1:], "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = u
	}
	return parts, nil
}

// base is the URL prefix of the url fields.
func (h *handler) base(r *http.Request) string {
	if h.baseURL != "" {
		return h.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// resourceURL joins the base and path segments, escaping each.
func (h *handler) resourceURL(r *http.Request, segs ...string) string {
	var b strings.Builder
	b.WriteString(h.base(r))
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}
