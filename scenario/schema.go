package scenario

import (
	"regexp"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/faults"
)

// Version is the scenario schema version this package reads
// (docs/scenarios.md: "version: 1" is required).
const Version = 1

// Defaults of a scenario (docs/scenarios.md).
const (
	DefaultDuration = 60 * time.Second // duration: the run's limit
)

// Scenario is a parsed scenario file. Parse and ParseFile build it; every
// field has been checked, every pattern compiled.
type Scenario struct {
	File        string        // the file name errors and reports use
	Name        string        // name:, default the file's base name
	Duration    time.Duration // duration:, default DefaultDuration
	StopWhenMet bool          // stop-when-met:, default true
	Config      []Value       // config: set before the application starts
	Secrets     []Value       // secrets: likewise, in the secret store
	Faults      []Fault       // faults: in force from the start
	Timeline    []Step        // timeline:
	Expect      []Expectation // expect:
}

// Value is a config or secret value to set.
type Value struct {
	Key, Value string
	Scope      abi.ConfigKeyFetchScope // device (default) or account
	Store      abi.ConfigKeyFetchStore // config or secret
	Line       int
}

// Fault is a fault spec of a file, with where it was written.
type Fault struct {
	Spec faults.Spec
	Line int
}

// Step is one timeline entry: a trigger (At, or When) and its actions.
type Step struct {
	Name    string
	Line    int
	At      time.Duration // with HasAt: the time since the start
	HasAt   bool
	When    *Condition    // the event that fires the step (when HasAt is false)
	After   time.Duration // the delay between the trigger and the actions
	Every   bool          // fire on every match, not just the first
	Actions []Action
}

// ActionKind says what an Action does.
type ActionKind string

// The actions of a timeline step.
const (
	ActApply      ActionKind = "apply"       // apply Fault
	ActClear      ActionKind = "clear"       // clear faults of ClearKind, or those ClearStep applied
	ActSetConfig  ActionKind = "set-config"  // set Value in the config store
	ActSetSecret  ActionKind = "set-secret"  // set Value in the secret store
	ActMQTTInject ActionKind = "mqtt-inject" // deliver a message to the device's MQTT session
)

// Action is one thing a step does.
type Action struct {
	Kind      ActionKind
	Line      int
	Fault     faults.Spec // apply (announce-update is an apply of kind update)
	ClearKind faults.Kind // clear: KIND
	ClearStep string      // clear: {step: NAME}
	Value     Value       // set-config, set-secret
	Topic     string      // mqtt-inject
	Payload   []byte
	QoS       uint8
}

// ConditionKind says what a Condition watches.
type ConditionKind string

// The conditions triggers and expectations watch.
const (
	CondLog       ConditionKind = "log"       // a server log line (mvServerLog) matches Regexp
	CondStdout    ConditionKind = "stdout"    // an application stdout line matches Regexp
	CondRequest   ConditionKind = "request"   // an HTTP request's URL matches Pattern (and Method)
	CondPublish   ConditionKind = "publish"   // an MQTT publish to a topic matching the filter Pattern
	CondSubscribe ConditionKind = "subscribe" // an MQTT subscribe to a filter matching Pattern
	CondNetwork   ConditionKind = "network"   // the link comes up (Network "connected") or goes down
	CondFault     ConditionKind = "fault"     // a fault of FaultKind starts or ends (Phase)
)

// Condition is an event pattern.
type Condition struct {
	Kind      ConditionKind
	Regexp    *regexp.Regexp // log, stdout
	Pattern   string         // request: a URL glob (faults.Match); publish, subscribe: an MQTT topic filter
	Method    string         // request: the method, upper case ("" = any)
	Network   string         // network: "connected" or "disconnected"
	FaultKind faults.Kind    // fault
	Phase     faults.Phase   // fault: faults.Started or faults.Ended
}

// ExpectKind says what an Expectation checks.
type ExpectKind string

// The expectations.
const (
	ExpectEvent    ExpectKind = "event"     // Cond happens at least Count times (within Within)
	ExpectNever    ExpectKind = "never"     // Cond does not happen (within Within)
	ExpectNoStatus ExpectKind = "no-status" // no system call returns Status
	ExpectExit     ExpectKind = "exit"      // the application exits with ExitCode
)

// Expectation is one expect entry.
type Expectation struct {
	Name     string
	Line     int
	Kind     ExpectKind
	Cond     *Condition    // event, never
	Count    int           // event: at least this many (default 1)
	Within   time.Duration // from the start; 0 = the whole run
	Status   string        // no-status: "MV_STATUS_..."
	ExitCode int           // exit
}
