package sdktest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/cloud/faults"
	"github.com/mvnet/mvnet/internal/runner"
	"github.com/mvnet/mvnet/internal/testenv"
)

// Hosted mode of mvnet run (internal/runner): the cloud runs in the runner
// and the C application joins it with MVNET_BUNDLE.

// hostedRun is what a run through the runner did.
type hostedRun struct {
	err        error
	out        syncBuf // the application's stdout and stderr
	transcript syncBuf
	trace      []string // the raw trace lines (Observe), in order
	stdout     []string // the application's stdout lines (Observe)
	exit       runner.Exit
}

// runHosted runs bin through the runner with o (App, streams and Observe
// set here) and waits for it, at most two minutes. observe, if set, sees
// each event too.
func runHosted(t *testing.T, bin string, o runner.Options, observe func(runner.Event), args ...string) *hostedRun {
	t.Helper()
	r := &hostedRun{}
	var mu sync.Mutex
	o.App, o.Args = bin, args
	o.Stdout, o.Stderr, o.Transcript = &r.out, &r.out, &r.transcript
	o.Observe = func(e runner.Event) {
		mu.Lock()
		switch e.Kind {
		case runner.TraceLine:
			r.trace = append(r.trace, e.Line)
		case runner.StdoutLine:
			r.stdout = append(r.stdout, e.Line)
		case runner.Exited:
			r.exit = e.Exit
		}
		mu.Unlock()
		if observe != nil {
			observe(e)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r.err = runner.Run(ctx, o)
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish: %v\noutput:\n%s\ntranscript:\n%s", bin, r.err, r.out.String(), r.transcript.String())
	}
	return r
}

func (r *hostedRun) kinds(kind string) []map[string]any {
	var out []map[string]any
	for _, l := range r.trace {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["kind"] == kind {
			out = append(out, m)
		}
	}
	return out
}

func (r *hostedRun) String() string {
	return "err: " + fmt.Sprint(r.err) + "\noutput:\n" + r.out.String() + "\ntranscript:\n" + r.transcript.String()
}

// normalize makes a transcript comparable across runs: no times, device
// IDs, process IDs, handles, addresses, counts or spans.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?m)^ *[0-9]+\.[0-9]+ ms  `), ""},
	{regexp.MustCompile(`UV[0-9a-f]{32}`), "UV…"},
	{regexp.MustCompile(`0x[0-9a-f]+`), "0x…"},
	{regexp.MustCompile(`[0-9][0-9,.]*`), "N"},
}

func normalize(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		for _, n := range normalizers {
			l = n.re.ReplaceAllString(l, n.with)
		}
		// A polling loop folds into repeat lines whose number depends on
		// timing: compare the events, not how they were folded.
		if _, ev, ok := strings.Cut(l, "in N µs from N ms: "); ok {
			l = ev
		} else if _, ev, ok := strings.Cut(l, " s from N ms: "); ok {
			l = ev
		} else if _, ev, ok := strings.Cut(l, " ms from N ms: "); ok {
			l = ev
		}
		// The hosted cloud's link is a TLS connection, the embedded one a
		// pipe: when the link comes up differs (the first status poll may
		// read CONNECTING, the change notification come earlier or later),
		// and with it where the interrupt handler's lines fall. Compare
		// everything else.
		if strings.Contains(l, "status=MV_NETWORKSTATUS_CONNECTING") ||
			strings.Contains(l, "MV_EVENTTYPE_NETWORKSTATUSCHANGED") || strings.HasPrefix(l, "↳") {
			continue
		}
		if len(out) == 0 || out[len(out)-1] != l {
			out = append(out, l)
		}
	}
	return out
}

// TestHostedSameTranscriptAsEmbedded: the C http-get application against
// a local HTTPS server prints the same transcript (modulo times, IDs and
// counts) whether its cloud is embedded in it or hosted by mvnet run, with
// --ca-file, --resolve and --allow applying to either.
func TestHostedSameTranscriptAsEmbedded(t *testing.T) {
	t.Parallel()
	srv := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello from "+r.URL.Path)
	}))
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := compileFile(t, "http_get", static)
	o := runner.Options{CAFiles: []string{caFile}, Resolve: []string{srv.Resolve}, Allow: []string{"127.0.0.0/8"}}
	embedded := runHosted(t, bin, o, nil, srv.URL("/v1/status"))
	o.Hosted = true
	hosted := runHosted(t, bin, o, nil, srv.URL("/v1/status"))
	for name, r := range map[string]*hostedRun{"embedded": embedded, "hosted": hosted} {
		if r.err != nil || !strings.Contains(r.out.String(), "result=0 status=200") || !strings.Contains(r.out.String(), "body: hello from /v1/status") {
			t.Fatalf("%s run: %v", name, r)
		}
	}
	e, h := normalize(embedded.transcript.String()), normalize(hosted.transcript.String())
	if strings.Join(e, "\n") != strings.Join(h, "\n") {
		t.Fatalf("the transcripts differ\nembedded:\n%s\n\nhosted:\n%s", strings.Join(e, "\n"), strings.Join(h, "\n"))
	}
}

// netWatchApp prints each change of its network status and exits 0 once
// the network has connected, gone and come back.
const netWatchApp = `#include <stdio.h>
#include <unistd.h>
#include "mv_syscalls.h"
#include "stm32u585xx.h"

static volatile struct MvNotification ring[16] __attribute__((aligned(16)));
static volatile unsigned next_slot;
void TIM8_BRK_IRQHandler(void) {
	ring[next_slot].event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % 16;
}

int main(void) {
	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) return 2;
	NVIC_EnableIRQ(TIM8_BRK_IRQn);
	struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 7}};
	MvNetworkHandle net = 0;
	if (mvRequestNetwork(&np, &net) != MV_STATUS_OKAY) return 3;
	int last = -1, phase = 0;
	for (int i = 0; i < 60000; i++) {
		enum MvNetworkStatus ns;
		if (mvGetNetworkStatus(net, &ns) != MV_STATUS_OKAY) return 4;
		int up = ns == MV_NETWORKSTATUS_CONNECTED;
		if (up != last) {
			printf("net: %s\n", up ? "connected" : "not connected");
			fflush(stdout);
			last = up;
			if (up && phase == 0) phase = 1;
			else if (!up && phase == 1) phase = 2;
			else if (up && phase == 2) return mvTestingComplete(0);
		}
		usleep(5000);
	}
	return 1;
}
`

// TestHostedFaultLines: a link-drop applied to the hosted cloud while the
// application runs (through OnHosted's Injector), and then cleared, shows
// in the transcript as fault start and end lines, in the trace as fault
// lines, and to the application as its network going and coming back.
func TestHostedFaultLines(t *testing.T) {
	t.Parallel()
	bin := compile(t, "netwatch", netWatchApp, static)
	var (
		mu        sync.Mutex
		h         *runner.Hosted
		id        string
		connected int
		errs      []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	o := runner.Options{Hosted: true, OnHosted: func(hh *runner.Hosted) error { h = hh; return nil }}
	r := runHosted(t, bin, o, func(e runner.Event) {
		if e.Kind != runner.StdoutLine {
			return
		}
		switch e.Line {
		case "net: connected":
			mu.Lock()
			connected++
			first := connected == 1
			mu.Unlock()
			if first {
				f, err := h.Cloud().Faults().Apply(h.DeviceID, faults.Spec{Kind: faults.LinkDrop})
				if err != nil {
					fail(err)
				}
				mu.Lock()
				id = f.ID
				mu.Unlock()
			}
		case "net: not connected":
			mu.Lock()
			fid := id
			mu.Unlock()
			if fid != "" {
				if err := h.Cloud().Faults().Clear(h.DeviceID, fid); err != nil {
					fail(err)
				}
			}
		}
	})
	if len(errs) > 0 {
		t.Fatalf("applying or clearing the fault: %v", errs)
	}
	if r.err != nil || r.exit.Code != 0 {
		t.Fatalf("the application did not see its network go and come back: %v", r)
	}
	start := "fault  start  link-drop  (" + id + ")"
	end := "fault  end  link-drop  (" + id + ")  cleared"
	tr := r.transcript.String()
	i, j := strings.Index(tr, start), strings.Index(tr, end)
	if id == "" || i < 0 || j < i {
		t.Fatalf("the transcript lacks %q then %q:\n%s", start, end, tr)
	}
	// The application's view: the network status change notifications
	// after the fault started.
	if !strings.Contains(tr[i:], "MV_EVENTTYPE_NETWORKSTATUSCHANGED") {
		t.Errorf("no network status notification after the fault started:\n%s", tr)
	}
	fl := r.kinds("fault")
	if len(fl) != 2 || fl[0]["phase"] != "start" || fl[0]["id"] != id || fl[0]["fault"] != "link-drop" ||
		fl[1]["phase"] != "end" || fl[1]["why"] != "cleared" {
		t.Fatalf("fault trace lines %v", fl)
	}
	if t0, t1 := fl[0]["t"].(float64), fl[1]["t"].(float64); t0 <= 0 || t1 < t0 {
		t.Errorf("fault lines' times %v, %v: want since the start line, in order", t0, t1)
	}
}

// TestHostedServerLogAndConfigSeed: in hosted mode MVNET_CONFIG_FILE seeds
// the hosted cloud's store (account and device scope), and the
// application's server log lines are echoed on stderr and traced in
// order, as with the embedded cloud — the runner removes the variable
// the joined library would refuse.
func TestHostedServerLogAndConfigSeed(t *testing.T) {
	// Not parallel: MVNET_CONFIG_FILE is set in the environment, as a user
	// would.
	t.Setenv("MVNET_CONFIG_FILE", writeSeed(t, configLogSeed))
	bin := compileFile(t, "config_log", static)
	r := runHosted(t, bin, runner.Options{Hosted: true}, nil)
	if r.err != nil || !strings.Contains(r.out.String(), "\nOK\n") {
		t.Fatalf("config_log: %v", r)
	}
	var echoed, traced []string
	for _, l := range strings.Split(r.out.String(), "\n") {
		if s, ok := strings.CutPrefix(l, "[mvServerLog] "); ok {
			echoed = append(echoed, s)
		}
	}
	for _, l := range r.kinds("serverlog") {
		s, _ := l["line"].(string)
		traced = append(traced, s)
	}
	want := strings.Join(configLogLines, "\n")
	if strings.Join(echoed, "\n") != want || strings.Join(traced, "\n") != want {
		t.Fatalf("echoed %q\ntraced %q\nwant %q\n%v", echoed, traced, configLogLines, r)
	}
	// Before the exit line, as the embedded cloud has them.
	tr := r.transcript.String()
	if i, j := strings.LastIndex(tr, "serverlog"), strings.LastIndex(tr, "exit 0"); i < 0 || j < i {
		t.Errorf("the server log lines do not come before the exit line:\n%s", tr)
	}
}

// TestHostedCloudOutlivesRestart: the application's mvRestart re-executes
// it joined to the same hosted cloud: a fault applied before the restart
// is still in force for the second image, and both runs are the same
// device.
func TestHostedCloudOutlivesRestart(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "restart", static)
	var (
		h      *runner.Hosted
		starts int
		kept   = errors.New("the second image never started")
	)
	o := runner.Options{Hosted: true, OnHosted: func(hh *runner.Hosted) error {
		h = hh
		_, err := h.Cloud().Faults().Apply(h.DeviceID, faults.Spec{Kind: faults.Latency, Delay: faults.Duration(time.Millisecond)})
		return err
	}}
	r := runHosted(t, bin, o, func(e runner.Event) {
		if e.Kind != runner.TraceLine || !strings.Contains(e.Line, `"kind":"start"`) {
			return
		}
		if starts++; starts == 2 {
			kept = nil
			if l := h.Cloud().Faults().List(h.DeviceID); len(l) != 1 || l[0].Spec.Kind != faults.Latency {
				kept = errors.New("after the restart the faults in force are not the latency applied before it")
			}
		}
	}, "arg1")
	if r.err != nil {
		t.Fatalf("restart: %v", r)
	}
	if kept != nil {
		t.Fatalf("%v: %v", kept, r)
	}
	m := regexp.MustCompile(`run=(\d) id=(UV[0-9a-f]{32})`).FindAllStringSubmatch(r.out.String(), -1)
	if len(m) != 2 || m[0][2] != h.DeviceID || m[1][2] != h.DeviceID {
		t.Fatalf("want two runs as the hosted device %s: %v", h.DeviceID, r)
	}
	if fl := r.kinds("fault"); len(fl) != 1 || fl[0]["phase"] != "start" {
		t.Errorf("fault lines %v: want the latency's start only (it stays in force)", fl)
	}
}

// updateWaitApp opens an UPDATE system notification stream, brings the
// network up and exits 0 once UPDATEDOWNLOADED arrives (1 after a minute
// without).
const updateWaitApp = `#include <stdio.h>
#include <unistd.h>
#include "mv_syscalls.h"
#include "stm32u585xx.h"

static volatile struct MvNotification ring[8] __attribute__((aligned(16)));
static volatile unsigned next_slot;
static volatile int updates;
void TIM8_BRK_IRQHandler(void) {
	volatile struct MvNotification *n = &ring[next_slot];
	if (n->event_type == MV_EVENTTYPE_UPDATEDOWNLOADED) updates++;
	n->event_type = MV_EVENTTYPE_NOEVENT;
	next_slot = (next_slot + 1) % 8;
}

int main(void) {
	struct MvNotificationSetup setup = {
		.irq = TIM8_BRK_IRQn, .buffer = (struct MvNotification *)ring, .buffer_size = sizeof ring};
	MvNotificationHandle centre = 0;
	if (mvSetupNotifications(&setup, &centre) != MV_STATUS_OKAY) return 2;
	NVIC_EnableIRQ(TIM8_BRK_IRQn);
	struct MvOpenSystemNotificationParams upd = {.notification_handle = centre, .notification_tag = 9,
		.notification_source = MV_SYSTEMNOTIFICATIONSOURCE_UPDATE};
	MvSystemEventHandle upd_h = 0;
	if (mvOpenSystemNotification(&upd, &upd_h) != MV_STATUS_OKAY) return 3;
	struct MvRequestNetworkParams np = {.version = 1, .v1 = {.notification_handle = centre, .notification_tag = 7}};
	MvNetworkHandle net = 0;
	if (mvRequestNetwork(&np, &net) != MV_STATUS_OKAY) return 4;
	for (int i = 0; i < 12000 && !updates; i++) usleep(5000);
	printf("updates=%d\n", updates);
	return updates ? 0 : 1;
}
`

// TestHostedUpdateAfter: --update-after in hosted mode has the hosted
// cloud announce the update (no signal: the joined library does not take
// SIGUSR1), which the application hears on its UPDATE stream; the
// transcript shows the update as a fault of its own.
func TestHostedUpdateAfter(t *testing.T) {
	t.Parallel()
	bin := compile(t, "update_wait", updateWaitApp, static)
	r := runHosted(t, bin, runner.Options{Hosted: true, UpdateAfter: time.Millisecond}, nil)
	if r.err != nil || !strings.Contains(r.out.String(), "updates=1") {
		t.Fatalf("the update was not heard: %v", r)
	}
	tr := r.transcript.String()
	for _, want := range []string{"fault  start  update description=", "MV_EVENTTYPE_UPDATEDOWNLOADED"} {
		if !strings.Contains(tr, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, tr)
		}
	}
}
