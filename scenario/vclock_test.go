package scenario

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/vclock"
)

// vt0 is where the tests' virtual clocks start.
var vt0 = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)

// startVirtual starts src against tgt (Device dev, a fresh Injector) on the
// virtual clock v.
func startVirtual(t *testing.T, src string, v *vclock.Virtual, tgt Target) *Run {
	t.Helper()
	sc, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tgt.Device = dev
	run, err := Start(context.Background(), sc, tgt, Options{Clock: v})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// heldConfig is a ConfigSetter that notes, for each value set, the clock's
// time and how many holds were in force on it.
type heldConfig struct {
	v  *vclock.Virtual
	mu sync.Mutex
	at []time.Time
	// holds in force while the value was set
	holds []int
}

func (c *heldConfig) SetValue(_ context.Context, _ string, _ abi.ConfigKeyFetchScope, _ abi.ConfigKeyFetchStore, _, _ string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = append(c.at, c.v.Now())
	c.holds = append(c.holds, c.v.Holds())
	return nil
}

// On a device's virtual clock, a step at: 2s is carried out at virtual 2 s
// exactly, and while it is the clock is held: AdvanceTo — the device's time
// moving on — returns only once the step's fault is in force and its value
// set. The report's times are virtual.
func TestRunOnVirtualClockHoldsUntilStepDone(t *testing.T) {
	v := vclock.NewVirtual(vt0)
	inj := faults.New(fakeLinks{dev: &fakeLink{}})
	conf := &heldConfig{v: v}
	run := startVirtual(t, `version: 1
duration: 10s
timeline:
  - at: 2s
    name: slow link
    apply: {kind: latency, delay: 2s}
    set-config: {key: mode, value: fast}
    mqtt-inject: {topic: cmd/led, payload: "on"}
`, v, Target{Faults: inj, Config: conf,
		// mqtt-inject fails (no session): a failed step, stamped with its
		// virtual time.
		MQTT: MQTTInjectorFunc(func(string, string, []byte, uint8) (int, error) { return 0, nil })})
	defer run.Finish()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if err := v.AdvanceTo(ctx, vt0.Add(2*time.Second-time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	if n := len(inj.List(dev)); n != 0 {
		t.Fatalf("%d faults in force before 2s, want none", n)
	}
	if err := v.AdvanceTo(ctx, vt0.Add(3*time.Second)); err != nil {
		t.Fatal(err)
	}
	// No flush: AdvanceTo's return is the promise.
	var kinds []faults.Kind
	for _, f := range inj.List(dev) {
		kinds = append(kinds, f.Spec.Kind)
	}
	if !slices.Equal(kinds, []faults.Kind{faults.Latency}) {
		t.Fatalf("faults in force once the clock passed 2s: %v, want [latency]", kinds)
	}
	conf.mu.Lock()
	at, holds := conf.at, conf.holds
	conf.mu.Unlock()
	if len(at) != 1 || !at[0].Equal(vt0.Add(2*time.Second)) {
		t.Fatalf("set-config carried out at %v, want once at 2s", at)
	}
	if holds[0] < 1 {
		t.Fatal("set-config ran with no hold on the clock: the clock could have moved on before it")
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left on the clock after the step", v.Holds())
	}
	if got := run.Elapsed(); got != 3*time.Second {
		t.Fatalf("Elapsed = %v, want the virtual 3s", got)
	}

	// The duration is virtual too: Done once the clock reaches 10s.
	select {
	case <-run.Done():
		t.Fatal("done before the duration")
	default:
	}
	if err := v.AdvanceTo(ctx, vt0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-run.Done():
	case <-ctx.Done():
		t.Fatal("not done at the virtual duration")
	}
	rep := run.Finish()
	if len(rep.Failures) != 1 || rep.Failures[0].At != 2*time.Second {
		t.Fatalf("failures %+v, want the mqtt-inject at exactly 2s", rep.Failures)
	}
	if rep.Elapsed != 10*time.Second {
		t.Fatalf("report's elapsed %v, want the virtual 10s", rep.Elapsed)
	}
}

// gateConfig is a ConfigSetter that says when it is called and then waits
// for the gate.
type gateConfig struct{ entered, gate chan struct{} }

func (c gateConfig) SetValue(context.Context, string, abi.ConfigKeyFetchScope, abi.ConfigKeyFetchStore, string, string) error {
	close(c.entered)
	<-c.gate
	return nil
}

// An observation holds the clock until the run has handled it: a when:
// step it triggers is carried out before the device's time moves on. The
// cloud holds the device's clock only until Observe returns
// (cloud/observe.go), so Observe itself must have taken the run's hold by
// then: the test holds nothing of its own.
func TestRunOnVirtualClockHoldsForObservation(t *testing.T) {
	v := vclock.NewVirtual(vt0)
	inj := faults.New(fakeLinks{dev: &fakeLink{}})
	conf := gateConfig{entered: make(chan struct{}), gate: make(chan struct{})}
	run := startVirtual(t, `version: 1
timeline:
  - when: {log: "^ready"}
    apply: {kind: latency, delay: 1s}
    set-config: {key: mode, value: fast}
`, v, Target{Faults: inj, Config: conf})
	defer run.Finish()
	var open sync.Once
	openGate := func() { open.Do(func() { close(conf.gate) }) }
	defer openGate() // before Finish, which waits for the step
	run.Observe(cloud.Observation{Device: dev, Kind: cloud.ObserveServerLog, Text: "ready"})
	// The step waits at the gate, so the hold, if Observe took one, is
	// still there.
	if v.Holds() == 0 {
		t.Fatal("Observe returned without holding the clock: once the cloud releases its own hold, the device's time could move on before the step")
	}
	<-conf.entered // the step is being carried out
	if v.Holds() == 0 {
		t.Fatal("no hold on the clock while the step triggered by the observation runs: the device's time could move on first")
	}
	openGate()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := v.AdvanceTo(ctx, vt0.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n := len(inj.List(dev)); n != 1 {
		t.Fatalf("%d faults in force after the clock moved on, want the step's latency", n)
	}
	if v.Holds() != 0 {
		t.Fatalf("%d holds left", v.Holds())
	}
}
