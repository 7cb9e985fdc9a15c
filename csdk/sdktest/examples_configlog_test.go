package sdktest

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExampleConfigLog builds examples/c/config-log with its Makefile and
// its CMakeLists.txt and runs it against the embedded cloud, seeded the
// documented way (MVNET_CONFIG_FILE, docs/c-sdk.md "Config, secrets and
// server logs"): it fetches an account config value and a device secret
// in one request and logs what it found with mvServerLog. The values, the
// server log lines (echoed to stderr and traced, in order) and the secret
// staying out of every output are checked; a key the store lacks makes it
// log "not found" and exit 1.
func TestExampleConfigLog(t *testing.T) {
	t.Parallel()
	needLib(t)
	const secret = "s3cr3t-device-token"
	seed := writeSeed(t, `{
  "configs":        {"broker-host": "mqtt.example.com"},
  "secrets":        {"api-key": "the account's, not the device's"},
  "device_secrets": {"api-key": "`+secret+`"}
}`)
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "c", "config-log"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"MVNET_CONFIG_FILE": seed}
	for system, build := range exampleBuilds("config-log") {
		t.Run(system, func(t *testing.T) {
			t.Parallel()
			bin := build(t, copyExample(t, src))

			r := run(t, bin, env, 60*time.Second)
			if r.code != 0 {
				t.Fatalf("config-log exited %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			checkServerLog(t, r, []string{
				"config-log: starting",
				"config-log: broker-host = mqtt.example.com",
				"config-log: secret api-key fetched (19 bytes)",
				"config-log: done",
			}, true)
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("the secret's value was printed:\nstdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
			}

			r = run(t, bin, env, 60*time.Second, "broker-host", "no-such-secret")
			if r.code != 1 || !strings.Contains(r.stderr, "[mvServerLog] config-log: no-such-secret not found (result 1)") {
				t.Fatalf("a missing secret: want exit 1 and a not-found log line: %v", r)
			}
		})
	}
}
