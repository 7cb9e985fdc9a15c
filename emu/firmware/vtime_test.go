package firmware

// Deterministic mode on the kernel's virtual clock (kernel/virtual.go)
// against the process's own in-process cloud, which follows the device's
// time (link/doc.go, "Virtual time").

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/mvnet/mvnet/csdk/process"
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
		if r := runs[i]; r.code != 0 || !bytes.Contains([]byte(r.stderr), []byte("[mvServerLog] config_log: done")) {
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
