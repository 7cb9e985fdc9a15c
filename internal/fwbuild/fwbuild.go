// Package fwbuild builds mvnet's test firmware (emu/testdata/fw) with
// arm-none-eabi-gcc, once per source state, for the emulator's tests and
// benchmarks.
//
// A program is a directory under emu/testdata/fw (http_get, mqtt,
// config_log, sched, i2c, faults, bench): its *.c and *.S files are
// compiled with the shared runtime (common/*.c: startup, vector table, the
// newlib system interface, notifications, logging) and linked by
// common/fw.ld, the spec's memory map, which INCLUDEs
// csdk/include/mv_gateways.ld (the system calls' addresses, generated from
// abi/gateways.go). Programs include csdk/include/mv_syscalls.h, the
// project's own header.
//
// BuildHost builds bench's host version (the same computation, for speed
// comparisons); BuildHosted builds the network programs for the host
// against libmvnet, to check their logic against the kernel without the
// emulator.
//
// Builds are cached under Root()/KEY/PROGRAM.elf, KEY a hash of every
// source, header and linker script the build reads, the flags, the defines
// and the compiler's version (libcache.Key), so a changed byte rebuilds and
// an unchanged tree is a file lookup. A build goes into a temporary
// directory renamed into place, so concurrent test processes never see a
// half-written one (the loser of a race discards its copy). Builds unused
// for pruneAge are removed.
package fwbuild

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/mvnet/mvnet/internal/libcache"
)

// Env overrides the cache directory. Without it the cache is
// os.UserCacheDir()/mvnet/firmware, whatever $MVNET_LIBCACHE says: beside
// a libcache root under the working tree (MVNET_LIBCACHE=$PWD/.libcache)
// it would land in the repository, and inside it libcache's prune would
// take it for a stale build.
const Env = "MVNET_FWCACHE"

// Compiler is the cross compiler (Debian: gcc-arm-none-eabi, with newlib
// from libnewlib-arm-none-eabi).
const Compiler = "arm-none-eabi-gcc"

// Flags are the compiler and linker flags of every firmware build: the
// device's CPU and ABI (spec/firmware.md: Cortex-M33, Thumb-2, soft float),
// -O2 -g, newlib nano, and the project's own startup instead of crt0.
var Flags = []string{
	"-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft",
	"-O2", "-g", "-std=gnu11", "-Wall", "-Wextra", "-Werror",
	"-ffunction-sections", "-fdata-sections",
	"--specs=nano.specs", "-nostartfiles", "-Wl,--gc-sections",
}

// Programs lists the test programs, in the order of their directories.
var Programs = []string{"bench", "config_log", "faults", "http_get", "i2c", "mqtt", "mqtt_unread", "protect", "restart", "sched", "vtime"}

// Options adjust a build.
type Options struct {
	// Defines are -D values, e.g. "FW_FAULT=2" or `FW_URL="https://x.test/"`;
	// they are part of the cache key.
	Defines []string
	// Source is the firmware tree, laid out as emu/testdata/fw (default:
	// emu/testdata/fw of this module, found from this package's source
	// file). Headers and mv_gateways.ld come from IncludeDir either way.
	Source string
	// LinkerScript replaces common/fw.ld (e.g. the same layout moved to
	// another board's addresses); its contents are part of the cache key.
	LinkerScript string
}

// moduleRoot is the root of the module this package was compiled from.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("fwbuild: cannot locate the module source")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..")), nil
}

// SourceDir returns the default firmware tree: emu/testdata/fw of the
// module this package was compiled from.
func SourceDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "emu", "testdata", "fw")
	if _, err := os.Stat(filepath.Join(dir, "common", "fw.ld")); err != nil {
		return "", fmt.Errorf("fwbuild: no firmware tree at %s: %w", dir, err)
	}
	return dir, nil
}

// IncludeDir returns csdk/include of the module: mv_syscalls.h and
// mv_gateways.ld.
func IncludeDir() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "csdk", "include"), nil
}

// Root returns the cache directory.
func Root() (string, error) {
	if d := os.Getenv(Env); d != "" {
		return filepath.Abs(d)
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory for firmware (set %s): %w", Env, err)
	}
	return filepath.Join(base, "mvnet", "firmware"), nil
}

// plan is one build: what it compiles and reads, and the command.
type plan struct {
	program string
	src     string   // the firmware tree
	script  string   // the linker script
	sources []string // compiled
	inputs  []string // everything read: sources, headers, linker scripts
	args    []string // compiler arguments but -o
}

func newPlan(program string, o Options) (*plan, error) {
	src := o.Source
	if src == "" {
		var err error
		if src, err = SourceDir(); err != nil {
			return nil, err
		}
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return nil, err
	}
	if program == "" || program == "common" || strings.ContainsAny(program, `/\`) {
		return nil, fmt.Errorf("fwbuild: %q is not a program name (one of %s)", program, strings.Join(Programs, ", "))
	}
	dir := filepath.Join(src, program)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("fwbuild: no program %q in %s (programs: %s)", program, src, strings.Join(Programs, ", "))
	}
	include, err := IncludeDir()
	if err != nil {
		return nil, err
	}
	script := filepath.Join(src, "common", "fw.ld")
	if o.LinkerScript != "" {
		if script, err = filepath.Abs(o.LinkerScript); err != nil {
			return nil, err
		}
	}
	p := &plan{program: program, src: src, script: script}
	for _, g := range []string{filepath.Join(src, "common", "*.c"), filepath.Join(dir, "*.c"), filepath.Join(dir, "*.S")} {
		m, _ := filepath.Glob(g)
		p.sources = append(p.sources, m...)
	}
	if len(p.sources) == 0 {
		return nil, fmt.Errorf("fwbuild: %s has no sources", dir)
	}
	p.inputs = append(p.inputs, p.sources...)
	p.inputs = append(p.inputs, script)
	for _, g := range []string{filepath.Join(src, "common", "*.h"),
		filepath.Join(dir, "*.h"), filepath.Join(include, "mv_syscalls.h"), filepath.Join(include, "mv_gateways.ld")} {
		m, _ := filepath.Glob(g)
		p.inputs = append(p.inputs, m...)
	}
	p.args = append(p.args, Flags...)
	for _, d := range o.Defines {
		p.args = append(p.args, "-D"+d)
	}
	p.args = append(p.args, "-I", include, "-I", filepath.Join(src, "common"), "-I", dir,
		"-L", include, "-T", script, "-Wl,-Map="+program+".map")
	p.args = append(p.args, p.sources...)
	return p, nil
}

// key hashes the inputs, the arguments and the compiler's version.
func (p *plan) key(cc string) (string, error) {
	version, err := exec.Command(cc, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %v", cc, err)
	}
	args := make([]string, len(p.args))
	for i, a := range p.args { // the key depends on contents, not on where the files are
		if p.script != "" {
			a = strings.ReplaceAll(a, p.script, "$SCRIPT")
		}
		args[i] = strings.ReplaceAll(a, p.src, "$SRC")
	}
	return libcache.Key(p.inputs, []string{"cc --version:\n" + string(version), "args:\n" + strings.Join(args, "\n"),
		"program=" + p.program})
}

// Build returns the path of the program's ELF for the current sources,
// building it if the cache has none. The error of a failed build holds the
// compiler's output.
func Build(program string, o Options) (string, error) {
	cc, err := exec.LookPath(Compiler)
	if err != nil {
		return "", fmt.Errorf("fwbuild: %s is not installed (Debian: gcc-arm-none-eabi and libnewlib-arm-none-eabi): %w", Compiler, err)
	}
	p, err := newPlan(program, o)
	if err != nil {
		return "", err
	}
	return p.build(cc, program+".elf")
}

// build returns the path of output in the cache directory of p's key,
// running cc to make it there if it is missing.
func (p *plan) build(cc, output string) (string, error) {
	key, err := p.key(cc)
	if err != nil {
		return "", err
	}
	root, err := Root()
	if err != nil {
		return "", err
	}
	final := filepath.Join(root, key)
	path := filepath.Join(final, output)
	if _, err := os.Stat(path); err == nil {
		now := time.Now()
		_ = os.Chtimes(final, now, now) // recently used: kept by prune
		return path, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(root, ".build-"+p.program+"-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp) // after a successful rename, nothing is left
	cmd := exec.Command(cc, append(p.args, "-o", output)...)
	cmd.Dir = tmp
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("fwbuild: building %s: %s %s: %v\n%s", p.program, cc, strings.Join(p.args, " "), err, out.Bytes())
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, statErr := os.Stat(path); statErr != nil {
			return "", fmt.Errorf("fwbuild: %w", err)
		}
		// Another process built the same key first; its build is identical.
	}
	prune(root, final)
	return path, nil
}

// pruneAge is how long a build may go unused before prune removes it.
const pruneAge = 7 * 24 * time.Hour

// prune removes builds (other than keep) not used for pruneAge, and
// temporary directories of builds that died that long ago.
func prune(root, keep string) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		d := filepath.Join(root, e.Name())
		if !e.IsDir() || d == keep {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < pruneAge {
			continue
		}
		_ = os.RemoveAll(d) // best effort: a build in use was touched within pruneAge
	}
}
