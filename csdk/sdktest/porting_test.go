package sdktest

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// TestCMSISIntrinsics runs the core intrinsics of cmsis_gcc.h through the
// family header stm32u5xx.h: barriers, PRIMASK, __get_IPSR in a handler,
// __WFI woken by an interrupt, __SEV/__WFE, the SCB.
func TestCMSISIntrinsics(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "cmsis", l)
			r := run(t, bin, nil, 60*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
				t.Fatalf("cmsis: %v", r)
			}
		})
	}
}

// TestBKPTRaisesSIGTRAP: __BKPT stops the process with SIGTRAP (what a
// debugger catches) instead of returning.
func TestBKPTRaisesSIGTRAP(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "cmsis", static)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "bkpt")
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("cmsis bkpt: %v, output %q", err, out)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGTRAP || strings.Contains(string(out), "returned") {
		t.Fatalf("cmsis bkpt: %v, output %q; want death by SIGTRAP", err, out)
	}
}

// TestSystemFileLinks: an application that keeps its system file
// (system_stm32u5xx_ns.c: SystemCoreClock, SystemInit,
// SystemCoreClockUpdate, ST's tables) links against both libraries, also
// built with -fvisibility=hidden, and the HAL reads its SystemCoreClock.
func TestSystemFileLinks(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		for _, hidden := range []bool{false, true} {
			name := l.String()
			var flags []string
			if hidden {
				name += "/hidden"
				flags = []string{"-fvisibility=hidden"}
			}
			t.Run(name, func(t *testing.T) {
				bin := compileFile(t, "system_file", l, flags...)
				r := run(t, bin, nil, 60*time.Second)
				if r.code != 0 || !strings.Contains(r.stdout, "clock=160000000 failures=0") {
					t.Fatalf("system_file: %v", r)
				}
			})
		}
	}
}

// TestHiddenVisibility: an application compiled with -fvisibility=hidden
// still has its handler, HAL hooks and SECURE_SystemCoreClockUpdate called
// by libmvnet.so (and by libmvnet.a).
func TestHiddenVisibility(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "hidden", l, "-fvisibility=hidden")
			r := run(t, bin, nil, 60*time.Second)
			if r.code != 0 || !strings.Contains(r.stdout, "failures=0") {
				t.Fatalf("hidden: %v", r)
			}
		})
	}
}

// TestRestartFromHandlerKeepsSignalMask: mvRestart called in a handler (on
// the interrupt thread, which blocks asynchronous signals) re-executes the
// application with the signal mask it started with.
func TestRestartFromHandlerKeepsSignalMask(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "restart_mask", l)
			r := run(t, bin, nil, 60*time.Second)
			if r.code != 0 {
				t.Fatalf("restart_mask: %v", r)
			}
			m := regexp.MustCompile(`run=(\d) SigBlk:\s*([0-9a-f]+)`).FindAllStringSubmatch(r.stdout, -1)
			if len(m) != 2 || m[0][1] != "0" || m[1][1] != "1" {
				t.Fatalf("want two runs: %v", r)
			}
			if m[0][2] != m[1][2] {
				t.Fatalf("the restarted image's blocked signals are %s, the first's %s", m[1][2], m[0][2])
			}
		})
	}
}

// TestOwnSIGUSR1Kept: without MVNET_UPDATE_SIGNAL=1 the library leaves an
// application's SIGUSR1 handler alone, also once the kernel runs.
func TestOwnSIGUSR1Kept(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "usr1", static)
	r := run(t, bin, nil, 60*time.Second)
	if r.code != 0 || !strings.Contains(r.stdout, "handled=2") {
		t.Fatalf("usr1: %v", r)
	}
}

// TestOwnSIGSEGVHandler: an application's own SIGSEGV handler, installed
// after the library started, never sees the library's checks of bad
// pointers inside one page: they are refused from the mappings first.
func TestOwnSIGSEGVHandler(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "segv_handler", static)
	r := run(t, bin, nil, 60*time.Second)
	if r.code != 0 || !strings.Contains(r.stdout, "faults=3") {
		t.Fatalf("segv_handler: %v", r)
	}
}

// TestExitLine: returning from main and calling exit() write the trace's
// exit line with the status, after the start line that opens the trace.
func TestExitLine(t *testing.T) {
	t.Parallel()
	for _, l := range []linkage{static, shared} {
		t.Run(l.String(), func(t *testing.T) {
			bin := compileFile(t, "exit_line", l)
			for _, c := range []struct {
				args []string
				code int
			}{{[]string{"main", "3"}, 3}, {[]string{"exit", "7"}, 7}, {[]string{"main", "0"}, 0}} {
				r := run(t, bin, nil, 60*time.Second, c.args...)
				if r.code != c.code {
					t.Fatalf("%v: %v", c.args, r)
				}
				ex := r.lines("exit")
				if len(ex) != 1 || ex[0]["status"] != float64(c.code) {
					t.Errorf("%v: exit lines %v", c.args, ex)
				}
				if len(r.trace) == 0 || r.trace[0]["kind"] != "start" || r.trace[len(r.trace)-1]["kind"] != "exit" {
					t.Errorf("%v: trace %v", c.args, r.trace)
				}
			}
		})
	}
}

// TestTraceCapped: at MVNET_TRACE_MAX the trace keeps its newest lines
// behind one dropped line.
func TestTraceCapped(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "minimal", static)
	r := run(t, bin, map[string]string{"MVNET_TRACE_MAX": "300"}, 60*time.Second)
	if r.code != 0 || len(r.trace) < 2 {
		t.Fatalf("minimal: %v %v", r, r.trace)
	}
	if d, last := r.trace[0], r.trace[len(r.trace)-1]; d["kind"] != "dropped" || d["max"] != float64(300) || len(r.lines("dropped")) != 1 || last["kind"] != "exit" {
		t.Fatalf("trace %v", r.trace)
	}
}

// TestStdoutLineBuffered: with MVNET_STDOUT_LINEBUF=1 a line printed to a
// pipe arrives while the program still runs (stdio would otherwise hold it
// until exit).
func TestStdoutLineBuffered(t *testing.T) {
	t.Parallel()
	bin := compileFile(t, "exit_line", static)
	for _, env := range []string{"1", "0"} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, "linebuf")
		cmd.Env = append(os.Environ(), "MVNET_STDOUT_LINEBUF="+env, "MVNET_TRACE=")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			got <- line
		}()
		// The program waits for stdin to close, so the line can only come
		// early if it is line buffered: waiting long costs nothing then.
		wait := 60 * time.Second
		if env != "1" {
			wait = 300 * time.Millisecond
		}
		var line string
		select {
		case line = <-got:
		case <-time.After(wait):
		}
		_ = stdin.Close()
		if line == "" {
			line = <-got // at exit
			line = "(at exit) " + line
		}
		_ = cmd.Wait()
		cancel()
		switch {
		case env == "1" && line != "ready\n":
			t.Errorf("MVNET_STDOUT_LINEBUF=1: first line %q, want it before exit", line)
		case env == "0" && line == "ready\n":
			t.Logf("MVNET_STDOUT_LINEBUF=0: the line came before exit anyway")
		}
	}
}

// TestNewHeadersStandAlone: the CMSIS-style headers a CubeMX project
// includes compile on their own, in any order, as C11 and C++17.
func TestNewHeadersStandAlone(t *testing.T) {
	t.Parallel()
	include, err := filepath.Abs("../include")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, hdrs := range [][]string{
		{"core_cm33.h"},
		{"cmsis_gcc.h"},
		{"system_stm32u5xx.h"},
		{"stm32u5xx.h"},
		{"core_cm33.h", "stm32u585xx.h", "stm32u5xx.h", "stm32u5xx_hal.h"},
		{"stm32u5xx_hal.h", "stm32u5xx.h", "core_cm33.h", "cmsis_gcc.h"},
	} {
		var src strings.Builder
		src.WriteString("#define USE_HAL_DRIVER\n")
		for _, h := range hdrs {
			src.WriteString("#include \"" + h + "\"\n")
		}
		if hdrs[0] != "cmsis_gcc.h" && hdrs[0] != "system_stm32u5xx.h" {
			src.WriteString("void f(void);\nvoid f(void) { NVIC_EnableIRQ(TIM2_IRQn); __NOP(); __WFI(); __WFE(); __SEV(); " +
				"__DSB(); __ISB(); __DMB(); __set_PRIMASK(__get_PRIMASK()); (void)__get_IPSR(); __BKPT(0); " +
				"(void)__REV(1U); (void)__REV16(1U); (void)__REVSH(1); (void)__RBIT(1U); (void)__CLZ(1U); " +
				"SCB->VTOR = 0; (void)SysTick_Config(1U); SystemCoreClockUpdate(); }\n")
		} else {
			src.WriteString("void f(void);\nvoid f(void) { __NOP(); __DSB(); }\n")
		}
		for _, c := range []struct{ tool, ext, std string }{{"cc", ".c", "-std=c11"}, {"c++", ".cpp", "-std=c++17"}} {
			tool.Require(t, c.tool)
			f := filepath.Join(dir, "h"+string(rune('a'+i))+c.ext)
			if err := os.WriteFile(f, []byte(src.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{c.std, "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I" + include, "-c", f, "-o", f + ".o"}
			if out, err := exec.Command(c.tool, args...).CombinedOutput(); err != nil {
				t.Errorf("%v: %s %s: %v\n%s", hdrs, c.tool, strings.Join(args, " "), err, out)
			}
		}
	}
}
