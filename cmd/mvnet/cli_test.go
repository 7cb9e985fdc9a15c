package main

// Round trips of the REST API's commands (config, secret, logs stream,
// device list|get|update) against a real store and API handler.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/api"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/internal/cliconfig"
)

type cliEnv struct {
	t          *testing.T
	st         *store.Store
	url        string
	sid, token string
	// streams hears of each log stream the API has started serving (its
	// subscription to the store is in place).
	streams chan struct{}
}

// streamWatch signals when a log stream response is first written.
type streamWatch struct {
	http.ResponseWriter
	once   sync.Once
	opened chan<- struct{}
}

func (w *streamWatch) Write(p []byte) (int, error) {
	w.once.Do(func() { w.opened <- struct{}{} })
	return w.ResponseWriter.Write(p)
}

func (w *streamWatch) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// newCLIEnv serves a fresh store's API and clears every other source of
// credentials (environment, config file) so each test says where they
// come from.
func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	sid, token, _, err := st.EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Options{Store: st, Logger: quiet})
	streams := make(chan struct{}, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Logs/Stream") {
			w = &streamWatch{ResponseWriter: w, opened: streams}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(cliconfig.EnvURL, "")
	t.Setenv(cliconfig.EnvAccountSid, "")
	t.Setenv(cliconfig.EnvAuthToken, "")
	return &cliEnv{t: t, st: st, url: srv.URL, sid: sid, token: token, streams: streams}
}

// useEnv gives the credentials through the environment.
func (e *cliEnv) useEnv() {
	e.t.Setenv(cliconfig.EnvURL, e.url)
	e.t.Setenv(cliconfig.EnvAccountSid, e.sid)
	e.t.Setenv(cliconfig.EnvAuthToken, e.token)
}

func (e *cliEnv) register(n int) string {
	e.t.Helper()
	d, err := e.st.RegisterDevice(context.Background(), fmt.Sprintf("UV%032x", n))
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Sid
}

// cliRoot is a root command with the API commands attached as the lead
// attaches them.
func cliRoot() *cobra.Command {
	root := &cobra.Command{Use: "mvnet", SilenceUsage: true, SilenceErrors: true}
	device := &cobra.Command{Use: "device", Args: cobra.NoArgs}
	device.AddCommand(deviceListCmd(), deviceGetCmd(), deviceUpdateCmd())
	root.AddCommand(newConfigCmd(), newSecretCmd(), newLogsCmd(), device)
	return root
}

// cli runs `mvnet args...` with stdin and returns stdout and the error.
func cli(ctx context.Context, stdin string, args ...string) (string, error) {
	root := cliRoot()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func (e *cliEnv) ok(args ...string) string {
	e.t.Helper()
	out, err := cli(context.Background(), "", args...)
	if err != nil {
		e.t.Fatalf("mvnet %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *cliEnv) fails(want string, args ...string) {
	e.t.Helper()
	out, err := cli(context.Background(), "", args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		e.t.Fatalf("mvnet %s: err = %v, want it to mention %q\n%s", strings.Join(args, " "), err, want, out)
	}
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestCLIConfigRoundTrip(t *testing.T) {
	e := newCLIEnv(t)
	e.useEnv()
	dev := e.register(1)

	mustContain(t, e.ok("config", "list"), "no config values in the account scope")
	mustContain(t, e.ok("config", "set", "broker", "mqtt.example.com"), `config "broker" created (account scope)`)
	mustContain(t, e.ok("config", "set", "certs/root ca", "line1\nline2"), "created")
	mustContain(t, e.ok("config", "set", "broker", "mqtt2.example.com"), `config "broker" updated`)
	if got := e.ok("config", "get", "broker"); got != "mqtt2.example.com\n" {
		t.Fatalf("config get = %q", got)
	}
	if got := e.ok("config", "get", "certs/root ca"); got != "line1\nline2\n" {
		t.Fatalf("config get of a key with a slash = %q", got)
	}
	out := e.ok("config", "list")
	mustContain(t, out, "KEY", "VALUE", "broker", "mqtt2.example.com", `"line1\nline2"`)

	var items []map[string]any
	if err := json.Unmarshal([]byte(e.ok("config", "list", "--output", "json")), &items); err != nil || len(items) != 2 {
		t.Fatalf("list --output json: %v, %v", items, err)
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(e.ok("config", "get", "broker", "--output", "json")), &one); err != nil || one["value"] != "mqtt2.example.com" {
		t.Fatalf("get --output json: %v, %v", one, err)
	}

	// Device scope: by SID, by UniqueName, and isolated.
	e.ok("device", "update", dev, "--unique-name", "pump-7")
	mustContain(t, e.ok("config", "set", "room", "kitchen", "--device", dev), "(device "+dev+" scope)")
	if got := e.ok("config", "--device", "pump-7", "get", "room"); got != "kitchen\n" {
		t.Fatalf("device config get = %q", got)
	}
	e.fails("no such", "config", "get", "room")
	out = e.ok("config", "list", "--device", "pump-7")
	mustContain(t, out, "room", "kitchen")
	if strings.Contains(out, "broker") {
		t.Fatalf("account config in the device list:\n%s", out)
	}
	mustContain(t, e.ok("config", "delete", "room", "--device", dev), `config "room" deleted`)
	e.fails("no such", "config", "get", "room", "--device", dev)
	e.ok("config", "delete", "broker")
	e.fails("no such", "config", "delete", "broker")

	// The API's validation errors reach the user naming the field.
	e.fails("Key: must be 1 to 100 characters", "config", "set", strings.Repeat("k", 101), "v")
	e.fails("DeviceSid", "config", "list", "--device", fmt.Sprintf("UV%032x", 99))
	e.fails("want text or json", "config", "list", "--output", "yaml")
}

func TestCLISecretsAreNeverPrinted(t *testing.T) {
	e := newCLIEnv(t)
	e.useEnv()
	dev := e.register(1)
	const value = "s3cr3t-VALUE"
	mustContain(t, e.ok("secret", "set", "api-key", value), `secret "api-key" created (account scope)`)
	mustContain(t, e.ok("secret", "set", "api-key", value+"2"), `secret "api-key" rotated`)
	out, err := cli(context.Background(), value+"-from-stdin\n", "secret", "set", "token", "-", "--device", dev)
	if err != nil {
		t.Fatal(err)
	}
	mustContain(t, out, `secret "token" created (device `+dev+` scope)`)
	// The device reads exactly what was on stdin, without the newline.
	v, found, err := e.st.Fetch(context.Background(), dev, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreSecret, "token")
	if err != nil || !found || string(v) != value+"-from-stdin" {
		t.Fatalf("the device reads %q, %v, %v", v, found, err)
	}

	for _, args := range [][]string{
		{"secret", "list"},
		{"secret", "list", "--output", "json"},
		{"secret", "list", "--device", dev},
		{"secret", "list", "--device", dev, "--output", "json"},
	} {
		out := e.ok(args...)
		if strings.Contains(out, value) {
			t.Fatalf("mvnet %s printed the secret:\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, "api-key") && !strings.Contains(out, "token") {
			t.Fatalf("mvnet %s: no keys:\n%s", strings.Join(args, " "), out)
		}
	}
	mustContain(t, e.ok("secret", "list"), "KEY", "ROTATED", "api-key")
	mustContain(t, e.ok("secret", "delete", "api-key"), `secret "api-key" deleted`)
	mustContain(t, e.ok("secret", "list"), "no secrets in the account scope")
	e.fails("no such", "secret", "delete", "api-key")
	e.fails("Value: must be at most 4096", "secret", "set", "big", strings.Repeat("x", 4097))
}

func TestCLIDevices(t *testing.T) {
	e := newCLIEnv(t)
	e.useEnv()
	mustContain(t, e.ok("device", "list"), "no devices")
	a, b := e.register(1), e.register(2)

	out := e.ok("device", "list")
	mustContain(t, out, "SID", "UNIQUE NAME", "LOGGING", a, b)
	out = e.ok("device", "update", a, "--unique-name", "pump-7", "--logging", "off")
	mustContain(t, out, "pump-7", "logging", "off")
	out = e.ok("device", "get", "pump-7")
	mustContain(t, out, a, "pump-7", "off")
	var d map[string]any
	if err := json.Unmarshal([]byte(e.ok("device", "get", a, "--output", "json")), &d); err != nil ||
		d["unique_name"] != "pump-7" || d["logging_enabled"] != false {
		t.Fatalf("device get --output json: %v, %v", d, err)
	}
	if on, err := e.st.LoggingEnabled(context.Background(), a); err != nil || on {
		t.Fatalf("store: logging %v, %v", on, err)
	}
	e.ok("device", "update", "pump-7", "--logging", "on")
	if on, _ := e.st.LoggingEnabled(context.Background(), a); !on {
		t.Fatal("logging still off")
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.ok("device", "list", "--output", "json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("device list --output json: %v, %v", list, err)
	}
	e.fails("UniqueName", "device", "update", b, "--unique-name", "pump-7") // taken: 409
	e.fails("want on or off", "device", "update", b, "--logging", "maybe")
	e.fails("nothing to update", "device", "update", b)
	e.fails("DeviceSid: no device with that SID or UniqueName", "device", "get", "nobody")
	// An empty name removes it.
	out = e.ok("device", "update", a, "--unique-name", "")
	mustContain(t, out, "unique name  -")
}

func TestCLILogsStream(t *testing.T) {
	e := newCLIEnv(t)
	e.useEnv()
	dev := e.register(1)
	ctx := context.Background()
	var seq uint64
	appendLog := func(line string) {
		t.Helper()
		seq++
		if err := e.st.AppendLog(ctx, dev, seq, time.Now(), []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	e.ok("device", "update", dev, "--unique-name", "pump-7")
	appendLog("booted")

	start := func(args ...string) (*syncBuffer, context.CancelFunc, <-chan error) {
		sctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel) // before the server's Close, which waits for the streams
		root := cliRoot()
		out := &syncBuffer{}
		root.SetOut(out)
		root.SetErr(out)
		root.SetArgs(args)
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(sctx) }()
		return out, cancel, done
	}
	waitFor := func(out *syncBuffer, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in:\n%s", want, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	stop := func(cancel context.CancelFunc, done <-chan error) {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("logs stream ended with %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("logs stream did not stop when its context ended")
		}
	}

	// History from 10 minutes ago, then live, as text.
	text, cancelText, doneText := start("logs", "stream", "pump-7", "--since", "10m")
	// Live only, as JSON.
	js, cancelJSON, doneJSON := start("logs", "stream", dev, "--output", "json")
	// The whole history (--after 0, like the API's After=0), then live.
	all, cancelAll, doneAll := start("logs", "stream", dev, "--after", "0")
	waitFor(text, "booted")
	waitFor(all, "booted")
	for range 3 { // all streams subscribed: the live-only one sees what follows
		select {
		case <-e.streams:
		case <-time.After(10 * time.Second):
			t.Fatal("the log streams did not start")
		}
	}
	appendLog("pump started")
	appendLog("pressure 3.2 bar")
	waitFor(text, "pressure 3.2 bar")
	waitFor(js, "pressure 3.2 bar")
	waitFor(all, "pressure 3.2 bar")
	stop(cancelText, doneText)
	stop(cancelJSON, doneJSON)
	stop(cancelAll, doneAll)
	if got := strings.Split(strings.TrimSpace(all.String()), "\n"); len(got) != 3 || !strings.HasSuffix(got[0], "  booted") {
		t.Fatalf("--after 0 output:\n%s", all.String())
	}

	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "  booted") || !strings.HasSuffix(lines[2], "  pressure 3.2 bar") {
		t.Fatalf("text output:\n%s", text.String())
	}
	if _, err := time.Parse(time.RFC3339, strings.Fields(lines[0])[0]); err != nil {
		t.Fatalf("text line without a time: %q", lines[0])
	}
	var evs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(js.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("json output line %q: %v", l, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != 2 || evs[0]["line"] != "pump started" || evs[0]["seq"] == nil || evs[1]["line"] != "pressure 3.2 bar" {
		t.Fatalf("json output: %v", evs)
	}

	e.fails("--since \"yesterday\"", "logs", "stream", dev, "--since", "yesterday")
	e.fails("--since and --after cannot be combined", "logs", "stream", dev, "--since", "10m", "--after", "0")
	e.fails("DeviceSid: no device with that SID or UniqueName", "logs", "stream", "nobody")
}

func TestCLICredentialResolution(t *testing.T) {
	e := newCLIEnv(t)
	dev := e.register(1)

	// Nothing anywhere: the error names all three ways.
	path := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "mvnet", "cloud.json")
	_, err := cli(context.Background(), "", "config", "list")
	if err == nil {
		t.Fatal("no error without credentials")
	}
	for _, want := range []string{"--cloud", "--account-sid", "--auth-token", "MVNET_CLOUD", "MVNET_ACCOUNT_SID", "MVNET_AUTH_TOKEN", path} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing-credentials error lacks %q: %v", want, err)
		}
	}
	for _, args := range [][]string{{"secret", "list"}, {"device", "list"}, {"device", "get", dev}, {"logs", "stream", dev}} {
		if _, err := cli(context.Background(), "", args...); err == nil || !strings.Contains(err.Error(), "MVNET_AUTH_TOKEN") {
			t.Errorf("mvnet %s without credentials: %v", strings.Join(args, " "), err)
		}
	}

	bad := strings.Repeat("0", 32)
	// The file alone works.
	if err := cliconfig.Save(path, cliconfig.Credentials{URL: e.url, AccountSid: e.sid, AuthToken: e.token}); err != nil {
		t.Fatal(err)
	}
	e.ok("config", "set", "k", "from-file-creds")
	// The environment wins over the file: a wrong token there fails...
	t.Setenv(cliconfig.EnvAuthToken, bad)
	e.fails("authentication failed: wrong account SID or auth token (HTTP 401 from "+e.url+"; the account SID and auth token came from "+path+" and MVNET_AUTH_TOKEN)",
		"config", "list")
	// ...and flags win over the environment.
	if got := e.ok("config", "get", "k", "--auth-token", e.token); got != "from-file-creds\n" {
		t.Fatalf("config get = %q", got)
	}
	// A wrong token given as a flag, over a good environment.
	t.Setenv(cliconfig.EnvAuthToken, e.token)
	e.ok("config", "list")
	e.fails("HTTP 401", "device", "list", "--auth-token", bad)
	e.fails("came from "+path+" and --auth-token", "secret", "list", "--auth-token", bad)
	e.fails("HTTP 401", "logs", "stream", dev, "--auth-token", bad)
	// A wrong URL from the environment, overridden by the flag.
	t.Setenv(cliconfig.EnvURL, "not a url")
	e.fails("cloud URL \"not a url\"", "config", "list")
	e.ok("config", "list", "--cloud", e.url)
	// Flags alone, with neither environment nor file.
	os.Remove(path)
	t.Setenv(cliconfig.EnvURL, "")
	t.Setenv(cliconfig.EnvAccountSid, "")
	t.Setenv(cliconfig.EnvAuthToken, "")
	e.ok("device", "list", "--cloud", e.url, "--account-sid", e.sid, "--auth-token", e.token)
}
