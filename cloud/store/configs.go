package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/internal/devid"
	"github.com/nats-io/nats.go/jetstream"
)

// Scope says whose configs or secrets a call addresses: the account's
// (DeviceSid "") or one device's.
type Scope struct{ DeviceSid string }

// AccountScope is the account's scope, shared by every device.
var AccountScope = Scope{}

// DeviceScope is the scope of the device with that SID.
func DeviceScope(sid string) Scope { return Scope{DeviceSid: sid} }

func (sc Scope) String() string {
	if sc.DeviceSid == "" {
		return "account"
	}
	return "device " + sc.DeviceSid
}

// PutMode says whether PutConfig and PutSecret may create, replace, or both.
type PutMode int

const (
	Upsert     PutMode = iota // create or replace
	CreateOnly                // fail with ErrConflict when the key exists
	UpdateOnly                // fail with ErrNotFound when it does not
)

// Config is a config item as the management API sees it.
type Config struct {
	Key         string
	Value       []byte
	DateCreated time.Time
	DateUpdated time.Time
}

// SecretInfo is all the management API ever learns about a secret.
type SecretInfo struct {
	Key         string
	DateCreated time.Time
	DateRotated time.Time
}

type configRecord struct {
	Key         string    `json:"key"`
	Value       []byte    `json:"value"`
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
}

type secretRecord struct {
	Key         string    `json:"key"`
	Sealed      []byte    `json:"sealed"` // nonce ‖ AES-GCM ciphertext ‖ tag
	DateCreated time.Time `json:"date_created"`
	DateRotated time.Time `json:"date_rotated"`
}

// place returns the bucket and the KV key of key in scope, after checking
// the key and, for device scope, that the device is registered.
func (s *Store) place(ctx context.Context, sc Scope, secret bool, key string) (jetstream.KeyValue, string, error) {
	if err := CheckKey(key); err != nil {
		return nil, "", err
	}
	if sc.DeviceSid == "" {
		if secret {
			return s.accountSecrets, encodeKey(key), nil
		}
		return s.accountConfigs, encodeKey(key), nil
	}
	if err := s.deviceExists(ctx, sc.DeviceSid); err != nil {
		return nil, "", err
	}
	if secret {
		return s.deviceSecrets, sc.DeviceSid + "." + encodeKey(key), nil
	}
	return s.deviceConfigs, sc.DeviceSid + "." + encodeKey(key), nil
}

// secretAD is the associated data that binds a sealed value to its place.
func secretAD(sc Scope, key string) string {
	if sc.DeviceSid == "" {
		return "account/" + key
	}
	return "device/" + sc.DeviceSid + "/" + key
}

// putRecord writes value under k according to mode; prev gets the current
// record (nil when the key is new) and returns the record to store.
func putRecord(ctx context.Context, kv jetstream.KeyValue, k, field string, mode PutMode, build func(prev []byte) ([]byte, error)) error {
	for attempt := 0; ; attempt++ {
		e, err := kv.Get(ctx, k)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if mode == UpdateOnly {
				return notFound(field, "no such key")
			}
			v, err := build(nil)
			if err != nil {
				return err
			}
			_, err = kv.Create(ctx, k, v)
			if casConflict(err) && casRetry(ctx, attempt) {
				continue // raced with another writer
			}
			if err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("store: %w", err)
		}
		if mode == CreateOnly {
			return &FieldError{Field: field, Rule: "already exists", Err: ErrConflict}
		}
		v, err := build(e.Value())
		if err != nil {
			return err
		}
		_, err = kv.Update(ctx, k, v, e.Revision())
		if casConflict(err) && casRetry(ctx, attempt) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	}
}

// PutConfig stores a config value. Key: 1–100 printable ASCII characters;
// value: at most 4096 bytes; a device scope needs a registered device.
func (s *Store) PutConfig(ctx context.Context, sc Scope, key string, value []byte, mode PutMode) (Config, error) {
	if err := CheckValue(value); err != nil {
		return Config{}, err
	}
	kv, k, err := s.place(ctx, sc, false, key)
	if err != nil {
		return Config{}, err
	}
	var out configRecord
	err = putRecord(ctx, kv, k, "Key", mode, func(prev []byte) ([]byte, error) {
		now := time.Now().UTC()
		out = configRecord{Key: key, Value: append([]byte(nil), value...), DateCreated: now, DateUpdated: now}
		var old configRecord
		if prev != nil && json.Unmarshal(prev, &old) == nil && !old.DateCreated.IsZero() {
			out.DateCreated = old.DateCreated
		}
		return json.Marshal(out)
	})
	if err != nil {
		return Config{}, err
	}
	return Config(out), nil
}

// GetConfig returns one config item (ErrNotFound when missing).
func (s *Store) GetConfig(ctx context.Context, sc Scope, key string) (Config, error) {
	kv, k, err := s.place(ctx, sc, false, key)
	if err != nil {
		return Config{}, err
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Config{}, notFound("Key", "no such key")
	}
	if err != nil {
		return Config{}, fmt.Errorf("store: %w", err)
	}
	var r configRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return Config{}, fmt.Errorf("store: config record %s: %w", k, err)
	}
	return Config(r), nil
}

// DeleteConfig removes a config item (ErrNotFound when missing).
func (s *Store) DeleteConfig(ctx context.Context, sc Scope, key string) error {
	return s.deleteKey(ctx, sc, false, key)
}

// DeleteSecret removes a secret (ErrNotFound when missing). The sealed value
// is purged from the bucket, not just marked deleted.
func (s *Store) DeleteSecret(ctx context.Context, sc Scope, key string) error {
	return s.deleteKey(ctx, sc, true, key)
}

func (s *Store) deleteKey(ctx context.Context, sc Scope, secret bool, key string) error {
	kv, k, err := s.place(ctx, sc, secret, key)
	if err != nil {
		return err
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return notFound("Key", "no such key")
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := kv.Purge(ctx, k, jetstream.LastRevision(e.Revision())); err != nil {
		if casConflict(err) { // changed meanwhile; purge whatever is there
			err = kv.Purge(ctx, k)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	return nil
}

// ListConfigs lists one scope's configs sorted by key.
func (s *Store) ListConfigs(ctx context.Context, sc Scope, p Page) (List[Config], error) {
	kv, prefix, err := s.scopeBucket(ctx, sc, false)
	if err != nil {
		return List[Config]{}, err
	}
	keys, err := listKeys(ctx, kv, prefix)
	if err != nil {
		return List[Config]{}, err
	}
	page, size, next, prev, err := pageOf(keys, p)
	if err != nil {
		return List[Config]{}, err
	}
	out := List[Config]{PageSize: size, Next: next, Prev: prev, Items: make([]Config, 0, len(page))}
	for _, key := range page {
		c, err := s.GetConfig(ctx, sc, key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since listing
		}
		if err != nil {
			return List[Config]{}, err
		}
		out.Items = append(out.Items, c)
	}
	return out, nil
}

// PutSecret seals and stores a secret value; the returned SecretInfo is all
// the API may show. Same key and value rules as PutConfig.
func (s *Store) PutSecret(ctx context.Context, sc Scope, key string, value []byte, mode PutMode) (SecretInfo, error) {
	if err := CheckValue(value); err != nil {
		return SecretInfo{}, err
	}
	kv, k, err := s.place(ctx, sc, true, key)
	if err != nil {
		return SecretInfo{}, err
	}
	var out secretRecord
	err = putRecord(ctx, kv, k, "Key", mode, func(prev []byte) ([]byte, error) {
		sealed, err := s.aead.seal(value, secretAD(sc, key))
		if err != nil {
			return nil, fmt.Errorf("store: seal: %w", err)
		}
		now := time.Now().UTC()
		out = secretRecord{Key: key, Sealed: sealed, DateCreated: now, DateRotated: now}
		var old secretRecord
		if prev != nil && json.Unmarshal(prev, &old) == nil && !old.DateCreated.IsZero() {
			out.DateCreated = old.DateCreated
		}
		return json.Marshal(out)
	})
	if err != nil {
		return SecretInfo{}, err
	}
	return SecretInfo{Key: out.Key, DateCreated: out.DateCreated, DateRotated: out.DateRotated}, nil
}

// GetSecret returns a secret's metadata, never its value.
func (s *Store) GetSecret(ctx context.Context, sc Scope, key string) (SecretInfo, error) {
	r, err := s.secretRecord(ctx, sc, key)
	if err != nil {
		return SecretInfo{}, err
	}
	return SecretInfo{Key: r.Key, DateCreated: r.DateCreated, DateRotated: r.DateRotated}, nil
}

func (s *Store) secretRecord(ctx context.Context, sc Scope, key string) (secretRecord, error) {
	kv, k, err := s.place(ctx, sc, true, key)
	if err != nil {
		return secretRecord{}, err
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return secretRecord{}, notFound("Key", "no such key")
	}
	if err != nil {
		return secretRecord{}, fmt.Errorf("store: %w", err)
	}
	var r secretRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return secretRecord{}, fmt.Errorf("store: secret record %s: %w", k, err)
	}
	return r, nil
}

// ListSecrets lists one scope's secrets (metadata only) sorted by key.
func (s *Store) ListSecrets(ctx context.Context, sc Scope, p Page) (List[SecretInfo], error) {
	kv, prefix, err := s.scopeBucket(ctx, sc, true)
	if err != nil {
		return List[SecretInfo]{}, err
	}
	keys, err := listKeys(ctx, kv, prefix)
	if err != nil {
		return List[SecretInfo]{}, err
	}
	page, size, next, prev, err := pageOf(keys, p)
	if err != nil {
		return List[SecretInfo]{}, err
	}
	out := List[SecretInfo]{PageSize: size, Next: next, Prev: prev, Items: make([]SecretInfo, 0, len(page))}
	for _, key := range page {
		si, err := s.GetSecret(ctx, sc, key)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return List[SecretInfo]{}, err
		}
		out.Items = append(out.Items, si)
	}
	return out, nil
}

func (s *Store) scopeBucket(ctx context.Context, sc Scope, secret bool) (jetstream.KeyValue, string, error) {
	if sc.DeviceSid == "" {
		if secret {
			return s.accountSecrets, "", nil
		}
		return s.accountConfigs, "", nil
	}
	if err := s.deviceExists(ctx, sc.DeviceSid); err != nil {
		return nil, "", err
	}
	if secret {
		return s.deviceSecrets, sc.DeviceSid + ".", nil
	}
	return s.deviceConfigs, sc.DeviceSid + ".", nil
}

// listKeys returns the decoded keys under prefix ("" or "<SID>."), sorted.
// It reads every key of the scope; fine for the thousands of keys an account
// holds, not for millions.
func listKeys(ctx context.Context, kv jetstream.KeyValue, prefix string) ([]string, error) {
	filter := ">"
	if prefix != "" {
		filter = prefix + "*"
	}
	kl, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var keys []string
	for k := range kl.Keys() {
		if k, ok := decodeKey(strings.TrimPrefix(k, prefix)); ok {
			keys = append(keys, k)
		}
	}
	// The lister stops its watcher itself once the keys are all sent; a
	// context ending early closes the channel too, so check it.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sort.Strings(keys)
	return keys, nil
}

// PutValue upserts key's value in sc: in the secret store when secret
// (PutSecret), else in the config store (PutConfig). It is the one call for
// callers that hold that choice as data (config seed files, scenario
// values).
func (s *Store) PutValue(ctx context.Context, sc Scope, secret bool, key string, value []byte) error {
	var err error
	if secret {
		_, err = s.PutSecret(ctx, sc, key, value, Upsert)
	} else {
		_, err = s.PutConfig(ctx, sc, key, value, Upsert)
	}
	return err
}

// Fetch is the device side of CONFIGFETCH: deviceID's value for key in the
// account scope or in its own device scope, from the config or the secret
// store. Secrets are opened here and nowhere else. A missing key, or one
// that could not be stored (not printable ASCII, too long), is found=false;
// err is for the store failing (the kernel's SERVERERROR).
func (s *Store) Fetch(ctx context.Context, deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	defer s.observe(opConfigFetch, time.Now())
	if err := devid.Check(deviceID); err != nil {
		return nil, false, fmt.Errorf("store: fetch: %w", err)
	}
	if CheckKey(key) != nil {
		return nil, false, nil
	}
	var sc Scope
	switch scope {
	case abi.ConfigKeyFetchScopeAccount:
	case abi.ConfigKeyFetchScopeDevice:
		sc = DeviceScope(deviceID)
	default:
		return nil, false, fmt.Errorf("store: fetch: unknown scope %v", scope)
	}
	var kv jetstream.KeyValue
	k := encodeKey(key)
	if sc.DeviceSid != "" {
		k = deviceID + "." + k
	}
	switch {
	case store == abi.ConfigKeyFetchStoreConfig && sc.DeviceSid == "":
		kv = s.accountConfigs
	case store == abi.ConfigKeyFetchStoreConfig:
		kv = s.deviceConfigs
	case store == abi.ConfigKeyFetchStoreSecret && sc.DeviceSid == "":
		kv = s.accountSecrets
	case store == abi.ConfigKeyFetchStoreSecret:
		kv = s.deviceSecrets
	default:
		return nil, false, fmt.Errorf("store: fetch: unknown store %v", store)
	}
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: fetch: %w", err)
	}
	if store == abi.ConfigKeyFetchStoreConfig {
		var r configRecord
		if err := json.Unmarshal(e.Value(), &r); err != nil {
			return nil, false, fmt.Errorf("store: fetch: config record: %w", err)
		}
		if r.Value == nil {
			r.Value = []byte{}
		}
		return r.Value, true, nil
	}
	var r secretRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return nil, false, fmt.Errorf("store: fetch: secret record: %w", err)
	}
	v, err := s.aead.open(r.Sealed, secretAD(sc, key))
	if err != nil {
		return nil, false, fmt.Errorf("store: fetch secret in %v: %w", sc, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}
