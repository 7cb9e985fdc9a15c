package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/mvnet/mvnet/cloud/store"
)

// Seed is the content of MVNET_CONFIG_FILE: config values and secrets put
// into the embedded cloud's store at start, in the account scope (shared
// by every device) or in this device's scope.
//
//	{"configs":{"key":"value"},"secrets":{…},"device_configs":{…},"device_secrets":{…}}
type Seed struct {
	Configs       map[string]string `json:"configs"`
	Secrets       map[string]string `json:"secrets"`
	DeviceConfigs map[string]string `json:"device_configs"`
	DeviceSecrets map[string]string `json:"device_secrets"`
}

// ReadSeed reads and checks a config file (MVNET_CONFIG_FILE): a JSON
// object with at most the four members of Seed, each an object of string
// values; keys and values must be ones the store accepts (1 to 100
// characters of printable ASCII; values up to 4096 bytes).
func ReadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %s", path, seedJSONError(b, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: more than one JSON value", path)
	}
	for _, part := range s.parts() {
		for _, k := range sortedKeys(part.m) {
			if err := store.CheckKey(k); err != nil {
				return nil, fmt.Errorf("%s: %s: key %q: %s", path, part.name, k, ruleOf(err))
			}
			if err := store.CheckValue([]byte(part.m[k])); err != nil {
				return nil, fmt.Errorf("%s: %s: key %q: value: %s", path, part.name, k, ruleOf(err))
			}
		}
	}
	return &s, nil
}

type seedPart struct {
	name           string
	m              map[string]string
	device, secret bool
}

func (s *Seed) parts() []seedPart {
	return []seedPart{
		{"configs", s.Configs, false, false},
		{"secrets", s.Secrets, false, true},
		{"device_configs", s.DeviceConfigs, true, false},
		{"device_secrets", s.DeviceSecrets, true, true},
	}
}

// Put puts the seed's values into st: the account scope's, and device
// deviceID's. An error names the file's part and the key.
func (s *Seed) Put(ctx context.Context, st *store.Store, deviceID string) error {
	for _, part := range s.parts() {
		sc := store.AccountScope
		if part.device {
			sc = store.DeviceScope(deviceID)
		}
		for _, k := range sortedKeys(part.m) {
			if err := st.PutValue(ctx, sc, part.secret, k, []byte(part.m[k])); err != nil {
				return fmt.Errorf("%s: %s key %q: %w", EnvConfigFile, part.name, k, err)
			}
		}
	}
	return nil
}

// Len is the number of values in the seed.
func (s *Seed) Len() int {
	n := 0
	for _, p := range s.parts() {
		n += len(p.m)
	}
	return n
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ruleOf(err error) string {
	var fe *store.FieldError
	if errors.As(err, &fe) {
		return fe.Rule
	}
	return err.Error()
}

// seedJSONError says where a config file's JSON went wrong, by line.
func seedJSONError(b []byte, err error) string {
	line := func(off int64) int {
		if off > int64(len(b)) {
			off = int64(len(b))
		}
		return 1 + bytes.Count(b[:off], []byte("\n"))
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("line %d: %v", line(se.Offset), se)
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf(`want a JSON object {"configs":{…},"secrets":{…},"device_configs":{…},"device_secrets":{…}}, not %s`, te.Value)
		}
		return fmt.Sprintf("line %d: %s: want a string value (objects of \"key\": \"value\"), not %s", line(te.Offset), te.Field, te.Value)
	case errors.Is(err, io.EOF):
		return "empty; want a JSON object"
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return err.Error() + " (want configs, secrets, device_configs, device_secrets)"
	}
	return err.Error()
}

// storeFromEnv reads the variables of the embedded cloud's store
// (EnvDataDir, EnvConfigFile, EnvServerLog) into c. A joined cloud
// (EnvBundle) has its own store: EnvConfigFile is an error with it, and
// EnvDataDir is ignored (it is also the default data directory of
// 'mvnet cloud serve', so it is often set in the same shell).
func (c *Config) storeFromEnv(getenv func(string) string) (string, error) {
	if c.Bundle != nil && getenv(EnvConfigFile) != "" {
		return EnvConfigFile, fmt.Errorf("has no effect with %s: the running cloud has its own store (mvnet config set, mvnet secret set)", EnvBundle)
	}
	if v := getenv(EnvDataDir); v != "" && c.Bundle == nil {
		if fi, err := os.Stat(v); err == nil && !fi.IsDir() {
			return EnvDataDir, fmt.Errorf("not a directory")
		}
		c.DataDir = v
	}
	if v := getenv(EnvConfigFile); v != "" {
		s, err := ReadSeed(v)
		if err != nil {
			return EnvConfigFile, err
		}
		c.Seed = s
	}
	switch v := getenv(EnvServerLog); strings.ToLower(v) {
	case "", "on", "1", "stderr":
	case "off", "0":
		c.ServerLogOff = true
	default:
		return EnvServerLog, fmt.Errorf("want off (server log lines are not echoed to stderr) or on")
	}
	return "", nil
}
