package store

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Error classes; every error the store returns for bad input, a missing
// record or a conflict is a *FieldError wrapping one of them, so the REST API
// maps errors.Is(err, ErrInvalid) to 400, ErrNotFound to 404 and ErrConflict
// to 409 and shows FieldError.Field and Rule.
var (
	ErrInvalid  = errors.New("invalid")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// FieldError names the input field and the rule it broke.
type FieldError struct {
	Field string // API field name: "Key", "Value", "UniqueName", "DeviceSid", "PageSize", "PageToken", …
	Rule  string // e.g. "must be 1 to 100 characters of printable ASCII"
	Err   error  // ErrInvalid, ErrNotFound or ErrConflict
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }
func (e *FieldError) Unwrap() error { return e.Err }

// Unavailable reports whether err is the store being out of reach for a
// while rather than refusing: no NATS connection (reconnecting, closed),
// no answer in time, or JetStream answering that it is not available
// (status 503: no meta or stream leader, during an election). The REST
// API answers such errors 503 with Retry-After, since the same request
// succeeds once JetStream has a leader again.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return false
	}
	var ae *jetstream.APIError
	if errors.As(err, &ae) && ae.Code == 503 {
		return true
	}
	for _, e := range []error{
		context.DeadlineExceeded, nats.ErrTimeout, nats.ErrNoResponders,
		nats.ErrConnectionClosed, nats.ErrConnectionReconnecting, nats.ErrDisconnected,
		nats.ErrNoServers, nats.ErrConnectionDraining, nats.ErrStaleConnection,
		jetstream.ErrNoStreamResponse, jetstream.ErrNoHeartbeat, jetstream.ErrConnectionClosed,
		jetstream.ErrConsumerLeadershipChanged, jetstream.ErrJetStreamNotEnabled,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, a...), Err: ErrInvalid}
}

func notFound(field, format string, a ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, a...), Err: ErrNotFound}
}

// CheckKey reports why key is not a config or secret key (1 to 100
// characters, each printable ASCII 0x20–0x7E), or nil.
func CheckKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return invalid("Key", "must be 1 to %d characters of printable ASCII (got %d)", MaxKeyLen, len(key))
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x20 || c > 0x7e {
			return invalid("Key", "must be printable ASCII (character %d is %q)", i, c)
		}
	}
	return nil
}

// CheckValue reports why value cannot be a config or secret value (at most
// 4096 bytes), or nil.
func CheckValue(value []byte) error {
	if len(value) > MaxValueLen {
		return invalid("Value", "must be at most %d bytes (got %d)", MaxValueLen, len(value))
	}
	return nil
}

// CheckUniqueName reports why name cannot be a device UniqueName: 1 to 255
// bytes of UTF-8 without control characters, and not shaped like a device SID
// (GetDevice takes either). The empty string clears a name and is checked by
// UpdateDevice, not here.
func CheckUniqueName(name string) error {
	if name == "" || len(name) > MaxUniqueNameLen {
		return invalid("UniqueName", "must be 1 to %d bytes (got %d)", MaxUniqueNameLen, len(name))
	}
	if !utf8.ValidString(name) {
		return invalid("UniqueName", "must be valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return invalid("UniqueName", "must not contain control characters")
		}
	}
	if devid.Check(name) == nil {
		return invalid("UniqueName", "must not look like a device SID (UV + 32 hex digits)")
	}
	return nil
}

func checkSid(sid string) error {
	if err := devid.Check(sid); err != nil {
		return invalid("DeviceSid", "must be UV followed by 32 hex digits")
	}
	return nil
}

func encodeKey(key string) string { return hex.EncodeToString([]byte(key)) }

func decodeKey(enc string) (string, bool) {
	b, err := hex.DecodeString(enc)
	return string(b), err == nil
}

// Paging.

const (
	// DefaultPageSize is the page size when Page.Size is zero.
	DefaultPageSize = 50
	// MaxPageSize is the largest page.
	MaxPageSize = 1000
)

// Page asks for one page of a listing: Size items (0 means 50, at most 1000)
// after or before the position Token names ("" is the first page). Tokens are
// opaque; they come from List.Next and List.Prev.
type Page struct {
	Size  int
	Token string
}

// List is one page of a listing, sorted by key (configs, secrets) or SID
// (devices). Next and Prev are the tokens of the neighbouring pages, "" at
// the ends.
type List[T any] struct {
	Items    []T
	PageSize int
	Next     string
	Prev     string
}

// A token is base64url("A" + key): the items after key, or base64url("B" +
// key): the items before key. Keys are the sorted listing's keys (decoded
// config keys, SIDs), so pages stay stable while other items come and go.
func pageOf(sorted []string, p Page) (items []string, size int, next, prev string, err error) {
	size = p.Size
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 0 || size > MaxPageSize {
		return nil, 0, "", "", invalid("PageSize", "must be 1 to %d (got %d)", MaxPageSize, p.Size)
	}
	lo, hi := 0, min(size, len(sorted))
	if p.Token != "" {
		raw, derr := base64.RawURLEncoding.DecodeString(p.Token)
		if derr != nil || len(raw) == 0 || (raw[0] != 'A' && raw[0] != 'B') {
			return nil, 0, "", "", invalid("PageToken", "is not a token this API handed out")
		}
		k := string(raw[1:])
		if raw[0] == 'A' {
			lo = sort.Search(len(sorted), func(i int) bool { return sorted[i] > k })
			hi = min(lo+size, len(sorted))
		} else {
			hi = sort.SearchStrings(sorted, k) // first index >= k
			lo = max(hi-size, 0)
		}
	}
	items = sorted[lo:hi]
	if hi < len(sorted) && hi > 0 {
		next = base64.RawURLEncoding.EncodeToString([]byte("A" + sorted[hi-1]))
	}
	if lo > 0 && lo < len(sorted) {
		prev = base64.RawURLEncoding.EncodeToString([]byte("B" + sorted[lo]))
	}
	return items, size, next, prev, nil
}
