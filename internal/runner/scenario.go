package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/scenario"
	"github.com/mvnet/mvnet/scenario/cassette"
)

// StatusError is a run's outcome that is not the application's own exit
// status (mvnet run exits with Code): a scenario whose expectations or
// steps failed, a replay that met requests not in its cassette (1), a
// scenario file that does not parse (2). Msg, if set, is what to print;
// the report has already been printed otherwise.
type StatusError struct {
	Code int
	Msg  string
}

func (e *StatusError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("mvnet run: exit status %d", e.Code)
}

// ciMode reports whether the run tests the application (a scenario, a
// recording or a replay), which implies hosted mode.
func (o Options) ciMode() bool {
	return o.Scenario != "" || o.Record != "" || o.Replay != "" || o.JUnit != "" || o.RecordSecrets ||
		len(o.MatchHeaders) > 0 || o.MatchBody != "" || o.AllowRepeats
}

// runCI is Run with Scenario, Record or Replay: it hosts the cloud, plugs
// the cassette into its upstream, runs the scenario against the device and
// reports. The application's exit status is judged only by the scenario
// (an exit: expectation); Run's result is then a *StatusError or nil.
func runCI(ctx context.Context, o Options) error {
	if o.Record != "" && o.Replay != "" {
		return errors.New("--record and --replay together: record a cassette first, then replay it")
	}
	if o.RecordSecrets && o.Record == "" {
		return errors.New("--record-secrets needs --record")
	}
	if o.Replay == "" && (len(o.MatchHeaders) > 0 || o.MatchBody != "" || o.AllowRepeats) {
		return errors.New("--match-header, --match-body and --allow-repeats are replay's matching rules: they need --replay")
	}
	if o.JUnit != "" && o.Scenario == "" {
		return errors.New("--junit needs --scenario: the JUnit report is the scenario's expectations")
	}
	if o.Bundle != "" {
		return errors.New("--bundle joins a cloud that runs elsewhere; --scenario, --record and --replay host one: give one of them")
	}
	// The outputs are checked before anything starts: a path that cannot
	// be written would otherwise lose the run's results at its end.
	for _, out := range []struct{ flag, path string }{{"--record", o.Record}, {"--junit", o.JUnit}} {
		if err := checkWritable(out.path); err != nil {
			return fmt.Errorf("%s: %w", out.flag, err)
		}
	}
	var sc *scenario.Scenario
	if o.Scenario != "" {
		var err error
		if sc, err = scenario.ParseFile(o.Scenario); err != nil {
			return &StatusError{Code: 2, Msg: err.Error()}
		}
	}
	var rec *cassette.Recorder
	var rep *cassette.Replayer
	switch {
	case o.Record != "":
		rec = cassette.NewRecorder(cassette.Options{KeepSecrets: o.RecordSecrets})
	case o.Replay != "":
		copts, err := replayOptions(o)
		if err != nil {
			return err
		}
		if rep, err = cassette.OpenReplayer(o.Replay, copts); err != nil {
			return fmt.Errorf("--replay: %w", err)
		}
	}
	stderr := o.Stderr
	if stderr == nil {
		stderr = io.Discard
	}

	c := &ciRun{sc: sc}
	inner := o
	inner.Scenario, inner.Record, inner.Replay, inner.JUnit = "", "", "", ""
	inner.RecordSecrets, inner.MatchHeaders, inner.MatchBody, inner.AllowRepeats = false, nil, "", false
	inner.Hosted = true
	inner.ownGroup = true
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	inner.Customize = func(co *cloud.Options) {
		if o.Customize != nil {
			o.Customize(co)
		}
		switch {
		case rec != nil:
			rec.Install(co)
		case rep != nil:
			rep.Install(co)
		}
		if sc != nil {
			prev := co.Observe
			co.Observe = func(ob cloud.Observation) {
				if prev != nil {
					prev(ob)
				}
				c.relay.Observe(ob)
			}
		}
	}
	inner.OnHosted = func(h *Hosted) error {
		if o.OnHosted != nil {
			if err := o.OnHosted(h); err != nil {
				return err
			}
		}
		if sc == nil {
			return nil
		}
		// Values and initial faults are set now, before the application
		// starts (scenario.Start). A firmware image in deterministic mode
		// has the scenario run on its device's virtual clock: time 0 is
		// the device's boot, and each step happens at its virtual instant.
		var clock scenario.Clock
		if o.virtualTime {
			clock = h.Cloud().VirtualDeviceClock(h.DeviceID)
		}
		run, err := scenario.Start(runCtx, sc, scenario.Target{
			Device: h.DeviceID, Faults: h.Cloud().Faults(),
			Config: storeConfig{h.Store()}, MQTT: h.Cloud(),
		}, scenario.Options{Clock: clock})
		if err != nil {
			return err
		}
		c.mu.Lock()
		c.cloud, c.device = h.Cloud(), h.DeviceID
		c.mu.Unlock()
		c.start(ctx, run, stop)
		return nil
	}
	var started atomic.Bool // the application ran (an event came)
	inner.Observe = func(e Event) {
		started.Store(true)
		c.observe(e)
		if o.Observe != nil {
			o.Observe(e)
		}
	}
	err := Run(runCtx, inner)

	var report *scenario.Report
	if sc != nil {
		if report = c.finish(err); report == nil && err != nil {
			return err // the run failed before the application started
		}
	}
	failed := false
	var saveErr error
	switch {
	case rec != nil && !started.Load():
		// Nothing ran: a cassette already there (a recording made against
		// the real services) is kept, not replaced by an empty one.
		fmt.Fprintf(stderr, "mvnet: the application did not run: %s left as it was\n", o.Record)
	case rec != nil:
		if saveErr = rec.Save(o.Record); saveErr == nil {
			k := rec.Cassette()
			fmt.Fprintf(stderr, "mvnet: recorded %d HTTP exchanges, %d MQTT sessions, %d config fetches to %s\n",
				len(k.HTTP), len(k.MQTT), len(k.Config), o.Record)
		}
	}
	if rep != nil {
		var lines []string
		for _, m := range rep.Mismatches() {
			lines = append(lines, replayLine(m))
			fmt.Fprintf(stderr, "mvnet: replay: %s\n", lines[len(lines)-1])
		}
		if failed = len(lines) > 0; failed && report != nil {
			// One failing testcase for the replay, naming every mismatch.
			report.Results = append(report.Results, scenario.Result{Name: "replay", Why: strings.Join(lines, "\n"), At: report.Elapsed})
		}
	}
	if report != nil {
		_ = report.WriteSummary(stderr)
		if o.JUnit != "" {
			if jerr := writeJUnit(o.JUnit, report); jerr != nil {
				return errors.Join(fmt.Errorf("--junit: %w", jerr), recordErr(saveErr))
			}
		}
	}
	if saveErr != nil {
		return recordErr(saveErr)
	}
	if report != nil {
		if report.Failed() {
			return &StatusError{Code: 1}
		}
		return nil
	}
	if failed {
		return &StatusError{Code: 1}
	}
	return err
}

func recordErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("--record: %w", err)
}

// checkWritable reports why a file cannot be written at path ("" is
// fine): its directory must exist and take a new file.
func checkWritable(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".mvnet-check-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// replayLine says what a replay could not answer, and the closest recorded
// request.
func replayLine(m cassette.Mismatch) string {
	s := m.Request + ": " + m.Reason
	if strings.HasPrefix(m.Reason, "not ") {
		s = m.Request + " is " + m.Reason
	}
	if m.Closest != "" {
		s += "; closest recorded: " + m.Closest
	}
	if strings.HasPrefix(m.Reason, "asked more often than recorded") {
		s += "; --allow-repeats answers it with the last recorded answer"
	}
	return s
}

func writeJUnit(path string, rep *scenario.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ciRun feeds a scenario run with the runner's events and ends the
// application when the scenario's run ends.
type ciRun struct {
	sc    *scenario.Scenario
	relay scenario.Relay

	mu      sync.Mutex
	run     *scenario.Run
	stopped string // why the runner stopped the application ("" if it did not)
	report  *scenario.Report
	exited  chan struct{}

	cloud  *cloud.Server // the hosted cloud and the device, once hosted
	device string
}

// observeWait bounds the wait, when the application has exited, for the
// cloud's observations of what it did last (they are delivered on the
// cloud's goroutines, possibly after the device had its answer).
const observeWait = 5 * time.Second

// start begins feeding run; when it is Done (or ctx, the caller's, ends) (every expectation decided with
// stop-when-met, or the duration) the application is stopped (stop).
func (c *ciRun) start(ctx context.Context, run *scenario.Run, stop context.CancelFunc) {
	c.mu.Lock()
	c.run = run
	c.exited = make(chan struct{})
	c.mu.Unlock()
	c.relay.Set(run)
	go func() {
		select {
		case <-run.Done():
		case <-c.exited:
			return
		}
		why := "every expectation was decided"
		switch {
		case ctx.Err() != nil:
			why = "the run was interrupted"
		case run.Elapsed() >= c.sc.Duration:
			why = fmt.Sprintf("its duration (%s) ran out", c.sc.Duration)
		}
		c.mu.Lock()
		c.stopped = "the scenario's run ended: " + why
		c.mu.Unlock()
		stop()
	}()
}

// observe feeds one event to the scenario run; the exit (the last event)
// ends it while the hosted cloud still runs, so that Finish clears the
// faults the scenario left in force.
func (c *ciRun) observe(e Event) {
	c.mu.Lock()
	run := c.run
	c.mu.Unlock()
	if run == nil {
		return
	}
	switch e.Kind {
	case StdoutLine:
		run.Stdout(e.Line)
	case TraceLine:
		if call, status, ok := SyscallStatus(e.Line); ok && status != "" {
			run.Status(call, status)
		}
	case Exited:
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		switch {
		case e.Exit.Code >= 0:
			run.Exit(e.Exit.Code)
		case stopped != "":
			run.Killed(stopped)
		case e.Exit.Err != nil:
			run.Killed(e.Exit.Err.Error())
		default:
			run.Killed("the application was killed")
		}
		c.mu.Lock()
		cl, dev := c.cloud, c.device
		c.mu.Unlock()
		if cl != nil {
			wctx, cancel := context.WithTimeout(context.Background(), observeWait)
			_ = cl.WaitObservations(wctx, dev)
			cancel()
		}
		rep := run.Finish()
		c.relay.Set(nil)
		c.mu.Lock()
		c.report = rep
		close(c.exited)
		c.mu.Unlock()
	}
}

// finish returns the report: the one made at the application's exit, or,
// for a run that ended otherwise after the scenario started, Finish's.
func (c *ciRun) finish(runErr error) *scenario.Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.report != nil || c.run == nil {
		return c.report
	}
	c.run.Killed(fmt.Sprintf("the run failed: %v", runErr))
	c.report = c.run.Finish()
	c.relay.Set(nil)
	close(c.exited)
	return c.report
}

// storeConfig sets a scenario's config and secret values in the hosted
// cloud's store: scope device → the device's, account → the account's.
type storeConfig struct{ st *store.Store }

func (s storeConfig) SetValue(ctx context.Context, deviceID string, scope abi.ConfigKeyFetchScope, st abi.ConfigKeyFetchStore, key, value string) error {
	sc := store.AccountScope
	if scope == abi.ConfigKeyFetchScopeDevice {
		sc = store.DeviceScope(deviceID)
	}
	return s.st.PutValue(ctx, sc, st == abi.ConfigKeyFetchStoreSecret, key, []byte(value))
}

// replayOptions are the cassette's matching rules of o (MatchHeaders,
// MatchBody, AllowRepeats).
func replayOptions(o Options) (cassette.Options, error) {
	c := cassette.Options{MatchHeaders: o.MatchHeaders, AllowRepeats: o.AllowRepeats}
	for _, h := range o.MatchHeaders {
		if !httpexec.ValidHeaderName(h) {
			return c, fmt.Errorf("--match-header %q: want a header name, e.g. X-Api-Version", h)
		}
	}
	switch o.MatchBody {
	case "", "writes":
		c.Body = cassette.BodyForWrites
	case "always":
		c.Body = cassette.BodyAlways
	case "never":
		c.Body = cassette.BodyNever
	default:
		return c, fmt.Errorf("--match-body %q: want writes (POST, PUT and PATCH bodies; the default), always or never", o.MatchBody)
	}
	return c, nil
}
