package session_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mvnet/mvnet/abi"
)

// memStore is an in-memory ConfigStore and LogStore for the tests.
type memStore struct {
	mu       sync.Mutex
	values   map[string][]byte // scope/store/device/key
	failKey  string            // Fetch of this key fails
	lines    map[string][]memLine
	seen     map[string]map[uint64]bool
	disabled map[string]bool
	failLogs int // the next failLogs AppendLog calls fail
}

type memLine struct {
	seq  uint64
	text string
}

func newMemStore() *memStore {
	return &memStore{values: map[string][]byte{}, lines: map[string][]memLine{}, seen: map[string]map[uint64]bool{}, disabled: map[string]bool{}}
}

func memKey(device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) string {
	if scope == abi.ConfigKeyFetchScopeAccount {
		device = ""
	}
	return string(rune('0'+scope)) + "/" + string(rune('0'+store)) + "/" + device + "/" + key
}

func (m *memStore) set(device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[memKey(device, scope, store, key)] = []byte(value)
}

func (m *memStore) Fetch(ctx context.Context, device string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if key == m.failKey {
		return nil, false, errors.New("store unavailable")
	}
	v, ok := m.values[memKey(device, scope, store, key)]
	return v, ok, nil
}

func (m *memStore) AppendLog(ctx context.Context, device string, seq uint64, at time.Time, line []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failLogs > 0 {
		m.failLogs--
		return errors.New("log stream unavailable")
	}
	if m.seen[device] == nil {
		m.seen[device] = map[uint64]bool{}
	}
	if m.seen[device][seq] {
		return nil
	}
	m.seen[device][seq] = true
	m.lines[device] = append(m.lines[device], memLine{seq, string(line)})
	return nil
}

func (m *memStore) LoggingEnabled(ctx context.Context, device string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.disabled[device], nil
}

func (m *memStore) logged(device string) []memLine {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]memLine(nil), m.lines[device]...)
}
