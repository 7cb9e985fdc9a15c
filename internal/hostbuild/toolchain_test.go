package hostbuild

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CMake wraps its message at spaces; the path is put together again.
func TestMissingToolchainPath(t *testing.T) {
	for _, c := range []struct{ name, out, want string }{
		{"one line", "CMake Error at /usr/share/cmake-3.25/Modules/CMakeDetermineSystem.cmake:130 (message):\n" +
			"  Could not find toolchain file: /p/hal/toolchain.cmake\nCall Stack (most recent call first):\n  CMakeLists.txt:3 (project)\n\n",
			"/p/hal/toolchain.cmake"},
		{"wrapped after the colon", "  Could not find toolchain file:\n  /a/very/long/path/without/spaces/twilio-microvisor-hal-stm32u5/toolchain.cmake\n\n\n",
			"/a/very/long/path/without/spaces/twilio-microvisor-hal-stm32u5/toolchain.cmake"},
		{"spaces, wrapped (CMake 3.25's output)", "CMake Error at /usr/share/cmake-3.25/Modules/CMakeDetermineSystem.cmake:130 (message):\n" +
			"  Could not find toolchain file: /tmp/gofix tc/my project dir/Some HAL dir\n  with a long name here/and\n" +
			"  more/twilio-microvisor-hal-stm32u5/toolchain.cmake\nCall Stack (most recent call first):\n  CMakeLists.txt:3 (project)\n",
			"/tmp/gofix tc/my project dir/Some HAL dir with a long name here/and more/twilio-microvisor-hal-stm32u5/toolchain.cmake"},
		{"quoted", "  Could not find toolchain file: \"/My Projects/hal/toolchain.cmake\"\n\n", "/My Projects/hal/toolchain.cmake"},
		{"none", "CMake Error: CMAKE_C_COMPILER not set\n", ""},
	} {
		if got := missingToolchain([]byte(c.out)); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A project in a directory with spaces, whose toolchain file (in a
// submodule not checked out) has spaces in its path too: CMake's real
// error is read, the stand-in goes where CMake looks, configure succeeds.
func TestConfigureStandsInForAMissingToolchainWithSpaces(t *testing.T) {
	cmake, err := exec.LookPath("cmake")
	if err != nil {
		t.Skip("no cmake")
	}
	project := filepath.Join(t.TempDir(), "My Projects", "sample project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	const rel = "Microvisor HAL for the STM32U5 with a long name/twilio-microvisor-hal-stm32u5/toolchain.cmake"
	cml := "cmake_minimum_required(VERSION 3.20)\nset(CMAKE_TOOLCHAIN_FILE \"${CMAKE_SOURCE_DIR}/" + rel + "\")\nproject(sample NONE)\n"
	if err := os.WriteFile(filepath.Join(project, "CMakeLists.txt"), []byte(cml), 0o644); err != nil {
		t.Fatal(err)
	}
	bdir := filepath.Join(project, "build host")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	if err := configureProject(ctx, &progress, cmake, bdir, []string{"-S", project, "-B", bdir}); err != nil {
		t.Fatalf("configure: %v\n%s", err, progress.String())
	}
	missing := filepath.Join(project, rel)
	if !strings.Contains(progress.String(), "the toolchain file "+missing+" is missing") {
		t.Errorf("progress does not name the missing file %s:\n%s", missing, progress.String())
	}
	if _, err := os.Stat(filepath.Join(bdir, missing)); err != nil {
		t.Errorf("no stand-in where CMake looks: %v", err)
	}
}
