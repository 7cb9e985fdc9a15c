package test

// End-to-end tests of virtual time (link/doc.go "Virtual time",
// docs/firmware.md "Time and determinism"): under `mvnet run --firmware`
// in deterministic mode, what the cloud times for the device — a latency
// fault, a link-drop's end, a request's timeout, a scenario's at: step —
// happens at the device's virtual instant, the same on every run. The
// firmware (emu/testdata/fw/vtime) prints the instants it sees on its
// virtual clock.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
)

// vtimeFirmware is the vtime program against a loopback HTTPS server whose
// /hello answers and /hang never does (until the cloud gives up on it),
// with the flags that let the cloud reach it.
func vtimeFirmware(t *testing.T) (elf string, flags []string) {
	t.Helper()
	web := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done() // the cloud's deadline ends it
			return
		}
		io.WriteString(w, "hello, virtual time")
	}))
	elf = firmware(t, "vtime", fmt.Sprintf(`FW_URL="%s"`, web.URL("/hello")), fmt.Sprintf(`FW_HANG_URL="%s"`, web.URL("/hang")))
	return elf, append(webFlags(t, web), "--device-id", "UV00000000000000000000000000f00003")
}

// vtimeReport is what the vtime program printed: its virtual instants, µs.
type vtimeReport struct {
	connected, httpAfter, hangAfter, configAt uint64
	httpStatus, hangResult                    uint64
}

var (
	vtConnected = regexp.MustCompile(`(?m)^log: vtime: connected at ([0-9]+) us`)
	vtHTTP      = regexp.MustCompile(`(?m)^log: vtime: HTTP ([0-9]+) after ([0-9]+) us`)
	vtHang      = regexp.MustCompile(`(?m)^log: vtime: hanging request: result ([0-9]+) after ([0-9]+) us`)
	vtConfig    = regexp.MustCompile(`(?m)^log: vtime: config vtime-mode = fast at ([0-9]+) us`)
)

func parseVtime(t *testing.T, r fwRun) vtimeReport {
	t.Helper()
	num := func(re *regexp.Regexp, i int) uint64 {
		m := re.FindStringSubmatch(r.stdout)
		if m == nil {
			t.Fatalf("the image's output lacks %q\nstdout:\n%s\nstderr:\n%s", re, r.stdout, r.stderr)
		}
		v, err := strconv.ParseUint(m[i], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return vtimeReport{
		connected:  num(vtConnected, 1),
		httpStatus: num(vtHTTP, 1), httpAfter: num(vtHTTP, 2),
		hangResult: num(vtHang, 1), hangAfter: num(vtHang, 2),
		configAt: num(vtConfig, 1),
	}
}

// runVtimeTwice runs the image under the scenario twice, checks that both
// runs passed and gave the same transcript, output and server log lines,
// byte for byte, and returns what the image saw.
func runVtimeTwice(t *testing.T, scenario string) vtimeReport {
	t.Helper()
	elf, flags := vtimeFirmware(t)
	sc := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(sc, []byte(scenario), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs [2]string
	var rep vtimeReport
	for i := range runs {
		r := runFirmware(t, elf, append(flags, "--scenario", sc)...)
		r.want(t, 0, "PASS", "exit 0")
		runs[i] = splitTranscript(r)
		if i == 0 {
			rep = parseVtime(t, r)
		}
	}
	if runs[0] != runs[1] {
		t.Fatalf("two runs differ:\n--- first\n%s\n--- second\n%s", runs[0], runs[1])
	}
	return rep
}

// The HTTP request's timeout is 5 s (abi.MinHTTPTimeoutMS, the shortest
// Microvisor allows): the hanging request fails 5 s of virtual time after
// it was made — the cloud's wall deadline cuts the real request, and the
// failure is delivered at the virtual one.
const vtimeTimeoutUS = 5_000_000

// A link dropped for 2 s at boot comes up at the same virtual instant on
// every run, at 2 s or later; a request to an upstream that never answers
// fails exactly its timeout after it was made; a value a scenario sets at
// 9 s is seen by the image at 9 s or later — the same instant, and the
// same transcript, on both runs.
func TestFirmwareVirtualTimeLinkDropTimeoutAndStep(t *testing.T) {
	rep := runVtimeTwice(t, `version: 1
name: virtual time — link drop, timeout, a step at 9s
duration: 120s
faults:
  - {kind: link-drop, for: 2s}
timeline:
  - at: 9s
    set-config: {key: vtime-mode, value: fast}
expect:
  - log: "vtime: done"
  - exit: 0
`)
	if rep.connected < 2_000_000 {
		t.Errorf("connected at %d µs, before the 2 s link-drop ended", rep.connected)
	}
	if rep.httpStatus != 200 {
		t.Errorf("HTTP status %d, want 200", rep.httpStatus)
	}
	if rep.hangResult != 5 { // MV_HTTPRESULT_REQUESTFAILED
		t.Errorf("the hanging request's result is %d, want 5 (REQUESTFAILED)", rep.hangResult)
	}
	// The failure is due at the request's deadline; the image sees it at
	// its next sync point, the deadline itself (next_us).
	if rep.hangAfter < vtimeTimeoutUS || rep.hangAfter > vtimeTimeoutUS+10_000 {
		t.Errorf("the hanging request failed after %d µs, want its timeout, %d µs", rep.hangAfter, vtimeTimeoutUS)
	}
	if rep.configAt < 9_000_000 {
		t.Errorf("the value set at 9 s was seen at %d µs", rep.configAt)
	}
}

// With a 2 s latency fault the image measures at least 2 s of virtual time
// between its request and the response, and the run repeats byte for
// byte.
func TestFirmwareVirtualTimeLatency(t *testing.T) {
	rep := runVtimeTwice(t, `version: 1
name: virtual time — 2 s latency
duration: 300s
faults:
  - {kind: latency, delay: 2s}
timeline:
  - at: 20s
    set-config: {key: vtime-mode, value: fast}
expect:
  - log: "vtime: done"
  - exit: 0
`)
	if rep.httpStatus != 200 || rep.httpAfter < 2_000_000 {
		t.Errorf("HTTP %d after %d µs, want 200 after at least the 2 s latency", rep.httpStatus, rep.httpAfter)
	}
	if rep.hangAfter < vtimeTimeoutUS+2_000_000 {
		t.Errorf("the hanging request failed after %d µs, want its timeout plus the latency", rep.hangAfter)
	}
	if rep.configAt < 20_000_000 {
		t.Errorf("the value set at 20 s was seen at %d µs", rep.configAt)
	}
}

// An MQTT session whose receive ring is full of data the image has not
// read: the cloud holds the rest of the broker's messages back until the
// image reads and returns credit, and answers that credit before the
// device's time moves on — so the instants the image sees each message at
// are the same on every run (they used to depend on a wall-clock wait).
func TestFirmwareVirtualTimeMQTTUnreadData(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	elf := firmware(t, "mqtt_unread", fmt.Sprintf("FW_MQTT_PORT=%d", br.Port))
	flags := append(mqttFlags(br), "--device-id", "UV00000000000000000000000000f00004")
	var runs [2]string
	for i := range runs {
		r := runFirmware(t, elf, flags...)
		r.want(t, 0, "mqtt_unread: message 12 back at", "exit 0")
		runs[i] = splitTranscript(r)
	}
	if runs[0] != runs[1] {
		t.Fatalf("two runs differ:\n--- first\n%s\n--- second\n%s", runs[0], runs[1])
	}
}

// linkUpLine is a transcript's line of the link coming up (its time in ms).
var linkUpLine = regexp.MustCompile(`(?m)^ *([0-9]+)\.([0-9]{3}) ms  ✓ link up$`)

// A scenario step drops the link at 3 s for 1 s, while the image waits
// for a request that hangs: the fault starts at virtual 3 s exactly, the
// request fails then (its channel closed with the link), the link comes
// back after 4 s, and the image goes on to see the value set at 9 s — the
// same transcript on both runs. The step's fault is applied while the
// device's clock is held at 3 s (the scenario engine's hold), with the
// cloud's clock for it advancing in the device's SYNC.
func TestFirmwareVirtualTimeStepDropsLink(t *testing.T) {
	elf, flags := vtimeFirmware(t)
	sc := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(sc, []byte(`version: 1
name: virtual time — a step drops the link
duration: 120s
timeline:
  - at: 3s
    apply: {kind: link-drop, for: 1s}
  - at: 9s
    set-config: {key: vtime-mode, value: fast}
expect:
  - log: "vtime: done"
  - network: disconnected
  - exit: 0
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs [2]string
	for i := range runs {
		r := runFirmware(t, elf, append(flags, "--scenario", sc)...)
		r.want(t, 0, "PASS", "exit 0", " 3000.000 ms  fault  start  link-drop for=1s")
		runs[i] = splitTranscript(r)
		if i > 0 {
			continue
		}
		rep := parseVtime(t, r)
		// The request was made within the first millisecond.
		if rep.hangAfter < 2_999_000 || rep.hangAfter > 3_000_000 {
			t.Errorf("the hanging request ended after %d µs, want when the link dropped, at 3 s", rep.hangAfter)
		}
		ups := linkUpLine.FindAllStringSubmatch(r.stderr, -1)
		if len(ups) == 0 {
			t.Fatalf("no link-up line:\n%s", r.stderr)
		}
		last := ups[len(ups)-1]
		if ms, _ := strconv.Atoi(last[1]); ms < 4000 {
			t.Errorf("the link came back at %s.%s ms, before the drop's 1 s ended", last[1], last[2])
		}
		if rep.configAt < 9_000_000 {
			t.Errorf("the value set at 9 s was seen at %d µs", rep.configAt)
		}
	}
	if runs[0] != runs[1] {
		t.Fatalf("two runs differ:\n--- first\n%s\n--- second\n%s", runs[0], runs[1])
	}
}

// A when: step reacting to the device's server log line lands at the same
// virtual instant on every run: the cloud holds the device's clock while it
// delivers the observation, and the scenario engine holds it on until the
// step is carried out — so the latency the step applies as the image logs
// "connected" is in force for the request the image makes next, and both
// runs give the same transcript.
func TestFirmwareVirtualTimeWhenStep(t *testing.T) {
	rep := runVtimeTwice(t, `version: 1
name: virtual time — a when step on a log line
duration: 300s
timeline:
  - when: {log: "^vtime: connected"}
    apply: {kind: latency, delay: 2s}
  - at: 20s
    set-config: {key: vtime-mode, value: fast}
expect:
  - log: "vtime: done"
  - exit: 0
`)
	if rep.httpStatus != 200 || rep.httpAfter < 2_000_000 {
		t.Errorf("HTTP %d after %d µs, want 200 after at least the 2 s latency the when: step applied before the request", rep.httpStatus, rep.httpAfter)
	}
}

var (
	faultStartLine = regexp.MustCompile(`(?m)^ *([0-9]+\.[0-9]{3}) ms  fault  start  latency`)
	exit10Line     = regexp.MustCompile(`(?m)^ *([0-9]+\.[0-9]{3}) ms  exit 10$`)
)

// After a restart the image's time starts again at 0 and the cloud rebases
// the device on its clock: a fault a when: step applies in the second
// boot is traced at the second boot's time — at or before the exit's —
// not at the time the first boot had reached plus the second's.
func TestFirmwareVirtualTimeRestartFaultTime(t *testing.T) {
	elf := firmware(t, "restart", "FW_SYSTEM_RESET=0")
	sc := filepath.Join(t.TempDir(), "scenario.yaml")
	if err := os.WriteFile(sc, []byte(`version: 1
name: a fault after a restart
duration: 90s
timeline:
  - when: {log: "line-two"}
    apply: {kind: latency, delay: 1s}
expect:
  - log: "line-two!! wake reason 2"
  - exit: 10
`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFirmware(t, elf, "--device-id", "UV00000000000000000000000000f00005", "--scenario", sc)
	r.want(t, 0, "restarts 1", "line-two!! wake reason 2", "exit 10", "PASS")
	f, e := faultStartLine.FindStringSubmatchIndex(r.stderr), exit10Line.FindStringSubmatchIndex(r.stderr)
	if f == nil || e == nil {
		t.Fatalf("no fault start or exit line:\n%s", r.stderr)
	}
	ft, _ := strconv.ParseFloat(r.stderr[f[2]:f[3]], 64)
	et, _ := strconv.ParseFloat(r.stderr[e[2]:e[3]], 64)
	if ft > et || f[0] < strings.Index(r.stderr, "restarts 1") {
		t.Fatalf("the fault started at %.3f ms, after the exit at %.3f ms (or before the restart): not on the second boot's time\n%s", ft, et, r.stderr)
	}
}
