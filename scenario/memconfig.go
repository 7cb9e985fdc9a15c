package scenario

import (
	"context"
	"sync"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
)

// MemConfig is an in-memory config and secret store for Go tests: give it
// to cloud.Options.Config (it is a cloud.ConfigStore) and to Target.Config
// (it is a ConfigSetter). The zero value is empty and ready.
type MemConfig struct {
	mu   sync.Mutex
	vals map[memKey]string
}

type memKey struct {
	device string // "" for account scope
	store  abi.ConfigKeyFetchStore
	key    string
}

var _ cloud.ConfigStore = (*MemConfig)(nil)

func scopeKey(deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) memKey {
	if scope == abi.ConfigKeyFetchScopeAccount {
		deviceID = ""
	}
	return memKey{device: deviceID, store: store, key: key}
}

// SetValue sets key in scope and store, as seen by device deviceID.
func (m *MemConfig) SetValue(_ context.Context, deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.vals == nil {
		m.vals = map[memKey]string{}
	}
	m.vals[scopeKey(deviceID, scope, store, key)] = value
	return nil
}

// Fetch answers a device's config fetch (cloud.ConfigStore).
func (m *MemConfig) Fetch(_ context.Context, deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.vals[scopeKey(deviceID, scope, store, key)]
	if !ok {
		return nil, false, nil
	}
	return []byte(v), true, nil
}
