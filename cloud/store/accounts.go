package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/argon2"
)

// The account is the REST API's one set of credentials: an account SID
// ("AC" + 32 hex digits) and an auth token (32 hex digits, 128 random bits),
// used as HTTP Basic user name and password, as in Microvisor's API. It lives
// in the mvnet_meta bucket under accountKey; the token is kept only as an
// Argon2id hash, so it is shown once, when EnsureAccount creates it.
const (
	accountKey = "account"
	// AccountSidPrefix starts every account SID.
	AccountSidPrefix = "AC"
	// AuthTokenLen is the length of a generated auth token, in characters.
	AuthTokenLen = 32
)

// Argon2id parameters for new accounts (OWASP's minimum: 19 MiB, 2 passes,
// one lane). They are stored with the hash, so they can change later.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonKeyLen  = 32
)

type accountRecord struct {
	Sid         string    `json:"sid"`
	Hash        []byte    `json:"token_hash"` // argon2id(token, Salt)
	Salt        []byte    `json:"salt"`
	Time        uint32    `json:"argon2_time"`
	Memory      uint32    `json:"argon2_memory"`
	Threads     uint8     `json:"argon2_threads"`
	DateCreated time.Time `json:"date_created"`
}

// EnsureAccount returns the account SID, creating the account with a new
// auth token when the store has none. token is non-empty only when created
// is true: it is the only time the token is known, so the caller shows it
// once. Two cloud nodes racing on first start end with one account; the
// loser gets created=false.
func (s *Store) EnsureAccount(ctx context.Context) (sid, token string, created bool, err error) {
	if r, err := s.account(ctx); err == nil {
		return r.Sid, "", false, nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", "", false, err
	}
	var sidRaw [16]byte
	if _, err := rand.Read(sidRaw[:]); err != nil {
		return "", "", false, fmt.Errorf("store: account: %w", err)
	}
	r := accountRecord{Sid: AccountSidPrefix + hex.EncodeToString(sidRaw[:]), DateCreated: time.Now().UTC()}
	if token, err = r.newToken(); err != nil {
		return "", "", false, err
	}
	sid = r.Sid
	b, _ := json.Marshal(r)
	if _, err := s.meta.Create(ctx, accountKey, b); errors.Is(err, jetstream.ErrKeyExists) {
		other, err := s.account(ctx)
		if err != nil {
			return "", "", false, err
		}
		return other.Sid, "", false, nil
	} else if err != nil {
		return "", "", false, fmt.Errorf("store: account: %w", err)
	}
	s.log.Info("account created", "account_sid", sid) // never the token
	return sid, token, true, nil
}

// newToken gives r a new random auth token (and salt) and returns it.
func (r *accountRecord) newToken() (string, error) {
	raw := make([]byte, AuthTokenLen/2+16)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("store: account: %w", err)
	}
	token := hex.EncodeToString(raw[:AuthTokenLen/2])
	r.Salt = raw[AuthTokenLen/2:]
	r.Time, r.Memory, r.Threads = argonTime, argonMemory, argonThreads
	r.Hash = r.hash(token)
	return token, nil
}

// RotateToken gives the account a new auth token and returns it with the
// account SID; the old token stops working at once (CheckAccount, and
// AccountRevision for callers that cache successes). Like EnsureAccount's,
// the token is known only now: the caller shows it once. A store without
// an account is ErrNotFound.
func (s *Store) RotateToken(ctx context.Context) (sid, token string, err error) {
	for attempt := 0; ; attempt++ {
		e, err := s.meta.Get(ctx, accountKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return "", "", notFound("AccountSid", "no account yet: start 'mvnet cloud serve' once to create it")
		}
		if err != nil {
			return "", "", fmt.Errorf("store: account: %w", err)
		}
		r, err := parseAccount(e.Value())
		if err != nil {
			return "", "", err
		}
		if token, err = r.newToken(); err != nil {
			return "", "", err
		}
		b, _ := json.Marshal(r)
		_, err = s.meta.Update(ctx, accountKey, b, e.Revision())
		if casConflict(err) && casRetry(ctx, attempt) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("store: account: %w", err)
		}
		s.log.Info("account auth token rotated", "account_sid", r.Sid) // never the token
		return r.Sid, token, nil
	}
}

// AccountRevision identifies the account's current credentials: it changes
// whenever the token does (RotateToken). A cache of verified credentials
// keeps the revision it verified against and trusts an entry only while
// the revision is unchanged, which costs a read instead of a hash. It is 0
// while there is no account.
func (s *Store) AccountRevision(ctx context.Context) (uint64, error) {
	e, err := s.meta.Get(ctx, accountKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: account: %w", err)
	}
	return e.Revision(), nil
}

// CheckAccount reports whether sid and token are the account's credentials.
// A store without an account accepts nothing. err is for the store failing.
// Each call costs an Argon2id hash (about 19 MiB and tens of milliseconds);
// callers that check every request should remember successes.
func (s *Store) CheckAccount(ctx context.Context, sid, token string) (bool, error) {
	r, err := s.account(ctx)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	sidOK := subtle.ConstantTimeCompare([]byte(sid), []byte(r.Sid)) == 1
	// Hash even for a wrong SID, so timing tells nothing about which part
	// was wrong.
	tokenOK := subtle.ConstantTimeCompare(r.hash(token), r.Hash) == 1
	return sidOK && tokenOK, nil
}

func (r accountRecord) hash(token string) []byte {
	return argon2.IDKey([]byte(token), r.Salt, r.Time, r.Memory, r.Threads, argonKeyLen)
}

func (s *Store) account(ctx context.Context) (accountRecord, error) {
	e, err := s.meta.Get(ctx, accountKey)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return accountRecord{}, err
	}
	if err != nil {
		return accountRecord{}, fmt.Errorf("store: account: %w", err)
	}
	return parseAccount(e.Value())
}

func parseAccount(b []byte) (accountRecord, error) {
	var r accountRecord
	if err := json.Unmarshal(b, &r); err != nil || r.Sid == "" || len(r.Hash) == 0 || r.Time == 0 || r.Memory == 0 || r.Threads == 0 {
		return accountRecord{}, fmt.Errorf("store: account record is damaged")
	}
	return r, nil
}
