package scenario

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
)

// summary writes what a parsed scenario holds, lines excluded, so that the
// YAML and JSON forms of a file can be compared.
func summary(sc *Scenario) string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%q duration=%v stop=%v\n", sc.Name, sc.Duration, sc.StopWhenMet)
	for _, v := range append(append([]Value{}, sc.Config...), sc.Secrets...) {
		fmt.Fprintf(&b, "value %s %s %s=%s\n", v.Scope, v.Store, v.Key, v.Value)
	}
	for _, f := range sc.Faults {
		fmt.Fprintf(&b, "fault %s\n", f.Spec)
	}
	for _, st := range sc.Timeline {
		trig := fmt.Sprintf("at %v", st.At)
		if !st.HasAt {
			trig = "when " + st.When.describe()
		}
		fmt.Fprintf(&b, "step %q %s after=%v every=%v\n", st.Name, trig, st.After, st.Every)
		for _, a := range st.Actions {
			fmt.Fprintf(&b, "  %s fault=%q clear=%q/%q value=%s=%s topic=%s payload=%q qos=%d\n", a.Kind, a.Fault, a.ClearKind, a.ClearStep, a.Value.Key, a.Value.Value, a.Topic, a.Payload, a.QoS)
		}
	}
	for _, e := range sc.Expect {
		fmt.Fprintf(&b, "expect %q %s count=%d within=%v\n", e.Name, e.Kind, e.Count, e.Within)
	}
	return b.String()
}

func TestParseFull(t *testing.T) {
	sc, err := ParseFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := `name="http-get survives a link drop" duration=30s stop=false
value MV_CONFIGKEYFETCHSCOPE_DEVICE MV_CONFIGKEYFETCHSTORE_CONFIG url=https://api.test/data
value MV_CONFIGKEYFETCHSCOPE_ACCOUNT MV_CONFIGKEYFETCHSTORE_SECRET token=s3cret
fault latency delay=50ms
step "drop mid-request" when request GET https://api.test/* after=100ms every=false
  apply fault="link-drop for=3s" clear=""/"" value== topic= payload="" qos=0
step "step 2" at 10s after=0s every=false
  clear fault="" clear=""/"drop mid-request" value== topic= payload="" qos=0
step "step 3" at 12s after=0s every=false
  set-config fault="" clear=""/"" value=mode=fast topic= payload="" qos=0
  set-secret fault="" clear=""/"" value=token=rotated topic= payload="" qos=0
  mqtt-inject fault="" clear=""/"" value== topic=cmd/led payload="on" qos=1
  apply fault="update description=\"1.2.3\"" clear=""/"" value== topic= payload="" qos=0
step "step 4" when fault link-flap ended after=0s every=true
  apply fault="link-flap period=2s duty=0.25" clear=""/"" value== topic= payload="" qos=0
  apply fault="http-status url=\"https://api.test/*\" status=503" clear=""/"" value== topic= payload="" qos=0
expect "log \"retrying\" within 20s" event count=1 within=20s
expect "stdout \"^done\"" event count=1 within=0s
expect "request GET https://api.test/* ×2" event count=2 within=0s
expect "publish sensors/#" event count=1 within=0s
expect "subscribe cmd/# ×2" event count=2 within=0s
expect "network disconnected" event count=1 within=0s
expect "no-status MV_STATUS_PARAMETERFAULT" no-status count=1 within=0s
expect "never request https://api.test/admin*" never count=1 within=0s
expect "clean exit" exit count=1 within=0s
`
	if got := summary(sc); got != want {
		t.Errorf("parsed:\n%s\nwant:\n%s", got, want)
	}
	if sc.Timeline[1].Line != 16 || sc.Expect[8].Line != 38 {
		t.Errorf("lines: step 2 at %d (want 16), expect[8] at %d (want 38)", sc.Timeline[1].Line, sc.Expect[8].Line)
	}
	// JSON is read as YAML: the same scenario.
	js, err := ParseFile("testdata/full.json")
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(js); got != want {
		t.Errorf("JSON form parsed:\n%s\nwant:\n%s", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	sc, err := Parse("dir/min.yaml", []byte("version: 1\ntimeline:\n  - at: 1s\n    clear: link-drop\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "min" || sc.Duration != DefaultDuration || !sc.StopWhenMet {
		t.Errorf("defaults: name %q duration %v stop-when-met %v; want min, %v, true", sc.Name, sc.Duration, sc.StopWhenMet, DefaultDuration)
	}
	if a := sc.Timeline[0].Actions[0]; a.Kind != ActClear || a.ClearKind != faults.LinkDrop {
		t.Errorf("clear: %+v", a)
	}
	if sc.Config != nil || sc.Expect != nil {
		t.Errorf("config %v expect %v, want none", sc.Config, sc.Expect)
	}
	_ = abi.StatusOkay
}

// TestParseErrors: every error names the file, the line and the field.
func TestParseErrors(t *testing.T) {
	const v = "version: 1\n"
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "s.yaml: empty file (a scenario starts with version: 1)"},
		{"syntax", "version: 1\ntimeline: [\n", "s.yaml:2: not valid YAML or JSON: did not find expected node content"},
		{"json syntax", "{\"version\": 1,\n \"name\": \"x\" \"duration\": \"2s\"}\n", "s.yaml:1: not valid YAML or JSON: did not find expected ',' or '}'"},
		{"not a mapping", "- 1\n", "s.yaml:1: want a mapping (key: value) with version, name, duration, stop-when-met, config, secrets, faults, timeline, expect"},
		{"no version", "name: x\n", "s.yaml:1: version: missing (write version: 1 first)"},
		{"bad version", "version: 2\n", "s.yaml:1: version: unsupported version \"2\" (this mvnet reads version 1)"},
		{"unknown top", v + "timelines: []\n", "s.yaml:2: timelines: unknown field \"timelines\" (did you mean \"timeline\"?)"},
		{"unknown far", v + "colour: red\n", "s.yaml:2: colour: unknown field \"colour\" (known: version, name, duration, stop-when-met, config, secrets, faults, timeline, expect)"},
		{"twice", v + "name: a\nname: b\n", "s.yaml:3: name: given twice"},
		{"duration", v + "duration: soon\n", "s.yaml:2: duration: not a duration (want e.g. 500ms, 2s, 1m)"},
		{"duration zero", v + "duration: 0s\n", "s.yaml:2: duration: must be positive"},
		{"stop-when-met", v + "stop-when-met: maybe\n", "s.yaml:2: stop-when-met: want true or false, not \"maybe\""},
		{"config not list", v + "config: {key: a, value: b}\n", "s.yaml:2: config: want a list"},
		{"config key", v + "config:\n  - {value: b}\n", "s.yaml:3: config[0].key: missing"},
		{"config scope", v + "config:\n  - {key: a, value: b, scope: global}\n", "s.yaml:3: config[0].scope: want device or account, not \"global\""},
		{"secret field", v + "secrets:\n  - {key: a, vale: b}\n", "s.yaml:3: secrets[0].vale: unknown field \"vale\" (did you mean \"value\"?)"},
		{"fault kind", v + "faults:\n  - {kind: link-dorp}\n", "s.yaml:3: faults[0].kind: unknown fault kind \"link-dorp\" (one of " + kindListForTest() + ")"},
		{"fault no kind", v + "faults:\n  - {for: 2s}\n", "s.yaml:3: faults[0].kind: missing (one of " + kindListForTest() + ")"},
		{"fault param", v + "faults:\n  - kind: link-flap\n    period: 2s\n    duty: 3\n", "s.yaml:5: faults[0].duty: want a number from 0 to 1"},
		{"fault unknown param", v + "faults:\n  - {kind: link-drop, period: 2s}\n", "s.yaml:3: faults[0].period: takes no parameter \"period\" (only for=DURATION)"},
		{"fault missing param", v + "faults:\n  - {kind: link-flap}\n", "s.yaml:3: faults[0]: link-flap: missing parameter period"},
		{"fault list param", v + "faults:\n  - {kind: dns-failure, host: [a, b]}\n", "s.yaml:3: faults[0].host: want a single value"},
		{"timeline period", v + "timeline:\n  - at: 1s\n    clear: link-drop\n  - at: 2s\n    clear: link-drop\n  - when: {network: connected}\n    apply:\n      kind: link-flap\n      period: often\n",
			"s.yaml:10: timeline[2].apply.period: not a duration (want e.g. 500ms, 2s, 1m)"},
		{"step no trigger", v + "timeline:\n  - clear: link-drop\n", "s.yaml:3: timeline[0]: missing its trigger: at: TIME or when: EVENT"},
		{"step both triggers", v + "timeline:\n  - at: 1s\n    when: {stdout: x}\n    clear: link-drop\n", "s.yaml:4: timeline[0].when: give at or when, not both"},
		{"step no action", v + "timeline:\n  - at: 1s\n", "s.yaml:3: timeline[0]: no action (give one of apply, clear, set-config, set-secret, mqtt-inject, announce-update)"},
		{"step unknown", v + "timeline:\n  - at: 1s\n    aply: {kind: link-drop}\n", "s.yaml:4: timeline[0].aply: unknown field \"aply\" (did you mean \"apply\"?)"},
		{"step every at", v + "timeline:\n  - at: 1s\n    every: true\n    clear: link-drop\n", "s.yaml:4: timeline[0].every: only a when: step can fire more than once"},
		{"step same name", v + "timeline:\n  - {name: a, at: 1s, clear: link-drop}\n  - {name: a, at: 2s, clear: link-drop}\n", "s.yaml:4: timeline[1].name: another step is named \"a\""},
		{"clear step unknown", v + "timeline:\n  - at: 1s\n    clear: {step: nope}\n", "s.yaml:3: timeline[0].clear.step: no step is named \"nope\""},
		{"clear step no fault", v + "timeline:\n  - {name: cfg, at: 1s, set-config: {key: a, value: b}}\n  - at: 2s\n    clear: {step: cfg}\n",
			"s.yaml:5: timeline[1].clear.step: step \"cfg\" applies no fault to clear"},
		{"no-status okay", v + "expect:\n  - no-status: OKAY\n", "s.yaml:3: expect[0].no-status: MV_STATUS_OKAY is what every successful call returns: want a failure status (e.g. PARAMETERFAULT)"},
		{"within zero", v + "expect:\n  - stdout: x\n    within: 0s\n", "s.yaml:4: expect[0].within: must be more than 0 (leave within out for the whole run)"},
		{"fault status", v + "timeline:\n  - at: 1s\n    apply:\n      kind: http-status\n      url: \"*\"\n      status: 99\n",
			"s.yaml:7: timeline[0].apply.status: status 99 is not an HTTP status (100–599)"},
		{"fault jitter", v + "faults:\n  - kind: latency\n    jitter: -5ms\n", "s.yaml:4: faults[0].jitter: jitter must not be negative"},
		{"fault reason_code", v + "faults:\n  - kind: mqtt-refuse\n    reason_code: x\n", "s.yaml:4: faults[0].reason_code: invalid syntax"},
		{"fault loss 0", v + "faults:\n  - kind: mqtt-drop\n    loss: 0\n", "s.yaml:4: faults[0].loss: loss=0 would drop nothing: omit loss to drop every message"},
		{"fault reason-code range", v + "faults:\n  - kind: mqtt-refuse\n    reason-code: 300\n", "s.yaml:4: faults[0].reason-code: reason-code 300 is no CONNACK refusal (1–5 in MQTT 3.1.1, 0x80–0xFF in MQTT 5)"},
		{"clear kind", v + "timeline:\n  - at: 1s\n    clear: link\n", "s.yaml:4: timeline[0].clear: unknown fault kind \"link\" (one of " + kindListForTest() + ")"},
		{"when regexp", v + "timeline:\n  - when: {log: \"retry(\"}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.log: not a regular expression: missing closing ): `retry(`"},
		{"when none", v + "timeline:\n  - when: {method: GET}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when: no event (give one of log, stdout, request, publish, subscribe, network, fault)"},
		{"when two", v + "timeline:\n  - when: {log: a, stdout: b}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.stdout: give one event, not both log and stdout"},
		{"when method", v + "timeline:\n  - when: {log: a, method: GET}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.method: only a request takes a method"},
		{"when network", v + "timeline:\n  - when: {network: up}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.network: want connected or disconnected, not \"up\""},
		{"when fault kind", v + "timeline:\n  - when: {fault: link-dorp started}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.fault: unknown fault kind \"link-dorp\" (one of " + kindListForTest() + ")"},
		{"when fault", v + "timeline:\n  - when: {fault: link-drop begun}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.fault: want KIND started or KIND ended, not \"link-drop begun\""},
		{"when count", v + "timeline:\n  - when: {request: {url: x, count: 2}}\n    clear: link-drop\n", "s.yaml:3: timeline[0].when.request.count: unknown field \"count\" (known: url, method)"},
		{"after", v + "timeline:\n  - when: {stdout: x}\n    after: -1s\n    clear: link-drop\n", "s.yaml:4: timeline[0].after: must not be negative"},
		{"inject topic", v + "timeline:\n  - at: 1s\n    mqtt-inject: {topic: cmd/#}\n", "s.yaml:4: timeline[0].mqtt-inject.topic: a message's topic has no wildcards (+, #)"},
		{"inject qos", v + "timeline:\n  - at: 1s\n    mqtt-inject: {topic: cmd, qos: 3}\n", "s.yaml:4: timeline[0].mqtt-inject.qos: 3 is out of range (0 to 2)"},
		{"inject list", v + "timeline:\n  - at: 1s\n    mqtt-inject:\n      - {topic: a}\n      - {topc: b}\n", "s.yaml:6: timeline[0].mqtt-inject[1].topc: unknown field \"topc\" (did you mean \"topic\"?)"},
		{"expect none", v + "expect:\n  - within: 2s\n", "s.yaml:3: expect[0]: nothing to expect (give one of no-status, never, exit, log, stdout, request, publish, subscribe, network, fault)"},
		{"expect two", v + "expect:\n  - log: a\n    exit: 0\n", "s.yaml:4: expect[0].exit: one check per entry: both log and exit given"},
		{"expect status", v + "expect:\n  - no-status: PARAMFAULT\n", "s.yaml:3: expect[0].no-status: \"PARAMFAULT\" is not a Microvisor status (e.g. PARAMETERFAULT or MV_STATUS_PARAMETERFAULT)"},
		{"expect exit", v + "expect:\n  - exit: -1\n", "s.yaml:3: expect[0].exit: -1 is out of range (0 to 255)"},
		{"expect within", v + "expect:\n  - exit: 0\n    within: 2s\n", "s.yaml:4: expect[0].within: exit takes no within"},
		{"expect count", v + "expect:\n  - request: {url: \"https://a/*\", count: 0}\n", "s.yaml:3: expect[0].request.count: 0 is out of range (1 to 1073741824)"},
		{"expect filter", v + "expect:\n  - publish: {topic: \"a/#/b\"}\n", "s.yaml:3: expect[0].publish.topic: \"a/#/b\" is not a topic filter (+ and # stand for whole levels, # only for the last)"},
		{"expect glob", v + "expect:\n  - request: \"https://a/**\"\n", "s.yaml:3: expect[0].request: use a single * to match any run of characters"},
		{"expect never", v + "expect:\n  - never: {exit: 0}\n", "s.yaml:3: expect[0].never.exit: unknown field \"exit\" (known: method, log, stdout, request, publish, subscribe, network, fault)"},
		{"expect method", v + "expect:\n  - log: a\n    method: GET\n", "s.yaml:4: expect[0].method: only a request takes a method"},
		{"expect name", v + "expect:\n  - log: a\n    name: \"\"\n", "s.yaml:4: expect[0].name: must not be empty"},
		{"expect stdout regexp", v + "expect:\n  - stdout: \"[a\"\n", "s.yaml:3: expect[0].stdout: not a regular expression: missing closing ]: `[a`"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("parsed; want error %q", tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error %T is not a *scenario.Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}

func kindListForTest() string {
	var names []string
	for _, k := range faults.Kinds() {
		names = append(names, string(k.Kind))
	}
	return strings.Join(names, ", ")
}

func TestParseFileMissing(t *testing.T) {
	if _, err := ParseFile("testdata/nope.yaml"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ParseFile of a missing file: %v, want not-exist", err)
	}
	_ = time.Second
}

// TestParseAnchors: YAML anchors and aliases, and null values, read as
// their values.
func TestParseAnchors(t *testing.T) {
	sc, err := Parse("a.yaml", []byte(`version: 1
faults:
  - &drop {kind: link-drop, for: 2s}
timeline:
  - at: 1s
    apply: *drop
config:
  - {key: empty, value: ~}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Timeline[0].Actions[0].Fault.String(); got != "link-drop for=2s" {
		t.Errorf("aliased fault %q", got)
	}
	if sc.Config[0].Value != "" {
		t.Errorf("null value read as %q", sc.Config[0].Value)
	}
}
