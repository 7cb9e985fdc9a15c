// Package hostbuild builds a Microvisor project for the host with its own
// CMake files (`mvnet build`): it finds mvnet's C SDK, gets libmvnet for it
// from the build cache (internal/libcache), and runs CMake on the project
// with csdk/cmake/mvnet-host.cmake, which turns the project's arm-none-eabi
// build into a host build against libmvnet (docs/porting.md).
package hostbuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/mvnet/mvnet/internal/libcache"
)

// Module is this module's path: a go.mod declaring it marks a checkout.
const Module = "github.com/mvnet/mvnet"

// SDKEnv names the C SDK directory when --sdk does not.
const SDKEnv = "MVNET_SDK"

// DefaultBuildDir is where the build goes, inside the project.
const DefaultBuildDir = "build-host"

// HostInclude is the file CMake reads inside the project's first project()
// call (CMAKE_PROJECT_TOP_LEVEL_INCLUDES), relative to the SDK directory.
const HostInclude = "cmake/mvnet-host.cmake"

// minCMake is the first CMake with CMAKE_PROJECT_TOP_LEVEL_INCLUDES.
var minCMake = [2]int{3, 24}

// Options say what to build.
type Options struct {
	Project   string   // the project's top directory (its CMakeLists.txt calls project())
	BuildDir  string   // default Project/build-host
	SDK       string   // the C SDK (csdk) or a checkout holding it; default: see FindSDK
	CMakeArgs []string // more arguments for the configure step (-DNAME=VALUE …)
	Jobs      int      // parallel build jobs; 0: the number of CPUs
	Progress  io.Writer
}

// Result is what a build made.
type Result struct {
	BuildDir    string
	LibDir      string   // the libmvnet build linked in
	Executables []string // the project's executables, as built
}

// Build configures and builds the project for the host.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	project, err := projectDir(o.Project)
	if err != nil {
		return nil, err
	}
	sdk, err := FindSDK(o.SDK, project)
	if err != nil {
		return nil, err
	}
	cmake, err := findCMake()
	if err != nil {
		return nil, err
	}
	bdir := o.BuildDir
	if bdir == "" {
		bdir = filepath.Join(project, DefaultBuildDir)
	}
	if bdir, err = filepath.Abs(bdir); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Progress, "mvnet build: SDK %s\n", sdk)
	lib, lock, _, err := libcache.Build(sdk, o.Progress)
	if err != nil {
		return nil, fmt.Errorf("building libmvnet: %w", err)
	}
	defer lock.Close() // the build is linked in statically: not needed afterwards
	fmt.Fprintf(o.Progress, "mvnet build: libmvnet %s\n", lib)

	configure := append([]string{"-S", project, "-B", bdir,
		"-DCMAKE_PROJECT_TOP_LEVEL_INCLUDES=" + filepath.Join(sdk, HostInclude),
		"-DMVNET_BUILD=" + lib}, o.CMakeArgs...)
	if err := configureProject(ctx, o.Progress, cmake, bdir, configure); err != nil {
		return nil, fmt.Errorf("configuring %s (cmake %s): %w", project, strings.Join(configure, " "), err)
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	if err := runTool(ctx, o.Progress, cmake, "--build", bdir, "--parallel", strconv.Itoa(jobs)); err != nil {
		return nil, fmt.Errorf("building %s: %w", project, err)
	}
	exes, err := executables(bdir)
	if err != nil {
		return nil, err
	}
	return &Result{BuildDir: bdir, LibDir: lib, Executables: exes}, nil
}

// missingToolchainMsg begins CMake's error for a toolchain file that is not
// there (CMakeDetermineSystem.cmake).
const missingToolchainMsg = "Could not find toolchain file:"

// missingToolchain is the path in CMake's error for a missing toolchain
// file, "" if out has none. CMake wraps a message's text at spaces, each
// continuation line indented by two spaces, and the message ends at a
// blank or unindented line ("Call Stack …"): the path is the text after
// the colon to there, its wrapped lines joined again by the space each
// wrap replaced (a path may hold spaces: "/home/me/My Projects/…").
func missingToolchain(out []byte) string {
	_, rest, ok := bytes.Cut(out, []byte(missingToolchainMsg))
	if !ok {
		return ""
	}
	lines := strings.Split(string(rest), "\n")
	parts := []string{lines[0]}
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" || !strings.HasPrefix(l, "  ") {
			break
		}
		parts = append(parts, strings.TrimPrefix(l, "  "))
	}
	path := strings.TrimSpace(strings.Join(parts, " "))
	return strings.Trim(path, `"`) // newer CMake versions quote it
}

// configureProject runs CMake's configure step. Projects that take their
// toolchain file from the HAL submodule
// (Microvisor-HAL-STM32U5/toolchain.cmake) name a file that is missing
// until the submodule is checked out; the host build needs nothing from
// it, so then a stand-in goes where CMake looks first for a toolchain file
// (CMakeDetermineSystem: the build directory joined with the path) and
// configure runs again. The project's tree is not touched.
func configureProject(ctx context.Context, progress io.Writer, cmake, bdir string, args []string) error {
	var out bytes.Buffer
	err := runTool(ctx, &out, cmake, args...)
	missing := missingToolchain(out.Bytes())
	var standIn string
	if missing != "" {
		standIn = filepath.Join(bdir, missing)
		if _, statErr := os.Stat(standIn); statErr == nil {
			missing = "" // the stand-in is there already: something else failed
		}
	}
	if err == nil || missing == "" {
		_, _ = progress.Write(out.Bytes())
		return err
	}
	fmt.Fprintf(progress, "mvnet build: the toolchain file %s is missing (a submodule not checked out?); "+
		"the host build does not need it: using an empty stand-in, %s\n", missing, standIn)
	if err := os.MkdirAll(filepath.Dir(standIn), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(standIn, []byte("# mvnet build: stands in for "+missing+
		", which is missing; cmake/mvnet-host.cmake sets up the host build.\n"), 0o644); err != nil {
		return err
	}
	return runTool(ctx, progress, cmake, args...)
}

// projectDir checks that dir is a CMake project's top directory.
func projectDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("project directory: %w", err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("project directory %s is not a directory", dir)
	}
	if _, err := os.Stat(filepath.Join(abs, "CMakeLists.txt")); err != nil {
		return "", fmt.Errorf("%s has no CMakeLists.txt: give the top directory of a CMake project (the one whose CMakeLists.txt calls project())", dir)
	}
	return abs, nil
}

// executables reads the list mvnet-host.cmake generated.
func executables(bdir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(bdir, "mvnet-executables.txt"))
	if err != nil {
		return nil, fmt.Errorf("the build left no list of executables (was it configured by %s?): %w", HostInclude, err)
	}
	var exes []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			exes = append(exes, l)
		}
	}
	return exes, nil
}

// runTool runs a tool with its output on w.
func runTool(ctx context.Context, w io.Writer, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = w, w
	return cmd.Run()
}

// findCMake returns cmake's path if it is new enough.
func findCMake() (string, error) {
	path, err := exec.LookPath("cmake")
	if err != nil {
		return "", fmt.Errorf("cmake not found: mvnet build needs CMake %d.%d or newer (Debian/Ubuntu: apt-get install cmake)", minCMake[0], minCMake[1])
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	major, minor, ok := cmakeVersion(string(out))
	if !ok {
		return "", fmt.Errorf("%s --version printed no version: %q", path, out)
	}
	if major < minCMake[0] || major == minCMake[0] && minor < minCMake[1] {
		return "", fmt.Errorf("%s is CMake %d.%d; mvnet build needs %d.%d or newer (CMAKE_PROJECT_TOP_LEVEL_INCLUDES)",
			path, major, minor, minCMake[0], minCMake[1])
	}
	return path, nil
}

var cmakeVersionRE = regexp.MustCompile(`cmake3? version (\d+)\.(\d+)`)

func cmakeVersion(s string) (major, minor int, ok bool) {
	m := cmakeVersionRE.FindStringSubmatch(s)
	if m == nil {
		return 0, 0, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, true
}

// FindSDK returns the C SDK directory (csdk) to build with, the first of:
// flag (an SDK directory or a checkout holding csdk/); $MVNET_SDK (the
// same); the checkout containing the working directory; the checkout
// containing the project; the source tree this binary was built from, if
// it is still there (go install ./cmd/mvnet in a checkout, or go install
// github.com/mvnet/mvnet/cmd/mvnet@VERSION, which builds from the module
// cache); the module cache's copy of this binary's version of the module.
// The error says what was tried and what to do.
func FindSDK(flag, project string) (string, error) {
	if flag != "" {
		return sdkAt(flag, "--sdk")
	}
	if env := os.Getenv(SDKEnv); env != "" {
		return sdkAt(env, "$"+SDKEnv)
	}
	var tried []string
	for _, start := range []string{".", project} {
		if start == "" {
			continue
		}
		if root, ok := checkoutAround(start); ok {
			return sdkAt(root, "the checkout at "+root)
		}
	}
	tried = append(tried, "no checkout of "+Module+" contains the working directory or the project")
	if root, ok := sourceSDK(); ok {
		return root, nil
	}
	tried = append(tried, "the source this mvnet was built from is gone")
	if dir, version, ok := moduleCacheSDK(); ok {
		if _, err := os.Stat(filepath.Join(dir, HostInclude)); err == nil {
			return dir, nil
		}
		tried = append(tried, fmt.Sprintf("this mvnet is %s@%s, whose source is not in the module cache (%s): run go mod download %s@%s",
			Module, version, dir, Module, version))
	} else {
		tried = append(tried, "this mvnet binary was not built from a released module version")
	}
	return "", fmt.Errorf("no mvnet C SDK found (%s); pass --sdk DIR or set %s to a checkout of %s (or its csdk directory), or run mvnet build inside such a checkout",
		strings.Join(tried, "; "), SDKEnv, Module)
}

// sdkAt checks that dir (or dir/csdk) is an SDK directory.
func sdkAt(dir, from string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for _, d := range []string{abs, filepath.Join(abs, "csdk")} {
		if isSDK(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s: %s is not mvnet's C SDK (no Makefile, include/mv_syscalls.h and %s in it or in its csdk/)", from, dir, HostInclude)
}

func isSDK(d string) bool {
	for _, f := range []string{"Makefile", "include/mv_syscalls.h", HostInclude} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			return false
		}
	}
	return true
}

var moduleLine = regexp.MustCompile(`(?m)^module\s+"?` + regexp.QuoteMeta(Module) + `"?\s*$`)

// checkoutAround returns the root of the checkout of this module that holds
// dir, if any.
func checkoutAround(dir string) (string, bool) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && moduleLine.Match(b) {
			return d, true
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", false
		}
		d = parent
	}
}

// sourceSDK is builtFrom; tests replace it.
var sourceSDK = builtFrom

// builtFrom returns the SDK directory of the source tree this binary was
// compiled from, if it is still there (not with -trimpath, which leaves no
// absolute path).
func builtFrom() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false
	}
	sdk := filepath.Join(filepath.Dir(file), "..", "..", "csdk")
	if !isSDK(sdk) {
		return "", false
	}
	return filepath.Clean(sdk), true
}

// moduleCacheSDK returns where the module cache holds the csdk directory of
// the module version this binary was built from.
func moduleCacheSDK() (dir, version string, ok bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != Module || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "", "", false
	}
	version = info.Main.Version
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		out, err := exec.Command("go", "env", "GOMODCACHE").Output()
		if err != nil {
			return "", version, false
		}
		cache = strings.TrimSpace(string(out))
	}
	if cache == "" {
		return "", version, false
	}
	return filepath.Join(cache, Module+"@"+version, "csdk"), version, true
}
