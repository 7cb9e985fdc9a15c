package hal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
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

// includeFlags returns -I flags for csdk/include and this directory. If the
// device header (another part of the SDK) is not there yet, a minimal
// stand-in is written to a temporary directory searched after csdk/include.
func includeFlags(t *testing.T) []string {
	t.Helper()
	inc, err := filepath.Abs(filepath.Join("..", "include"))
	if err != nil {
		t.Fatal(err)
	}
	here, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"-I" + inc, "-I" + here}
	if _, err := os.Stat(filepath.Join(inc, "stm32u585xx.h")); err == nil {
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

// sources returns this directory's C files.
func sources(t *testing.T) []string {
	t.Helper()
	srcs, err := filepath.Glob("*.c")
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no C sources: %v", err)
	}
	return srcs
}

func runTool(t *testing.T, tool string, args ...string) {
	t.Helper()
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(tool), strings.Join(args, " "), err, out)
	}
}

// buildCases compiles testdata/hal_cases.c with the HAL sources: linked in
// directly, or (shared) through a shared library linked with -Bsymbolic, as
// Go's -buildmode=c-shared links libmvnet.so, into an executable built with
// exeFlags (-pie, -no-pie).
func buildCases(t *testing.T, shared bool, exeFlags ...string) string {
	t.Helper()
	gcc := need(t, "gcc")
	dir := t.TempDir()
	bin := filepath.Join(dir, "hal_cases")
	inc := includeFlags(t)
	args := append(append(append([]string{}, cFlags...), inc...), exeFlags...)
	args = append(args, "-o", bin, filepath.Join("testdata", "hal_cases.c"))
	if shared {
		lib := append(append(append([]string{}, cFlags...), inc...), "-shared", "-fPIC", "-Wl,-Bsymbolic",
			"-o", filepath.Join(dir, "libmvnethal.so"))
		runTool(t, gcc, append(append(lib, sources(t)...), "-lpthread", "-ldl")...)
		args = append(args, "-L"+dir, "-Wl,-rpath,"+dir, "-lmvnethal")
	} else {
		args = append(args, sources(t)...)
	}
	runTool(t, gcc, append(args, "-lpthread", "-ldl")...)
	return bin
}

type result struct {
	stdout, stderr string
}

// runCase runs one case of the test program with a deadline and fails the
// test unless it exits 0 and reports PASS.
func runCase(t *testing.T, bin, name string, env ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, name)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout.String(), stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out\nstdout:\n%s\nstderr:\n%s", name, r.stdout, r.stderr)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", name, err)
	}
	if err != nil || !strings.Contains(r.stdout, "PASS "+name) {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", name, err, r.stdout, r.stderr)
	}
	return r
}

// traceEvents parses the trace lines the weak mvnet_trace_event fallback
// wrote to stderr.
func traceEvents(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("trace line %q is not JSON: %v", sc.Text(), err)
		}
		events = append(events, ev)
	}
	return events
}

// ev builds an expected event from key/value pairs; numbers as in JSON.
func ev(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		v := kv[i+1]
		if n, ok := v.(int); ok {
			v = float64(n)
		}
		m[kv[i].(string)] = v
	}
	return m
}

func filterKind(events []map[string]any, kind string) []map[string]any {
	var out []map[string]any
	for _, e := range events {
		if e["kind"] == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestSourcesCompileWithoutWarnings(t *testing.T) {
	gcc := need(t, "gcc")
	inc := includeFlags(t)
	dir := t.TempDir()
	for _, src := range sources(t) {
		args := append(append([]string{}, cFlags...), "-Wpedantic")
		args = append(args, inc...)
		runTool(t, gcc, append(args, "-c", src, "-o", filepath.Join(dir, src+".o"))...)
	}
}

// The HAL headers compile as C11 and C++17 with warnings as errors, each on
// its own and all together.
func TestHeadersCompile(t *testing.T) {
	gcc := need(t, "gcc")
	inc := includeFlags(t)
	headers := []string{
		"stm32u5xx_hal.h", "stm32u5xx_hal_def.h", "stm32u5xx_hal_gpio.h",
		"stm32u5xx_hal_uart.h", "stm32u5xx_hal_rcc.h", "stm32u5xx_hal_cortex.h",
		"stm32u5xx_hal_tim.h",
	}
	// Application-style code: the names, types and values it relies on.
	const body = `
#include <string.h>
#include "stm32u5xx_hal.h"
static UART_HandleTypeDef huart;
int use_hal(void) {
  GPIO_InitTypeDef g;
  memset(&g, 0, sizeof g);
  g.Pin = GPIO_PIN_5 | GPIO_PIN_All;
  g.Mode = GPIO_MODE_OUTPUT_PP;
  g.Pull = GPIO_PULLUP;
  g.Speed = GPIO_SPEED_FREQ_VERY_HIGH;
  g.Alternate = GPIO_AF7_USART2;
  __HAL_RCC_GPIOA_CLK_ENABLE();
  __HAL_RCC_GPIOI_CLK_ENABLE();
  __HAL_RCC_TIM2_CLK_ENABLE();
  __HAL_RCC_TIM8_CLK_ENABLE();
  __HAL_RCC_USART2_CLK_ENABLE();
  __HAL_RCC_LPUART1_CLK_ENABLE();
  HAL_GPIO_Init(GPIOA, &g);
  HAL_GPIO_WritePin(GPIOA, GPIO_PIN_5, GPIO_PIN_SET);
  HAL_GPIO_TogglePin(GPIOB, GPIO_PIN_0);
  huart.Instance = USART2;
  huart.Init.BaudRate = 115200;
  huart.Init.WordLength = UART_WORDLENGTH_8B;
  huart.Init.StopBits = UART_STOPBITS_1;
  huart.Init.Parity = UART_PARITY_NONE;
  huart.Init.Mode = UART_MODE_TX;
  huart.Init.HwFlowCtl = UART_HWCONTROL_NONE;
  if (HAL_UART_Init(&huart) != HAL_OK) return -1;
  uint8_t c = 'x';
  HAL_UART_Transmit(&huart, &c, 1, 100);
  SystemCoreClockUpdate();
  HAL_InitTick(TICK_INT_PRIORITY);
  HAL_NVIC_SetPriority(TIM8_BRK_IRQn, 0, 0);
  HAL_NVIC_EnableIRQ(TIM8_BRK_IRQn);
  UNUSED(c);
  return (int)(HAL_GetTick() + SystemCoreClock) + (HAL_GPIO_ReadPin(GPIOA, GPIO_PIN_5) == GPIO_PIN_SET);
}
`
	checks := []string{
		"HAL_OK == 0", "HAL_ERROR == 1", "HAL_BUSY == 2", "HAL_TIMEOUT == 3",
		"GPIO_PIN_5 == 0x20", "GPIO_PIN_All == 0xFFFF", "GPIO_MODE_OUTPUT_PP == 1",
		"GPIO_MODE_IT_FALLING == 0x10210000U", "GPIO_PULLUP == 1", "HAL_MAX_DELAY == 0xFFFFFFFFU",
		"UART_MODE_TX_RX == 0xC", "HAL_UART_STATE_READY == 0x20",
	}
	dir := t.TempDir()
	var c strings.Builder
	for _, h := range headers {
		fmt.Fprintf(&c, "#include %q\n", h)
	}
	c.WriteString(body)
	for i, chk := range checks {
		fmt.Fprintf(&c, "_Static_assert(%s, \"check %d\");\n", chk, i)
	}
	for i, h := range headers {
		// Each header alone, so that none depends on include order.
		alone := filepath.Join(dir, fmt.Sprintf("alone%d.c", i))
		if err := os.WriteFile(alone, []byte(fmt.Sprintf("#include %q\nint x%d;\n", h, i)), 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, gcc, append(append(append([]string{}, cFlags...), inc...), "-c", alone, "-o", alone+".o")...)
	}
	cfile := filepath.Join(dir, "all.c")
	if err := os.WriteFile(cfile, []byte(c.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, gcc, append(append(append([]string{}, cFlags...), inc...), "-c", cfile, "-o", cfile+".o")...)

	gxx := need(t, "g++")
	cpp := strings.ReplaceAll(c.String(), "_Static_assert", "static_assert")
	cppfile := filepath.Join(dir, "all.cpp")
	if err := os.WriteFile(cppfile, []byte(cpp), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, gxx, append(append([]string{"-std=c++17", "-Wall", "-Wextra", "-Werror"}, inc...),
		"-c", cppfile, "-o", cppfile+".o")...)
}

// The same cases run with the HAL linked into the executable and through a
// -Bsymbolic shared library (libmvnet.so's shape), where the application's
// GPIOx/USARTx/SystemCoreClock are copies of the library's objects and its
// hooks cannot override weak definitions inside the library.
func TestHAL(t *testing.T) {
	builds := []struct {
		name     string
		shared   bool
		exeFlags []string
	}{
		{"static", false, nil},
		{"shared-pie", true, []string{"-pie", "-fPIE"}},
		{"shared-nopie", true, []string{"-no-pie", "-fno-PIE"}},
	}
	for _, b := range builds {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			bin := buildCases(t, b.shared, b.exeFlags...)
			testCases(t, bin)
		})
	}
}

func testCases(t *testing.T, bin string) {
	t.Run("gpio", func(t *testing.T) {
		t.Parallel()
		r := runCase(t, bin, "gpio", "MVNET_TRACE_STDERR=1")
		got := filterKind(traceEvents(t, r.stderr), "gpio")
		want := []map[string]any{
			ev("op", "write", "port", "GPIOA", "pin", 5, "level", 0),
			ev("op", "init", "port", "GPIOA", "pin", 5, "mode", "output_pp", "pull", "up", "speed", 3),
			ev("op", "write", "port", "GPIOA", "pin", 5, "level", 1),
			ev("op", "read", "port", "GPIOA", "pin", 5, "level", 1),
			ev("op", "toggle", "port", "GPIOA", "pin", 5, "level", 0),
			ev("op", "read", "port", "GPIOA", "pin", 5, "level", 0),
			ev("op", "toggle", "port", "GPIOA", "pin", 5, "level", 1),
			ev("op", "init", "port", "GPIOC", "pin", 13, "mode", "it_falling", "pull", "up"),
			ev("op", "read", "port", "GPIOC", "pin", 13, "level", 1),
			ev("op", "write", "port", "GPIOC", "pin", 13, "level", 0),
			ev("op", "input", "port", "GPIOC", "pin", 13, "level", 0),
			ev("op", "exti", "line", 13, "edge", "falling"),
			ev("op", "read", "port", "GPIOC", "pin", 13, "level", 0),
			ev("op", "input", "port", "GPIOC", "pin", 13, "level", 1),
			ev("op", "deinit", "port", "GPIOA", "pin", 5),
			ev("op", "write", "pins", 2, "error", "bad port"),
			ev("op", "read", "pins", 2, "error", "bad port"),
		}
		for _, e := range want {
			e["kind"] = "gpio"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("gpio trace:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("gpio trace off by default", func(t *testing.T) {
		t.Parallel()
		r := runCase(t, bin, "gpio", "MVNET_TRACE_STDERR=")
		if r.stderr != "" {
			t.Errorf("stderr without MVNET_TRACE_STDERR: %q", r.stderr)
		}
	})

	t.Run("tick", func(t *testing.T) {
		t.Parallel()
		runCase(t, bin, "tick")
	})

	t.Run("macros", func(t *testing.T) {
		t.Parallel()
		r := runCase(t, bin, "macros", "MVNET_TRACE_STDERR=1")
		var exti []map[string]any
		for _, e := range filterKind(traceEvents(t, r.stderr), "gpio") {
			if e["op"] == "exti" {
				exti = append(exti, e)
			}
		}
		if len(exti) != 1 || exti[0]["line"] != float64(3) || exti[0]["edge"] != "software" {
			t.Errorf("exti events %v, want one software edge on line 3", exti)
		}
	})

	t.Run("tim", func(t *testing.T) {
		t.Parallel()
		r := runCase(t, bin, "tim", "MVNET_TRACE_STDERR=1")
		got := filterKind(traceEvents(t, r.stderr), "tim")
		want := []map[string]any{
			ev("op", "init", "instance", "TIM16", "psc", 15999, "arr", 9),
			ev("op", "start", "instance", "TIM16", "it", true, "period_us", 1000),
			ev("op", "stop", "instance", "TIM16"),
			ev("op", "init", "instance", "TIM4", "psc", 319, "arr", 999),
			ev("op", "pwm_start", "instance", "TIM4", "channel", 2, "pulse", 499, "duty", 0.499),
			ev("op", "pwm_stop", "instance", "TIM4", "channel", 2),
		}
		for _, e := range want {
			e["kind"] = "tim"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("tim trace:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("uart", func(t *testing.T) {
		t.Parallel()
		r := runCase(t, bin, "uart", "MVNET_TRACE_STDERR=1")
		// Transmitted bytes reach stdout, in order with printf output.
		if !strings.HasPrefix(r.stdout, "before\nhello \"uart\"\r\nafter\n") {
			t.Errorf("stdout = %q", r.stdout)
		}
		got := filterKind(traceEvents(t, r.stderr), "uart")
		want := []map[string]any{
			ev("op", "init", "instance", "USART2", "baud", 115200),
			ev("op", "transmit", "instance", "USART2", "len", 14, "data", "hello \"uart\"\r\n"),
			ev("op", "receive", "instance", "USART2", "size", 4, "timeout_ms", 60, "len", 0, "data", "", "status", "HAL_TIMEOUT"),
			ev("op", "init", "error", "bad instance"),
			ev("op", "deinit", "instance", "USART2"),
		}
		for _, e := range want {
			e["kind"] = "uart"
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("uart trace:\n got %v\nwant %v", got, want)
		}
		// The application's HAL_UART_MspInit configured its pin.
		gpio := filterKind(traceEvents(t, r.stderr), "gpio")
		if len(gpio) != 1 || gpio[0]["port"] != "GPIOD" || gpio[0]["af"] != float64(7) {
			t.Errorf("gpio events during UART init: %v", gpio)
		}
	})
}
