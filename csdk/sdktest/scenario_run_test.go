package sdktest

import (
	"bytes"
	"context"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// `mvnet run --scenario/--junit/--record/--replay` (internal/runner,
// scenario.go) with the C examples, through the mvnet command as CI runs it.

// cliRun is what one `mvnet run` did.
type cliRun struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r cliRun) String() string {
	return "mvnet " + strings.Join(r.args, " ") + "\nexit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// mvnetRun runs the mvnet command with args, at most three minutes.
func mvnetRun(t *testing.T, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, mvnetBinary(t), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := cliRun{args: args, stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("mvnet run did not finish: %v", r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// junitDoc is what the test reads of a JUnit report: the elements and
// attributes CI systems require.
type junitDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	Suites  []struct {
		Name     string `xml:"name,attr"`
		Tests    *int   `xml:"tests,attr"`
		Failures *int   `xml:"failures,attr"`
		Errors   *int   `xml:"errors,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			ClassName string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// readJUnit decodes the JUnit file and checks its required elements.
func readJUnit(t *testing.T, path string) junitDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d junitDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("JUnit: %v\n%s", err, b)
	}
	if len(d.Suites) != 1 {
		t.Fatalf("JUnit: %d testsuites, want 1\n%s", len(d.Suites), b)
	}
	s := d.Suites[0]
	if s.Name == "" || s.Tests == nil || s.Failures == nil || s.Errors == nil || s.Time == "" || *s.Tests != len(s.Cases) {
		t.Fatalf("JUnit: testsuite lacks a required attribute or miscounts its testcases\n%s", b)
	}
	failed := 0
	for _, c := range s.Cases {
		if c.Name == "" || c.ClassName == "" || c.Time == "" {
			t.Fatalf("JUnit: testcase lacks a required attribute\n%s", b)
		}
		if c.Failure != nil {
			failed++
			if c.Failure.Message == "" || c.Failure.Type == "" {
				t.Fatalf("JUnit: failure lacks message or type\n%s", b)
			}
		}
	}
	if failed != *s.Failures {
		t.Fatalf("JUnit: failures=%d but %d testcases fail\n%s", *s.Failures, failed, b)
	}
	return d
}

// exampleBin builds examples/c/name with its Makefile.
func exampleBin(t *testing.T, name string) string {
	t.Helper()
	needLib(t)
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "c", name))
	if err != nil {
		t.Fatal(err)
	}
	return exampleBuilds(name)["make"](t, copyExample(t, src))
}

// exampleFile is the path of a file of examples/c.
func exampleFile(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", "examples", "c"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// helloServer serves "hello, example" over HTTPS on a loopback port and
// writes its CA certificate to a PEM file, for the cloud to trust.
func helloServer(t *testing.T) (srv *testenv.Server, caFile string) {
	t.Helper()
	srv = testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello, example")
	}))
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

// httpsFlags serves "hello, example" (helloServer) and returns the flags
// that let a hosted cloud reach it, and the server.
func httpsFlags(t *testing.T) ([]string, *testenv.Server) {
	t.Helper()
	srv, caFile := helloServer(t)
	return []string{"--ca-file", caFile, "--resolve", srv.Resolve, "--allow", "127.0.0.0/8"}, srv
}

func flagsThen(flags []string, more ...string) []string {
	return append(append([]string{"run"}, flags...), more...)
}

// TestScenarioHTTPGetLinkDrop: examples/c/http-get/link-drop.yaml, the
// example's own scenario, passes against a local HTTPS server: exit 0, every
// JUnit testcase passes, and the transcript shows the faults start and end.
func TestScenarioHTTPGetLinkDrop(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "http-get")
	flags, srv := httpsFlags(t)
	junit := filepath.Join(t.TempDir(), "out.xml")
	r := mvnetRun(t, flagsThen(flags, "--scenario", exampleFile(t, "http-get", "link-drop.yaml"), "--junit", junit,
		"--", bin, srv.URL("/hello"))...)
	if r.code != 0 {
		t.Fatalf("the scenario failed: %v", r)
	}
	for _, want := range []string{"fault  start  http-delay", "fault  start  link-drop", "fault  end  link-drop",
		"  PASS the request was sent again", "5 of 5 expectations passed, 0 steps failed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	d := readJUnit(t, junit)
	if s := d.Suites[0]; len(s.Cases) != 5 || *s.Failures != 0 {
		t.Errorf("JUnit: %d testcases, %d failures; want 5 passing", len(s.Cases), *s.Failures)
	}
	if t.Failed() {
		t.Log(r)
	}
}

// tempFile writes content to name in a temporary folder and returns its
// path.
func tempFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	writeFile(t, p, content)
	return p
}

// TestScenarioFailsAndParseErrors: an expectation that is not met makes
// mvnet exit 1, the summary names it with why and the JUnit report has its
// failure (the application itself exited 0); a scenario file with an error
// makes mvnet exit 2 naming file:line and field before the application
// starts.
func TestScenarioFailsAndParseErrors(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "http-get")
	flags, srv := httpsFlags(t)
	t.Run("failing expectation", func(t *testing.T) {
		sc := tempFile(t, "s.yaml", `version: 1
name: an expectation that fails
expect:
  - name: a line that never comes
    stdout: "^this is never printed"
  - name: clean exit
    exit: 0
`)
		junit := filepath.Join(t.TempDir(), "out.xml")
		r := mvnetRun(t, flagsThen(flags, "--scenario", sc, "--junit", junit, "--", bin, srv.URL("/hello"))...)
		if r.code != 1 || !strings.Contains(r.stdout, "result 0, HTTP 200") {
			t.Fatalf("want exit 1 after the application's own success: %v", r)
		}
		for _, want := range []string{`  FAIL a line that never comes — `, `"^this is never printed"`, "  PASS clean exit",
			"1 of 2 expectations passed"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("the summary lacks %q: %v", want, r)
			}
		}
		s := readJUnit(t, junit).Suites[0]
		if len(s.Cases) != 2 || *s.Failures != 1 || s.Cases[0].Failure == nil || s.Cases[0].Name != "a line that never comes" ||
			!strings.Contains(s.Cases[0].Failure.Message, "this is never printed") || s.Cases[1].Failure != nil {
			t.Errorf("JUnit: %+v", s)
		}
	})
	t.Run("parse error", func(t *testing.T) {
		sc := tempFile(t, "bad.yaml", "version: 1\nduration: soon\n")
		started := filepath.Join(t.TempDir(), "started")
		r := mvnetRun(t, flagsThen(flags, "--scenario", sc, "--", "sh", "-c", "touch "+started)...)
		if r.code != 2 || !strings.Contains(r.stderr, sc+":2: duration: ") {
			t.Fatalf("want exit 2 naming %s:2: duration: %v", sc, r)
		}
		if _, err := os.Stat(started); err == nil {
			t.Errorf("the application ran although the scenario file is wrong")
		}
	})
	t.Run("record and replay together", func(t *testing.T) {
		r := mvnetRun(t, flagsThen(flags, "--record", "a.json", "--replay", "b.json", "--", bin)...)
		if r.code == 0 || !strings.Contains(r.stderr, "--record and --replay together") {
			t.Fatalf("want an error: %v", r)
		}
	})
}

// comparable is a run's output, normalised (normalize) for comparing
// runs: the application's stdout, then its transcript and server log lines
// without mvnet's own lines.
func comparable(r cliRun) string {
	var keep []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if !strings.HasPrefix(l, "mvnet") {
			keep = append(keep, l)
		}
	}
	return strings.Join(normalize(r.stdout), "\n") + "\n--\n" + strings.Join(normalize(strings.Join(keep, "\n")), "\n")
}

// TestRecordReplayHTTP: http-get recorded against a local HTTPS server and
// replayed with the server stopped prints the same transcript; a replay
// asking another URL makes mvnet exit 1 naming the request and the
// closest recorded one.
func TestRecordReplayHTTP(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "http-get")
	flags, srv := httpsFlags(t)
	cas := filepath.Join(t.TempDir(), "http.json")
	rec := mvnetRun(t, flagsThen(flags, "--record", cas, "--", bin, srv.URL("/hello"))...)
	if rec.code != 0 || !strings.Contains(rec.stdout, "hello, example") ||
		!strings.Contains(rec.stderr, "mvnet: recorded 1 HTTP exchanges, 0 MQTT sessions, 0 config fetches to "+cas) {
		t.Fatalf("recording: %v", rec)
	}
	if err := srv.HTTP.Close(); err != nil {
		t.Fatal(err)
	}
	// Replay needs none of the flags that let the cloud reach the server.
	rep := mvnetRun(t, flagsThen(nil, "--replay", cas, "--", bin, srv.URL("/hello"))...)
	if rep.code != 0 {
		t.Fatalf("replay: %v", rep)
	}
	if a, b := comparable(rec), comparable(rep); a != b {
		t.Fatalf("the transcripts differ\nrecorded:\n%s\n\nreplayed:\n%s", a, b)
	}
	miss := mvnetRun(t, flagsThen(flags, "--replay", cas, "--", bin, srv.URL("/other"))...)
	want := "mvnet: replay: GET " + srv.URL("/other") + " is not in the cassette; closest recorded: GET " + srv.URL("/hello")
	if miss.code != 1 || !strings.Contains(miss.stderr, want) {
		t.Fatalf("want exit 1 and %q: %v", want, miss)
	}
	// With a scenario, the mismatch is a failing "replay" testcase too,
	// although the scenario's own expectation holds.
	sc := tempFile(t, "s.yaml", "version: 1\nexpect:\n  - request: {url: \"*/other\"}\n")
	junit := filepath.Join(t.TempDir(), "out.xml")
	miss = mvnetRun(t, flagsThen(flags, "--replay", cas, "--scenario", sc, "--junit", junit, "--", bin, srv.URL("/other"))...)
	if miss.code != 1 || !strings.Contains(miss.stderr, want) || !strings.Contains(miss.stderr, "  FAIL replay — GET "+srv.URL("/other")) {
		t.Fatalf("want exit 1, %q and a failing replay in the summary: %v", want, miss)
	}
	s := readJUnit(t, junit).Suites[0]
	if len(s.Cases) != 2 || s.Cases[0].Failure != nil || s.Cases[1].Name != "replay" || s.Cases[1].Failure == nil ||
		!strings.Contains(s.Cases[1].Failure.Message, "closest recorded: GET "+srv.URL("/hello")) {
		t.Errorf("JUnit: %+v", s)
	}
}

// TestRecordReplayMQTT: examples/c/mqtt-commands, with a scenario that
// sends it "quit" once it has subscribed, recorded against Mosquitto and
// replayed with the broker stopped prints the same transcript (connect,
// subscribe, the command, the end of the session), and the scenario passes
// both times.
//
// The command comes from the scenario (mqtt-inject) once the application
// has printed that it subscribed, not from the broker as a retained
// message: a message right behind the SUBACK is read in the same batch as
// the subscribe response when the two arrive together (as they do in
// replay), and the application prints "subscribed" only after the batch,
// so its output order would depend on timing.
func TestRecordReplayMQTT(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "mqtt-commands")
	br := mosquitto.Start(t, mosquitto.Options{})
	port := strconv.Itoa(br.Port)
	topic := "mvnet/test/record-replay"
	sc := tempFile(t, "quit.yaml", `version: 1
name: quit once subscribed
timeline:
  - when: {stdout: "^subscribed to"}
    mqtt-inject: {topic: `+topic+`, payload: quit, qos: 1}
expect:
  - stdout: "^command: quit"
  - exit: 0
`)
	flags := []string{"--allow", "127.0.0.0/8", "--mqtt-plaintext", "--device-id", "UV0123456789abcdef0123456789abcdef", "--scenario", sc}
	cas := filepath.Join(t.TempDir(), "mqtt.json")
	rec := mvnetRun(t, flagsThen(flags, "--record", cas, "--", bin, "127.0.0.1", port, topic)...)
	if rec.code != 0 || !strings.Contains(rec.stdout, "command: quit") ||
		!strings.Contains(rec.stderr, "mvnet: recorded 0 HTTP exchanges, 1 MQTT sessions, 0 config fetches to "+cas) {
		t.Fatalf("recording: %v\nmosquitto log:\n%s", rec, br.Log())
	}
	br.Stop()
	rep := mvnetRun(t, flagsThen(flags, "--replay", cas, "--", bin, "127.0.0.1", port, topic)...)
	if rep.code != 0 {
		t.Fatalf("replay: %v", rep)
	}
	if a, b := comparable(rec), comparable(rep); a != b {
		t.Fatalf("the transcripts differ\nrecorded:\n%s\n\nreplayed:\n%s", a, b)
	}
}

// TestRecordRedactsSecrets: config-log fetches a config value and a secret
// a scenario's config: and secrets: entries set; the cassette holds the
// config value, and the secret only with --record-secrets.
func TestRecordRedactsSecrets(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "config-log")
	const secret = "s3cr3t-device-token"
	sc := tempFile(t, "s.yaml", `version: 1
name: config-log fetches its settings
config:
  - {key: broker-host, value: mqtt.example.com, scope: account}
secrets:
  - {key: api-key, value: `+secret+`}
expect:
  - log: "broker-host = mqtt.example.com"
  - exit: 0
`)
	for _, keep := range []bool{false, true} {
		cas := filepath.Join(t.TempDir(), "c.json")
		args := []string{"run", "--scenario", sc, "--record", cas}
		if keep {
			args = append(args, "--record-secrets")
		}
		r := mvnetRun(t, append(args, "--", bin)...)
		if r.code != 0 || !strings.Contains(r.stderr, "0 MQTT sessions, 2 config fetches to "+cas) {
			t.Fatalf("record-secrets=%v: %v", keep, r)
		}
		b, err := os.ReadFile(cas)
		if err != nil {
			t.Fatal(err)
		}
		c := string(b)
		if !strings.Contains(c, "mqtt.example.com") {
			t.Errorf("record-secrets=%v: the config value is not in the cassette:\n%s", keep, c)
		}
		if strings.Contains(c, secret) != keep {
			t.Errorf("record-secrets=%v: the secret's presence in the cassette is %v:\n%s", keep, !keep, c)
		}
		if !keep && !strings.Contains(c, cassette.Redacted) {
			t.Errorf("the secret's value is not marked %q:\n%s", cassette.Redacted, c)
		}
	}
}

// TestReplayLinkDropScenario: docs/testing.md's CI path — the example's
// link-drop scenario recorded once against a server, then replayed with
// the same scenario, no server and no network flags: the request the link
// drop cancelled is cancelled again, the retry is answered, and every
// expectation passes both times.
func TestReplayLinkDropScenario(t *testing.T) {
	t.Parallel()
	bin := exampleBin(t, "http-get")
	flags, srv := httpsFlags(t)
	sc, err := filepath.Abs(filepath.Join("..", "..", "examples", "c", "http-get", "link-drop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cas := filepath.Join(t.TempDir(), "hello.cassette.json")
	rec := mvnetRun(t, flagsThen(flags, "--scenario", sc, "--record", cas, "--", bin, srv.URL("/hello"))...)
	if rec.code != 0 || !strings.Contains(rec.stderr, "5 of 5 expectations passed") {
		t.Fatalf("recording: %v", rec)
	}
	if err := srv.HTTP.Close(); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(t.TempDir(), "out.xml")
	rep := mvnetRun(t, flagsThen(nil, "--scenario", sc, "--replay", cas, "--junit", junit, "--", bin, srv.URL("/hello"))...)
	if rep.code != 0 || !strings.Contains(rep.stderr, "5 of 5 expectations passed") {
		t.Fatalf("replay: %v", rep)
	}
	if s := readJUnit(t, junit).Suites[0]; len(s.Cases) != 5 || *s.Failures != 0 {
		t.Errorf("JUnit: %+v", s)
	}
}
