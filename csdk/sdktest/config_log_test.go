package sdktest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// configLogSeed is the MVNET_CONFIG_FILE testdata/config_log.c expects.
const configLogSeed = `{
  "configs": {"broker-host": "mqtt.example.com"},
  "secrets": {"api-key": "s3cr3t-account"},
  "device_configs": {"device-name": "kitchen sensor"},
  "device_secrets": {"device-token": "tok-42"}
}`

// configLogLines are the lines config_log.c logs, in order.
var configLogLines = []string{
	"boot: before the network 1",
	"boot: before the network 2",
	"net: connected",
	"config: 6 items fetched, all as expected",
	"offline: network released",
	"net: connected again",
}

func writeSeed(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkServerLog checks that stderr echoes want in order (and nothing
// else logged by the application) and that the trace has a serverlog line
// for each, in order.
func checkServerLog(t *testing.T, r result, want []string, echoed bool) {
	t.Helper()
	var got []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if s, ok := strings.CutPrefix(l, "[mvServerLog] "); ok {
			got = append(got, s)
		}
	}
	if !echoed {
		want = nil
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr echoes %q, want %q\n%v", got, want, r)
	}
	got = nil
	for _, l := range r.lines("serverlog") {
		s, _ := l["line"].(string)
		if _, ok := l["seq"].(float64); !ok {
			t.Errorf("serverlog trace line without seq: %v", l)
		}
		got = append(got, s)
	}
	if !echoed {
		want = configLogLines
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("trace serverlog lines %q, want %q", got, want)
	}
}

// TestConfigAndServerLog: the embedded cloud's store, seeded by
// MVNET_CONFIG_FILE, answers config fetches in account and device scope
// from both stores, and the application's server log lines are echoed to
// stderr and traced as they are stored, in order, before and after the
// network is requested and after it is released.
func TestConfigAndServerLog(t *testing.T) {
	t.Parallel()
	seed := writeSeed(t, configLogSeed)
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "config_log", l)
			tmp := t.TempDir()
			r := run(t, bin, map[string]string{"MVNET_CONFIG_FILE": seed, "TMPDIR": tmp}, 60*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "\nOK\n") {
				t.Fatalf("config_log: %v", r)
			}
			checkServerLog(t, r, configLogLines, true)
			// The temporary store is gone.
			if left, _ := filepath.Glob(filepath.Join(tmp, "mvnet-store-*")); len(left) != 0 {
				t.Errorf("temporary store left behind: %v", left)
			}
		})
	}
}

// TestServerLogOff: MVNET_SERVERLOG=off silences the echo, not the trace.
func TestServerLogOff(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "config_log", static)
	r := run(t, bin, map[string]string{"MVNET_CONFIG_FILE": writeSeed(t, configLogSeed), "MVNET_SERVERLOG": "off"}, 60*time.Second)
	if r.code != 0 {
		t.Fatalf("config_log: %v", r)
	}
	checkServerLog(t, r, configLogLines, false)
}

// TestDataDirPersists: with MVNET_DATA_DIR the store outlives the process:
// a second run of the same device, without MVNET_CONFIG_FILE, still reads
// the values; a second process on the same directory at once is refused.
func TestDataDirPersists(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "config_log", static)
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{
		"MVNET_DATA_DIR":    dir,
		"MVNET_DEVICE_ID":   "UV00112233445566778899aabbccddeeff",
		"MVNET_CONFIG_FILE": writeSeed(t, configLogSeed),
	}
	if r := run(t, bin, env, 60*time.Second); r.code != 0 {
		t.Fatalf("first run: %v", r)
	}
	delete(env, "MVNET_CONFIG_FILE")
	r := run(t, bin, env, 60*time.Second)
	if r.code != 0 {
		t.Fatalf("second run, without MVNET_CONFIG_FILE: %v", r)
	}
	checkServerLog(t, r, configLogLines, true) // only this run's lines

	f, err := os.Open(filepath.Join(dir, "cloud.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	r = run(t, bin, env, 60*time.Second)
	if r.code != 2 || !strings.Contains(r.stderr, "MVNET_DATA_DIR") || !strings.Contains(r.stderr, "in use") {
		t.Errorf("a data directory in use: %v; want exit 2 naming MVNET_DATA_DIR", r)
	}
}

func TestBadConfigFile(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "config_log", static)
	for name, c := range map[string]struct{ text, want string }{
		"syntax":        {"{\"configs\": {\"a\": \"b\",}}", "line 1"},
		"not a string":  {`{"configs": {"a": 5}}`, "configs: want a string"},
		"unknown field": {`{"config": {}}`, `unknown field "config"`},
		"bad key":       {`{"secrets": {"tab\tkey": "v"}}`, `secrets: key "tab\tkey"`},
		"long value":    {`{"device_configs": {"k": "` + strings.Repeat("x", 4097) + `"}}`, "value"},
		"not an object": {`[1]`, "want a JSON object"},
	} {
		r := run(t, bin, map[string]string{"MVNET_CONFIG_FILE": writeSeed(t, c.text)}, 30*time.Second)
		if r.code != 2 || !strings.Contains(r.stderr, "MVNET_CONFIG_FILE") || !strings.Contains(r.stderr, c.want) || r.stdout != "" {
			t.Errorf("%s: %v; want exit 2 and a message naming MVNET_CONFIG_FILE and %q", name, r, c.want)
		}
	}
	r := run(t, bin, map[string]string{"MVNET_CONFIG_FILE": "/nonexistent/config.json"}, 60*time.Second)
	if r.code != 2 || !strings.Contains(r.stderr, "MVNET_CONFIG_FILE") {
		t.Errorf("missing file: %v", r)
	}
	r = run(t, bin, map[string]string{"MVNET_SERVERLOG": "loud"}, 60*time.Second)
	if r.code != 2 || !strings.Contains(r.stderr, "MVNET_SERVERLOG") {
		t.Errorf("MVNET_SERVERLOG=loud: %v", r)
	}
}

// TestQuietExit: a program that starts the kernel and exits at once says
// nothing on stderr: the store closing under a session that is still
// starting (asking whether logging is enabled) is not an error.
func TestQuietExit(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "minimal", static)
	for range 5 {
		r := run(t, bin, nil, 60*time.Second)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("minimal: %v; want exit 0 and nothing on stderr", r)
		}
	}
}
