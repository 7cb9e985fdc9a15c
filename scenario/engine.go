package scenario

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/mqttbridge"
)

// Target is what a run acts on: one device of a cloud.
type Target struct {
	Device string           // the device's ID
	Faults *faults.Injector // the cloud's injector ((*cloud.Server).Faults())
	// Config sets config and secret values (config:, secrets:, set-config:,
	// set-secret:). Nil: those fail (as failed steps). MemConfig is one for
	// Go tests; the host runner sets values in its cloud's store.
	Config ConfigSetter
	// MQTT delivers mqtt-inject messages to the device's MQTT session. Nil:
	// mqtt-inject fails (as a failed step).
	MQTT MQTTInjector
}

// ConfigSetter sets a config or secret value for a device.
type ConfigSetter interface {
	SetValue(ctx context.Context, deviceID string, scope abi.ConfigKeyFetchScope, store abi.ConfigKeyFetchStore, key, value string) error
}

// MQTTInjector delivers a message, as if from the broker, to the device's
// MQTT sessions subscribed to topic, and says to how many.
type MQTTInjector interface {
	InjectMQTT(deviceID, topic string, payload []byte, qos uint8) (int, error)
}

// MQTTInjectorFunc adapts a function to MQTTInjector.
type MQTTInjectorFunc func(deviceID, topic string, payload []byte, qos uint8) (int, error)

// InjectMQTT calls f.
func (f MQTTInjectorFunc) InjectMQTT(deviceID, topic string, payload []byte, qos uint8) (int, error) {
	return f(deviceID, topic, payload, qos)
}

// Clock is the run's time source: at: steps, after:, within: and duration:
// are timers of it. The default is the real clock; tests drive a fake one.
//
// A Clock that also has Hold (Holder: vclock.Clock, e.g. an emulated
// device's virtual clock, (*cloud.Server).VirtualDeviceClock) is held from
// a timer's firing until the run has handled that event — the step's
// actions carried out: its fault applied, its value set, its message
// injected — so that the clock's owner, which advances it (the device's
// time moving on), finds them done at the step's own instant.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f (on any goroutine) once d has passed; stop cancels
	// it.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Holder is a Clock whose advance can be held (vclock.Clock): Hold keeps
// it where it is until release is called.
type Holder interface {
	Hold() (release func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Options tune a run.
type Options struct {
	Clock Clock // default: the real clock
	// Logf, if set, hears what the run does: steps fired, actions failed,
	// expectations decided (for a runner's transcript).
	Logf func(format string, args ...any)
}

// Run is a scenario running against a Target: feed it what happens
// (Observe, Stdout, Status, Exit, Killed), wait on Done, then Finish.
type Run struct {
	sc    *Scenario
	tgt   Target
	clock Clock
	logf  func(string, ...any)
	start time.Time
	ctx   context.Context

	mu       sync.Mutex
	cond     *sync.Cond
	queue    []event
	finished bool
	stops    []func() bool
	done     chan struct{}
	doneOnce sync.Once
	loopDone chan struct{}
	unsub    func()

	// Owned by the loop goroutine (and by Finish once the loop is over).
	fired    []bool              // per step: triggered (at: armed) at least once
	ran      []bool              // per step: its actions carried out at least once
	applied  map[string][]string // step name -> fault IDs it applied
	inForce  map[string]bool     // fault IDs the scenario applied still in force
	exps     []*expState         //
	failures []StepFailure       //
	linkUps  int                 // times the device's link came up, for WHY texts
	lastLog  []string            // the last server log lines
	lastOut  []string            // the last stdout lines
	lastReq  []string            // the last requests ("GET url")
	lastPub  []string            // the last topics published
	lastSub  []string            // the last filters subscribed
	dropped  int                 // observations the cloud dropped (cloud.ObserveDropped)
	exited   *exitInfo
	ended    time.Duration
	finish   sync.Once
	rep      *Report
	now      time.Duration // the time of the event being handled
}

type exitInfo struct {
	code   int
	killed string // why it was killed, or ""
	at     time.Duration
}

// StepFailure is a timeline step (or an initial config:, secrets: or
// faults: entry) that could not be carried out.
type StepFailure struct {
	Step string        // the step's name ("config[0]" for initial entries)
	Line int           // its line in the file
	At   time.Duration // since the start
	Err  error
}

// The events the loop handles.
type eventKind int

const (
	evObservation eventKind = iota
	evStdout
	evStatus
	evFault
	evExit
	evFire     // step fires (its after has passed)
	evDeadline // an expectation's within has passed
	evDuration // the run's duration has passed
	evSync     // flush: handled is closed once the events before it are
)

type event struct {
	kind   eventKind
	at     time.Duration
	obs    cloud.Observation
	text   string // stdout line; status: the call's name
	stat   string // status
	fault  faults.Event
	exit   exitInfo
	index  int // evFire: the step; evDeadline: the expectation
	synced chan struct{}
	// release, on a Holder clock, lets the clock go on once the event
	// is handled (or dropped): see pushHeld.
	release func()
}

// Start starts sc against t: time 0 is now. It sets the config and secret
// values and applies the faults of the scenario, then arms the timeline;
// what of that fails is a StepFailure in the report, not an error. The
// error is for an unusable Target. The caller feeds the run with events,
// waits on Done (or the application's exit) and calls Finish.
func Start(ctx context.Context, sc *Scenario, t Target, o Options) (*Run, error) {
	if t.Device == "" {
		return nil, errors.New("scenario: Target.Device is empty")
	}
	if t.Faults == nil {
		return nil, errors.New("scenario: Target.Faults is nil")
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	r := &Run{
		sc: sc, tgt: t, clock: o.Clock, logf: o.Logf, ctx: ctx,
		done: make(chan struct{}), loopDone: make(chan struct{}),
		fired: make([]bool, len(sc.Timeline)), ran: make([]bool, len(sc.Timeline)), applied: map[string][]string{}, inForce: map[string]bool{},
	}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	r.cond = sync.NewCond(&r.mu)
	for i := range sc.Expect {
		r.exps = append(r.exps, &expState{e: &sc.Expect[i]})
	}
	r.start = r.clock.Now()
	r.unsub = t.Faults.Subscribe(func(e faults.Event) {
		if e.Fault.Device == t.Device {
			r.pushHeld(event{kind: evFault, fault: e})
		}
	})

	// Before the application starts: values, then faults.
	for i, v := range sc.Config {
		r.setValue(fmt.Sprintf("config[%d]", i), v)
	}
	for i, v := range sc.Secrets {
		r.setValue(fmt.Sprintf("secrets[%d]", i), v)
	}
	for i, f := range sc.Faults {
		r.apply(fmt.Sprintf("faults[%d]", i), f.Line, f.Spec)
	}

	r.mu.Lock()
	for i, st := range sc.Timeline {
		if st.HasAt {
			r.armLocked(st.At+st.After, event{kind: evFire, index: i})
		}
	}
	for i, e := range sc.Expect {
		if e.Within > 0 {
			r.armLocked(e.Within, event{kind: evDeadline, index: i})
		}
	}
	r.armLocked(sc.Duration, event{kind: evDuration})
	r.mu.Unlock()
	go r.loop()
	if ctx != nil {
		go func() {
			select {
			case <-ctx.Done():
				r.closeDone()
			case <-r.loopDone:
			}
		}()
	}
	return r, nil
}

// Done is closed when the run can end: every expectation is decided (with
// stop-when-met), the duration has passed, or the context is done.
func (r *Run) Done() <-chan struct{} { return r.done }

// Elapsed returns the time since the run's start.
func (r *Run) Elapsed() time.Duration { return r.clock.Now().Sub(r.start) }

// Observe takes what the device did through the cloud; give it to
// cloud.Options.Observe (it ignores other devices and never blocks). On a
// Holder clock it holds the clock until the run has handled o.
func (r *Run) Observe(o cloud.Observation) {
	if o.Device == r.tgt.Device {
		r.pushHeld(event{kind: evObservation, obs: o})
	}
}

// Stdout takes a line the application wrote to its standard output.
func (r *Run) Stdout(line string) { r.push(event{kind: evStdout, text: line}) }

// Status takes a system call's status as the trace has them: the call's
// name ("mvSendHttpRequest") and the status ("MV_STATUS_PARAMETERFAULT").
func (r *Run) Status(call, status string) {
	r.push(event{kind: evStatus, text: call, stat: status})
}

// Exit takes the application's exit status.
func (r *Run) Exit(code int) { r.push(event{kind: evExit, exit: exitInfo{code: code}}) }

// Killed says the application was killed rather than exiting (why: e.g.
// "killed by the duration limit").
func (r *Run) Killed(why string) {
	if why == "" {
		why = "killed"
	}
	r.push(event{kind: evExit, exit: exitInfo{killed: why}})
}

// flush waits until the events fed so far are handled (or the run is
// finished).
func (r *Run) flush() {
	c := make(chan struct{})
	r.push(event{kind: evSync, synced: c})
	select {
	case <-c:
	case <-r.loopDone:
	}
}

func (r *Run) push(e event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		if e.release != nil {
			e.release()
		}
		return
	}
	e.at = r.clock.Now().Sub(r.start)
	r.queue = append(r.queue, e)
	r.cond.Signal()
}

// pushHeld is push for what the device's clock sets in motion (a timer of
// the run, an observation, a fault starting or ending): on a Holder clock
// it holds the clock until the loop has handled e, so that a when: step it
// triggers is carried out before the device's time moves on. It takes the
// hold before it returns, and its callers hold the clock until then: the
// cloud until its Options.Observe has returned (cloud/observe.go), the
// clock's own timers while AdvanceTo runs them (the run's, and the fault
// injector's, whose events come through the Injector's callback).
func (r *Run) pushHeld(e event) {
	if h, ok := r.clock.(Holder); ok {
		e.release = h.Hold()
	}
	r.push(e)
}

// armLocked pushes e once d (since the start) has passed. On a Holder
// clock the timer holds it until the loop has handled e.
func (r *Run) armLocked(d time.Duration, e event) {
	if r.finished {
		return
	}
	d -= r.clock.Now().Sub(r.start)
	r.stops = append(r.stops, r.clock.AfterFunc(max(d, 0), func() { r.pushHeld(e) }))
}

func (r *Run) closeDone() { r.doneOnce.Do(func() { close(r.done) }) }

func (r *Run) loop() {
	defer close(r.loopDone)
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && !r.finished {
			r.cond.Wait()
		}
		if len(r.queue) == 0 {
			r.mu.Unlock()
			return
		}
		e := r.queue[0]
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.handle(e)
		if e.release != nil {
			e.release()
		}
	}
}

func (r *Run) handle(e event) {
	r.now = e.at
	switch e.kind {
	case evSync:
		close(e.synced)
		return
	case evFire:
		r.fire(e.index, e.at)
	case evDeadline:
		r.deadline(r.exps[e.index], e.at)
	case evDuration:
		r.logf("scenario: duration %v reached", r.sc.Duration)
		r.closeDone()
		return
	case evExit:
		x := e.exit
		x.at = e.at
		r.exited = &x
	case evFault:
		if e.fault.Phase == faults.Ended {
			delete(r.inForce, e.fault.Fault.ID)
		}
	}
	r.note(e)
	// Triggers.
	for i := range r.sc.Timeline {
		st := &r.sc.Timeline[i]
		if st.HasAt || (r.fired[i] && !st.Every) || !matches(st.When, e) {
			continue
		}
		r.fired[i] = true
		if st.After > 0 {
			r.mu.Lock()
			r.armLocked(e.at+st.After, event{kind: evFire, index: i})
			r.mu.Unlock()
		} else {
			r.fire(i, e.at)
		}
	}
	for _, x := range r.exps {
		r.observe(x, e)
	}
	if r.sc.StopWhenMet && r.allDecided() {
		r.closeDone()
	}
}

// fire carries out step i's actions.
func (r *Run) fire(i int, at time.Duration) {
	st := &r.sc.Timeline[i]
	r.fired[i], r.ran[i] = true, true
	r.logf("scenario: %v: %s", at.Round(time.Millisecond), st.Name)
	for _, a := range st.Actions {
		var err error
		switch a.Kind {
		case ActApply:
			r.apply(st.Name, a.Line, a.Fault)
			continue
		case ActClear:
			err = r.clear(a)
		case ActSetConfig, ActSetSecret:
			r.setValue(st.Name, a.Value)
			continue
		case ActMQTTInject:
			err = r.inject(a)
		}
		if err != nil {
			r.fail(st.Name, a.Line, err)
		}
	}
}

func (r *Run) fail(step string, line int, err error) {
	at := r.now
	r.failures = append(r.failures, StepFailure{Step: step, Line: line, At: at, Err: err})
	r.logf("scenario: %v: %s failed: %v", at.Round(time.Millisecond), step, err)
}

func (r *Run) apply(step string, line int, s faults.Spec) {
	f, err := r.tgt.Faults.Apply(r.tgt.Device, s)
	if err != nil {
		r.fail(step, line, fmt.Errorf("apply %s: %w", s, err))
		return
	}
	r.applied[step] = append(r.applied[step], f.ID)
	if !s.Kind.OneShot() {
		r.inForce[f.ID] = true
	}
}

func (r *Run) clear(a Action) error {
	if a.ClearStep != "" {
		ids := r.applied[a.ClearStep]
		if len(ids) == 0 {
			return fmt.Errorf("clear: step %q has applied no fault", a.ClearStep)
		}
		for _, id := range ids {
			if err := r.tgt.Faults.Clear(r.tgt.Device, id); err != nil && !errors.Is(err, faults.ErrUnknownFault) {
				return fmt.Errorf("clear %s: %w", id, err)
			}
			delete(r.inForce, id)
		}
		return nil
	}
	if _, err := r.tgt.Faults.ClearAll(r.tgt.Device, a.ClearKind); err != nil {
		return fmt.Errorf("clear %s: %w", a.ClearKind, err)
	}
	return nil
}

func (r *Run) setValue(step string, v Value) {
	what := "config"
	if v.Store == abi.ConfigKeyFetchStoreSecret {
		what = "secret"
	}
	if r.tgt.Config == nil {
		r.fail(step, v.Line, fmt.Errorf("set %s %q: this run has no config store to set it in", what, v.Key))
		return
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if err := r.tgt.Config.SetValue(ctx, r.tgt.Device, v.Scope, v.Store, v.Key, v.Value); err != nil {
		r.fail(step, v.Line, fmt.Errorf("set %s %q: %w", what, v.Key, err))
	}
}

func (r *Run) inject(a Action) error {
	if r.tgt.MQTT == nil {
		return fmt.Errorf("mqtt-inject %s: this run cannot inject MQTT messages", a.Topic)
	}
	n, err := r.tgt.MQTT.InjectMQTT(r.tgt.Device, a.Topic, a.Payload, a.QoS)
	if err != nil {
		return fmt.Errorf("mqtt-inject %s: %w", a.Topic, err)
	}
	if n == 0 {
		return fmt.Errorf("mqtt-inject %s: no MQTT session of the device is subscribed to it", a.Topic)
	}
	return nil
}

// matches reports whether event e is one c describes.
func matches(c *Condition, e event) bool {
	if c == nil {
		return false
	}
	switch e.kind {
	case evStdout:
		return c.Kind == CondStdout && c.Regexp.MatchString(e.text)
	case evFault:
		return c.Kind == CondFault && e.fault.Fault.Spec.Kind == c.FaultKind && e.fault.Phase == c.Phase
	case evObservation:
	default:
		return false
	}
	o := e.obs
	switch c.Kind {
	case CondLog:
		return o.Kind == cloud.ObserveServerLog && c.Regexp.MatchString(o.Text)
	case CondRequest:
		return o.Kind == cloud.ObserveHTTPRequest && faults.Match(c.Pattern, o.URL) && (c.Method == "" || c.Method == o.Method)
	case CondPublish:
		return o.Kind == cloud.ObserveMQTTPublish && mqttbridge.MatchTopic(c.Pattern, o.Topic)
	case CondSubscribe:
		if o.Kind != cloud.ObserveMQTTSubscribe {
			return false
		}
		for _, f := range o.Filters {
			if f == c.Pattern || mqttbridge.MatchTopic(c.Pattern, f) {
				return true
			}
		}
	case CondNetwork:
		return (o.Kind == cloud.ObserveLinkUp && c.Network == "connected") || (o.Kind == cloud.ObserveLinkDown && c.Network == "disconnected")
	}
	return false
}

// Finish ends the run: it stops the timeline, handles the events already
// fed, clears the faults the scenario applied that are still in force,
// judges the expectations still open, and returns the report. Call it once
// the application has exited (after Exit or Killed) or Done is closed.
// Later calls return the same report.
func (r *Run) Finish() *Report {
	r.finish.Do(r.finishOnce)
	return r.rep
}

func (r *Run) finishOnce() {
	r.mu.Lock()
	r.finished = true
	for _, stop := range r.stops {
		stop()
	}
	r.cond.Signal()
	r.mu.Unlock()
	<-r.loopDone
	r.unsub()
	r.closeDone()
	r.ended = r.Elapsed()
	r.now = r.ended
	for id := range r.inForce {
		if err := r.tgt.Faults.Clear(r.tgt.Device, id); err != nil && !errors.Is(err, faults.ErrUnknownFault) {
			r.fail("cleanup", 0, fmt.Errorf("clear %s: %w", id, err))
		}
	}
	for _, x := range r.exps {
		r.judgeAtEnd(x)
	}
	r.rep = r.report()
}

// Relay forwards the cloud's observations to a run that starts after the
// cloud: give Relay.Observe to cloud.Options.Observe, then Set the run.
// Observations before Set, or after Set(nil), are dropped. The zero value
// is ready.
type Relay struct{ run atomic.Pointer[Run] }

// Set makes r forward to run (nil: to nothing).
func (r *Relay) Set(run *Run) { r.run.Store(run) }

// Observe forwards o to the run, if any.
func (r *Relay) Observe(o cloud.Observation) {
	if run := r.run.Load(); run != nil {
		run.Observe(o)
	}
}
