package firmware

// Deterministic mode on the kernel's virtual clock (kernel/virtual.go)
// against the process's own in-process cloud, which follows the device's
// time (link/doc.go, "Virtual time").

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mvnet/mvnet/abi"
	"github.com/mvnet/mvnet/cloud/devca"
	"github.com/mvnet/mvnet/csdk/process"
	"github.com/mvnet/mvnet/device"
	"github.com/mvnet/mvnet/emu"
	"github.com/mvnet/mvnet/internal/fwbuild"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// vrun is one run's outcome.
type vrun struct {
	code                  int
	stdout, stderr, trace string
	syncs                 uint64 // CONTROL SYNC frames the kernel sent
}

// runTraced runs image (raw at loadAddress, or an ELF with 0) with a
// trace, the device ID fixed and env added, and returns what it did.
func runTraced(t *testing.T, image string, loadAddress uint32, env map[string]string) vrun {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{
		process.EnvTrace:    filepath.Join(dir, "trace"),
		process.EnvDeviceID: "UV00000000000000000000000000f0a001",
		process.EnvDataDir:  filepath.Join(dir, "data"),
	}
	for k, v := range env {
		vars[k] = v
	}
	var p *process.Process
	testHookProcess = func(pp *process.Process) { p = pp }
	defer func() { testHookProcess = nil }()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code, err := Run(ctx, Options{Image: image, LoadAddress: loadAddress,
		Getenv: func(k string) string { return vars[k] }, Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errb.String())
	}
	tr, err := os.ReadFile(vars[process.EnvTrace])
	if err != nil {
		t.Fatal(err)
	}
	r := vrun{code: code, stdout: out.String(), stderr: errb.String(), trace: string(tr)}
	if k := p.StartedKernel(); k != nil {
		r.syncs = k.SyncsSent()
	}
	return r
}

// traceNoise is what differs between runs by design: the process ID and
// the server log's sequence numbers (random at every boot: kernel.Options
// .Seed).
var traceNoise = regexp.MustCompile(`"pid":\d+|"seq":\d+`)

// An image that fetches config and logs through the cloud runs to the
// same trace (every system call, notification and log line at the same
// virtual microsecond), output and exit twice, and it syncs with the
// cloud for its requests.
func TestVirtualTimeRunsRepeat(t *testing.T) {
	tool.Require(t, fwbuild.Compiler)
	elf, err := fwbuild.Build("config_log", fwbuild.Options{})
	if err != nil {
		t.Fatal(err)
	}
	seed := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(seed, []byte(`{"configs":{"broker-host":"mqtt.example.com"},"device_secrets":{"api-key":"s3cr3t"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{process.EnvConfigFile: seed}
	var runs [2]vrun
	for i := range runs {
		runs[i] = runTraced(t, elf, 0, env)
		if r := runs[i]; r.code != 0 || !strings.Contains(r.stderr, "[mvServerLog] config_log: done") {
			t.Fatalf("run %d: exit %d\nstdout:\n%s\nstderr:\n%s", i, r.code, r.stdout, r.stderr)
		}
	}
	a, b := runs[0], runs[1]
	a.trace, b.trace = traceNoise.ReplaceAllString(a.trace, "#"), traceNoise.ReplaceAllString(b.trace, "#")
	if a.trace != b.trace || a.stdout != b.stdout || a.stderr != b.stderr {
		t.Fatalf("two runs differ:\n--- first\n%s%s%s\n--- second\n%s%s%s", a.trace, a.stdout, a.stderr, b.trace, b.stdout, b.stderr)
	}
	// The link's first sync, the config fetch and the log lines: each
	// system call that sent something syncs; a few share one.
	if a.syncs < 2 || a.syncs != b.syncs {
		t.Fatalf("SYNCs sent: %d and %d; want the same, at least 2", a.syncs, b.syncs)
	}
}

// A tight loop of system calls that send nothing (mvGetWallTime) costs
// no round trip to the cloud: after the link's first sync, none — as many
// SYNCs for 2000 calls as for 20.
func TestVirtualTimeTightLoopCostsNoSync(t *testing.T) {
	few := runTraced(t, kernelTrapImage(t, "mvGetWallTime", 20), 0x0800_0000, nil)
	many := runTraced(t, kernelTrapImage(t, "mvGetWallTime", 2000), 0x0800_0000, nil)
	if few.code != 0 || many.code != 0 {
		t.Fatalf("exit %d and %d\nstderr:\n%s", few.code, many.code, many.stderr)
	}
	if few.syncs != 1 || many.syncs != 1 {
		t.Fatalf("SYNCs: %d for 20 calls, %d for 2000; want 1 each (the link's first)", few.syncs, many.syncs)
	}
}

// refusingCloud is a device listener on loopback that accepts each
// connection, reads the TLS ClientHello and closes it (every dial fails
// in its TLS handshake, with EOF), and a bundle (MVNET_BUNDLE) naming it;
// accepts counts the dials.
func refusingCloud(t *testing.T) (bundle string, accepts *atomic.Int64) {
	return deviceListener(t, func(int64) bool { return false })
}

// deviceListener is a device listener on loopback and a bundle naming it:
// it accepts each connection, reads the TLS ClientHello and closes it —
// the dial fails in its TLS handshake, with EOF — unless hold(n) (n: the
// dials so far, this one included), when it leaves the handshake hanging
// until the test ends. accepts counts the dials.
func deviceListener(t *testing.T, hold func(n int64) bool) (bundle string, accepts *atomic.Int64) {
	t.Helper()
	dir := t.TempDir()
	ca, err := devca.Open(filepath.Join(dir, "devca"))
	if err != nil {
		t.Fatal(err)
	}
	id := "UV00000000000000000000000000f0a001"
	certPEM, keyPEM, err := ca.IssueDevice(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepts = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Read the whole ClientHello record first: closing with it
			// unread would reset the connection, a different error.
			_ = c.SetReadDeadline(time.Now().Add(time.Minute))
			var hdr [5]byte
			if _, err := io.ReadFull(c, hdr[:]); err == nil {
				_, _ = io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint16(hdr[3:])))
			}
			if n := accepts.Add(1); hold(n) {
				t.Cleanup(func() { c.Close() })
				continue
			}
			c.Close()
		}
	}()
	b := &device.Bundle{Version: device.BundleVersion, DeviceSid: id, CloudAddress: ln.Addr().String(),
		CloudCA: string(ca.CertPEM()), Certificate: string(certPEM), PrivateKey: string(keyPEM)}
	bundle = filepath.Join(dir, "bundle.json")
	if err := b.Write(bundle); err != nil {
		t.Fatal(err)
	}
	return bundle, accepts
}

// A sync point at one of the kernel's virtual timers — here the redial
// after a failed dial, whose handshake then hangs — ends when the machine
// is halted (a debugger's kill, mvTestingComplete): the run ends with the
// dial still hanging, its failure never recorded, rather than when the
// kernel's handshake timeout gives the dial up.
func TestVirtualTimerSyncPointEndsAtHalt(t *testing.T) {
	bundle, accepts := deviceListener(t, func(n int64) bool { return n >= 2 })
	dir := t.TempDir()
	vars := map[string]string{
		process.EnvTrace:    filepath.Join(dir, "trace"),
		process.EnvDeviceID: "UV00000000000000000000000000f0a001",
		process.EnvDataDir:  filepath.Join(dir, "data"),
		process.EnvBundle:   bundle,
	}
	machine := make(chan *emu.Machine, 1)
	testHookMachine = func(m *emu.Machine) { machine <- m }
	defer func() { testHookMachine = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	var errb bytes.Buffer
	go func() {
		code, err := Run(ctx, Options{Image: spinImage(t, 100_000_000), LoadAddress: 0x0800_0000,
			Getenv: func(k string) string { return vars[k] }, Stdout: io.Discard, Stderr: &errb})
		done <- result{code, err}
	}()
	m := <-machine
	for accepts.Load() < 2 {
		select {
		case r := <-done:
			t.Fatalf("the run ended (%d, %v) before the redial\nstderr:\n%s", r.code, r.err, errb.String())
		case <-time.After(time.Millisecond):
		}
	}
	halt := errors.New("halted by the test")
	m.Halt(halt)
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("the run did not end after Halt")
	}
	if r.err != halt {
		t.Fatalf("run: (%d, %v); want Halt's error\nstderr:\n%s", r.code, r.err, errb.String())
	}
	tr, err := os.ReadFile(vars[process.EnvTrace])
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(tr), `"kind":"link-error"`); n != 1 {
		t.Fatalf("%d link errors in the trace; want the first dial's alone (the run ended while the redial hung):\n%s", n, tr)
	}
}

// While the cloud cannot be reached the image runs on (it does not wait
// for the link at its system calls), and the kernel redials on virtual
// timers: over the loop's 125 ms of virtual time the same number of
// dials, at the same instants, on every run.
func TestVirtualTimeRunsOnWhileTheLinkIsDown(t *testing.T) {
	image := spinImage(t, 10_000_000) // 20 M instructions: 125 ms
	var dials [2]int64
	var traces [2]string
	for i := range dials {
		bundle, accepts := refusingCloud(t)
		r := runTraced(t, image, 0x0800_0000, map[string]string{process.EnvBundle: bundle})
		if r.code != 0 {
			t.Fatalf("run %d: exit %d\nstderr:\n%s", i, r.code, r.stderr)
		}
		dials[i] = accepts.Load()
		traces[i] = traceNoise.ReplaceAllString(r.trace, "#")
	}
	// Backoff 20 ms doubling: dials at 0 and after 10-20, 20-40, 40-80 ms
	// more — three or more within 125 ms.
	if dials[0] < 3 || dials[0] != dials[1] {
		t.Fatalf("dials: %d and %d; want the same, at least 3", dials[0], dials[1])
	}
	// The link errors too: reported at the same virtual instants.
	if traces[0] != traces[1] || !strings.Contains(traces[0], `"kind":"link-error"`) {
		t.Fatalf("two runs differ, or report no link error:\n--- first\n%s--- second\n%s", traces[0], traces[1])
	}
}

// spinImage writes a raw image that makes one system call (mvGetWallTime,
// which starts the kernel and so its link), spins n times round a
// two-instruction loop, and ends with mvTestingComplete(0).
func spinImage(tb testing.TB, n uint32) string {
	tb.Helper()
	fn, _ := abi.GatewayFor("mvGetWallTime")
	done, _ := abi.GatewayFor("mvTestingComplete")
	return rawImage(tb, 0x64, map[int][]uint16{0x40: {
		0x4C04, // 0x40 ldr r4, [pc, #16]  → 0x54: mvGetWallTime
		0x4805, // 0x42 ldr r0, [pc, #20]  → 0x58: 0x20000000
		0x47A0, // 0x44 blx r4
		0x4E05, // 0x46 ldr r6, [pc, #20]  → 0x5C: n
		0x3E01, // 0x48 subs r6, #1
		0xD1FD, // 0x4A bne 0x48
		0x4C04, // 0x4C ldr r4, [pc, #16]  → 0x60: mvTestingComplete
		0x2000, // 0x4E movs r0, #0
		0x47A0, // 0x50 blx r4
		0xE7FE, // 0x52 b .
	}}, map[int]uint32{
		0x00: 0x2008_0000, // initial SP: _estack
		0x04: 0x0800_0041, // Reset_Handler at 0x40, Thumb
		0x54: fn.Addr,
		0x58: 0x2000_0000,
		0x5C: n,
		0x60: done.Addr,
	})
}
