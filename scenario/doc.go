// Package scenario reads scenario files and runs them against a device of
// a cloud: a timeline of faults to apply and clear, config and secret
// values to set and MQTT messages to inject, at given times or when
// something happens, and expectations judged on what the device and the
// application do. docs/scenarios.md is the file format's reference.
//
// Parse (or ParseFile) checks a file whole: every error names the file,
// the line and the field path ("s.yaml:12: timeline[2].apply.period: not a
// duration (want e.g. 500ms, 2s, 1m)"); fault parameters go through
// faults.ParseSpec, the parser the CLI and the REST API use too.
//
// Start runs a parsed scenario against a Target (the device's ID, the
// cloud's fault Injector, a ConfigSetter and an MQTTInjector). Time 0 is
// Start. The caller feeds the run with what happens:
//
//   - Observe: the cloud's observations (cloud.Options.Observe; a Relay
//     forwards them when the cloud is made before the run): requests,
//     publishes, subscribes, server log lines, the link going up and down;
//   - Stdout: the application's output lines;
//   - Status: system calls' statuses, by name ("MV_STATUS_PARAMETERFAULT");
//   - Exit or Killed: how the application ended.
//
// Fault starts and ends come from the Injector itself. The caller waits for
// Done (every expectation decided, with stop-when-met; or the scenario's
// duration) or for the application's exit, stops the application, and
// calls Finish, which clears the faults the scenario left in force, judges
// the open expectations and returns the Report: WriteSummary for people,
// WriteJUnit for CI.
//
// Time is Options.Clock's: the wall clock by default, or an emulated
// device's virtual clock ((*cloud.Server).VirtualDeviceClock, for a
// firmware image in deterministic mode). A clock with Hold (Holder) is
// held by the run from each timer's firing, observation and fault event
// until it has handled it, so a step's actions are done before the
// device's time moves on past it. The run takes that hold before Observe
// returns (or the Injector's callback): the device's time cannot move on
// in between because the cloud holds the clock until its
// Options.Observe has returned, and a fault event comes from the
// Injector while the clock advances or from an Apply. Stdout and Status
// hold nothing: the caller reads them from a pipe, after the fact.
//
// Two callers use it: mvnet run --scenario (the host runner, which feeds
// the application's stdout, the trace's statuses and its exit status) and
// Go tests of package device against an in-process cloud (Example).
package scenario
