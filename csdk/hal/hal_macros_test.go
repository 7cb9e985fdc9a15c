package hal_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// A macro's shape decides where an application may write it. The shapes are
// those of Microvisor's HAL (ST's STM32U5 HAL with its RCC controls routed
// through mv_bitops.h), which published projects are written against.
type shape int

const (
	// selfStmt: a statement that carries its own ';' (Microvisor's
	// "MV_SET_BIT(…);" clock enables): written with or without a ';', but an
	// unbraced "if (c) X(); else" does not compile on the device either.
	selfStmt shape = iota
	// stmt: do { … } while (0): needs its ';', is not an expression.
	stmt
	// expr: an expression used for its effect: needs its ';', may stand in
	// an expression.
	expr
	// value: an expression used for its value.
	value
)

func (s shape) String() string {
	return [...]string{"statement with its own ';'", "do-while statement", "expression", "value"}[s]
}

// macroRules classifies every __HAL_* function-like macro of the HAL headers
// this test covers; the first matching rule wins and every macro must match
// one. family picks the handle and constants its arguments are made of.
var macroRules = []struct {
	re     *regexp.Regexp
	shape  shape
	family string
}{
	{regexp.MustCompile(`^__HAL_RCC_\w+_CLK_ENABLE$`), selfStmt, "rcc"},
	{regexp.MustCompile(`^__HAL_RCC_\w+_(CLK_DISABLE|FORCE_RESET|RELEASE_RESET)$`), expr, "rcc"},
	{regexp.MustCompile(`^__HAL_RCC_\w+_IS_CLK_(ENABLED|DISABLED)$`), value, "rcc"},
	{regexp.MustCompile(`^__HAL_(LOCK|UNLOCK)$`), stmt, "lock"},
	{regexp.MustCompile(`^__HAL_LINKDMA$`), stmt, "dma"},
	{regexp.MustCompile(`^__HAL_RESET_HANDLE_STATE$`), expr, "tim"},
	{regexp.MustCompile(`^__HAL_GPIO_EXTI_GET_\w+$`), value, "exti"},
	{regexp.MustCompile(`^__HAL_GPIO_EXTI_CLEAR_(RISING|FALLING)_IT$`), expr, "exti"},
	{regexp.MustCompile(`^__HAL_GPIO_EXTI_CLEAR_IT$`), stmt, "exti"},
	{regexp.MustCompile(`^__HAL_GPIO_EXTI_GENERATE_SWIT$`), expr, "exti"},
	{regexp.MustCompile(`^__HAL_UART_(RESET_HANDLE_STATE|FLUSH_DRREGISTER)$`), stmt, "uart"},
	{regexp.MustCompile(`^__HAL_UART_GET_(FLAG|IT|IT_SOURCE)$`), value, "uart"},
	{regexp.MustCompile(`^__HAL_UART_(ENABLE|DISABLE|ENABLE_IT|DISABLE_IT|CLEAR_\w+|SEND_REQ)$`), expr, "uart"},
	{regexp.MustCompile(`^__HAL_TIM_(RESET_HANDLE_STATE|DISABLE|SET_AUTORELOAD|SET_CLOCKDIVISION)$`), stmt, "tim"},
	{regexp.MustCompile(`^__HAL_TIM_(GET_\w+|IS_TIM_COUNTING_DOWN)$`), value, "tim"},
	{regexp.MustCompile(`^__HAL_TIM_\w+$`), expr, "tim"},
	{regexp.MustCompile(`^__HAL_I2C_GET_(FLAG|IT_SOURCE)$`), value, "i2c"},
	{regexp.MustCompile(`^__HAL_I2C_\w+$`), expr, "i2c"},
	{regexp.MustCompile(`^__HAL_SPI_\w+$`), expr, "spi"},
}

// The headers whose macros are covered: every HAL module header.
var macroHeaders = []string{
	"stm32u5xx_hal_def.h", "stm32u5xx_hal_rcc.h", "stm32u5xx_hal_gpio.h",
	"stm32u5xx_hal_uart.h", "stm32u5xx_hal_tim.h", "stm32u5xx_hal_cortex.h",
	"stm32u5xx_hal_i2c.h", "stm32u5xx_hal_spi.h",
}

var defineRE = regexp.MustCompile(`(?m)^#define\s+(__HAL_\w+)\(([^)]*)\)`)

type halMacro struct {
	name   string
	params []string
	shape  shape
	family string
}

func halMacros(t *testing.T) []halMacro {
	t.Helper()
	var out []halMacro
	for _, h := range macroHeaders {
		b, err := os.ReadFile(filepath.Join("..", "include", h))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range defineRE.FindAllStringSubmatch(string(b), -1) {
			mac := halMacro{name: m[1], shape: -1}
			for _, p := range strings.Split(m[2], ",") {
				if p = strings.TrimSpace(p); p != "" {
					mac.params = append(mac.params, p)
				}
			}
			for _, r := range macroRules {
				if r.re.MatchString(mac.name) {
					mac.shape, mac.family = r.shape, r.family
					break
				}
			}
			if mac.shape < 0 {
				t.Errorf("%s (%s): no rule gives its shape; add one to macroRules", mac.name, h)
				continue
			}
			out = append(out, mac)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// call writes the macro applied to arguments of its family.
func (m halMacro) call(t *testing.T) string {
	handle := map[string]string{"lock": "&huart", "dma": "&ppp", "uart": "&huart", "tim": "&htim", "i2c": "&hi2c", "spi": "&hspi"}[m.family]
	consts := map[string]map[string]string{
		"uart": {"__FLAG__": "UART_FLAG_TXE", "__INTERRUPT__": "UART_IT_RXNE", "__IT_CLEAR__": "UART_CLEAR_OREF", "__REQ__": "UART_RXDATA_FLUSH_REQUEST"},
		"tim":  {"__FLAG__": "TIM_FLAG_UPDATE", "__INTERRUPT__": "TIM_IT_UPDATE", "__CHANNEL__": "TIM_CHANNEL_2"},
		"i2c":  {"__FLAG__": "I2C_FLAG_BUSY", "__INTERRUPT__": "I2C_IT_RXI"},
	}[m.family]
	var args []string
	for _, p := range m.params {
		a := ""
		switch {
		case p == "__HANDLE__":
			a = handle
		case consts[p] != "":
			a = consts[p]
		case p == "__EXTI_LINE__":
			a = "GPIO_PIN_13"
		case p == "__PPP_DMA_FIELD__":
			a = "hdma"
		case p == "__DMA_HANDLE__":
			a = "dma"
		case p == "__PRESC__" || p == "__COUNTER__" || p == "__AUTORELOAD__" || p == "__COMPARE__":
			a = "7U"
		case p == "__CKD__":
			a = "TIM_CLOCKDIVISION_DIV2"
		}
		if a == "" {
			t.Fatalf("%s: no test argument for parameter %s", m.name, p)
		}
		args = append(args, a)
	}
	return m.name + "(" + strings.Join(args, ", ") + ")"
}

// accepted returns the uses of X the real macro accepts, as a function body.
func accepted(s shape, x string) string {
	switch s {
	case selfStmt:
		return fmt.Sprintf(`  %[1]s
  %[1]s;
  if (c) %[1]s else %[1]s
  if (c) %[1]s
  { %[1]s }
  for (; c > 1;) %[1]s
`, x)
	case stmt:
		return fmt.Sprintf(`  %[1]s;
  if (c) %[1]s; else %[1]s;
  for (; c > 1;) %[1]s;
`, x)
	case expr:
		return fmt.Sprintf(`  %[1]s;
  if (c) %[1]s; else %[1]s;
  (void)(%[1]s);
  (void)(c ? (%[1]s, 0) : 0);
`, x)
	default:
		return fmt.Sprintf(`  v += (int)(%[1]s);
  if (%[1]s) { v++; }
  v += c ? (int)(%[1]s) : 0;
`, x)
	}
}

// rejected returns a use the real macro does not compile in.
func rejected(s shape, x string) string {
	switch s {
	case selfStmt:
		return fmt.Sprintf("  if (c) %[1]s; else %[1]s;\n", x) // ';' then 'else': else without if
	case stmt:
		return fmt.Sprintf("  (void)(%[1]s);\n", x) // not an expression
	default:
		return fmt.Sprintf("  %[1]s %[1]s;\n", x) // a ';' is needed between two
	}
}

const macroPreamble = `#include "stm32u5xx_hal.h"
struct fake_dma { void *Parent; };
struct fake_ppp { struct fake_dma *hdma; };
static struct fake_dma dma;
static struct fake_ppp ppp;
static UART_HandleTypeDef huart;
static TIM_HandleTypeDef htim;
static I2C_HandleTypeDef hi2c;
static SPI_HandleTypeDef hspi;
static volatile int c;
static volatile int v;
`

// Every __HAL_* macro of the HAL headers compiles in each place the real
// HAL's accepts it (generated from macroRules, so none is left out), and a
// representative of each shape fails where the real one fails: e.g.
// __HAL_RCC_GPIOA_CLK_ENABLE() without a ';' compiles, and before an else
// with one it does not.
func TestMacroShapes(t *testing.T) {
	gcc := need(t, "gcc")
	macros := halMacros(t)
	if len(macros) < 300 {
		t.Fatalf("found %d __HAL_ macros, expected the RCC set and more", len(macros))
	}
	var src strings.Builder
	src.WriteString(macroPreamble)
	counts := map[shape]int{}
	for i, m := range macros {
		counts[m.shape]++
		fmt.Fprintf(&src, "/* %s: %v */\nHAL_StatusTypeDef use%d(void) {\n%s  return HAL_OK;\n}\n", m.name, m.shape, i, accepted(m.shape, m.call(t)))
	}
	t.Logf("%d macros: %v", len(macros), counts)
	dir := t.TempDir()
	inc := includeFlags(t)
	file := filepath.Join(dir, "accepted.c")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runTool(t, gcc, append(append(append([]string{}, cFlags...), inc...), "-c", file, "-o", file+".o")...)

	seen := map[shape]bool{}
	for _, m := range macros {
		if seen[m.shape] {
			continue
		}
		seen[m.shape] = true
		if m.shape == value {
			continue // a value is usable anywhere an expression is
		}
		bad := filepath.Join(dir, fmt.Sprintf("rejected%d.c", m.shape))
		body := fmt.Sprintf("%sHAL_StatusTypeDef use(void) {\n%s  return HAL_OK;\n}\n", macroPreamble, rejected(m.shape, m.call(t)))
		if err := os.WriteFile(bad, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		args := append(append(append([]string{}, cFlags...), inc...), "-c", bad, "-o", bad+".o")
		if out, err := exec.Command(gcc, args...).CombinedOutput(); err == nil {
			t.Errorf("%s (%v) compiled where Microvisor's HAL does not:\n%s%s", m.name, m.shape, rejected(m.shape, m.call(t)), out)
		}
	}
}

// stm32u5xx_hal.h alone makes mv_syscalls.h visible, as Microvisor's HAL
// does through its RCC header: mvGetPClk1() and MV_STATUS_* need no include
// of their own (ST's timer time base template relies on it).
func TestHALMakesSyscallsVisible(t *testing.T) {
	gcc := need(t, "gcc")
	const src = `#include "stm32u5xx_hal.h"
uint32_t timer_clock(void) {
  uint32_t hz = 0;
  if (mvGetPClk1(&hz) != MV_STATUS_OKAY) {
    return 0;
  }
  return hz;
}
`
	dir := t.TempDir()
	inc := includeFlags(t)
	for _, lang := range []struct{ compiler, file, std string }{{gcc, "use.c", "-std=c11"}, {need(t, "g++"), "use.cpp", "-std=c++17"}} {
		file := filepath.Join(dir, lang.file)
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, lang.compiler, append(append([]string{lang.std, "-Wall", "-Wextra", "-Werror"}, inc...), "-c", file, "-o", file+".o")...)
	}
}
