package scenario

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
)

const (
	dev   = "UV00000000000000000000000000000001"
	other = "UV00000000000000000000000000000002"
)

// fakeClock is a Clock the test advances by hand.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// advance moves the clock d on, firing the timers due in time order.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		sort.SliceStable(c.timers, func(a, b int) bool { return c.timers[a].at.Before(c.timers[b].at) })
		var due *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) {
				due = t
				break
			}
		}
		if due == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		due.stopped = true
		c.now = due.at
		c.mu.Unlock()
		due.f()
	}
}

// fakeLink is a device link the Injector acts on.
type fakeLink struct {
	mu      sync.Mutex
	drops   int
	updates []string
}

func (l *fakeLink) Drop() { l.mu.Lock(); l.drops++; l.mu.Unlock() }
func (l *fakeLink) AnnounceUpdate(d string) {
	l.mu.Lock()
	l.updates = append(l.updates, d)
	l.mu.Unlock()
}
func (l *fakeLink) CloseChannel(ch uint32, _ abi.ClosureReason) error {
	return fmt.Errorf("channel %d: %w", ch, faults.ErrUnknownChannel)
}

type fakeLinks map[string]*fakeLink

func (m fakeLinks) Link(id string) (faults.Link, bool) {
	l, ok := m[id]
	if !ok {
		return nil, false
	}
	return l, true
}

type injected struct {
	device, topic string
	payload       []byte
	qos           uint8
}

// rig is a run against a fake device with a fake clock.
type rig struct {
	t     *testing.T
	clock *fakeClock
	inj   *faults.Injector
	link  *fakeLink
	conf  *MemConfig
	mu    sync.Mutex
	mqtt  []injected
	run   *Run
}

func start(t *testing.T, src string) *rig {
	t.Helper()
	sc, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	g := &rig{t: t, clock: newFakeClock(), link: &fakeLink{}, conf: &MemConfig{}}
	// Only dev is connected.
	g.inj = faults.New(fakeLinks{dev: g.link})
	tgt := Target{Device: dev, Faults: g.inj, Config: g.conf, MQTT: MQTTInjectorFunc(func(d, topic string, p []byte, q uint8) (int, error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.mqtt = append(g.mqtt, injected{d, topic, p, q})
		return 1, nil
	})}
	g.run, err = Start(context.Background(), sc, tgt, Options{Clock: g.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.run.Finish() })
	return g
}

// at advances the clock and lets the run handle what is due.
func (g *rig) at(d time.Duration) {
	g.clock.advance(d)
	g.run.flush()
}

func (g *rig) obs(o cloud.Observation) {
	if o.Device == "" {
		o.Device = dev
	}
	g.run.Observe(o)
	g.run.flush()
}

func (g *rig) kinds() []string {
	var out []string
	for _, f := range g.inj.List(dev) {
		out = append(out, string(f.Spec.Kind))
	}
	sort.Strings(out)
	return out
}

func (g *rig) done() bool {
	select {
	case <-g.run.Done():
		return true
	default:
		return false
	}
}

func results(rep *Report) string {
	var b strings.Builder
	for _, r := range rep.Results {
		if r.Passed {
			fmt.Fprintf(&b, "PASS %s @%v\n", r.Name, r.At)
		} else {
			fmt.Fprintf(&b, "FAIL %s @%v — %s\n", r.Name, r.At, r.Why)
		}
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(&b, "STEP %s :%d @%v — %v\n", f.Step, f.Line, f.At, f.Err)
	}
	return b.String()
}

// TestRunTimeline: faults in force from the start, a when: step with
// after:, an at: step clearing what a step applied, values and MQTT
// messages set at a time, and every: steps.
func TestRunTimeline(t *testing.T) {
	g := start(t, `version: 1
config:
  - {key: url, value: "https://api.test/data"}
secrets:
  - {key: token, value: s3cret, scope: account}
faults:
  - {kind: latency, delay: 50ms}
timeline:
  - name: drop mid-request
    when: {request: "https://api.test/*", method: GET}
    after: 100ms
    apply: {kind: link-drop}
  - at: 10s
    clear: {step: drop mid-request}
  - at: 12s
    set-config: {key: mode, value: fast}
    mqtt-inject: {topic: cmd/led, payload: "on", qos: 1}
  - when: {stdout: "^tick"}
    every: true
    announce-update: "1.2.3"
`)
	ctx := context.Background()
	if v, ok, _ := g.conf.Fetch(ctx, dev, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "url"); !ok || string(v) != "https://api.test/data" {
		t.Errorf("config url before the start: %q %v", v, ok)
	}
	if v, ok, _ := g.conf.Fetch(ctx, other, abi.ConfigKeyFetchScopeAccount, abi.ConfigKeyFetchStoreSecret, "token"); !ok || string(v) != "s3cret" {
		t.Errorf("account secret token: %q %v", v, ok)
	}
	if got := g.kinds(); !slices.Equal(got, []string{"latency"}) {
		t.Fatalf("faults at the start: %v, want [latency]", got)
	}
	// A request elsewhere, or by another device, or a POST, fires nothing.
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://other.test/x"})
	g.obs(cloud.Observation{Device: other, Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://api.test/x"})
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "POST", URL: "https://api.test/x"})
	g.at(time.Second)
	if got := g.kinds(); !slices.Equal(got, []string{"latency"}) {
		t.Fatalf("faults after other requests: %v, want [latency]", got)
	}
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://api.test/data"})
	g.at(99 * time.Millisecond)
	if got := g.kinds(); !slices.Equal(got, []string{"latency"}) {
		t.Fatalf("faults 99ms after the request: %v, want [latency] (after: 100ms)", got)
	}
	g.at(time.Millisecond)
	if got := g.kinds(); !slices.Equal(got, []string{"latency", "link-drop"}) {
		t.Fatalf("faults 100ms after the request: %v, want [latency link-drop]", got)
	}
	// Fires once: a second request applies nothing more.
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://api.test/data"})
	g.at(time.Second)
	if n := len(g.inj.List(dev)); n != 2 {
		t.Fatalf("%d faults after a second request, want 2", n)
	}
	g.at(10*time.Second - g.run.Elapsed())
	if got := g.kinds(); !slices.Equal(got, []string{"latency"}) {
		t.Fatalf("faults at 10s: %v, want [latency] (link-drop cleared)", got)
	}
	g.at(2 * time.Second)
	if v, ok, _ := g.conf.Fetch(ctx, dev, abi.ConfigKeyFetchScopeDevice, abi.ConfigKeyFetchStoreConfig, "mode"); !ok || string(v) != "fast" {
		t.Errorf("config mode at 12s: %q %v", v, ok)
	}
	g.mu.Lock()
	if len(g.mqtt) != 1 || !(g.mqtt[0].device == dev && g.mqtt[0].topic == "cmd/led" && string(g.mqtt[0].payload) == "on" && g.mqtt[0].qos == 1) {
		t.Errorf("injected %+v", g.mqtt)
	}
	g.mu.Unlock()
	for range 3 {
		g.run.Stdout("tick")
	}
	g.run.Stdout("tock")
	g.run.flush()
	g.link.mu.Lock()
	if !slices.Equal(g.link.updates, []string{"1.2.3", "1.2.3", "1.2.3"}) {
		t.Errorf("updates announced %q, want 3 (every: true)", g.link.updates)
	}
	g.link.mu.Unlock()
	// Finish clears what the scenario left in force.
	rep := g.run.Finish()
	if n := len(g.inj.List(dev)); n != 0 {
		t.Errorf("%d faults in force after Finish, want 0", n)
	}
	if rep.Failed() || len(rep.Failures) != 0 {
		t.Errorf("report:\n%s", results(rep))
	}
}

// TestRunExpectations: each kind of expectation passing and failing, with
// the WHY texts a user reads.
func TestRunExpectations(t *testing.T) {
	g := start(t, `version: 1
duration: 30s
expect:
  - request: {url: "https://api.test/*", method: GET, count: 2}
  - request: {url: "https://api.test/*", count: 3}
  - network: disconnected
  - network: connected
    within: 1s
  - log: "retrying"
    within: 2s
  - log: "gave up"
  - stdout: "^done"
  - publish: {topic: "sensors/#"}
  - subscribe: {topic: "cmd/#", count: 2}
  - subscribe: {topic: "cfg/+"}
  - no-status: PARAMETERFAULT
  - no-status: MV_STATUS_TIMENOTSET
  - never: {request: "https://api.test/admin*"}
  - never: {log: "panic"}
    within: 5s
  - fault: link-drop started
  - exit: 0
    name: clean exit
`)
	g.obs(cloud.Observation{Kind: cloud.ObserveLinkUp})
	g.at(500 * time.Millisecond)
	g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "starting"})
	g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "fetching"})
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://api.test/a"})
	g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://api.test/b"})
	g.obs(cloud.Observation{Kind: cloud.ObserveMQTTPublish, Topic: "sensors/t/1"})
	g.obs(cloud.Observation{Kind: cloud.ObserveMQTTSubscribe, Filters: []string{"cmd/#"}})
	g.obs(cloud.Observation{Kind: cloud.ObserveMQTTSubscribe, Filters: []string{"x", "cmd/led"}})
	g.obs(cloud.Observation{Kind: cloud.ObserveMQTTSubscribe, Filters: []string{"cfg/a/b"}})
	g.run.Status("mvGetWallTime", "MV_STATUS_TIMENOTSET")
	g.run.Status("mvGetWallTime", "MV_STATUS_TIMENOTSET")
	g.at(2 * time.Second) // past "retrying"'s within
	g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "retrying"})
	g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "panic: late"}) // after 5s? no: at 2.5s
	g.obs(cloud.Observation{Kind: cloud.ObserveLinkDown})
	g.run.Stdout("done")
	g.run.Exit(3)
	g.run.flush()
	if g.done() {
		t.Fatal("Done before every expectation is decided")
	}
	rep := g.run.Finish()
	want := `PASS request GET https://api.test/* ×2 @500ms
FAIL request https://api.test/* ×3 @2.5s — saw 2 of 3 requests to https://api.test/* during the run (2.5s); last requests: "GET https://api.test/a", "GET https://api.test/b"
PASS network disconnected @2.5s
PASS network connected within 1s @0s
FAIL log "retrying" within 2s @2s — no server log line matched "retrying" within 2s; last lines: "starting", "fetching"
FAIL log "gave up" @2.5s — no server log line matched "gave up" during the run (2.5s); last lines: "fetching", "retrying", "panic: late"
PASS stdout "^done" @2.5s
PASS publish sensors/# @500ms
PASS subscribe cmd/# ×2 @500ms
FAIL subscribe cfg/+ @2.5s — saw 0 of 1 subscribes to cfg/+ during the run (2.5s); last filters subscribed: "cmd/#", "x, cmd/led", "cfg/a/b"
PASS no-status MV_STATUS_PARAMETERFAULT @2.5s
FAIL no-status MV_STATUS_TIMENOTSET @500ms — mvGetWallTime returned MV_STATUS_TIMENOTSET at 500ms
PASS never request https://api.test/admin* @2.5s
FAIL never log "panic" within 5s @2.5s — it happened at 2.5s: server log "panic: late"
FAIL fault link-drop started @2.5s — no link-drop fault started during the run (2.5s)
FAIL clean exit @2.5s — the application exited with status 3 at 2.5s
`
	if got := results(rep); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
	if !rep.Failed() {
		t.Error("Failed() = false")
	}
}

// TestRunStopWhenMet: Done closes once every expectation is decided;
// never: and no-status: do not hold the run open, and a run with
// stop-when-met: false goes on until its duration.
func TestRunStopWhenMet(t *testing.T) {
	const exp = `expect:
  - stdout: "^done"
  - never: {stdout: "panic"}
  - no-status: PARAMETERFAULT
`
	g := start(t, "version: 1\n"+exp)
	g.run.Stdout("working")
	g.run.flush()
	if g.done() {
		t.Fatal("Done before stdout ^done")
	}
	g.run.Stdout("done")
	g.run.flush()
	if !g.done() {
		t.Fatal("Done not closed once every expectation is decided")
	}
	rep := g.run.Finish()
	if rep.Failed() {
		t.Errorf("report:\n%s", results(rep))
	}

	g = start(t, "version: 1\nduration: 10s\nstop-when-met: false\n"+exp)
	g.run.Stdout("done")
	g.at(9 * time.Second)
	if g.done() {
		t.Fatal("Done before the duration with stop-when-met: false")
	}
	g.at(time.Second)
	if !g.done() {
		t.Fatal("Done not closed at the duration")
	}
}

// TestRunDuration: the duration closes Done; an application killed then
// fails exit:, and open expectations fail at Finish.
func TestRunDuration(t *testing.T) {
	g := start(t, "version: 1\nduration: 5s\nexpect:\n  - exit: 0\n  - never: {stdout: x}\n")
	g.at(4 * time.Second)
	if g.done() {
		t.Fatal("Done before the duration")
	}
	g.at(time.Second)
	if !g.done() {
		t.Fatal("Done not closed at the duration")
	}
	g.run.Killed("killed by the duration limit (5s)")
	rep := g.run.Finish()
	want := "FAIL exit 0 @5s — the application did not exit: killed by the duration limit (5s)\nPASS never stdout \"x\" @5s\n"
	if got := results(rep); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
}

// TestRunFailedSteps: an action that cannot be carried out is a failed
// step; the run goes on with the next actions and steps.
func TestRunFailedSteps(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(`version: 1
timeline:
  - name: close
    at: 1s
    apply: {kind: channel-close, channel: 3}
    set-config: {key: a, value: b}
  - at: 2s
    mqtt-inject: {topic: cmd/led}
  - at: 3s
    apply: {kind: link-drop}
expect:
  - fault: link-drop started
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	inj := faults.New(fakeLinks{}) // the device is not connected
	run, err := Start(context.Background(), sc, Target{Device: dev, Faults: inj}, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(3 * time.Second)
	run.flush()
	rep := run.Finish()
	want := `PASS fault link-drop started @3s
STEP close :5 @1s — apply channel-close channel=3: faults: channel-close: device UV00000000000000000000000000000001: device is not connected
STEP close :6 @1s — set config "a": this run has no config store to set it in
STEP step 2 :8 @2s — mqtt-inject cmd/led: this run cannot inject MQTT messages
`
	if got := results(rep); got != want {
		t.Errorf("results:\n%s\nwant:\n%s", got, want)
	}
	if !rep.Failed() {
		t.Error("Failed() = false with failed steps")
	}
	if n := len(inj.List(dev)); n != 0 {
		t.Errorf("%d faults in force after Finish, want 0", n)
	}
	var sum bytes.Buffer
	if err := rep.WriteSummary(&sum); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sum.String(), "  FAIL step close (t.yaml:5) at 1s — apply channel-close channel=3: faults: channel-close: device UV00000000000000000000000000000001: device is not connected\n") ||
		!strings.Contains(sum.String(), "1 of 1 expectations passed, 3 steps failed\n") {
		t.Errorf("summary:\n%s", sum.String())
	}
}

func TestStartBadTarget(t *testing.T) {
	sc := &Scenario{Duration: time.Second}
	if _, err := Start(context.Background(), sc, Target{Faults: faults.New(fakeLinks{})}, Options{}); err == nil {
		t.Error("Start with no device: no error")
	}
	if _, err := Start(context.Background(), sc, Target{Device: dev}, Options{}); err == nil {
		t.Error("Start with no injector: no error")
	}
	_ = errors.New
}

// TestRunTriggers: each kind of when: event fires its step on a matching
// event of the device, and not on a near miss.
func TestRunTriggers(t *testing.T) {
	o := func(k cloud.ObservationKind) cloud.Observation { return cloud.Observation{Device: dev, Kind: k} }
	for _, tc := range []struct {
		when       string
		miss, feed func(g *rig)
	}{
		{`{log: "^retry"}`,
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "no retry"}) },
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveServerLog, Text: "retrying"}) }},
		{`{stdout: "ready$"}`,
			func(g *rig) { g.run.Stdout("ready?"); g.run.flush() },
			func(g *rig) { g.run.Stdout("all ready"); g.run.flush() }},
		{`{publish: "sensors/+/temp"}`,
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveMQTTPublish, Topic: "sensors/a/b/temp"}) },
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveMQTTPublish, Topic: "sensors/a/temp"}) }},
		{`{subscribe: "cmd/#"}`,
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveMQTTSubscribe, Filters: []string{"cfg/#"}}) },
			func(g *rig) { g.obs(cloud.Observation{Kind: cloud.ObserveMQTTSubscribe, Filters: []string{"cmd/+"}}) }},
		{`{network: disconnected}`,
			func(g *rig) { g.obs(o(cloud.ObserveLinkUp)) },
			func(g *rig) { g.obs(o(cloud.ObserveLinkDown)) }},
		{`{network: connected}`,
			func(g *rig) { g.obs(cloud.Observation{Device: other, Kind: cloud.ObserveLinkUp}) },
			func(g *rig) { g.obs(o(cloud.ObserveLinkUp)) }},
		{`{request: {url: "https://a.test/*", method: post}}`,
			func(g *rig) {
				g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "GET", URL: "https://a.test/x"})
			},
			func(g *rig) {
				g.obs(cloud.Observation{Kind: cloud.ObserveHTTPRequest, Method: "POST", URL: "https://a.test/x"})
			}},
		{`{fault: latency ended}`,
			func(g *rig) {
				_, _ = g.inj.Apply(dev, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Millisecond)})
				g.run.flush()
			},
			func(g *rig) { _, _ = g.inj.ClearAll(dev, faults.Latency); g.run.flush() }},
	} {
		t.Run(tc.when, func(t *testing.T) {
			g := start(t, "version: 1\ntimeline:\n  - when: "+tc.when+"\n    announce-update: x\n")
			updates := func() int {
				g.link.mu.Lock()
				defer g.link.mu.Unlock()
				return len(g.link.updates)
			}
			tc.miss(g)
			if n := updates(); n != 0 {
				t.Fatalf("a near miss fired the step (%d updates)", n)
			}
			tc.feed(g)
			if n := updates(); n != 1 {
				t.Fatalf("%d updates after the event, want 1", n)
			}
		})
	}
}

// TestRunObservationsDropped: when the cloud dropped observations
// (cloud.ObserveDropped), an unmet expectation says so, and a never: on
// observations cannot pass (nobody can tell it was not broken); stdout
// expectations are not concerned.
func TestRunObservationsDropped(t *testing.T) {
	g := start(t, "version: 1\nduration: 5s\nexpect:\n  - log: ready\n  - never: {log: panic}\n  - never: {stdout: x}\n")
	g.obs(cloud.Observation{Kind: cloud.ObserveDropped, Dropped: 7})
	g.at(5 * time.Second)
	rep := g.run.Finish()
	got := results(rep)
	for _, want := range []string{
		`FAIL log "ready" @5s — no server log line matched "ready" during the run (5s); there was none at all; cannot tell: the cloud dropped 7 observations`,
		`FAIL never log "panic" @5s — cannot tell: the cloud dropped 7 observations`,
		`PASS never stdout "x" @5s`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("results:\n%s\nwant a line with: %s", got, want)
		}
	}
}
