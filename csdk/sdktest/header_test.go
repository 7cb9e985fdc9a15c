package sdktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestHeadersCompile compiles the headers this package's library adds
// (stm32u585xx.h, mvnet.h) with mv_syscalls.h as C11 and C++17, warnings as
// errors. It needs no library.
func TestHeadersCompile(t *testing.T) {
	t.Parallel()
	include, err := filepath.Abs("../include")
	if err != nil {
		t.Fatal(err)
	}
	src := "#include \"mv_syscalls.h\"\n#include \"stm32u585xx.h\"\n#include \"mvnet.h\"\n" +
		"int check(void);\nint check(void) { return TIM8_BRK_IRQn == 51 && TIM2_IRQn == 45 && TIM1_BRK_IRQn == 41 && " +
		"WWDG_IRQn == 0 && FMAC_IRQn == 124 && SysTick_IRQn == -1 && MVNET_IRQ_COUNT == 125; }\n"
	dir := t.TempDir()
	for _, c := range []struct {
		tool, file string
		flags      []string
	}{
		{"cc", "h.c", []string{"-std=c11"}},
		{"c++", "h.cpp", []string{"-std=c++17"}},
	} {
		tool.Require(t, c.tool)
		f := filepath.Join(dir, c.file)
		if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(c.flags, "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I"+include, "-c", f, "-o", f+".o")
		if out, err := exec.Command(c.tool, args...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", c.tool, strings.Join(args, " "), err, out)
		}
	}
}

// TestCPlusPlusHandler links a C++ application whose handler is defined
// without extern "C".
func TestCPlusPlusHandler(t *testing.T) {
	t.Parallel()
	needLib(t)
	tool.Require(t, "c++")
	bin := filepath.Join(t.TempDir(), "handler")
	args := []string{"-std=c++17", "-Wall", "-Wextra", "-Werror", "-I" + lib.include, filepath.Join("testdata", "handler.cpp"),
		"-o", bin, filepath.Join(lib.dir, "libmvnet.a"), "-lpthread"}
	if out, err := exec.Command("c++", args...).CombinedOutput(); err != nil {
		t.Fatalf("c++ %v: %v\n%s", args, err, out)
	}
	if r := run(t, bin, nil, 60*time.Second); r.code != 0 || !strings.Contains(r.stdout, "calls=1") {
		t.Fatalf("handler.cpp: %v", r)
	}
}
