package sdktest

import (
	"bufio"
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv"
	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// mvnetCLI is the mvnet command, built once per test process.
var mvnetCLI struct {
	once sync.Once
	path string
	err  error
}

// mvnetBinary builds cmd/mvnet (once) and returns its path.
func mvnetBinary(t testing.TB) string {
	t.Helper()
	mvnetCLI.once.Do(func() {
		dir, err := os.MkdirTemp("", "mvnet-cli")
		if err != nil {
			mvnetCLI.err = err
			return
		}
		mvnetCLI.path = filepath.Join(dir, "mvnet")
		out, err := exec.Command("go", "build", "-o", mvnetCLI.path, "../../cmd/mvnet").CombinedOutput()
		if err != nil {
			mvnetCLI.err = err
			t.Logf("go build cmd/mvnet:\n%s", out)
		}
	})
	if mvnetCLI.err != nil {
		t.Fatalf("building cmd/mvnet: %v", mvnetCLI.err)
	}
	return mvnetCLI.path
}

// removeMvnetBinary removes what mvnetBinary built (TestMain, at the end).
func removeMvnetBinary() {
	if mvnetCLI.path != "" {
		_ = os.RemoveAll(filepath.Dir(mvnetCLI.path))
	}
}

// copyTree copies the directory src into dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			if info.Name() == "build-host" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// localHTTPS starts a local HTTPS server serving h and returns it with the
// environment that lets an application built against libmvnet
// reach it (its CA, the resolve mapping, the allowed loopback range).
func localHTTPS(t *testing.T, h http.Handler) (*testenv.Server, map[string]string) {
	t.Helper()
	srv := testenv.NewServer(t, h)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.CA.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, map[string]string{"MVNET_CA_FILE": caFile, "MVNET_RESOLVE": srv.Resolve, "MVNET_ALLOW": "127.0.0.0/8"}
}

// pkgConfigFlags returns what pkg-config --cflags --libs gives for pc
// (mvnet or mvnet-static) of the test's library build.
func pkgConfigFlags(t testing.TB, pc string) []string {
	t.Helper()
	cmd := exec.Command("pkg-config", "--cflags", "--libs", pc)
	cmd.Env = append(os.Environ(), "PKG_CONFIG_PATH="+lib.dir)
	flags, err := cmd.Output()
	if err != nil {
		t.Fatalf("pkg-config %s: %v", pc, err)
	}
	return strings.Fields(string(flags))
}

// cmakePackageBuild configures and builds the CMake project in dir with
// the test's library build as the mvnet package, into dir/build, which it
// returns.
func cmakePackageBuild(t testing.TB, dir string) string {
	t.Helper()
	bld := filepath.Join(dir, "build")
	for _, args := range [][]string{
		{"-S", dir, "-B", bld, "-Dmvnet_DIR=" + filepath.Join(lib.dir, "cmake", "mvnet")},
		{"--build", bld},
	} {
		if out, err := exec.Command("cmake", args...).CombinedOutput(); err != nil {
			t.Fatalf("cmake %v: %v\n%s", args, err, out)
		}
	}
	return bld
}

// mvnetBuild runs mvnet build on dir with more CMake arguments and returns
// the executables it printed and its progress output.
func mvnetBuild(t *testing.T, dir string, cmakeArgs ...string) (exes []string, progress string) {
	t.Helper()
	args := append([]string{"build", dir, "--"}, cmakeArgs...)
	cmd := exec.Command(mvnetBinary(t), args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("mvnet %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	// One executable a line: a path may hold spaces.
	for _, l := range strings.Split(stdout.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			exes = append(exes, l)
		}
	}
	return exes, stderr.String()
}

// sampleProject copies examples/project — mvnet's own sample, laid out like
// the public Microvisor samples — into a new directory whose path has
// spaces (as "My Projects" does), and returns the copy. Tests apply their
// edits to the copy.
func sampleProject(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "project"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "My Projects", "sensor demo")
	copyTree(t, src, dir)
	return dir
}

// editFile replaces old (which must be there) by new in the file at path.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s no longer holds %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes text to path, making its directory.
func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runUntil runs an application that does not end by itself (it blinks its
// LED) with env added to the environment, reading its stdout until a line
// contains until or the application ends (deadline: timeout); it then
// stops it and returns the lines read and its stderr.
func runUntil(t *testing.T, exe string, env map[string]string, until string, timeout time.Duration) (lines []string, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		lines = append(lines, line)
		if strings.Contains(line, until) {
			break
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return lines, errb.String()
}

// TestMvnetBuildSampleShapedProject: mvnet build builds a project laid out
// like the public Microvisor samples (a copy of examples/project, in a
// directory with spaces) with its CMake files unchanged — an arm-none-eabi
// toolchain file set before project(), the HAL submodule absent,
// FreeRTOS-Kernel absent, ST_Code with newlib retargets and ST's
// cmsis_os2.c/.h (stand-ins here that #error if compiled or found), a
// linker script, an objcopy/bundler custom target — and the result runs:
// HAL_Init reaches the project's HAL_MspInit (linked from its ST_Code
// library), and the application posts its reading to a local HTTPS server
// (HTTP 200).
func TestMvnetBuildSampleShapedProject(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "cmake")
	srv, env := localHTTPS(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	dir := sampleProject(t)
	// What the board build needs and the host build must leave out: each
	// stops the build if it is compiled or found.
	for file, text := range map[string]string{
		"ST_Code/Core/Src/syscalls.c":       "/* newlib retarget / ST wrapper: the board build only. */\n#error \"mvnet build must leave ST_Code/Core/Src/syscalls.c out of the host build\"\n",
		"ST_Code/Core/Src/sysmem.c":         "/* newlib retarget: the board build only. */\n#error \"mvnet build must leave ST_Code/Core/Src/sysmem.c out of the host build\"\n",
		"ST_Code/CMSIS_RTOS_V2/cmsis_os2.c": "/* ST's CMSIS-RTOS2 wrapper: the board build only. */\n#error \"mvnet build must leave ST_Code/CMSIS_RTOS_V2/cmsis_os2.c out of the host build\"\n",
		"ST_Code/CMSIS_RTOS_V2/cmsis_os2.h": "/* ST's copy: libmvnet's cmsis_os2.h must be found first. */\n#error \"the project's cmsis_os2.h was found before csdk/include\"\n",
	} {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(file)), text)
	}
	// A linker script for the board, as the public samples give one.
	editFile(t, filepath.Join(dir, "app", "CMakeLists.txt"), "target_include_directories(${PROJECT_NAME} PUBLIC .)",
		"target_include_directories(${PROJECT_NAME} PUBLIC .)\ntarget_link_options(${PROJECT_NAME} PRIVATE -T${CMAKE_SOURCE_DIR}/STM32U585AIIX_FLASH.ld)")
	// HAL_MspInit says that it ran.
	msp := filepath.Join(dir, "ST_Code", "Core", "Src", "stm32u5xx_hal_msp.c")
	editFile(t, msp, "void HAL_MspInit(void) {", "#include <stdio.h>\nvoid HAL_MspInit(void) {\n    printf(\"HAL_MspInit ran: yes\\n\");\n    fflush(stdout);")

	url := srv.URL("/readings")
	exes, progress := mvnetBuild(t, dir, "-DAPI_URL="+url)
	want := filepath.Join(dir, "build-host", "app", "mv-sensor-demo")
	if len(exes) != 1 || exes[0] != want {
		t.Fatalf("mvnet build printed %q, want [%s]\n%s", exes, want, progress)
	}
	for _, w := range []string{
		"twilio-microvisor-hal-stm32u5 (the Microvisor HAL) is libmvnet on the host",
		"ST_Code: SOURCES without ST_Code/Core/Src/syscalls.c ST_Code/Core/Src/sysmem.c ST_Code/CMSIS_RTOS_V2/cmsis_os2.c",
		"FreeRTOS: SOURCES without FreeRTOS-Kernel/croutine.c",
		"mv-sensor-demo: LINK_OPTIONS without -T",
		"custom target extras (board artefacts) is left out",
	} {
		if !strings.Contains(progress, w) {
			t.Errorf("mvnet build's output lacks %q:\n%s", w, progress)
		}
	}
	env["MVNET_BOARD"] = filepath.Join(dir, "board.json")
	lines, stderr := runUntil(t, want, env, "posted ", 2*time.Minute)
	out := strings.Join(lines, "\n")
	if !strings.Contains(out, "HAL_MspInit ran: yes") || !strings.Contains(out, "posted 21.50 C to "+url+": HTTP 200") {
		t.Fatalf("the built application:\nstdout:\n%s\nstderr:\n%s", out, stderr)
	}
}

// TestNewlibCompat: a header that uses uint8_t after <stdio.h> alone and a
// source that calls assert without <assert.h> (both fine with newlib) build
// and run with the flags mvnet.pc and mvnet-static.pc give, and through the
// CMake package.
func TestNewlibCompat(t *testing.T) {
	t.Parallel()
	needLib(t)
	src, err := filepath.Abs(filepath.Join("testdata", "newlib_compat.c"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("pkg-config", func(t *testing.T) {
		t.Parallel()
		tool.Require(t, "pkg-config")
		for _, pc := range []string{"mvnet", "mvnet-static"} {
			bin := filepath.Join(t.TempDir(), "compat")
			args := append([]string{"-Werror=implicit-function-declaration", src, "-o", bin}, pkgConfigFlags(t, pc)...)
			if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
				t.Fatalf("cc %v: %v\n%s", args, err, out)
			}
			if r := run(t, bin, nil, 60*time.Second); r.code != 0 || !strings.Contains(r.stdout, "low=0x34") {
				t.Fatalf("%s: %v", pc, r)
			}
		}
	})
	t.Run("cmake", func(t *testing.T) {
		t.Parallel()
		tool.Require(t, "cmake")
		dir := t.TempDir()
		for _, f := range []string{"newlib_compat.c", "newlib_compat.h"} {
			b, err := os.ReadFile(filepath.Join("testdata", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cml := "cmake_minimum_required(VERSION 3.16)\nproject(compat C)\nfind_package(mvnet REQUIRED)\n" +
			"add_executable(compat newlib_compat.c)\ntarget_compile_options(compat PRIVATE -Werror=implicit-function-declaration)\n" +
			"target_link_libraries(compat mvnet::mvnet_static)\n"
		if err := os.WriteFile(filepath.Join(dir, "CMakeLists.txt"), []byte(cml), 0o644); err != nil {
			t.Fatal(err)
		}
		bld := cmakePackageBuild(t, dir)
		if r := run(t, filepath.Join(bld, "compat"), nil, 60*time.Second); r.code != 0 || !strings.Contains(r.stdout, "low=0x34") {
			t.Fatalf("cmake: %v", r)
		}
	})
}

// TestMvnetBuildErrors: mvnet build exits non-zero with a message naming
// the problem for a directory that is no CMake project and for an --sdk
// that is no SDK.
func TestMvnetBuildErrors(t *testing.T) {
	t.Parallel()
	needLib(t)
	empty := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"build", empty}, "has no CMakeLists.txt"},
		{[]string{"build", "--sdk", empty, filepath.Join("..", "..", "examples", "project")}, "is not mvnet's C SDK"},
		{[]string{"build", "a", "b"}, "one project directory"},
	} {
		out, err := exec.Command(mvnetBinary(t), c.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("mvnet %v: %v, output %q; want failure saying %q", c.args, err, out, c.want)
		}
	}
}

// TestMvnetBuildToolchainInMissingSubmodule: a project whose CMakeLists.txt
// takes its toolchain file from the HAL submodule
// (Microvisor-Demo-Weather-Device's shape), absent on a fresh clone, still
// builds — in a directory with spaces, which CMake's message wraps at —
// mvnet build gives CMake a stand-in inside the build directory and says
// so; the project's tree is left as it was.
func TestMvnetBuildToolchainInMissingSubmodule(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "cmake")
	dir := sampleProject(t)
	editFile(t, filepath.Join(dir, "CMakeLists.txt"), `set(CMAKE_TOOLCHAIN_FILE "${CMAKE_SOURCE_DIR}/toolchain.cmake")`,
		`set(CMAKE_TOOLCHAIN_FILE "${CMAKE_SOURCE_DIR}/twilio-microvisor-hal-stm32u5/toolchain.cmake")`)
	exes, progress := mvnetBuild(t, dir)
	want := filepath.Join(dir, "build-host", "app", "mv-sensor-demo")
	if len(exes) != 1 || exes[0] != want {
		t.Fatalf("mvnet build printed %q, want [%s]\n%s", exes, want, progress)
	}
	missing := filepath.Join(dir, "twilio-microvisor-hal-stm32u5", "toolchain.cmake")
	if !strings.Contains(progress, "the toolchain file "+missing+" is missing") {
		t.Errorf("mvnet build did not say the toolchain file is missing:\n%s", progress)
	}
	if _, err := os.Stat(filepath.Join(dir, "twilio-microvisor-hal-stm32u5")); err == nil {
		t.Error("mvnet build created the submodule's directory in the project")
	}
}
