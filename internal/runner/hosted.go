package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mvnet/mvnet/cloud"
	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/cloud/httpexec"
	"github.com/mvnet/mvnet/cloud/store"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/internal/cliconfig"
	"github.com/mvnet/mvnet/internal/node"
	"github.com/mvnet/mvnet/kernel"
)

// logFlushWait bounds how long the exit line waits for the server log
// lines the application logged, as the library's own wait does
// (csdk/process/store.go).
const logFlushWait = 3 * time.Second

// readLogsPage is the page size of storedSeqs' reads (store.ReadLogs'
// largest).
const readLogsPage = 1000

// announceWait bounds how long --update-after waits for the device's link,
// as the library's SIGUSR1 handling does (csdk/process/process.go).
const announceWait = 5 * time.Second

// EnvDevice is the variable the --api-env file sets to the hosted device's
// SID, for `mvnet fault apply "$MVNET_DEVICE" …`.
const EnvDevice = "MVNET_DEVICE"

// Hosted is the cloud node of a hosted run (Options.OnHosted).
type Hosted struct {
	Node     *node.Node // its Cloud (Faults, InjectMQTT …), Store, CA, APIURL
	DeviceID string     // the application's device
	// Account and Token are the account's credentials for the REST API.
	Account, Token string
}

// Cloud is the hosted cloud.
func (h *Hosted) Cloud() *cloud.Server { return h.Node.Cloud }

// Store is the hosted cloud's store (configs, secrets, logs).
func (h *Hosted) Store() *store.Store { return h.Node.Store }

// hosted is a hosted run's cloud and what follows it.
type hosted struct {
	Hosted
	dir    string // the node's temporary data directory
	cancel context.CancelFunc
	unsub  func()

	done chan struct{}
}

// hostedSettings are the library's settings that, in hosted mode, apply to
// the hosted cloud instead of the application's embedded one: they are
// taken out of its environment.
var hostedSettings = []string{process.EnvAllow, process.EnvResolve, process.EnvCAFile, process.EnvMQTTPlaintext,
	process.EnvConfigFile, process.EnvDataDir, process.EnvUpdateSignal}

// startHosted starts the hosted cloud with the settings of env (checked
// by checkSettings), creates the device and makes env the environment of
// an application joined to it (MVNET_BUNDLE). d receives the server log
// and fault lines.
func startHosted(ctx context.Context, o Options, env []string, d *demux, stderr io.Writer) (h *hosted, newEnv []string, err error) {
	vals := envMap(env)
	cfg, err := process.ConfigFromEnv(func(k string) string { return vals[k] })
	if err != nil {
		return nil, nil, err
	}
	if cfg.Bundle != nil {
		return nil, nil, errors.New("--bundle joins a cloud that runs elsewhere; hosted mode (--api) runs one: give one of them")
	}
	id := cfg.DeviceID
	if id == "" {
		id = kernel.NewDeviceID()
	}
	dir, err := os.MkdirTemp("", "mvnet-hosted-")
	if err != nil {
		return nil, nil, err
	}
	h = &hosted{dir: dir, done: make(chan struct{})}
	h.DeviceID = id
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	var logw io.Writer = io.Discard
	if stderr != nil {
		logw = stderr
	}
	n, err := node.Start(ctx, node.Options{
		DataDir: dir, ListenDevices: "127.0.0.1:0", ListenAPI: o.API,
		HTTP:          httpexec.Options{AllowPrefixes: cfg.Allow, Resolve: cfg.Resolve, RootCAs: cfg.RootCAs},
		MQTTPlaintext: cfg.MQTTPlaintext,
		// The cloud's warnings; its informational lines would bury the
		// transcript.
		Logger:    slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})).With("side", "hosted cloud"),
		Customize: o.Customize,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("hosted cloud: %w", err)
	}
	h.Node = n
	if h.Account, h.Token, _, err = n.EnsureAccount(ctx); err != nil {
		return nil, nil, fmt.Errorf("hosted cloud: %w", err)
	}
	b, err := n.CreateDevice(ctx, id, "")
	if err != nil {
		return nil, nil, fmt.Errorf("hosted cloud: device %s: %w", id, err)
	}
	bundle := filepath.Join(dir, "bundle.json")
	if err := b.Write(bundle); err != nil {
		return nil, nil, err
	}
	if cfg.Seed != nil {
		if err := cfg.Seed.Put(ctx, n.Store, id); err != nil {
			return nil, nil, err
		}
	}
	// The server log lines, echoed and traced as the library does with
	// its embedded cloud.
	fctx, cancel := context.WithCancel(context.Background())
	lines, err := n.Store.FollowLogs(fctx, id, store.LogFrom{New: true})
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("hosted cloud: %w", err)
	}
	h.cancel = cancel // close waits for follow's end
	go h.follow(lines, d, stderr, cfg.ServerLogOff)
	faultT := func(faults.Event) int64 { return d.now() }
	if o.virtualTime {
		// The device's clock, made ahead: its time 0 is the device's boot
		// (cloud.Server.VirtualDeviceClock), and a boot after a restart
		// moves the device's base on it, so a fault's time is the device's
		// own time at the event (the trace's t), asked per event.
		n.Cloud.VirtualDeviceClock(id)
		faultT = func(e faults.Event) int64 {
			if dt, ok := n.Cloud.VirtualDeviceTime(id, e.Time); ok {
				return dt.Microseconds()
			}
			return d.now() // back on the wall clock
		}
	}
	h.unsub = n.Cloud.Faults().Subscribe(func(e faults.Event) {
		if e.Fault.Device == id {
			t := faultT(e)
			d.injectAt(t, faultLine(t, e))
		}
	})

	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(hostedSettings, name) && name != process.EnvBundle && name != process.EnvDeviceID {
			newEnv = append(newEnv, kv)
		}
	}
	newEnv = append(newEnv, process.EnvBundle+"="+bundle, process.EnvDeviceID+"="+id)
	return h, newEnv, nil
}

// follow echoes and traces the device's log lines as they are stored.
func (h *hosted) follow(lines <-chan store.LogLine, d *demux, stderr io.Writer, quiet bool) {
	defer close(h.done)
	for l := range lines {
		d.storedLog(l.Seq, func(t int64) string {
			b, _ := json.Marshal(struct {
				T    int64  `json:"t"`
				Kind string `json:"kind"`
				Seq  uint64 `json:"seq"`
				Line string `json:"line"`
			}{t, "serverlog", l.Seq, string(l.Line)})
			return string(b)
		})
		if !quiet && stderr != nil {
			_, _ = stderr.Write(process.EchoLine(l.Line))
		}
	}
}

// storedSeqs is the set of the seqs of the device's lines in the hosted
// cloud's store (all of this run's: the device is the run's own).
func (h *hosted) storedSeqs() (map[uint64]bool, error) {
	if h.Node == nil {
		return nil, errors.New("no hosted cloud")
	}
	ctx, cancel := context.WithTimeout(context.Background(), logFlushWait)
	defer cancel()
	seqs := map[uint64]bool{}
	from := store.LogFrom{}
	for {
		page, err := h.Node.Store.ReadLogs(ctx, h.DeviceID, from, readLogsPage)
		if err != nil {
			return nil, err
		}
		for _, l := range page {
			seqs[l.Seq] = true
		}
		if len(page) < readLogsPage {
			return seqs, nil
		}
		from = store.LogFrom{Seq: page[len(page)-1].StreamSeq + 1}
	}
}

// announceUpdate is --update-after in hosted mode: the hosted cloud
// announces the update (faults.UpdateAnnounced), as the embedded cloud
// does on SIGUSR1, waiting up to announceWait for the device's link as
// the library does.
func (h *hosted) announceUpdate(stderr io.Writer) {
	deadline := time.Now().Add(announceWait)
	for !h.connected() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	_, err := h.Node.Cloud.Faults().Apply(h.DeviceID, faults.Spec{Kind: faults.UpdateAnnounced, Description: "announced by --update-after"})
	if err != nil && stderr != nil {
		fmt.Fprintf(stderr, "mvnet run: --update-after: %v\n", err)
	}
}

// connected reports whether the device has a link to the hosted cloud.
func (h *hosted) connected() bool {
	for _, d := range h.Node.Cloud.Devices() {
		if d.DeviceID == h.DeviceID {
			return true
		}
	}
	return false
}

// printAPI says on w how to reach the hosted cloud's REST API, as export
// lines a shell can run, and writes them to file if given.
func (h *hosted) printAPI(w io.Writer, file string) error {
	if h.Node.APIURL == "" {
		return nil
	}
	exports := h.exports()
	if w != nil {
		fmt.Fprintf(w, "mvnet run: hosted cloud API %s, device %s\n%s", h.Node.APIURL, h.DeviceID, exports)
	}
	if file != "" {
		// Whole or not at all (a temporary file renamed into place): a
		// script waiting for the file never reads half of it.
		tmp := file + ".tmp"
		err := os.WriteFile(tmp, []byte(exports), 0o600)
		if err == nil {
			err = os.Rename(tmp, file)
		}
		if err != nil {
			_ = os.Remove(tmp)
			return fmt.Errorf("--api-env: %w", err)
		}
	}
	return nil
}

// exports are the settings the CLI reads (internal/cliconfig) and the
// device's SID, in sh syntax.
func (h *hosted) exports() string {
	var b strings.Builder
	for _, kv := range [][2]string{
		{cliconfig.EnvURL, h.Node.APIURL}, {cliconfig.EnvAccountSid, h.Account},
		{cliconfig.EnvAuthToken, h.Token}, {EnvDevice, h.DeviceID},
	} {
		fmt.Fprintf(&b, "export %s=%s\n", kv[0], shQuote(kv[1]))
	}
	return b.String()
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// close stops following, ends the node and removes its data directory.
func (h *hosted) close() {
	if h.unsub != nil {
		h.unsub()
	}
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	if h.Node != nil {
		h.Node.Close()
	}
	_ = os.RemoveAll(h.dir)
}

// faultLine is the trace line of a fault event (design: kind "fault").
func faultLine(t int64, e faults.Event) string {
	b, _ := json.Marshal(struct {
		T     int64  `json:"t"`
		Kind  string `json:"kind"`
		Phase string `json:"phase"`
		ID    string `json:"id"`
		Fault string `json:"fault"`
		Why   string `json:"why,omitempty"`
	}{t, "fault", string(e.Phase), e.Fault.ID, e.Fault.Spec.String(), e.Why})
	return string(b)
}
