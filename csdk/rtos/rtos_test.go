package rtos_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mvnet/mvnet/internal/testenv/tool"
)

// cFlags are the warnings the C sources and headers must compile cleanly with.
var cFlags = []string{"-std=c11", "-Wall", "-Wextra", "-Werror"}

// need returns the path of a host tool; a missing one skips the test, or
// fails it under CI=true.
func need(t *testing.T, name string) string {
	t.Helper()
	return tool.Require(t, name)
}

// includeFlags returns -I flags for csdk/include, this directory and the HAL
// sources' directory. If the device header (another part of the SDK, pulled
// in by the HAL header) is not there yet, a minimal stand-in is written to a
// temporary directory searched last.
func includeFlags(t *testing.T) []string {
	t.Helper()
	var flags []string
	for _, d := range []string{filepath.Join("..", "include"), ".", filepath.Join("..", "hal")} {
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		flags = append(flags, "-I"+abs)
	}
	if _, err := os.Stat(filepath.Join("..", "include", "stm32u585xx.h")); err == nil {
		return flags
	}
	stub := t.TempDir()
	const device = `#ifndef STM32U585xx_H
#define STM32U585xx_H
#include <stdint.h>
typedef enum { SysTick_IRQn = -1, TIM8_BRK_IRQn = 51 } IRQn_Type;
void NVIC_EnableIRQ(IRQn_Type);
void NVIC_DisableIRQ(IRQn_Type);
void NVIC_SetPendingIRQ(IRQn_Type);
void NVIC_ClearPendingIRQ(IRQn_Type);
uint32_t NVIC_GetPendingIRQ(IRQn_Type);
void NVIC_SetPriority(IRQn_Type, uint32_t);
void NVIC_SetPriorityGrouping(uint32_t);
uint32_t NVIC_GetPriorityGrouping(void);
uint32_t NVIC_EncodePriority(uint32_t, uint32_t, uint32_t);
#endif
`
	if err := os.WriteFile(filepath.Join(stub, "stm32u585xx.h"), []byte(device), 0o644); err != nil {
		t.Fatal(err)
	}
	return append(flags, "-I"+stub)
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	return files
}

func runTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
}

// shared is the test program built without extras, once for every test that
// runs it; TestMain removes its directory.
var shared struct {
	mu  sync.Mutex
	dir string
	bin string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		_ = os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// buildShared returns the test program built without extras.
func buildShared(t *testing.T) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.bin == "" {
		dir, err := os.MkdirTemp("", "mvnet-rtos-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
		bin := filepath.Join(dir, "rtos_cases")
		buildInto(t, bin)
		shared.bin = bin
	}
	return shared.bin
}

// build compiles the test program in testdata with the RTOS sources (and extra
// sources and flags) into a temporary directory.
func build(t *testing.T, extra ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rtos_cases")
	buildInto(t, bin, extra...)
	return bin
}

func buildInto(t *testing.T, bin string, extra ...string) {
	t.Helper()
	gcc := need(t, "gcc")
	args := append(append([]string{}, cFlags...), includeFlags(t)...)
	args = append(args, "-o", bin, filepath.Join("testdata", "rtos_cases.c"), filepath.Join("testdata", "rtos_objects.c"))
	args = append(args, glob(t, "*.c")...)
	args = append(args, extra...)
	runTool(t, gcc, append(args, "-lpthread")...)
}

// run runs one case with a deadline. It returns the output and whether the
// deadline killed the process.
func run(t *testing.T, bin, name string, limit time.Duration) (stdout, stderr string, err error, killed bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, name)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err, ctx.Err() != nil
}

// expectPass fails the test unless the case exits 0 and reports PASS.
func expectPass(t *testing.T, bin, name string) {
	t.Helper()
	stdout, stderr, err, killed := run(t, bin, name, 60*time.Second)
	if killed {
		t.Fatalf("%s: timed out (a wait that never ends?)\nstdout:\n%s\nstderr:\n%s", name, stdout, stderr)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", name, err)
	}
	if err != nil || !strings.Contains(stdout, "PASS "+name) {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", name, err, stdout, stderr)
	}
}

func TestSourcesCompileWithoutWarnings(t *testing.T) {
	gcc := need(t, "gcc")
	inc := includeFlags(t)
	dir := t.TempDir()
	for _, src := range glob(t, "*.c") {
		args := append(append([]string{}, cFlags...), "-Wpedantic")
		args = append(args, inc...)
		runTool(t, gcc, append(args, "-c", src, "-o", filepath.Join(dir, src+".o"))...)
	}
}

// cmsis_os2.h and cmsis_os.h compile as C11 and C++17 with warnings as
// errors, with CMSIS-RTOS2's values.
func TestHeadersCompile(t *testing.T) {
	gcc := need(t, "gcc")
	inc := includeFlags(t)
	const body = `
#include "cmsis_os.h"
#include "cmsis_os2.h"
static void task(void *arg) { (void)arg; }
int use_rtos(void) {
  osThreadAttr_t attr;
  memset(&attr, 0, sizeof attr);
  attr.name = "task";
  attr.stack_size = 1024;
  attr.priority = (osPriority_t)osPriorityNormal;
  osThreadId_t t = osThreadNew(task, NULL, &attr);
  osMessageQueueId_t q = osMessageQueueNew(4, sizeof(uint32_t), NULL);
  uint32_t v = 1;
  if (t == NULL || q == NULL) return -1;
  if (osMessageQueuePut(q, &v, 0U, 0U) != osOK) return -2;
  return (int)osKernelGetTickCount() + (int)osEventFlagsWait(NULL, 1U, osFlagsWaitAny, osWaitForever);
}
`
	checks := []string{
		"osOK == 0", "osError == -1", "osErrorTimeout == -2", "osErrorResource == -3",
		"osErrorParameter == -4", "osErrorNoMemory == -5", "osErrorISR == -6",
		"osWaitForever == 0xFFFFFFFFU", "osFlagsWaitAny == 0U", "osFlagsWaitAll == 1U",
		"osFlagsNoClear == 2U", "osFlagsError == 0x80000000U", "osFlagsErrorUnknown == 0xFFFFFFFFU",
		"osFlagsErrorTimeout == 0xFFFFFFFEU", "osFlagsErrorResource == 0xFFFFFFFDU",
		"osFlagsErrorParameter == 0xFFFFFFFCU", "osFlagsErrorISR == 0xFFFFFFFAU",
		"osPriorityNormal == 24", "osPriorityISR == 56", "osPriorityError == -1",
		"osThreadJoinable == 1U", "osMutexRecursive == 1U", "osTimerPeriodic == 1",
		"osKernelRunning == 2", "osKernelLocked == 3", "osThreadTerminated == 4",
		"sizeof(osStatus_t) == 4", "sizeof(osPriority_t) == 4",
		"sizeof(osThreadAttr_t) == 3 * sizeof(void *) + 6 * sizeof(uint32_t) + (sizeof(void *) == 8 ? 8 : 0)",
	}
	var c strings.Builder
	c.WriteString("#include <string.h>\n")
	c.WriteString(body)
	for i, chk := range checks {
		fmt.Fprintf(&c, "_Static_assert(%s, \"check %d\");\n", chk, i)
	}
	dir := t.TempDir()
	cfile := filepath.Join(dir, "all.c")
	if err := os.WriteFile(cfile, []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, gcc, append(append(append([]string{}, cFlags...), inc...), "-c", cfile, "-o", cfile+".o")...)

	gxx := need(t, "g++")
	cpp := strings.ReplaceAll(c.String(), "_Static_assert", "static_assert") +
		"bool null_ids() { return osThreadGetId() == nullptr || osMutexNew(nullptr) != nullptr; }\n"
	cppfile := filepath.Join(dir, "all.cpp")
	if err := os.WriteFile(cppfile, []byte(cpp), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, gxx, append(append([]string{"-std=c++17", "-Wall", "-Wextra", "-Werror"}, inc...),
		"-c", cppfile, "-o", cppfile+".o")...)
}

// Each case runs on an RTOS thread after osKernelStart; see
// testdata/rtos_cases.c and rtos_objects.c for what it checks.
func TestRTOS(t *testing.T) {
	t.Parallel()
	bin := buildShared(t)
	cases := []string{
		"queue_isr",     // put from a handler: timeout 0 never blocks, osErrorResource when full
		"queue_timeout", // get/put timeouts, priorities, reset, delete releasing waiters
		"delay",         // osDelay, osDelayUntil, ticks
		"timers",        // periodic repeats, one-shot once, stop, restart, delete in callback
		"mutex",         // exclusion, recursion, ownership, release on termination
		"semaphore",     // counts, timeouts, handler release
		"eventflags",    // any/all/no-clear, timeouts, one bit for one waiter
		"threads",       // ids, names, states, join, terminate, thread flags
		"kernel",        // states, lock/unlock, info
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			expectPass(t, bin, name)
		})
	}
}

// osKernelStart never returns: with every application thread finished, the
// process stays up until something ends it. The case prints "parked" when
// its thread ends; the process must then still be running a while later
// (a window in which a wrong osKernelStart would return and exit).
func TestKernelStartBlocksForever(t *testing.T) {
	t.Parallel()
	bin := buildShared(t)
	cmd := exec.Command(bin, "park")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	exited := make(chan error, 1)
	var out []string
	deadline := time.After(60 * time.Second)
	for parked := false; !parked; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stdout closed before \"parked\": %q\nstderr:\n%s", out, stderr.String())
			}
			out = append(out, l)
			parked = l == "parked"
		case <-deadline:
			t.Fatalf("no \"parked\" within 60s: %q", out)
		}
	}
	go func() {
		for l := range lines {
			out = append(out, l)
		}
		exited <- cmd.Wait()
	}()
	select {
	case err := <-exited:
		t.Fatalf("process ended on its own: %v\nstdout: %q\nstderr:\n%s", err, out, stderr.String())
	case <-time.After(time.Second):
	}
	_ = cmd.Process.Kill()
	<-exited
	for _, l := range out {
		if strings.Contains(l, "FAIL") {
			t.Fatalf("stdout: %q\nstderr:\n%s", out, stderr.String())
		}
	}
}

// Linked with the HAL stand-in, osKernelGetTickCount and HAL_GetTick count
// from the same instant.
func TestTicksAgreeWithHAL(t *testing.T) {
	t.Parallel()
	bin := build(t, append([]string{"-DWITH_HAL"}, glob(t, filepath.Join("..", "hal", "*.c"))...)...)
	expectPass(t, bin, "hal_ticks")
}
