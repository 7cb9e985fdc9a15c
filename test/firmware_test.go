package test

// End-to-end tests of `mvnet run --firmware`: the test firmware
// (emu/testdata/fw, built with arm-none-eabi-gcc by internal/fwbuild) runs
// on the emulator under the mvnet binary, against real servers on
// loopback: an HTTPS server, Mosquitto, the embedded cloud's store.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/emu/gdb/gdbtest"
	"github.com/mvnet/mvnet/internal/fwbuild"
	"github.com/mvnet/mvnet/internal/mosquitto"
	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// firmwareRunLimit bounds one firmware run.
const firmwareRunLimit = 2 * time.Minute

// firmware builds a test program (skipping without the cross compiler,
// failing under CI).
func firmware(t testing.TB, program string, defines ...string) string {
	t.Helper()
	tool.Require(t, fwbuild.Compiler)
	elf, err := fwbuild.Build(program, fwbuild.Options{Defines: defines})
	if err != nil {
		t.Fatalf("building %s: %v", program, err)
	}
	return elf
}

var (
	mvnetOnce sync.Once
	mvnetBin  string
	mvnetErr  error
)

// sharedMvnet builds the mvnet command once for the firmware tests (each
// run executes it twice: the runner, and the emulator as its application).
func sharedMvnet(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the mvnet command")
	}
	mvnetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mvnet-fw-test-")
		if err != nil {
			mvnetErr = err
			return
		}
		mvnetBin = filepath.Join(dir, "mvnet")
		args := []string{"build", "-o", mvnetBin}
		if raceEnabled {
			args = append(args, "-race") // the emulator's goroutines under the race detector too
		}
		out, err := exec.Command("go", append(args, "github.com/mvnet/mvnet/cmd/mvnet")...).CombinedOutput()
		if err != nil {
			mvnetErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if mvnetErr != nil {
		t.Fatal(mvnetErr)
	}
	return mvnetBin
}

// fwRun is the outcome of one `mvnet run --firmware`.
type fwRun struct {
	stdout, stderr string
	code           int
}

// runFirmware runs `mvnet run --firmware elf args…` to its end.
func runFirmware(t testing.TB, elf string, args ...string) fwRun {
	t.Helper()
	bin := sharedMvnet(t)
	ctx, cancel := context.WithTimeout(context.Background(), firmwareRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run", "--firmware", elf}, args...)...)
	cmd.Env = append(os.Environ(), "MVNET_LIBCACHE="+os.Getenv("MVNET_LIBCACHE"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := fwRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("mvnet run --firmware %s: %v\nstderr:\n%s", filepath.Base(elf), err, r.stderr)
	}
	if ctx.Err() != nil {
		t.Fatalf("mvnet run --firmware %s did not end within %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(elf), firmwareRunLimit, r.stdout, r.stderr)
	}
	return r
}

func (r fwRun) want(t testing.TB, code int, stderrHas ...string) {
	t.Helper()
	bad := r.code != code
	for _, s := range stderrHas {
		if !strings.Contains(r.stderr, s) {
			bad = true
			t.Errorf("stderr lacks %q", s)
		}
	}
	if bad {
		t.Fatalf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// webForFirmware is an HTTPS server on loopback and the flags that let the
// cloud reach and trust it; the firmware's URL is built in.
func webForFirmware(t *testing.T) (elf string, flags []string) {
	t.Helper()
	web := testenv.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, firmware")
	}))
	elf = firmware(t, "http_get", fmt.Sprintf(`FW_URL="%s"`, web.URL("/hello")))
	return elf, webFlags(t, web)
}

// webFlags let the cloud reach and trust web, a loopback server.
func webFlags(t *testing.T, web *testenv.Server) []string {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "web-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: web.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--allow", "127.0.0.0/8", "--resolve", web.Resolve, "--ca-file", caFile}
}

// The exact image makes an HTTPS request through the embedded cloud to a
// real server, logs with mvServerLog, and exits with mvTestingComplete.
func TestFirmwareHTTPGet(t *testing.T) {
	elf, flags := webForFirmware(t)
	r := runFirmware(t, elf, flags...)
	r.want(t, 0, "mvSendHttpRequest(", "http_get: HTTP 200, 15 body bytes: hello, firmware", "exit 0")
	if !strings.Contains(r.stdout, "request sent: GET https://") {
		t.Fatalf("the USART output is not the application's stdout:\n%s", r.stdout)
	}
}

// startLinePID and faultID are the parts of a transcript a run cannot
// repeat: the process id, and a fault's ID (random, as the REST API's
// are).
var (
	startLinePID = regexp.MustCompile(`started \(pid [0-9]+,`)
	faultID      = regexp.MustCompile(`\(FT[0-9a-f]+\)`)
)

// transcriptLine is a line of the transcript (a time stamp first); the
// other lines of stderr are the library's echo of server log lines, which
// reach stderr through a pipe of their own, so their interleaving with the
// transcript is not the run's to repeat (their order among themselves is).
var transcriptLine = regexp.MustCompile(`^ *[0-9]+\.[0-9]{3} ms  `)

// Two runs of the same image give the same transcript, byte for byte,
// virtual time stamps included (only the process id differs), the same
// output and the same server log lines: an HTTPS request, a config fetch
// from the embedded cloud's store, and an MQTT session with Mosquitto
// (its own message comes back before the broker's PUBACK, which the
// emulator waits for: both land after the publish call).
func TestFirmwareRunsAreDeterministic(t *testing.T) {
	web, webFlags := webForFirmware(t)
	seed := configSeed(t)
	br := mosquitto.Start(t, mosquitto.Options{})
	for _, c := range []struct {
		name, elf string
		flags     []string
	}{
		{"http_get", web, webFlags},
		{"config_log", firmware(t, "config_log"), nil},
		{"mqtt", firmware(t, "mqtt", fmt.Sprintf("FW_MQTT_PORT=%d", br.Port)), mqttFlags(br)},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("MVNET_CONFIG_FILE", seed)
			flags := append(c.flags, "--device-id", "UV00000000000000000000000000f00001")
			var runs [2]string
			for i := range runs {
				r := runFirmware(t, c.elf, flags...)
				r.want(t, 0, "MV_EVENTTYPE_CHANNELDATAREADABLE", "exit 0")
				runs[i] = splitTranscript(r)
			}
			if runs[0] != runs[1] {
				t.Fatalf("two runs differ:\n--- first\n%s\n--- second\n%s", runs[0], runs[1])
			}
		})
	}
}

// splitTranscript is a run's transcript (process id and fault IDs masked), then its
// output, then the rest of stderr.
func splitTranscript(r fwRun) string {
	var transcript, other strings.Builder
	for _, l := range strings.SplitAfter(r.stderr, "\n") {
		if transcriptLine.MatchString(l) {
			l = startLinePID.ReplaceAllString(l, "started (pid N,")
			transcript.WriteString(faultID.ReplaceAllString(l, "(FT…)"))
		} else {
			other.WriteString(l)
		}
	}
	return transcript.String() + "--- stdout\n" + r.stdout + "--- the rest of stderr\n" + other.String()
}

// An MQTT session against Mosquitto: connect, subscribe, publish QoS 1,
// receive it back, acknowledge, disconnect.
func TestFirmwareMQTT(t *testing.T) {
	br := mosquitto.Start(t, mosquitto.Options{})
	elf := firmware(t, "mqtt", fmt.Sprintf("FW_MQTT_PORT=%d", br.Port))
	r := runFirmware(t, elf, mqttFlags(br)...)
	r.want(t, 0, "mvMqttRequestConnect(", "mvMqttReceiveMessage(", "exit 0")
}

// mqttFlags let the cloud reach the broker as the mqtt program names it
// (mqtt.fw.test, plain TCP).
func mqttFlags(br *mosquitto.Broker) []string {
	return []string{"--mqtt-plaintext", "--allow", "127.0.0.0/8",
		"--resolve", fmt.Sprintf("mqtt.fw.test:%d:127.0.0.1", br.Port)}
}

// Config and a secret from the embedded cloud's store, and server logging.
func TestFirmwareConfigAndLogs(t *testing.T) {
	elf := firmware(t, "config_log")
	r := runFirmwareEnv(t, elf, []string{"MVNET_CONFIG_FILE=" + configSeed(t)})
	r.want(t, 0, "mvSendConfigFetchRequest(", "[mvServerLog] config_log:", "mqtt.example.com", "exit 0")
	if strings.Contains(r.stderr, "s3cr3t") {
		t.Fatal("the secret's value reached the transcript")
	}
}

// configSeed is a MVNET_CONFIG_FILE with what config_log fetches.
func configSeed(t *testing.T) string {
	t.Helper()
	seed := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(seed, []byte(`{"configs":{"broker-host":"mqtt.example.com"},"device_secrets":{"api-key":"s3cr3t"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return seed
}

// runFirmwareEnv is runFirmware with extra environment variables.
func runFirmwareEnv(t testing.TB, elf string, env []string, args ...string) fwRun {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return runFirmware(t, elf, args...)
}

// Under a scenario (hosted cloud) — with a latency fault on the link, and
// with the link dropped at boot for a while — the request still completes
// and the expectations hold. While the link is down virtual time runs on
// (the image sees the network connecting) and the fault's 1 s is the
// device's time (firmware_vtime_test.go has the instants).
func TestFirmwareUnderScenario(t *testing.T) {
	elf, flags := webForFirmware(t)
	for _, fault := range []string{"{kind: latency, delay: 100ms}", "{kind: link-drop, for: 1s}"} {
		kind := strings.TrimSuffix(strings.Fields(fault)[1], ",")
		t.Run(kind, func(t *testing.T) {
			sc := filepath.Join(t.TempDir(), "scenario.yaml")
			if err := os.WriteFile(sc, []byte(`version: 1
name: firmware under a fault
duration: 90s
faults:
  - `+fault+`
expect:
  - request: {url: "https://api.mvnet.test:*", method: GET, count: 1}
  - log: "http_get: HTTP 200"
  - exit: 0
`), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFirmware(t, elf, append(flags, "--scenario", sc)...)
			r.want(t, 0, "PASS", "mvSendHttpRequest(", "fault  start  "+kind)
		})
	}
}

// The two-thread scheduler on PendSV and SysTick, and a register-level
// I2C read of the board's MCP9808.
func TestFirmwareSchedAndI2C(t *testing.T) {
	r := runFirmware(t, firmware(t, "sched"))
	r.want(t, 0, "exit 0")
	board := filepath.Join(t.TempDir(), "board.json")
	if err := os.WriteFile(board, []byte(`{"version":1,"devices":[
		{"bus":"I2C1","address":"0x18","model":"mcp9808","values":{"temperature_c":21.5}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runFirmware(t, firmware(t, "i2c"), "--board", board)
	r.want(t, 0, "exit 0")
	if !strings.Contains(r.stdout, "temperature 21.50 C") {
		t.Fatalf("the temperature (21.50 °C) is not in the output:\n%s", r.stdout)
	}
	// The USART's lines are in the transcript (the trace) too.
	if !regexp.MustCompile(`uart data=.*temperature 21\.50 C.* instance=USART2`).MatchString(r.stderr) {
		t.Fatalf("the USART line is not in the transcript:\n%s", r.stderr)
	}
}

// Each deliberate fault ends the run with a crash report naming it, the
// faulting instruction and a symbolised backtrace, and exit status 70.
func TestFirmwareFaultsCrashReport(t *testing.T) {
	for _, c := range []struct {
		fault int
		want  []string
	}{
		{1, []string{"UNDEFINSTR", "undefined_instruction"}},
		{2, []string{"PRECISERR", "BFAR", "0x60000000", "bad_access"}},
		{3, []string{"DIVBYZERO"}},
		{4, []string{"STKOF", "recurse"}},
	} {
		t.Run(fmt.Sprint(c.fault), func(t *testing.T) {
			r := runFirmware(t, firmware(t, "faults", fmt.Sprintf("FW_FAULT=%d", c.fault)))
			r.want(t, 70, append(c.want, "firmware crash", "instruction:", "backtrace")...)
		})
	}
}

// Bad input is named and exits non-zero before anything runs.
func TestFirmwareBadImage(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app.bin")
	if err := os.WriteFile(bin, []byte{1, 2, 3, 4}, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runFirmware(t, bin)
	r.want(t, 1, "not an ELF file; a raw binary needs --load-address")
	r = runFirmware(t, filepath.Join(dir, "missing.elf"))
	r.want(t, 1, "no such file or directory")
}

// gdbStubLine is the emulator's note of where its GDB stub listens.
var gdbStubLine = regexp.MustCompile(`GDB stub at (127\.0\.0\.1:[0-9]+)`)

// A debugger attaches to the image under `mvnet run --firmware --gdb`:
// it waits at its reset handler, stops at a breakpoint by name, reads
// registers and memory, single-steps, and sees the run end with the
// image's status.
func TestFirmwareGDBAttach(t *testing.T) {
	tool.Require(t, "gdb-multiarch")
	elf := firmware(t, "sched")
	bin := sharedMvnet(t)
	ctx, cancel := context.WithTimeout(context.Background(), firmwareRunLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--firmware", elf, "--gdb", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	var rest strings.Builder
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			rest.WriteString(sc.Text() + "\n")
			if m := gdbStubLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		close(addr)
	}()
	a, ok := <-addr
	if !ok {
		<-copied
		t.Fatalf("no GDB stub address on stderr:\n%s", rest.String())
	}
	res := gdbtest.Run(t, gdbtest.Options{Addr: a, ELF: elf, Commands: []string{
		"info registers pc",
		"break main",
		"continue",
		"bt",
		"p $msp",
		"stepi",
		"info registers pc",
		"delete",
		"continue",
	}})
	werr := cmd.Wait()
	<-copied
	out := res.Output
	for _, want := range []string{"Reset_Handler", "Breakpoint 1, main", "#0  main", "exited normally"} {
		if !strings.Contains(out, want) {
			t.Errorf("gdb output lacks %q", want)
		}
	}
	if werr != nil || t.Failed() {
		t.Fatalf("mvnet: %v\ngdb:\n%s\nstderr:\n%s", werr, out, rest.String())
	}
}

// --realtime: the same request, with the cloud's replies applied as they
// come and the clock paced to the wall clock.
func TestFirmwareRealtime(t *testing.T) {
	elf, flags := webForFirmware(t)
	r := runFirmware(t, elf, append(flags, "--realtime")...)
	r.want(t, 0, "http_get: HTTP 200", "exit 0")
}

// restartImage is a raw image (hand-assembled Thumb) that calls mvRestart
// on a cold boot and, once restarted (mvGetWakeReason is no longer
// COLDBOOT), mvTestingComplete(7).
func restartImage(t *testing.T) string {
	t.Helper()
	addr := func(name string) uint32 {
		g, ok := abi.GatewayFor(name)
		if !ok {
			t.Fatalf("no gateway %s", name)
		}
		return g.Addr
	}
	img := make([]byte, 0x70)
	binary.LittleEndian.PutUint32(img[0:], 0x2008_0000) // initial SP: _estack
	binary.LittleEndian.PutUint32(img[4:], 0x0800_0041) // Reset_Handler at 0x40, Thumb
	for i, hw := range []uint16{
		0x4C07, // 0x40 ldr r4, [pc, #28]  → 0x60: mvGetWakeReason
		0x4808, // 0x42 ldr r0, [pc, #32]  → 0x64: 0x20000000
		0x47A0, // 0x44 blx r4
		0x4907, // 0x46 ldr r1, [pc, #28]  → 0x64
		0x7809, // 0x48 ldrb r1, [r1]
		0x2900, // 0x4A cmp r1, #0         COLDBOOT?
		0xD103, // 0x4C bne 0x56
		0x4C06, // 0x4E ldr r4, [pc, #24]  → 0x68: mvRestart
		0x2000, // 0x50 movs r0, #0        MV_RESTARTMODE_AUTOAPPLYUPDATE
		0x47A0, // 0x52 blx r4
		0xE7FE, // 0x54 b .
		0x4C05, // 0x56 ldr r4, [pc, #20]  → 0x6C: mvTestingComplete
		0x2007, // 0x58 movs r0, #7
		0x47A0, // 0x5A blx r4
		0xE7FE, // 0x5C b .
		0xBF00, // 0x5E nop
	} {
		binary.LittleEndian.PutUint16(img[0x40+2*i:], hw)
	}
	for i, w := range []uint32{addr("mvGetWakeReason"), 0x2000_0000, addr("mvRestart"), addr("mvTestingComplete")} {
		binary.LittleEndian.PutUint32(img[0x60+4*i:], w)
	}
	path := filepath.Join(t.TempDir(), "restart.bin")
	if err := os.WriteFile(path, img, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// mvRestart restarts the image (the emulator re-executes itself, as
// libmvnet does): the restarted image reads a wake reason other than
// COLDBOOT and exits 7. A raw .bin runs with --load-address.
func TestFirmwareRestartAndRawBinary(t *testing.T) {
	r := runFirmware(t, restartImage(t), "--load-address", "0x08000000")
	r.want(t, 7, "mvRestart(", "restarts 1)", "MV_WAKEREASON_REMOTEAPPLICATIONRESTART", "exit 7")
}

// A restarted image's server log lines reach the cloud: each boot numbers
// its lines afresh, so the cloud's deduplication on (device, seq) never
// takes the second boot's first line for the first boot's. Both ways of
// restarting — mvRestart and NVIC_SystemReset (AIRCR.SYSRESETREQ) — start
// the image again with the wake reason REMOTEAPPLICATIONRESTART and a
// fresh kernel.
func TestFirmwareRestartKeepsLogLines(t *testing.T) {
	for _, c := range []struct {
		name string
		def  string
		want []string
	}{
		{"mvRestart", "FW_SYSTEM_RESET=0", []string{"mvRestart("}},
		{"NVIC_SystemReset", "FW_SYSTEM_RESET=1", []string{"NVIC_SystemReset"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			elf := firmware(t, "restart", c.def)
			sc := filepath.Join(t.TempDir(), "scenario.yaml")
			if err := os.WriteFile(sc, []byte(`version: 1
name: both boots' lines reach the cloud
duration: 90s
expect:
  - log: "line-one!!"
  - log: "line-two!! wake reason 2"
  - exit: 10
`), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runFirmware(t, elf, "--device-id", "UV00000000000000000000000000f00002", "--scenario", sc)
			want := append(c.want, "restarts 1", "line-one!!", "line-two!! wake reason 2", "exit 10", "PASS")
			r.want(t, 0, want...) // the scenario passed: its verdict is the exit status
		})
	}
}
