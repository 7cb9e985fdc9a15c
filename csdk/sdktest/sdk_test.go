package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/libcache"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// lib is the library TestMain found in the build cache or built.
var lib struct {
	dir     string   // BUILD directory: libmvnet.a, libmvnet.so, mvnet.pc …
	lock    *os.File // held open until exit: keeps dir from being pruned (internal/libcache)
	include string   // csdk/include
	skip    string   // why the C tests are skipped
	err     error
	built   bool // this process ran make (the cache had no build of these sources)
	took    time.Duration
}

func TestMain(m *testing.M) {
	flag.Parse()
	switch {
	case testing.Short():
		lib.skip = "-short: not building libmvnet"
	case runtime.GOOS != "linux":
		lib.skip = "the C SDK runs on Linux"
	default:
		for _, name := range []string{"make", "cc"} {
			if tool.Path(name) == "" {
				lib.skip = name + " not found"
			}
		}
	}
	if lib.skip == "" {
		lib.err = build()
	}
	code := m.Run()
	removeMvnetBinary()
	os.Exit(code)
}

// build finds or makes the library for the current sources (internal/libcache).
func build() error {
	sdk, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	lib.include = filepath.Join(sdk, "include")
	start := time.Now()
	lib.dir, lib.lock, lib.built, err = libcache.Build(sdk, nil)
	lib.took = time.Since(start)
	return err
}

// needLib skips t (fails it under CI=true) when the host cannot build the
// library, and fails it when the build failed.
func needLib(t testing.TB) {
	t.Helper()
	switch {
	case lib.skip != "" && (testing.Short() || runtime.GOOS != "linux"):
		t.Skip(lib.skip)
	case lib.skip != "":
		tool.Missing(t, "%s", lib.skip)
	}
	if lib.err != nil {
		t.Fatal(lib.err)
	}
}

// Linkage of a test program.
type linkage int

const (
	static linkage = iota // libmvnet.a
	shared                // libmvnet.so with an rpath
)

func (l linkage) String() string { return [...]string{"static", "shared"}[l] }

// compile builds a C program from source text against the library.
func compile(t testing.TB, name, src string, l linkage) string {
	t.Helper()
	return compileWith(t, name, src, l)
}

// compileWith is compile with extra compiler flags (before the sources).
func compileWith(t testing.TB, name, src string, l linkage, flags ...string) string {
	t.Helper()
	needLib(t)
	dir := t.TempDir()
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	args := append([]string{"-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-I" + lib.include}, flags...)
	args = append(args, c, "-o", bin)
	if l == static {
		args = append(args, filepath.Join(lib.dir, "libmvnet.a"))
	} else {
		args = append(args, "-L"+lib.dir, "-Wl,-rpath,"+lib.dir, "-lmvnet")
	}
	args = append(args, "-lpthread")
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// compileFile builds testdata/name.c, with extra compiler flags if given.
func compileFile(t testing.TB, name string, l linkage, flags ...string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name+".c"))
	if err != nil {
		t.Fatal(err)
	}
	return compileWith(t, name, string(src), l, flags...)
}

// result is what a program did.
type result struct {
	stdout, stderr string
	code           int
	trace          []map[string]any
}

// run runs bin with env added to the test's environment and a trace file,
// for at most timeout, and parses the trace (every line must be JSON).
func run(t testing.TB, bin string, env map[string]string, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tracePath := filepath.Join(t.TempDir(), "trace.jsonl")
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "MVNET_TRACE="+tracePath)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s did not finish within %v\nstdout:\n%s\nstderr:\n%s", bin, timeout, r.stdout, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	if b, err := os.ReadFile(tracePath); err == nil {
		for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("trace line %d is not JSON: %v\n%s", i+1, err, line)
			}
			if _, ok := m["t"].(float64); !ok || m["kind"] == nil {
				t.Fatalf("trace line %d lacks t or kind: %s", i+1, line)
			}
			r.trace = append(r.trace, m)
		}
	}
	return r
}

// lines returns the trace's events of a kind: its lines of that kind, and
// each event a repeat line counts, once per occurrence (stamped with the
// repeat's first time), so tests count events however the trace collapsed
// identical ones (docs/c-sdk.md, "Repeats").
func (r result) lines(kind string) []map[string]any {
	var out []map[string]any
	for _, l := range r.trace {
		if l["kind"] == kind {
			out = append(out, l)
			continue
		}
		ev, _ := l["event"].(map[string]any)
		if l["kind"] != "repeat" || ev == nil || ev["kind"] != kind {
			continue
		}
		n, _ := l["count"].(float64)
		for i := 0; i < int(n); i++ {
			e := map[string]any{"t": l["first"]}
			for k, v := range ev {
				e[k] = v
			}
			out = append(out, e)
		}
	}
	return out
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

func TestBuild(t *testing.T) {
	t.Parallel()
	needLib(t)
	t.Logf("libmvnet in %s (built now: %v) after %v", lib.dir, lib.built, lib.took.Round(100*time.Millisecond))
	for _, f := range []string{"libmvnet.a", "libmvnet.so", "mvnet.pc", "mvnet-static.pc", "cmake/mvnet/mvnetConfig.cmake", "cmake/mvnet/mvnetConfigVersion.cmake"} {
		if _, err := os.Stat(filepath.Join(lib.dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(lib.dir, "libmvnet.h")); err == nil {
		t.Error("cgo's export header libmvnet.h was left beside the libraries")
	}
	if !libcache.Locked(lib.dir) {
		t.Error("the build this process uses is not locked: another checkout's test run could prune it")
	}
}
