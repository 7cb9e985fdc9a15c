package runner

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// scriptApp writes dir/app, a shell script with body, and returns its path.
func scriptApp(t *testing.T, body string) string {
	t.Helper()
	app := filepath.Join(t.TempDir(), "app")
	if err := os.WriteFile(app, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return app
}

func scenarioFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runScenario runs app with the scenario text and returns Run's result and
// what went to stderr.
func runScenario(t *testing.T, o Options) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	o.Stdout, o.Stderr, o.Transcript = &out, &errb, &errb
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := Run(ctx, o)
	if ctx.Err() != nil {
		t.Fatalf("the run did not end: %v\n%s", err, errb.String())
	}
	return errb.String(), err
}

// A scenario whose expectations are all met ends the run (stop-when-met):
// an application that would run on is stopped, the run passes and the
// summary says so; its config and secret values were in the hosted store
// before the application started.
func TestScenarioStopsTheAppWhenMet(t *testing.T) {
	t.Parallel()
	sc := scenarioFile(t, `version: 1
name: met
config:
  - {key: mode, value: fast}
secrets:
  - {key: token, value: s3cret, scope: account}
expect:
  - name: ready
    stdout: "^ready"
`)
	var mu sync.Mutex
	var h *Hosted
	var values []string
	o := Options{App: scriptApp(t, "echo ready\nexec sleep 600"), Scenario: sc,
		OnHosted: func(x *Hosted) error { mu.Lock(); h = x; mu.Unlock(); return nil },
		Observe: func(e Event) {
			if e.Kind != StdoutLine {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, k := range []struct {
				scope abi.ConfigKeyFetchScope
				store abi.ConfigKeyFetchStore
				key   string
			}{{abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "mode"}, {abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret, "token"}} {
				v, ok, err := h.Store().Fetch(context.Background(), h.DeviceID, k.scope, k.store, k.key)
				if err != nil || !ok {
					t.Errorf("%s: %v %v", k.key, ok, err)
				}
				values = append(values, string(v))
			}
		}}
	stderr, err := runScenario(t, o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "  PASS ready\n1 of 1 expectations passed, 0 steps failed") {
		t.Errorf("summary:\n%s", stderr)
	}
	if strings.Join(values, ",") != "fast,s3cret" {
		t.Errorf("the store held %q before the application ran, want fast,s3cret", values)
	}
}

// An expectation not met by the end of the scenario's duration fails it:
// the application is killed, Run's result is a StatusError 1 although no
// exit expectation judged the application, and the summary says why.
func TestScenarioDurationKillsAndFails(t *testing.T) {
	t.Parallel()
	sc := scenarioFile(t, `version: 1
name: never met
duration: 1s
expect:
  - name: a line that never comes
    stdout: "^never"
  - name: exits cleanly
    exit: 0
`)
	stderr, err := runScenario(t, Options{App: scriptApp(t, "echo started\nexec sleep 600"), Scenario: sc})
	var st *StatusError
	if !errors.As(err, &st) || st.Code != 1 {
		t.Fatalf("Run: %v, want a StatusError 1\n%s", err, stderr)
	}
	for _, want := range []string{"  FAIL a line that never comes — ", "  FAIL exits cleanly — ", "its duration (1s) ran out", "0 of 2 expectations passed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
}

// Wrong combinations and files are refused before the application starts:
// a scenario that does not parse is a StatusError 2 naming file:line.
func TestScenarioRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app, marker := markerApp(t, dir)
	bad := scenarioFile(t, "version: 1\ntimeline:\n  - at: soon\n    clear: link-drop\n")
	empty := filepath.Join(dir, "empty.json")
	if err := (&cassette.Cassette{Version: cassette.Version}).Save(empty); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Options
		want string
		code int
	}{
		{Options{Scenario: bad}, bad + ":3: timeline[0].at: ", 2},
		{Options{Record: "a.json", Replay: empty}, "--record and --replay together", 0},
		{Options{Replay: empty, RecordSecrets: true}, "--record-secrets needs --record", 0},
		{Options{Replay: empty, JUnit: "out.xml"}, "--junit needs --scenario", 0},
		{Options{Replay: filepath.Join(dir, "none.json")}, "--replay: ", 0},
		{Options{MatchBody: "always"}, "need --replay", 0},
		{Options{Record: "a.json", AllowRepeats: true}, "need --replay", 0},
		{Options{Replay: empty, MatchBody: "sometimes"}, `--match-body "sometimes": want writes`, 0},
		{Options{Replay: empty, MatchHeaders: []string{"X-A: 1"}}, `--match-header "X-A: 1": want a header name`, 0},
		{Options{JUnit: "out.xml"}, "--junit needs --scenario", 0},
		{Options{Record: filepath.Join(dir, "no-such-dir", "c.json")}, "--record: cannot write", 0},
		{Options{Scenario: scenarioFile(t, "version: 1\n"), JUnit: filepath.Join(dir, "no-such-dir", "out.xml")}, "--junit: cannot write", 0},
	} {
		c.o.App = app
		_, err := runScenario(t, c.o)
		var st *StatusError
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.code != 0) != (errors.As(err, &st) && st.Code == c.code) {
			t.Errorf("%+v: %v, want %q (status %d)", c.o, err, c.want, c.code)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the application ran")
	}
}

func TestReplayLine(t *testing.T) {
	for _, c := range []struct {
		m    cassette.Mismatch
		want string
	}{
		{cassette.Mismatch{Request: "GET https://a/x", Reason: "not in the cassette", Closest: "GET https://a/y"},
			"GET https://a/x is not in the cassette; closest recorded: GET https://a/y"},
		{cassette.Mismatch{Request: "CONNECT x to h:1", Reason: "no unused recorded session starts so"},
			"CONNECT x to h:1: no unused recorded session starts so"},
	} {
		if got := replayLine(c.m); got != c.want {
			t.Errorf("replayLine = %q, want %q", got, c.want)
		}
	}
}

// TestReplayOptions: the --match-* flags become the cassette's matching
// rules (the cassette's own tests show what each rule does).
func TestReplayOptions(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want cassette.Options
	}{
		{Options{}, cassette.Options{Body: cassette.BodyForWrites}},
		{Options{MatchBody: "writes"}, cassette.Options{Body: cassette.BodyForWrites}},
		{Options{MatchBody: "always", AllowRepeats: true}, cassette.Options{Body: cassette.BodyAlways, AllowRepeats: true}},
		{Options{MatchBody: "never", MatchHeaders: []string{"X-Api-Version", "Accept"}},
			cassette.Options{Body: cassette.BodyNever, MatchHeaders: []string{"X-Api-Version", "Accept"}}},
	} {
		got, err := replayOptions(c.o)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("replayOptions(%+v) = %+v, %v; want %+v", c.o, got, err, c.want)
		}
	}
}

// TestScenarioEndKillsWhatTheAppStarted: when the scenario's run ends, the
// application is stopped with everything it started (a wrapper script's
// child that does not exec): it would otherwise keep the output pipe, hold
// the run open and outlive the hosted cloud.
func TestScenarioEndKillsWhatTheAppStarted(t *testing.T) {
	t.Parallel()
	marker := filepath.Join(t.TempDir(), "survived")
	sc := scenarioFile(t, "version: 1\nexpect:\n  - stdout: \"^ready\"\n")
	app := scriptApp(t, `(sleep 100; touch "$1") &
echo ready
wait`)
	stderr, err := runScenario(t, Options{App: app, Args: []string{marker}, Scenario: sc})
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the application's child outlived the run\n%s", stderr)
	}
}

// TestRecordKeepsTheCassetteWhenNothingRan: a --record run that fails
// before the application starts (here: no such application) leaves a
// cassette already there as it was, instead of an empty recording.
func TestRecordKeepsTheCassetteWhenNothingRan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cas := filepath.Join(dir, "c.json")
	if err := os.WriteFile(cas, []byte("recorded against the real services"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr, err := runScenario(t, Options{App: filepath.Join(dir, "typo"), Record: cas})
	if err == nil {
		t.Fatalf("a missing application: no error\n%s", stderr)
	}
	if b, _ := os.ReadFile(cas); string(b) != "recorded against the real services" {
		t.Fatalf("the cassette was replaced: %q\n%s", b, stderr)
	}
}
