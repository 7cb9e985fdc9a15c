// Package runner runs a C application built against mvnet's C SDK (`mvnet
// run -- ./app`): it sets the SDK's environment variables from options,
// prints the trace the library writes (MVNET_TRACE) as a readable
// transcript, passes the application's standard streams through, and
// reports the application's exit status.
//
// The application's lines and the transcript come out in the order they
// happened: the library writes the trace (one write per line) into the
// same pipe as the application's stdout (made line buffered with
// MVNET_STDOUT_LINEBUF=1), so the pipe holds both in the order they were
// written, and the runner splits it again: trace lines (JSON objects that
// begin {"t":N,"kind":…) go to the transcript, everything else to stdout.
// Two separate channels — a trace file followed by polling, as before —
// cannot keep that order. Text the application flushed without a newline
// is passed on at once, except what may still become a trace line (from a
// {"t": on), which is held until its line ends (at most maxPending bytes).
// A trace line longer than the pipe's atomic write
// (PIPE_BUF, 4 KiB on Linux) written while another thread prints can be
// torn by that output; it then shows as the application's text. Stderr is
// passed through as it is.
//
// # Hosted mode
//
// With Options.Hosted (or API, `mvnet run --api ADDR`) the runner hosts the
// cloud itself: a node (internal/node, the one `mvnet cloud serve` runs)
// with its store in a temporary directory (removed at the end), its device
// listener on 127.0.0.1:0 and, with API, the REST API. It creates the
// device (DeviceID or MVNET_DEVICE_ID, else a random ID) and runs the
// application joined to it (MVNET_BUNDLE), so the cloud outlives the
// application's restarts (mvRestart) as a real cloud does. The settings of
// the cloud — --allow, --resolve, --ca-file, --mqtt-plaintext and
// MVNET_CONFIG_FILE's seed — are checked as the library checks them,
// applied to the hosted cloud and taken out of the application's
// environment (the joined library would refuse them); --update-after has
// the hosted cloud announce the update. The runner does what the library
// does with its embedded cloud: it echoes the device's server log lines on
// Stderr ("[mvServerLog] line", unless MVNET_SERVERLOG=off) and traces them
// (kind "serverlog"), the exit line coming after the lines the application
// logged. Every fault of the device (cloud/faults) starting or
// ending is a trace line
//
//	{"t":…,"kind":"fault","phase":"start","id":"FT…","fault":"link-flap period=2s"}
//	{"t":…,"kind":"fault","phase":"end","id":"FT…","fault":"link-drop","why":"cleared"}
//
// and a transcript line "fault  start  link-flap period=2s  (FT…)". The t
// of the runner's own lines is the newest start line's t plus the time
// since it was seen.
//
// A firmware image in deterministic mode (Firmware without Realtime) runs
// on a virtual clock that the hosted cloud follows (link/doc.go, "Virtual
// time"): the runner makes the device's clock ahead
// ((*cloud.Server).VirtualDeviceClock, its time 0 the device's boot), a
// scenario runs on it, and the runner's own lines are placed by it so
// that the transcript repeats: a fault line has the fault's virtual time
// (the device's own, which a restart starts again:
// (*cloud.Server).VirtualDeviceTime) and comes before the first trace line
// of a later time; a server log line comes right after the mvServerLog
// call of its seq, with its time — the trace lines after the call wait in
// the runner, not the emulator, until the line is stored or known dropped
// (serverlog.go).
//
// # Hooks
//
// For scenarios and record/replay (and Go tests):
//   - Options.Customize changes the hosted cloud's cloud.Options before
//     cloud.New: wrap the upstream (HTTP.WrapTransport, MQTT.WrapConnect),
//     replace Config, set Observe.
//   - Options.OnHosted gets the Hosted node (Node.Cloud with its Faults,
//     Node.Store, the DeviceID, the API's credentials) once it runs and
//     before the application starts; an error stops the run.
//   - Options.Observe gets the run's events in order, on a goroutine of
//     their own (it may apply faults): each stdout line, each trace line
//     (SyscallStatus reads a system call's status) and, last, the Exit.
//   - Ending ctx ends the run early: the application is killed, Observe
//     still gets the Exit (Code -1) and Run returns.
//
// # Testing (scenario.go)
//
// Options.Scenario, Record and Replay (`mvnet run --scenario/--record/
// --replay`) use these hooks themselves, in hosted mode: the scenario
// (package scenario) gets the cloud's observations through a Relay set in
// Customize, starts in OnHosted (its values and initial faults before the
// application), and is fed from Observe (stdout lines, system-call
// statuses, the exit); when it is done the application is stopped, the
// run is finished while the cloud still runs, and the summary (and JUnit)
// is written after the application's output. The cassette (package
// scenario/cassette) is installed in Customize, saved at the end (record)
// or asked for its mismatches (replay). The result is then a *StatusError
// for a failed scenario or replay, not the application's status.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/csdk/process"
)

// Options configure one run.
type Options struct {
	App  string   // the application to run
	Args []string // its arguments

	DeviceID string   // MVNET_DEVICE_ID
	CAFiles  []string // concatenated into MVNET_CA_FILE
	Resolve  []string // MVNET_RESOLVE
	Allow    []string // MVNET_ALLOW
	Log      string   // MVNET_LOG
	Bundle   string   // MVNET_BUNDLE: join a running cloud instead of an embedded one
	Board    string   // MVNET_BOARD: the simulated peripherals (docs/peripherals.md)

	// TracePath keeps the raw JSON trace there, its newest lines within
	// MVNET_TRACE_MAX (process.TraceFile); "" keeps none.
	TracePath string
	// JSON prints the raw trace lines instead of the readable transcript.
	JSON bool
	// UpdateAfter, if set, sends the application SIGUSR1 this long after the
	// library has started (the trace's start line), with
	// MVNET_UPDATE_SIGNAL=1 set so that the library handles it: the C SDK's
	// stand-in for a downloaded over-the-air update (UPDATEDOWNLOADED on
	// UPDATE system notification streams). Once per run.
	UpdateAfter time.Duration
	// MQTTPlaintext sets MVNET_MQTT_PLAINTEXT=1 (--mqtt-plaintext): an
	// MQTT connect without tls_credentials is plain TCP.
	MQTTPlaintext bool

	// Hosted runs the cloud in the runner (hosted mode, see the package
	// doc) instead of in the application; API != "" implies it.
	Hosted bool
	// API, in hosted mode, is the address the hosted cloud's REST API
	// listens on (--api, e.g. 127.0.0.1:0); "" serves none. The URL, the
	// device's SID and the CLI's credentials are printed on Stderr as
	// export lines.
	API string
	// APIEnv, if set, is a file the export lines are written to (sh
	// syntax), for a script to source (--api-env): removed at the start
	// of the run, written whole once the cloud serves, removed at the end.
	APIEnv string
	// Customize, in hosted mode, may change the hosted cloud's options
	// before it is created (node.Options.Customize): wrap the upstream,
	// set Observe, replace the config store.
	Customize func(*cloud.Options)
	// OnHosted, in hosted mode, is called once the hosted cloud runs and
	// the device exists, before the application starts: an error stops
	// the run (the application is not started).
	OnHosted func(*Hosted) error
	// Observe, if set, receives the run's events (Event): stdout lines,
	// trace lines, and last the exit — none if the run fails before the
	// application starts (Run's error says why).
	Observe func(Event)

	// Scenario, Record and Replay test the application (scenario.go); each
	// implies Hosted. Scenario is a scenario file (package scenario) run
	// against the device: Run then returns nil when every expectation and
	// step passed, else a *StatusError (1; 2 for a file that does not
	// parse); the report goes to Stderr, and to JUnit as JUnit XML.
	Scenario, JUnit string
	// Record records the hosted cloud's upstream traffic for the device
	// into this cassette (package scenario/cassette), secrets redacted
	// unless RecordSecrets; Replay answers it from this cassette instead,
	// and a request it cannot answer makes Run's result a *StatusError (1).
	Record, Replay string
	RecordSecrets  bool
	// Replay's matching rules (docs/record-replay.md, "Matching"):
	// MatchHeaders names request headers whose values must match,
	// MatchBody when bodies must ("writes", the default: POST, PUT and
	// PATCH; "always"; "never"), AllowRepeats answers a request asked more
	// often than recorded with its last recorded answer.
	MatchHeaders []string
	MatchBody    string
	AllowRepeats bool

	// Firmware, if its Image is set, runs that application image on the
	// Cortex-M33 emulator instead of App (firmware.go): App and Args are
	// then the emulate command's. CheckImage, if set, validates the image
	// first (emu/loader's checks), so that a bad image fails before
	// anything starts.
	Firmware   FirmwareOptions
	CheckImage func(path string, loadAddress uint32) error

	// ownGroup runs the application in a process group of its own, killed
	// whole when ctx ends (set by runCI).
	ownGroup bool
	// virtualTime: the application is a firmware image in deterministic
	// mode, whose device runs on its virtual clock (link/doc.go, "Virtual
	// time"): a hosted cloud makes the device's clock ahead, the scenario
	// runs on it, and the runner's own trace lines take their time from it
	// (set by firmwareApp).
	virtualTime bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer // the application's streams
	Transcript     io.Writer // where the transcript goes
}

// hostedMode reports whether the run hosts its cloud.
func (o Options) hostedMode() bool { return o.Hosted || o.API != "" || o.ciMode() }

// ExitError reports an application that ended with a non-zero status.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	return fmt.Sprintf("the application exited with status %d", e.Code)
}

// Run runs the application until it exits or ctx ends.
func Run(ctx context.Context, o Options) error {
	if o.Firmware.Image != "" {
		if err := firmwareApp(&o, o.CheckImage); err != nil {
			return err
		}
	}
	if o.App == "" {
		return errors.New("no application given: mvnet run [flags] -- ./app [args]")
	}
	if o.ciMode() {
		return runCI(ctx, o)
	}
	path, err := exec.LookPath(o.App)
	if err != nil {
		return fmt.Errorf("application %q: %w", o.App, err)
	}
	dir, err := os.MkdirTemp("", "mvnet-run-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := append(os.Environ(), "MVNET_TRACE=/dev/fd/3", "MVNET_STDOUT_LINEBUF=1", "MVNET_TRANSCRIPT=1")
	fromOption := map[string]bool{}
	add := func(name, v string) {
		if v != "" {
			env = append(env, name+"="+v)
			fromOption[name] = true
		}
	}
	add("MVNET_DEVICE_ID", o.DeviceID)
	add("MVNET_RESOLVE", strings.Join(o.Resolve, ","))
	add("MVNET_ALLOW", strings.Join(o.Allow, ","))
	add("MVNET_LOG", o.Log)
	add("MVNET_BUNDLE", o.Bundle)
	add("MVNET_BOARD", o.Board)
	if o.UpdateAfter > 0 {
		add("MVNET_UPDATE_SIGNAL", "1")
	}
	if o.MQTTPlaintext {
		add("MVNET_MQTT_PLAINTEXT", "1")
	}
	if len(o.CAFiles) > 0 {
		bundle := filepath.Join(dir, "ca.pem")
		if err := concat(bundle, o.CAFiles); err != nil {
			return err
		}
		add("MVNET_CA_FILE", bundle)
	}

	if err := checkSettings(env, fromOption); err != nil {
		return err
	}
	if o.APIEnv != "" && !o.hostedMode() {
		return errors.New("--api-env needs --api: the file holds the hosted cloud's API settings")
	}
	var keep io.Writer // the raw trace, with --trace
	if o.TracePath != "" {
		// The library writes the pipe uncapped; the file keeps the newest
		// lines within MVNET_TRACE_MAX, as the library's own trace file
		// does.
		f, err := process.OpenTraceFile(o.TracePath, false, traceMax(env))
		if err != nil {
			return fmt.Errorf("trace file: %w", err)
		}
		defer f.Close()
		keep = f
	}
	stdout, stderr, transcript := o.Stdout, o.Stderr, o.Transcript
	if _, isFile := stderr.(*os.File); stderr != nil && !isFile {
		// exec copies stderr in a goroutine of its own while the demux
		// writes stdout and the transcript: one writer at a time, as exec
		// promises when Stdout and Stderr are the same.
		var mu sync.Mutex
		stdout, stderr, transcript = locked(&mu, stdout), locked(&mu, stderr), locked(&mu, transcript)
	}
	if f, ok := keep.(*process.TraceFile); ok && stderr != nil {
		// The demux ignores the file's errors; the first is said once.
		f.OnError = func(err error) { fmt.Fprintf(stderr, "mvnet: %v\n", err) }
	}
	d := &demux{stdout: stdout, transcript: transcript, keep: keep, raw: o.JSON, exited: make(chan struct{}),
		obs: newObservers(o.Observe)}
	defer d.obs.close()
	finish := func(err error) error {
		code := 0
		var ee *ExitError
		if errors.As(err, &ee) {
			code = ee.Code
		} else if err != nil {
			code = -1
		}
		d.obs.finish(Exit{Code: code, Err: err})
		return err
	}
	var h *hosted
	if o.APIEnv != "" {
		// The file's settings hold while this run's cloud serves: a
		// script waiting for the file must not read an earlier run's.
		if err := os.Remove(o.APIEnv); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--api-env: %w", err)
		}
		defer os.Remove(o.APIEnv)
	}
	if o.hostedMode() {
		d.virtual = o.virtualTime // before the hosted cloud's lines come
		if h, env, err = startHosted(ctx, o, env, d, stderr); err != nil {
			return err
		}
		defer h.close()
		d.hosted = h
		if err := h.printAPI(stderr, o.APIEnv); err != nil {
			return err
		}
		if o.OnHosted != nil {
			if err := o.OnHosted(&h.Hosted); err != nil {
				return err
			}
		}
	}
	// One pipe for stdout and the trace: fd 1 and fd 3 of the application.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pr.Close()
	cmd := exec.CommandContext(ctx, path, o.Args...)
	if o.ownGroup {
		// A test run (runCI) ends the application when the scenario is
		// over: the processes it started (a wrapper script's child)
		// must end with it, or they keep the output pipe and outlive the
		// hosted cloud. Not for interactive runs: a process group of its
		// own could not read the terminal.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	}
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, pw, stderr
	cmd.ExtraFiles = []*os.File{pw} // fd 3: MVNET_TRACE
	d.start()
	err = cmd.Start()
	pw.Close() // the application holds the write end now
	if err != nil {
		return fmt.Errorf("starting %s: %w", o.App, err)
	}
	if o.UpdateAfter > 0 {
		send := func() { _ = cmd.Process.Signal(syscall.SIGUSR1) }
		if h != nil {
			// The hosted cloud announces it; not under the demux's lock,
			// which the fault's start line takes.
			send = func() { go h.announceUpdate(stderr) }
		}
		d.up = &updater{after: o.UpdateAfter, send: send}
	}
	split := make(chan error, 1)
	go func() { split <- d.run(pr) }()
	waitErr := cmd.Wait()
	d.up.stop()
	// The pipe ends (EOF) when every process holding it has gone — the
	// runner closed its own write end after Start. A child the application
	// left running may hold it longer: the demux then stops once the pipe
	// has stayed empty for leftoverGrace (a read already waiting is bounded
	// here, later ones by the demux).
	close(d.exited)
	_ = pr.SetReadDeadline(time.Now().Add(leftoverGrace))
	err = <-split
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if stderr != nil {
			fmt.Fprintf(stderr, "mvnet run: the application has exited but a process it started still holds its stdout; "+
				"stopped reading after %v without output: what that process prints from now on is not shown\n", leftoverGrace)
		}
	} else if err != nil {
		return finish(fmt.Errorf("reading the application's output: %w", err))
	}
	return finish(exitError(waitErr))
}

// exitError is Run's result for the application's end.
func exitError(waitErr error) error {
	var exit *exec.ExitError
	if errors.As(waitErr, &exit) {
		if exit.ExitCode() < 0 {
			return fmt.Errorf("the application was killed: %v", exit)
		}
		return &ExitError{Code: exit.ExitCode()}
	}
	return waitErr
}

func concat(dst string, files []string) error {
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("CA file: %w", err)
		}
		all = append(append(all, b...), '\n')
	}
	return os.WriteFile(dst, all, 0o600)
}

// updater sends the update signal once, UpdateAfter after the first start
// line, and only while an image that has written its start line runs: a
// restart line means the image is about to re-execute, and until the new
// image's start line SIGUSR1 would find no handler (and end the process).
type updater struct {
	after time.Duration
	send  func()

	mu    sync.Mutex
	timer *time.Timer
	live  bool // the running image has written its start line
	due   bool // the time has come while no image was live
	sent  bool
	ended bool
}

// lifecycle follows the trace's start and restart lines.
func (u *updater) lifecycle(kind string) {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch kind {
	case "start":
		u.live = true
		if u.timer == nil && !u.ended {
			u.timer = time.AfterFunc(u.after, u.fire)
		}
		if u.due {
			u.due = false
			u.sendLocked()
		}
	case "restart":
		u.live = false
	}
}

func (u *updater) fire() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.live {
		u.sendLocked()
	} else {
		u.due = true
	}
}

func (u *updater) sendLocked() {
	if !u.sent && !u.ended {
		u.sent = true
		u.send()
	}
}

// stop is called when the application has exited.
func (u *updater) stop() {
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.ended = true
	if u.timer != nil {
		u.timer.Stop()
	}
}

func print(out io.Writer, line string, raw bool) {
	if out == nil || line == "" {
		return
	}
	if raw {
		fmt.Fprintln(out, line)
		return
	}
	fmt.Fprintln(out, Format(line))
}

// kindOf is the kind of a trace line ("" if it is none).
func kindOf(line string) string {
	var k struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal([]byte(line), &k) != nil {
		return ""
	}
	return k.Kind
}

// decode parses a trace line, keeping numbers as written (json.Number), so
// that 160000000 prints as it is and not as 1.6e+08.
func decode(line string) (map[string]any, error) {
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var e map[string]any
	if err := d.Decode(&e); err != nil {
		return nil, err
	}
	return e, nil
}

// Format renders one trace line readably; a line that is not a trace
// object is returned as it is.
func Format(line string) string {
	e, err := decode(line)
	if err != nil {
		return line
	}
	t := fmt.Sprintf("%9.3f ms", num(e["t"])/1000)
	switch e["kind"] {
	case "start":
		return fmt.Sprintf("%s  device %v started (pid %v, restarts %v)", t, e["device"], e["pid"], e["restarts"])
	case "syscall":
		s := fmt.Sprintf("%s  %s(%s) → %v", t, e["call"], fields(e["args"]), e["status"])
		if d := fields(e["detail"]); d != "" {
			s += "  [" + d + "]"
		}
		if out := fields(e["out"]); out != "" {
			s += "  " + out
		}
		if note, ok := e["note"].(string); ok {
			s += "  (" + note + ")"
		}
		return s
	case "notification":
		return fmt.Sprintf("%s  ⚡ %v tag=%v (IRQ %v, slot %v)", t, e["event"], e["tag"], e["irq"], e["slot"])
	case "interrupt":
		if u, _ := e["unhandled"].(bool); u {
			return fmt.Sprintf("%s  ↳ IRQ %v: no %v in the application", t, e["irq"], e["handler"])
		}
		return fmt.Sprintf("%s  ↳ %v", t, e["handler"])
	case "exit":
		if st, ok := e["status"]; ok {
			return fmt.Sprintf("%s  exit %v", t, st)
		}
		return fmt.Sprintf("%s  exit", t)
	case "link-error":
		return fmt.Sprintf("%s  ⚠ link: %s", t, text(e["text"]))
	case "link-up":
		return fmt.Sprintf("%s  ✓ link up", t)
	case "diagnostic":
		return fmt.Sprintf("%s  ℹ cloud, channel %v: %s", t, e["channel"], text(e["text"]))
	case "stm32", "emu":
		// A note of the emulator's machine or peripheral models
		// (emu/firmware: "stm32: USART2 enabled …").
		return fmt.Sprintf("%s  %s", t, text(e["text"]))
	case "i2c", "spi":
		return formatPeriph(t, e) // format_periph.go
	case "fault":
		// A fault of the hosted cloud starting or ending (hosted.go).
		s := fmt.Sprintf("%s  fault  %v  %s  (%v)", t, e["phase"], text(e["fault"]), e["id"])
		if why, ok := e["why"].(string); ok && why != "" {
			s += "  " + text(why)
		}
		return s
	case "truncated":
		return fmt.Sprintf("%s  trace truncated: MVNET_TRACE_MAX=%v bytes reached", t, e["max"])
	case "repeat":
		return t + "  " + repeatLine(e)
	case "dropped":
		return t + "  " + droppedLine(e)
	case "serverlog":
		// The line's sequence number is random at every boot (it must
		// differ between boots: kernel.Options.Seed), so the transcript —
		// which two deterministic runs must repeat — leaves it out; the
		// trace file keeps it.
		delete(e, "seq")
		fallthrough
	default:
		delete(e, "t")
		kind := e["kind"]
		delete(e, "kind")
		return fmt.Sprintf("%s  %v %s", t, kind, fields(e))
	}
}

func num(v any) float64 {
	n, _ := v.(json.Number)
	f, _ := n.Float64()
	return f
}

// fields renders a JSON object as "k=v k=v" in key order.
func fields(v any) string {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		val := m[k]
		switch x := val.(type) {
		case string:
			parts = append(parts, k+"="+text(x))
		case json.Number:
			parts = append(parts, k+"="+x.String())
		default:
			b, _ := json.Marshal(x)
			parts = append(parts, k+"="+string(b))
		}
	}
	return strings.Join(parts, " ")
}
