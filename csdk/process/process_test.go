//go:build linux

package process

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/internal/pki"
	"github.com/mvnet/mvnet/kernel"
)

// hostMem is memory outside the Go heap, as a C application's would be,
// handed out in 16-byte aligned pieces.
type hostMem struct {
	b   []byte
	off int
}

func newHostMem(t testing.TB) *hostMem {
	b, err := syscall.Mmap(-1, 0, 1<<16, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	return &hostMem{b: b}
}

func (h *hostMem) alloc(n int) (uint64, []byte) {
	s := h.b[h.off : h.off+n]
	h.off += (n + 15) &^ 15
	return uint64(uintptr(unsafe.Pointer(&s[0]))), s
}

type pends struct {
	mu  sync.Mutex
	irq []uint32
}

func (p *pends) pend(irq uint32) { p.mu.Lock(); p.irq = append(p.irq, irq); p.mu.Unlock() }
func (p *pends) count() int      { p.mu.Lock(); defer p.mu.Unlock(); return len(p.irq) }

type exitCalled struct{ code int }

// newTestProcess builds a Process over the real process memory with the
// x86-64 layout (what cgo reports on this host) and the given environment.
func newTestProcess(t testing.TB, env map[string]string) (*Process, *pends) {
	t.Helper()
	pd := &pends{}
	p, err := New(Options{
		ABI:    abi.X64,
		Pend:   pd.pend,
		Getenv: func(k string) string { return env[k] },
		Exit:   func(code int) { panic(exitCalled{code}) },
		Restart: func(env []string) error {
			panic(env)
		},
		Stderr: &bytes.Buffer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, pd
}

func call(t *testing.T, p *Process, name string, args ...uint64) abi.Status {
	t.Helper()
	st, err := p.CallByName(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readTrace(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("trace line %q: %v", l, err)
		}
		if _, ok := m["t"].(float64); !ok {
			t.Fatalf("trace line without t: %q", l)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestShimCurrent(t *testing.T) {
	want, err := ShimC()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../lib/syscalls_gen.c")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("csdk/lib/syscalls_gen.c is stale: run go generate ./csdk/lib")
	}
}

func TestSupportTable(t *testing.T) {
	served := map[string]string{}
	for _, s := range SupportTable() {
		served[s.Name] = s.Served
		if s.Served == NotServed && s.Note == "" {
			t.Errorf("%s is unavailable without a note", s.Name)
		}
	}
	for _, c := range abi.Calls() {
		k, inKernel := kernel.Lookup(c.Name)
		want := NotServed
		switch {
		case inKernel && k.Support != kernel.None:
			want = ServedByKernel
		case emulated[c.Name].fn != nil:
			want = ServedHere
		}
		if served[c.Name] != want {
			t.Errorf("%s served %q, want %q", c.Name, served[c.Name], want)
		}
	}
	for _, name := range []string{"mvGetHClk", "mvTestingComplete", "mvRestart", "mvSystemLedEnable", "mvOpenSystemNotification"} {
		if served[name] == NotServed {
			t.Errorf("%s is not served", name)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	dir := t.TempDir()
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	good := map[string]string{
		EnvDeviceID: "UV0123456789abcdef0123456789abcdef",
		EnvCAFile:   caFile,
		EnvResolve:  "api.example.test:8443:127.0.0.1, other.test:443:::1",
		EnvAllow:    "127.0.0.0/8,::1",
		EnvTrace:    filepath.Join(dir, "trace"),
		EnvLog:      "debug:" + filepath.Join(dir, "log"),
	}
	c, err := ConfigFromEnv(func(k string) string { return good[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.DeviceID != good[EnvDeviceID] || len(c.RootCAs) != 1 || len(c.Resolve) != 2 || len(c.Allow) != 2 || c.Allow[1].Bits() != 128 {
		t.Fatalf("config %+v", c)
	}
	if c.TraceMax != DefaultTraceMax || c.UpdateSignal {
		t.Fatalf("defaults: TraceMax %d, UpdateSignal %v", c.TraceMax, c.UpdateSignal)
	}
	good[EnvTraceMax], good[EnvUpdateSignal] = "0", "1"
	if c, err = ConfigFromEnv(func(k string) string { return good[k] }); err != nil || c.TraceMax != 0 || !c.UpdateSignal {
		t.Fatalf("MVNET_TRACE_MAX=0 MVNET_UPDATE_SIGNAL=1: %+v, %v", c, err)
	}
	for name, bad := range map[string]string{
		EnvDeviceID:     "UV123",
		EnvCAFile:       filepath.Join(dir, "missing.pem"),
		EnvResolve:      "no-port",
		EnvAllow:        "10.0.0.0/33",
		EnvLog:          "chatty",
		EnvRestarts:     "-1",
		EnvTraceMax:     "64M",
		EnvUpdateSignal: "yes",
	} {
		env := map[string]string{name: bad}
		_, err := ConfigFromEnv(func(k string) string { return env[k] })
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != name || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: err = %v, want a ConfigError naming the variable", name, bad, err)
		}
	}
	notPEM := filepath.Join(dir, "x.pem")
	_ = os.WriteFile(notPEM, []byte("hello"), 0o644)
	if _, err := ConfigFromEnv(func(k string) string { return map[string]string{EnvCAFile: notPEM}[k] }); err == nil {
		t.Error("a CA file without certificates was accepted")
	}
}

func TestGlobalBadConfigExits(t *testing.T) {
	var stderr bytes.Buffer
	defer func() {
		r := recover()
		if e, ok := r.(exitCalled); !ok || e.code != 2 {
			t.Fatalf("recovered %v, want exit(2)", r)
		}
		if !strings.Contains(stderr.String(), "MVNET_ALLOW") {
			t.Fatalf("stderr %q does not name the variable", stderr.String())
		}
		if global.Load() != nil {
			t.Fatal("a failed start was kept")
		}
	}()
	Global(func() Options {
		return Options{
			ABI: abi.X64, Pend: func(uint32) {},
			Getenv: func(k string) string { return map[string]string{EnvAllow: "nonsense"}[k] },
			Exit:   func(code int) { panic(exitCalled{code}) },
			Stderr: &stderr,
		}
	})
}

func TestEmulatedCalls(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	hm := newHostMem(t)
	a, b := hm.alloc(8)
	for name, hz := range map[string]uint32{"mvGetSysClk": SysClkHz, "mvGetHClk": HClkHz, "mvGetPClk1": PClk1Hz, "mvGetPClk2": PClk2Hz} {
		if st := call(t, p, name, a); st != abi.StatusOkay || binary.LittleEndian.Uint32(b) != hz {
			t.Fatalf("%s = %v, %d", name, st, binary.LittleEndian.Uint32(b))
		}
		for _, bad := range []uint64{0, 8} {
			if st := call(t, p, name, bad); st != abi.StatusParameterFault {
				t.Fatalf("%s(%#x) = %v", name, bad, st)
			}
		}
	}
	if st := call(t, p, "mvSystemLedEnable", 1); st != abi.StatusOkay || !p.led.Load() {
		t.Fatal(st)
	}
	b[0] = 0xaa
	if st := call(t, p, "mvGetWakeReason", a); st != abi.StatusOkay || b[0] != byte(abi.WakeReasonColdBoot) {
		t.Fatal(st, b[0])
	}
	// Calls nobody serves (which network calls these are changes as the
	// kernel grows) answer UNAVAILABLE whatever their arguments.
	var unserved []string
	for _, s := range SupportTable() {
		if s.Served == NotServed {
			unserved = append(unserved, s.Name)
		}
	}
	if len(unserved) == 0 {
		t.Fatal("no unserved call to try")
	}
	for _, name := range unserved {
		if st := call(t, p, name); st != abi.StatusUnavailable {
			t.Fatalf("%s = %v", name, st)
		}
	}
	// Served by the kernel: a handle that is no centre.
	if st := call(t, p, "mvTempTriggerNotification", 0x1234, uint64(abi.EventTypeChannelDataReadable), 1); st != abi.StatusInvalidHandle {
		t.Fatalf("mvTempTriggerNotification = %v", st)
	}
	if st := call(t, p, "mvRestart", 7); st != abi.StatusParameterFault {
		t.Fatalf("mvRestart(7) = %v", st)
	}
	func() {
		defer func() {
			env, ok := recover().([]string)
			if !ok || !containsKV(env, EnvRestarts+"=1") || !containsKV(env, EnvDeviceID+"="+p.DeviceID()) {
				t.Fatalf("restart env %v", env)
			}
		}()
		call(t, p, "mvRestart", 0)
	}()
	func() {
		defer func() {
			if e, ok := recover().(exitCalled); !ok || e.code != 255 {
				t.Fatalf("exit %v", e)
			}
		}()
		call(t, p, "mvTestingComplete", 256)
	}()
	var sawNote, sawExit bool
	for _, l := range readTrace(t, trace) {
		if note, _ := l["note"].(string); l["call"] == unserved[0] && strings.HasPrefix(note, "not ") && l["status"] == "MV_STATUS_UNAVAILABLE" {
			sawNote = true
		}
		if l["kind"] == "exit" && l["status"] == float64(255) {
			sawExit = true
		}
	}
	if !sawNote || !sawExit {
		t.Fatalf("trace lacks the unavailable note (%v) or the exit (%v)", sawNote, sawExit)
	}
}

func containsKV(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func TestNetworkAndSystemNotifications(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, pd := newTestProcess(t, map[string]string{EnvTrace: trace})
	hm := newHostMem(t)
	const irq = 51
	ring, _ := hm.alloc(8 * abi.NotificationSize)
	setup, sb := hm.alloc(24)
	binary.LittleEndian.PutUint32(sb[0:], irq)
	binary.LittleEndian.PutUint64(sb[8:], ring)
	binary.LittleEndian.PutUint32(sb[16:], 8*abi.NotificationSize)
	hOut, hb := hm.alloc(8)
	if st := call(t, p, "mvSetupNotifications", setup, hOut); st != abi.StatusOkay {
		t.Fatal(st)
	}
	centre := binary.LittleEndian.Uint64(hb)
	params, pb := hm.alloc(24)
	binary.LittleEndian.PutUint32(pb[0:], 1)
	binary.LittleEndian.PutUint64(pb[8:], centre)
	binary.LittleEndian.PutUint32(pb[16:], 9)
	netOut, nb := hm.alloc(8)
	if st := call(t, p, "mvRequestNetwork", params, netOut); st != abi.StatusOkay {
		t.Fatal(st)
	}
	statusOut, stb := hm.alloc(4)
	deadline := time.Now().Add(10 * time.Second)
	for binary.LittleEndian.Uint32(stb) != uint32(abi.NetworkStatusConnected) {
		if time.Now().After(deadline) {
			t.Fatal("network never connected")
		}
		if st := call(t, p, "mvGetNetworkStatus", binary.LittleEndian.Uint64(nb), statusOut); st != abi.StatusOkay {
			t.Fatal(st)
		}
		time.Sleep(time.Millisecond)
	}
	if pd.count() < 2 {
		t.Fatalf("%d pends, want CONNECTING and CONNECTED", pd.count())
	}

	// System notifications (served by the kernel): checked, opened, closed.
	sp, spb := hm.alloc(16)
	binary.LittleEndian.PutUint64(spb[0:], centre)
	binary.LittleEndian.PutUint32(spb[8:], 3)
	binary.LittleEndian.PutUint32(spb[12:], uint32(abi.SystemNotificationSourceUpdate))
	sh, shb := hm.alloc(8)
	if st := call(t, p, "mvOpenSystemNotification", 0, sh); st != abi.StatusParameterFault {
		t.Fatal(st)
	}
	if st := call(t, p, "mvOpenSystemNotification", sp, 8); st != abi.StatusParameterFault {
		t.Fatal(st)
	}
	binary.LittleEndian.PutUint32(spb[12:], 7)
	if st := call(t, p, "mvOpenSystemNotification", sp, sh); st != abi.StatusInvalidHandle {
		t.Fatal(st)
	}
	binary.LittleEndian.PutUint32(spb[12:], uint32(abi.SystemNotificationSourceNetwork))
	binary.LittleEndian.PutUint64(spb[0:], centre+1)
	if st := call(t, p, "mvOpenSystemNotification", sp, sh); st != abi.StatusInvalidHandle {
		t.Fatal(st)
	}
	binary.LittleEndian.PutUint64(spb[0:], centre)
	if st := call(t, p, "mvOpenSystemNotification", sp, sh); st != abi.StatusOkay || binary.LittleEndian.Uint64(shb) == 0 {
		t.Fatal(st)
	}
	if st := call(t, p, "mvCloseSystemNotification", sh); st != abi.StatusOkay || binary.LittleEndian.Uint64(shb) != 0 {
		t.Fatal(st)
	}
	if st := call(t, p, "mvCloseSystemNotification", sh); st != abi.StatusInvalidHandle {
		t.Fatal(st)
	}

	var notes int
	for _, l := range readTrace(t, trace) {
		if l["kind"] == "notification" {
			notes++
			if l["event"] != "MV_EVENTTYPE_NETWORKSTATUSCHANGED" || l["tag"] != float64(9) || l["irq"] != float64(irq) {
				t.Errorf("notification line %v", l)
			}
		}
	}
	if notes != pd.count() {
		t.Fatalf("%d notification lines for %d pends", notes, pd.count())
	}
}

// TestTraceEventFromHAL: HAL events follow the start line, which the
// library writes as it starts, before any of them (and before the kernel).
func TestTraceEventFromHAL(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	p.TraceEvent("gpio", `"op":"write","port":"GPIOA","pin":5,"level":1`)
	p.TraceEvent("uart", `"broken`)
	p.TraceEvent("tick", "")
	l := readTrace(t, trace)
	if len(l) != 4 || l[0]["kind"] != "start" || l[0]["device"] != p.DeviceID() ||
		l[1]["kind"] != "gpio" || l[1]["pin"] != float64(5) || l[2]["raw"] != `"broken` || l[3]["kind"] != "tick" {
		t.Fatalf("trace %v", l)
	}
	if p.started.Load() {
		t.Error("HAL events started the kernel")
	}
}

// TestTraceEnumNames: enum arguments and enum outputs are traced by name; a
// value outside the enum stays a number.
func TestTraceEnumNames(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	hm := newHostMem(t)
	a, _ := hm.alloc(8)
	if st := call(t, p, "mvGetWakeReason", a); st != abi.StatusOkay {
		t.Fatal(st)
	}
	call(t, p, "mvTempTriggerNotification", 0x1234, uint64(abi.EventTypeChannelDataReadable), 1)
	call(t, p, "mvRestart", 7)
	var seen int
	for _, l := range readTrace(t, trace) {
		args, _ := l["args"].(map[string]any)
		out, _ := l["out"].(map[string]any)
		switch l["call"] {
		case "mvGetWakeReason":
			if out["reason"] != "MV_WAKEREASON_COLDBOOT" {
				t.Errorf("mvGetWakeReason out %v", out)
			}
			seen++
		case "mvTempTriggerNotification":
			if args["type"] != "MV_EVENTTYPE_CHANNELDATAREADABLE" {
				t.Errorf("mvTempTriggerNotification args %v", args)
			}
			seen++
		case "mvRestart":
			if args["mode"] != float64(7) {
				t.Errorf("mvRestart args %v", args)
			}
			seen++
		}
	}
	if seen != 3 {
		t.Fatalf("%d of 3 calls traced", seen)
	}
}

// TestExitLine: the exit hook's line is written once, with the status the
// process exits with (or none if unknown), and not after mvTestingComplete's.
func TestExitLine(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace})
	p.Exited(true, 259)
	p.Exited(true, 1)
	l := readTrace(t, trace)
	if len(l) != 2 || l[1]["kind"] != "exit" || l[1]["status"] != float64(3) {
		t.Fatalf("trace %v", l)
	}

	trace2 := filepath.Join(t.TempDir(), "trace.jsonl")
	p2, _ := newTestProcess(t, map[string]string{EnvTrace: trace2})
	p2.Exited(false, 0)
	if l := readTrace(t, trace2); len(l) != 2 || l[1]["kind"] != "exit" || l[1]["status"] != nil {
		t.Fatalf("unknown status: trace %v", l)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"plain", "q\"b\\", "ctl\x00\x01\n\t\x7f", "ünï", "bad\xff\xfe", ""} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want && !strings.Contains(s, "\xff") {
			t.Fatalf("%q round-trips to %q", s, got)
		}
	}
}

// TestLinkErrorTheTraceCannotTakeIsLogged: with MVNET_TRANSCRIPT=1 the
// kernel leaves link errors to the trace; past MVNET_TRACE_MAX the trace
// keeps the newest lines, so it still takes them, but one it cannot take
// (the file cannot be kept under the cap) is logged as a warning instead
// of vanishing.
func TestLinkErrorTheTraceCannotTakeIsLogged(t *testing.T) {
	dir, logDir := t.TempDir(), t.TempDir()
	trace, logFile := filepath.Join(dir, "trace.jsonl"), filepath.Join(logDir, "log")
	p, _ := newTestProcess(t, map[string]string{EnvTrace: trace, EnvTraceMax: "400", EnvTranscript: "1", EnvLog: "info:" + logFile})
	if !p.transcriptShowsLinkErrors() {
		t.Fatal("a transcript with an open trace does not show link errors")
	}
	p.linkEvent(kernel.Event{Kind: kernel.EventLinkError, Text: "first error"})
	for i := 0; i < 20; i++ {
		p.TraceEvent("gpio", `"op":"toggle","port":"GPIOA","pin":5`)
	}
	p.linkEvent(kernel.Event{Kind: kernel.EventLinkError, Text: "second error"})
	b, _ := os.ReadFile(trace)
	if !strings.Contains(string(b), "second error") || !strings.Contains(string(b), `"dropped"`) {
		t.Fatalf("past the cap, the newest link error is not in the trace:\n%s", b)
	}
	// The trace's directory goes: the file can no longer be rewritten.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		p.TraceEvent("gpio", `"op":"toggle","port":"GPIOA","pin":5`)
	}
	p.linkEvent(kernel.Event{Kind: kernel.EventLinkError, Text: "third error"})
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "first error") || strings.Contains(string(log), "second error") {
		t.Errorf("a link error in the trace was logged too:\n%s", log)
	}
	if !strings.Contains(string(log), "level=WARN msg=\"link error\"") || !strings.Contains(string(log), "third error") {
		t.Errorf("the link error the trace could not take is not logged as a warning:\n%s", log)
	}
}
